--- Requests and responses in Enkash's envelopes: every shape the portal shows, in one place.
-- Request bodies are JSON, or `{"request": "<base64 AES>"}` when encrypted. Responses come in
-- the shapes of `M.envelopes` (success: code 0 and a payload; failure: another code and a
-- message, often repeated as a string payload), as pages or lists of records (`M.pages`), or,
-- on HTTP errors, as error bodies (`M.error_text`); any of them possibly wrapped in the
-- encrypted `{"request": ...}` envelope (docs/enkash-api.md §5.1). Every money field of a response
-- also comes back as integer `<name>_paise` (enkash.amounts, catalogue.response_money).
-- @module enkash.envelope

local amounts = require "enkash.amounts"
local catalogue = require "enkash.catalogue"
local core = require "enkash.core"
local cjson = require "cjson.safe"
local error_codes = require "enkash.error_codes"
local errors = require "enkash.errors"
local json = require "enkash.json"
local redact = require "enkash.redact"

local type, tonumber, ipairs, next = type, tonumber, ipairs, next
local encode, null = json.encode, cjson.null
local tointeger = math.tointeger or function(n) return n end -- LuaJIT: every number is a double

local M = {}

--- The envelopes, tried in order: which key holds the code and which the message.
M.envelopes = {
  -- Wallet pages (docs/enkash-api.md §4.2), card and Petty Cash pages on the same base
  -- path (https://docs.enkash.com/api-8990349, https://docs.enkash.com/api-24480520); failure
  -- is HTTP 200 with response_code 1 and the message as a string payload
  -- (https://docs.enkash.com/doc-650021); Payouts codes 403/409/412/422
  -- (https://docs.enkash.com/folder-4264617).
  { code = "response_code", message = "response_message" },
  -- Petty Cash "Get User Handle Details" (https://docs.enkash.com/api-24480521) and Reward
  -- "Create And Allocate Points", whose schema is code/message/payload
  -- (https://docs.enkash.com/api-9796905).
  { code = "code", message = "message" },
}

--- Paged payloads: the key holding the page's records. `{"recordsCount": N, "data": [...]}`
-- (https://docs.enkash.com/api-24480521).
M.pages = { "data" }

--- Keys of a non-envelope error body that hold the server's own message, in order: Spring's
-- default error body `{"timestamp", "status", "error", "message", "path"}` (an assumption: the
-- stack Enkash's 4xx answers come from), OAuth's `error_description` (the token endpoint).
-- `error` is only a reason phrase ("Bad Request") and is never read as the message.
M.error_text = { "message", "error_description" }

local money_names = amounts.set(catalogue.response_money)

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

--- The records a lookup answered: a page's `data`, a list, one object, or none (`null`, `{}`,
-- `[]`, an empty page). Non-table items are skipped.
-- @param payload a decoded payload
-- @treturn table list of records (tables)
function M.records(payload)
  if type(payload) ~= "table" then return {} end
  local list = payload
  for _, key in ipairs(M.pages) do
    if type(payload[key]) == "table" then
      list = payload[key]
      break
    end
  end
  if list[1] == nil then
    -- one object (the payload, or a page's data that is no list): a record, unless empty
    if next(list) == nil then return {} end
    return { list }
  end
  local out = {}
  for _, r in ipairs(list) do
    if type(r) == "table" then out[#out + 1] = r end
  end
  return out
end

-- Retry-After in seconds (the HTTP-date form is not used by API gateways we know of).
local function retry_after(res)
  local v = res.headers and res.headers["retry-after"]
  return v and tonumber(v)
end

local function int(n)
  return tointeger(n) or n
end

local function http_error(endpoint, res, message, said, cfg)
  local status = res.status
  return nil, errors.new("http", message, {
    endpoint = endpoint, http_status = int(status), retry_after = retry_after(res),
    code = error_codes.classify(said, nil, status, cfg),
  })
end

-- The server's own message in a non-envelope JSON body, or nil.
local function error_text(doc)
  for _, key in ipairs(M.error_text) do
    local v = doc[key]
    if type(v) == "string" and v ~= "" then return v end
  end
end

-- A JSON body that is no envelope: an HTTP error body (Spring, OAuth) or not Enkash at all.
local function not_envelope(endpoint, res, doc, cfg)
  local status = res.status
  if status >= 200 and status < 300 then
    return http_error(endpoint, res, "response is not an Enkash envelope", nil, cfg)
  end
  local said = error_text(doc)
  local reason = type(doc.error) == "string" and doc.error ~= "" and (" " .. doc.error) or ""
  local message = "HTTP " .. status .. reason
  if said then message = message .. ": " .. redact.text(said) end
  return http_error(endpoint, res, message, said, cfg)
end

-- A response code as an integer: a JSON integer, or a string of decimal digits written as
-- a server writes one ("0", "412"). tonumber() alone would also read "0x0", " 0", "0.0" and
-- "-0" as 0, success: only the number 0 and the string "0" are success.
local function code_of(v)
  if type(v) == "number" then
    if v == v and v > -1e15 and v < 1e15 and v == math.floor(v) then return int(v) end
  elseif type(v) == "string" and (v == "0" or string.find(v, "^%-?[1-9]%d?%d?%d?%d?%d?%d?%d?%d?$")) then
    return int(tonumber(v))
  end
end

-- Which envelope `doc` is in, and its code as an integer (nil when it is none).
local function envelope_of(doc)
  for _, shape in ipairs(M.envelopes) do
    local rc = code_of(doc[shape.code])
    if rc then return shape, rc end
  end
end

--- Decode an HTTP response into the payload, or an error.
-- @tparam table res {status, headers, body} from a transport
-- @tparam string endpoint the row name, for error messages
-- @param mode the client's encryption mode: true | "auto" | false
-- @tparam string secret the client secret
-- @tparam[opt] table cfg resolved config (its error patterns name `err.code`)
-- @return payload the decoded `payload` of a success envelope (nil for a `null` payload),
-- money fields with their `<name>_paise`
-- @treturn[opt] table err kind http (not JSON, not an envelope, bad status), crypto or api;
-- with `code` (enkash.error_codes) where the failure names one
function M.decode(res, endpoint, mode, secret, cfg)
  local body = res.body or ""
  local doc = amounts.decode(body, money_names)
  if type(doc) ~= "table" then
    local ctype = res.headers and res.headers["content-type"] or "no content-type"
    local what = res.status ~= 200 and ("HTTP " .. res.status .. " with a non-JSON body (" .. ctype .. ")")
      or ("response is not JSON (" .. ctype .. ", " .. #body .. " bytes)")
    return http_error(endpoint, res, what, nil, cfg)
  end
  if type(doc.request) == "string" and doc.response_code == nil and doc.code == nil and mode ~= false then
    local plain, why = core.decrypt(doc.request, secret)
    if not plain then
      return nil, errors.new("crypto", "cannot decrypt response: " .. why, { endpoint = endpoint })
    end
    doc = amounts.decode(plain, money_names)
    if type(doc) ~= "table" then
      return nil, errors.new("crypto", "decrypted response is not JSON", { endpoint = endpoint })
    end
  end
  local shape, rc = envelope_of(doc)
  if not shape then return not_envelope(endpoint, res, doc, cfg) end
  local status = res.status
  if rc == 0 then
    if status < 200 or status > 299 then
      return http_error(endpoint, res, "HTTP " .. status .. " with a success envelope", nil, cfg)
    end
    -- A JSON null payload is no payload: the pipeline answers {} for it, never cjson.null.
    if doc.payload == null then return nil end
    return doc.payload
  end
  -- The message: a string payload (the documented failure shape), else the envelope's message.
  local said = doc.payload
  if type(said) ~= "string" or said == "" then said = doc[shape.message] end
  if type(said) ~= "string" or said == "" then said = nil end
  return nil, errors.new("api", redact.text(said or "request failed"), {
    endpoint = endpoint, response_code = rc, http_status = int(status),
    retry_after = retry_after(res),
    code = error_codes.classify(said, rc, status, cfg),
  })
end

return M
