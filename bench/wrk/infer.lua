-- wrk script: POSTs one Open Inference Protocol V2 request body to the URL given to wrk.
-- WRK_BODY names the JSON file to send and EVERGREEN_TOKEN holds the bearer token; both are read
-- from the environment so that the token is never written to disk.
local file = assert(io.open(assert(os.getenv("WRK_BODY"), "WRK_BODY is not set"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("EVERGREEN_TOKEN"), "EVERGREEN_TOKEN is not set")
