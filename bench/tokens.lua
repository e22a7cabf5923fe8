-- Tokens: 10,000 calls through one client make exactly 1 token request. The fixed-response
-- nginx logs only its /oauth/token requests; the count is read from that log. Records
-- token_requests_per_10000 (target: 1).
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench") .. "/lib.lua")

local N = 10000
local srv = lib.fixed_server(lib.fixtures.creds.client_secret)
local ok, err = pcall(function()
  local client = lib.client(srv.url, { encryption = true })
  local device = lib.fixtures.device
  local t0 = lib.now()
  for _ = 1, N do assert(client.device:status(device)) end
  local secs = lib.now() - t0
  client:close()
  local count = srv.token_requests()
  print(("%-28s %14s %14s %8s   %s"):format("token_requests_per_10000", tostring(count),
    ("%.2fs"):format(secs), "", "== 1"))
  lib.record{ token_requests_per_10000 = count }
end)
srv:stop()
if not ok then error(err, 0) end
