--- Transaction OTPs (wallet.send_otp) and their single use by the merchant debit.
-- The sandbox cannot send an SMS, so every OTP's code is `opts.otp_code` (default "123456",
-- the documented example). An OTP belongs to one wallet, expires `opts.otp_ttl` seconds
-- after it was sent and is used up by the first debit it authorises (docs/enkash-api.md §4.11:
-- "valid for a limited time, and can be used only once").
-- Assumption: every way an OTP can be wrong (unknown reference, another wallet's, wrong code,
-- expired, used) answers the same "Invalid or expired OTP", so nothing is learnt by probing;
-- a wrong code does not use the OTP up.
-- @module enkash.sandbox.otp

local books = require "enkash.sandbox.books"
local ids = require "enkash.sandbox.ids"

local M = {}

--- The refusal of an OTP that cannot authorise this debit.
M.INVALID = "Invalid or expired OTP"

local function send_otp(sb, body)
  local w, msg = books.wallet(sb, body)
  if not w then return nil, msg end
  local st = sb.state
  local ref = ids.fresh(sb.core, "EK", 8, st.otps)
  st.otps[ref] = { wallet = w.id, code = sb.opts.otp_code, expires_at = sb.clock() + sb.opts.otp_ttl }
  return { otpReferenceId = ref }
end

--- The OTP `ref` if it may authorise a debit of wallet `wallet_id` with `code` now.
-- @tparam table sb
-- @param ref otpReferenceId
-- @tparam string wallet_id enKashCardId
-- @param code the code the user typed
-- @treturn table|nil otp record
-- @treturn[opt] string refusal message
function M.valid(sb, ref, wallet_id, code)
  local o = sb.state.otps[ref]
  if not o or o.used or o.wallet ~= wallet_id or o.code ~= code or sb.clock() >= o.expires_at then
    return nil, M.INVALID
  end
  return o
end

--- Use an OTP up (after the debit it authorised was applied).
-- @tparam table o otp record
function M.use(o)
  o.used = true
end

--- Handlers by catalogue row name.
M.handlers = {
  ["wallet.send_otp"] = send_otp,
}

return M
