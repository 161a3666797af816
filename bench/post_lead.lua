-- wrk script: POST a lead (the vendor page's body) with a test key
wrk.method = "POST"
wrk.body = '{"name": "Aisha Khan", "phone": "+971501234567", "email": "aisha@example.com", "source": "bayut", "budget_aed": 1800000, "bedrooms": 2, "area": "Dubai Marina"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer hdr_test_marina_enterprise_admin_e07b3d58"
