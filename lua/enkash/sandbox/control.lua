--- The sandbox control API: plain JSON under /_sandbox/<name>, no auth, and in-process as
-- `sb:control(name, args)`. Every call is one row of `M.calls`; the books' modules bring
-- their own rows (advance, wallet, transfer, settlement, vkyc, webhook, ledger,
-- notifications, report). Over HTTP the API answers only when the sandbox was created with
-- `control = true` (403 otherwise): a sandbox reachable by others must not be steerable.
-- @module enkash.sandbox.control

local http = require "enkash.sandbox.http"
local json = require "enkash.json"
local faults = require "enkash.sandbox.faults"
local device = require "enkash.sandbox.device"
local state = require "enkash.sandbox.state"
local options = require "enkash.sandbox.options"
local books = require "enkash.sandbox.books"
local dialect = require "enkash.sandbox.dialect"

local type, pairs, tostring = type, pairs, tostring
local sub = string.sub

local M = {}

--- The URL prefix of the control API.
M.PREFIX = "/_sandbox/"

--- Option checks of the `config` call: name -> fn(v) -> ok, why (enkash.sandbox.options).
M.option_checks = options.config

--- Check one option value that `config` may change.
-- @tparam string name option name
-- @param v value
-- @treturn boolean|nil true when valid
-- @treturn[opt] string error message
function M.check_option(name, v)
  return options.check(name, v)
end

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

-- Forget all state (tokens, lockouts, bindings, the books, faults, log, stats); keep the
-- options, fund the partner accounts afresh and keep the clock's offset (time only moves on).
local function reset(sb)
  sb:reset_state()
  return { ok = true }
end

-- Change options (enkash.sandbox.options.config). All are checked before any is applied.
-- `limits` is laid over the limits in force; `accounts` sets the listed partner accounts to
-- those balances (by ledger entries from "funding") and leaves the others; `dialect` (a
-- preset name or a subset of its dimensions) is kept as the full table it resolves to.
-- Answers the options now in force.
local function config(sb, args)
  local ok, err = options.check_all(args)
  if not ok then return nil, err end
  for k, v in pairs(args) do
    if k == "limits" then
      sb.opts.limits = options.merge_limits(sb.opts.limits, v)
    elseif k == "dialect" then
      sb.opts.dialect = dialect.resolve(v) -- a name or a subset, in force as a full table
    elseif k == "accounts" then
      for id, paise in pairs(v) do sb.opts.accounts[id] = paise end
      books.fund(sb, v)
    else
      sb.opts[k] = v
    end
  end
  local out = {}
  for k in pairs(options.config) do out[k] = sb.opts[k] end
  out.webhook_secret = nil -- a secret is set, never read back
  return out
end

-- Queue a fault: {endpoint = "device.status" | "*", kind =, count =, delay =, message =,
-- status =, body =, content_type =, retry_after =}.
local function fault(sb, args)
  local f, err = faults.check(args, function(ep) return sb:known_endpoint(ep) end)
  if not f then return nil, err end
  local list = sb.state.faults
  list[#list + 1] = f
  return { ok = true, pending = #list }
end

-- Set a binding's status now: {deviceId =, status = "Bound" (default bound_status) | "Failed"
-- | "Pending"}. An unknown deviceId gets a binding.
local function set_device(sb, args)
  local id, status = args.deviceId, args.status
  if type(id) ~= "string" or id == "" then return nil, "deviceId is required" end
  if status == nil then status = sb.opts.bound_status end
  if type(status) ~= "string" or status == "" then return nil, "status must be a non-empty string" end
  local b = sb.state.devices[id]
  if b then b.status = status else device.put(sb, id, status) end
  return { deviceId = id, status = status }
end

-- Counters: token_requests, api_requests, control_requests, requests, connections (distinct
-- connection ids of API and token requests), devices, pending_faults.
local function stats(sb)
  return state.stats(sb.state)
end

-- The request log: {entries = [{method, path, conn, status, endpoint, encrypted, fault}]}.
local function log(sb)
  local entries = {}
  for i, e in ipairs(sb.state.log) do entries[i] = copy(e) end
  return { entries = json.array(entries) }
end

--- Control calls by name, each `{method = <HTTP method>, fn = <handler>}`; a handler takes
-- (sb, args) and gives a result table, or nil and a message.
M.calls = {
  reset = { method = "POST", fn = reset },
  config = { method = "POST", fn = config },
  fault = { method = "POST", fn = fault },
  device = { method = "POST", fn = set_device },
  stats = { method = "GET", fn = stats },
  log = { method = "GET", fn = log },
}
for _, name in ipairs({ "clock", "books", "wallet", "vkyc", "transfers", "merchant", "notify", "dialect" }) do
  for k, c in pairs(require("enkash.sandbox." .. name).controls) do M.calls[k] = c end
end

--- Run a control call in-process.
-- @tparam table sb the sandbox
-- @tparam string name a key of `M.calls`
-- @tparam[opt] table args
-- @treturn table|nil result
-- @treturn[opt] string error message
function M.call(sb, name, args)
  local c = M.calls[name]
  if not c then return nil, "unknown control call: " .. tostring(name) end
  if args ~= nil and type(args) ~= "table" then return nil, "arguments must be a table" end
  sb:tick() -- a control call sees (and changes) settlements and VKYC sessions as of now
  return c.fn(sb, args or {})
end

--- The name of the control call a path addresses, or nil when the path is not under PREFIX.
-- @tparam string path
-- @treturn string|nil name
function M.name(path)
  if sub(path, 1, #M.PREFIX) ~= M.PREFIX then return nil end
  return sub(path, #M.PREFIX + 1)
end

--- Serve a control call over HTTP: 200 with the JSON result, 400 {"error"} on bad arguments,
-- 403 when the sandbox was not created with control = true, 404 for an unknown call, 405 for
-- a wrong method.
-- @tparam table sb the sandbox
-- @tparam table req the request
-- @treturn table response
function M.http(sb, req)
  if not sb.opts.control then
    return http.json(403, { status = 403, error = "Forbidden",
      message = "the control API is off: create the sandbox with control = true (enkash sandbox --control)" })
  end
  local name = M.name(req.path)
  local c = M.calls[name]
  if not c then return http.json(404, { error = "Not Found", status = 404, path = req.path }) end
  if req.method ~= c.method then
    return http.json(405, { error = "Method Not Allowed", status = 405 }, { allow = c.method })
  end
  local args = {}
  if req.body and req.body:match("%S") then
    args = http.json_object(req.body)
    if not args then return http.json(400, { error = "body must be a JSON object" }) end
  end
  local out, err = M.call(sb, name, args)
  if not out then return http.json(400, { error = err }) end
  return http.json(200, out)
end

return M
