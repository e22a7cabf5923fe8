-- make bench: the SDK inside nginx against the limit, nginx's own proxy_pass.
-- wrk drives two locations of one app nginx, both in front of the same fixed-response
-- upstream (an nginx location answering a fixed success envelope, so the server's time is
-- equal): (a) /sdk makes one SDK call (device.status over the ngx transport: validation,
-- JSON body, auth header, cosocket HTTP/1.1 with keep-alive, envelope decode) per request;
-- (b) /proxy passes the request straight through with proxy_pass (keep-alive upstream).
-- Records nginx_vs_proxy = sdk req/s / proxy req/s in bench/results.json. Only 127.0.0.1.
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench") .. "/lib.lua")
local cjson = require "cjson"
local nginx = require "enkash.sandbox.nginx"
local fixtures = require "helpers.fixtures"

local WRK = "wrk -t2 -c50 -d5s"
local STATUS_PATH = "/api/v1/partner/device-bind/status"

-- The upstream: Enkash's token and device-status answers, fixed.
local UPSTREAM = [[
  location = /oauth/token {
    default_type application/json;
    return 200 '{"access_token":"bench-token-not-a-secret","token_type":"bearer","expires_in":86399}';
  }
  location = ]] .. STATUS_PATH .. [[ {
    default_type application/json;
    return 200 '{"response_code":0,"response_message":"Success","payload":{"status":"Bound"}}';
  }
]]

local function app_conf(upstream)
  local cfg = fixtures.config(upstream.url, { timeout = 10, connect_timeout = 2, ngx_shared_dict = "enkash",
                                              retries = 0 })
  local http = ([[
  lua_shared_dict enkash 1m;
  upstream enkash_upstream {
    server 127.0.0.1:%d;
    keepalive 64;
  }
  init_by_lua_block {
    assert(require("enkash.ngx").configure(require("cjson").decode([==[%s]==])))
    DEVICE = require("cjson").decode([==[%s]==])
  }
]]):format(upstream.port, cjson.encode(cfg), cjson.encode(fixtures.device))
  local server = ([[
  location = /sdk {
    content_by_lua_block {
      local p, err = require("enkash.ngx").client().device:status(DEVICE)
      if not p then
        ngx.status = 502
        return ngx.say(err.kind)
      end
      ngx.say(p.status)
    }
  }
  location = /proxy {
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_pass http://enkash_upstream%s;
  }
]]):format(STATUS_PATH)
  return http, server
end

local function wrk(url)
  local out = lib.sh(WRK .. " " .. url .. " 2>&1")
  local rps = tonumber(out:match("Requests/sec:%s*([%d%.]+)"))
  local non2xx = tonumber(out:match("Non%-2xx or 3xx responses:%s*(%d+)") or "0")
  local errors = out:match("Socket errors:[^\n]*")
  assert(rps, "wrk gave no Requests/sec:\n" .. out)
  assert(non2xx == 0, url .. ": " .. non2xx .. " non-2xx answers\n" .. out)
  return rps, errors
end

if not os.execute("command -v wrk >/dev/null 2>&1") then
  print("wrk is not installed (apt-get install wrk, or make deps)")
  os.exit(1)
end

local upstream = assert(nginx.start { sandbox = false, workers = 1, server_conf = UPSTREAM })
local ok, err = pcall(function()
  local http, server = app_conf(upstream)
  local app = assert(nginx.start { sandbox = false, workers = 1, http_conf = http, server_conf = server })
  local ok2, err2 = pcall(function()
    -- warm up: the token, the keep-alive pools, LuaJIT's traces
    assert(lib.sh("curl -s " .. app.url .. "/sdk") == "Bound\n", "the SDK location does not answer Bound")
    lib.sh("wrk -t1 -c10 -d1s " .. app.url .. "/sdk >/dev/null 2>&1")
    lib.sh("wrk -t1 -c10 -d1s " .. app.url .. "/proxy >/dev/null 2>&1")
    local sdk, sdk_errors = wrk(app.url .. "/sdk")
    local proxy, proxy_errors = wrk(app.url .. "/proxy")
    local ratio = sdk / proxy
    print(("%s, one nginx worker each side, fixed-response upstream"):format(WRK))
    print(("  /sdk   (one SDK call per request)  %10.0f req/s"):format(sdk))
    print(("  /proxy (proxy_pass, the limit)       %10.0f req/s"):format(proxy))
    print(("  nginx_vs_proxy = %.2f  (1.0 = as fast as nginx's own proxy_pass)"):format(ratio))
    if sdk_errors or proxy_errors then print("wrk:", sdk_errors or "", proxy_errors or "") end
    lib.record {
      nginx_vs_proxy = ratio, nginx_sdk_req_per_s = sdk, nginx_proxy_req_per_s = proxy,
    }
  end)
  app:stop()
  assert(ok2, err2)
end)
upstream:stop()
if not ok then
  print(err)
  os.exit(1)
end
