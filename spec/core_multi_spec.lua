-- enkash.core multi: many requests in flight on one thread, against a real nginx.
local core = require "enkash.core"
local nginx = require "enkash.sandbox.nginx"

local SERVER_CONF = [[
  client_body_buffer_size 4m;
  client_max_body_size 4m;
  location = /slow { content_by_lua_block { ngx.sleep(0.2) ngx.say("ok") } }
  location = /very_slow { content_by_lua_block { ngx.sleep(2) ngx.say("late") } }
  location = /hello {
    add_header X-Multi "one";
    add_header X-Multi "two";
    return 200 "hello";
  }
  location = /big { content_by_lua_block { ngx.print(string.rep("x", 1000)) } }
  location = /status { return 418 "teapot"; }
  location = /echo {
    content_by_lua_block {
      ngx.req.read_body()
      ngx.header["X-Method"] = ngx.req.get_method()
      ngx.header["X-Custom"] = ngx.var.http_x_custom or "none"
      ngx.print(ngx.req.get_body_data() or "")
    }
  }
  location = /reset {
    content_by_lua_block {
      package.loaded.reset_hits = (package.loaded.reset_hits or 0) + 1
      ngx.req.read_body()
      ngx.exit(444)
    }
  }
  location = /reset_hits { content_by_lua_block { ngx.print(package.loaded.reset_hits or 0) } }
]]

local CLOSED = "http://127.0.0.1:1/" -- privileged, unserved: connection refused

-- Drive m until nothing is pending; completions by id.
local function drain(m, limit)
  local by_id, order = {}, {}
  local deadline = core.monotime() + (limit or 10)
  while m:pending() > 0 do
    assert(core.monotime() < deadline, "multi did not finish in time")
    for _, c in ipairs(m:wait(1)) do
      assert.is_nil(by_id[c.id], "id reported twice")
      by_id[c.id] = c
      order[#order + 1] = c.id
    end
  end
  return by_id, order
end

describe("enkash.core multi", function()
  local srv

  setup(function()
    srv = assert(nginx.start { sandbox = false, server_conf = SERVER_CONF })
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  it("runs 50 requests to a 200 ms location in parallel", function()
    local m = core.multi()
    local t0 = core.monotime()
    local ids = {}
    for i = 1, 50 do ids[i] = m:add { url = srv.url .. "/slow" } end
    assert.equal(50, m:pending())
    local by_id = drain(m)
    local elapsed = core.monotime() - t0
    print(("\n  multi: 50 x 200 ms requests in %.3f s (sequential would be 10 s)"):format(elapsed))
    for i = 1, 50 do
      assert.equal("number", type(ids[i]))
      local c = by_id[ids[i]]
      assert.is_table(c.res, c.message)
      assert.equal(200, c.res.status)
      assert.equal("ok\n", c.res.body)
    end
    assert.is_true(elapsed < 2, ("took %.3f s"):format(elapsed))
    assert.equal(0, m:pending())
    assert.equal(50, m:stats().requests)
    m:close()
  end)

  it("returns mixed successes and failures with the right ids and kinds", function()
    local m = core.multi { max_response_bytes = 500, timeout = 10 }
    local want = {}
    want[m:add { url = srv.url .. "/hello" }] = "ok"
    want[m:add { url = CLOSED }] = "connect"
    want[m:add { url = srv.url .. "/very_slow", timeout = 0.3 }] = "timeout"
    want[m:add { url = srv.url .. "/big" }] = "cap"
    want[m:add { url = srv.url .. "/status" }] = "teapot"
    want[m:add { url = "ftp://127.0.0.1:1/" }] = "transport"
    local by_id = drain(m)
    local seen = 0
    for id, what in pairs(want) do
      seen = seen + 1
      local c = by_id[id]
      assert.equal(id, c.id)
      if what == "ok" then
        assert.equal(200, c.res.status)
        assert.equal("hello", c.res.body)
        assert.equal("one, two", c.res.headers["x-multi"])
        for name in pairs(c.res.headers) do assert.equal(name:lower(), name) end
      elseif what == "teapot" then
        assert.equal(418, c.res.status)
        assert.equal("teapot", c.res.body)
      elseif what == "cap" then
        assert.is_nil(c.res)
        assert.equal("transport", c.kind)
        assert.equal("response larger than 500 bytes", c.message)
      else
        assert.is_nil(c.res)
        assert.equal(what, c.kind)
        assert.is_string(c.message)
      end
    end
    assert.equal(6, seen)
    m:close()
  end)

  it("sends methods, headers and bodies, which may be collected before the transfer", function()
    local m = core.multi()
    local bodies, ids = {}, {}
    for i = 1, 10 do
      local body = string.rep(string.char(i % 256, 0, 255), 1000 + i) -- binary, NUL included
      bodies[i] = #body .. ":" .. core.sha256(body)
      ids[i] = m:add {
        method = i % 2 == 0 and "PUT" or "POST", url = srv.url .. "/echo", body = body,
        headers = { ["X-Custom"] = "c" .. i, ["Content-Type"] = "application/octet-stream" },
      }
    end
    collectgarbage() -- the body strings are gone: the transfers hold copies
    collectgarbage()
    local by_id = drain(m)
    for i = 1, 10 do
      local res = by_id[ids[i]].res
      assert.equal(i % 2 == 0 and "PUT" or "POST", res.headers["x-method"])
      assert.equal("c" .. i, res.headers["x-custom"])
      assert.equal(bodies[i], #res.body .. ":" .. core.sha256(res.body))
    end
    m:close()
  end)

  it("reuses connections across waves", function()
    local m = core.multi { max_total_connections = 4 }
    for _ = 1, 3 do
      for _ = 1, 12 do m:add { url = srv.url .. "/hello" } end
      local by_id = drain(m)
      for _, c in pairs(by_id) do assert.equal(200, c.res.status) end
    end
    local st = m:stats()
    print(("\n  multi: %d requests over %d connections"):format(st.requests, st.connects))
    assert.equal(36, st.requests)
    assert.is_true(st.connects <= 4, "connects = " .. st.connects)
    m:close()
  end)

  it("never re-sends a request silently on a dead reused connection", function()
    local m = core.multi { max_total_connections = 1 }
    m:add { url = srv.url .. "/hello" }
    drain(m)
    local id = m:add { method = "POST", url = srv.url .. "/reset", body = "once" }
    local c = drain(m)[id]
    assert.is_nil(c.res)
    assert.equal("transport", c.kind)
    m:close()
    local h = core.http()
    assert.equal("1", assert(h:request { url = srv.url .. "/reset_hits" }).body)
    h:close()
  end)

  it("waits: with nothing pending, wait() returns at once and wait(s) waits s", function()
    local m = core.multi()
    local t0 = core.monotime()
    assert.same({}, m:wait())
    assert.is_true(core.monotime() - t0 < 0.05)
    t0 = core.monotime()
    assert.same({}, m:wait(0.1))
    local waited = core.monotime() - t0
    assert.is_true(waited >= 0.09 and waited < 0.5, "waited " .. waited)
    -- a timeout shorter than the transfer: returns empty, the transfer stays pending
    m:add { url = srv.url .. "/slow" }
    assert.same({}, m:wait(0))
    assert.same({}, m:wait(0.05))
    assert.equal(1, m:pending())
    local got = m:wait(5)
    assert.equal(1, #got)
    assert.equal("ok\n", got[1].res.body)
    m:close()
  end)

  it("closes with transfers in flight", function()
    local m = core.multi()
    for _ = 1, 10 do m:add { url = srv.url .. "/very_slow" } end
    m:add { url = srv.url .. "/hello" }
    m:wait(0.05) -- some have started, maybe one finished and was reported
    local t0 = core.monotime()
    m:close()
    assert.is_true(core.monotime() - t0 < 0.5)
    m:close() -- idempotent
    assert.matches("closed", tostring(m))
    for _, f in ipairs({ "add", "wait", "pending", "stats" }) do
      local ok, err = pcall(m[f], m, { url = srv.url .. "/hello" })
      assert.is_false(ok, f)
      assert.matches("closed enkash multi handle", err)
    end
    -- the server is still fine
    local m2 = core.multi()
    m2:add { url = srv.url .. "/hello" }
    for _ = 1, 3 do m2:add { url = srv.url .. "/very_slow" } end
    m2 = nil -- luacheck: ignore 311
    collectgarbage() -- __gc closes it with transfers in flight
    collectgarbage()
  end)

  it("supports to-be-closed variables under Lua 5.4", function()
    if _VERSION ~= "Lua 5.4" or rawget(_G, "jit") then return end
    local chunk = assert(load([[
      local core, url = ...
      local m <close> = core.multi()
      m:add { url = url }
      return m
    ]]))
    local m = chunk(core, srv.url .. "/very_slow")
    assert.matches("closed", tostring(m))
  end)

  it("raises on misuse and stays usable", function()
    local function raises(f, pattern)
      local ok, err = pcall(f)
      assert.is_false(ok)
      if pattern then assert.matches(pattern, err) end
    end
    raises(function() core.multi("x") end)
    raises(function() core.multi { max_total_connections = 0 } end, "max_total_connections")
    raises(function() core.multi { max_total_connections = 1.5 } end, "max_total_connections")
    raises(function() core.multi { verify = "no", ca_file = "a", proxy = "b" } end, "verify")
    raises(function() core.multi { timeout = 0 } end, "timeout")
    local m = core.multi()
    raises(function() m:add() end)
    raises(function() m:add { url = "" } end, "url")
    raises(function() m:add { url = srv.url, method = "A B" } end, "invalid method")
    raises(function() m:add { url = srv.url, headers = { ["X-A"] = "ok", ["X-B"] = "a\r\nX-C: c" } } end,
      "invalid header value")
    raises(function() m:add { url = srv.url, headers = { ["Bad Name"] = "v" } } end, "invalid header name")
    raises(function() m:add { url = srv.url, headers = "x" } end, "headers")
    raises(function() m:add { url = srv.url, timeout = -1 } end, "timeout")
    raises(function() m:add { url = srv.url, body = {} } end, "body")
    raises(function() m:wait(-1) end, "seconds")
    raises(function() m:wait("x") end)
    raises(function() m:wait(0 / 0) end, "seconds")
    raises(function() m.add({}, { url = srv.url }) end)
    raises(function() core.http().add() end)
    assert.equal(0, m:pending())
    assert.equal(0, m:stats().requests)
    local id = m:add { url = srv.url .. "/hello", headers = { ["X-Ok"] = "1", ["X-Empty"] = "" } }
    local c = drain(m)[id]
    assert.equal("hello", c.res.body)
    m:close()
  end)
end)
