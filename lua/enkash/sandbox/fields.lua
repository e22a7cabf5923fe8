--- The field checks the sandbox makes on every API call, from the catalogue row alone:
-- required fields present and non-empty (also `required_when`), strings as strings (or
-- numbers), enum values, references, amounts, lists of objects whose items pass the same
-- checks and lists of plain values. The first failing field answers, in row order,
-- as response_code 1 "<field> is required" / "<field> is invalid" / "<field> must ...".
-- Never stricter than the client's default: references, amounts and enums are judged by
-- enkash.validate's own default rules (an enum Enkash does not close, `validate.strict_only`,
-- is not checked; nor are the other formats, mobile, PAN, IFSC..., which are the client's).
-- @module enkash.sandbox.fields

local validate = require "enkash.validate"
local null = require("cjson").null

local type, ipairs, pairs, next, tostring = type, ipairs, pairs, next, tostring

local M = {}

-- Missing, null, "" and (for lists) [] all count as absent.
local function absent(f, v)
  return v == nil or v == null or v == "" or (f.type == "list" and type(v) == "table" and next(v) == nil)
end

-- `required`, or every condition of `required_when` holds of the body.
local function required(f, body)
  if f.required then return true end
  if not f.required_when then return false end
  for name, want in pairs(f.required_when) do
    if body[name] ~= want then return false end
  end
  return true
end

local function in_enum(enum, v)
  for _, e in ipairs(enum) do
    if e == v then return true end
  end
  return false
end

local check, value

local function list(f, v, label)
  if type(v) ~= "table" or v[1] == nil then return label .. " is invalid" end
  local scalar = f.item and f.item.type and f.item
  for i, item in ipairs(v) do
    local at = label .. "[" .. i .. "]"
    local msg
    if scalar then
      msg = value(scalar, item, at)
    elseif type(item) ~= "table" then
      msg = at .. " is invalid"
    else
      msg = check(f.item or {}, item, at .. ".")
    end
    if msg then return msg end
  end
end

-- One present value against its field; nil when fine, else the message.
value = function(f, v, label)
  if f.type == "amount" then
    if type(v) ~= "string" and type(v) ~= "number" then return label .. " is invalid" end
    local paise, why = validate.amount_paise(f, v)
    if not paise then return label .. " " .. why end
  elseif f.type == "list" then
    return list(f, v, label)
  else
    if type(v) ~= "string" and type(v) ~= "number" then return label .. " is invalid" end
    if f.enum and validate.enforced(validate.enum_rule(f.name)) and not in_enum(f.enum, v) then
      return label .. " is invalid"
    end
    -- the client's default rule (never its strict one): non-empty, no control characters, short
    if f.check == "reference" and validate.checks.reference(tostring(v)) then
      return label .. " is invalid"
    end
  end
  return nil
end

check = function(fields, body, prefix)
  for _, f in ipairs(fields) do
    local v, label = body[f.name], prefix .. f.name
    if absent(f, v) then
      if required(f, body) then return label .. " is required" end
    else
      local msg = value(f, v, label)
      if msg then return msg end
    end
  end
  return nil
end

--- Check a request body against a catalogue row's fields.
-- @tparam table row catalogue row
-- @tparam table body decoded JSON object or parsed query
-- @treturn string|nil the refusal message, nil when every field passes
function M.check(row, body)
  return check(row.fields or {}, body, "")
end

return M
