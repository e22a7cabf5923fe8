--- Sandbox options: their checks, for `sandbox.new` and the control call `config`.
-- `M.config` lists the options `config` may change at run time; `M.new_only` the ones only
-- `sandbox.new` takes (credentials, the clock, the webhook sender and the control switch:
-- the HTTP control API cannot switch itself on).
-- @module enkash.sandbox.options

local dialect = require "enkash.sandbox.dialect"
local url_policy = require "enkash.url_policy"

local type, pairs, tostring, floor = type, pairs, tostring, math.floor
local match = string.match

local M = {}

local function is_number(v) return type(v) == "number" and v == v and v ~= math.huge end
local function is_paise(v) return is_number(v) and v >= 0 and floor(v) == v end
local function step(v) return v == false or (is_number(v) and v > 0), "seconds > 0, or false" end

--- The KYC levels the sandbox knows, and the limit names of each.
M.KYC_LEVELS = { MIN_KYC = true, FULL_KYC = true }
M.LIMIT_NAMES = { monthly_load = true, max_balance = true }

local function check_limits(v)
  local why = "a table {MIN_KYC = {monthly_load =, max_balance =}, FULL_KYC = {...}} in paise"
  if type(v) ~= "table" then return false, why end
  for level, l in pairs(v) do
    if not M.KYC_LEVELS[level] or type(l) ~= "table" then return false, why end
    for name, n in pairs(l) do
      if not M.LIMIT_NAMES[name] or not is_paise(n) then return false, why end
    end
  end
  return true
end

local function check_accounts(v)
  local why = "a table cardAccountId -> balance in paise (a whole number >= 0)"
  if type(v) ~= "table" then return false, why end
  for id, n in pairs(v) do
    if type(id) ~= "string" or id == "" or match(id, "[^%w_%-]") or not is_paise(n) then
      return false, why
    end
  end
  return true
end

--- Options `config` may change: name -> fn(v) -> ok, what a valid value is.
M.config = {
  token_ttl = function(v) return is_number(v) and v > 0, "a number of seconds > 0" end,
  bind_delay = function(v) return v == false or (is_number(v) and v >= 0), "seconds >= 0, or false" end,
  bound_status = function(v) return type(v) == "string" and v ~= "", "a non-empty string" end,
  token_style = function(v) return v == "snake" or v == "camel", '"snake" or "camel"' end,
  encryption = function(v) return v == "auto" or v == "required", '"auto" or "required"' end,
  lockout_after = function(v) return is_number(v) and v >= 1, "a number >= 1" end,
  accounts = check_accounts,
  limits = check_limits,
  otp_code = function(v) return type(v) == "string" and match(v, "^%d%d%d%d%d?%d?%d?%d?$") ~= nil,
    "a string of 4 to 8 digits" end,
  otp_ttl = function(v) return is_number(v) and v > 0, "a number of seconds > 0" end,
  settlement_step = step,
  tnc_accept_delay = step, -- seconds after creation until a wallet's T&C counts as accepted
  vkyc_step = step,
  -- enkash.url_policy, on libcurl's parse: the notification is signed with a secret, so the
  -- rules of base_url hold (no user:password, printable ASCII, plain http only to loopback).
  webhook_url = function(v)
    return v == false or v == "" or url_policy.check(v) ~= nil,
      "an http(s) URL without user or password (plain http only to loopback), or false for none"
  end,
  webhook_secret = function(v) return type(v) == "string" and v ~= "", "a non-empty string" end,
  dialect = dialect.check, -- the response shapes (enkash.sandbox.dialect); kept resolved in opts
}

local function nonempty(v) return type(v) == "string" and v ~= "", "a non-empty string" end
local function fn(v) return type(v) == "function", "a function" end

--- Options only `sandbox.new` takes.
M.new_only = {
  partner_id = nonempty, client_id = nonempty, client_secret = nonempty,
  users = function(v) return type(v) == "table", "a table username -> password" end,
  clock = fn,
  sender = fn,
  control = function(v) return type(v) == "boolean", "true or false" end,
}

--- Check one option value.
-- @tparam string name option name
-- @param v value
-- @tparam[opt] boolean at_new true when checking `sandbox.new` options (allows `new_only`)
-- @treturn boolean|nil true when valid
-- @treturn[opt] string error message
function M.check(name, v, at_new)
  local check = M.config[name] or (at_new and M.new_only[name])
  if not check then
    return nil, (at_new and "unknown sandbox option: " or "unknown option: ") .. tostring(name)
  end
  local ok, why = check(v)
  if not ok then return nil, name .. " must be " .. why end
  return true
end

--- Check every option of a table; nothing is applied.
-- @tparam table opts
-- @tparam[opt] boolean at_new
-- @treturn boolean|nil true when all are valid
-- @treturn[opt] string the first error
function M.check_all(opts, at_new)
  for k, v in pairs(opts) do
    local ok, err = M.check(k, v, at_new)
    if not ok then return nil, err end
  end
  return true
end

--- Limits `given` laid over `base`, as a fresh table (levels and names missing from `given`
-- keep their `base` value).
-- @tparam table base {MIN_KYC = {...}, FULL_KYC = {...}}
-- @tparam[opt] table given a partial table of the same shape
-- @treturn table
function M.merge_limits(base, given)
  local out = {}
  for level, l in pairs(base) do
    out[level] = {}
    for k, n in pairs(l) do out[level][k] = n end
    for k, n in pairs(given and given[level] or {}) do out[level][k] = n end
  end
  return out
end

return M
