--- The sandbox control API: plain JSON under /_sandbox/<name>, no auth, and in-process as
-- `sb:control(name, args)`. Every call is one row of `M.calls`.
-- @module enkash.sandbox.control

local http = require "enkash.sandbox.http"
local faults = require "enkash.sandbox.faults"
local device = require "enkash.sandbox.device"
local state = require "enkash.sandbox.state"

local type, pairs, tostring = type, pairs, tostring
local sub = string.sub

local M = {}

--- The URL prefix of the control API.
M.PREFIX = "/_sandbox/"

local function is_number(v) return type(v) == "number" and v == v end

--- Option checks of the `config` call (also used by sandbox.new): name -> fn(v) -> ok, why.
M.option_checks = {
  token_ttl = function(v) return is_number(v) and v > 0, "a number of seconds > 0" end,
  bind_delay = function(v) return v == false or (is_number(v) and v >= 0), "seconds >= 0, or false" end,
  bound_status = function(v) return type(v) == "string" and v ~= "", "a non-empty string" end,
  token_style = function(v) return v == "snake" or v == "camel", '"snake" or "camel"' end,
  encryption = function(v) return v == "auto" or v == "required", '"auto" or "required"' end,
  lockout_after = function(v) return is_number(v) and v >= 1, "a number >= 1" end,
}

--- Check one option value.
-- @tparam string name option name
-- @param v value
-- @treturn boolean|nil true when valid
-- @treturn[opt] string error message
function M.check_option(name, v)
  local check = M.option_checks[name]
  if not check then return nil, "unknown option: " .. tostring(name) end
  local ok, why = check(v)
  if not ok then return nil, name .. " must be " .. why end
  return true
end

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

-- Forget all state (tokens, lockouts, bindings, faults, log, stats); keep the options.
local function reset(sb)
  sb.state = state.new()
  return { ok = true }
end

-- Change options: token_ttl, bind_delay, bound_status, token_style, encryption, lockout_after.
-- All are checked before any is applied. Answers the options now in force.
local function config(sb, args)
  for k, v in pairs(args) do
    local ok, err = M.check_option(k, v)
    if not ok then return nil, err end
  end
  for k, v in pairs(args) do sb.opts[k] = v end
  local out = {}
  for k in pairs(M.option_checks) do out[k] = sb.opts[k] end
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
  return { entries = entries }
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
-- 404 for an unknown call, 405 for a wrong method.
-- @tparam table sb the sandbox
-- @tparam table req the request
-- @treturn table response
function M.http(sb, req)
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
  local res = http.json(200, out)
  if name == "log" and #out.entries == 0 then res.body = '{"entries":[]}' end
  return res
end

return M
