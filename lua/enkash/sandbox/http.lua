--- Response builders and request parsing shared by the sandbox modules.
-- A response is `{status = n, headers = {...}, body = "..."}` with lower-cased header names,
-- plus optional `delay` (seconds) and `raw` ("truncate" | "reset" | "garbage").
-- @module enkash.sandbox.http

local cjson = require "cjson.safe"
local json = require "enkash.json"

local type, tonumber, pairs = type, tonumber, pairs
local char, gsub, lower, match = string.char, string.gsub, string.lower, string.match

local M = {}

--- Reason phrases for the statuses the sandbox sends (used in default bodies).
M.reasons = {
  [200] = "OK", [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [409] = "Conflict", [412] = "Precondition Failed",
  [415] = "Unsupported Media Type",
  [422] = "Unprocessable Entity", [429] = "Too Many Requests", [500] = "Internal Server Error",
  [502] = "Bad Gateway", [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

--- A JSON response, encoded with enkash.json: amounts given as `json.raw(money.text(paise))`
-- are written verbatim (20.50, never 20.499999), plain tables with sorted keys.
-- @tparam number status HTTP status
-- @tparam table value
-- @tparam[opt] table headers extra headers (lower-cased names)
-- @treturn table response
function M.json(status, value, headers)
  local h = { ["content-type"] = "application/json;charset=UTF-8" }
  for k, v in pairs(headers or {}) do h[k] = v end
  return { status = status, headers = h, body = json.encode(value) }
end

--- A response with a given content type and body.
-- @tparam number status HTTP status
-- @tparam string ctype Content-Type
-- @tparam string body
-- @treturn table response
function M.text(status, ctype, body)
  return { status = status, headers = { ["content-type"] = ctype }, body = body }
end

--- The success envelope (documented, docs/enkash-api.md §3.3) of the default dialect; API answers
-- are shaped by enkash.sandbox.dialect, which speaks this one and the others.
-- @tparam table payload
-- @treturn table envelope
function M.ok(payload)
  return { response_code = 0, response_message = "Success", payload = payload }
end

--- The failure envelope of the default dialect: HTTP 200, response_code 1, the message
-- repeated as a string payload (enkash.sandbox.dialect shapes the API's answers).
-- @tparam string msg
-- @treturn table envelope
function M.fail(msg)
  return { response_code = 1, response_message = msg, payload = msg }
end

--- The media type of a Content-Type header, lower-cased, without parameters.
-- @tparam table headers request headers (lower-cased names)
-- @treturn string media type, "" when absent
function M.media_type(headers)
  local ct = headers and headers["content-type"]
  if type(ct) ~= "string" then return "" end
  return lower(match(ct, "^%s*([^;%s]*)") or "")
end

local function unescape(s)
  s = gsub(s, "+", " ")
  return (gsub(s, "%%(%x%x)", function(h) return char(tonumber(h, 16)) end))
end

--- Decode an application/x-www-form-urlencoded body; the first value of a repeated name wins.
-- @tparam string body
-- @treturn table name -> value
function M.parse_form(body)
  local out = {}
  for pair in (body or ""):gmatch("[^&]+") do
    local k, v = match(pair, "^([^=]*)=?(.*)$")
    k = unescape(k)
    if out[k] == nil then out[k] = unescape(v) end
  end
  return out
end

--- Decode the query string of a GET row (url-encoded like a form; "+" is a space).
-- @tparam[opt] string query without the leading "?"
-- @treturn table name -> value
function M.parse_query(query)
  return M.parse_form(query or "")
end

--- Decode a JSON object; anything else (array, scalar, bad JSON) gives nil.
-- @tparam string text
-- @treturn table|nil object
function M.json_object(text)
  local v = cjson.decode(text or "")
  if type(v) ~= "table" or v[1] ~= nil then return nil end
  return v
end

return M
