-- wrk script for the Veil load test: POSTs a JSON body read from a file and, when the run
-- is done, prints one machine-readable line with the exact latency percentiles.
--
-- Usage: wrk -t1 -c1 -d10s --latency -s bench/post.lua URL -- BODY_FILE [HEADER ...]
-- (BODY_FILE may also come from the environment variable BODY_FILE). Each HEADER is
-- "Name: value" and is added to the request; "Name:" with no value removes one (e.g.
-- "Authorization:" for an upstream that refuses it, as Gemini's API does).
-- Result line: VEIL_RESULT {"p50_us":..,"p90_us":..,"p99_us":..,"mean_us":..,"max_us":..,
--   "requests":..,"duration_us":..,"rps":..,"errors":..,"non2xx":..,"bytes":..}

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer test"

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then
    error("post.lua: cannot open body file " .. tostring(path) .. ": " .. tostring(err))
  end
  local data = f:read("*a")
  f:close()
  return data
end

-- init runs in each worker thread before its requests are built.
function init(args)
  local path = args[1] or os.getenv("BODY_FILE")
  if not path then
    error("post.lua: pass the body file after `--` or set BODY_FILE")
  end
  wrk.body = read_file(path)
  for i = 2, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    if not name then
      error("post.lua: a header must be \"Name: value\", got " .. args[i])
    end
    if value == "" then
      wrk.headers[name] = nil
    else
      wrk.headers[name] = value
    end
  end
end

-- done runs once, in the main thread, with the merged statistics (microseconds).
function done(summary, latency, requests)
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'VEIL_RESULT {"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,'
      .. '"requests":%d,"duration_us":%d,"rps":%.2f,"errors":%d,"non2xx":%d,"bytes":%d}\n',
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max, summary.requests, summary.duration, summary.requests / seconds,
    socket_errors, e.status, summary.bytes))
end
