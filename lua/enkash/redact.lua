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
  s = gsub(s, "%f[%d]%d%d%d%d%d%d%d%d%d%d+%f[%D]", function(run)
    if #run == 10 then return M.mobile(run) end
    return rep("X", #run - 4) .. sub(run, -4)
  end)
  return s
end

return M
