--- Central redaction of PII in free text that may reach an error message or a log line.
-- Server messages are passed through here before the SDK repeats them: a server may echo a
-- mobile number, a PAN or an account number, and none of those may be printed in full.
-- @module enkash.redact

local gsub, sub, rep = string.gsub, string.sub, string.rep

local M = {}

--- Mask a mobile number: first two and last two digits kept (96XXXXXX14).
-- @tparam string s ten digits
-- @treturn string
function M.mobile(s)
  return sub(s, 1, 2) .. rep("X", #s - 4) .. sub(s, -2)
end

--- Mask every PAN, 10-digit mobile number and longer digit run in `s`.
-- PAN -> XXXXX1234X; a 10-digit run -> 96XXXXXX14; 11+ digits (account, card, IMEI) -> last 4.
-- @tparam string s free text
-- @treturn string
function M.text(s)
  if type(s) ~= "string" then return s end
  s = gsub(s, "%f[%w]%u%u%u%u%u(%d%d%d%d)%u%f[%W]", "XXXXX%1X")
  -- Whole words only: a reference such as ENK1234567890ABC is an id, not an account number.
  s = gsub(s, "%f[%w]%d%d%d%d%d%d%d%d%d%d+%f[%W]", function(run)
    if #run == 10 then return M.mobile(run) end
    return rep("X", #run - 4) .. sub(run, -4)
  end)
  return s
end

-- Keys whose values are never shown at all, and keys holding PII masked by kind.
local secret_keys = {
  password = true, client_secret = true, otp = true, access_token = true, accessToken = true,
  refresh_token = true, refreshToken = true, token = true, authorization = true, Authorization = true,
  checksum = true, request = true, paymentToken = true, mfaCode = true,
}
local mask_by_key = {
  mobile = "mobile", mobileNumber = "mobile", username = "mobile", maskedMobile = "keep",
  docNo = "text", accountNumber = "last4", deviceImei = "last4", email = "email",
}

--- Mask one value by the name of its field: secrets vanish, PII keeps only what identifies it
-- to a person who already knows it.
-- @tparam string key field name
-- @param value
-- @return the masked value
function M.value(key, value)
  if secret_keys[key] then return "***" end
  if type(value) ~= "string" then return value end
  local how = mask_by_key[key]
  if how == "keep" then return value end
  if how == "mobile" and #value >= 6 then return M.mobile(value) end
  if how == "last4" then return rep("X", math.max(#value - 4, 0)) .. sub(value, -4) end
  if how == "email" then
    local user, domain = value:match("^(.)[^@]*@(.+)$")
    if user then return user .. "***@" .. domain end
    return "***"
  end
  return M.text(value)
end

--- A masked deep copy of a table (request bodies, form fields, headers) for display.
-- @tparam table t
-- @treturn table
function M.table(t)
  local out = {}
  for k, v in pairs(t) do
    if type(v) == "table" then
      out[k] = secret_keys[k] and "***" or M.table(v)
    else
      out[k] = M.value(k, v)
    end
  end
  return out
end

return M
