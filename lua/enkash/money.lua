--- Money: rupees at the edges, integer paise inside, never binary-float arithmetic.
-- An amount arrives as the portal writes it: a string such as "100.50", or a number with at
-- most 2 decimals (10, 20.5). It is converted once, by decimal text, into integer paise, and
-- written back as decimal text (`M.text`), which the JSON encoder emits verbatim as a number
-- or a string. `0.1 + 0.2` is refused (its shortest exact form has 17 decimals), not rounded.
-- Works under Lua 5.4 and LuaJIT (paise stay far below 2^53, exact in a double).
-- @module enkash.money

local type, tonumber, format, match, sub, rep, byte = type, tonumber, string.format, string.match,
  string.sub, string.rep, string.byte

local M = {}

--- Largest amount accepted, in paise (₹1,00,00,000): above any PPI limit, far below 2^53.
M.MAX_PAISE = 1000000000

--- The shortest decimal text that reads back as exactly `n`: what a person wrote as 20.5.
-- @tparam number n
-- @treturn string
function M.shortest(n)
  for digits = 15, 17 do
    local s = format("%." .. digits .. "g", n)
    if tonumber(s) == n then return s end
  end
  return format("%.17g", n)
end
local shortest = M.shortest

--- Convert an amount in rupees to integer paise.
-- @param v a string ("100", "100.5", "100.50") or a number with at most 2 decimals
-- @treturn number|nil paise (an integer value)
-- @treturn[opt] string why the amount is refused
function M.paise(v)
  local text
  if type(v) == "string" then
    text = v
  elseif type(v) == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return nil, "must be a finite number" end
    text = shortest(v)
    if match(text, "[eE]") then
      -- 1e+15 or 1e-05: outside any sensible amount, and not plain decimal text
      return nil, "must be a plain amount in rupees"
    end
  else
    return nil, "must be an amount in rupees (a string like \"100.50\" or a number)"
  end
  if match(text, "^%-") then return nil, "must be greater than 0" end
  local whole, frac = match(text, "^(%d+)%.?(%d*)$")
  if not whole or (frac == "" and match(text, "%.$")) then
    return nil, "must be an amount in rupees like \"100.50\""
  end
  if #frac > 2 then return nil, "must have at most 2 decimals" end
  if #whole > 10 then return nil, "is too large" end
  local paise = tonumber(whole) * 100 + tonumber(frac .. rep("0", 2 - #frac))
  if paise <= 0 then return nil, "must be greater than 0" end
  if paise > M.MAX_PAISE then return nil, "is too large" end
  return paise
end

--- Convert an amount as Enkash wrote it in a response (the JSON text of a number, or a
-- string) to integer paise. Unlike `paise`, 0 and negative amounts are read (fees, balances),
-- and the text is never a float's rendering: "100.10" -> 10010, "0.07" -> 7.
-- @tparam string text decimal text: "-"? digits, then "." and at most 2 digits
-- @treturn number|nil paise (an integer under Lua 5.4)
-- @treturn[opt] string why the text is not an exact amount in paise
function M.exact(text)
  if type(text) ~= "string" then return nil, "is not an amount" end
  local sign, whole, frac = match(text, "^(%-?)(%d+)%.?(%d*)$")
  if not whole then return nil, "is not a plain decimal amount" end
  local decimals = #frac
  if decimals > 2 then return nil, "has more than 2 decimals" end
  if decimals == 0 and byte(text, -1) == 46 then return nil, "is not a plain decimal amount" end -- "5."
  if #whole > 13 then
    -- 13 digits of rupees: 15 digits of paise stay exact in a double (LuaJIT) and lie above
    -- any balance a partner account holds. Leading zeros never make an amount larger.
    whole = match(whole, "^0*(%d-%d)$")
    if #whole > 13 then return nil, "is too large" end
  end
  local paise = tonumber(whole) * 100
  if decimals == 2 then
    paise = paise + tonumber(frac)
  elseif decimals == 1 then
    paise = paise + tonumber(frac) * 10
  end
  if sign == "-" then paise = -paise end
  return paise
end

--- Write paise as rupees in decimal text: 1000 -> "10", 2050 -> "20.50".
-- @tparam number paise an integer value
-- @treturn string
function M.text(paise)
  local s = format("%d", paise)
  if #s < 3 then s = rep("0", 3 - #s) .. s end
  local whole, frac = sub(s, 1, -3), sub(s, -2)
  if frac == "00" then return whole end
  return whole .. "." .. frac
end

return M
