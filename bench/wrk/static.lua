-- The same request again and again. Arguments: method, path, body file or "-".
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
setup, done = common.setup, common.done

function init(args)
   wrk.method, wrk.path = args[1], args[2]
   if args[3] and args[3] ~= "-" then
      wrk.body = common.read(args[3])
   end
end

function response(status)
   common.count(status)
end
