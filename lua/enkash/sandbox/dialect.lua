--- Response dialects: the shapes the sandbox answers in. Enkash's portal shows several shapes
-- on sibling products under the same base path, and a client must read them all; the option
-- `dialect` (a preset name of `M.DIALECTS`, or a table giving some of its four dimensions, the
-- rest from "enkash") makes the sandbox speak one of them. This module owns the shaping:
-- handlers return records and let `ok`, `fail`, `lookup` and `search` dress them.
--
-- Dimensions:
-- - `envelope`: "response_code" (`response_code`/`response_message`/`payload`) | "code"
--   (`code`/`message`/`payload`), on success and failure alike.
-- - `lookups`: how the lookup and search rows answer (wallet.transaction, transfers.status,
--   merchant.settlement_status, wallet.details, transfers.search_beneficiaries): "object" (the
--   record; a miss is a failure), "object_null" (a miss is success with a null payload),
--   "page" (`{recordsCount, data}`), "list" (a bare array; the three transaction lookups then
--   answer every record in their scope, newest first, at most `M.LIST_MAX`, whatever the
--   reference asked for).
-- - `pending`: a new load or transfer record reports "CREATED" for its first N status lookups.
-- - `errors`: "string" | "spring" (HTTP 4xx Spring error body) | "payouts" (Payouts' response
--   codes) | "message_only" (code 1, the message once, payload null).
--
-- Assumptions (the portal shows the shapes, not which product uses which, nor every detail):
-- the mapping of a message to a Spring status or a Payouts code is by its wording (below);
-- a Spring body's timestamp is the sandbox's wall clock in UTC with milliseconds; a wallet
-- lookup's own wallet check ("Wallet not found" on wallet.transaction) stays a failure in
-- every dialect, since the wallet is the scope of the lookup, not the record looked up; a
-- record's pending count is fixed when it is created, from the dialect in force then; a
-- `report` override wins over CREATED.
-- @module enkash.sandbox.dialect

local json = require "enkash.json"
local money = require "enkash.money"
local books = require "enkash.sandbox.books"
local clock = require "enkash.sandbox.clock"
local http = require "enkash.sandbox.http"

local type, pairs, ipairs, tostring, floor = type, pairs, ipairs, tostring, math.floor
local format, lower, find, concat = string.format, string.lower, string.find, table.concat

local M = {}

--- The presets, by name. A table value of the option gives a subset of these dimensions.
M.DIALECTS = {
  -- today's shape: the Wallet pages' response_code envelope, message as payload (docs/enkash-api.md §3.3)
  enkash = { envelope = "response_code", lookups = "object", pending = 0, errors = "string" },
  -- the code/message envelope of sibling pages (Rewards allocation, https://docs.enkash.com/doc-1039425)
  code = { envelope = "code", lookups = "object_null", pending = 1, errors = "string" },
  -- Petty Cash Get User Handle Details, {recordsCount, data} (https://docs.enkash.com/api-24480521)
  paged = { envelope = "code", lookups = "page", pending = 1, errors = "string" },
  -- card Get Transaction Details: a search answering lists, example status CREATED
  -- (https://docs.enkash.com/api-13551023)
  list = { envelope = "response_code", lookups = "list", pending = 2, errors = "string" },
  -- Spring Boot's default error body at HTTP 4xx (as the sandbox's own 400/415 answers are)
  spring = { envelope = "response_code", lookups = "object", pending = 0, errors = "spring" },
  -- Payouts' response codes 409/412/422 (https://docs.enkash.com/folder-4264617)
  payouts = { envelope = "response_code", lookups = "object", pending = 0, errors = "payouts" },
  -- Assumption: an odd server that gives the message once and a null payload
  terse = { envelope = "response_code", lookups = "object", pending = 0, errors = "message_only" },
}

--- The preset names, in a fixed order (for specs that loop over them).
M.names = { "enkash", "code", "paged", "list", "spring", "payouts", "terse" }

--- The values each dimension takes (`pending` is any whole number >= 0).
M.CHOICES = {
  envelope = { "response_code", "code" },
  lookups = { "object", "object_null", "page", "list" },
  errors = { "string", "spring", "payouts", "message_only" },
}

--- The default preset.
M.DEFAULT = "enkash"
--- The most records a "list" lookup answers.
M.LIST_MAX = 50
--- The status a pending load or transfer reports (the card transaction page's example).
M.CREATED = "CREATED"

local function one_of(list, v)
  for _, x in ipairs(list) do
    if x == v then return true end
  end
  return false
end

local WHY = "a preset name (" .. concat(M.names, ", ") .. ") or a table of envelope ("
  .. concat(M.CHOICES.envelope, " | ") .. "), lookups (" .. concat(M.CHOICES.lookups, " | ")
  .. "), pending (a whole number >= 0), errors (" .. concat(M.CHOICES.errors, " | ") .. ")"

--- Check a value of the option `dialect`.
-- @param v a preset name or a table of dimensions
-- @treturn boolean true when valid
-- @treturn string what a valid value is
function M.check(v)
  if type(v) == "string" then return M.DIALECTS[v] ~= nil, WHY end
  if type(v) ~= "table" then return false, WHY end
  for k, x in pairs(v) do
    if k == "pending" then
      if type(x) ~= "number" or x ~= x or x < 0 or x == math.huge or floor(x) ~= x then return false, WHY end
    elseif not M.CHOICES[k] or not one_of(M.CHOICES[k], x) then
      return false, WHY
    end
  end
  return true, WHY
end

--- A checked value as a fresh, full table of the four dimensions (the missing ones from "enkash").
-- @param v a preset name or a table of dimensions (nil: the default)
-- @treturn table {envelope, lookups, pending, errors}
function M.resolve(v)
  local out = {}
  for k, x in pairs(M.DIALECTS[M.DEFAULT]) do out[k] = x end
  local given = type(v) == "string" and M.DIALECTS[v] or v
  if type(given) == "table" then
    for k, x in pairs(given) do out[k] = x end
  end
  return out
end

-- The dialect in force (sandbox.new and config keep it resolved).
local function of(sb)
  return sb.opts.dialect or M.DIALECTS[M.DEFAULT]
end

local function envelope(d, code, message, payload)
  if d.envelope == "code" then return { code = code, message = message, payload = payload } end
  return { response_code = code, response_message = message, payload = payload }
end

--- The success envelope in force.
-- @tparam table sb
-- @param payload any JSON value (json.null for a null payload)
-- @treturn table envelope
function M.ok(sb, payload)
  return envelope(of(sb), 0, "Success", payload)
end

local function has(msg, text)
  return find(lower(msg), text, 1, true) ~= nil
end

--- The HTTP status of a failure under errors = "spring", by its wording. Assumption: a miss
-- is a 404, a duplicate reference a 409 (Spring's Conflict), anything else a 400.
-- @tparam string msg
-- @treturn number 404 | 409 | 400
function M.spring_status(msg)
  if has(msg, "not found") then return 404 end
  if has(msg, "already exists") then return 409 end
  return 400
end

-- The wordings of enkash.sandbox.fields' refusals.
local FIELD_ERRORS = { " is required", " is invalid", " must ", " is too large" }

--- The response code of a failure under errors = "payouts", by its wording: 409 for a
-- duplicate ("already exists"), 422 for a field error (enkash.sandbox.fields: "is required",
-- "is invalid", "must ...", and "is too large"), 412 for a wrong company or partner, 1
-- otherwise. Assumption: Payouts' 403 (APIs not enabled) has no cause in the sandbox.
-- @tparam string msg
-- @treturn number
function M.payouts_code(msg)
  if has(msg, "already exists") then return 409 end
  for _, field_error in ipairs(FIELD_ERRORS) do
    if has(msg, field_error) then return 422 end
  end
  if has(msg, "invalid companyid") or has(msg, "invalid partner") then return 412 end
  return 1
end

-- "2026-12-02T10:00:00.000+00:00": Spring's default format, in UTC.
local function timestamp(sb)
  local w = clock.wall(sb)
  local s = floor(w)
  return os.date("!%Y-%m-%dT%H:%M:%S", s) .. format(".%03d+00:00", floor((w - s) * 1000))
end

--- An application failure in the dialect in force: the HTTP status and the body. Status 200
-- means the body is an envelope (encrypted like the request by the caller); any other status
-- is a Spring error body, sent as plain JSON.
-- @tparam table sb
-- @tparam string msg the sandbox's message
-- @tparam table req the request (its path goes into a Spring body)
-- @treturn number HTTP status
-- @treturn table body
function M.fail(sb, msg, req)
  local d = of(sb)
  if d.errors == "spring" then
    local status = M.spring_status(msg)
    return status, { timestamp = timestamp(sb), status = status, error = http.reasons[status],
                     message = msg, path = req and req.path or "" }
  elseif d.errors == "payouts" then
    return 200, envelope(d, M.payouts_code(msg), msg, msg)
  elseif d.errors == "message_only" then
    return 200, envelope(d, 1, msg, json.null)
  end
  return 200, envelope(d, 1, msg, msg)
end

local function views(list, view)
  local out = {}
  for i, rec in ipairs(list) do out[i] = view(rec) end
  return json.array(out)
end

--- Shape the answer of a single-record lookup.
-- @tparam table sb
-- @tparam table q {found = record | nil, view = function(record) -> table, missing = the
-- failure message of a miss, all = function() -> records newest first (lookups = "list";
-- default: the found record alone)}
-- @return payload (a table or json.null), or nil and the message of a miss
function M.lookup(sb, q)
  local mode = of(sb).lookups
  local found = q.found
  if mode == "list" then
    local list = q.all and q.all() or { found }
    return views(list, q.view)
  elseif mode == "page" then
    local data = views({ found }, q.view)
    return { recordsCount = #data, data = data }
  elseif found then
    return q.view(found)
  elseif mode == "object_null" then
    return json.null
  end
  return nil, q.missing
end

--- Shape the answer of a search (a list of matches, possibly empty).
-- @tparam table sb
-- @tparam table list the matches, already as JSON tables
-- @tparam function wrap fn(json.array) -> the object-mode payload (today's shape)
-- @return payload
function M.search(sb, list, wrap)
  local mode = of(sb).lookups
  local arr = json.array(list)
  if mode == "list" then return arr end
  if mode == "page" then return { recordsCount = #arr, data = arr } end
  return wrap(arr)
end

--- Give a new load or transfer record its pending count (from the dialect in force now).
-- @tparam table sb
-- @tparam table rec
function M.hold(sb, rec)
  local n = of(sb).pending
  if n > 0 then rec.hold = n end
end

--- The status and amount (paise) a lookup shows for a record: its `report` override, else
-- "CREATED" while its pending count lasts, else the real ones. Counts one lookup.
-- @tparam table sb
-- @tparam table rec a load, transfer or settlement record
-- @treturn string status
-- @treturn number paise
function M.shown(sb, rec)
  local status, paise = rec.status, rec.amount
  if rec.hold then
    status = M.CREATED
    rec.hold = rec.hold > 1 and rec.hold - 1 or nil
  end
  local r = sb.state.reports[rec.reference]
  if r then return r.status or status, r.amount or paise end
  return status, paise
end

-- report {reference, status?, amount?, clear?}: what the lookups report for a record,
-- whatever the books say (a hostile or odd server); the ledger is not touched. status is any
-- non-empty word, amount rupees as enkash.money reads them; each call sets the fields it
-- gives; clear = true removes the override.
local function report(sb, args)
  local ref = args.reference
  if type(ref) ~= "string" or not books.record(sb, ref) then
    return nil, "unknown reference: " .. tostring(ref)
  end
  local reports = sb.state.reports
  if args.clear == true then
    reports[ref] = nil
    return { reference = ref, cleared = true }
  end
  local status, amount = args.status, args.amount
  if status == nil and amount == nil then return nil, "status, amount or clear = true is required" end
  if status ~= nil and (type(status) ~= "string" or status == "") then
    return nil, "status must be a non-empty string"
  end
  local paise
  if amount ~= nil then
    local why
    paise, why = money.paise(amount)
    if not paise then return nil, "amount " .. why end
  end
  local r = reports[ref] or {}
  r.status = status or r.status
  r.amount = paise or r.amount
  reports[ref] = r
  return { reference = ref, status = r.status, amount = r.amount and money.text(r.amount) }
end

--- Control calls of this module.
M.controls = {
  report = { method = "POST", fn = report },
}

return M
