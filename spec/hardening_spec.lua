-- Hardening policies: TLS scheme policy, the levelled and redacted logger, the overall
-- deadline, per-call retry overrides. The clients run in-process on virtual time
-- (helpers.targets): the deadline, backoffs and timeouts pass without waiting.
local config = require "enkash.config"
local targets = require "helpers.targets"
local fx = require "helpers.fixtures"

local function env_of(map) return function(name) return map[name] end end

local creds = { partner_id = "p", client_id = "CEKTEST001", client_secret = "s", username = "u", password = "w" }
local function cfg(extra)
  local c = { getenv = env_of({}) }
  for k, v in pairs(creds) do c[k] = v end
  for k, v in pairs(extra) do c[k] = v end
  return config.resolve(c)
end

describe("TLS policy", function()
  it("requires https for hosts that are not loopback", function()
    local c, err = cfg({ env = "production", base_url = "http://api.example.com",
                         auth_url = "https://a.example.com/t" })
    assert.is_nil(c)
    assert.equals("base_url", err.field)
    assert.matches("https", err.message)
    c, err = cfg({ env = "production", base_url = "https://api.example.com", auth_url = "http://a.example.com/t" })
    assert.is_nil(c)
    assert.equals("auth_url", err.field)
  end)

  it("allows plain http on loopback, and elsewhere only when told to", function()
    for _, url in ipairs({ "http://127.0.0.1:8780", "http://localhost:1", "http://[::1]:9", "http://127.1.2.3" }) do
      assert.truthy(cfg({ env = "sandbox", base_url = url }), url)
    end
    assert.truthy(cfg({ env = "production", base_url = "http://10.0.0.5", auth_url = "http://10.0.0.5/t",
                        allow_insecure_http = true }))
    local _, err = cfg({ env = "sandbox", base_url = "ftp://127.0.0.1" })
    assert.equals("base_url", err.field)
  end)

  it("keeps certificate verification on by default", function()
    assert.is_true(cfg({ env = "uat" }).verify)
  end)
end)

describe("logger", function()
  local function client(extra)
    return targets.virtual_client(targets.merged({ retry_base = 0.001, card_account_id = fx.card_account_id }, extra))
  end

  it("filters by level and reports structured events", function()
    local lines = {}
    local c, sb = client({ log_level = "debug", logger = function(level, event, fields)
      lines[#lines + 1] = { level = level, event = event, fields = fields }
    end })
    c.device:generate(fx.device)
    sb:control("fault", { endpoint = "device.status", kind = "http_502_html", count = 1 })
    assert.truthy(c.device:status(fx.device))
    local seen = {}
    for _, l in ipairs(lines) do seen[l.event] = l end
    assert.equals("debug", seen.retry.level)
    assert.equals("device.status", seen.retry.fields.endpoint)
    assert.equals(1, seen.retry.fields.attempt)
    assert.equals(502, seen.retry.fields.http_status)
    assert.equals(2, lines[#lines].fields.attempt)

    local quiet = {}
    c = client({ log_level = "warn", logger = function(level) quiet[#quiet + 1] = level end })
    c.device:generate(fx.device)
    assert.same({}, quiet)
  end)

  it("logs the reference of money calls and never a secret or full PII", function()
    local text = {}
    local c, sb = client({ logger = function(level, event, fields)
      local parts = { level, event }
      for k, v in pairs(fields) do parts[#parts + 1] = k .. "=" .. tostring(v) end
      text[#text + 1] = table.concat(parts, " ")
    end })
    local w = assert(c.wallet:create(fx.wallet_params({ mobile = "9674603714" })))
    sb:control("fault", { endpoint = "wallet.top_up", kind = "commit_timeout", delay = 0.2 })
    local _, res = c.wallet:top_up({ enKashCardId = w.enKashCardId, amount = 10 }, { timeout = 0.1 })
    local all = table.concat(text, "\n")
    assert.truthy(all:find("reference=" .. res.reference, 1, true))
    assert.truthy(all:find("reconcile", 1, true))
    for _, secret in ipairs(fx.secrets) do assert.is_nil(all:find(secret, 1, true), secret) end
  end)
end)

describe("deadline and per-call overrides", function()
  it("stops retrying at the deadline", function()
    local c, sb = targets.virtual_client{ retries = 10, retry_base = 0.2, deadline = 0.5 }
    c.device:generate(fx.device)
    sb:control("fault", { endpoint = "device.status", kind = "http_502_html", count = 20 })
    local _, err = c.device:status(fx.device)
    assert.equals(502, err.http_status)
    local n = sb:control("stats").api_requests
    assert.is_true(n < 8, "made " .. n .. " requests")
  end)

  it("takes retries = 0 per call", function()
    local c, sb = targets.virtual_client{ retry_base = 0.001 }
    c.device:generate(fx.device)
    sb:control("fault", { endpoint = "device.status", kind = "http_502_html", count = 1 })
    local _, err = c.device:status(fx.device, { retries = 0 })
    assert.equals(502, err.http_status)
    assert.truthy(c.device:status(fx.device, { retries = 0 }))
  end)
end)
