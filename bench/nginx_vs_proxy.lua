-- make bench: the SDK inside nginx against the limit, nginx's own proxy_pass.
-- wrk drives two locations of one app nginx, both in front of the same fixed-response
-- upstream (an nginx location answering a fixed success envelope, so the server's time is
-- equal): (a) /sdk makes one SDK call (device.status over the ngx transport: validation,
-- JSON body, auth header, cosocket HTTP/1.1 with keep-alive, envelope decode) per request;
-- (b) /proxy passes the request straight through with proxy_pass (keep-alive upstream).
-- Records nginx_vs_proxy = sdk req/s / proxy req/s in bench/results.json. Only 127.0.0.1.
-- Beside it, the app worker's CPU time per request of each location (utime + stime from
-- /proc, over the measured run): on a shared machine req/s swings with the neighbours' load
-- (the same tree measured 0.38 to 0.80 in single runs); the CPU a request costs the worker
-- swings less, and is printed and recorded to compare changes by.
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench") .. "/lib.lua")
local cjson = require "cjson"
local nginx = require "enkash.sandbox.nginx"
local fixtures = require "helpers.fixtures"

local WRK = "wrk -t2 -c50 -d3s"
-- Rounds of one /sdk run then one /proxy run: the ratio recorded is the median of the
-- rounds' ratios, each taken from two runs seconds apart, so a burst of the neighbours' load
-- skews one round, not the figure.
local ROUNDS = 3
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

-- The pid of nginx's one worker (the master's child).
local function worker_of(srv)
  local pid = lib.sh("pgrep -P " .. srv.pid):match("%d+")
  assert(pid, "no worker process under nginx " .. srv.pid)
  return pid
end

-- A process's CPU seconds so far (utime + stime, /proc/PID/stat fields 14 and 15).
local function cpu_seconds(pid)
  local f = assert(io.open("/proc/" .. pid .. "/stat"))
  local stat = f:read("*a")
  f:close()
  local fields = {}
  for w in stat:gsub("^.*%) ", ""):gmatch("%S+") do fields[#fields + 1] = w end
  local ticks = tonumber(lib.sh("getconf CLK_TCK"):match("%d+")) or 100
  return (tonumber(fields[12]) + tonumber(fields[13])) / ticks
end

-- req/s, wrk's socket errors, and the worker's CPU microseconds per request.
local function wrk(url, worker)
  local cpu0 = cpu_seconds(worker)
  local out = lib.sh(WRK .. " " .. url .. " 2>&1")
  local cpu = cpu_seconds(worker) - cpu0
  local rps = tonumber(out:match("Requests/sec:%s*([%d%.]+)"))
  local total = tonumber(out:match("(%d+) requests in"))
  local non2xx = tonumber(out:match("Non%-2xx or 3xx responses:%s*(%d+)") or "0")
  local errors = out:match("Socket errors:[^\n]*")
  assert(rps, "wrk gave no Requests/sec:\n" .. out)
  assert(non2xx == 0, url .. ": " .. non2xx .. " non-2xx answers\n" .. out)
  return rps, errors, total and total > 0 and cpu / total * 1e6 or nil
end

-- The app worker's user-space instructions per request of `loc`: the app nginx as one process
-- (master_process off) under callgrind, its instructions after one request and after a wrk
-- run, (I2 - I1) / (N2 - 1). What one request executes does not change with the neighbours'
-- load, so this ratio holds still where req/s does not (kernel time is not in it: the socket
-- calls of both locations are alike, 5 and 6 a request under strace).
local function instructions(http, server, port, loc)
  local prefix = lib.sh("mktemp -d"):gsub("%s+$", "")
  local conf = table.concat({
    "load_module /usr/lib/nginx/modules/ndk_http_module.so;",
    "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;",
    "daemon off; master_process off;", lib.sh("id -u"):match("^0%s") and "user root;" or "",
    ("error_log %s/error.log notice; pid %s/nginx.pid;"):format(prefix, prefix),
    "events { worker_connections 1024; }", "http {",
    ("  access_log %s/access.log;"):format(prefix),
    ('  lua_package_path "%s/lua/?.lua;%s/lua/?/init.lua;;";'):format(lib.root, lib.root),
    ('  lua_package_cpath "%s/build/luajit/?.so;;";'):format(lib.root),
    "  keepalive_requests 10000;", http,
    ("  server { listen 127.0.0.1:%d;"):format(port), server, "  }", "}", "",
  }, "\n")
  local f = assert(io.open(prefix .. "/nginx.conf", "wb"))
  f:write(conf)
  f:close()
  local url = "http://127.0.0.1:" .. port .. loc
  local function run(drive)
    lib.sh(("valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file=/dev/null "
      .. "nginx -p %s -c %s/nginx.conf > %s/vg.log 2>&1 &"):format(prefix, prefix, prefix))
    local up = false
    for _ = 1, 300 do
      up = lib.sh("curl -s -o /dev/null -w '%{http_code}' " .. url .. " || true") == "200"
      if up then break end
      lib.sh("sleep 0.1")
    end
    assert(up, "nginx under callgrind does not answer " .. loc)
    local n = drive()
    lib.sh("kill -QUIT $(cat " .. prefix .. "/nginx.pid)")
    local ir
    for _ = 1, 600 do
      ir = lib.sh("cat " .. prefix .. "/vg.log"):match("Collected : (%d+)")
      if ir then break end
      lib.sh("sleep 0.1")
    end
    return assert(tonumber(ir), "no callgrind total"), n + 1 -- + the request that saw it answer
  end
  local i1, n1 = run(function() return 0 end)
  local i2, n2 = run(function()
    return tonumber(lib.sh("wrk -t1 -c10 -d3s " .. url .. " 2>&1"):match("(%d+) requests in"))
  end)
  lib.sh("rm -rf " .. lib.q(prefix))
  return (i2 - i1) / (n2 - n1)
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
    local worker = worker_of(app)
    local function median(t)
      local c = { table.unpack(t) }
      table.sort(c)
      return c[(#c + 1) // 2]
    end
    local r = { sdk = {}, proxy = {}, ratio = {}, sdk_cpu = {}, proxy_cpu = {} }
    print(("%s, one nginx worker each side, fixed-response upstream, %d rounds"):format(WRK, ROUNDS))
    for i = 1, ROUNDS do
      local sdk, sdk_errors, sdk_cpu = wrk(app.url .. "/sdk", worker)
      local proxy, proxy_errors, proxy_cpu = wrk(app.url .. "/proxy", worker)
      r.sdk[i], r.proxy[i], r.ratio[i] = sdk, proxy, sdk / proxy
      r.sdk_cpu[i], r.proxy_cpu[i] = sdk_cpu or 0 / 0, proxy_cpu or 0 / 0
      print(("  round %d: /sdk %6.0f req/s %5.1f us CPU a request, /proxy %6.0f req/s %5.1f us, ratio %.2f")
        :format(i, sdk, r.sdk_cpu[i], proxy, r.proxy_cpu[i], r.ratio[i]))
      if sdk_errors or proxy_errors then print("  wrk:", sdk_errors or "", proxy_errors or "") end
    end
    local ratio = median(r.ratio)
    print(("  /sdk   (one SDK call per request)  %10.0f req/s  %6.1f us of worker CPU a request (medians)")
      :format(median(r.sdk), median(r.sdk_cpu)))
    print(("  /proxy (proxy_pass, the limit)     %10.0f req/s  %6.1f us of worker CPU a request (medians)")
      :format(median(r.proxy), median(r.proxy_cpu)))
    print(("  nginx_vs_proxy = %.2f  (median of the rounds; 1.0 = as fast as nginx's own proxy_pass)")
      :format(ratio))
    lib.record {
      nginx_vs_proxy = ratio, nginx_sdk_req_per_s = median(r.sdk), nginx_proxy_req_per_s = median(r.proxy),
      nginx_sdk_cpu_us = median(r.sdk_cpu), nginx_proxy_cpu_us = median(r.proxy_cpu),
    }
  end)
  app:stop()
  assert(ok2, err2)
  if lib.have("valgrind") then
    local sdk = instructions(http, server, app.port, "/sdk")
    local proxy = instructions(http, server, app.port, "/proxy")
    print(("callgrind, the app worker's instructions a request: /sdk %.0f, /proxy %.0f;"
      .. " nginx_vs_proxy_instr = %.2f"):format(sdk, proxy, proxy / sdk))
    lib.record { nginx_sdk_instr = sdk, nginx_proxy_instr = proxy, nginx_vs_proxy_instr = proxy / sdk }
  else
    print("valgrind is not installed: no instruction counts (apt-get install valgrind)")
  end
end)
upstream:stop()
if not ok then
  print(err)
  os.exit(1)
end
