-- The client over real HTTP (libcurl) to the sandbox under nginx on 127.0.0.1.
local enkash = require "enkash"
local core = require "enkash.core"
local targets = require "helpers.targets"
local control = require "helpers.control"
local fx = require "helpers.fixtures"

describe("client over HTTP to the nginx sandbox", function()
  local srv = targets.serve()
  before_each(function() control(srv, "reset") end)

  local function client(extra)
    return srv:client(extra)
  end

  it("makes one token request and reuses one connection for N calls", function()
    local c = client()
    assert.same({ status = "Pending" }, (c.device:generate(fx.device)))
    for _ = 1, 25 do
      local p, res = c.device:status(fx.device)
      assert.equals("Bound", p.status)
      assert.equals(200, res.status)
    end
    local stats = control(srv, "stats")
    assert.equals(1, stats.token_requests)
    assert.equals(26, stats.api_requests)
    assert.equals(1, stats.connections)
    assert.equals(1, c.transport:stats().connects)
    assert.equals(27, c.transport:stats().requests)
    c:close()
  end)

  it("refreshes an expired token", function()
    control(srv, "config", { token_ttl = 1 })
    local c = client()
    assert.truthy(c.device:generate(fx.device))
    core.sleep(0.6) -- past the 0.5 s margin of a 1 s token
    assert.truthy(c.device:status(fx.device))
    assert.equals(2, control(srv, "stats").token_requests)
    c:close()
  end)

  it("answers a 401 with exactly one refresh", function()
    local c = client()
    assert.truthy(c.device:generate(fx.device))
    control(srv, "fault", { endpoint = "device.status", kind = "unauthorized", count = 1 })
    assert.equals("Bound", (c.device:status(fx.device)).status)
    assert.equals(2, control(srv, "stats").token_requests)
    c:close()
  end)

  it("yields an api error with the server's message for response_code 1", function()
    local c = client()
    local p, err = c.device:status(fx.device_with({ deviceId = "UNKNOWN-DEVICE" }))
    assert.is_nil(p)
    assert.equals("api", err.kind)
    assert.equals(1, err.response_code)
    assert.matches("not found", err.message)
    c:close()
  end)

  it("yields clean errors for an HTML 502, a truncated body and a non-JSON body", function()
    local c = client({ retries = 0 })
    assert.truthy(c.device:generate(fx.device))
    local want = { http_502_html = "http", truncated = "transport", non_json = "http", reset = "transport" }
    for kind, err_kind in pairs(want) do
      control(srv, "fault", { endpoint = "device.status", kind = kind })
      local p, err = c.device:status(fx.device)
      assert.is_nil(p, kind)
      assert.equals(err_kind, err.kind, kind)
      assert.equals("device.status", err.endpoint)
      assert.is_string(tostring(err))
    end
    -- and the next call works again on the same client
    assert.equals("Bound", (c.device:status(fx.device)).status)
    c:close()
  end)

  it("gives a timeout error within the configured time for a slow server", function()
    local c = client({ timeout = 0.5, retries = 0 })
    assert.truthy(c.device:generate(fx.device))
    control(srv, "fault", { endpoint = "device.status", kind = "delay", delay = 3 })
    local t0 = core.monotime()
    local p, err = c.device:status(fx.device)
    local took = core.monotime() - t0
    assert.is_nil(p)
    assert.equals("timeout", err.kind)
    assert.is_true(took < 2.5, "took " .. took .. " s")
    c:close()
  end)

  it("retries a status read through transient failures", function()
    local c = client({ retry_base = 0.01 })
    assert.truthy(c.device:generate(fx.device))
    control(srv, "fault", { endpoint = "device.status", kind = "http_502_html", count = 2 })
    assert.equals("Bound", (c.device:status(fx.device)).status)
    assert.equals(3, control(srv, "stats").api_requests - 1)
    control(srv, "fault", { endpoint = "device.status", kind = "http_502_html", count = 3 })
    local p, err = c.device:status(fx.device)
    assert.is_nil(p)
    assert.equals(502, err.http_status)
    c:close()
  end)

  it("gives a connect error when nothing listens", function()
    local other = targets.nginx()
    local url = other.url
    other:stop()
    -- short backoffs: the refused connects are the point, not the waits between them
    local c = assert(enkash.new(fx.config(url, { connect_timeout = 2, retry_base = 0.01 })))
    local p, err = c.device:status(fx.device)
    assert.is_nil(p)
    assert.equals("connect", err.kind)
    assert.equals("auth.token", err.endpoint)
    c:close()
  end)
end)

describe("client over HTTPS to the nginx sandbox", function()
  local srv = targets.serve{ tls = true }

  it("verifies the server with ca_file", function()
    assert.matches("^https://127%.0%.0%.1:", srv.url)
    local c = assert(enkash.new(fx.config(srv.url, { ca_file = srv.ca_file })))
    assert.truthy(c.device:generate(fx.device))
    assert.same({ status = "Bound" }, (c.device:status(fx.device)))
    c:close()
  end)

  it("refuses the server without ca_file", function()
    local c = assert(enkash.new(fx.config(srv.url)))
    local p, err = c.device:status(fx.device)
    assert.is_nil(p)
    assert.equals("tls", err.kind)
    c:close()
  end)
end)
