--- Validation of request parameters against a catalogue row, before any I/O.
-- Each failure is a `validation` error naming the field at fault. Messages never echo the
-- value itself: it may be a mobile number, an IMEI or another piece of PII.
-- @module enkash.validate

local errors = require "enkash.errors"

local type, pairs, ipairs, tonumber = type, pairs, ipairs, tonumber
local byte, find, match, sub, gmatch = string.byte, string.find, string.match, string.sub, string.gmatch
local min = math.min

local M = {}

-- Luhn check over a string of digits (IMEI check digit).
local function luhn_ok(digits)
  local sum, double = 0, false
  for i = #digits, 1, -1 do
    local d = byte(digits, i) - 48
    if double then
      d = d * 2
      if d > 9 then d = d - 9 end
    end
    sum = sum + d
    double = not double
  end
  return sum % 10 == 0
end

local function ipv4_ok(s)
  local a, b, c, d = match(s, "^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
  if not a then return false end
  for _, part in ipairs({ a, b, c, d }) do
    if tonumber(part) > 255 or (#part > 1 and sub(part, 1, 1) == "0") then return false end
  end
  return true
end

local function ipv6_ok(s)
  if #s < 2 or #s > 45 or not find(s, ":", 1, true) then return false end
  if find(s, "[^%x:%.]") or find(s, ":::", 1, true) then return false end
  local _, doubles = s:gsub("::", "")
  if doubles > 1 then return false end
  local groups, tail_v4 = 0, nil
  for group in gmatch(s, "[^:]+") do
    if find(group, ".", 1, true) then
      tail_v4 = group
    elseif #group > 4 then
      return false
    end
    groups = groups + 1
  end
  if tail_v4 then
    if not ipv4_ok(tail_v4) or not s:find(tail_v4 .. "$") then return false end
    groups = groups + 1
  end
  if doubles == 0 then return groups == 8 end
  return groups < 8
end

--- Named checks used by catalogue rows (`check = "mobile"`).
-- Each returns nil when the value is fine, or the reason it is not.
M.checks = {
  nonempty = function(v)
    if not find(v, "%S") then return "must not be empty" end
  end,
  mobile = function(v)
    if not match(v, "^%d%d%d%d%d%d%d%d%d%d$") then return "must be a 10-digit mobile number" end
  end,
  ip = function(v)
    if not (ipv4_ok(v) or ipv6_ok(v)) then return "must be an IPv4 or IPv6 address" end
  end,
  imei = function(v)
    if not match(v, "^" .. ("%d"):rep(15) .. "$") then return "must be a 15-digit IMEI" end
    if not luhn_ok(v) then return "has an invalid IMEI check digit (Luhn)" end
  end,
  platform = function(v)
    if v ~= "android" and v ~= "ios" then return 'must be "android" or "ios"' end
  end,
}

-- Edit distance, to suggest the documented spelling for a near-miss ("manufacturer").
local function distance(a, b)
  if #a > 40 or #b > 40 then return 99 end
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = (byte(a, i) == byte(b, j)) and 0 or 1
      cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

local function suggestion(name, fields)
  local best, best_d = nil, 4
  for _, f in ipairs(fields) do
    local d = distance(name:lower(), f.name:lower())
    if d < best_d then best, best_d = f.name, d end
  end
  return best
end

local function fail(row, field, reason)
  return nil, errors.new("validation", field .. " " .. reason, { field = field, endpoint = row.name })
end

--- Validate `params` for `row` and return the request body.
-- Checks that params is a table, that no unknown field is present, that every required field
-- is there with the documented type, and runs each field's named check.
-- @tparam table row a catalogue row
-- @tparam table params the caller's parameters
-- @treturn table|nil body a fresh table holding only documented fields
-- @treturn table|nil err a validation error naming the field
function M.params(row, params)
  if type(params) ~= "table" then
    return nil, errors.new("validation", "parameters must be a table", { endpoint = row.name })
  end
  local fields = row.fields or {}
  local known = {}
  for _, f in ipairs(fields) do known[f.name] = f end
  for name in pairs(params) do
    if not known[name] then
      local hint = type(name) == "string" and suggestion(name, fields)
      local label = type(name) == "string" and name or "?"
      return fail(row, label, "is not a documented field of " .. row.name
        .. (hint and (' (did you mean "' .. hint .. '"?)') or ""))
    end
  end
  local body = {}
  for _, f in ipairs(fields) do
    local v = params[f.name]
    if v == nil then
      if f.required then return fail(row, f.name, "is required") end
    else
      if type(v) ~= f.type then return fail(row, f.name, "must be a " .. f.type) end
      local check = f.check and M.checks[f.check]
      local reason = check and check(v)
      if reason then return fail(row, f.name, reason) end
      body[f.name] = v
    end
  end
  return body
end

M.luhn_ok = luhn_ok

return M
