-- wrk script: GET a path (HG_PATH) and report percentiles as one JSON line, like check.lua.
function init(args)
  path = os.getenv("HG_PATH") or "/healthz"
end

function request()
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_s": %f, "errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}, "p50_ms": %f, "p90_ms": %f, "p99_ms": %f, ' ..
    '"max_ms": %f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
