-- What every scenario shares: numbering the threads, counting the answers that are not
-- 2xx (wrk itself counts only those >= 400), and one line of JSON that bench/wrk.py reads.
local common = {}
local threads = {}

non2xx = 0

function common.setup(thread)
   -- Threads are numbered from 0: a scenario with one connection per thread gives each
   -- connection its own release or case by this number.
   thread:set("thread_id", #threads)
   table.insert(threads, thread)
end

function common.count(status)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
end

function common.read(path)
   local file = assert(io.open(path, "rb"))
   local text = file:read("*a")
   file:close()
   return text
end

function common.lines(path)
   local found = {}
   for line in io.lines(path) do
      table.insert(found, line)
   end
   return found
end

function common.done(summary, latency, requests)
   local answered_badly = 0
   for _, thread in ipairs(threads) do
      answered_badly = answered_badly + thread:get("non2xx")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
         .. '"non2xx": %d, "errors": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      answered_badly, e.connect + e.read + e.write + e.timeout
   ))
end

return common
