-- enkash.core http: the libcurl handle against a real nginx on 127.0.0.1 (plain and TLS).
local cjson = require "cjson"
local core = require "enkash.core"
local nginx = require "enkash.sandbox.nginx"

-- Every byte value, so a body round trip proves binary safety (NUL included).
local ALL_BYTES = (function()
  local t = {}
  for i = 0, 255 do t[#t + 1] = string.char(i) end
  return table.concat(t)
end)()

local SERVER_CONF = [[
  client_body_buffer_size 4m;
  client_max_body_size 4m;
  location = /hello {
    add_header X-Test "yes";
    add_header X-Multi "one";
    add_header X-Multi "two";
    return 200 "hello";
  }
  location = /echo {
    content_by_lua_block {
      ngx.req.read_body()
      local body = ngx.req.get_body_data() or ""
      ngx.header["X-Method"] = ngx.req.get_method()
      ngx.header["X-Body-Length"] = tostring(#body)
      ngx.header["X-Custom"] = ngx.var.http_x_custom or "none"
      ngx.header["X-Expect"] = ngx.var.http_expect or "none"
      ngx.header["X-Content-Length"] = ngx.var.http_content_length or "none"
      ngx.header["X-Agent"] = ngx.var.http_user_agent or "none"
      ngx.header["Content-Type"] = "application/octet-stream"
      ngx.print(body)
    }
  }
  location = /slow {
    content_by_lua_block { ngx.sleep(2) ngx.say("late") }
  }
  location = /big {
    content_by_lua_block { ngx.print(string.rep("x", 1000)) }
  }
  location = /status {
    return 418 "teapot";
  }
  location = /reset {
    content_by_lua_block {
      -- counts in the worker's VM (one worker): how often the request really arrived
      package.loaded.reset_hits = (package.loaded.reset_hits or 0) + 1
      ngx.req.read_body()
      ngx.exit(444) -- close the connection without any response
    }
  }
  location = /reset_hits {
    content_by_lua_block { ngx.print(package.loaded.reset_hits or 0) }
  }
  location = /nap {
    content_by_lua_block { ngx.sleep(tonumber(ngx.var.arg_s)) ngx.print("up") }
  }
  location = /headers {
    content_by_lua_block {
      ngx.print(require("cjson").encode(ngx.req.get_headers(1000, true)))
    }
  }
  location = /raw {
    content_by_lua_block {
      -- the request body is the header lines of the answer, sent raw
      ngx.req.read_body()
      local lines = ngx.req.get_body_data() or ""
      local sock = ngx.req.socket(true)
      sock:send("HTTP/1.1 200 OK\r\n" .. lines .. "Content-Length: 2\r\nConnection: close\r\n\r\nok")
      ngx.exit(444)
    }
  }
]]

-- The headers table of an answer whose header lines are `lines`, as core.http documents it
-- (written apart from the C core's two readings, which must both give it): names lower-cased
-- and trimmed, values trimmed of spaces and tabs, a repeated name's values joined with ", ",
-- a folded line (leading space or tab) joined to the last named line with " " (dropped when
-- empty or first), lines without a colon or a name dropped.
local function reference_headers(lines)
  local t, last = {}, nil
  for _, line in ipairs(lines) do
    if line:match("^[ \t]") then
      local v = line:match("^[ \t]*(.-)[ \t]*$")
      if last and v ~= "" then t[last] = t[last] .. " " .. v end
    else
      local name, v = line:match("^(.-)[ \t]*:[ \t]*(.-)[ \t]*$")
      if name and name ~= "" then
        name = name:lower()
        t[name] = t[name] and (t[name] .. ", " .. v) or v
        last = name
      end
    end
  end
  return t
end

-- Header blocks around the point where the simple reading hands over to the grouped one
-- (16 named lines, a name twice, a folded line), and random mixtures of every shape.
local function header_cases()
  local cases = {}
  local function names(n)
    local l = {}
    for i = 1, n do l[i] = ("X-N%d: v%d"):format(i, i) end
    return l
  end
  for n = 0, 20 do cases[#cases + 1] = names(n) end
  for n = 13, 16 do
    local l = names(n)
    l[#l + 1] = "x-n1: again" -- the repeat comes last
    cases[#cases + 1] = l
    l = names(n)
    table.insert(l, 2, " folded in") -- a fold after the first line
    cases[#cases + 1] = l
  end
  -- (libcurl itself refuses a line without a colon, and a fold before any named line)
  cases[#cases + 1] = { "X-A:", "X-B:   ", "X-C: \t c \t", "X-D  : d", ": no name" }
  cases[#cases + 1] = { "X-A: 1", "X-B: 2", "x-a: 3", " \t ", "\tfour", "X-B: 5" }
  local shapes = { "X-%s: v", "x-%s: v", "X-%s:", "X-%s :  v  ", "X-%s: a, b", " fold", "\tfold " }
  math.randomseed(20240612)
  for _ = 1, 120 do
    local l = {}
    for i = 1, math.random(0, 24) do
      local shape = shapes[math.random(i == 1 and 4 or #shapes)] -- a named line first
      l[i] = shape:format(string.char(64 + math.random(1, 12)))
    end
    cases[#cases + 1] = l
  end
  return cases
end

local function closed_port()
  -- Port 1 (tcpmux) is privileged and not served on a test box: connection refused.
  return "http://127.0.0.1:1/"
end

describe("enkash.core http", function()
  local srv

  setup(function()
    srv = assert(nginx.start { sandbox = false, tls = false, server_conf = SERVER_CONF })
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  it("GETs status, lower-cased headers and body", function()
    local h = core.http()
    local res = assert(h:request { method = "GET", url = srv.url .. "/hello" })
    assert.equal(200, res.status)
    assert.equal("hello", res.body)
    assert.equal("yes", res.headers["x-test"])
    assert.equal("one, two", res.headers["x-multi"])
    assert.equal("5", res.headers["content-length"])
    assert.is_nil(res.headers["X-Test"])
    for name in pairs(res.headers) do assert.equal(name:lower(), name) end
    h:close()
  end)

  it("defaults to GET and reports non-2xx as a response, not an error", function()
    local h = core.http()
    local res = assert(h:request { url = srv.url .. "/status" })
    assert.equal(418, res.status)
    assert.equal("teapot", res.body)
    res = assert(h:request { url = srv.url .. "/echo" })
    assert.equal("GET", res.headers["x-method"])
    h:close()
  end)

  it("POSTs a body with headers, and sends an empty Expect", function()
    local h = core.http { user_agent = "spec-agent" }
    local body = '{"a":1}' .. string.rep("z", 2000) -- large enough for curl to want Expect
    local res = assert(h:request {
      method = "POST", url = srv.url .. "/echo", body = body,
      headers = { ["X-Custom"] = "custom value", ["Content-Type"] = "application/json" },
    })
    assert.equal(200, res.status)
    assert.equal("POST", res.headers["x-method"])
    assert.equal(body, res.body)
    assert.equal(tostring(#body), res.headers["x-body-length"])
    assert.equal("custom value", res.headers["x-custom"])
    assert.equal("none", res.headers["x-expect"])
    assert.equal("spec-agent", res.headers["x-agent"])
    h:close()
  end)

  it("sends the default user agent, and Content-Length 0 for an empty POST", function()
    local h = core.http()
    local res = assert(h:request { method = "POST", url = srv.url .. "/echo" })
    assert.equal("enkash-lua", res.headers["x-agent"])
    assert.equal("0", res.headers["x-content-length"])
    assert.equal("", res.body)
    h:close()
  end)

  it("reports the final response after a 100 Continue", function()
    local h = core.http()
    local res = assert(h:request {
      method = "POST", url = srv.url .. "/echo", body = "continued",
      headers = { Expect = "100-continue" },
    })
    assert.equal(200, res.status)
    assert.equal("continued", res.body)
    assert.equal("100-continue", res.headers["x-expect"])
    assert.equal("POST", res.headers["x-method"])
    h:close()
  end)

  it("goes through the proxy it is given", function()
    -- nginx answers absolute-URI requests itself: the name below is never resolved, so
    -- the request can only succeed through the proxy.
    local h = core.http { proxy = srv.url }
    local res = assert(h:request { url = "http://enkash-proxy-test.invalid/hello" })
    assert.equal(200, res.status)
    assert.equal("hello", res.body)
    h:close()
    h = core.http()
    local direct, _, kind = h:request { url = "http://enkash-proxy-test.invalid/hello", timeout = 2 }
    assert.is_nil(direct)
    -- "connect" (NXDOMAIN), or "timeout" on a box whose resolver never answers
    assert.is_truthy(kind == "connect" or kind == "timeout")
    h:close()
  end)

  it("uses other methods as given", function()
    local h = core.http()
    local res = assert(h:request { method = "PUT", url = srv.url .. "/echo", body = "put-body" })
    assert.equal("PUT", res.headers["x-method"])
    assert.equal("put-body", res.body)
    res = assert(h:request { method = "DELETE", url = srv.url .. "/echo" })
    assert.equal("DELETE", res.headers["x-method"])
    res = assert(h:request { method = "HEAD", url = srv.url .. "/hello" })
    assert.equal(200, res.status)
    assert.equal("", res.body)
    h:close()
  end)

  it("round trips a binary body", function()
    local h = core.http()
    local body = string.rep(ALL_BYTES, 64)
    local res = assert(h:request { method = "POST", url = srv.url .. "/echo", body = body })
    assert.equal(#body, #res.body)
    assert.is_true(res.body == body)
    h:close()
  end)

  it("reuses one connection for sequential requests", function()
    local h = core.http()
    for _ = 1, 10 do
      local res = assert(h:request { method = "GET", url = srv.url .. "/hello" })
      assert.equal(200, res.status)
    end
    local st = h:stats()
    assert.equal(10, st.requests)
    assert.equal(1, st.connects)
    h:close()
  end)

  it("reports a refused connection as connect", function()
    local h = core.http()
    local res, msg, kind = h:request { url = closed_port() }
    assert.is_nil(res)
    assert.equal("connect", kind)
    assert.is_string(msg)
    assert.equal(1, h:stats().requests)
    h:close()
  end)

  it("times out as timeout, with the per-request timeout overriding the handle's", function()
    local h = core.http { timeout = 30 }
    local t0 = core.monotime()
    local res, msg, kind = h:request { url = srv.url .. "/slow", timeout = 0.5 }
    assert.is_nil(res)
    assert.equal("timeout", kind)
    assert.is_string(msg)
    assert.is_true(core.monotime() - t0 < 1.9)
    -- and the handle stays usable
    assert.equal(200, assert(h:request { url = srv.url .. "/hello" }).status)
    h:close()
  end)

  it("times out with the handle's timeout", function()
    local h = core.http { timeout = 0.3 }
    local res, _, kind = h:request { url = srv.url .. "/slow" }
    assert.is_nil(res)
    assert.equal("timeout", kind)
    h:close()
  end)

  it("caps the response size", function()
    local h = core.http { max_response_bytes = 100 }
    local res, msg, kind = h:request { url = srv.url .. "/big" }
    assert.is_nil(res)
    assert.equal("transport", kind)
    assert.equal("response larger than 100 bytes", msg)
    h:close()
    h = core.http { max_response_bytes = 1000 }
    assert.equal(1000, #assert(h:request { url = srv.url .. "/big" }).body)
    h:close()
  end)

  it("never re-sends a request when a reused connection dies without a response", function()
    local h = core.http()
    local function hits() return tonumber(assert(h:request { url = srv.url .. "/reset_hits" }).body) end
    local before = hits() -- also leaves a live connection for the POST to reuse
    local res, msg, kind = h:request { method = "POST", url = srv.url .. "/reset", body = "pay 100" }
    assert.is_nil(res)
    assert.equal("transport", kind)
    assert.is_string(msg)
    assert.equal(before + 1, hits()) -- libcurl alone would have sent it twice
    -- on a fresh connection too
    h:close()
    h = core.http()
    res, msg, kind = h:request { method = "POST", url = srv.url .. "/reset", body = "pay 100" }
    assert.is_nil(res)
    assert.equal("transport", kind)
    assert.is_string(msg)
    assert.equal(before + 2, hits())
    h:close()
  end)

  it("never puts request headers or body into an error message", function()
    local h = core.http()
    local res, msg, kind = h:request {
      method = "POST", url = closed_port(), body = "BODY-SECRET",
      headers = { Authorization = "Bearer TOKEN-SECRET" },
    }
    assert.is_nil(res)
    assert.equal("connect", kind)
    assert.is_nil(msg:find("SECRET", 1, true))
    h:close()
  end)

  it("sends each request as given on a reused handle, as a fresh handle would", function()
    local headers = { ["X-Custom"] = "one" }
    local base = srv.url .. "/echo"
    local reqs = {
      { method = "POST", url = base, body = "a", headers = headers },
      { method = "POST", url = base, body = "bb", headers = headers },
      { method = "GET", url = base },
      { method = "GET", url = base .. "?q=1&r=%20" },
      { method = "POST", url = base, body = "ccc" },
      { method = "HEAD", url = srv.url .. "/hello" },
      { method = "POST", url = base, body = "dddd", timeout = 7 },
      { method = "PUT", url = base, body = "e", connect_timeout = 3 },
      { method = "POST", url = base, body = "ff" },
      { method = "DELETE", url = base },
      { method = "GET", url = base, headers = headers },
      { method = "POST", url = base },
      { method = "OPTIONS", url = base },
      { url = srv.url .. "/hello" },
      { method = "POST", url = base, body = "", headers = { Expect = "100-continue" } },
    }
    local function seen(res)
      local hd = res.headers
      return { res.status, res.body, hd["x-method"], hd["x-body-length"], hd["x-custom"],
        hd["x-content-length"], hd["x-expect"], hd["x-agent"] }
    end
    local h = core.http()
    for round = 1, 3 do -- the same requests in three orders, each against a fresh handle's answer
      for i = 1, #reqs do
        local req = reqs[round == 2 and #reqs + 1 - i or round == 3 and (i * 7) % #reqs + 1 or i]
        headers["X-Custom"] = "v" .. i -- the same table, changed: sent as it is now
        local fresh = core.http()
        local want = seen(assert(fresh:request(req)))
        fresh:close()
        assert.same(want, seen(assert(h:request(req))), req.method or "GET")
      end
    end
    assert.equal(1, h:stats().connects)
    -- a URL that does not parse fails as on a fresh handle, and the handle goes on
    for _, bad in ipairs({ "http://[::1", "http://a b/", "ftp://127.0.0.1/x", "http://127.0.0.1:99999/" }) do
      local r1, m1, k1 = h:request { url = bad }
      local r2, m2, k2 = core.http():request { url = bad }
      assert.is_nil(r1)
      assert.is_nil(r2)
      assert.same({ m2, k2 }, { m1, k1 }, bad)
      assert.equal("hello", assert(h:request { url = srv.url .. "/hello" }).body)
    end
    h:close()
  end)

  it("applies each request's timeouts on a reused handle", function()
    local h = core.http { timeout = 30 }
    for _ = 1, 2 do
      local t0 = core.monotime()
      local res, _, kind = h:request { url = srv.url .. "/nap?s=1", timeout = 0.2 }
      assert.is_nil(res)
      assert.equal("timeout", kind)
      assert.is_true(core.monotime() - t0 < 0.9)
      assert.equal("up", assert(h:request { url = srv.url .. "/nap?s=0.4" }).body) -- the handle's 30 s
      assert.equal("up", assert(h:request { url = srv.url .. "/nap?s=0.3", timeout = 5 }).body)
    end
    h:close()
  end)

  it("sends request headers as the table holds them, many, empty and numbers too", function()
    local h = core.http()
    local headers = { ["X-Empty"] = "", ["X-Number"] = 42, ["X-Token"] = "a-b_c.d~e" }
    for i = 1, 60 do headers["X-Many-" .. i] = ("%03d"):format(i) .. ("v"):rep(150) end -- 10 KiB
    for round = 1, 3 do
      if round == 2 then headers["X-Many-7"], headers["X-Added"] = nil, "added" end
      if round == 3 then headers["X-Empty"] = "full" end
      local got = cjson.decode(assert(h:request { url = srv.url .. "/headers", headers = headers }).body)
      for name, value in pairs(headers) do assert.equal(tostring(value), got[name], name) end
      if round > 1 then assert.is_nil(got["X-Many-7"]) end
    end
    -- and the empty Expect after them all, for a body large enough for libcurl to want one
    local res = assert(h:request { method = "POST", url = srv.url .. "/echo", body = ("x"):rep(1100000),
      headers = headers })
    assert.equal("none", res.headers["x-expect"])
    assert.equal("1100000", res.headers["x-body-length"])
    h:close()
  end)

  it("reads every header block as documented, the simple and the repeated alike", function()
    local h = core.http()
    local m = core.multi()
    for i, lines in ipairs(header_cases()) do
      local block = #lines > 0 and (table.concat(lines, "\r\n") .. "\r\n") or ""
      local req = { method = "POST", url = srv.url .. "/raw", body = block }
      local want = reference_headers(lines)
      want["content-length"] = want["content-length"] and want["content-length"] .. ", 2" or "2"
      want["connection"] = want["connection"] and want["connection"] .. ", close" or "close"
      local res = assert(h:request(req))
      assert.same(want, res.headers, "case " .. i .. ": " .. block)
      if i % 10 == 0 then -- and through core.multi, which shares the reading
        m:add(req)
        assert.same(want, m:wait(10)[1].res.headers, "multi case " .. i)
      end
    end
    m:close()
    h:close()
  end)

  it("rejects misuse by raising", function()
    local h = core.http()
    assert.has_error(function() h:request() end)
    assert.has_error(function() h:request { } end) -- no url
    assert.has_error(function() h:request { url = 42 } end)
    assert.has_error(function() h:request { url = srv.url, body = {} } end)
    assert.has_error(function() h:request { url = srv.url, method = "GET /x" } end)
    assert.has_error(function() h:request { url = srv.url, timeout = 0 } end)
    assert.has_error(function() h:request { url = srv.url, timeout = "1" } end)
    assert.has_error(function() h:request { url = srv.url, headers = "x" } end)
    assert.has_error(function() h:request { url = srv.url, headers = { ["X-A"] = "a\r\nX-B: b" } } end)
    assert.has_error(function() h:request { url = srv.url, headers = { ["Bad Name"] = "v" } } end)
    assert.has_error(function() h:request { url = srv.url, headers = { ["X-A"] = true } } end)
    assert.has_error(function() core.http("x") end)
    assert.has_error(function() core.http { verify = "no" } end)
    assert.has_error(function() core.http { timeout = -1 } end)
    assert.has_error(function() core.http { max_response_bytes = 0 } end)
    assert.has_error(function() core.http { ca_file = 1 } end)
    -- and the handle still works after a raised misuse
    assert.equal(200, assert(h:request { url = srv.url .. "/hello" }).status)
    h:close()
  end)

  it("closes idempotently; a closed handle raises", function()
    local h = core.http()
    assert.equal(200, assert(h:request { url = srv.url .. "/hello" }).status)
    h:close()
    h:close()
    assert.matches("closed", tostring(h))
    assert.has_error(function() h:request { url = srv.url .. "/hello" } end,
      "attempt to use a closed enkash http handle")
    assert.has_error(function() h:stats() end, "attempt to use a closed enkash http handle")
  end)

  if _VERSION == "Lua 5.4" then
    it("closes as a to-be-closed variable (Lua 5.4)", function()
      local chunk = assert(load([[
        local core, url = ...
        local kept
        do
          local h <close> = core.http()
          kept = h
          assert(h:request { url = url })
        end
        return kept
      ]]))
      local h = chunk(core, srv.url .. "/hello")
      assert.has_error(function() h:stats() end)
    end)
  end

  it("is collected without explicit close", function()
    for _ = 1, 20 do
      assert(core.http():request { url = srv.url .. "/hello" })
    end
    collectgarbage()
    collectgarbage()
  end)
end)

describe("enkash.core http over TLS", function()
  local srv

  setup(function()
    srv = assert(nginx.start { sandbox = false, tls = true, server_conf = SERVER_CONF })
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  it("verifies the server against ca_file", function()
    assert.is_string(srv.ca_file)
    local h = core.http { ca_file = srv.ca_file }
    for _ = 1, 3 do
      local res = assert(h:request { url = srv.url .. "/hello" })
      assert.equal(200, res.status)
      assert.equal("hello", res.body)
    end
    assert.equal(1, h:stats().connects)
    h:close()
  end)

  it("fails as tls without the CA", function()
    local h = core.http()
    local res, msg, kind = h:request { url = srv.url .. "/hello" }
    assert.is_nil(res)
    assert.equal("tls", kind)
    assert.is_string(msg)
    h:close()
  end)

  it("skips verification only when told to", function()
    local h = core.http { verify = false }
    assert.equal(200, assert(h:request { url = srv.url .. "/hello" }).status)
    h:close()
  end)

  it("fails as tls with an unreadable ca_file", function()
    local h = core.http { ca_file = "/nonexistent/ca.pem" }
    local res, _, kind = h:request { url = srv.url .. "/hello" }
    assert.is_nil(res)
    assert.equal("tls", kind)
    h:close()
  end)
end)
