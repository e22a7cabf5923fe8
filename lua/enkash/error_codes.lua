--- Stable error codes: `err.code`, one documented name per kind of business failure, so
-- callers branch on `err.code == "insufficient_balance"` instead of matching message text.
-- A failure's code comes from, in this order: the server's message (patterns, an assumption:
-- Enkash documents no Wallet error texts; `assumptions.error_patterns`, extended by config),
-- its `response_code` (documented codes of sibling products), its HTTP status (the Rewards
-- guide's list). A failure none of them names keeps `code = nil` and its message.
-- @module enkash.error_codes

local assumptions = require "enkash.assumptions"

local type, lower, find, ipairs, setmetatable = type, string.lower, string.find, ipairs, setmetatable

local M = {}

--- Every code, with what it means (the README's Errors table lists the same).
M.codes = {
  not_found = "no such record (transaction, wallet, beneficiary, reference)",
  duplicate_reference = "the reference was used before; a money call looks it up (enkash.reconcile)",
  invalid_otp = "the OTP or its reference is wrong",
  otp_expired = "the OTP is past its validity",
  insufficient_balance = "not enough balance in the wallet or the partner account",
  limit_exceeded = "a load, balance or velocity limit would be exceeded",
  kyc_required = "the wallet's KYC level does not allow this",
  tnc_pending = "the user has not accepted the latest T&C",
  locked = "the account, wallet or its details are locked or blocked",
  invalid_request = "a field is missing or invalid, as the server saw it",
  unauthorized = "credentials or token refused (HTTP 401)",
  forbidden = "not allowed for this partner (HTTP 403, or response_code 403: APIs not enabled)",
  rate_limited = "too many requests (HTTP 429)",
  transaction_failed = "a status record says the money call failed (err.status holds its word)",
}

--- `response_code` values other than 0 and 1, as sibling products document them.
-- Payouts: 403 APIs not enabled, 409 ID already exists, 412 invalid company id / checksum,
-- 422 invalid request or parameter (https://docs.enkash.com/folder-4264617); Bill Payments:
-- 36/37 velocity limit, 38 duplicate referenceId (https://docs.enkash.com/folder-2203030).
M.response_codes = {
  [403] = "forbidden", [409] = "duplicate_reference", [412] = "invalid_request",
  [422] = "invalid_request", [36] = "limit_exceeded", [37] = "limit_exceeded",
  [38] = "duplicate_reference",
}

--- HTTP statuses, as the Rewards guide lists them (400 bad request, 422 unprocessable,
-- https://docs.enkash.com/doc-650021) and HTTP itself defines. 404 is left out on purpose:
-- a 404 without a message is a missing route, not a missing record.
M.http_statuses = {
  [400] = "invalid_request", [401] = "unauthorized", [403] = "forbidden",
  [409] = "duplicate_reference", [422] = "invalid_request", [429] = "rate_limited",
}

-- The message patterns in force: config's (`error_patterns`, then the older single
-- `not_found_pattern` / `duplicate_pattern`) before the assumed ones. Built once per config.
local built = setmetatable({}, { __mode = "k" })
local function patterns_of(cfg)
  if not cfg then return assumptions.error_patterns end
  local list = built[cfg]
  if list then return list end
  list = {}
  for _, p in ipairs(cfg.error_patterns or {}) do list[#list + 1] = p end
  if cfg.not_found_pattern then list[#list + 1] = { "not_found", cfg.not_found_pattern } end
  if cfg.duplicate_pattern then list[#list + 1] = { "duplicate_reference", cfg.duplicate_pattern } end
  for _, p in ipairs(assumptions.error_patterns) do list[#list + 1] = p end
  built[cfg] = list
  return list
end

--- The code a message names, by pattern (matched against the lower-cased message).
-- @tparam string message the server's own text
-- @tparam[opt] table cfg resolved config (for its patterns)
-- @treturn string|nil code
function M.from_message(message, cfg)
  if type(message) ~= "string" or message == "" then return nil end
  local text = lower(message)
  for _, p in ipairs(patterns_of(cfg)) do
    if find(text, p[2]) then return p[1] end
  end
  return nil
end

--- Classify a failure.
-- @tparam[opt] string message the server's own message (never text enkash made up)
-- @tparam[opt] number response_code
-- @tparam[opt] number http_status
-- @tparam[opt] table cfg resolved config
-- @treturn string|nil code
function M.classify(message, response_code, http_status, cfg)
  return M.from_message(message, cfg)
    or (response_code and M.response_codes[response_code])
    or (http_status and M.http_statuses[http_status])
end

return M
