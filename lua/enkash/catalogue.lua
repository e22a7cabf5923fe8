--- The endpoint catalogue: every Enkash endpoint as one row of data.
-- The client builds its API groups from these rows and the sandbox serves the same rows,
-- so adding an endpoint means adding a row here, not writing a function.
--
-- Row fields:
--   name        "group.method", e.g. "device.status"; the client exposes client.group:method()
--   method      HTTP method
--   host        "api" (base_url) or "auth" (auth_url)
--   path        path appended to the host's URL
--   fields      ordered list of body fields: {name, type, required, check}
--               check names a validator in enkash.validate
--   money       true when the call moves money (never blindly retried)
--   reference   the body field holding the call's unique reference, for reconciliation
--   documented  true when the portal shows method and path; false rows carry `assumption`
--   source      where the row comes from
-- @module enkash.catalogue

local M = {}

-- The ten documented device fields, shared by generate and status (seed-device-binding-status.txt).
local device_fields = {
  { name = "deviceId",     type = "string", required = true, check = "nonempty" },
  { name = "appVersion",   type = "string", required = true, check = "nonempty" },
  { name = "osVersion",    type = "string", required = true, check = "nonempty" },
  { name = "model",        type = "string", required = true, check = "nonempty" },
  { name = "manufracture", type = "string", required = true, check = "nonempty" }, -- sic, as documented
  { name = "platform",     type = "string", required = true, check = "platform" },
  { name = "simProvider",  type = "string", required = true, check = "nonempty" },
  { name = "mobileNumber", type = "string", required = true, check = "mobile" },
  { name = "deviceIp",     type = "string", required = true, check = "ip" },
  { name = "deviceImei",   type = "string", required = true, check = "imei" },
}

--- All rows, in the portal's order.
M.rows = {
  {
    name = "auth.token", method = "POST", host = "auth", path = "",
    form = true, documented = true,
    source = "REFERENCE.md §4.3, https://docs.enkash.com/api-19199701",
  },
  {
    name = "device.generate", method = "POST", host = "api",
    path = "/api/v1/partner/device-bind/generate",
    fields = device_fields, documented = false,
    assumption = "only the navigation entry of Generate Device Binding exists; the path follows "
      .. "its documented sibling /api/v1/partner/device-bind/status, the body reuses its fields",
    source = "REFERENCE.md §4.1, https://docs.enkash.com/api-27571417",
  },
  {
    name = "device.status", method = "POST", host = "api",
    path = "/api/v1/partner/device-bind/status",
    fields = device_fields, documented = true,
    source = "seed-device-binding-status.txt, https://docs.enkash.com/api-27571417",
  },
}

--- Rows indexed by name.
M.by_name = {}
for _, row in ipairs(M.rows) do M.by_name[row.name] = row end

--- Split a row name into its group and method ("device.status" -> "device", "status").
-- @tparam string name
-- @treturn string group
-- @treturn string method
function M.split(name)
  return name:match("^([%w_]+)%.([%w_]+)$")
end

--- The row for `name`, with any `routes` override from config applied.
-- An override may change method, path, host or encrypted; the result is a fresh table.
-- @tparam string name row name, or its method name when unique in the catalogue
-- @tparam[opt] table routes config.routes, keyed by row name or method name
-- @treturn table|nil row
function M.resolve(name, routes)
  local row = M.by_name[name]
  if not row then return nil end
  local short = select(2, M.split(name))
  local over = routes and (routes[name] or routes[short])
  if not over then return row end
  local copy = {}
  for k, v in pairs(row) do copy[k] = v end
  for _, k in ipairs({ "method", "path", "host", "encrypted" }) do
    if over[k] ~= nil then copy[k] = over[k] end
  end
  copy.overridden = true
  return copy
end

return M
