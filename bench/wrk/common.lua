-- What every scenario shares: numbering the threads, counting the answers that are not
-- 2xx by status (wrk itself counts only those >= 400, and not by status), and one line of
-- JSON that bench/wrk.py reads.
local common = {}
local threads = {}

non2xx = 0
statuses = {}

function common.setup(thread)
   -- Threads are numbered from 0: a scenario with one connection per thread gives each
   -- connection its own release or case by this number.
   thread:set("thread_id", #threads)
   table.insert(threads, thread)
end

function common.count(status)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      statuses[status] = (statuses[status] or 0) + 1
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
   local by_status = {}
   for _, thread in ipairs(threads) do
      answered_badly = answered_badly + thread:get("non2xx")
      for status, n in pairs(thread:get("statuses")) do
         by_status[status] = (by_status[status] or 0) + n
      end
   end
   local counts = {}
   for status, n in pairs(by_status) do
      table.insert(counts, string.format('"%d": %d', status, n))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
         .. '"non2xx": %d, "statuses": {%s}, "errors": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      answered_badly, table.concat(counts, ", "), e.connect + e.read + e.write + e.timeout
   ))
end

return common
