-- Full onboarding: device bind -> T&C gate -> create wallet -> activation gate -> opening
-- top-up -> OTP -> VKYC link -> poll the KYC status until full.
--
--   enkash run examples/onboarding.lua --input examples/onboarding.json
--
-- Each step's outcome is journaled; kill the run at any point and continue it with
-- `enkash run examples/onboarding.lua --resume RUN_ID`.
local runbook = require "enkash.runbook"

local rb = runbook.new("Full onboarding")

rb:step("bind device", function(ctx)
  local p, err = ctx:call("device.generate", ctx.input.device)
  if not p then return nil, err end
  return ctx:poll(function()
    local s, serr = ctx:call("device.status", ctx.input.device)
    if not s then return nil, serr end
    if ctx.client.config.device_failed_statuses[s.status] then
      return nil, "device binding " .. tostring(s.status)
    end
    return s.status ~= "Pending" and { status = s.status }
  end, { interval = 0.5, timeout = 120 })
end)

-- Branch on state: the partner records the user's T&C acceptance before a wallet is made
-- (RBI co-branding guidelines, docs/enkash-api.md §5.3); without it the run stops here.
rb:step("T&C gate", function(ctx)
  if ctx.input.tnc_accepted ~= true then
    return nil, "the user has not accepted the wallet T&C (input.tnc_accepted)"
  end
  return { accepted = true }
end)

-- An existing wallet (input.enKashCardId) skips creation: the way back when a create was
-- answered but its answer lost, on an Enkash that refuses a second create for the same mobile.
rb:step("create wallet", function(ctx)
  if ctx.input.enKashCardId then return { enKashCardId = ctx.input.enKashCardId } end
  local w, err = ctx:call("wallet.create", ctx.input.wallet)
  if not w then return nil, err end
  return { enKashCardId = w.enKashCardId, kycStatus = w.kycStatus }
end)

-- Enkash's record is the wallet details: usable only once the T&C acceptance has reached it.
rb:step("activation gate", function(ctx)
  local card = ctx.values["create wallet"].enKashCardId
  return ctx:poll(function()
    local st, err = ctx.client:onboarding_state({ enKashCardId = card })
    if not st then return nil, err end
    return st.usable and { kyc = st.kyc, next = st.next }
  end, { interval = 0.5, timeout = 300 })
end)

rb:step("opening top-up", function(ctx)
  local t, res = ctx:call("wallet.top_up", {
    enKashCardId = ctx.values["create wallet"].enKashCardId,
    amount = ctx.input.opening_balance, remarks = "opening balance",
  })
  if not t then return nil, res end
  return { reference = res.reference, otbBalance = t.otbBalance }
end, { when = function(ctx) return ctx.input.opening_balance ~= nil end })

rb:step("send OTP", function(ctx)
  local o, err = ctx:call("wallet.send_otp", {
    enKashCardId = ctx.values["create wallet"].enKashCardId, cardOtpAction = "TRANSACTION_OTP",
  })
  if not o then return nil, err end
  return { otpReferenceId = o.otpReferenceId }
end)

-- Branch on state first: after a resume the earlier link may already have done its work
-- (Enkash refuses a link for a wallet whose KYC is complete).
rb:step("VKYC link", function(ctx)
  local card = ctx.values["create wallet"].enKashCardId
  local st, serr = ctx.client:onboarding_state({ enKashCardId = card })
  if not st then return nil, serr end
  if st.kyc_level == "full" then return { vkycLink = false, kyc = st.kyc } end
  local v, err = ctx:call("wallet.vkyc_link", { enKashCardId = card })
  if not v then return nil, err end
  return { vkycLink = v.vkycLink }
end)

rb:step("KYC full", function(ctx)
  local card = ctx.values["create wallet"].enKashCardId
  return ctx:poll(function()
    local st, err = ctx.client:onboarding_state({ enKashCardId = card })
    if not st then return nil, err end
    return st.kyc_level == "full" and { kyc = st.kyc }
  end, { interval = 1, timeout = ctx.input.kyc_timeout or 900 })
end)

return rb
