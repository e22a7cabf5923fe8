-- The sandbox under real nginx (enkash.sandbox.nginx), spoken to with the curl CLI.
-- Lua 5.4 only (nginx itself runs the LuaJIT side); one server per describe block.
local nginx = require "enkash.sandbox.nginx"
local cjson = require "cjson.safe"
local targets = require "helpers.targets"

local D = require("enkash.sandbox").defaults
local USER, PASS = next(D.users)
local GENERATE = "/api/v1/partner/device-bind/generate"
local STATUS = "/api/v1/partner/device-bind/status"
local DEVICE = require("helpers.fixtures").device

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  local p = assert(io.popen(cmd .. "; printf '\\n%s' \"$?\""))
  local out = p:read("*a")
  p:close()
  local text, rc = out:match("^(.*)\n(%d+)$")
  return tonumber(rc), text
end

local tmp = os.tmpname()

-- One curl run. o: method, path (or paths), headers, body, user ("id:secret"), ca, url, extra.
-- Returns curl's exit code, the HTTP status of the last response, the body(ies).
local function curl(srv, o)
  local args = { "curl -sS --max-time 10 -w '\\n%{http_code}'" }
  if o.ca then args[#args + 1] = "--cacert " .. quote(o.ca) end
  if o.user then args[#args + 1] = "-u " .. quote(o.user) end
  if o.method then args[#args + 1] = "-X " .. o.method end
  for k, v in pairs(o.headers or {}) do args[#args + 1] = "-H " .. quote(k .. ": " .. v) end
  if o.body then
    local f = assert(io.open(tmp, "wb"))
    f:write(o.body)
    f:close()
    args[#args + 1] = "--data-binary @" .. quote(tmp)
  end
  args[#args + 1] = o.extra or ""
  for _, p in ipairs(o.paths or { o.path }) do args[#args + 1] = quote((o.url or srv.url) .. p) end
  local rc, out = sh(table.concat(args, " ") .. " 2>/dev/null")
  if o.body then os.remove(tmp) end
  local body, status = (out or ""):match("^(.*)\n(%d%d%d)$")
  return rc, tonumber(status), body
end

local function control(srv, name, args, ca)
  local get = name == "stats" or name == "log" or name == "ledger" or name == "notifications"
  local rc, status, body = curl(srv, {
    path = "/_sandbox/" .. name, ca = ca or srv.ca_file, method = get and "GET" or "POST",
    headers = not get and { ["Content-Type"] = "application/json" } or nil,
    body = not get and cjson.encode(args or {}) or nil,
  })
  assert(rc == 0 and status == 200, "control " .. name .. ": rc " .. tostring(rc) .. " " .. tostring(body))
  return cjson.decode(body)
end

local FORM = "username=" .. USER .. "&password=" .. PASS:gsub("@", "%%40") .. "&grant_type=password&clientId="
  .. D.client_id

local function token(srv)
  local rc, status, body = curl(srv, {
    method = "POST", path = "/oauth/token", user = D.client_id .. ":" .. D.client_secret, ca = srv.ca_file,
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }, body = FORM,
  })
  assert.equals(0, rc)
  assert.equals(200, status)
  return assert(cjson.decode(body).access_token)
end

local function api(srv, path, t, body, extra)
  return curl(srv, {
    method = "POST", path = path, ca = srv.ca_file, extra = extra,
    headers = { ["Content-Type"] = "application/json", partnerId = D.partner_id,
                Authorization = "Bearer " .. t },
    body = type(body) == "string" and body or cjson.encode(body),
  })
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function alive(pid)
  local stat = read("/proc/" .. tostring(pid) .. "/stat")
  return stat ~= nil and stat:match("%) (%a)") ~= "Z"
end

local function children(pid)
  local _, out = sh("grep -l '^PPid:[[:space:]]*" .. pid .. "$' /proc/[0-9]*/status 2>/dev/null")
  local kids = {}
  for p in (out or ""):gmatch("/proc/(%d+)/status") do kids[#kids + 1] = tonumber(p) end
  return kids
end

local function wait_until(pred, timeout)
  local until_ = os.time() + (timeout or 10)
  while os.time() <= until_ do
    if pred() then return true end
    sh("sleep 0.05")
  end
  return pred()
end

describe("sandbox over nginx (HTTP)", function()
  local srv = targets.serve{ sandbox_opts = { bind_delay = 0 } }
  before_each(function() control(srv, "reset") end)

  it("starts on a free loopback port with a generated config in a temp prefix", function()
    assert.matches("^http://127%.0%.0%.1:%d+$", srv.url)
    assert.is_true(srv.port >= 20000 and srv.port < 40000)
    assert.is_true(alive(srv.pid))
    local conf = assert(read(srv.prefix .. "/nginx.conf"))
    assert.matches("load_module /usr/lib/nginx/modules/ndk_http_module.so;", conf, 1, true)
    assert.is_true(conf:find("ndk_http_module", 1, true) < conf:find("ngx_http_lua_module", 1, true))
    assert.matches("lua_package_cpath \"[^\"]*/build/luajit/%?%.so;;\"", conf)
    assert.matches("keepalive_requests 10000;", conf, 1, true)
    assert.matches("error_log " .. srv.prefix, conf, 1, true)
    assert.is_nil(srv.ca_file)
  end)

  it("serves the token and device calls", function()
    local t = token(srv)
    assert.equals(27, #t)
    local rc, status, body = api(srv, GENERATE, t, DEVICE)
    assert.equals(0, rc)
    assert.equals(200, status)
    assert.same({ response_code = 0, response_message = "Success", payload = { status = "Pending" } },
      cjson.decode(body))
    rc, status, body = api(srv, STATUS, t, DEVICE)
    assert.equals(0, rc)
    assert.equals(200, status)
    assert.equals("Bound", cjson.decode(body).payload.status)
    rc, status = api(srv, STATUS, "not-a-token", DEVICE)
    assert.equals(0, rc)
    assert.equals(401, status)
    local s = control(srv, "stats")
    assert.equals(1, s.token_requests)
    assert.equals(3, s.api_requests)
  end)

  it("answers unknown paths with 404 JSON", function()
    local rc, status, body = curl(srv, { path = "/nope" })
    assert.equals(0, rc)
    assert.equals(404, status)
    assert.equals("Not Found", cjson.decode(body).error)
  end)

  it("counts one connection for requests that share a keep-alive connection", function()
    -- one curl run with two URLs reuses its connection
    local rc, status = curl(srv, {
      method = "POST", paths = { "/oauth/token", "/oauth/token" }, user = D.client_id .. ":" .. D.client_secret,
      headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }, body = FORM,
    })
    assert.equals(0, rc)
    assert.equals(200, status)
    local s = control(srv, "stats")
    assert.equals(2, s.token_requests)
    assert.equals(1, s.connections)
    local entries = control(srv, "log").entries
    assert.equals(entries[1].conn, entries[2].conn)
    -- a second curl run is a second connection
    token(srv)
    s = control(srv, "stats")
    assert.equals(3, s.token_requests)
    assert.equals(2, s.connections)
  end)

  it("reads a request body larger than the in-memory buffer (from nginx's temp file)", function()
    local t = token(srv)
    local big = cjson.encode(DEVICE):gsub("^{", '{"padding":"' .. ("x"):rep(1536 * 1024) .. '",')
    local rc, status, body = api(srv, GENERATE, t, big)
    assert.equals(0, rc)
    assert.equals(200, status)
    assert.equals("Pending", cjson.decode(body).payload.status)
  end)

  it("turns truncated, reset and garbage faults into transfer errors", function()
    local t = token(srv)
    local want = { truncated = 18, reset = 52 }
    for kind, code in pairs(want) do
      control(srv, "fault", { endpoint = "device.status", kind = kind })
      local rc = api(srv, STATUS, t, DEVICE)
      assert.equals(code, rc, kind)
    end
    control(srv, "fault", { endpoint = "device.status", kind = "garbage" })
    local rc, status = api(srv, STATUS, t, DEVICE)
    assert.not_equals(0, rc)
    assert.equals(0, status) -- curl's "000": no HTTP response
    -- the server is fine afterwards
    rc = api(srv, GENERATE, t, DEVICE)
    assert.equals(0, rc)
    local entries = control(srv, "log").entries
    local faults = {}
    for _, e in ipairs(entries) do if e.fault then faults[#faults + 1] = e.fault end end
    table.sort(faults)
    assert.same({ "garbage", "reset", "truncated" }, faults)
  end)

  it("serves an HTML 502 and delays as asked", function()
    local t = token(srv)
    control(srv, "fault", { endpoint = "device.generate", kind = "http_502_html" })
    local rc, status, body = api(srv, GENERATE, t, DEVICE)
    assert.equals(0, rc)
    assert.equals(502, status)
    assert.matches("502 Bad Gateway", body, 1, true)
    control(srv, "fault", { endpoint = "device.generate", kind = "delay", delay = 0.6 })
    local _, out = sh("curl -sS -o /dev/null -w '%{time_total}' -X POST -H 'Content-Type: application/json' "
      .. "-H 'partnerId: " .. D.partner_id .. "' -H 'Authorization: Bearer " .. t .. "' --data-binary "
      .. quote(cjson.encode(DEVICE)) .. " " .. srv.url .. GENERATE)
    assert.is_true(tonumber(out) >= 0.55, "took " .. tostring(out))
  end)

  it("refuses to start on a port that is in use", function()
    local other, err = nginx.start{ port = srv.port }
    assert.is_nil(other)
    assert.matches("in use", err)
  end)
end)

describe("sandbox books over nginx", function()
  local srv = targets.serve{
    sandbox_opts = { bind_delay = 0 }, http_conf = "  lua_shared_dict hooks 1m;",
    server_conf = [[
  location = /hook { content_by_lua_block {
    ngx.req.read_body()
    ngx.shared.hooks:set("body", ngx.req.get_body_data())
    ngx.shared.hooks:incr("n", 1, 0)
    ngx.say("ok")
  } }
  location = /hook/last { content_by_lua_block {
    ngx.print(ngx.shared.hooks:get("n") or 0, "\n", ngx.shared.hooks:get("body") or "")
  } }
]] }
  local P = "/api/v0/partner/enKashCard"
  before_each(function() control(srv, "reset") end)

  local function ok(path, t, body)
    local rc, status, out = api(srv, path, t, body)
    assert.equals(0, rc)
    assert.equals(200, status)
    local env = cjson.decode(out)
    assert(env.response_code == 0, out)
    return env.payload, out
  end

  local function wallet(t)
    return ok(P .. "/wallet", t, {
      companyId = D.client_id, cardAccountId = "CACSANDBOX1", email = "k@example.com", mobile = "6000091111",
      title = "Mr", firstName = "Kris", lastName = "Singh", gender = "M",
      documents = { { docType = "PAN", docNo = "CPNPN9971R" } }, address = "Flat 109", city = "Kota",
      state = "Rajasthan", pincode = "323307", country = "India",
    })
  end

  it("reads GET rows from the query string", function()
    local t = token(srv)
    local w = wallet(t)
    local rc, status, body = curl(srv, {
      path = P .. "/vkyc/link?enKashCardId=" .. w.enKashCardId .. "&cardAccountId=CACSANDBOX1",
      headers = { partnerId = D.partner_id, Authorization = "Bearer " .. t },
    })
    assert.equals(0, rc)
    assert.equals(200, status)
    assert.equals("INITIATED", cjson.decode(body).payload.vkycStatus)
  end)

  it("holds a commit_timeout answer back after committing", function()
    local t = token(srv)
    local w = wallet(t)
    control(srv, "fault", { endpoint = "wallet.top_up", kind = "commit_timeout", delay = 0.6 })
    local rc = api(srv, P .. "/balance", t, { enKashCardId = w.enKashCardId, amount = 5, transactionType = "CR",
                                             uniqueReferenceNumber = "REF_CT_1" }, "--max-time 0.3")
    assert.equals(28, rc) -- curl: operation timed out
    local l = control(srv, "ledger")
    assert.equals(500, l.accounts["wallet:" .. w.enKashCardId])
    assert.equals(1, l.applied.REF_CT_1)
  end)

  it("delivers the Payment Notify from a timer, without holding the request", function()
    local t = token(srv)
    local w = wallet(t)
    control(srv, "webhook", { url = srv.url .. "/hook", secret = "hook-secret" })
    local p, raw = ok(P .. "/load-money", t, { companyId = D.client_id, cardAccountId = "CACSANDBOX1",
      enKashCardId = w.enKashCardId, amount = "10.50", uniqueReferenceNumber = "REF_PG_1" })
    assert.equals("SUCCESS", p.status)
    assert.matches('"otbBalance":10.50', raw, 1, true)
    local n, body
    wait_until(function()
      local _, _, out = curl(srv, { path = "/hook/last" })
      n, body = (out or ""):match("^(%d+)\n(.*)$")
      return n == "1"
    end, 5)
    assert.equals("1", n)
    local doc = cjson.decode(body)
    assert.equals("REF_PG_1", doc.uniqueTransactionId)
    assert.matches('"amount":10.50', body, 1, true)
    local checksum = doc.checksum
    doc.checksum = nil
    assert.equals(require("enkash.webhook").sign(doc, "hook-secret"), checksum)
    local rec
    wait_until(function()
      rec = control(srv, "notifications").notifications[1]
      return rec and rec.status == "delivered"
    end, 5)
    assert.equals("delivered", rec.status)
    assert.equals(1, rec.attempts)
  end)

  it("keeps the control API off with sandbox_opts.control = false (403)", function()
    local closed = assert(nginx.start{ sandbox_opts = { control = false } })
    local rc, status, body = curl(closed, { path = "/_sandbox/stats" })
    closed:stop()
    assert.equals(0, rc)
    assert.equals(403, status)
    assert.matches("control = true", body, 1, true)
  end)
end)

describe("sandbox over nginx (HTTPS)", function()
  local srv = targets.serve{ tls = true, sandbox_opts = { bind_delay = 0 } }

  it("serves HTTPS verified with the throwaway CA, for 127.0.0.1 and localhost", function()
    assert.matches("^https://127%.0%.0%.1:%d+$", srv.url)
    assert.matches("BEGIN CERTIFICATE", read(srv.ca_file), 1, true)
    local t = token(srv)
    local rc, status, body = api(srv, GENERATE, t, DEVICE)
    assert.equals(0, rc)
    assert.equals(200, status)
    assert.equals("Pending", cjson.decode(body).payload.status)
    rc, status = curl(srv, { path = "/_sandbox/stats", ca = srv.ca_file, url = "https://localhost:" .. srv.port })
    assert.equals(0, rc)
    assert.equals(200, status)
  end)

  it("fails verification without the CA file", function()
    local rc = curl(srv, { path = "/_sandbox/stats" })
    assert.equals(60, rc) -- CURLE_PEER_FAILED_VERIFICATION
  end)

  it("speaks TLS 1.2 and 1.3 only", function()
    assert.matches("ssl_protocols TLSv1.2 TLSv1.3;", read(srv.prefix .. "/nginx.conf"), 1, true)
    local rc = curl(srv, { path = "/_sandbox/stats", ca = srv.ca_file, extra = "--tls-max 1.3 --tlsv1.3" })
    assert.equals(0, rc)
    rc = curl(srv, { path = "/_sandbox/stats", ca = srv.ca_file, extra = "--tls-max 1.2 --tlsv1.2" })
    assert.equals(0, rc)
  end)
end)

describe("sandbox nginx runner stop()", function()
  it("ends nginx and its workers, removes the prefix, and is idempotent", function()
    local srv = assert(nginx.start{ workers = 2 })
    local pid, prefix = srv.pid, srv.prefix
    local kids = children(pid)
    assert.equals(2, #kids)
    assert.equals(0, (curl(srv, { path = "/_sandbox/stats" })))
    assert.is_true(srv:stop())
    assert.is_false(alive(pid))
    for _, k in ipairs(kids) do assert.is_false(alive(k)) end
    assert.is_nil(read(prefix .. "/nginx.conf"))
    assert.is_true(srv:stop())
    assert.not_equals(0, (curl(srv, { path = "/_sandbox/stats" })))
  end)

  it("reports a broken configuration with nginx's error log", function()
    local srv, err = nginx.start{ server_conf = "this_is_not_a_directive on;" }
    assert.is_nil(srv)
    assert.matches("this_is_not_a_directive", err)
  end)

  it("passes server_conf and http_conf through, and runs without the sandbox", function()
    local srv = assert(nginx.start{
      sandbox = false, http_conf = "  add_header X-Extra yes;",
      server_conf = "    location = /hello { return 200 'hi'; }",
    })
    local rc, status, body = curl(srv, { path = "/hello", extra = "-i" })
    srv:stop()
    assert.equals(0, rc)
    assert.equals(200, status)
    assert.matches("X%-Extra: yes", body)
    assert.matches("hi$", body)
  end)
end)

describe("enkash sandbox (CLI)", function()
  it("prints the URL and credentials, serves until Ctrl-C, then cleans up", function()
    local port
    for _ = 1, 20 do
      port = 30000 + math.random(0, 9999)
      if sh("bash -c 'exec 3<>/dev/tcp/127.0.0.1/" .. port .. "' 2>/dev/null") ~= 0 then break end
    end
    local out = os.tmpname()
    local _, pid = sh("setsid lua5.4 bin/enkash sandbox --port " .. port .. " --tls --bind-delay 0 --control >" .. out
      .. " 2>&1 & echo $!")
    pid = tonumber(pid)
    local srv = { url = "https://127.0.0.1:" .. port }
    local ok = wait_until(function()
      srv.ca_file = (read(out) or ""):match("ca_file%s+(%S+)")
      return srv.ca_file ~= nil and curl(srv, { path = "/_sandbox/stats", ca = srv.ca_file }) == 0
    end)
    local banner = read(out) or ""
    local t = ok and token(srv)
    sh("kill -INT -" .. pid) -- Ctrl-C: SIGINT to the whole process group
    local gone = wait_until(function() return not alive(pid) end)
    local text = read(out) or ""
    os.remove(out)
    assert.is_true(ok, banner)
    assert.matches("https://127.0.0.1:" .. port, banner, 1, true)
    assert.matches(D.client_secret, banner, 1, true)
    assert.matches("Ctrl-C", banner, 1, true)
    assert.equals(27, #t)
    assert.is_true(gone)
    assert.matches("stopped", text)
    assert.not_equals(0, (curl(srv, { path = "/_sandbox/stats", ca = srv.ca_file })))
    assert.is_nil(read(srv.ca_file)) -- the prefix is gone
  end)

  it("exits with status 1 when the port is taken", function()
    local busy = assert(nginx.start{ sandbox = false })
    local rc = sh("lua5.4 bin/enkash sandbox --port " .. busy.port .. " >/dev/null 2>&1")
    busy:stop()
    assert.equals(1, rc)
  end)

  it("rejects bad arguments with status 2", function()
    local cli = require "enkash.cli.sandbox"
    assert.same({ port = 9000, tls = true, sandbox_opts = { bind_delay = false, control = false } },
      cli.parse({ "--port", "9000", "--tls", "--bind-delay", "never" }))
    assert.is_true(cli.parse({ "--control" }).sandbox_opts.control)
    assert.matches("--control", cli.help, 1, true)
    assert.is_nil(cli.parse({ "--port", "x" }))
    assert.is_nil(cli.parse({ "--frobnicate" }))
    local rc = sh("lua5.4 bin/enkash sandbox --port 0 >/dev/null 2>&1")
    assert.equals(2, rc)
  end)
end)

