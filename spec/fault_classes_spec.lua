-- The fault matrix for the other endpoint classes: reads, status calls and auth, each against
-- every injected failure, over real HTTP to the nginx sandbox. A single failure is retried
-- away (reads, status calls and token fetches are safe to repeat); a persistent one reaches
-- the caller as a clean error of the right kind. The ledger never moves.
local enkash = require "enkash"
local nginx = require "enkash.sandbox.nginx"
local control = require "helpers.control"
local fx = require "helpers.fixtures"

local faults = {
  { "delay below the timeout", { kind = "delay", delay = 0.2 }, nil },
  { "HTTP 502 page", { kind = "http_502_html" }, "http" },
  { "HTTP 503", { kind = "http_status", status = 503, body = "busy" }, "http" },
  { "429 with Retry-After", { kind = "http_status", status = 429, retry_after = 0.1, body = "" }, "http" },
  { "connection reset", { kind = "reset" }, "transport" },
  { "garbage body", { kind = "garbage" }, "transport" },
  { "truncated body", { kind = "truncated" }, "transport" },
  { "timeout", { kind = "delay", delay = 3 }, "timeout" },
}

describe("fault classes: read, status, auth", function()
  local srv, client, ids
  setup(function() srv = assert(nginx.start{ sandbox_opts = fx.sandbox_opts }) end)
  teardown(function() if srv then srv:stop() end end)
  before_each(function()
    control(srv, "reset")
    client = assert(enkash.new(fx.config(srv.url, { timeout = 1, retry_base = 0.01,
                                                    card_account_id = fx.card_account_id })))
    ids = fx.onboard(client, control, srv)
    ids.transfer = select(2, assert(client.transfers:wallet_to_wallet({ enKashCardId = ids.a, toEnKashCardId = ids.b,
                                                                         amount = 1 }))).reference
    client:close()
  end)

  local classes = {
    read = { "wallet.details", function(c) return c.wallet:details({ enKashCardId = ids.a }) end },
    status = { "transfers.status", function(c) return c.transfers:status({ uniqueTransactionId = ids.transfer }) end },
    auth = { "auth.token", function(c) return c:token() end },
  }

  for class, spec in pairs(classes) do
    for _, f in ipairs(faults) do
      local name, fault, persistent_kind = f[1], f[2], f[3]

      it(class .. " x " .. name .. ": one failure is retried away", function()
        local c = assert(enkash.new(fx.config(srv.url, { timeout = 1, retry_base = 0.01,
                                                         card_account_id = fx.card_account_id })))
        if class ~= "auth" then assert(c:token()) end
        local before = control(srv, "ledger")
        local args = { endpoint = spec[1], count = 1 }
        for k, v in pairs(fault) do args[k] = v end
        control(srv, "fault", args)
        local got, err = spec[2](c)
        assert.truthy(got, tostring(err))
        local after = control(srv, "ledger")
        assert.equals(before.total, after.total)
        assert.same(before.applied, after.applied)
        c:close()
      end)

      if persistent_kind then
        it(class .. " x " .. name .. ": a persistent failure is a clean " .. persistent_kind .. " error", function()
          local c = assert(enkash.new(fx.config(srv.url, { timeout = 1, retry_base = 0.01, retries = 1,
                                                           card_account_id = fx.card_account_id })))
          if class ~= "auth" then assert(c:token()) end
          local args = { endpoint = spec[1], count = 5 }
          for k, v in pairs(fault) do args[k] = v end
          control(srv, "fault", args)
          local got, err = spec[2](c)
          assert.is_nil(got)
          assert.equals(persistent_kind, err.kind)
          assert.equals(spec[1], err.endpoint)
          assert.is_string(tostring(err))
          c:close()
        end)
      end
    end
  end

  it("auth x refused credentials: never retried", function()
    local c = assert(enkash.new(fx.config(srv.url, { password = "not-the-password", retry_base = 0.01 })))
    local before = control(srv, "stats").token_requests
    local got, err = c:token()
    assert.is_nil(got)
    assert.equals("auth", err.kind)
    assert.equals(before + 1, control(srv, "stats").token_requests)
    c:close()
  end)
end)
