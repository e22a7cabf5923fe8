--- Client configuration: defaults, ENKASH_* environment variables, environment hosts.
-- Fields left out of `enkash.new{...}` are read from the environment variables named in
-- `M.env_vars`; hosts come from the chosen `env` (see enkash.assumptions).
-- @module enkash.config

local assumptions = require "enkash.assumptions"
local defaults = require "enkash.defaults"
local errors = require "enkash.errors"
local url_policy = require "enkash.url_policy"
local values = require "enkash.config.values"

local type, pairs, tonumber, pcall = type, pairs, tonumber, pcall
local floor = math.floor
local find = string.find
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

--- Bounds of the options' values (enkash.config.values).
M.limits = values.limits

local shown = values.shown

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

local pattern_ok = values.pattern_ok

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

--- Check the per-call options of `client:call(name, params, opts)` (enkash.config.values).
M.call_options = values.call_options
--- The names of the per-call options.
M.call_option_names = values.call_option_names
local check_values = values.check_values

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
