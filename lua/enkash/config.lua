--- Client configuration: defaults, ENKASH_* environment variables, environment hosts.
-- Fields left out of `enkash.new{...}` are read from the environment variables named in
-- `M.env_vars`; hosts come from the chosen `env` (see enkash.assumptions).
-- @module enkash.config

local assumptions = require "enkash.assumptions"
local errors = require "enkash.errors"

local type, pairs, tonumber, tostring = type, pairs, tonumber, tostring
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
  strict = "boolean", -- opt-in checks Enkash does not state (enkash.validate.strict_only)
}

--- Log levels, lowest first.
M.log_levels = { debug = 1, info = 2, warn = 3, error = 4 }



-- Defaults that are policy, not assumptions (DESIGN.md: backoff from 0.5 s, capped at 5 s).
local policy = { retries = 2, retry_base = 0.5, retry_cap = 5, retry_after_max = 30 }

local function bad(msg, field)
  return nil, errors.new("validation", "config: " .. msg, { field = field })
end

-- Loopback hosts, where plain http is fine (the sandbox, tests); anything else needs https.
local function loopback(url)
  local host = url:match("^%a+://%[([^%]]+)%]") or url:match("^%a+://([^/:?#]+)")
  if not host then return false end
  host = host:lower()
  return host == "localhost" or host == "::1" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

-- TLS policy: https for every host that is not loopback, unless allow_insecure_http.
local function check_scheme(cfg, key)
  local url = cfg[key]
  local scheme = url:match("^(%a+)://")
  if scheme ~= "http" and scheme ~= "https" then return bad(key .. " must be an http(s) URL", key) end
  if scheme == "http" and not loopback(url) and not cfg.allow_insecure_http then
    return bad(key .. " must use https for a host that is not loopback (or set allow_insecure_http)", key)
  end
  return true
end

-- Lua patterns given in config must compile: a bad one would raise in the middle of
-- reconciliation, after a money call was sent.
local function pattern_ok(p)
  return type(p) == "string" and pcall(string.find, "", p)
end

local function check_patterns(cfg)
  for _, k in ipairs({ "not_found_pattern", "duplicate_pattern" }) do
    if cfg[k] ~= nil and not pattern_ok(cfg[k]) then return bad(k .. " is not a valid Lua pattern", k) end
  end
  for i, p in ipairs(cfg.error_patterns or {}) do
    if type(p) ~= "table" or type(p[1]) ~= "string" or not pattern_ok(p[2]) then
      return bad("error_patterns[" .. i .. "] must be {code, Lua pattern}", "error_patterns")
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
      return bad("status_words: unknown vocabulary " .. tostring(name), "status_words")
    end
  end
  cfg.words = words
  return true
end

local function from_env(key, raw)
  if key == "timeout" or key == "connect_timeout" then return tonumber(raw) end
  if key == "encryption" or key == "strict" then
    if raw == "true" then return true elseif raw == "false" then return false end
  end
  return raw
end

--- Resolve a user config into the full config the client runs with.
-- @tparam[opt] table user the table given to enkash.new
-- @treturn table|nil cfg
-- @treturn table|nil err a validation error naming the config field
function M.resolve(user)
  user = user or {}
  if type(user) ~= "table" then return bad("enkash.new expects a table") end
  local cfg = {}
  for k, v in pairs(user) do
    local want = types[k]
    if not want then return bad("unknown option " .. tostring(k), tostring(k)) end
    if want ~= "any" and type(v) ~= want then return bad(k .. " must be a " .. want, k) end
    cfg[k] = v
  end
  local env_lookup = cfg.getenv or getenv
  for key, var in pairs(M.env_vars) do
    if cfg[key] == nil then
      local raw = env_lookup(var)
      if raw ~= nil and raw ~= "" then cfg[key] = from_env(key, raw) end
    end
  end

  -- With no credentials and no host at all, the bundled sandbox is the only sensible target.
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
  if not cfg.base_url or not cfg.auth_url then
    return bad("no " .. cfg.env .. " host is documented by Enkash; give base_url and auth_url", "base_url")
  end
  for _, k in ipairs(credential_keys) do
    if type(cfg[k]) ~= "string" or cfg[k] == "" then
      return bad(k .. " is required (or set " .. M.env_vars[k] .. ")", k)
    end
  end

  if cfg.encryption == nil then cfg.encryption = assumptions.encryption end
  if cfg.encryption ~= "auto" and cfg.encryption ~= true and cfg.encryption ~= false then
    return bad('encryption must be "auto", true or false', "encryption")
  end
  cfg.timeout = cfg.timeout or 30
  cfg.connect_timeout = cfg.connect_timeout or 5
  for _, k in ipairs({ "timeout", "connect_timeout" }) do
    local v = cfg[k]
    if v ~= v or v <= 0 then return bad(k .. " must be > 0", k) end -- v ~= v: NaN
  end
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
  for _, k in ipairs({ "reconcile_delay", "pending_interval", "pending_wait" }) do
    local v = cfg[k]
    if v ~= v or v < 0 or v == math.huge then return bad(k .. " must be a number of seconds >= 0", k) end
  end
  local words_ok, words_err = M.status_words(cfg)
  if not words_ok then return nil, words_err end
  local patterns_ok, patterns_err = check_patterns(cfg)
  if not patterns_ok then return nil, patterns_err end
  for k, v in pairs(policy) do
    if cfg[k] == nil then cfg[k] = v end
    if cfg[k] < 0 then return bad(k .. " must be >= 0", k) end
  end
  local sends = cfg.max_sends
  if sends ~= sends or sends < 1 then return bad("max_sends must be >= 1", "max_sends") end -- NaN too
  cfg.routes = cfg.routes or {}
  cfg.log_level = cfg.log_level or "info"
  if not M.log_levels[cfg.log_level] then
    return bad("log_level must be debug, info, warn or error", "log_level")
  end
  if cfg.deadline ~= nil and (cfg.deadline ~= cfg.deadline or cfg.deadline <= 0) then
    return bad("deadline must be > 0", "deadline")
  end
  -- The in-process sandbox and dry runs never open a socket: no scheme policy to apply.
  if cfg.transport ~= "sandbox" then
    for _, key in ipairs({ "base_url", "auth_url" }) do
      local ok, err = check_scheme(cfg, key)
      if not ok then return nil, err end
    end
  end
  return cfg
end

return M
