--- The request pipeline shared by every endpoint:
-- validate -> build body or query -> encrypt -> auth header -> transport -> decode ->
-- decrypt -> envelope check -> `payload, response` | `nil, err`; with the retry policy for
-- calls that are safe to repeat. Money-moving calls go through enkash.reconcile instead.
-- @module enkash.pipeline

local core = require "enkash.core"
local envelope = require "enkash.envelope"
local errors = require "enkash.errors"
local log = require "enkash.log"
local retry = require "enkash.retry"
local url = require "enkash.url"
local validate = require "enkash.validate"

local monotime = core.monotime

local M = {}

--- Build the request for `row` from the caller's params: validated fields, URL and body.
-- @tparam table row a (resolved) catalogue row
-- @tparam table params caller's params
-- @tparam table cfg resolved config
-- @treturn table|nil req {fields, url, body}
-- @treturn table|nil err a validation error
function M.build(row, params, cfg)
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

-- The request headers of a client, made once per token and shared by its calls (transports
-- read `req.headers`, they never change it). Kept on the client, keyed by the token string:
-- a refreshed token gets a new table.
local function headers_for(client, token)
  local cache = client.header_cache
  if cache and cache.token == token then return cache.headers end
  local headers = {
    ["partnerId"] = client.config.partner_id,
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
  }
  client.header_cache = { token = token, headers = headers }
  return headers
end

local function transmit(client, row, req, opts, token)
  local cfg = client.config
  return client.transport:request{
    method = row.method, url = req.url, body = req.body,
    timeout = opts.timeout or cfg.timeout, connect_timeout = cfg.connect_timeout,
    headers = headers_for(client, token),
  }
end

local function response_of(res)
  local h = res.headers or {}
  return {
    status = res.status, headers = h, body = res.body,
    request_id = h["x-request-id"] or h["x-correlation-id"],
  }
end

--- Send a built request once: a 401 refreshes the token once and sends once more.
-- @tparam table client
-- @tparam table row
-- @tparam table req from `M.build`
-- @tparam table opts per-call options (timeout)
-- @return payload on success (a table; {} when Enkash sends none)
-- @treturn table response {status, headers, request_id, body}, or the error on failure
function M.send(client, row, req, opts)
  local cfg = client.config
  local t0 = monotime()
  local token, err = client:access_token()
  local res
  if token then
    res, err = transmit(client, row, req, opts, token)
    -- A 401 on a money call may have come after the server applied it (a gateway in front
    -- of a slow commit): drop the token and let enkash.reconcile ask the status endpoint,
    -- with a fresh token, before anything is sent again.
    if res and res.status == 401 and row.money then
      client.tokens:invalidate()
      err = errors.new("auth", "access token refused (HTTP 401) on a money call; its outcome is "
        .. "looked up before any resend", { endpoint = row.name, http_status = 401, ambiguous = true })
      res = nil
    end
    -- A 401 means the token died early (revoked, server restart): refresh once, send once.
    if res and res.status == 401 then
      client.tokens:invalidate()
      token, err = client:access_token()
      res = nil
      if token then res, err = transmit(client, row, req, opts, token) end
      if res and res.status == 401 then
        err = errors.new("auth", "access token refused twice (HTTP 401)",
          { endpoint = row.name, http_status = 401 })
        res = nil
      end
    end
  end
  local payload
  if res then payload, err = envelope.decode(res, row.name, cfg.encryption, cfg.client_secret, cfg) end
  if err and not err.endpoint then err.endpoint = row.name end
  if cfg.logger then -- no event table to build when nobody listens
    log.emit(cfg, err and "warn" or "info", "request", {
      endpoint = row.name, duration = monotime() - t0, http_status = res and res.status,
      response_code = err and err.response_code, kind = err and err.kind, attempt = opts.attempt,
      reference = row.reference and validate.value(req.fields, row.reference) or nil,
    })
  end
  if err then return nil, err end
  if payload == nil then payload = {} end
  return payload, response_of(res)
end

--- Send with the retry policy: reads and status calls retry transient failures, other calls
-- only failures that prove nothing was processed (refused connection, 429); never past the
-- overall deadline (opts.deadline or config.deadline, seconds from the first attempt).
-- @tparam table client
-- @tparam table row
-- @tparam table req
-- @tparam table opts per-call options: timeout, retries, deadline
-- @return payload
-- @treturn table response or err
function M.perform(client, row, req, opts)
  local cfg = client.config
  local attempts = 1 + (opts.retries or cfg.retries)
  local deadline = opts.deadline or cfg.deadline
  local give_up_at = deadline and (monotime() + deadline)
  local payload, res
  for attempt = 1, attempts do
    opts.attempt = attempt
    payload, res = M.send(client, row, req, opts)
    if payload then return payload, res end
    local may = row.idempotent and retry.transient(res) or retry.not_processed(res)
    if not may or attempt == attempts then break end
    local delay = retry.delay(cfg, attempt, res)
    if give_up_at and monotime() + delay >= give_up_at then break end
    log.emit(cfg, "debug", "retry", { endpoint = row.name, attempt = attempt, delay = delay, kind = res.kind,
                                      http_status = res.http_status })
    client.transport:sleep(delay)
  end
  return nil, res
end

return M
