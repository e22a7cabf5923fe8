-- The SDK inside nginx: calls never block the worker, and the workers share one token,
-- fetched once (single flight) however many requests need it at the same moment.
-- Lua 5.4 drives; nginx runs the LuaJIT side: an app server whose locations call the SDK
-- against the sandbox server.
local cjson = require "cjson"
local app = require "helpers.ngx_app"
local control = require "helpers.control"
local fixtures = require "helpers.fixtures"

local DEVICE = fixtures.device

-- The app: one client made in init_by_lua (token in the shared dict "enkash"), a location
-- calling device.status with it, and one calling it with a curl client made per worker.
local function app_conf(sandbox, extra)
  local cfg = app.config(sandbox, extra)
  cfg.ngx_shared_dict = "enkash"
  local curl_cfg = app.config(sandbox, { transport = "curl" })
  local http_conf = [[
  lua_shared_dict enkash 1m;
  init_by_lua_block {
    assert(require("enkash.ngx").configure(]] .. app.lua_value(cfg) .. [[))
  }
]]
  local server_conf = [[
  location = /status {
    content_by_lua_block {
      local cjson = require "cjson"
      local client = require("enkash.ngx").client()
      local p, err = client.device:status(]] .. app.lua_value(DEVICE) .. [[)
      if not p then
        ngx.status = 502
        return ngx.say(cjson.encode({ kind = err.kind, message = err.message }))
      end
      ngx.say(cjson.encode({ status = p.status, transport = client.transport.name,
                             engine = client.transport.engine, phase = ngx.get_phase() }))
    }
  }
  location = /dict_tokens {
    content_by_lua_block {
      local dict = ngx.shared.enkash
      for _, k in ipairs(dict:get_keys(0)) do
        local v = dict:get(k)
        if type(v) == "string" then ngx.say((v:match("\n(.*)$") or "")) end
      end
    }
  }
  location = /curl_status {
    content_by_lua_block {
      local cjson = require "cjson"
      CURL_CLIENT = CURL_CLIENT or assert(require("enkash").new(]] .. app.lua_value(curl_cfg) .. [[))
      local p, err = CURL_CLIENT.device:status(]] .. app.lua_value(DEVICE) .. [[)
      if not p then
        ngx.status = 502
        return ngx.say(cjson.encode({ kind = err.kind, message = err.message }))
      end
      ngx.say(cjson.encode({ status = p.status, transport = CURL_CLIENT.transport.name }))
    }
  }
]]
  return http_conf, server_conf
end

local function status_requests(srv, n, path)
  return app.fire(n, function() return { url = srv.url .. (path or "/status") } end)
end

local function all_bound(results)
  for i, c in ipairs(results) do
    assert(c.res, "request " .. i .. ": " .. tostring(c.kind) .. " " .. tostring(c.message))
    assert(c.res.status == 200, "request " .. i .. ": HTTP " .. c.res.status .. " " .. c.res.body)
    assert.equal("Bound", cjson.decode(c.res.body).status)
  end
end

describe("enkash inside nginx", function()
  describe("does not block the worker", function()
    local sandbox, srv

    setup(function()
      sandbox = app.sandbox()
      control(sandbox, "device", { deviceId = DEVICE.deviceId, status = "Bound" })
      -- every device.status answer of this block takes 100 ms at the sandbox
      control(sandbox, "fault", { endpoint = "device.status", kind = "delay", delay = 0.1, count = -1 })
      local http_conf, server_conf = app_conf(sandbox)
      srv = app.app { workers = 2, http_conf = http_conf, server_conf = server_conf }
    end)

    teardown(function()
      if srv then srv:stop() end
      if sandbox then sandbox:stop() end
    end)

    it("picks the ngx transport in the content phase", function()
      local doc = app.get_json(srv.url .. "/status")
      assert.same({ status = "Bound", transport = "ngx", engine = "builtin", phase = "content" }, doc)
    end)

    it("runs 200 concurrent calls of 100 ms each in about the time of one", function()
      local results, elapsed = status_requests(srv, 200)
      print(("\n  nginx, 2 workers, ngx transport: 200 concurrent device.status calls"
        .. " (100 ms each at the sandbox) in %.3f s"):format(elapsed))
      all_bound(results)
      assert.is_true(elapsed < 2, ("took %.3f s"):format(elapsed))
    end)

    it("while curl forced inside nginx blocks its worker (the contrast)", function()
      status_requests(srv, 2, "/curl_status") -- a client per worker, its token fetched
      local results, elapsed = status_requests(srv, 20, "/curl_status")
      print(("\n  nginx, 2 workers, curl transport: 20 concurrent calls of 100 ms in %.3f s"
        .. " (each worker serves one at a time)"):format(elapsed))
      all_bound(results)
      assert.equal("curl", cjson.decode(results[1].res.body).transport)
      assert.is_true(elapsed > 0.5, ("took %.3f s"):format(elapsed))
    end)
  end)

  describe("shares one token between the workers", function()
    local sandbox, srv

    setup(function()
      sandbox = app.sandbox()
      control(sandbox, "device", { deviceId = DEVICE.deviceId, status = "Bound" })
      local http_conf, server_conf = app_conf(sandbox)
      srv = app.app { workers = 4, http_conf = http_conf, server_conf = server_conf }
    end)

    teardown(function()
      if srv then srv:stop() end
      if sandbox then sandbox:stop() end
    end)

    it("fetches it exactly once for 200 concurrent requests over 4 workers", function()
      assert.equal(0, control(sandbox, "stats").token_requests)
      local results, elapsed = status_requests(srv, 200)
      all_bound(results)
      local stats = control(sandbox, "stats")
      print(("\n  nginx, 4 workers: 200 concurrent first calls in %.3f s, token_requests = %d,"
        .. " api_requests = %d"):format(elapsed, stats.token_requests, stats.api_requests))
      assert.equal(1, stats.token_requests)
      assert.equal(200, stats.api_requests)
    end)

    it("refreshes it exactly once after a 401", function()
      local before = control(sandbox, "stats").token_requests
      control(sandbox, "fault", { endpoint = "device.status", kind = "unauthorized", count = 1 })
      local results = status_requests(srv, 50)
      all_bound(results)
      assert.equal(before + 1, control(sandbox, "stats").token_requests)
      -- and the refreshed token serves everyone afterwards
      all_bound((status_requests(srv, 50)))
      assert.equal(before + 1, control(sandbox, "stats").token_requests)
    end)

    it("keeps the token in the dict and out of nginx's error log, with every secret", function()
      local tokens = {}
      for t in app.request(srv.url .. "/dict_tokens").body:gmatch("[^\n]+") do tokens[#tokens + 1] = t end
      assert.equal(1, #tokens)
      assert.is_true(#tokens[1] >= 16)
      local log = srv:log_tail(100000)
      for _, needle in ipairs(tokens) do assert.is_nil(log:find(needle, 1, true), "the token is in the log") end
      for _, needle in ipairs(fixtures.secrets) do
        assert.is_nil(log:find(needle, 1, true), "a secret is in the log")
      end
    end)
  end)

  describe("shares a refused token fetch between the workers", function()
    local sandbox, srv

    setup(function()
      sandbox = app.sandbox()
      local http_conf, server_conf = app_conf(sandbox, { password = "Wrong@Pass#0000" })
      srv = app.app { workers = 4, http_conf = http_conf, server_conf = server_conf }
    end)

    teardown(function()
      if srv then srv:stop() end
      if sandbox then sandbox:stop() end
    end)

    it("tries bad credentials once, however many requests need a token", function()
      for _, n in ipairs({ 100, 20 }) do
        local results = status_requests(srv, n)
        for i, c in ipairs(results) do
          assert(c.res and c.res.status == 502, "request " .. i)
          assert.equal("auth", cjson.decode(c.res.body).kind)
        end
      end
      -- one try: far from the sandbox's lockout after 3 bad passwords
      assert.equal(1, control(sandbox, "stats").token_requests)
    end)
  end)
end)
