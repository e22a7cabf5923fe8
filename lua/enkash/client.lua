--- The client: config, transport, token, and one request pipeline for every catalogue row.
-- Every call goes through enkash.pipeline (money-moving ones through enkash.reconcile).
-- API groups (client.device, client.wallet, ...) are generated from the catalogue: an
-- endpoint is a row, not a function.
-- @module enkash.client

local core = require "enkash.core"
local auth = require "enkash.auth"
local catalogue = require "enkash.catalogue"
local config = require "enkash.config"
local errors = require "enkash.errors"
local log = require "enkash.log"
local onboarding = require "enkash.onboarding"
local pipeline = require "enkash.pipeline"
local reconcile = require "enkash.reconcile"
local redact = require "enkash.redact"
local retry = require "enkash.retry"

local setmetatable, type, tostring, pcall = setmetatable, type, tostring, pcall
local monotime = core.monotime

local M = {}
local Client = {}
Client.__index = Client

local transports = {
  curl = function(cfg) return require("enkash.transport.curl").new(cfg) end,
  sandbox = function(cfg) return require("enkash.transport.sandbox").new(cfg) end,
  ngx = function(cfg) return require("enkash.transport.ngx").new(cfg) end,
}

-- Inside nginx, with `ngx_shared_dict`, the token lives in that lua_shared_dict, shared by
-- every worker (enkash.ngx.tokens); elsewhere in the C token store, per client.
local function token_store(cfg)
  if cfg.ngx_shared_dict and require("enkash.transport.ngx").inside_nginx() then
    local ok, store = pcall(require("enkash.ngx.tokens").new, cfg.ngx_shared_dict, cfg)
    if not ok then
      return nil, errors.new("validation", "config: lua_shared_dict " .. cfg.ngx_shared_dict
        .. " is not declared in nginx.conf", { field = "ngx_shared_dict" })
    end
    return store
  end
  return core.token_store()
end

-- A group (client.device, ...) is a table of methods that forward to Client.call.
local function make_groups(client)
  for _, row in ipairs(catalogue.rows) do
    if row.host == "api" then
      local group_name, method = catalogue.split(row.name)
      local group = client[group_name]
      if not group then
        group = { client = client }
        client[group_name] = group
      end
      local name = row.name
      group[method] = function(self, params, opts)
        return self.client:call(name, params, opts)
      end
    end
  end
end

--- Create a client. See the README for every option.
-- @tparam[opt] table user_config
-- @treturn table|nil client
-- @treturn table|nil err a validation error naming the config field
function M.new(user_config)
  local cfg, err = config.resolve(user_config)
  if not cfg then return nil, err end
  redact.remember_config(cfg) -- masked in every message from now on, in any case and spacing
  local transport = cfg.transport
  -- Inside nginx the cosocket transport, never a blocking libcurl call; curl elsewhere.
  if transport == nil then transport = require("enkash.transport.ngx").inside_nginx() and "ngx" or "curl" end
  if type(transport) == "string" then
    local make = transports[transport]
    if not make then
      return nil, errors.new("validation", "config: unknown transport " .. transport, { field = "transport" })
    end
    -- A constructor that raises (the C core on an option it cannot take) is a config error,
    -- not a crash of the caller.
    local ok, made = pcall(make, cfg)
    if not ok then
      return nil, errors.new("validation", "config: transport " .. transport .. " could not be made: "
        .. tostring(made), { field = "transport" })
    end
    transport = made
  end
  local tokens
  tokens, err = token_store(cfg)
  if not tokens then return nil, err end
  local client = setmetatable({
    config = cfg, transport = transport, tokens = tokens, token_type = "bearer",
  }, Client)
  make_groups(client)
  return client
end

local TokenInfo = {
  __tostring = function(t)
    return "enkash.token(" .. t.token_type .. ", expires in " .. math.floor(t.expires_in) .. "s)"
  end,
}

--- The cached access token string, fetched when missing or within its refresh margin.
-- For the transports' use; callers want `client:token()`, which never exposes the token.
-- @treturn string|nil token
-- @treturn table|nil err
function Client:access_token()
  local info = self.tokens:info()
  local margin = info.present and auth.margin(self.config, info.lifetime)
  local token = margin and self.tokens:get(margin)
  if token then return token end
  -- Single flight: while one task of a batch fetches (its request yields), the others wait
  -- for that token instead of each fetching their own.
  if self.fetching then
    while self.fetching do self.transport:sleep(0.005) end
    token = self.tokens:get(0)
    if token then return token end
  end
  -- A store shared by processes (enkash.ngx.tokens: nginx workers) has its own single flight:
  -- one worker fetches, the others wait for its token (or its error).
  local shared = self.tokens.lock ~= nil
  if shared then
    local got, lock_err = self.tokens:lock(margin or 0)
    if got ~= true then return got, lock_err end
  end
  local t0 = monotime()
  self.fetching = true
  -- Transient failures (refused, timeout, 5xx) are retried like a read; refused credentials
  -- (kind auth) never are: Enkash locks an account after 3 failures.
  local ok, got, err
  local cfg = self.config
  for attempt = 1, 1 + cfg.retries do
    ok, got, err = pcall(auth.fetch, cfg, self.transport, self.tokens)
    if not ok or got or err.kind == "auth" or not retry.transient(err) or attempt > cfg.retries then break end
    self.transport:sleep(retry.delay(cfg, attempt, err))
  end
  self.fetching = false
  if shared then self.tokens:unlock(ok and not got and err or nil) end
  if not ok then error(got, 0) end
  log.emit(self.config, got and "info" or "warn", "token", {
    endpoint = "auth.token", duration = monotime() - t0, ok = got ~= nil,
    http_status = err and err.http_status, kind = err and err.kind,
  })
  if not got then return nil, err end
  self.token_type = got.token_type
  token = self.tokens:get(0)
  -- never `nil, nil`: a token whose lifetime ran out while it was being stored
  if not token then
    return nil, errors.new("auth", "the new access token expired at once", { endpoint = "auth.token" })
  end
  return token
end

--- The cached access token's info, fetching a token first when there is none.
-- Its tostring shows the type and remaining lifetime, never the token itself.
-- @treturn table|nil info {token_type, expires_in, lifetime}
-- @treturn table|nil err
function Client:token()
  local ok, err = self:access_token()
  if not ok then return nil, err end
  local info = self.tokens:info()
  return setmetatable({
    token_type = self.token_type, expires_in = info.expires_in, lifetime = info.lifetime,
  }, TokenInfo)
end

--- Call a catalogue endpoint by name.
-- Money-moving rows carry a unique reference (generated when left out, returned as
-- `response.reference` or `err.reference`) and are reconciled, never blindly repeated.
-- @tparam string name row name, e.g. "device.status"
-- @tparam[opt] table params the documented fields
-- @tparam[opt] table opts per-call options: timeout and deadline (seconds), retries,
-- lookup_first (enkash.config.call_options checks them; anything else is refused)
-- @return payload the decoded envelope payload
-- @treturn table response {status, headers, request_id, body, reference}, or the error
function Client:call(name, params, opts)
  local row = catalogue.resolve(name, self.config.routes)
  if not row then error("enkash: unknown endpoint " .. tostring(name), 2) end
  -- Options are checked before anything else, so a bad one never half-runs a call.
  local o, opts_err = config.call_options(opts)
  if not o then
    opts_err.endpoint = name
    return nil, opts_err
  end
  -- A transport that can tell a call is impossible now (ngx: an nginx phase without
  -- cosockets) says so before anything is sent, reconciled or slept on.
  if self.transport.check then
    local usable, why = self.transport:check()
    if not usable then
      why.endpoint = name
      return nil, why
    end
  end
  params = params or {}
  redact.hold(o, params) -- its OTP or MFA code is masked in its errors, for as long as `o` lives
  local ref
  if row.money and type(params) == "table" then params, ref = reconcile.with_reference(row, params) end
  local req, err = pipeline.build(row, params, self.config)
  if not req then return nil, err end
  if row.money then return reconcile.call(self, row, req, ref, o) end
  return pipeline.perform(self, row, req, o)
end

--- Call many endpoints concurrently on this thread (enkash.batch over one libcurl multi).
-- The token is fetched once first; each call then runs as `self:call(name, params, opts)`.
-- @tparam table calls a list of `{name, params, opts}`, e.g. `{"device.status", params}`
-- @tparam[opt] table opts `concurrency` (default 20), `on_done(i, result)` as each finishes
-- @treturn table results: `results[i] = {payload, response}` or `{nil, err}`
function Client:batch(calls, opts)
  local results = require("enkash.batch").calls(self, calls, opts) -- not a tail call: error levels
  return results
end

--- Is the wallet usable, and what comes next? The T&C and KYC guides as code.
-- @tparam table params Get Wallet Details params (enKashCardId; ids default from config)
-- @treturn table|nil {usable, next = "accept_tnc" | "min_kyc" | "vkyc" | nil, kyc, kyc_level,
-- tnc_accepted, wallet}
-- @treturn table|nil err
function Client:onboarding_state(params)
  return onboarding.state(self, params)
end

--- Close the transport; the client cannot be used afterwards.
function Client:close()
  -- A store shared with other workers keeps its token: they are still using it.
  if not self.tokens.lock then self.tokens:invalidate() end
  self.header_cache = nil -- the request headers made for the token (enkash.pipeline)
  self.transport:close()
end

M.Client = Client
return M
