--- `enkash call GROUP.NAME --json '{...}'`: call any catalogue endpoint once.
-- @module enkash.cli.call

local args_lib = require "enkash.cli.args"
local catalogue = require "enkash.catalogue"
local session = require "enkash.cli.session"
local cjson = require "cjson.safe"
local json = require "enkash.json"
local redact = require "enkash.redact"

local M = {}

M.help = [[
usage: enkash call GROUP.NAME [--json '{...}'] [--env sandbox|uat|production] [--dry-run]

Calls one catalogue endpoint with the JSON object as its params and prints the payload
(PII masked) as JSON. With the sandbox env and no ENKASH_BASE_URL, the bundled sandbox is
started for the call. Endpoints:
]]

--- Run the verb.
-- @tparam table args
-- @treturn number exit status
function M.run(args)
  local o, err = args_lib.parse(args, { json = "value", env = "value", ["dry-run"] = "flag" })
  local name = o and o[1]
  if not o or not name or not catalogue.by_name[name] or name == "auth.token" then
    local why = err or ("unknown endpoint " .. tostring(name))
    io.stderr:write("enkash call: ", why, "\n\n", M.help_text(), "\n")
    return 2
  end
  local params = {}
  if o.json then
    params = cjson.decode(o.json)
    if type(params) ~= "table" then
      io.stderr:write("enkash call: --json must be a JSON object\n")
      return 2
    end
  end
  local say = function(line) io.stderr:write(line, "\n") end
  local client, stop = session.open(o, say)
  if not client then
    io.stderr:write("enkash call: ", stop, "\n")
    return 1
  end
  local payload, res = client:call(name, params)
  stop()
  if not payload then
    io.stderr:write(tostring(res), "\n")
    return 1
  end
  local shown = type(payload) == "table" and redact.table(payload) or payload
  io.stdout:write(json.encode(shown), "\n")
  if res.reference then io.stderr:write("reference: ", res.reference, "\n") end
  return 0
end

--- The help text with the endpoint list.
-- @treturn string
function M.help_text()
  local lines = { M.help }
  for _, row in ipairs(catalogue.rows) do
    if row.host == "api" then lines[#lines + 1] = ("  %-32s %s %s"):format(row.name, row.method, row.path) end
  end
  return table.concat(lines, "\n")
end

return M
