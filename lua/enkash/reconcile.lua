--- Money-moving calls: success only when Enkash shows a record of it, matched by reference.
-- Each call carries a unique reference (generated when the caller gives none) that is kept
-- on every resend. Its answer is believed only when it is the record of that reference with a
-- succeeded status; otherwise (an ambiguous failure: timeout after send, reset, garbage, 5xx,
-- a 401; "already exists" for our reference; an answer in doubt) the status endpoint is asked
-- about the reference before anything else happens. The record is found by reference in an
-- object, a list or a page (enkash.envelope.records) and read through the row's status
-- vocabulary (assumptions.status_words):
--   succeeded, same amount -> success, answered from the record (`response.reconciled`);
--   failed                 -> an `api` error, code `transaction_failed`, `err.status`;
--   pending                -> asked again within the call's deadline, then unknown_outcome;
--   unknown word, another amount, several records, records that name no reference, a
--   status endpoint that cannot answer -> `unknown_outcome` with `err.reference`;
--   no record of it        -> it never took effect: sent again (same reference), up to
--                             max_sends; unknown_outcome when the server said it exists.
-- @module enkash.reconcile

local catalogue = require "enkash.catalogue"
local cjson = require "cjson.safe"
local core = require "enkash.core"
local envelope = require "enkash.envelope"
local errors = require "enkash.errors"
local log = require "enkash.log"
local money = require "enkash.money"
local retry = require "enkash.retry"
local validate = require "enkash.validate"

local type, tostring, tonumber, format, byte, find, pairs, ipairs = type, tostring, tonumber, string.format,
  string.byte, string.find, pairs, ipairs
local concat, upper, min = table.concat, string.upper, math.min
local null = cjson.null

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

-- How a record relates to the reference: "match", "other" (names another reference) or
-- "anonymous" (names none of the match fields).
local function relation(record, fields, ref)
  local named = false
  for _, f in ipairs(fields) do
    local v = record[f]
    if v ~= nil and v ~= null then
      -- a reference of digits may come back as a JSON number (123456 -> 123456.0)
      if v == ref or (type(v) == "number" and find(ref, "^%d+$") and tonumber(ref) == v) then
        return "match"
      end
      named = true
    end
  end
  return named and "other" or "anonymous"
end

-- The records of `payload` that carry `ref`: the last one, how many, and how many name no
-- reference at all.
local function find_record(payload, fields, ref)
  local found, n, anonymous = nil, 0, 0
  for _, r in ipairs(envelope.records(payload)) do
    local rel = relation(r, fields, ref)
    if rel == "match" then
      n = n + 1
      found = r
    elseif rel == "anonymous" then
      anonymous = anonymous + 1
    end
  end
  return found, n, anonymous
end

-- Every record field that holds a reference in some status answer (the catalogue's).
local ALL_FIELDS = {}
do
  local seen = {}
  for _, row in ipairs(catalogue.rows) do
    for _, f in ipairs(row.status and row.status.match or {}) do
      if not seen[f] then
        seen[f] = true
        ALL_FIELDS[#ALL_FIELDS + 1] = f
      end
    end
  end
end

--- The record of a reference in a status or search answer, whatever its shape (an object,
-- a list, a page): for partners' own lookups, e.g. a daily report over `transfers:status`.
-- @param payload the answer's payload
-- @tparam string ref the reference
-- @tparam[opt] table fields the record fields that may hold it (default: every one the
-- catalogue's status lookups use)
-- @treturn table|nil the one record carrying `ref`
-- @treturn[opt] string why there is none: "absent", "several records", "no record names a reference"
function M.record(payload, ref, fields)
  local found, n, anonymous = find_record(payload, fields or ALL_FIELDS, ref)
  if n == 1 then return found end
  if n > 1 then return nil, "several records" end
  if anonymous > 0 then return nil, "no record names a reference" end
  return nil, "absent"
end

--- Why `read` answers "unknown" for a record of the reference that carries no status word.
M.NO_STATUS = "the record has no status"

--- Read a status answer about one reference.
-- @param payload the lookup's payload (object, list, page, nil)
-- @tparam table spec {match = fields, words = vocabulary (sets), amount = field}
-- @tparam string ref
-- @tparam[opt] number paise the amount the call sent, in paise
-- @treturn string verdict "succeeded" | "pending" | "failed" | "absent" | "unknown"
-- @treturn[opt] table the matching record
-- @treturn[opt] string why (for "unknown")
function M.read(payload, spec, ref, paise)
  local found, n, anonymous = find_record(payload, spec.match, ref)
  if n > 1 then return "unknown", nil, n .. " records carry the reference" end
  if not found then
    if anonymous > 0 then return "unknown", nil, "the records name no reference" end
    return "absent"
  end
  local amount_field = spec.amount
  if paise and amount_field and found[amount_field] ~= nil and found[amount_field] ~= null
    and found[amount_field .. "_paise"] ~= paise then
    return "unknown", found, "the record carries another amount"
  end
  local word = found.status
  word = type(word) == "string" and upper(word) or nil
  local v = spec.words
  if word and v.succeeded[word] then return "succeeded", found end
  if word and v.pending[word] then return "pending", found end
  if word and v.failed[word] then return "failed", found end
  return "unknown", found, word and ("status " .. word .. " is not a known word") or M.NO_STATUS
end

-- The amount the call sent, in paise (the row's amount field), or nil.
local function sent_paise(row, fields)
  for _, f in ipairs(row.fields or {}) do
    if f.type == "amount" then
      local text = validate.value(fields, f.name)
      return text and money.exact(tostring(text)) or nil
    end
  end
end

-- The row's status spec with its vocabulary resolved from config.
local function spec_of(cfg, row)
  local st = row.status
  return { match = st.match or { row.reference }, amount = st.amount,
           words = cfg.words[st.words or "transaction"] }
end

-- Ask the status endpoint once (through the caller's `lookup`). Returns verdict, record | err, why.
local function lookup(ctx, fields, paise)
  local row = ctx.row
  local params = {}
  for status_field, own_field in pairs(row.status.params) do
    params[status_field] = validate.value(fields, own_field)
  end
  local payload, res = ctx.lookup(row.status.endpoint, params)
  if payload then
    local verdict, record, why = M.read(payload, spec_of(ctx.cfg, row), ctx.ref, paise)
    return verdict, record, why, res
  end
  if res.code == "not_found" then return "absent" end
  return "unavailable", res
end

local function unknown(row, ref, cause, why, word)
  return nil, errors.new("unknown_outcome",
    "outcome of " .. row.name .. " is unknown: " .. cause .. "; " .. why
      .. "; check again later with reference " .. ref,
    { endpoint = row.name, reference = ref, status = word, retryable = false })
end

--- Perform a money-moving call with reconciliation. Sends and lookups are the caller's
-- (enkash.pipeline's) functions: this module decides when, never how.
-- With `opts.lookup_first` (a resumed runbook whose journal holds the reference but not the
-- outcome) the status endpoint is asked before anything is sent.
-- @tparam table ctx {row, req (from the pipeline's build), ref, opts (lookup_first), cfg,
-- deadline (enkash.deadline), send = function(attempt) -> payload, res | nil, err,
-- lookup = function(name, params) -> payload, res | nil, err, now, sleep}
-- @return payload: the call's answer, or the matching status record when reconciled
-- @treturn table response (with `reference`, and `reconciled = true` when answered from the
-- status endpoint) or the error (with `reference`)
function M.call(ctx)
  local cfg, row, req, ref, deadline = ctx.cfg, ctx.row, ctx.req, ctx.ref, ctx.deadline
  local now, sleep = ctx.now, ctx.sleep
  local paise = sent_paise(row, req.fields)
  local sends = 0
  local no_resend = false -- the server said the reference exists, or answered success
  local err               -- the failure that made the outcome a question, if any
  local cause = "a resumed run did not record it"

  -- Wait for a pending record, within the call's deadline (or pending_wait).
  local function wait_pending(tries, first_pending)
    local delay = cfg.pending_interval * 1.5 ^ (tries - 1)
    if deadline.ends then return deadline:sleep(delay) end
    local limit = first_pending + cfg.pending_wait
    local t = now()
    if t + delay > limit then return false end
    sleep(min(delay, limit - t))
    return true
  end

  -- Ask the status endpoint; returns true and a final answer, or nothing when a (re)send may go.
  local function settle()
    local tries, first_pending = 0, nil
    while true do
      tries = tries + 1
      local verdict, rec, why, st_res = lookup(ctx, req.fields, paise)
      log.emit(cfg, "warn", "reconcile", { endpoint = row.name, reference = ref, verdict = verdict,
                                           cause = cause })
      if verdict == "succeeded" then
        st_res.reference, st_res.reconciled, st_res.cause = ref, true, err and err.kind
        st_res.record_status = rec.status
        return true, rec, st_res
      elseif verdict == "failed" then
        return true, nil, errors.new("api", row.name .. " failed: status " .. tostring(rec.status), {
          endpoint = row.name, reference = ref, reconciled = true, retryable = false,
          code = "transaction_failed", status = rec.status })
      elseif verdict == "pending" then
        first_pending = first_pending or now()
        if not wait_pending(tries, first_pending) then
          return true, unknown(row, ref, cause, "the record is still " .. tostring(rec.status), rec.status)
        end
      elseif verdict == "unknown" then
        return true, unknown(row, ref, cause, "the status answer is in doubt (" .. why .. ")",
          rec and type(rec.status) == "string" and rec.status or nil)
      elseif verdict == "unavailable" then
        local why_not = "the status endpoint could not tell (" .. tostring(rec.kind) .. ")"
        return true, unknown(row, ref, cause, why_not)
      elseif no_resend then -- absent, but the server said it exists or answered success
        return true, unknown(row, ref, cause, "the status endpoint has no record of it")
      elseif sends >= cfg.max_sends then
        err.reconciled = true -- the status endpoint says it never took effect
        return true, nil, err
      else
        return false
      end
    end
  end

  if ctx.opts.lookup_first then
    local final, a, b = settle()
    if final then return a, b end
  end
  local decision = { money = true, attempt = 0, attempts = cfg.max_sends }
  while true do
    sends = sends + 1
    local payload, res = ctx.send(sends)
    if payload then
      res.reference = ref
      -- The answer itself: believed when it is our record and says succeeded (or says nothing).
      -- A success answer names no status vocabulary of its own: the transaction words read it.
      local verdict, rec, why = M.read(payload, { match = row.status.match or { row.reference },
        amount = row.status.amount, words = cfg.words.transaction }, ref, paise)
      if verdict == "succeeded" or (verdict == "unknown" and why == M.NO_STATUS) then
        return payload, res
      elseif verdict == "failed" then
        return nil, errors.new("api", row.name .. " failed: status " .. tostring(rec.status), {
          endpoint = row.name, reference = ref, retryable = false, code = "transaction_failed",
          status = rec.status })
      end
      -- pending, another reference or amount, no record: Enkash answered, ask it again, and
      -- never send again (it said success once).
      no_resend, cause = true, "the answer was in doubt (" .. (why or verdict) .. ")"
      local final, a, b = settle()
      if final then return a, b end
    else
      err = res
      err.reference = ref
      decision.attempt = sends
      local action = retry.decide(err, decision)
      if action == "retry" then
        -- Refused before the application saw it: the same request may go again.
        if not deadline:sleep(retry.delay(cfg, sends, err)) then return nil, err end
      elseif action == "reconcile" then
        local dup = err.code == "duplicate_reference"
        no_resend = no_resend or dup
        cause = "the call failed (" .. err.kind .. (dup and ", already exists" or "") .. ")"
        if cfg.reconcile_delay > 0 then deadline:wait(cfg.reconcile_delay) end
        local final, a, b = settle()
        if final then return a, b end
      else
        return nil, err
      end
    end
  end
end

return M
