local onboarding = require "enkash.onboarding"

describe("onboarding state (T&C and KYC guides)", function()
  local function state(tnc, kyc) return onboarding.from_details({ latestTncVersionAccepted = tnc, kycStatus = kyc }) end

  it("gates on the T&C first", function()
    local s = state(false, "FULL_KYC")
    assert.is_false(s.usable)
    assert.equals("accept_tnc", s.next)
    assert.is_false(s.tnc_accepted)
    assert.equals("accept_tnc", state(nil, "MIN_KYC").next)
  end)

  it("then on minimum KYC", function()
    local s = state(true, "NON_KYC")
    assert.is_false(s.usable)
    assert.equals("min_kyc", s.next)
    assert.equals("none", s.kyc_level)
  end)

  it("is usable at minimum KYC and suggests VKYC for full limits", function()
    local s = state(true, "MIN_KYC")
    assert.is_true(s.usable)
    assert.equals("vkyc", s.next)
    assert.equals("MIN_KYC", s.kyc)
  end)

  it("is done at full KYC", function()
    local s = state(true, "FULL_KYC")
    assert.is_true(s.usable)
    assert.is_nil(s.next)
    assert.equals("full", s.kyc_level)
  end)

  it("passes an unknown KYC value through as a string without crashing", function()
    for _, v in ipairs({ "VIDEO_KYC_SCHEDULED", 7, true }) do
      local s = state(true, v)
      assert.is_false(s.usable)
      assert.is_nil(s.next)
      assert.equals(tostring(v), s.kyc)
      assert.is_nil(s.kyc_level)
    end
    assert.is_false(onboarding.from_details({}).usable)
  end)
end)
