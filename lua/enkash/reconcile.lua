--- Money-moving calls: never blindly repeated.
-- Each call carries a unique reference (generated when the caller gives none) that is kept
-- on every resend. After an ambiguous failure (timeout after send, reset, garbage, 5xx) the
-- status endpoint is asked about that reference before anything else happens:
--   found and not failed -> the call took effect: success, answered from the status record;
--   found and failed     -> an `api` error;
--   not found            -> it never took effect: sent again (same reference), up to max_sends;
--   status unavailable   -> `unknown_outcome`, carrying the reference to check later.
-- @module enkash.reconcile

local core = require "enkash.core"
local errors = require "enkash.errors"
local log = require "enkash.log"
local pipeline = require "enkash.pipeline"
local retry = require "enkash.retry"
local validate = require "enkash.validate"

local type, tostring, format, byte = type, tostring, string.format, string.byte
local concat = table.concat

local M = {}

--- A fresh unique reference: "ENK" and 20 hex digits from OpenSSL's RNG (80 bits).
-- @treturn string
function M.new_reference()
  local raw = core.random_bytes(10)
  local hex = {}
  for i = 1, #raw do hex[i] = format("%02X", byte(raw, i)) end
  return "ENK" .. concat(hex)
end

--- The caller's params with the row's reference field filled in when absent (a copy).
-- @tparam table row a money row
-- @tparam table params
-- @treturn table params
-- @treturn string reference
function M.with_reference(row, params)
  local ref = params[row.reference]
  if ref ~= nil then return params, ref end
  local copy = {}
  for k, v in pairs(params) do copy[k] = v end
  ref = M.new_reference()
  copy[row.reference] = ref
  return copy, ref
end

-- Ask the status endpoint about the call. Returns "applied", payload, response |
-- "failed", payload | "absent" | "unknown", err.
local function lookup(client, row, fields)
  local cfg = client.config
  local params = {}
  for status_field, own_field in pairs(row.status.params) do
    params[status_field] = validate.value(fields, own_field)
  end
  local payload, res = client:call(row.status.endpoint, params)
  if payload then
    local st = type(payload) == "table" and payload.status
    if type(st) == "string" and cfg.status_failed[st] then return "failed", payload end
    return "applied", payload, res
  end
  if res.kind == "api" and tostring(res.message):find(cfg.not_found_pattern) then return "absent" end
  return "unknown", res
end

local function unknown(row, ref, cause, status_err)
  return nil, errors.new("unknown_outcome",
    "outcome of " .. row.name .. " is unknown: the call failed (" .. cause.kind
      .. ") and the status endpoint could not tell (" .. tostring(status_err and status_err.kind) .. ")"
      .. "; check again later with reference " .. ref,
    { endpoint = row.name, reference = ref, cause = cause.kind, retryable = false })
end

--- Perform a money-moving call with reconciliation.
-- With `opts.lookup_first` (a resumed runbook whose journal holds the reference but not the
-- outcome) the status endpoint is asked before anything is sent.
-- @tparam table client
-- @tparam table row a money row
-- @tparam table req from pipeline.build
-- @tparam string ref the call's reference
-- @tparam table opts per-call options (timeout, retries for the status lookups, lookup_first)
-- @return payload
-- @treturn table response (with `reference`, and `reconciled = true` when answered from the
-- status endpoint) or the error (with `reference`)
function M.call(client, row, req, ref, opts)
  local cfg = client.config
  local sends, duplicate_seen = 0, false
  local err -- the failure that made the outcome a question, if any

  -- Ask the status endpoint; returns a final answer, or nothing when a (re)send may go.
  local function settle()
    local verdict, st_payload, st_res = lookup(client, row, req.fields)
    log.emit(cfg, "warn", "reconcile", { endpoint = row.name, reference = ref, verdict = verdict,
                                         cause = err and err.kind or "resumed" })
    if verdict == "applied" then
      st_res.reference, st_res.reconciled, st_res.cause = ref, true, err and err.kind
      return true, st_payload, st_res
    elseif verdict == "failed" then
      return true, nil, errors.new("api", row.name .. " failed: status " .. tostring(st_payload.status),
        { endpoint = row.name, reference = ref, reconciled = true, retryable = false })
    elseif verdict ~= "absent" or duplicate_seen then
      return true, unknown(row, ref, err or { kind = "interrupted" }, st_payload)
    end
    if sends >= cfg.max_sends then
      err.reconciled = true -- the status endpoint says it never took effect
      return true, nil, err
    end
  end

  if opts.lookup_first then
    local final, a, b = settle()
    if final then return a, b end
  end
  while true do
    sends = sends + 1
    opts.attempt = sends
    local payload, res = pipeline.send(client, row, req, opts)
    if payload then
      res.reference = ref
      return payload, res
    end
    err = res
    err.reference = ref
    if retry.not_processed(err) then
      -- Refused before the application saw it: the same request may go again.
      if sends >= cfg.max_sends then return nil, err end
      client.transport:sleep(retry.delay(cfg, sends, err))
    else
      local dup = err.kind == "api" and sends > 1 and tostring(err.message):find(cfg.duplicate_pattern)
      if not (retry.ambiguous(err) or dup) then return nil, err end
      duplicate_seen = duplicate_seen or dup
      if cfg.reconcile_delay > 0 then client.transport:sleep(cfg.reconcile_delay) end
      local final, a, b = settle()
      if final then return a, b end
    end
  end
end

return M
