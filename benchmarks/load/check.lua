-- wrk script: POST /api/v1/uploads/check with one sample image per request. Every request
-- names a new revision, so every check is a new one (no idempotent replay), spread over
-- 50 uploaders and their repositories.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("HG_IMAGE_B64"), "r"))
  image = f:read("*a")
  f:close()
  path = os.getenv("HG_PATH") or "/api/v1/uploads/check"
  headers = {}
  headers["Content-Type"] = "application/json"
  keys = {}
  for key in string.gmatch(os.getenv("HG_API_KEY"), "%S+") do table.insert(keys, key) end
  headers["Authorization"] = "Bearer " .. keys[1]
  thread_id = tid
end

function request()
  counter = counter + 1
  local who = counter % 50
  local body = string.format(
    '{"uploader":{"id":"bench-%d","username":"bench%d"},' ..
    '"repo":{"id":"bench%d/model-%d","revision":"t%d-r%d"},' ..
    '"sample_images":[{"path":"sample.jpg","content_base64":"%s"}]}',
    who, who, who, who, thread_id, counter, image)
  headers["Authorization"] = "Bearer " .. keys[(counter % #keys) + 1]
  return wrk.format("POST", path, headers, body)
end

statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local out = {
    requests = summary.requests,
    duration_s = summary.duration / 1e6,
    errors = {connect = summary.errors.connect, read = summary.errors.read,
              write = summary.errors.write, status = summary.errors.status,
              timeout = summary.errors.timeout},
    p50_ms = latency:percentile(50) / 1000,
    p90_ms = latency:percentile(90) / 1000,
    p99_ms = latency:percentile(99) / 1000,
    max_ms = latency.max / 1000,
  }
  -- answers by HTTP status, added up over the threads (each counts in its own Lua state)
  local by_status = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses") or {}) do
      by_status[tostring(code)] = (by_status[tostring(code)] or 0) + n
    end
  end
  out.statuses = by_status
  local parts = {}
  for k, v in pairs(out) do
    if type(v) == "table" then
      local inner = {}
      for k2, v2 in pairs(v) do table.insert(inner, string.format('"%s": %s', k2, v2)) end
      table.insert(parts, string.format('"%s": {%s}', k, table.concat(inner, ", ")))
    else
      table.insert(parts, string.format('"%s": %s', k, v))
    end
  end
  io.write("WRK_JSON " .. "{" .. table.concat(parts, ", ") .. "}\n")
end
