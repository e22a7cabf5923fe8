--- The request pipeline shared by every endpoint, built once per client with its
-- collaborators (config, transport, token session, clock) and never seeing the client:
--   call -> build (validate, URL or body, encrypt) -> [money: enkash.reconcile]
--        -> attempt: token -> transport -> decode, decrypt, envelope -> payload | err
--        -> enkash.retry decides: retry | refresh | reconcile | give up.
-- One deadline object (enkash.deadline) per call cuts every attempt's timeout, every wait,
-- each token fetch and each reconciliation lookup to the time left.
-- @module enkash.pipeline

local catalogue = require "enkash.catalogue"
local deadline_of = require("enkash.deadline").new
local envelope = require "enkash.envelope"
local errors = require "enkash.errors"
local log = require "enkash.log"
local reconcile = require "enkash.reconcile"
local retry = require "enkash.retry"
local url = require "enkash.url"
local validate = require "enkash.validate"

local setmetatable, type = setmetatable, type

local M = {}
local P = {}
P.__index = P

--- A pipeline over its collaborators.
-- @tparam table c {config, transport, session (enkash.auth.session), clock (enkash.clock)}
-- @treturn table pipeline
function M.new(c)
  return setmetatable({
    cfg = c.config, transport = c.transport, session = c.session, clock = c.clock,
    header_cache = nil, -- {token, headers}: made once per token, shared by its calls
  }, P)
end

--- Build the request for `row` from the caller's params: validated fields, URL and body.
-- @tparam table row a (resolved) catalogue row
-- @tparam table params caller's params
-- @treturn table|nil req {fields, url, body}
-- @treturn table|nil err a validation error
function P:build(row, params)
  local cfg = self.cfg
  local fields, err = validate.params(row, params, cfg)
  if not fields then return nil, err end
  local base = row.host == "auth" and cfg.auth_url or cfg.base_url
  local req = { fields = fields, url = base .. row.path }
  if row.method == "GET" then
    if #fields > 0 then req.url = req.url .. "?" .. url.form(fields) end
  else
    local encrypt = row.encrypted
    if encrypt == nil then encrypt = cfg.encryption == true end
    req.body = envelope.encode(fields, encrypt, cfg.client_secret)
  end
  return req
end

-- The request headers for a token (transports read `req.headers`, they never change it).
local function headers_for(self, token)
  local cache = self.header_cache
  if cache and cache.token == token then return cache.headers end
  local headers = {
    ["partnerId"] = self.cfg.partner_id,
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
  }
  self.header_cache = { token = token, headers = headers }
  return headers
end

local function response_of(res)
  local h = res.headers or {}
  return {
    status = res.status, headers = h, body = res.body,
    request_id = h["x-request-id"] or h["x-correlation-id"],
  }
end

local function deadline_passed(row)
  return errors.new("timeout", "the call's deadline passed before " .. row.name .. " was sent",
    { endpoint = row.name, sent = false, retryable = false })
end

--- One attempt: token, transport, decode. A 401 becomes an `auth` error with the fact
-- `token_refused` (the token is dropped); what follows is enkash.retry's decision.
-- @tparam table row
-- @tparam table req from `P:build`
-- @tparam table opts per-call options (timeout)
-- @tparam table deadline the call's (enkash.deadline)
-- @tparam[opt] number attempt for the log
-- @return payload on success (a table; {} when Enkash sends none)
-- @treturn table response {status, headers, request_id, body}, or the error on failure
function P:attempt(row, req, opts, deadline, attempt)
  local cfg = self.cfg
  local t0 = self.clock.now()
  local token, err = self.session:token(deadline)
  local res, payload
  if token then
    local timeout = deadline:clip(opts.timeout or cfg.timeout)
    if not timeout then
      err = deadline_passed(row)
    else
      res, err = self.transport:request{
        method = row.method, url = req.url, body = req.body, timeout = timeout,
        connect_timeout = cfg.connect_timeout, headers = headers_for(self, token),
      }
    end
  end
  if res then
    if res.status == 401 then
      self.session:invalidate()
      err = errors.new("auth", row.money
        and "access token refused (HTTP 401) on a money call; its outcome is looked up before any resend"
        or "access token refused (HTTP 401)", { http_status = 401, token_refused = true })
    else
      payload, err = envelope.decode(res, row.name, cfg.encryption, cfg.client_secret, cfg)
    end
  end
  if err and not err.endpoint then err.endpoint = row.name end
  if cfg.logger then -- no event table to build when nobody listens
    log.emit(cfg, err and "warn" or "info", "request", {
      endpoint = row.name, duration = self.clock.now() - t0, http_status = res and res.status,
      response_code = err and err.response_code, kind = err and err.kind, attempt = attempt,
      reference = row.reference and validate.value(req.fields, row.reference) or nil,
    })
  end
  if err then return nil, err end
  if payload == nil then payload = {} end
  return payload, response_of(res)
end

--- Send a built request with the retry decision: reads and status calls retry transient
-- failures, other calls only failures that prove nothing was processed (refused connection,
-- 429); a 401 gets one new token; nothing waits past the deadline.
-- @tparam table row
-- @tparam table req
-- @tparam table opts per-call options: timeout, retries
-- @tparam table deadline
-- @return payload
-- @treturn table response or err
function P:perform(row, req, opts, deadline)
  local cfg = self.cfg
  local attempts = 1 + (opts.retries or cfg.retries)
  local call = { idempotent = row.idempotent, attempt = 0, attempts = attempts, refreshed = false }
  while true do
    call.attempt = call.attempt + 1
    local payload, res = self:attempt(row, req, opts, deadline, call.attempt)
    if payload then return payload, res end
    local action = retry.decide(res, call)
    if action == "refresh" then
      call.refreshed, call.attempt = true, call.attempt - 1 -- a new token is not a retry
    elseif action == "retry" then
      local delay = retry.delay(cfg, call.attempt, res)
      if not deadline:sleep(delay) then return nil, res end
      log.emit(cfg, "debug", "retry", { endpoint = row.name, attempt = call.attempt, delay = delay,
                                        kind = res.kind, http_status = res.http_status })
    else
      if res.token_refused then
        res.message = "access token refused twice (HTTP 401)"
      end
      return nil, res
    end
  end
end

--- Call a row: build, then send (money rows through enkash.reconcile).
-- @tparam table row a resolved catalogue row
-- @tparam table params the caller's params
-- @tparam table opts per-call options, checked (enkash.config.call_options)
-- @return payload
-- @treturn table response or err
function P:call(row, params, opts)
  local deadline = deadline_of(self.clock, opts.deadline or self.cfg.deadline)
  if not row.money then
    local req, err = self:build(row, params)
    if not req then return nil, err end
    return self:perform(row, req, opts, deadline)
  end
  local ref
  if type(params) == "table" then params, ref = reconcile.with_reference(row, params) end
  local req, err = self:build(row, params)
  if not req then return nil, err end
  return reconcile.call{
    row = row, req = req, ref = ref, opts = opts, cfg = self.cfg, deadline = deadline,
    sleep = self.clock.sleep, now = self.clock.now,
    send = function(attempt) return self:attempt(row, req, opts, deadline, attempt) end,
    lookup = function(name, lookup_params) return self:lookup(name, lookup_params, deadline) end,
  }
end

--- A status lookup on behalf of reconciliation: a read with the retry policy, within the
-- money call's deadline.
-- @tparam string name the status row's name
-- @tparam table params
-- @tparam table deadline
-- @return payload
-- @treturn table response or err
function P:lookup(name, params, deadline)
  local row = catalogue.resolve(name, self.cfg.routes)
  local req, err = self:build(row, params)
  if not req then return nil, err end
  return self:perform(row, req, {}, deadline)
end

--- Drop the headers made for the token (the client closes).
function P:close()
  self.header_cache = nil
end

return M
