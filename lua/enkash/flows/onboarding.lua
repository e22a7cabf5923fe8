--- The portal's two gating guides as code: T&C Acceptance Flow and KYC Status Handling.
-- "A wallet may exist but must not be treated as active or usable until the user has
-- accepted the latest T&C, and the Minimum KYC requirement is satisfied" (docs/enkash-api.md §5.3);
-- the system of record is Get Wallet Details (`latestTncVersionAccepted`, and the KYC field,
-- `kycStatus` by assumption). Full KYC comes through VKYC (§4.6).
-- @module enkash.flows.onboarding

local envelope = require "enkash.envelope"

local type, ipairs = type, ipairs

local M = {}

--- KYC values and the level each one means. The values are assumed (the guide's list was not
-- found); any other value passes through as a string and makes the wallet not usable.
M.kyc_levels = {
  NON_KYC = "none", NO_KYC = "none", KYC_PENDING = "none",
  MIN_KYC = "min", MINIMUM_KYC = "min",
  FULL_KYC = "full",
}

--- Derive the onboarding state from a Get Wallet Details payload.
-- @tparam table details the payload
-- @tparam[opt] string kyc_field the KYC field's name (default "kycStatus")
-- @treturn table {usable, next = "accept_tnc" | "min_kyc" | "vkyc" | nil, kyc, kyc_level,
-- tnc_accepted, wallet = details}
function M.from_details(details, kyc_field)
  local tnc = details.latestTncVersionAccepted
  local kyc = details[kyc_field or "kycStatus"]
  local level = type(kyc) == "string" and M.kyc_levels[kyc:upper()] or nil
  local state = {
    tnc_accepted = tnc == true, kyc = kyc ~= nil and tostring(kyc) or nil, kyc_level = level,
    wallet = details, usable = false,
  }
  if tnc ~= true then
    state.next = "accept_tnc" -- T&C first: the guide gates activation on it
  elseif level == "none" then
    state.next = "min_kyc"
  elseif level == "min" then
    state.usable, state.next = true, "vkyc" -- usable; VKYC upgrades to full PPI limits
  elseif level == "full" then
    state.usable = true
  end
  -- An unknown KYC value: not usable, and no next step enkash could name.
  return state
end

--- Read Get Wallet Details and derive the state (`client:onboarding_state(p)`).
-- @tparam table client
-- @tparam table params Get Wallet Details params (enKashCardId; ids default from config)
-- @treturn table|nil state see `from_details`
-- @treturn table|nil err
function M.state(client, params)
  local details, err = client.wallet:details(params)
  if not details then return nil, err end
  return M.from_details(M.wallet_record(details, params), client.config.kyc_field)
end

-- The id fields a wallet record may carry (the Merchant body spells it enkashCardId).
local ID_FIELDS = { "enKashCardId", "enkashCardId" }

--- The wallet's record in a Get Wallet Details answer, whatever its shape: the object itself,
-- or, in a page (`{"recordsCount", "data": [...]}`) or a list, the record whose enKashCardId
-- is the one asked for (the only record when none was asked for). An answer with no such
-- record gives `{}`: not usable, T&C not accepted.
-- @param details the payload
-- @tparam[opt] table params the Get Wallet Details params (enKashCardId)
-- @treturn table the record
function M.wallet_record(details, params)
  local records = envelope.records(details)
  local want = type(params) == "table" and params.enKashCardId or nil
  if want == nil then return #records == 1 and records[1] or {} end
  for _, r in ipairs(records) do
    for _, f in ipairs(ID_FIELDS) do
      if r[f] == want then return r end
    end
  end
  -- One object that names no id at all is the wallet asked for (the documented shape).
  if #records == 1 and records[1].enKashCardId == nil and records[1].enkashCardId == nil then
    return records[1]
  end
  return {}
end

return M
