-- The same request again and again. Arguments: method, path, body file or "-", and
-- optionally how many answers each thread waits for before it stops (for seeding).
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
setup, done = common.setup, common.done

local limit = nil
local answered = 0

function init(args)
   wrk.method, wrk.path = args[1], args[2]
   if args[3] and args[3] ~= "-" then
      wrk.body = common.read(args[3])
   end
   limit = tonumber(args[4])
end

function response(status)
   common.count(status)
   answered = answered + 1
   if limit and answered >= limit then
      wrk.thread:stop()
   end
end
