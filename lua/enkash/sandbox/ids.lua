--- Random identifiers of the sandbox's records (wallets, transactions, OTPs, beneficiaries).
-- Formats follow the documented examples where there are some (EKCWLUAADN: "EKC" + 7;
-- otpReferenceId EK0N4ERDOS: "EK" + 8); the rest are the sandbox's choice.
-- @module enkash.sandbox.ids

local byte, sub, concat = string.byte, string.sub, table.concat

local M = {}

local UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
local LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"

-- n characters of `alphabet` from OpenSSL's RNG (the modulo bias is harmless for test ids).
local function draw(core, alphabet, n)
  local raw = core.random_bytes(n)
  local out = {}
  for i = 1, n do
    local k = byte(raw, i) % #alphabet + 1
    out[i] = sub(alphabet, k, k)
  end
  return concat(out)
end

--- `prefix` followed by `n` random upper-case letters and digits.
-- @tparam table core enkash.core (for random_bytes)
-- @tparam string prefix
-- @tparam number n
-- @treturn string
function M.upper(core, prefix, n)
  return prefix .. draw(core, UPPER, n)
end

--- `n` random lower-case letters and digits (URL path segments).
-- @tparam table core enkash.core
-- @tparam number n
-- @treturn string
function M.lower(core, n)
  return draw(core, LOWER, n)
end

--- A fresh id not yet used as a key of `taken`.
-- @tparam table core enkash.core
-- @tparam string prefix
-- @tparam number n
-- @tparam table taken id -> anything
-- @treturn string
function M.fresh(core, prefix, n, taken)
  local id
  repeat id = M.upper(core, prefix, n) until taken[id] == nil
  return id
end

return M
