-- enkash.statuses: the portal's enums as constants; describe() never raises.
local statuses = require "enkash.statuses"

describe("statuses", function()
  it("exposes each domain as constants", function()
    assert.equal("SETTLED", statuses.settlement.SETTLED)
    assert.equal("SETTLEMENT_IN_PROCESS", statuses.settlement.SETTLEMENT_IN_PROCESS)
    assert.equal("TRANSACTION_OTP", statuses.card_otp_action.TRANSACTION_OTP)
    assert.equal("CR", statuses.transaction_type.CR)
    assert.equal("DR", statuses.transaction_type.DR)
    assert.equal("MFA", statuses.otp_medium.MFA)
    assert.equal("PAN", statuses.doc_type.PAN)
    assert.equal("F", statuses.gender.F)
    assert.equal("Pending", statuses.device_binding.Pending)
    assert.equal("FULL_KYC", statuses.kyc_level.FULL_KYC)
    assert.equal("IN_PROGRESS", statuses.vkyc.IN_PROGRESS)
    assert.equal("REVERSED", statuses.transfer.REVERSED)
    assert.is_nil(statuses.settlement.SETTLE)
  end)

  it("holds the eight settlement statuses of §4.17 with their labels and meanings", function()
    local expected = {
      { "PENDING", "Pending", "recon data not received from bank" },
      { "APPROVED", "Approved", "recon data received from bank & txn matched" },
      { "SETTLEMENT_IN_PROCESS", "Settlement In Process", "payout/settlement is in progress" },
      { "DISPUTED", "Disputed", "recon data received from bank & txn mismatched" },
      { "SETTLED", "Settled", "payout to merchant completed" },
      { "PENDING_WITH_BANK", "Pending With Bank", "refund is not yet success" },
      { "REFUND", "Refund", "refund completed for this txn" },
      { "ON_HOLD", "On Hold", "settlement is on hold" },
    }
    local values = statuses.domains.settlement.values
    assert.equal(#expected, #values)
    for i, e in ipairs(expected) do
      assert.equal(e[1], values[i].value)
      local d = statuses.describe("settlement", e[1])
      assert.same({ value = e[1], label = e[2], known = true, meaning = e[3], documented = true,
                    final = values[i].final }, d)
    end
  end)

  it("marks the assumed values documented = false", function()
    for _, domain in ipairs({ "kyc_level", "vkyc", "transfer" }) do
      assert.is_false(statuses.domains[domain].documented)
      for _, v in ipairs(statuses.domains[domain].values) do
        assert.is_false(v.documented, domain .. "." .. v.value)
        assert.is_false(statuses.describe(domain, v.value).documented)
      end
    end
    assert.is_true(statuses.describe("device_binding", "Pending").documented)
    assert.is_false(statuses.describe("device_binding", "Bound").documented)
    assert.is_false(statuses.describe("device_binding", "Failed").documented)
    assert.is_true(statuses.describe("settlement", "ON_HOLD").documented)
    assert.is_true(statuses.describe("otp_medium", "MOBILE").documented)
  end)

  it("notes that DR is refused on loads", function()
    assert.truthy(statuses.describe("transaction_type", "DR").meaning:find("refused on balance loads", 1, true))
  end)

  it("passes an unknown value, domain or a non-string through, without raising", function()
    assert.same({ value = "SOMETHING_NEW", label = "SOMETHING_NEW", known = false },
      statuses.describe("settlement", "SOMETHING_NEW"))
    assert.same({ value = "SETTLED", label = "SETTLED", known = false }, statuses.describe("nope", "SETTLED"))
    assert.same({ value = "42", label = "42", known = false }, statuses.describe("settlement", 42))
    assert.same({ value = "true", label = "true", known = false }, statuses.describe("vkyc", true))
    for _, v in ipairs({ {}, function() end }) do
      local d = statuses.describe("transfer", v)
      assert.equal("", d.value)
      assert.is_false(d.known)
    end
    assert.is_false(statuses.describe("transfer", nil).known)
    assert.is_false(statuses.describe(nil, nil).known)
    assert.is_false(statuses.describe({}, "PENDING").known)
  end)

  it("matches ignoring case, keeping the value as received", function()
    local d = statuses.describe("device_binding", "PENDING")
    assert.is_true(d.known)
    assert.equal("PENDING", d.value)
    assert.equal("Pending", d.label)
    assert.is_true(statuses.describe("settlement", "settled").known)
  end)

  it("tells final statuses apart for settlement, vkyc and transfer", function()
    assert.is_true(statuses.is_final("settlement", "SETTLED"))
    assert.is_true(statuses.is_final("settlement", "REFUND"))
    assert.is_false(statuses.is_final("settlement", "PENDING"))
    assert.is_false(statuses.is_final("settlement", "ON_HOLD"))
    assert.is_false(statuses.is_final("settlement", "DISPUTED"))
    for _, v in ipairs({ "APPROVED", "REJECTED", "EXPIRED" }) do assert.is_true(statuses.is_final("vkyc", v)) end
    for _, v in ipairs({ "INITIATED", "IN_PROGRESS" }) do assert.is_false(statuses.is_final("vkyc", v)) end
    for _, v in ipairs({ "SUCCESS", "FAILED", "REVERSED" }) do assert.is_true(statuses.is_final("transfer", v)) end
    for _, v in ipairs({ "PENDING", "PROCESSING" }) do assert.is_false(statuses.is_final("transfer", v)) end
    assert.is_false(statuses.is_final("transfer", "UNKNOWN"))
    assert.is_false(statuses.is_final("transfer", nil))
    assert.is_false(statuses.is_final("nope", "SUCCESS"))
    assert.is_false(statuses.is_final("gender", "M"))
  end)

  it("has every value once per domain, each with a label and a meaning", function()
    for name, d in pairs(statuses.domains) do
      assert.is_string(d.source)
      local seen = {}
      for _, v in ipairs(d.values) do
        assert.is_nil(seen[v.value], name .. "." .. v.value)
        seen[v.value] = true
        assert.is_string(v.label)
        assert.is_string(v.meaning)
        assert.is_boolean(v.documented)
      end
    end
  end)
end)
