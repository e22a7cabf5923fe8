-- The ngx transport (enkash.transport.ngx over enkash.transport.ngx_http) inside real nginx: HTTP/1.1
-- framing, keep-alive, caps, timeouts, error kinds, TLS verification, and the phases where
-- nginx allows no cosockets. Lua 5.4 drives; nginx runs the LuaJIT side.
local cjson = require "cjson"
local app = require "helpers.ngx_app"
local control = require "helpers.control"
local fixtures = require "helpers.fixtures"

local DEVICE = fixtures.device

-- Upstream locations the transport is pointed at, and /t, which makes one request with the
-- transport and answers {status, headers, body} or {kind, message, retryable}.
local UPSTREAM = [[
  location = /up/len {
    add_header X-Multi "one";
    add_header X-Multi "two";
    return 200 "hello";
  }
  location = /up/chunked {
    content_by_lua_block {
      for i = 1, 5 do ngx.print(("part%d;"):format(i)) ngx.flush(true) end
    }
  }
  location = /up/big { content_by_lua_block { ngx.header["Content-Length"] = 2000 ngx.print(("x"):rep(2000)) } }
  location = /up/big_chunked {
    content_by_lua_block { for _ = 1, 20 do ngx.print(("y"):rep(100)) ngx.flush(true) end }
  }
  location = /up/slow { content_by_lua_block { ngx.sleep(2) ngx.say("late") } }
  location = /up/reset { content_by_lua_block { ngx.exit(444) } }
  location = /up/drop_reused {
    content_by_lua_block {
      DROP_HITS = (DROP_HITS or 0) + 1
      if tonumber(ngx.var.connection_requests) > 1 then return ngx.exit(444) end
      ngx.print("fresh connection")
    }
  }
  location = /up/drop_hits { content_by_lua_block { ngx.print(DROP_HITS or 0) } }
  location = /up/echo {
    content_by_lua_block {
      ngx.req.read_body()
      ngx.header["X-Method"] = ngx.req.get_method()
      ngx.header["X-Custom"] = ngx.var.http_x_custom or "none"
      ngx.header["X-UA"] = ngx.var.http_user_agent
      ngx.print(ngx.req.get_body_data() or "")
    }
  }
  location = /up/raw {
    content_by_lua_block {
      local what = ngx.var.arg_what
      ngx.req.read_body()
      local sock = ngx.req.socket(true)
      if what == "close" then
        sock:send("HTTP/1.1 200 OK\r\nX-Framing: none\r\nConnection: close\r\n\r\nuntil the end")
      elseif what == "truncated" then
        sock:send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
      elseif what == "continue" then
        sock:send("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
      elseif what == "garbage" then
        sock:send("SSH-2.0-OpenSSH_9.2\r\n\r\n")
      end
      ngx.exit(444)
    }
  }
  location = /t {
    content_by_lua_block {
      local cjson = require "cjson"
      local a = ngx.req.get_uri_args()
      local key = (a.verify or "") .. ":" .. (a.cap or "") .. ":" .. (a.engine or "")
      T = T or {}
      T[key] = T[key] or require("enkash.transport.ngx").new({
        verify = a.verify ~= "false", max_response_bytes = tonumber(a.cap),
      }, { engine = a.engine })
      local t = T[key]
      ngx.req.read_body()
      local t0 = ngx.now()
      local res, err = t:request{
        method = a.method or "GET", url = a.url, body = ngx.req.get_body_data(),
        timeout = tonumber(a.timeout) or 5, connect_timeout = tonumber(a.connect_timeout) or 2,
        headers = { ["X-Custom"] = "custom value", ["Content-Type"] = "application/octet-stream" },
      }
      ngx.update_time()
      local out = res or { kind = err.kind, message = err.message, retryable = err.retryable }
      out.elapsed = ngx.now() - t0
      out.stats = t:stats()
      out.engine = t.engine
      ngx.say(cjson.encode(out))
    }
  }
]]

local function quote(s) return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end)) end

-- One request through the transport inside `srv`; returns the decoded answer of /t.
local function via(srv, url, o)
  o = o or {}
  local q = { "url=" .. quote(url) }
  for k, v in pairs(o) do
    if k ~= "body" then q[#q + 1] = k .. "=" .. quote(v) end
  end
  local res = app.request(srv.url .. "/t?" .. table.concat(q, "&"), o.body and { method = "POST", body = o.body })
  assert(res.status == 200, res.body)
  return cjson.decode(res.body)
end

describe("the ngx transport", function()
  local srv, up

  setup(function()
    srv = app.app { workers = 1, server_conf = UPSTREAM }
    up = srv.url .. "/up"
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  it("reads Content-Length bodies, lower-cases header names and joins repeated headers", function()
    local r = via(srv, up .. "/len")
    assert.equal(200, r.status)
    assert.equal("hello", r.body)
    assert.equal("one, two", r.headers["x-multi"])
    for name in pairs(r.headers) do assert.equal(name:lower(), name) end
    assert.equal("builtin", r.engine)
  end)

  it("reads chunked bodies", function()
    local r = via(srv, up .. "/chunked")
    assert.equal(200, r.status)
    assert.equal("part1;part2;part3;part4;part5;", r.body)
    assert.matches("chunked", r.headers["transfer-encoding"])
  end)

  it("reads a body framed by the end of the connection, and skips 1xx answers", function()
    local r = via(srv, up .. "/raw?what=close")
    assert.equal("until the end", r.body)
    assert.equal("none", r.headers["x-framing"])
    r = via(srv, up .. "/raw?what=continue")
    assert.equal(201, r.status)
    assert.equal("ok", r.body)
  end)

  it("sends the method, headers and a binary body", function()
    local body = ("\0\1\2\255"):rep(3000)
    local r = via(srv, up .. "/echo", { method = "PUT", body = body })
    assert.equal(200, r.status)
    assert.equal(body, r.body)
    assert.equal("PUT", r.headers["x-method"])
    assert.equal("custom value", r.headers["x-custom"])
    assert.matches("^enkash%-ngx/", r.headers["x-ua"])
  end)

  it("keeps connections alive between requests", function()
    local first = via(srv, up .. "/len").stats
    local last
    for _ = 1, 10 do last = via(srv, up .. "/len").stats end
    assert.equal(first.requests + 10, last.requests)
    assert.equal(first.connects, last.connects)
  end)

  it("never sends a request twice when a reused connection dies before the answer", function()
    local hits = tonumber(app.request(up .. "/drop_hits").body)
    assert.equal(200, via(srv, up .. "/len").status) -- a connection in the pool
    local r = via(srv, up .. "/drop_reused", { method = "POST", body = "pay once" })
    assert.equal("transport", r.kind)
    assert.equal("connection closed before a response; the request may have been received", r.message)
    assert.equal(hits + 1, tonumber(app.request(up .. "/drop_hits").body))
  end)

  it("caps the response size, Content-Length and chunked alike", function()
    local r = via(srv, up .. "/big", { cap = 500 })
    assert.equal("transport", r.kind)
    assert.equal("response larger than 500 bytes", r.message)
    r = via(srv, up .. "/big_chunked", { cap = 500 })
    assert.equal("transport", r.kind)
    assert.equal("response larger than 500 bytes", r.message)
    assert.equal(2000, #via(srv, up .. "/big", { cap = 2000 }).body)
  end)

  it("maps failures to the curl transport's kinds", function()
    local r = via(srv, up .. "/slow", { timeout = 0.3 })
    assert.equal("timeout", r.kind)
    assert.is_true(r.retryable)
    assert.is_true(r.elapsed < 1, "timed out after " .. r.elapsed)
    r = via(srv, "http://127.0.0.1:1/")
    assert.equal("connect", r.kind)
    r = via(srv, up .. "/reset")
    assert.equal("transport", r.kind)
    r = via(srv, up .. "/raw?what=truncated")
    assert.equal("transport", r.kind)
    assert.equal("transfer closed with 90 bytes remaining to read", r.message)
    r = via(srv, up .. "/raw?what=garbage")
    assert.equal("transport", r.kind)
    r = via(srv, "ftp://127.0.0.1/")
    assert.equal("transport", r.kind)
  end)
end)

-- A stand-in for lua-resty-http (not packaged by Debian, so not installed here) with the API
-- the adapter uses: new, set_timeouts, connect{...}, get_reused_times, request, set_keepalive,
-- close; the response's headers keep their case and repeated ones come as a list.
local RESTY_HTTP = [==[
local M = { _VERSION = "0.17.1" }
local mt = { __index = M }
function M.new() return setmetatable({ sock = ngx.socket.tcp() }, mt) end
function M:set_timeouts(c, s, r) return self.sock:settimeouts(c, s, r) end
function M:connect(o)
  STANDIN_CONNECTS = (STANDIN_CONNECTS or 0) + 1
  local ok, err = self.sock:connect(o.host, o.port, { pool = o.pool })
  if not ok then return nil, err end
  if o.scheme == "https" and self.sock:getreusedtimes() == 0 then
    ok, err = self.sock:sslhandshake(o.ssl_reused_session, o.ssl_server_name, o.ssl_verify)
    if not ok then return nil, err end
  end
  return true
end
function M:get_reused_times() return self.sock:getreusedtimes() end
function M:set_keepalive(t) return self.sock:setkeepalive(t) end
function M:close() return self.sock:close() end
function M:request(p)
  local sock = self.sock
  local head = { p.method .. " " .. p.path .. " HTTP/1.1" }
  for k, v in pairs(p.headers) do head[#head + 1] = k .. ": " .. v end
  if p.body then head[#head + 1] = "Content-Length: " .. #p.body end
  local ok, err = sock:send(table.concat(head, "\r\n") .. "\r\n\r\n" .. (p.body or ""))
  if not ok then return nil, err end
  local line
  line, err = sock:receive("*l")
  if not line then return nil, err end
  local res = { status = tonumber(line:sub(10, 12)), headers = {}, has_body = true }
  local lower = {}
  while true do
    line, err = sock:receive("*l")
    if not line then return nil, err end
    if line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.*)$")
    local old = res.headers[k]
    if old then res.headers[k] = type(old) == "table" and old or { old } table.insert(res.headers[k], v)
    else res.headers[k] = v end
    lower[k:lower()] = v
  end
  local len, chunked = tonumber(lower["content-length"]), (lower["transfer-encoding"] or ""):find("chunked")
  local done = false
  res.body_reader = function(max)
    if done then return nil end
    if len then done = true return sock:receive(len) end
    if chunked then
      local size = tonumber(sock:receive("*l"), 16)
      if size == 0 then sock:receive("*l") done = true return nil end
      local data, e = sock:receive(size)
      sock:receive("*l")
      return data, e
    end
    local data, e, partial = sock:receive(max)
    if not data then done = true return partial, e end
    return data
  end
  return res
end
return M
]==]

describe("the ngx transport over lua-resty-http (when installed)", function()
  local srv, up, dir

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. "/resty"))
    local f = assert(io.open(dir .. "/resty/http.lua", "wb"))
    f:write(RESTY_HTTP)
    f:close()
    srv = app.app { workers = 1, server_conf = UPSTREAM,
                    http_conf = 'init_by_lua_block { package.path = "' .. dir .. '/?.lua;" .. package.path }' }
    up = srv.url .. "/up"
  end)

  teardown(function()
    if srv then srv:stop() end
    if dir then os.execute("rm -rf " .. dir) end
  end)

  it("is picked by itself and speaks through it", function()
    local r = via(srv, up .. "/len")
    assert.equal("resty", r.engine)
    assert.equal(200, r.status)
    assert.equal("hello", r.body)
    assert.equal("one, two", r.headers["x-multi"])
    for name in pairs(r.headers) do assert.equal(name:lower(), name) end
    assert.equal("part1;part2;part3;part4;part5;", via(srv, up .. "/chunked").body)
    assert.equal("until the end", via(srv, up .. "/raw?what=close").body)
    local body = ("\0\1\2\255"):rep(100)
    assert.equal(body, via(srv, up .. "/echo", { method = "POST", body = body }).body)
    assert.equal("builtin", via(srv, up .. "/len", { engine = "builtin" }).engine)
  end)

  it("maps its failures to the same kinds, and caps the size", function()
    local r = via(srv, up .. "/big", { cap = 500 })
    assert.equal("transport", r.kind)
    assert.equal("response larger than 500 bytes", r.message)
    assert.equal("response larger than 500 bytes", via(srv, up .. "/big_chunked", { cap = 500 }).message)
    assert.equal("timeout", via(srv, up .. "/slow", { timeout = 0.3 }).kind)
    assert.equal("connect", via(srv, "http://127.0.0.1:1/").kind)
    assert.equal("transport", via(srv, up .. "/reset").kind)
  end)
end)

describe("the SDK inside nginx", function()
  local sandbox, tls_sandbox, other_tls, srv

  setup(function()
    sandbox = app.sandbox()
    tls_sandbox = app.sandbox { tls = true }
    other_tls = app.sandbox { tls = true } -- its own CA, which the app does not trust
    for _, s in ipairs({ sandbox, tls_sandbox, other_tls }) do
      control(s, "device", { deviceId = DEVICE.deviceId, status = "Bound" })
    end
    local cfg = app.config(sandbox, { ngx_shared_dict = "enkash" })
    local clients = {
      plain = cfg,
      tls = app.config(tls_sandbox),
      untrusted = app.config(other_tls),
      unverified = app.config(other_tls, { verify = false }),
    }
    local dev = app.lua_value(DEVICE)
    srv = app.app {
      workers = 2,
      http_conf = [[
  lua_shared_dict enkash 1m;
  lua_shared_dict spec 1m;
  lua_ssl_trusted_certificate ]] .. tls_sandbox.ca_file .. [[;
  lua_ssl_verify_depth 3;
  init_by_lua_block {
    local enkash = require "enkash"
    local cfgs = ]] .. app.lua_value(clients) .. [[

    CLIENTS, CFGS = {}, cfgs
    for name, c in pairs(cfgs) do CLIENTS[name] = assert(enkash.new(c)) end
    DEVICE = ]] .. dev .. [[

    -- what a call and a deferred call record, in the shared dict "spec"
    function RECORD(key, p, err)
      ngx.shared.spec:set(key, require("cjson").encode(p and { status = p.status }
        or { kind = err.kind, message = err.message, phase = err.phase }))
    end
  }
  init_worker_by_lua_block {
    -- no cosockets in init_worker: the call fails at once, the timer workaround works
    local p, err = CLIENTS.plain.device:status(DEVICE)
    RECORD("init_worker", p, err)
    ngx.timer.at(0, function()
      RECORD("init_worker_timer", CLIENTS.plain.device:status(DEVICE))
    end)
  }
]],
      server_conf = [[
  location = /call {
    content_by_lua_block {
      local client = CLIENTS[ngx.var.arg_client]
      local p, err = client.device:status(DEVICE)
      ngx.say(require("cjson").encode(p and { status = p.status, transport = client.transport.name }
        or { kind = err.kind, message = err.message }))
    }
  }
  location = /log_phase {
    return 200 "logged";
    log_by_lua_block {
      RECORD("log", CLIENTS.plain.device:status(DEVICE))
      RECORD("log_token", require("enkash").new(CFGS.tls):token()) -- no token yet: a fetch
      require("enkash.ngx").defer(function()
        RECORD("log_deferred", CLIENTS.plain.device:status(DEVICE))
      end)
    }
  }
  location = /set_phase {
    set_by_lua_block $enkash_phase_error {
      local p, err = CLIENTS.plain.device:status(DEVICE)
      return p and "called" or err.kind .. " " .. err.phase
    }
    return 200 $enkash_phase_error;
  }
  location = /record {
    content_by_lua_block { ngx.print(ngx.shared.spec:get(ngx.var.arg_key) or "null") }
  }
]],
    }
  end)

  teardown(function()
    for _, s in ipairs({ srv, sandbox, tls_sandbox, other_tls }) do
      if s then s:stop() end
    end
  end)

  local function call(name)
    return app.get_json(srv.url .. "/call?client=" .. name)
  end

  local function record(key)
    local deadline = os.time() + 5
    repeat
      local doc = app.get_json(srv.url .. "/record?key=" .. key)
      if doc ~= cjson.null then return doc end
      require("enkash.core").sleep(0.05)
    until os.time() > deadline
    error("nothing recorded under " .. key)
  end

  it("calls Enkash from the content phase with a client made in init_by_lua", function()
    assert.same({ status = "Bound", transport = "ngx" }, call("plain"))
  end)

  it("verifies TLS against lua_ssl_trusted_certificate", function()
    assert.same({ status = "Bound", transport = "ngx" }, call("tls"))
  end)

  it("refuses a certificate nginx does not trust (kind tls), unless verify = false", function()
    local r = call("untrusted")
    assert.equal("tls", r.kind)
    assert.matches("lua_ssl_trusted_certificate", r.message)
    assert.same({ status = "Bound", transport = "ngx" }, call("unverified"))
  end)

  it("returns a clear error from phases without cosockets, and the timer workaround works", function()
    local res = app.request(srv.url .. "/log_phase")
    assert.equal("logged", res.body)
    for _, key in ipairs({ "log", "log_token" }) do
      local r = record(key)
      assert.equal("transport", r.kind)
      assert.equal("log", r.phase)
      assert.matches("log phase", r.message)
      assert.matches("ngx.timer.at", r.message)
    end
    assert.same({ status = "Bound" }, record("log_deferred"))

    local r = record("init_worker")
    assert.equal("transport", r.kind)
    assert.equal("init_worker", r.phase)
    assert.matches("init_worker phase", r.message)
    assert.same({ status = "Bound" }, record("init_worker_timer"))

    assert.equal("transport set", app.request(srv.url .. "/set_phase").body)
  end)
end)
