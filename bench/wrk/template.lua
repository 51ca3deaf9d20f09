-- A path made for each request from a template: {id} is an id from a file, {t} the
-- thread's number, {n} the thread's request count. Arguments: method, template, how ids are
-- chosen ("own": the thread's own line, for one connection per thread; "rotate": each in
-- turn; "-": none), the ids file or "-", the body file or "-".
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
setup, done = common.setup, common.done

local method, template, mode, ids, body
local n = 0

function init(args)
   method, template, mode = args[1], args[2], args[3]
   if args[4] ~= "-" then
      ids = common.lines(args[4])
   end
   if args[5] ~= "-" then
      body = common.read(args[5])
   end
end

function request()
   n = n + 1
   local id = ""
   if mode == "own" then
      id = ids[thread_id + 1]
   elseif mode == "rotate" then
      id = ids[(thread_id + n) % #ids + 1]
   end
   local path = template:gsub("{id}", id):gsub("{t}", tostring(thread_id)):gsub("{n}", tostring(n))
   return wrk.format(method, path, nil, body)
end

function response(status)
   common.count(status)
end
