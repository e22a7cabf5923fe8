-- The fault matrix: every money-moving call meets every failure the sandbox can inject, in
-- every response dialect the sandbox speaks (envelopes, pages, lists with pending words,
-- Spring and Payouts errors: enkash.sandbox.dialect).
-- Afterwards the sandbox's ledger shows the call applied exactly once or not at all, and the
-- SDK's answer matches what happened: success (naming the call's reference and amount) when
-- it was applied, a failure when it was not, and unknown_outcome only where the status
-- endpoint was failing too.
-- The whole matrix runs in-process on virtual time (the emulator's delays and the client's
-- timeouts and backoffs pass without waiting); each fault also runs over real HTTP to the
-- nginx sandbox through libcurl (a socket reset, a body cut short, a real timeout), each on
-- another call and dialect in turn, so every fault, call and dialect is proven on the wire.
local targets = require "helpers.targets"
local control = require "helpers.control"
local fx = require "helpers.fixtures"
local dialect = require "enkash.sandbox.dialect"

-- Each fault, how to inject it, and whether it strikes before or after the commit.
local faults = {
  { name = "delay below the timeout", fault = { kind = "delay", delay = 0.2 } },
  { name = "HTTP 502 page", fault = { kind = "http_502_html" } },
  { name = "HTTP 503", fault = { kind = "http_status", status = 503, body = "busy" } },
  { name = "429 with Retry-After", fault = { kind = "http_status", status = 429, retry_after = 1, body = "" } },
  { name = "connection reset", fault = { kind = "reset" } },
  { name = "garbage body", fault = { kind = "garbage" } },
  { name = "truncated body", fault = { kind = "truncated" } },
  { name = "reset after commit", fault = { kind = "reset", after_commit = true } },
  { name = "garbage after commit", fault = { kind = "garbage", after_commit = true } },
  { name = "truncated after commit", fault = { kind = "truncated", after_commit = true } },
  { name = "502 after commit", fault = { kind = "http_502_html", after_commit = true } },
  { name = "commit then time out", fault = { kind = "commit_timeout", delay = 1 } },
  { name = "refused with response_code 1", fault = { kind = "api_error", message = "Sandbox says no" } },
}
-- The two cases where the status endpoint fails too come after the faults (numbered on).
local STATUS_TIMEOUT, STATUS_RESET = #faults + 1, #faults + 2

local CALLS = { "add_money", "top_up", "imps", "wallet_to_wallet", "debit" }
local CLIENT = {
  timeout = 0.5, retry_base = 0.01, retry_after_max = 0.05, reconcile_delay = 0, pending_interval = 0.01,
  card_account_id = fx.card_account_id,
}

-- The matrix in dialect `dialect_name` on the target `get_target()` gives, with the cases
-- `pick(call_name, case_number)` chooses.
local function matrix(get_target, dialect_name, pick)
  local srv, client, ids

  before_each(function()
    srv = get_target()
    control(srv, "reset")
    control(srv, "config", { dialect = dialect_name })
    client = srv:client(CLIENT)
    ids = fx.onboard(client, control, srv)
  end)
  after_each(function() client:close() end)

  -- The five money-moving calls, each with fresh params (and a fresh OTP for the debit).
  local calls = {
    add_money = function() return client.wallet:add_money({ enKashCardId = ids.a, amount = "12.34" }) end,
    top_up = function() return client.wallet:top_up({ enKashCardId = ids.a, amount = 20.5 }) end,
    imps = function()
      return client.transfers:imps({ enKashCardId = ids.a, beneficiaryId = ids.beneficiary, amount = "3.21" })
    end,
    wallet_to_wallet = function()
      return client.transfers:wallet_to_wallet({ enKashCardId = ids.a, toEnKashCardId = ids.b, amount = 4 })
    end,
    debit = function()
      local otp = assert(client.wallet:send_otp({ enKashCardId = ids.a, cardOtpAction = "TRANSACTION_OTP" }))
      return client.merchant:debit({
        merchantDetailId = "MD7GWIYV3VEMQ8KQ", enkashCardId = ids.a, amount = "5.55", otpMedium = "MOBILE",
        otp = fx.otp_code, otpReferenceId = otp.otpReferenceId, productCode = "DEFAULT",
      })
    end,
  }
  local endpoint = {
    add_money = "wallet.add_money", top_up = "wallet.top_up", imps = "transfers.imps",
    wallet_to_wallet = "transfers.wallet_to_wallet", debit = "merchant.debit",
  }
  local paise = { add_money = 1234, top_up = 2050, imps = 321, wallet_to_wallet = 400, debit = 555 }
  local status_endpoint = {
    add_money = "wallet.transaction", top_up = "wallet.transaction", imps = "transfers.status",
    wallet_to_wallet = "transfers.status", debit = "merchant.settlement_status",
  }

  local function applied(ref)
    return (control(srv, "ledger").applied or {})[ref] or 0
  end

  for _, call_name in ipairs(CALLS) do
    for i, f in ipairs(faults) do
      if pick(call_name, i) then
        it(call_name .. " x " .. f.name, function()
          local total = control(srv, "ledger").total
          local args = { endpoint = endpoint[call_name], count = 1 }
          for k, v in pairs(f.fault) do args[k] = v end
          control(srv, "fault", args)
          local payload, res = calls[call_name]()
          local ref = res.reference
          assert.is_string(ref, tostring(res))
          local n = applied(ref)
          assert.is_true(n <= 1, "applied " .. n .. " times")
          if payload then
            assert.equals(1, n, "success reported but not applied")
            -- the answer is the call's own record: its reference, its amount when it shows one
            local named = payload.uniqueReferenceNumber or payload.pgReferenceNumber or payload.uniqueTransactionId
              or payload.merchantUniqueTxnId
            assert.equals(ref, named)
            if payload.amount ~= nil then assert.equals(paise[call_name], payload.amount_paise) end
          else
            assert.equals(0, n, "failure reported but applied: " .. tostring(res))
            assert.are_not.equal("unknown_outcome", res.kind) -- the status endpoint was healthy
          end
          assert.equals(total, control(srv, "ledger").total) -- no money created or lost
        end)
      end
    end

    if pick(call_name, STATUS_TIMEOUT) then
      it(call_name .. " x commit then time out, with the status endpoint failing too", function()
        control(srv, "fault", { endpoint = endpoint[call_name], kind = "commit_timeout", delay = 1 })
        control(srv, "fault", { endpoint = status_endpoint[call_name], kind = "http_502_html", count = 10 })
        local payload, err = calls[call_name]()
        assert.is_nil(payload)
        assert.equals("unknown_outcome", err.kind)
        assert.equals(1, applied(err.reference)) -- it did happen; the SDK honestly could not tell
      end)
    end

    if pick(call_name, STATUS_RESET) then
      it(call_name .. " x failure before commit, with the status endpoint failing too", function()
        control(srv, "fault", { endpoint = endpoint[call_name], kind = "reset" })
        control(srv, "fault", { endpoint = status_endpoint[call_name], kind = "reset", count = 10 })
        local payload, err = calls[call_name]()
        assert.is_nil(payload)
        assert.equals("unknown_outcome", err.kind)
        assert.equals(0, applied(err.reference))
      end)
    end
  end
end

-- Every case, every dialect, under both VMs: in-process, so cheap.
for _, dialect_name in ipairs(dialect.names) do
  describe("fault matrix, dialect " .. dialect_name .. ":", function()
    local inprocess = targets.inprocess()
    matrix(function() return inprocess end, dialect_name, function() return true end)
  end)
end

-- Over the wire: case n (each fault, then the two with the status endpoint failing) on call
-- n and dialect n, round-robin.
local wire = targets.serve()
for d, dialect_name in ipairs(dialect.names) do
  describe("fault matrix over the wire (nginx + libcurl), dialect " .. dialect_name .. ":", function()
    matrix(function() return wire end, dialect_name, function(call_name, n)
      return CALLS[(n - 1) % #CALLS + 1] == call_name and (n - 1) % #dialect.names + 1 == d
    end)
  end)
end
