-- wrk script: each request is the next line of the targets file (WRK_TARGETS), round-robin,
-- each thread starting at its own offset. A line is "METHOD PATH TOKEN [BODY]" ("-" = no token;
-- "TOKEN+idem" adds a fresh Idempotency-Key to every request).
-- At the end it prints one JSON line prefixed with WRKJSON.
local targets = {}
local counter = 0
local threads = {}
failed = {} -- global: done() reads each thread's copy with thread:get

function setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

-- Counts the answers that were not 2xx, by status, so a run says what its errors were.
function response(status, headers, body)
  if status >= 300 then failed[status] = (failed[status] or 0) + 1 end
end

function init(args)
  local f = assert(io.open(os.getenv("WRK_TARGETS"), "r"))
  for line in f:lines() do
    local method, path, token, body = line:match("^(%S+) (%S+) (%S+) ?(.*)$")
    local headers = {}
    -- "TOKEN+idem": every request carries a fresh Idempotency-Key (built per request below).
    local idem = token:sub(-5) == "+idem"
    if idem then token = token:sub(1, -6) end
    if token ~= "-" then headers["authorization"] = "Bearer " .. token end
    if body ~= nil and body ~= "" then
      headers["content-type"] = "application/json"
    else
      body = nil
    end
    if idem then
      targets[#targets + 1] = { method = method, path = path, headers = headers, body = body }
    else
      targets[#targets + 1] = wrk.format(method, path, headers, body)
    end
  end
  f:close()
  counter = (tid * 7919) % #targets
end

local sent = 0
local run = tostring(os.time()) .. "-" .. tostring(math.random(1000000))

function request()
  counter = counter % #targets + 1
  local t = targets[counter]
  if type(t) == "string" then return t end
  sent = sent + 1
  t.headers["idempotency-key"] = string.format("bench-%s-%d-%d", run, tid, sent)
  return wrk.format(t.method, t.path, t.headers, t.body)
end

function done(summary, latency, requests)
  local e = summary.errors
  local statuses = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("failed") or {}) do statuses[status] = (statuses[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(statuses) do parts[#parts + 1] = string.format('"%d":%d', status, n) end
  io.write(string.format(
    'WRKJSON {"requests":%d,"durationUs":%d,"non2xx":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d,"p999Us":%d,"meanUs":%.1f,"statuses":{%s}}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.mean, table.concat(parts, ",")))
end
