--- The field checks the sandbox makes on every API call, from the catalogue row alone:
-- required fields present and non-empty, strings as strings (or numbers), enum values,
-- references of letters, digits, '_' and '-', amounts that enkash.money accepts, lists of
-- objects whose items pass the same checks. The first failing field answers, in row order,
-- as response_code 1 "<field> is required" / "<field> is invalid" / "<field> must ...".
-- Format checks beyond these (mobile, PAN, IFSC...) are the client's: the sandbox does not
-- guess Enkash's exact rules for them.
-- @module enkash.sandbox.fields

local money = require "enkash.money"
local null = require("cjson").null

local type, ipairs, next, tostring, match = type, ipairs, next, tostring, string.match

local M = {}

-- Missing, null, "" and (for lists) [] all count as absent.
local function absent(f, v)
  return v == nil or v == null or v == "" or (f.type == "list" and type(v) == "table" and next(v) == nil)
end

local function in_enum(enum, v)
  for _, e in ipairs(enum) do
    if e == v then return true end
  end
  return false
end

local check

-- One present value against its field; nil when fine, else the message.
local function value(f, v, label)
  if f.type == "amount" then
    if type(v) ~= "string" and type(v) ~= "number" then return label .. " is invalid" end
    local paise, why = money.paise(v)
    if not paise then return label .. " " .. why end
  elseif f.type == "list" then
    if type(v) ~= "table" or v[1] == nil then return label .. " is invalid" end
    for i, item in ipairs(v) do
      if type(item) ~= "table" then return label .. " is invalid" end
      local msg = check(f.item or {}, item, label .. "[" .. i .. "].")
      if msg then return msg end
    end
  else
    if type(v) ~= "string" and type(v) ~= "number" then return label .. " is invalid" end
    if f.enum and not in_enum(f.enum, v) then return label .. " is invalid" end
    if f.check == "reference" and not match(tostring(v), "^[%w_%-]+$") then return label .. " is invalid" end
  end
  return nil
end

check = function(list, body, prefix)
  for _, f in ipairs(list) do
    local v, label = body[f.name], prefix .. f.name
    if absent(f, v) then
      if f.required then return label .. " is required" end
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
