-- wrk script: each request is the next line of the targets file (WRK_TARGETS), round-robin,
-- each thread starting at its own offset. A line is "METHOD PATH TOKEN [BODY]" ("-" = no token).
-- At the end it prints one JSON line prefixed with WRKJSON.
local targets = {}
local counter = 0
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  local f = assert(io.open(os.getenv("WRK_TARGETS"), "r"))
  for line in f:lines() do
    local method, path, token, body = line:match("^(%S+) (%S+) (%S+) ?(.*)$")
    local headers = {}
    if token ~= "-" then headers["authorization"] = "Bearer " .. token end
    if body ~= nil and body ~= "" then
      headers["content-type"] = "application/json"
    else
      body = nil
    end
    targets[#targets + 1] = wrk.format(method, path, headers, body)
  end
  f:close()
  counter = (tid * 7919) % #targets
end

function request()
  counter = counter % #targets + 1
  return targets[counter]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"durationUs":%d,"non2xx":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d,"meanUs":%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
