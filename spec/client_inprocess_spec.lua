-- The client against the in-process sandbox: the whole pipeline without a socket, on
-- virtual time (helpers.targets): token lifetimes, delays and timeouts pass without waiting.
local enkash = require "enkash"
local targets = require "helpers.targets"
local fx = require "helpers.fixtures"

local function setup(sandbox_extra, client_extra)
  local client, sb = targets.virtual_client(client_extra, sandbox_extra)
  return client, sb
end

describe("client (in-process sandbox)", function()
  it("exposes the public contract", function()
    assert.matches("^enkash %d+%.%d+%.%d+$", enkash._VERSION)
    local client = setup()
    assert.is_function(client.device.generate)
    assert.is_function(client.device.status)
    assert.is_function(enkash.crypto.encrypt)
    assert.is_function(enkash.crypto.decrypt)
  end)

  it("binds a device: generate -> Pending -> bound", function()
    local client, sb = setup({ bind_delay = false })
    local p, res = client.device:generate(fx.device)
    assert.same({ status = "Pending" }, p)
    assert.equals(200, res.status)
    assert.matches('"response_code"', res.body)
    assert.equals("Pending", (client.device:status(fx.device)).status)
    sb:control("device", { deviceId = fx.device.deviceId, status = "Bound" })
    assert.equals("Bound", (client.device:status(fx.device)).status)
  end)

  it("fetches one token for many calls", function()
    local client, sb = setup()
    client.device:generate(fx.device)
    for _ = 1, 20 do assert.truthy(client.device:status(fx.device)) end
    assert.equals(1, sb:control("stats").token_requests)
    local info = assert(client:token())
    assert.equals(86399, info.lifetime)
    assert.equals("bearer", info.token_type)
    assert.matches("^enkash%.token%(bearer, expires in %d+s%)$", tostring(info))
  end)

  it("accepts a camelCase token response", function()
    local client = setup({ token_style = "camel", token_ttl = 600 })
    assert.truthy(client.device:generate(fx.device))
    assert.equals(600, client:token().lifetime)
  end)

  it("refreshes a token ahead of its expiry", function()
    local client, sb = setup({ token_ttl = 1 })
    client.device:generate(fx.device)
    assert.equals(1, sb:control("stats").token_requests)
    -- lifetime 1 s -> margin 0.5 s: a call 0.6 s later must use a new token
    client.transport:sleep(0.6)
    assert.truthy(client.device:status(fx.device))
    assert.equals(2, sb:control("stats").token_requests)
  end)

  it("refreshes once and retries once on a 401", function()
    local client, sb = setup()
    client.device:generate(fx.device)
    sb:control("fault", { endpoint = "device.status", kind = "unauthorized", count = 1 })
    assert.equals("Bound", (client.device:status(fx.device)).status)
    assert.equals(2, sb:control("stats").token_requests)
    sb:control("fault", { endpoint = "device.status", kind = "unauthorized", count = 5 })
    local p, err = client.device:status(fx.device)
    assert.is_nil(p)
    assert.equals("auth", err.kind)
    assert.equals(401, err.http_status)
    assert.equals(3, sb:control("stats").token_requests)
  end)

  it("never retries refused credentials", function()
    local client, sb = setup(nil, { password = "wrong-password-1" })
    local p, err = client.device:generate(fx.device)
    assert.is_nil(p)
    assert.equals("auth", err.kind)
    assert.is_false(err.retryable)
    assert.equals(1, sb:control("stats").token_requests)
    assert.equals(0, sb:control("stats").api_requests)
  end)

  it("validates before any request is made", function()
    local client, sb = setup()
    local p, err = client.device:status(fx.device_with({ mobileNumber = "12345" }))
    assert.is_nil(p)
    assert.equals("validation", err.kind)
    assert.equals("mobileNumber", err.field)
    assert.equals(0, sb:control("stats").requests)
  end)

  it("speaks the encrypted envelope when encryption = true", function()
    local client, sb = setup({ encryption = "required" }, { encryption = true })
    assert.same({ status = "Pending" }, (client.device:generate(fx.device)))
    local entries = sb:control("log").entries
    assert.is_true(entries[#entries].encrypted)
  end)

  it("fails cleanly when the server requires encryption and the client sends plain JSON", function()
    local client = setup({ encryption = "required" }, { encryption = false })
    local _, err = client.device:generate(fx.device)
    assert.equals("api", err.kind)
    assert.equals(1, err.response_code)
  end)

  it("maps response_code 1 to an api error carrying the server's message", function()
    local client, sb = setup()
    local _, err = client.device:status(fx.device)
    assert.equals("api", err.kind)
    assert.matches("not found", err.message)
    sb:control("fault", { endpoint = "device.status", kind = "api_error", message = "Device blocked" })
    client.device:generate(fx.device)
    _, err = client.device:status(fx.device)
    assert.equals("Device blocked", err.message)
    assert.equals("device.status", err.endpoint)
  end)

  it("turns raw faults into transport errors and delays past the timeout into timeouts", function()
    local client, sb = setup(nil, { retries = 0 })
    client.device:generate(fx.device)
    for _, kind in ipairs({ "truncated", "reset", "garbage" }) do
      sb:control("fault", { endpoint = "device.status", kind = kind })
      local _, err = client.device:status(fx.device)
      assert.equals("transport", err.kind, kind)
    end
    sb:control("fault", { endpoint = "device.status", kind = "delay", delay = 0.3 })
    local _, err = client.device:status(fx.device, { timeout = 0.1 })
    assert.equals("timeout", err.kind)
  end)

  it("lets routes override a row's path", function()
    local client, sb = setup(nil, { routes = { generate = { path = "/api/v1/partner/device-bind/other" } } })
    local _, err = client.device:generate(fx.device)
    assert.equals("http", err.kind)
    assert.equals(404, err.http_status)
    local entries = sb:control("log").entries
    assert.equals("/api/v1/partner/device-bind/other", entries[#entries].path)
  end)

  it("sends logger events without secrets", function()
    local events = {}
    local client = setup(nil, { logger = function(level, event, fields)
      events[#events + 1] = { level = level, event = event, fields = fields }
    end })
    client.device:generate(fx.device)
    assert.equals("token", events[1].event)
    assert.equals("request", events[2].event)
    assert.equals("device.generate", events[2].fields.endpoint)
    assert.equals(200, events[2].fields.http_status)
    assert.is_number(events[2].fields.duration)
  end)
end)
