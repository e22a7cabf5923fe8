--- Client configuration: defaults, ENKASH_* environment variables, environment hosts.
-- Fields left out of `enkash.new{...}` are read from the environment variables named in
-- `M.env_vars`; hosts come from the chosen `env` (see enkash.assumptions).
-- @module enkash.config

local assumptions = require "enkash.assumptions"
local catalogue = require "enkash.catalogue"
local defaults = require "enkash.defaults"
local errors = require "enkash.errors"
local url_policy = require "enkash.url_policy"
local redact = require "enkash.redact"

local type, pairs, tonumber, tostring, pcall = type, pairs, tonumber, tostring, pcall
local floor, huge = math.floor, math.huge
local find, sub = string.find, string.sub
local getenv = os.getenv

local M = {}

--- Config keys that may come from the environment, and their variable names.
M.env_vars = {
  env = "ENKASH_ENV", base_url = "ENKASH_BASE_URL", auth_url = "ENKASH_AUTH_URL",
  partner_id = "ENKASH_PARTNER_ID", client_id = "ENKASH_CLIENT_ID",
  client_secret = "ENKASH_CLIENT_SECRET", username = "ENKASH_USERNAME",
  password = "ENKASH_PASSWORD", encryption = "ENKASH_ENCRYPTION",
  timeout = "ENKASH_TIMEOUT", connect_timeout = "ENKASH_CONNECT_TIMEOUT",
  ca_file = "ENKASH_CA_FILE", proxy = "ENKASH_PROXY", card_account_id = "ENKASH_CARD_ACCOUNT_ID",
  strict = "ENKASH_STRICT",
}

local credential_keys = { "partner_id", "client_id", "client_secret", "username", "password" }

-- Type of every accepted key; anything else is a misspelt option and is refused.
local types = {
  env = "string", base_url = "string", auth_url = "string", partner_id = "string",
  client_id = "string", client_secret = "string", username = "string", password = "string",
  encryption = "any", timeout = "number", connect_timeout = "number", ca_file = "string",
  proxy = "string", logger = "function", transport = "any", routes = "table", verify = "boolean",
  max_response_bytes = "number", token_refresh_fraction = "number", token_refresh_min = "number",
  token_refresh_max = "number", device_failed_statuses = "table", getenv = "function",
  sandbox = "table", sandbox_opts = "table", user_agent = "string", card_account_id = "string",
  retries = "number", retry_base = "number", retry_cap = "number", retry_after_max = "number",
  reconcile_delay = "number", max_sends = "number", status_failed = "table",
  not_found_pattern = "string", duplicate_pattern = "string", kyc_field = "string",
  status_words = "table", error_patterns = "table", pending_interval = "number", pending_wait = "number",
  allow_insecure_http = "boolean", deadline = "number", log_level = "string",
  ngx_shared_dict = "string",
  clock = "function", sleep = "function", -- enkash.clock: virtual time in tests
  strict = "boolean", -- opt-in checks Enkash does not state (enkash.validate.strict_only)
}
--- Every option enkash.new takes, and its Lua type ("any": checked by value).
M.types = types

--- Log levels, lowest first.
M.log_levels = defaults.log_levels

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

-- A name from the caller (an unknown key) as it may appear in a message: short, and masked
-- like any other text (a mobile number used as a key is still a mobile number).
local function shown(name)
  return redact.text(sub(tostring(name), 1, 64))
end




-- Defaults that are policy, not assumptions (enkash.defaults).
local policy = defaults.retry

local function bad(msg, field)
  return nil, errors.new("validation", "config: " .. msg, { field = field })
end

-- URL policy (enkash.url_policy, on libcurl's own parse): http(s) only, no userinfo, printable
-- ASCII, https for every host that is not loopback unless allow_insecure_http (loopback is the
-- host libcurl will connect to: "127.1" is, "localhost:80@evil.example" is not); base_url takes
-- no ?query (paths are appended), and every routes path keeps the URL's host. resolve checks
-- base_url first: the proxy is checked with it. Messages never quote a URL (it may hold a password).
local function check_scheme(cfg, key)
  local url = cfg[key]
  local parts, why = url_policy.check(url, { allow_insecure_http = true, no_query = key == "base_url" })
  if not parts then return bad(key .. " " .. why, key) end
  if parts.scheme == "http" and not parts.loopback and not cfg.allow_insecure_http then
    return bad(key .. " must use https for a host that is not loopback (or set allow_insecure_http)", key)
  end
  for _, over in pairs(cfg.routes or {}) do
    if type(over) == "table" and over.path ~= nil then
      local ok, pwhy = url_policy.check_path(url, over.path)
      if not ok then return bad("routes: a path " .. pwhy, "routes") end
    end
  end
  if key == "base_url" and cfg.proxy ~= nil and cfg.proxy ~= "" then
    local ok, pwhy = url_policy.check_proxy(cfg.proxy)
    if not ok then return bad("proxy " .. pwhy, "proxy") end
  end
  return true
end

-- Lua patterns given in config must compile: a bad one would raise in the middle of
-- reconciliation, after a money call was sent. An empty one would match every message.
local function pattern_ok(p)
  return type(p) == "string" and p ~= "" and #p <= LIM.text and not find(p, "%c") and (pcall(find, "", p))
end

local function check_patterns(cfg)
  for _, k in ipairs({ "not_found_pattern", "duplicate_pattern" }) do
    if cfg[k] ~= nil and not pattern_ok(cfg[k]) then return bad(k .. " is not a valid Lua pattern", k) end
  end
  local list = cfg.error_patterns or {}
  for i, p in ipairs(list) do
    if type(p) ~= "table" or type(p[1]) ~= "string" or not find(p[1], "^[%w_]+$") or not pattern_ok(p[2]) then
      return bad("error_patterns[" .. i .. "] must be {code, Lua pattern}", "error_patterns")
    end
  end
  -- a list: an entry under any other key would be skipped without a word
  for k in pairs(list) do
    if type(k) ~= "number" or not list[k] or k ~= floor(k) or k < 1 or k > #list then
      return bad("error_patterns must be a list of {code, Lua pattern}", "error_patterns")
    end
  end
  return true
end

-- A word list as a set of upper-cased words.
local function word_set(list)
  local set = {}
  for _, w in ipairs(list) do set[w:upper()] = true end
  return set
end

--- The status vocabularies in force (`cfg.words`): the assumed ones, with the sets that
-- config's `status_words` names replaced, and the older `status_failed` added to every
-- vocabulary's failed words. Each vocabulary is {succeeded = set, pending = set, failed = set}.
-- @tparam table cfg the config being resolved (cfg.words is set)
-- @treturn true|nil
-- @treturn[opt] table err
function M.status_words(cfg)
  local given = cfg.status_words or {}
  local words = {}
  for name, vocab in pairs(assumptions.status_words) do
    local over = given[name]
    if over ~= nil and type(over) ~= "table" then
      return bad("status_words." .. name .. " must be a table", "status_words")
    end
    local v = {}
    for _, set in ipairs({ "succeeded", "pending", "failed" }) do
      local list = over and over[set] or vocab[set]
      local key = "status_words." .. name .. "." .. set
      if type(list) ~= "table" then return bad(key .. " must be a list", "status_words") end
      for _, w in ipairs(list) do
        if type(w) ~= "string" then return bad(key .. " must hold strings", "status_words") end
      end
      v[set] = word_set(list)
    end
    for w in pairs(cfg.status_failed or {}) do
      if type(w) == "string" then v.failed[w:upper()] = true end
    end
    words[name] = v
  end
  for name in pairs(given) do
    if not words[name] then
      return bad("status_words: unknown vocabulary " .. shown(name), "status_words")
    end
  end
  cfg.words = words
  return true
end

---------------------------------------------------------------- values
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

-- Check every value given; `source[k]` names the variable a value came from.
local function check_values(cfg, source)
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

-- A value read from an ENKASH_* variable, in the option's type; a number that does not read
-- as one stays a string, for check_values to refuse with the variable named.
local function from_env(key, raw)
  if key == "timeout" or key == "connect_timeout" then return tonumber(raw) or raw end
  if key == "encryption" or key == "strict" then
    if raw == "true" then return true elseif raw == "false" then return false end
  end
  return raw
end

-- The options given to enkash.new, each a known key of its type.
local function read_user(user)
  if type(user) ~= "table" then return bad("enkash.new expects a table or nil", "config") end
  local cfg = {}
  for k, v in pairs(user) do
    local want = types[k]
    if not want then
      local name = shown(k)
      return bad("unknown option " .. name, name)
    end
    if want ~= "any" and type(v) ~= want then return bad(k .. " must be a " .. want, k) end
    cfg[k] = v
  end
  return cfg
end

-- Options left out, from their ENKASH_* variables; returns which variable gave which key.
local function read_env(cfg)
  local env_lookup = cfg.getenv or getenv
  local source = {}
  for key, var in pairs(M.env_vars) do
    if cfg[key] == nil then
      local ok, raw = pcall(env_lookup, var)
      if not ok then return bad("getenv raised reading " .. var, "getenv") end
      if raw ~= nil and raw ~= "" then cfg[key], source[key] = from_env(key, raw), var end
    end
  end
  return source
end

-- env, hosts and credentials: the bundled sandbox when nothing else is configured.
local function resolve_target(cfg)
  if cfg.env == nil then
    local any = cfg.base_url
    for _, k in ipairs(credential_keys) do any = any or cfg[k] end
    if any then return bad("env is required when credentials or base_url are given", "env") end
    cfg.env = "sandbox"
  end
  local hosts = assumptions.envs[cfg.env]
  if not hosts then return bad('env must be "sandbox", "uat" or "production"', "env") end
  if cfg.env == "sandbox" then
    for k, v in pairs(assumptions.sandbox_credentials) do
      if cfg[k] == nil then cfg[k] = v end
    end
  end
  cfg.base_url = cfg.base_url or hosts.base_url
  if cfg.base_url then cfg.base_url = cfg.base_url:gsub("/+$", "") end
  if not cfg.auth_url then
    cfg.auth_url = (cfg.env == "sandbox" and cfg.base_url) and (cfg.base_url .. "/oauth/token")
      or hosts.auth_url
  end
  if not cfg.base_url or cfg.base_url == "" or not cfg.auth_url then
    return bad("no " .. cfg.env .. " host is documented by Enkash; give base_url and auth_url", "base_url")
  end
  for _, k in ipairs(credential_keys) do
    if type(cfg[k]) ~= "string" or cfg[k] == "" then
      return bad(k .. " is required (or set " .. M.env_vars[k] .. ")", k)
    end
  end
  return true
end

-- Defaults of the options left out (assumptions and policy); values given were checked.
local function apply_defaults(cfg)
  if cfg.encryption == nil then cfg.encryption = assumptions.encryption end
  if cfg.encryption ~= "auto" and cfg.encryption ~= true and cfg.encryption ~= false then
    return bad('encryption must be "auto", true or false', "encryption")
  end
  cfg.timeout = cfg.timeout or defaults.timeout
  cfg.connect_timeout = cfg.connect_timeout or defaults.connect_timeout
  cfg.user_agent = cfg.user_agent or defaults.user_agent
  if cfg.verify == nil then cfg.verify = true end
  if cfg.strict == nil then cfg.strict = false end
  if type(cfg.strict) ~= "boolean" then
    return bad("strict must be true or false (ENKASH_STRICT)", "strict")
  end
  for _, k in ipairs({ "max_response_bytes", "token_refresh_fraction", "token_refresh_min",
                       "token_refresh_max", "device_failed_statuses", "reconcile_delay", "max_sends",
                       "kyc_field", "pending_interval", "pending_wait" }) do
    if cfg[k] == nil then cfg[k] = assumptions[k] end
  end
  for k, v in pairs(policy) do
    if cfg[k] == nil then cfg[k] = v end
  end
  cfg.routes = cfg.routes or {}
  cfg.log_level = cfg.log_level or defaults.log_level
  if not M.log_levels[cfg.log_level] then
    return bad("log_level must be debug, info, warn or error", "log_level")
  end
  return true
end

--- Resolve a user config into the full config the client runs with.
-- Never raises: any value of any type is either taken or refused with `nil, err`.
-- @tparam[opt] table user the table given to enkash.new
-- @treturn table|nil cfg
-- @treturn table|nil err a validation error naming the config field
function M.resolve(user)
  if user == nil then user = {} end
  local cfg, err = read_user(user)
  if not cfg then return nil, err end
  local source
  source, err = read_env(cfg)
  if not source then return nil, err end
  local ok
  ok, err = check_values(cfg, source)
  if not ok then return nil, err end
  ok, err = resolve_target(cfg)
  if not ok then return nil, err end
  ok, err = apply_defaults(cfg)
  if not ok then return nil, err end
  ok, err = M.status_words(cfg)
  if not ok then return nil, err end
  ok, err = check_patterns(cfg)
  if not ok then return nil, err end
  -- The in-process sandbox and dry runs never open a socket: no scheme policy to apply.
  if cfg.transport ~= "sandbox" then
    for _, key in ipairs({ "base_url", "auth_url" }) do
      ok, err = check_scheme(cfg, key)
      if not ok then return nil, err end
    end
  end
  return cfg
end

return M
