--- The client: a thin façade over the catalogue. It resolves its config, makes its
-- collaborators once (transport, token store and session, clock, pipeline) and hands every
-- call to the pipeline. API groups (client.device, client.wallet, ...) are generated from the
-- catalogue: an endpoint is a row, not a function.
-- @module enkash.client

local core = require "enkash.core"
local catalogue = require "enkash.catalogue"
local clock_of = require("enkash.clock").of
local config = require "enkash.config"
local errors = require "enkash.errors"
local pipeline = require "enkash.pipeline"
local redact = require "enkash.redact"
local session = require "enkash.auth.session"

local setmetatable, type, tostring, pcall, rawget = setmetatable, type, tostring, pcall, rawget

local M = {}
local Client = {}

-- The client's state lives in this one field; `client.config`, `client.transport`,
-- `client.tokens` (the token session) and `client.clock` are read-only views of it.
local STATE = setmetatable({}, { __tostring = function() return "enkash.client state" end })
local VIEWS = { config = "config", transport = "transport", tokens = "tokens", clock = "clock" }

Client.__index = function(self, k)
  local method = Client[k]
  if method ~= nil then return method end
  local view = VIEWS[k]
  if view then return rawget(self, STATE)[view] end
end

local transports = {
  curl = function(cfg) return require("enkash.transport.curl").new(cfg) end,
  sandbox = function(cfg) return require("enkash.transport.sandbox").new(cfg) end,
  ngx = function(cfg) return require("enkash.transport.ngx").new(cfg) end,
}

-- Inside nginx, with `ngx_shared_dict`, the token lives in that lua_shared_dict, shared by
-- every worker (enkash.auth.shared_dict); elsewhere in the C token store, per client.
local function token_store(cfg)
  if cfg.ngx_shared_dict and require("enkash.transport.ngx").inside_nginx() then
    local ok, store = pcall(require("enkash.auth.shared_dict").new, cfg.ngx_shared_dict, cfg)
    if not ok then
      return nil, errors.new("validation", "config: lua_shared_dict " .. cfg.ngx_shared_dict
        .. " is not declared in nginx.conf", { field = "ngx_shared_dict" })
    end
    return store
  end
  return core.token_store()
end

-- The transport: an object given in config, or one made by name (the cosocket transport
-- inside nginx, never a blocking libcurl call; curl elsewhere).
local function transport_of(cfg)
  local transport = cfg.transport
  if transport == nil then transport = require("enkash.transport.ngx").inside_nginx() and "ngx" or "curl" end
  if type(transport) ~= "string" then return transport end
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
  return made
end

--- The API groups of catalogue rows: group name -> list of {method, row name}. A group whose
-- name is a client method or view would hide it: refused (raises: a catalogue error).
-- @tparam table rows catalogue rows
-- @treturn table groups
function M.groups_of(rows)
  local made = {}
  for _, row in ipairs(rows) do
    if row.host == "api" then
      local group_name, method = catalogue.split(row.name)
      if Client[group_name] ~= nil or VIEWS[group_name] then
        error("enkash.client: catalogue group " .. group_name .. " collides with a client method", 2)
      end
      made[group_name] = made[group_name] or {}
      local list = made[group_name]
      list[#list + 1] = { method, row.name }
    end
  end
  return made
end

-- The catalogue's groups, made at the first enkash.new (after every method exists).
local GROUPS
local function groups()
  GROUPS = GROUPS or M.groups_of(catalogue.rows)
  return GROUPS
end

-- A group (client.device, ...) is a table of methods that forward to Client.call.
local function make_groups(client)
  for group_name, methods in pairs(groups()) do
    local group = { client = client }
    for _, m in ipairs(methods) do
      local name = m[2]
      group[m[1]] = function(self, params, opts)
        return self.client:call(name, params, opts)
      end
    end
    client[group_name] = group
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
  local transport
  transport, err = transport_of(cfg)
  if not transport then return nil, err end
  local store
  store, err = token_store(cfg)
  if not store then return nil, err end
  local clock = clock_of(cfg, transport)
  local tokens = session.new{ config = cfg, transport = transport, store = store, clock = clock }
  local state = {
    config = cfg, transport = transport, tokens = tokens, clock = clock, rows = {},
    pipeline = pipeline.new{ config = cfg, transport = transport, session = tokens, clock = clock },
  }
  local client = setmetatable({ [STATE] = state }, Client)
  make_groups(client)
  return client
end

--- The cached access token string, fetched when missing or within its refresh margin.
-- For the transports' use; callers want `client:token()`, which never exposes the token.
-- @treturn string|nil token
-- @treturn table|nil err
function Client:access_token()
  return rawget(self, STATE).tokens:token()
end

--- The cached access token's info, fetching a token first when there is none.
-- Its tostring shows the type and remaining lifetime, never the token itself.
-- @treturn table|nil info {token_type, expires_in, lifetime}
-- @treturn table|nil err
function Client:token()
  return rawget(self, STATE).tokens:info()
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
  local state = rawget(self, STATE)
  local rows = state.rows -- each name resolved against the routes once
  local row = rows[name]
  if not row then
    row = catalogue.resolve(name, state.config.routes)
    if not row then error("enkash: unknown endpoint " .. tostring(name), 2) end
    rows[name] = row
  end
  -- Options are checked before anything else, so a bad one never half-runs a call.
  local o, opts_err = config.call_options(opts)
  if not o then
    opts_err.endpoint = name
    return nil, opts_err
  end
  -- A transport that can tell a call is impossible now (ngx: an nginx phase without
  -- cosockets) says so before anything is sent, reconciled or slept on.
  local transport = state.transport
  if transport.check then
    local usable, why = transport:check()
    if not usable then
      why.endpoint = name
      return nil, why
    end
  end
  params = params or {}
  redact.hold(o, params) -- its OTP or MFA code is masked in its errors, for as long as `o` lives
  return state.pipeline:call(row, params, o)
end

--- Call many endpoints concurrently on this thread (one libcurl multi; enkash.client.batch).
-- The token is fetched once first; each call then runs as `self:call(name, params, opts)`.
-- @tparam table calls a list of `{name, params, opts}`, e.g. `{"device.status", params}`
-- @tparam[opt] table opts `concurrency` (default 20), `on_done(i, result)` as each finishes
-- @treturn table results: `results[i] = {payload, response}` or `{nil, err}`
function Client:batch(calls, opts)
  local results = require("enkash.client.batch").calls(self, calls, opts) -- not a tail call: error levels
  return results
end

--- Close the transport; the client cannot be used afterwards.
function Client:close()
  local state = rawget(self, STATE)
  state.tokens:close() -- a store shared with other workers keeps its token
  state.pipeline:close()
  state.transport:close()
end

M.Client = Client
return M
