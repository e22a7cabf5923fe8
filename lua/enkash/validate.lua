--- Validation of request parameters against a catalogue row, before any I/O.
-- Each failure is a `validation` error naming the field at fault. Messages never echo the
-- value itself: it may be a mobile number, an IMEI or another piece of PII.
-- @module enkash.validate

local errors = require "enkash.errors"
local json = require "enkash.json"
local money = require "enkash.money"

local type, pairs, ipairs, tonumber, setmetatable = type, pairs, ipairs, tonumber, setmetatable
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

local function octet_ok(part)
  return tonumber(part) <= 255 and (#part == 1 or sub(part, 1, 1) ~= "0")
end

local function ipv4_ok(s)
  local a, b, c, d = match(s, "^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
  if not a then return false end
  return octet_ok(a) and octet_ok(b) and octet_ok(c) and octet_ok(d)
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

local IMEI = "^" .. ("%d"):rep(15) .. "$"

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
    if not match(v, IMEI) then return "must be a 15-digit IMEI" end
    if not luhn_ok(v) then return "has an invalid IMEI check digit (Luhn)" end
  end,
  platform = function(v)
    if v ~= "android" and v ~= "ios" then return 'must be "android" or "ios"' end
  end,
  email = function(v)
    if #v > 254 or not match(v, "^[%w._%%+%-]+@[%w.%-]+%.%a%a+$") then
      return "must be an email address"
    end
  end,
  pan = function(v)
    if not match(v, "^%u%u%u%u%u%d%d%d%d%u$") then return "must be a PAN (AAAAA9999A)" end
  end,
  ifsc = function(v)
    if not match(v, "^%u%u%u%u0[%u%d][%u%d][%u%d][%u%d][%u%d][%u%d]$") then
      return "must be an IFSC code (AAAA0XXXXXX)"
    end
  end,
  -- Assumption: Indian bank account numbers are 9 to 18 digits.
  account = function(v)
    if not match(v, "^%d+$") or #v < 9 or #v > 18 then
      return "must be an account number of 9 to 18 digits"
    end
  end,
  pincode = function(v)
    if not match(v, "^[1-9]%d%d%d%d%d$") then return "must be a 6-digit pincode" end
  end,
  date_ddmmyyyy = function(v)
    local d, m, y = match(v, "^(%d%d)%-(%d%d)%-(%d%d%d%d)$")
    if not d then return "must be a date as DD-MM-YYYY" end
    d, m, y = tonumber(d), tonumber(m), tonumber(y)
    local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
    local days = ({ 31, leap and 29 or 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 })[m]
    if not days or d < 1 or d > days or y < 1900 then return "must be a real date as DD-MM-YYYY" end
  end,
  -- Assumption: references are 4 to 40 letters, digits, '_' or '-' (every documented example fits).
  reference = function(v)
    if #v < 4 or #v > 40 or find(v, "[^%w_%-]") then
      return "must be 4 to 40 letters, digits, '_' or '-'"
    end
  end,
  otp = function(v)
    if not match(v, "^%d%d%d%d%d?%d?%d?%d?$") then return "must be 4 to 8 digits" end
  end,
  company_id = function(v)
    if not match(v, "^CEK[%u%d][%u%d][%u%d][%u%d][%u%d][%u%d][%u%d]$") then
      return "must be a company id (CEK and 7 letters or digits)"
    end
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

local check_fields

-- One field's value -> the value to send (amounts as JSON numbers or strings, lists as
-- arrays of ordered objects), or nil plus the reason.
local function check_value(f, v, label, row)
  if f.type == "amount" then
    local paise, why = money.paise(v)
    if not paise then return nil, why end
    local text = money.text(paise)
    if f.as == "string" then return text end
    return json.raw(text)
  elseif f.type == "list" then
    if type(v) ~= "table" or #v == 0 then return nil, "must be a non-empty list" end
    local items = {}
    for i, item in ipairs(v) do
      local obj, err = check_fields(row, f.item, item, nil, label .. "[" .. i .. "].")
      if not obj then return nil, nil, err end
      items[i] = obj
    end
    return json.array(items)
  end
  if type(v) ~= f.type then return nil, "must be a " .. f.type end
  if f.enum then
    for _, allowed in ipairs(f.enum) do
      if v == allowed then return v end
    end
    return nil, "must be one of " .. table.concat(f.enum, ", ")
  end
  local check = f.check and M.checks[f.check]
  local reason = check and check(v)
  if reason then return nil, reason end
  return v
end

-- name -> field of a fields list, built once per list (rows are data that does not change
-- after load; a list made afresh, e.g. by a route override, gets its own entry).
local known_of = setmetatable({}, { __mode = "k" })

check_fields = function(row, fields, params, cfg, prefix)
  if type(params) ~= "table" then
    return fail(row, prefix == "" and "parameters" or prefix:sub(1, -2), "must be a table")
  end
  local known = known_of[fields]
  if not known then
    known = {}
    for _, f in ipairs(fields) do known[f.name] = f end
    known_of[fields] = known
  end
  for name in pairs(params) do
    if not known[name] then
      local hint = type(name) == "string" and suggestion(name, fields)
      local label = type(name) == "string" and name or "?"
      return fail(row, prefix .. label, "is not a documented field of " .. row.name
        .. (hint and (' (did you mean "' .. hint .. '"?)') or ""))
    end
  end
  local out = {}
  for _, f in ipairs(fields) do
    local label = prefix .. f.name
    local v = params[f.name]
    if v == nil and f.default and cfg then v = cfg[f.default] end
    if v == nil then v = f.value end
    if v == nil then
      if f.required then
        local hint = f.default and (" (or set " .. f.default .. " in config)") or ""
        return fail(row, label, "is required" .. hint)
      end
    else
      local sent, reason, err = check_value(f, v, label, row)
      if err then return nil, err end
      if sent == nil then return fail(row, label, reason) end
      out[#out + 1] = { f.name, sent }
    end
  end
  return json.object(out)
end

--- Validate `params` for `row` and build the fields to send, in documented order.
-- Checks that params is a table, that no unknown field is present, fills documented fields
-- the caller left out from config (`default`) or a fixed value (`value`), checks every
-- required field, type, enum and named check, and converts amounts once to paise and back
-- to the documented form.
-- @tparam table row a catalogue row
-- @tparam table params the caller's parameters (not modified)
-- @tparam[opt] table cfg resolved config, for defaults such as companyId <- client_id
-- @treturn table|nil fields an ordered object (enkash.json) of {name, value} pairs
-- @treturn table|nil err a validation error naming the field
function M.params(row, params, cfg)
  return check_fields(row, row.fields or {}, params, cfg, "")
end

--- The value of `name` among built fields, as sent (amounts as decimal text).
-- @tparam table fields the result of `M.params`
-- @tparam string name
-- @return the value, or nil
function M.value(fields, name)
  for _, kv in ipairs(fields) do
    if kv[1] == name then
      local v = kv[2]
      if type(v) == "table" and v.text then return v.text end
      return v
    end
  end
end

M.luhn_ok = luhn_ok

return M
