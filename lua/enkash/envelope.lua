--- Requests and responses in Enkash's envelope.
-- Request bodies are JSON, or `{"request": "<base64 AES>"}` when encrypted. Responses are
-- `{"response_code": 0, "response_message": ..., "payload": {...}}` on success and
-- `response_code` 1 with a string payload on failure (REFERENCE.md §3.3), possibly wrapped in
-- the same encrypted `{"request": ...}` envelope (§5.1).
-- @module enkash.envelope

local core = require "enkash.core"
local cjson = require "cjson.safe"
local errors = require "enkash.errors"
local json = require "enkash.json"
local redact = require "enkash.redact"

local type, tonumber = type, tonumber
local encode, decode = json.encode, cjson.decode

local M = {}

--- Encode a request body, encrypted when `encrypt` is true.
-- @tparam table body validated fields (an enkash.json ordered object, or a plain table)
-- @tparam boolean encrypt
-- @tparam string secret the client secret (the key is derived from it in C)
-- @treturn string JSON text
function M.encode(body, encrypt, secret)
  local text = encode(body)
  if not encrypt then return text end
  -- Base64 (A-Z a-z 0-9 + / =) never needs a JSON escape: no scan, no encoder.
  return '{"request":"' .. core.encrypt(text, secret) .. '"}'
end

local function retryable(status)
  return status == 429 or status == 502 or status == 503 or status == 504
end

-- Retry-After in seconds (the HTTP-date form is not used by API gateways we know of).
local function retry_after(res)
  local v = res.headers and res.headers["retry-after"]
  return v and tonumber(v)
end

local function http_error(endpoint, res, message)
  local status = res.status
  return nil, errors.new("http", message, {
    endpoint = endpoint, http_status = status, retryable = retryable(status),
    retry_after = retry_after(res),
  })
end

--- Decode an HTTP response into the payload, or an error.
-- @tparam table res {status, headers, body} from a transport
-- @tparam string endpoint the row name, for error messages
-- @param mode the client's encryption mode: true | "auto" | false
-- @tparam string secret the client secret
-- @return payload the decoded `payload` of a success envelope
-- @treturn[opt] table err kind http (not JSON, not an envelope, bad status), crypto or api
function M.decode(res, endpoint, mode, secret)
  local body = res.body or ""
  local doc = decode(body)
  if type(doc) ~= "table" then
    local ctype = res.headers and res.headers["content-type"] or "no content-type"
    if res.status ~= 200 then
      return http_error(endpoint, res, "HTTP " .. res.status .. " with a non-JSON body (" .. ctype .. ")")
    end
    return http_error(endpoint, res, "response is not JSON (" .. ctype .. ", " .. #body .. " bytes)")
  end
  if type(doc.request) == "string" and doc.response_code == nil and mode ~= false then
    local plain, why = core.decrypt(doc.request, secret)
    if not plain then
      return nil, errors.new("crypto", "cannot decrypt response: " .. why, { endpoint = endpoint })
    end
    doc = decode(plain)
    if type(doc) ~= "table" then
      return nil, errors.new("crypto", "decrypted response is not JSON", { endpoint = endpoint })
    end
  end
  -- Enkash's envelope, or the variant some products send ({"code", "message", "payload"}).
  local rc = doc.response_code
  if rc == nil then rc = doc.code end
  rc = tonumber(rc)
  if rc == nil then
    if res.status ~= 200 then return http_error(endpoint, res, "HTTP " .. res.status) end
    return http_error(endpoint, res, "response is not an Enkash envelope")
  end
  if rc == 0 and res.status == 200 then
    -- A JSON null payload is no payload: the pipeline answers {} for it, never cjson.null.
    if doc.payload == cjson.null then return nil end
    return doc.payload
  end
  local said = doc.payload
  if type(said) ~= "string" or said == "" then said = doc.response_message or doc.message end
  if type(said) ~= "string" or said == "" then said = "request failed" end
  return nil, errors.new("api", redact.text(said), {
    endpoint = endpoint, response_code = rc, http_status = res.status,
    retryable = retryable(res.status), retry_after = retry_after(res),
  })
end

return M
