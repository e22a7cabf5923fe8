-- busted --helper: records every error message and every log event the SDK produces during
-- the whole suite, and every access token the client stores, into $ENKASH_AUDIT_DIR.
-- tools/scan_secrets.lua then fails the run if any secret or PII value appears in them.
-- Only the test side is instrumented; the SDK has no audit hooks of its own.
local dir = os.getenv("ENKASH_AUDIT_DIR")
if not dir then return end

local lines = assert(io.open(dir .. "/lines.txt", "a"))
local tokens = assert(io.open(dir .. "/tokens.txt", "a"))
local function record(f, s)
  f:write((tostring(s):gsub("\n", "\\n")), "\n")
  f:flush()
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
