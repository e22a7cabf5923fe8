--- Device binding in the sandbox, keyed by deviceId.
-- Generate records a binding as "Pending"; status answers "Pending" until `bind_delay`
-- seconds have passed since generate, then `bound_status` (only "Pending" is documented,
-- docs/enkash-api.md §4.2; the bound value is an assumption). The control call `device` binds or
-- fails a binding at once.
-- @module enkash.sandbox.device

local type = type

local M = {}

--- The status value of a failed binding (an assumption; set by the control call only).
M.FAILED = "Failed"
--- The status value of a pending binding (documented).
M.PENDING = "Pending"

-- Fields kept with a binding (never logged). Other request fields are ignored.
local kept = { "mobileNumber", "deviceImei", "platform", "model", "manufracture", "osVersion",
               "appVersion", "simProvider", "deviceIp" }

-- Move a pending binding to the bound status once bind_delay has passed.
local function advance(sb, b)
  local delay = sb.opts.bind_delay
  if b.status == M.PENDING and type(delay) == "number" and sb.clock() - b.created >= delay then
    b.status = sb.opts.bound_status
  end
  return b.status
end

--- Create (or overwrite) a binding with a status, for generate and the control call.
-- @tparam table sb the sandbox
-- @tparam string device_id
-- @tparam string status
-- @tparam[opt] table body the request body, whose device fields are kept
-- @treturn table binding
function M.put(sb, device_id, status, body)
  local b = { status = status, created = sb.clock() }
  for _, k in ipairs(kept) do
    if body and body[k] ~= nil then b[k] = body[k] end
  end
  sb.state.devices[device_id] = b
  return b
end

-- device.generate: record a Pending binding. Generating again for a known device answers its
-- current status without restarting the clock; a Failed binding starts over as Pending.
local function generate(sb, body)
  local id = body.deviceId
  local b = sb.state.devices[id]
  if b and advance(sb, b) ~= M.FAILED then
    return { status = b.status }
  end
  b = M.put(sb, id, M.PENDING, body)
  return { status = b.status }
end

-- device.status: the binding's status, advanced by the clock; unknown devices fail.
local function status(sb, body)
  local b = sb.state.devices[body.deviceId]
  if not b then return nil, "Device binding not found" end
  return { status = advance(sb, b) }
end

--- Handlers by catalogue row name: `fn(sb, body, req)` gives a payload table, or nil and a
-- message (answered as response_code 1).
M.handlers = {
  ["device.generate"] = generate,
  ["device.status"] = status,
}

return M
