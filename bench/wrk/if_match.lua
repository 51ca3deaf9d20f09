-- A change with If-Match: each thread (one connection) changes its own release, sending the
-- ETag of its last answer. Arguments: method, template with {id}, a file of "id etag"
-- lines (one per thread), the body file.
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
setup, done = common.setup, common.done

local method, path, body, etag

function init(args)
   method = args[1]
   local line = common.lines(args[3])[thread_id + 1]
   local id
   id, etag = line:match("^(%S+) (%S+)$")
   path = args[2]:gsub("{id}", id)
   body = common.read(args[4])
end

function request()
   local headers = {}
   for name, value in pairs(wrk.headers) do
      headers[name] = value
   end
   headers["If-Match"] = etag
   return wrk.format(method, path, headers, body)
end

function response(status, headers)
   common.count(status)
   if status == 200 then
      etag = headers["etag"] or headers["ETag"] or etag
   end
end
