-- busted --helper: records every error message and every log event the SDK produces during
-- the whole suite, and every access token the client stores, into $ENKASH_AUDIT_DIR; and,
-- through `require("helpers.audit").shown(source, text)`, everything the project prints that
-- a spec captures: the CLI's stdout and stderr (spec/helpers/cli.lua records every run), and
-- the printers' output that specs drive in-process (shown.txt, one line per printed line).
-- tools/scan_secrets.lua then fails the run if any secret or PII value appears in them.
-- Only the test side is instrumented; the SDK has no audit hooks of its own.
local M = { dir = os.getenv("ENKASH_AUDIT_DIR") }
package.loaded["helpers.audit"] = M

--- Record printed output (no-op outside tools/test.sh): `source` names where it came from.
function M.shown() end

local dir = M.dir
if not dir then return M end

local lines = assert(io.open(dir .. "/lines.txt", "a"))
local tokens = assert(io.open(dir .. "/tokens.txt", "a"))
local shown = assert(io.open(dir .. "/shown.txt", "a"))
local function record(f, s)
  f:write((tostring(s):gsub("\n", "\\n")), "\n")
  f:flush()
end

M.shown = function(source, text)
  for line in tostring(text or ""):gmatch("[^\n]+") do
    shown:write(tostring(source), ": ", line, "\n")
  end
  shown:flush()
end

local function serialize(v, depth)
  depth = depth or 0
  if type(v) ~= "table" or depth > 4 then return tostring(v) end
  local out = {}
  for k, x in pairs(v) do out[#out + 1] = tostring(k) .. "=" .. serialize(x, depth + 1) end
  table.sort(out)
  return "{" .. table.concat(out, ", ") .. "}"
end

local errors = require "enkash.errors"
local new = errors.new
errors.new = function(...)
  local e = new(...)
  record(lines, tostring(e))
  return e
end

local log = require "enkash.log"
local emit = log.emit
log.emit = function(cfg, level, event, fields)
  record(lines, level .. " " .. event .. " " .. serialize(fields))
  return emit(cfg, level, event, fields)
end

local core = require "enkash.core"
local mt = getmetatable(core.token_store())
local methods = type(mt.__index) == "table" and mt.__index or mt
local set = methods.set
methods.set = function(store, token, ttl)
  record(tokens, token)
  return set(store, token, ttl)
end

return M
