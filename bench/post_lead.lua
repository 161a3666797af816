-- wrk script: POST a lead (the vendor page's body) with a test key and a new Idempotency-Key per request,
-- so the sandbox's idempotency store is exercised on every create. `wrk … URL -- TOKEN`: TOKEN keeps keys
-- unique across runs against the same database.
wrk.method = "POST"
wrk.body = '{"name": "Aisha Khan", "phone": "+971501234567", "email": "aisha@example.com", "source": "bayut", "budget_aed": 1800000, "bedrooms": 2, "area": "Dubai Marina"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer hdr_test_marina_enterprise_admin_e07b3d58"

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  token = args[1] or "run"
  counter = 0
end

function request()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = token .. "-" .. tid .. "-" .. counter
  return wrk.format()
end
