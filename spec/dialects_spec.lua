-- Truth about money in every dialect: for each response shape the sandbox speaks
-- (enkash.sandbox.dialect), the onboarding runbook runs to the end and its top-up is in the
-- ledger once; each row of the README's status-lookup table is walked with the sandbox's
-- `report` call standing in for an odd record; a caller's idempotent retry gets the record's
-- truth. The answer is always compared with the ledger.
-- Every case runs in-process on virtual time (the runbook's polls and the sandbox's VKYC
-- steps pass without waiting); each case also runs over real HTTP to the nginx sandbox
-- through libcurl in one dialect, the dialects in turn.
local cjson = require "cjson.safe"
local runbook = require "enkash.runbook"
local store = require "enkash.runbook.store"
local dialect = require "enkash.sandbox.dialect"
local targets = require "helpers.targets"
local control = require "helpers.control"
local fx = require "helpers.fixtures"

local function read_json(path)
  local f = assert(io.open(path))
  local doc = assert(cjson.decode(f:read("a")))
  f:close()
  return doc
end

local SANDBOX = targets.sandbox_opts{ vkyc_step = 0.05, tnc_accept_delay = 0.05 }

-- The cases in dialect `name` on the target `get_target()` gives, those `pick(n)` chooses
-- (n numbers the cases in the order they are written).
local function dialect_cases(get_target, name, pick)
  local srv, client
  local n = 0
  local function it_(title, fn)
    n = n + 1
    if pick(n) then it(title, fn) end
  end

  local function applied(ref)
    return (control(srv, "ledger").applied or {})[ref] or 0
  end

  before_each(function()
    srv = get_target()
    control(srv, "reset")
    control(srv, "config", { dialect = name })
    client = srv:client{
      timeout = 0.5, retry_base = 0.01, reconcile_delay = 0, pending_interval = 0.01, pending_wait = 0.3,
      card_account_id = fx.card_account_id,
    }
  end)
  after_each(function() client:close() end)

  it_("the onboarding runbook runs to the end, its top-up in the ledger once", function()
    local input = read_json("examples/onboarding.json")
    input.device.deviceImei = fx.device.deviceImei
    input.kyc_timeout = 20
    local rb = dofile("examples/onboarding.lua")
    local summary = runbook.run(rb, { client = client, store = store.memory(), input = input })
    assert.is_true(summary.ok, tostring(summary.error))
    local ref = summary.values["opening top-up"].reference
    assert.equals(1, applied(ref))
    assert.equals("FULL_KYC", summary.values["KYC full"].kyc)
    local card = summary.values["create wallet"].enKashCardId
    local balance = control(srv, "ledger").accounts["wallet:" .. card]
    assert.equals(50000, balance) -- ₹500.00, once
  end)

  it_("a lost top-up answer (committed, then reset) is reconciled from the record, once", function()
    local ids = fx.onboard(client, control, srv)
    control(srv, "fault", { endpoint = "wallet.top_up", kind = "reset", after_commit = true })
    local payload, res = client.wallet:top_up({ enKashCardId = ids.a, amount = "7.50" })
    assert.truthy(payload, tostring(res))
    assert.is_true(res.reconciled)
    assert.equals(750, payload.amount_paise)
    assert.equals(1, applied(res.reference))
  end)

  -- An applied top-up asked about again with its reference ("already exists", then the
  -- lookup), its record reported as each row of the README's table needs.
  describe("the record of an applied top-up, asked again", function()
    local ids, ref
    before_each(function()
      ids = fx.onboard(client, control, srv)
      local p, r = client.wallet:top_up({ enKashCardId = ids.a, amount = "7.50" })
      assert.truthy(p, tostring(r))
      ref = r.reference
    end)

    local function again(report)
      if report then
        report.reference = ref
        control(srv, "report", report)
      end
      return client.wallet:top_up({ enKashCardId = ids.a, amount = "7.50", uniqueReferenceNumber = ref })
    end

    it_("succeeded: success from the record, and no second effect", function()
      local payload, res = again()
      assert.truthy(payload, tostring(res))
      assert.is_true(res.reconciled)
      assert.equals(ref, payload.pgReferenceNumber)
      assert.equals(1, applied(ref))
    end)

    for _, case in ipairs({
      { "an unknown status word", { status = "SOMETHING_ELSE" }, "SOMETHING_ELSE" },
      { "another amount", { status = "SUCCESS", amount = "75.00" }, "SUCCESS" },
      { "a status that stays CREATED", { status = "CREATED" }, "CREATED" },
    }) do
      it_(case[1] .. " is unknown_outcome with the reference, never success", function()
        local payload, err = again(case[2])
        assert.is_nil(payload)
        assert.equals("unknown_outcome", err.kind)
        assert.equals(case[3], err.status)
        assert.equals(ref, err.reference)
        assert.equals(1, applied(ref))
      end)
    end

    it_("a record that says FAILED is a failure with the word", function()
      local payload, err = again({ status = "FAILED" })
      assert.is_nil(payload)
      assert.equals("transaction_failed", err.code)
      assert.equals("FAILED", err.status)
    end)
  end)

  it_("a top-up refused before commit is sent again with the same reference, and applied once", function()
    local ids = fx.onboard(client, control, srv)
    -- in the list dialect the lookup answers the wallet's other loads, not this one
    control(srv, "fault", { endpoint = "wallet.top_up", kind = "reset" })
    local payload, res = client.wallet:top_up({ enKashCardId = ids.a, amount = "3.00" })
    assert.truthy(payload, tostring(res))
    assert.equals(1, applied(res.reference))
  end)

  it_("a caller's retry of a used reference with another amount is not the same call", function()
    local ids = fx.onboard(client, control, srv)
    local p1, r1 = client.wallet:top_up({ enKashCardId = ids.a, amount = "9.99" })
    assert.truthy(p1, tostring(r1))
    local p3, e3 = client.wallet:top_up({ enKashCardId = ids.a, amount = "1.00",
                                          uniqueReferenceNumber = r1.reference })
    assert.is_nil(p3)
    assert.equals("unknown_outcome", e3.kind)
    assert.equals(1, applied(r1.reference))
  end)

  it_("onboarding_state reads the wallet whatever the shape of Get Wallet Details", function()
    local ids = fx.onboard(client, control, srv)
    local st = assert(client:onboarding_state({ enKashCardId = ids.b }))
    assert.is_true(st.tnc_accepted)
    assert.equals(ids.b, st.wallet.enKashCardId)
    assert.equals("min", st.kyc_level)
  end)

  it_("the reconciliation example finds each reference's record in the answer", function()
    local ids = fx.onboard(client, control, srv)
    local t1 = assert(client.transfers:imps({ enKashCardId = ids.a, beneficiaryId = ids.beneficiary,
                                              amount = "1.00" }))
    local _, r2 = client.transfers:imps({ enKashCardId = ids.a, beneficiaryId = ids.beneficiary, amount = "2.00" })
    local otp = assert(client.wallet:send_otp({ enKashCardId = ids.a, cardOtpAction = "TRANSACTION_OTP" }))
    local _, d = client.merchant:debit({ merchantDetailId = "MD7GWIYV3VEMQ8KQ", enkashCardId = ids.a,
      amount = "5.00", otpMedium = "MOBILE", otp = fx.otp_code, otpReferenceId = otp.otpReferenceId })
    local report = os.tmpname()
    local summary = runbook.run(dofile("examples/reconciliation.lua"), { client = client, store = store.memory(),
      input = { transfers = { t1.uniqueTransactionId, r2.reference, "NOSUCHREF1" }, settlements = { d.reference },
                report = report } })
    assert.is_true(summary.ok, tostring(summary.error))
    local t = summary.values["transfer statuses"]
    for _, ref in ipairs({ t1.uniqueTransactionId, r2.reference }) do
      assert.truthy(t[ref] == "SUCCESS" or t[ref] == "CREATED", ref .. ": " .. tostring(t[ref]))
    end
    assert.matches("^error", t.NOSUCHREF1)
    assert.equals("PENDING", summary.values["settlement statuses"][d.reference])
    os.remove(report)
  end)

  it_("a business failure carries its stable code, and moves nothing", function()
    local ids = fx.onboard(client, control, srv)
    local total = control(srv, "ledger").total
    local _, e = client.wallet:top_up({ enKashCardId = ids.a, amount = "20000.00" }) -- over MIN_KYC limits
    assert.truthy(e)
    assert.equals("limit_exceeded", e.code, tostring(e))
    assert.equals(0, applied(e.reference))
    assert.equals(total, control(srv, "ledger").total)
  end)
end

for _, name in ipairs(dialect.names) do
  describe("dialect " .. name .. ":", function()
    local inprocess = targets.inprocess(SANDBOX)
    dialect_cases(function() return inprocess end, name, function() return true end)
  end)
end

-- Over the wire: case n in dialect n, round-robin over the dialects.
local wire = targets.serve{ sandbox_opts = SANDBOX }
for d, name in ipairs(dialect.names) do
  describe("dialect " .. name .. " over the wire (nginx + libcurl):", function()
    dialect_cases(function() return wire end, name, function(n) return (n - 1) % #dialect.names + 1 == d end)
  end)
end
