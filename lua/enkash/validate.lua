--- Validation of request parameters against a catalogue row, before any I/O.
-- Each failure is a `validation` error naming the field at fault. Messages never echo the
-- value itself: it may be a mobile number, an IMEI or another piece of PII.
--
-- Never stricter than Enkash where Enkash is silent: every check is either stated by Enkash
-- somewhere (`M.stated`, on by default) or listed in `M.strict_only` with the reason it is
-- not, and then runs only with config `strict = true`. Every request example the portal
-- shows passes with the default config (spec/examples_verbatim_spec.lua).
-- @module enkash.validate

local errors = require "enkash.errors"
local json = require "enkash.json"
local money = require "enkash.money"
local redact = require "enkash.redact"

local type, pairs, ipairs, next, tonumber, setmetatable = type, pairs, ipairs, next, tonumber,
  setmetatable
local byte, find, match, sub, gmatch = string.byte, string.find, string.match, string.sub, string.gmatch
local concat, sort = table.concat, table.sort
local min = math.min
local object = json.object

local M = {}

--- Checks Enkash does not state: rule name -> why it is not on by default. They run only
-- with config `strict = true`. A rule is a whole named check (`ip`), a part of one (`luhn`
-- of `imei`), `blank` (an optional string that is empty) or `enum:<field>` (a list of values
-- the portal shows but does not close). Sources: docs/enkash-api.md.
M.strict_only = {
  luhn = "the IMEI check digit: deviceImei is documented only by example, and the portal's "
    .. "own example (356789123456789) fails Luhn; Android 10+ and iOS apps cannot read an "
    .. "IMEI at all, so partners send what they have (docs/enkash-api.md §4.2)",
  ip = "deviceIp is documented only by the example 192.168.1.10; no format is stated",
  platform = "platform is documented only by the example \"android\"; no list of values is stated",
  email_length = "the stated email pattern (Create Prepaid Card, https://docs.enkash.com/api-13438387) "
    .. "has no length limit; 254 bytes is RFC 5321's",
  pan = "docNo is shown only as CPNPN9971R in the V2 Create Wallet example; no format is stated",
  ifsc = "the beneficiary body is not documented at all (transfers.add_beneficiary is assumed); "
    .. "no IFSC format is stated",
  account = "9 to 18 digits is our assumption; the beneficiary body is not documented",
  pincode = "pincode is \"The postal code of the user's address\" (V1 Create Wallet table); "
    .. "no format is stated",
  date_ddmmyyyy = "specialDate is documented only by the example 02-09-2001: neither the "
    .. "DD-MM-YYYY format nor a calendar check is stated",
  reference_format = "4 to 40 letters, digits, '_' or '-' is our assumption (every documented "
    .. "example fits); Enkash states no format for its references",
  otp = "the OTP is shown only as 123456; no length or alphabet is stated",
  blank = "an empty optional string: Enkash says nothing about empty values of optional fields",
  ["enum:gender"] = "\"(e.g., M for male, F for female)\" (V1 Create Wallet) gives examples, "
    .. "not a closed list",
  ["enum:docType"] = "PAN is the only value seen (V2 Create Wallet example); no list is stated",
  ["enum:cardOtpAction"] = "TRANSACTION_OTP is the only value seen (Generate Transaction OTP); "
    .. "no list is stated",
}

--- The checks that run by default: rule name -> the Enkash statement it rests on, or, where
-- marked "ours", why the client keeps it on. Documentation data: the checks themselves run
-- unless their rule is in `M.strict_only`.
M.stated = {
  required = "fields marked required on the portal's tables or shown in every example",
  required_when = "otp and otpReferenceId with otpMedium MOBILE (merchant debit example, "
    .. "https://docs.enkash.com/api-20879440); mfaCode with MFA (card pages, "
    .. "https://docs.enkash.com/api-13438389, https://docs.enkash.com/api-13438390)",
  types = "JSON types as the examples and tables write them: strings, numbers for amount, a "
    .. "string for amountToLoad, arrays for documents and the search lists",
  amount = "exact decimals > 0 with at most 2 decimals: amount \">= 0.01\" (Load Card Balance, "
    .. "https://docs.enkash.com/api-13438388); never rounded. Search bounds (amountFrom, "
    .. "amountTo) may be 0, as in their example (https://docs.enkash.com/api-13551023)",
  nonempty = "a required field left blank is a missing one",
  mobile = "^\\d{10}$, \"10-digit\" (Create Prepaid Card, https://docs.enkash.com/api-13438387)",
  email = "^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$ (Create Prepaid Card, "
    .. "https://docs.enkash.com/api-13438387)",
  company_id = "^CEK[A-Z0-9]{7}$ (Payouts, https://docs.enkash.com/api-10664805)",
  imei = "15 digits: what an IMEI is (3GPP TS 23.003), and the portal's example has 15; kept "
    .. "on by the issue's decision (the check digit is strict-only)",
  ["enum:transactionType"] = "CR only: \"As it is update balance request type should be CR ... "
    .. "DR (Debit) is not allowed\" (Load Card Balance, https://docs.enkash.com/api-13438388)",
  ["enum:otpMedium"] = "MOBILE and MFA (card pages, https://docs.enkash.com/api-13438389)",
  reference = "ours: a reference is a non-empty string without control characters of at most "
    .. "100 bytes. It is the key a money call is reconciled by (sent again in a status query, "
    .. "logged): a control character cannot be meant, and 100 bytes is 5 times the longest "
    .. "documented one (20) while a longer value is almost surely a wrong one",
  unknown = "ours: a field the catalogue does not know is refused with the documented spelling "
    .. "suggested (manufacturer -> manufracture); Enkash would drop a misspelt field silently",
}

--- Does `rule` run? A rule of `M.strict_only` only when `strict`, any other always.
-- @tparam string rule a rule name (`"luhn"`, `"ip"`, `"enum:gender"`)
-- @tparam[opt] boolean strict config `strict`
-- @treturn boolean
function M.enforced(rule, strict)
  return strict == true or M.strict_only[rule] == nil
end
local enforced = M.enforced

--- The rule name of an enum field's list of values (`"enum:gender"`).
-- @tparam string name the field's name
-- @treturn string
function M.enum_rule(name)
  return "enum:" .. name
end

--- Bytes a reference may have by default (see `M.stated.reference`).
M.REFERENCE_MAX = 100

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

local function blank(v)
  return not find(v, "%S")
end

local IMEI = "^" .. ("%d"):rep(15) .. "$"

--- Named checks used by catalogue rows (`check = "mobile"`), called as `check(v, strict)`.
-- Each returns nil when the value is fine, or the reason it is not. A check whose name is in
-- `M.strict_only` is skipped unless strict; a check with a strict-only part consults its rule.
M.checks = {
  nonempty = function(v, strict)
    if enforced("blank", strict) and blank(v) then return "must not be empty" end
  end,
  mobile = function(v)
    if not match(v, "^%d%d%d%d%d%d%d%d%d%d$") then return "must be a 10-digit mobile number" end
  end,
  ip = function(v)
    if not (ipv4_ok(v) or ipv6_ok(v)) then return "must be an IPv4 or IPv6 address" end
  end,
  imei = function(v, strict)
    if not match(v, IMEI) then return "must be a 15-digit IMEI" end
    if enforced("luhn", strict) and not luhn_ok(v) then return "has an invalid IMEI check digit (Luhn)" end
  end,
  platform = function(v)
    if v ~= "android" and v ~= "ios" then return 'must be "android" or "ios"' end
  end,
  email = function(v, strict)
    if not match(v, "^[%w._%%+%-]+@[%w.%-]+%.%a%a+$") then return "must be an email address" end
    if enforced("email_length", strict) and #v > 254 then return "must be at most 254 bytes" end
  end,
  pan = function(v)
    if not match(v, "^%u%u%u%u%u%d%d%d%d%u$") then return "must be a PAN (AAAAA9999A)" end
  end,
  ifsc = function(v)
    if not match(v, "^%u%u%u%u0[%u%d][%u%d][%u%d][%u%d][%u%d][%u%d]$") then
      return "must be an IFSC code (AAAA0XXXXXX)"
    end
  end,
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
  reference = function(v, strict)
    if v == "" then return "must not be empty" end
    if find(v, "%c") then return "must not contain control characters" end
    if #v > M.REFERENCE_MAX then return "must be at most " .. M.REFERENCE_MAX .. " bytes" end
    if enforced("reference_format", strict) and (#v < 4 or #v > 40 or find(v, "[^%w_%-]")) then
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

-- Is an amount exactly zero ("0", "0.0", "0.00" or the number 0)?
local function is_zero(v)
  if v == 0 then return true end
  return type(v) == "string" and match(v, "^0%.?0?0?$") ~= nil and not match(v, "%.$")
end

--- An amount field's value in integer paise: > 0 with at most 2 decimals, or also 0 for a
-- field marked `zero` (a search bound, not a movement of money).
-- @tparam table f the field
-- @param v the caller's value
-- @treturn number|nil paise
-- @treturn[opt] string why the amount is refused
function M.amount_paise(f, v)
  if f.zero and is_zero(v) then return 0 end
  return money.paise(v)
end

-- The text an amount goes out as: the caller's own text when it is already a plain JSON
-- number ("20.00" stays 20.00, as the portal writes it), else the canonical form (a Lua
-- number cannot keep its text: 20.5 -> 20.50). The caller's text has passed money.paise:
-- digits, at most one '.', at most 2 decimals; only a leading zero could make it bad JSON.
local function amount_text(v, paise)
  if type(v) == "string" and (match(v, "^[1-9]") or match(v, "^0%.")) then return v end
  return money.text(paise)
end

local function in_list(list, v)
  for _, allowed in ipairs(list) do
    if v == allowed then return true end
  end
  return false
end

local function is_sequence(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

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

local function failure(row, field, reason)
  return errors.new("validation", field .. " " .. reason, { field = field, endpoint = row.name })
end

local function fail(row, field, reason)
  return nil, failure(row, field, reason)
end

local check_fields, check_value

local function amount_value(f, v)
  local paise, why = M.amount_paise(f, v)
  if not paise then return nil, why end
  local text = amount_text(v, paise)
  if f.as == "string" then return text end
  return json.raw(text)
end

-- A list: of objects (`item` is a fields list) or of plain values (`item` is one field,
-- `{type = "string", ...}`). Empty only when optional and not strict.
local function list_value(f, v, label, row, required, strict)
  if type(v) ~= "table" or not is_sequence(v) then return nil, "must be a list" end
  if next(v) == nil and (required or enforced("blank", strict)) then
    return nil, "must be a non-empty list"
  end
  local items, item_field = {}, f.item.type and f.item
  for i, item in ipairs(v) do
    local at = label .. "[" .. i .. "]"
    local sent, why, err
    if item_field then
      sent, why, err = check_value(item_field, item, at, row, false, strict)
      if sent == nil then return nil, nil, err or failure(row, at, why) end
    else
      sent, err = check_fields(row, f.item, item, nil, at .. ".", strict)
      if not sent then return nil, nil, err end
    end
    items[i] = sent
  end
  return json.array(items)
end

-- One field's value -> the value to send (amounts as JSON numbers or strings, lists as
-- arrays), or nil plus the reason, or nil, nil and the error of a list item.
check_value = function(f, v, label, row, required, strict)
  if f.type == "amount" then return amount_value(f, v) end
  if f.type == "list" then return list_value(f, v, label, row, required, strict) end
  if type(v) ~= f.type then return nil, "must be a " .. f.type end
  if f.enum and enforced(M.enum_rule(f.name), strict) and not in_list(f.enum, v) then
    return nil, "must be one of " .. concat(f.enum, ", ")
  end
  local check = f.check and M.checks[f.check]
  if check and enforced(f.check, strict) then
    local reason = check(v, strict)
    if reason then return nil, reason end
  end
  -- after the named check, whose reason says more ("must be a 10-digit mobile number")
  if required and blank(v) then return nil, "must not be empty" end
  return v
end

-- The value a field goes out with: the caller's, else config's (`default`), else `value`.
local function fill(f, params, cfg)
  local v = params[f.name]
  if v == nil and f.default and cfg then v = cfg[f.default] end
  if v == nil then v = f.value end
  return v
end

-- Is `f` required for these params: `required`, or every condition of `required_when`
-- ({otpMedium = "MOBILE"}) holds of the values the call goes out with? Returns the
-- condition's text for the message.
local function required_of(f, params, cfg, known)
  if f.required then return true, "" end
  local when = f.required_when
  if not when then return false end
  local names = {}
  for name in pairs(when) do names[#names + 1] = name end
  sort(names)
  local parts = {}
  for i, name in ipairs(names) do
    local v = fill(known[name] or { name = name }, params, cfg)
    if v ~= when[name] then return false end
    parts[i] = name .. " is " .. when[name]
  end
  return true, " when " .. concat(parts, " and ")
end

local function unknown_field(row, fields, params, known, prefix)
  for name in pairs(params) do
    if not known[name] then
      -- the caller's key, shown masked like any text (a mobile number used as a key is PII)
      local hint = type(name) == "string" and #name <= 64 and suggestion(name, fields)
      local label = redact.label(name)
      return failure(row, prefix .. label, "is not a documented field of " .. row.name
        .. (hint and (' (did you mean "' .. hint .. '"?)') or ""))
    end
  end
end

-- ---- Compiled fields lists ----
-- Validation runs on every call, so each fields list is compiled once (per strictness) into
-- one closure per field that does only what that field needs: which checks run is decided
-- here, not per call. Rows are data that does not change after load, and `M.checks` and
-- `M.strict_only` are read here, once per list. A step is
-- `step(params, cfg, out, n, row, prefix, known)` -> the new count of `out`, or nil and the
-- error; labels (`prefix .. name`) are only made for an error.

-- The general step: every rule of a field, as written out in `check_value` (amounts, lists,
-- `required_when`).
local function general_step(f)
  local name, default = f.name, f.default
  local hint = default and (" (or set " .. default .. " in config)") or ""
  return function(params, cfg, out, n, row, prefix, known, strict)
    local v = fill(f, params, cfg)
    local required, condition = required_of(f, params, cfg, known)
    if v == nil then
      if required then return fail(row, prefix .. name, "is required" .. condition .. hint) end
      return n
    end
    local sent, reason, err = check_value(f, v, prefix .. name, row, required, strict)
    if err then return nil, err end
    if sent == nil then return fail(row, prefix .. name, reason) end
    n = n + 1
    out[n] = { name, sent }
    return n
  end
end

-- A plain field (a string, most of them): the same rules in the same order as
-- `check_value`, with the enum and the named check resolved now.
local function plain_step(f, strict)
  local name, ftype, default, value, required = f.name, f.type, f.default, f.value, not not f.required
  local hint = default and (" (or set " .. default .. " in config)") or ""
  local enum = f.enum and enforced(M.enum_rule(name), strict) and f.enum or nil
  local enum_text = enum and ("must be one of " .. concat(enum, ", "))
  local check = f.check and enforced(f.check, strict) and M.checks[f.check] or nil
  -- the default nonempty check is only the strict-only `blank` rule: nothing to run without it
  if check == M.checks.nonempty and not enforced("blank", strict) then check = nil end
  return function(params, cfg, out, n, row, prefix)
    local v = params[name]
    if v == nil and default and cfg then v = cfg[default] end
    if v == nil then v = value end
    if v == nil then
      if required then return fail(row, prefix .. name, "is required" .. hint) end
      return n
    end
    if type(v) ~= ftype then return fail(row, prefix .. name, "must be a " .. ftype) end
    if enum and not in_list(enum, v) then return fail(row, prefix .. name, enum_text) end
    if check then
      local reason = check(v, strict)
      if reason then return fail(row, prefix .. name, reason) end
    end
    if required and not find(v, "%S") then return fail(row, prefix .. name, "must not be empty") end
    n = n + 1
    out[n] = { name, v }
    return n
  end
end

-- The plan of core.fields_fast (csrc/fast_fields.c): the same steps as data it can run in
-- one C call. A plain string step is {name, flags, default, value, enum, check, nil, digits};
-- any other step is {name, GENERAL, nil, nil, nil, nil, step} and C calls the Lua step.
local REQUIRED, DEFAULT, VALUE, ENUM, CHECK, GENERAL, DIGITS = 1, 2, 4, 8, 16, 32, 64

-- Checks of this module that are only "n ASCII digits" (imei: when not strict, without its
-- Luhn part): C runs those itself. Compared by identity: a check replaced in `M.checks` is
-- called as it is.
local digits_only = { [M.checks.mobile] = function() return 10 end,
  [M.checks.imei] = function(strict) return not enforced("luhn", strict) and 15 or nil end }

local function plan_step(f, strict, step)
  if f.type ~= "string" or f.required_when ~= nil then
    return { f.name, GENERAL, nil, nil, nil, nil, step }
  end
  local enum = f.enum and enforced(M.enum_rule(f.name), strict) and f.enum or nil
  local check = f.check and enforced(f.check, strict) and M.checks[f.check] or nil
  if check == M.checks.nonempty and not enforced("blank", strict) then check = nil end
  local digits = check and digits_only[check] and digits_only[check](strict)
  if digits then check = nil end
  local flags = (f.required and REQUIRED or 0) + (f.default and DEFAULT or 0)
    + (f.value ~= nil and VALUE or 0) + (enum and ENUM or 0) + (check and CHECK or 0)
    + (digits and DIGITS or 0)
  return { f.name, flags, f.default, f.value, enum, check, nil, digits }
end

local OBJECT = getmetatable(json.object({}))

local function compile(fields, strict)
  local known, steps, plan = {}, {}, {}
  for i, f in ipairs(fields) do
    known[f.name] = f
    local general = f.type == "amount" or f.type == "list" or f.required_when ~= nil
    steps[i] = general and general_step(f) or plain_step(f, strict)
    plan[i] = plan_step(f, strict, steps[i])
  end
  plan.known, plan.object = known, OBJECT
  return { known = known, steps = steps, n = #steps, plan = plan }
end

-- One C call for a whole fields list when the core has it; it answers nil for anything but
-- success, and the steps below then run and name the fault.
local fields_fast
do
  local ok, core = pcall(require, "enkash.core")
  fields_fast = ok and type(core) == "table" and core.fields_fast or nil
end

-- fields list -> {[strict] = compiled}; weak keys: a list made afresh (a route override's
-- copy shares its row's list; a spec's own row does not) goes with it.
local compiled = setmetatable({}, { __mode = "k" })

local function compiled_of(fields, strict)
  local by_strict = compiled[fields]
  if not by_strict then
    by_strict = {}
    compiled[fields] = by_strict
  end
  local c = by_strict[strict]
  if not c then
    c = compile(fields, strict)
    by_strict[strict] = c
  end
  return c
end

check_fields = function(row, fields, params, cfg, prefix, strict)
  local c = compiled_of(fields, strict)
  if fields_fast then -- (nil for params that are no table, among others)
    local out = fields_fast(c.plan, params, cfg, row, strict)
    if out then return out end
  end
  if type(params) ~= "table" then
    return fail(row, prefix == "" and "parameters" or prefix:sub(1, -2), "must be a table")
  end
  local known = c.known
  for name in pairs(params) do
    if not known[name] then return nil, unknown_field(row, fields, params, known, prefix) end
  end
  -- sized for 16 fields at once: growing a table's array one power of two at a time costs
  -- more than the whole table
  local out, n = { nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil }, 0
  local steps = c.steps
  for i = 1, c.n do
    local err
    n, err = steps[i](params, cfg, out, n, row, prefix, known, strict)
    if not n then return nil, err end
  end
  return object(out)
end

local NO_FIELDS = {}

--- Validate `params` for `row` and build the fields to send, in documented order.
-- Checks that params is a table, that no unknown field is present, fills documented fields
-- the caller left out from config (`default`) or a fixed value (`value`), checks every
-- required field (and `required_when`), type, enum and named check, and converts amounts
-- once to paise and back to the documented form. The checks of `M.strict_only` run only
-- with `cfg.strict == true`.
-- @tparam table row a catalogue row
-- @tparam table params the caller's parameters (not modified)
-- @tparam[opt] table cfg resolved config, for defaults such as companyId <- client_id, and
-- `strict`
-- @treturn table|nil fields an ordered object (enkash.json) of {name, value} pairs
-- @treturn table|nil err a validation error naming the field
function M.params(row, params, cfg)
  return check_fields(row, row.fields or NO_FIELDS, params, cfg, "", cfg ~= nil and cfg.strict == true)
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
