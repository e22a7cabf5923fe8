--- The portal's status and enum values as Lua constants (docs/enkash-api.md §6, §4.17).
-- `statuses.settlement.SETTLED == "SETTLED"`; `statuses.describe("settlement", v)` gives the
-- label of any value, known or not, and never raises. Values the portal does not show are
-- marked `documented = false` (they are assumptions: confirm them with Enkash).
-- Works under Lua 5.4 and LuaJIT.
-- @module enkash.statuses

local type, tostring, ipairs, pairs, lower = type, tostring, ipairs, pairs, string.lower

local M = {}

local SETTLEMENT_SRC = "https://docs.enkash.com/api-24040936 (docs/enkash-api.md §4.17)"

--- Every domain: its source, whether the portal documents it, and its values in order
-- (`value`, `label`, `meaning`, `documented`, and `final` where a status can end a process).
M.domains = {
  settlement = {
    source = SETTLEMENT_SRC, documented = true,
    values = {
      { value = "PENDING", label = "Pending", meaning = "recon data not received from bank", final = false },
      { value = "APPROVED", label = "Approved", meaning = "recon data received from bank & txn matched",
        final = false },
      { value = "SETTLEMENT_IN_PROCESS", label = "Settlement In Process",
        meaning = "payout/settlement is in progress", final = false },
      { value = "DISPUTED", label = "Disputed", meaning = "recon data received from bank & txn mismatched",
        final = false },
      { value = "SETTLED", label = "Settled", meaning = "payout to merchant completed", final = true },
      { value = "PENDING_WITH_BANK", label = "Pending With Bank", meaning = "refund is not yet success",
        final = false },
      { value = "REFUND", label = "Refund", meaning = "refund completed for this txn", final = true },
      { value = "ON_HOLD", label = "On Hold", meaning = "settlement is on hold", final = false },
    },
  },
  card_otp_action = {
    source = "https://docs.enkash.com/api-19201679 (the only value seen)", documented = true,
    values = {
      { value = "TRANSACTION_OTP", label = "Transaction OTP", meaning = "OTP for a wallet transaction" },
    },
  },
  transaction_type = {
    source = "https://docs.enkash.com/api-13438388", documented = true,
    values = {
      { value = "CR", label = "Credit", meaning = "credit: the value a balance load uses" },
      { value = "DR", label = "Debit", meaning = "debit: documented, but refused on balance loads" },
    },
  },
  otp_medium = {
    source = "https://docs.enkash.com/api-20879440, https://docs.enkash.com/api-13438389", documented = true,
    values = {
      { value = "MOBILE", label = "Mobile", meaning = "OTP sent to the registered mobile number" },
      { value = "MFA", label = "MFA", meaning = "multi-factor code, sent as mfaCode (Prepaid Card pages)" },
    },
  },
  doc_type = {
    source = "https://docs.enkash.com/api-19199846 (the only value seen)", documented = true,
    values = {
      { value = "PAN", label = "PAN", meaning = "Permanent Account Number card" },
    },
  },
  gender = {
    source = "https://docs.enkash.com/api-19199846 (\"e.g.\")", documented = true,
    values = {
      { value = "M", label = "Male", meaning = "male" },
      { value = "F", label = "Female", meaning = "female" },
    },
  },
  device_binding = {
    source = "docs/enkash-api.md §4.2 (only Pending is documented)", documented = true,
    values = {
      { value = "Pending", label = "Pending", meaning = "binding requested, not yet confirmed" },
      { value = "Bound", label = "Bound", meaning = "device bound to the mobile number (assumed; the "
        .. "bundled sandbox's value)", documented = false },
      { value = "Failed", label = "Failed", meaning = "binding failed (assumed)", documented = false },
    },
  },
  kyc_level = {
    source = "not found (docs/enkash-api.md §5.4): assumed from the Min KYC / Full KYC tiers",
    documented = false,
    values = {
      { value = "NON_KYC", label = "Non KYC", meaning = "no KYC done" },
      { value = "MIN_KYC", label = "Min KYC", meaning = "minimum KYC (PAN / OTP)" },
      { value = "FULL_KYC", label = "Full KYC", meaning = "full KYC, e.g. after VKYC: full PPI limits" },
    },
  },
  vkyc = {
    source = "not found (docs/enkash-api.md §6): assumed", documented = false,
    values = {
      { value = "INITIATED", label = "Initiated", meaning = "VKYC link generated", final = false },
      { value = "IN_PROGRESS", label = "In Progress", meaning = "video KYC under way or under review",
        final = false },
      { value = "APPROVED", label = "Approved", meaning = "VKYC approved: the wallet is Full KYC",
        final = true },
      { value = "REJECTED", label = "Rejected", meaning = "VKYC rejected", final = true },
      { value = "EXPIRED", label = "Expired", meaning = "the VKYC link or session expired", final = true },
    },
  },
  transfer = {
    source = "not found (docs/enkash-api.md §6; Payouts has PENDING/REJECTED/PROCESSING/...): assumed",
    documented = false,
    values = {
      { value = "PENDING", label = "Pending", meaning = "accepted, not yet sent to the bank", final = false },
      { value = "PROCESSING", label = "Processing", meaning = "with the bank", final = false },
      { value = "SUCCESS", label = "Success", meaning = "credited to the beneficiary (a later reversal "
        .. "is still possible)", final = true },
      { value = "FAILED", label = "Failed", meaning = "not credited; the wallet is not debited or is "
        .. "refunded", final = true },
      { value = "REVERSED", label = "Reversed", meaning = "credited, then returned by the bank",
        final = true },
    },
  },
}

-- Fill the per-value defaults, the constant tables (M[domain].VALUE = "VALUE") and the lookups.
local by_value, by_lower = {}, {}
for domain, d in pairs(M.domains) do
  local constants, exact, folded = {}, {}, {}
  for _, v in ipairs(d.values) do
    if v.documented == nil then v.documented = d.documented end
    constants[v.value] = v.value
    exact[v.value] = v
    folded[lower(v.value)] = v
  end
  M[domain] = constants
  by_value[domain], by_lower[domain] = exact, folded
end

--- The values of a domain, in the portal's order (the catalogue's enums come from here).
-- @tparam string domain
-- @treturn table list of strings (empty for an unknown domain)
function M.values(domain)
  local out = {}
  local d = M.domains[domain]
  for i, v in ipairs(d and d.values or {}) do out[i] = v.value end
  return out
end

--- Describe a status value. Never raises: an unknown value, an unknown domain or a
-- non-string passes through as a string with `known = false`. Values are matched exactly,
-- then ignoring case.
-- @tparam string domain e.g. "settlement", "vkyc", "transfer", "device_binding"
-- @param value the value as received
-- @treturn table `{value, label, known, meaning, documented, final}` (`value` as received,
--   as a string)
function M.describe(domain, value)
  local text
  if type(value) == "string" then
    text = value
  elseif type(value) == "number" or type(value) == "boolean" then
    text = tostring(value)
  else
    text = ""
  end
  local exact = by_value[domain]
  local entry = exact and (exact[text] or by_lower[domain][lower(text)])
  if not entry then return { value = text, label = text, known = false } end
  return { value = text, label = entry.label, known = true, meaning = entry.meaning,
           documented = entry.documented, final = entry.final }
end

--- True when `value` is a final status of `domain` (settlement, vkyc, transfer); false for
-- an unknown value or domain. Never raises.
-- @tparam string domain
-- @param value
-- @treturn boolean
function M.is_final(domain, value)
  return M.describe(domain, value).final == true
end

return M
