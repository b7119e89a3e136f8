-- wrk script: POST the seed's generate request. UNIQUE=1 makes every request a new enterprise
-- (cache misses); otherwise every request is the same (cache hits after the first).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "bench-admin-token")

local unique = os.getenv("UNIQUE") == "1"
local counter = 0
local thread_id = 0
local statuses = {}

setup = function(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
end

local function body(name)
  return '{"template_id":"emergency_plan","section_id":"2","data":{"enterprise_info":{' ..
    '"enterprise_name":"' .. name .. '","industry_type":"化工制造","address":"北京市朝阳区",' ..
    '"main_products":"化工产品","employees_count":100}}}'
end

request = function()
  local name = "测试企业"
  if unique then
    counter = counter + 1
    name = "压测企业-" .. (id or 0) .. "-" .. counter
  end
  return wrk.format(nil, "/api/ai/generate", nil, body(name))
end

response = function(status)
  if status ~= 200 then
    statuses[status] = (statuses[status] or 0) + 1
  end
end

done = function(summary, latency, requests)
  local non200 = summary.errors.status
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, non200,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
