-- The fault matrix for the other endpoint classes: reads, status calls and auth, each against
-- every injected failure. A single failure is retried away (reads, status calls and token
-- fetches are safe to repeat); a persistent one reaches the caller as a clean error of the
-- right kind. The ledger never moves.
-- Every case runs in-process on virtual time (delays, timeouts and backoffs pass without
-- waiting); each fault also runs over real HTTP to the nginx sandbox through libcurl, on
-- another class in turn, so every fault and every class is proven on the wire.
local targets = require "helpers.targets"
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

local CLASSES = { "read", "status", "auth" }

-- The cases on the target `get_target()` gives, those `pick(class, fault_number)` chooses.
local function fault_classes(get_target, pick)
  local srv, ids
  before_each(function()
    srv = get_target()
    control(srv, "reset")
    local client = srv:client{ timeout = 1, retry_base = 0.01, card_account_id = fx.card_account_id }
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

  for _, class in ipairs(CLASSES) do
    local spec = classes[class]
    for i, f in ipairs(faults) do
      local name, fault, persistent_kind = f[1], f[2], f[3]

      if pick(class, i) then
        it(class .. " x " .. name .. ": one failure is retried away", function()
          local c = srv:client{ timeout = 1, retry_base = 0.01, card_account_id = fx.card_account_id }
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
      end

      if persistent_kind and pick(class, i) then
        it(class .. " x " .. name .. ": a persistent failure is a clean " .. persistent_kind .. " error", function()
          local c = srv:client{ timeout = 1, retry_base = 0.01, retries = 1, card_account_id = fx.card_account_id }
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
    local c = srv:client{ password = "not-the-password", retry_base = 0.01 }
    local before = control(srv, "stats").token_requests
    local got, err = c:token()
    assert.is_nil(got)
    assert.equals("auth", err.kind)
    assert.equals(before + 1, control(srv, "stats").token_requests)
    c:close()
  end)
end

describe("fault classes: read, status, auth", function()
  local inprocess = targets.inprocess()
  fault_classes(function() return inprocess end, function() return true end)
end)

-- Over the wire: fault n on class n, round-robin (read, status, auth, read, ...).
describe("fault classes over the wire (nginx + libcurl): read, status, auth", function()
  local wire = targets.serve()
  fault_classes(function() return wire end, function(class, n) return CLASSES[(n - 1) % #CLASSES + 1] == class end)
end)
