--- Every option's value check, and the per-call options: a value that would raise in the C
-- core, loop, wait for ever or smuggle a header line in is refused with the option named, and
-- never quoted (it may be a secret). enkash.config runs these on whatever it resolved.
-- @module enkash.config.values

local catalogue = require "enkash.catalogue"
local errors = require "enkash.errors"
local redact = require "enkash.redact"

local type, pairs, tostring, pcall, select = type, pairs, tostring, pcall, select
local floor, huge = math.floor, math.huge
local find, sub = string.find, string.sub

local M = {}

local function bad(msg, field)
  return nil, errors.new("validation", "config: " .. msg, { field = field })
end

--- Bounds of the options' values (the README's Options section states them).
M.limits = {
  -- Any duration, in seconds: a week. libcurl takes milliseconds in a long and nginx's
  -- cosockets in 32 bits; nothing the SDK waits for should take longer.
  seconds = 7 * 24 * 3600,
  retries = 10,   -- retries of one call: with the 5 s backoff cap, about a minute of trying
  max_sends = 10, -- sends of one money call in all
  max_response_bytes = 1024 * 1024 * 1024, -- 1 GiB: the body is one Lua string
  text = 4096,    -- bytes of any string option: well under a server's header size limit
}
local LIM = M.limits

--- A name from the caller (an unknown key) as it may appear in a message: short, and masked
-- like any other text (a mobile number used as a key is still a mobile number).
-- @param name
-- @treturn string
function M.shown(name)
  return redact.text(sub(tostring(name), 1, 64))
end
local shown = M.shown

--- Lua patterns given in config must compile: a bad one would raise in the middle of
-- reconciliation, after a money call was sent. An empty one would match every message.
-- @param p
-- @treturn boolean
function M.pattern_ok(p)
  return type(p) == "string" and p ~= "" and #p <= LIM.text and not find(p, "%c") and (pcall(find, "", p))
end
local pattern_ok = M.pattern_ok
-- Every option's value is checked here, whatever its source (enkash.new or an ENKASH_*
-- variable), before anything uses it: a value that would raise in the C core, loop, wait for
-- ever or smuggle a header line in is refused with the option named, and never quoted (it
-- may be a secret).


local function finite(v) return type(v) == "number" and v == v and v ~= huge and v ~= -huge end

local function duration(v)
  return finite(v) and v >= 0 and v <= LIM.seconds, "a number of seconds from 0 to " .. LIM.seconds
end

local function positive_duration(v)
  return finite(v) and v > 0 and v <= LIM.seconds, "a number of seconds > 0 and at most " .. LIM.seconds
end

local function whole(lo, hi)
  return function(v)
    return finite(v) and v == floor(v) and v >= lo and v <= hi, "a whole number from " .. lo .. " to " .. hi
  end
end

local function fraction(v)
  return finite(v) and v >= 0 and v < 1, "a number >= 0 and < 1"
end

-- A string of 1 to LIM.text bytes none of which matches `refused` (a pattern class).
local function text(refused, what)
  local why = what .. ", 1 to " .. LIM.text .. " bytes"
  return function(v)
    return type(v) == "string" and v ~= "" and #v <= LIM.text and not (refused and find(v, refused)), why
  end
end
-- "%c": every control character, CR, LF and NUL among them.
local line = text("%c", "a string without control characters")
local header = text("[^\32-\126]", "printable ASCII")            -- a header value: spaces allowed
local word = text("[^\33-\126]", "printable ASCII without spaces") -- ids, URLs, names
-- Secrets are never in a header or a URL as they are (Base64 in Basic auth, form-encoded in the
-- token request, hashed into the payload key): any bytes.
local secret = text(nil, "a non-empty string")

-- The client id is the user-id of HTTP Basic auth, where a colon ends it (RFC 7617).
local function client_id(v)
  local ok, why = word(v)
  return ok and not find(v, ":", 1, true), why .. ", without a colon"
end

local function pattern(v) return pattern_ok(v), "a valid Lua pattern without control characters" end

-- A set of words: {WORD = true, ...}.
local function word_keys(v)
  if type(v) ~= "table" then return false end
  for k, on in pairs(v) do
    if type(k) ~= "string" or k == "" or type(on) ~= "boolean" then return false end
  end
  return true
end
local function word_set_of(v) return word_keys(v), "a set of words: {WORD = true, ...}" end

local route_methods = { GET = true, POST = true, PUT = true, PATCH = true, DELETE = true }
local route_checks = {
  method = function(v) return route_methods[v] == true, "GET, POST, PUT, PATCH or DELETE" end,
  -- URL path characters only (RFC 3986 pchar and "/"): no query, fragment, space or control.
  path = function(v)
    return type(v) == "string" and #v <= LIM.text and find(v, "^/[%w%-%._~!%$&'%(%)%*%+,;=:@/%%]*$") ~= nil,
      "a URL path starting with /"
  end,
  host = function(v) return v == "api" or v == "auth", '"api" or "auth"' end,
  encrypted = function(v) return type(v) == "boolean", "true or false" end,
}

-- Is `key` a routes key catalogue.resolve would apply: a row name, or a method name that
-- occurs in one group only?
local function route_key(key)
  if type(key) ~= "string" then return false end
  if catalogue.by_name[key] then return true end
  local n = 0
  for _, row in ipairs(catalogue.rows) do
    if select(2, catalogue.split(row.name)) == key then n = n + 1 end
  end
  return n == 1
end

local function check_routes(routes)
  for key, over in pairs(routes) do
    if not route_key(key) then return false, "routes: unknown endpoint " .. shown(key) end
    if type(over) ~= "table" then return false, "routes." .. key .. " must be a table" end
    for k, v in pairs(over) do
      local check = route_checks[k]
      if not check then
        return false, "routes." .. key .. ": unknown field " .. shown(k) .. " (method, path, host, encrypted)"
      end
      local ok, why = check(v)
      if not ok then return false, "routes." .. key .. "." .. k .. " must be " .. why end
    end
  end
  return true
end

-- The interface every transport implements (README, option `transport`): request, sleep, close.
local transport_names = { curl = true, sandbox = true, ngx = true }
local function transport(v)
  local why = '"curl", "sandbox", "ngx" or a table with request, sleep and close functions'
  if type(v) == "string" then return transport_names[v] == true, why end
  return type(v) == "table" and type(v.request) == "function" and type(v.sleep) == "function"
    and type(v.close) == "function", why
end

local function sandbox(v)
  return type(v) == "table" and type(v.handle) == "function", "a sandbox (enkash.sandbox.new)"
end

local function sandbox_opts(v)
  if type(v) ~= "table" then return false, "a table" end
  local ok, why = require("enkash.sandbox.options").check_all(v, true)
  return ok == true, "sandbox options (" .. tostring(why) .. ")"
end

-- The value check of each option whose type alone does not say enough. Booleans and
-- functions are checked by type; status_words and error_patterns by their own functions.
local checks = {
  env = word, base_url = word, auth_url = word, proxy = word, partner_id = word,
  client_id = client_id, client_secret = secret, password = secret, username = line,
  card_account_id = word, ca_file = line, user_agent = header, ngx_shared_dict = word,
  kyc_field = line, log_level = word,
  timeout = positive_duration, connect_timeout = positive_duration, deadline = positive_duration,
  retry_base = duration, retry_cap = duration, retry_after_max = duration,
  reconcile_delay = duration, pending_interval = duration, pending_wait = duration,
  token_refresh_min = duration, token_refresh_max = duration, token_refresh_fraction = fraction,
  retries = whole(0, LIM.retries), max_sends = whole(1, LIM.max_sends),
  max_response_bytes = whole(1, LIM.max_response_bytes),
  not_found_pattern = pattern, duplicate_pattern = pattern,
  status_failed = word_set_of, device_failed_statuses = word_set_of,
  routes = check_routes, transport = transport, sandbox = sandbox, sandbox_opts = sandbox_opts,
}

--- Check every value given.
-- @tparam table cfg the options as given (and read from the environment)
-- @tparam table source option -> the ENKASH_* variable it came from
-- @treturn true|nil
-- @treturn[opt] table err a validation error naming the option
function M.check_values(cfg, source)
  for k, v in pairs(cfg) do
    local check = checks[k]
    if check then
      local ok, why = check(v)
      if not ok then
        -- routes explains itself; the others are "<key> must be <what>"
        local msg = k == "routes" and why or (k .. " must be " .. why)
        return bad(msg .. (source[k] and (" (from " .. source[k] .. ")") or ""), k)
      end
    end
  end
  return true
end

-- Per-call options of client:call(name, params, opts), and what each must be.
local call_checks = {
  timeout = positive_duration, deadline = positive_duration, retries = whole(0, LIM.retries),
  lookup_first = function(v) return type(v) == "boolean", "true or false" end,
}
--- The names of the per-call options (`M.call_options` checks their values).
M.call_option_names = {}
for k in pairs(call_checks) do M.call_option_names[#M.call_option_names + 1] = k end
table.sort(M.call_option_names)

--- Check the per-call options of `client:call(name, params, opts)` before anything is sent.
-- @param opts nil or a table: timeout, deadline (seconds), retries, lookup_first
-- @treturn table|nil a fresh copy of the options (the call may add to it)
-- @treturn table|nil err kind validation, `err.field` naming the option
function M.call_options(opts)
  local o = {}
  if opts == nil then return o end
  if type(opts) ~= "table" then
    return nil, errors.new("validation", "options must be a table or nil", { field = "opts" })
  end
  for k, v in pairs(opts) do
    local check = call_checks[k]
    if not check then
      local name = shown(k)
      return nil, errors.new("validation", "options: unknown option " .. name
        .. " (timeout, deadline, retries, lookup_first)", { field = name })
    end
    local ok, why = check(v)
    if not ok then
      return nil, errors.new("validation", "options: " .. k .. " must be " .. why, { field = k })
    end
    o[k] = v
  end
  return o
end

return M
