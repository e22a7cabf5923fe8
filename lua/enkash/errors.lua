--- Error objects: every runtime failure of the SDK is `nil, err` with `err` built here.
-- `err.kind` is one of the kinds below; `message` never holds a secret, a token, a password
-- or a full mobile/PAN/account number: callers never put secrets in, and PII is masked here.
-- @module enkash.errors

local redact = require "enkash.redact"
local retry = require "enkash.retry"

local setmetatable, tostring, type = setmetatable, tostring, type
local concat = table.concat

local M = {}

--- The error kinds, as the README's Errors table lists them.
M.kinds = {
  validation = true, transport = true, connect = true, timeout = true, tls = true,
  http = true, api = true, crypto = true, auth = true, unknown_outcome = true,
}

-- The fields of an error that may hold text from outside.
local FREE_TEXT = { "field", "status" }

local Error = {}
--- Field lookup: `retryable` is not stored but derived from the facts by the one retry
-- decision (enkash.retry), unless the maker of the error said so explicitly.
-- @tparam table e the error
-- @param k the key
-- @return the value
function Error.__index(e, k)
  if k == "retryable" then return retry.retryable(e) end
  return Error[k]
end

-- Numbers decoded from JSON may be floats (1.0): print whole ones as integers.
local function num(v)
  if type(v) == "number" and v == math.floor(v) and v > -1e15 and v < 1e15 then
    return string.format("%d", v)
  end
  return tostring(v)
end

--- Text form: `enkash <kind> error: <message> [endpoint=..., http_status=..., ...]`.
function Error.__tostring(e)
  local extra = {}
  if e.endpoint then extra[#extra + 1] = "endpoint=" .. e.endpoint end
  if e.field then extra[#extra + 1] = "field=" .. e.field end
  if e.http_status then extra[#extra + 1] = "http_status=" .. num(e.http_status) end
  if e.response_code ~= nil then extra[#extra + 1] = "response_code=" .. num(e.response_code) end
  if e.code ~= nil then extra[#extra + 1] = "code=" .. num(e.code) end
  local s = "enkash " .. e.kind .. " error: " .. tostring(e.message)
  if #extra > 0 then s = s .. " [" .. concat(extra, ", ") .. "]" end
  return s
end

--- Build an error.
-- @tparam string kind one of `M.kinds`
-- @tparam string message human text, already free of secrets and PII
-- @tparam[opt] table fields facts: code, http_status, response_code, endpoint, field,
-- retry_after, sent (false: the request never left); `retryable` only to overrule the facts
-- @treturn table err
function M.new(kind, message, fields)
  if not M.kinds[kind] then error("unknown error kind: " .. tostring(kind), 2) end
  -- Redaction happens here for every message, whatever built it (enkash.redact, one place).
  local e = { kind = kind, message = redact.text(message) }
  if type(fields) == "table" then
    for k, v in pairs(fields) do e[k] = v end
  end
  -- Text that came from outside (a caller's unknown key, a server's status word) is masked
  -- like the message.
  for _, k in ipairs(FREE_TEXT) do
    if type(e[k]) == "string" then e[k] = redact.text(e[k]) end
  end
  return setmetatable(e, Error)
end

--- True when `v` is an enkash error object.
-- @param v any value
-- @treturn boolean
function M.is(v)
  return getmetatable(v) == Error
end

return M
