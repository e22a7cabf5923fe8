--- The access token: fetched as documented (docs/enkash-api.md §4.3), cached in the C token store.
-- POST form-encoded to the auth URL with `Authorization: Basic base64(clientId:clientSecret)`
-- and username, password, grant_type=password, clientId. Bad credentials are never retried:
-- Enkash locks an account after 3 failures.
-- @module enkash.auth

local core = require "enkash.core"
local cjson = require "cjson.safe"
local errors = require "enkash.errors"
local redact = require "enkash.redact"
local url = require "enkash.url"

local type, tonumber = type, tonumber
local max, min = math.max, math.min
local find = string.find

local M = {}

local ENDPOINT = "auth.token"

--- Longest access token taken, in bytes: a JWT with many claims fits; a token much longer
-- would make every request's headers too large for the server anyway.
M.MAX_TOKEN = 4096

--- Shortest lifetime (seconds) of a token taken. A token that dies in less than a second
-- cannot be used safely (the request itself may outlive it), so it is refused, not stretched:
-- using a token past its stated life would only earn a 401.
M.MIN_LIFETIME = 1

--- Longest lifetime (seconds) of a token kept: a longer `expires_in` (1e400, read as
-- infinity, among them) is cut to this. Shortening a lifetime is always safe (the token is only
-- refreshed earlier), and it keeps the expiry arithmetic of the C store and of nginx's shared
-- dict finite.
M.MAX_LIFETIME = 7 * 24 * 3600

--- How long before expiry a token is refreshed: a fraction of its lifetime, bounded.
-- @tparam table cfg resolved config
-- @tparam number lifetime the token's expires_in
-- @treturn number seconds
function M.margin(cfg, lifetime)
  return min(cfg.token_refresh_max, max(min(cfg.token_refresh_min, lifetime / 2),
                                        lifetime * cfg.token_refresh_fraction))
end

local function auth_error(message, res)
  return nil, errors.new("auth", message, {
    endpoint = ENDPOINT, http_status = res and res.status,
  })
end

-- Why `token` cannot go into an Authorization header, or nil. Never quotes it.
local function token_problem(token)
  if token == nil then return "holds no access token" end
  if type(token) ~= "string" then return "holds an access token that is not a string" end
  if token == "" or #token > M.MAX_TOKEN then
    return "holds an access token of a length outside 1 to " .. M.MAX_TOKEN .. " bytes"
  end
  -- printable ASCII without spaces: no CR, LF or NUL to end the header, nothing to split it
  if find(token, "[^\33-\126]") then return "holds an access token with spaces or control characters" end
end

-- The lifetime in seconds, within the bounds above, or nil. A string of decimal digits is
-- read too (some OAuth servers quote it); anything else is not a lifetime.
local function lifetime(v)
  if type(v) == "string" and find(v, "^%d+%.?%d*$") then v = tonumber(v) end
  if type(v) ~= "number" or v ~= v or v < M.MIN_LIFETIME then return nil end -- v ~= v: NaN
  return min(v, M.MAX_LIFETIME)
end

-- The token type is never sent (the header always says Bearer): a short word is kept for
-- client:token(), anything else reads as "bearer".
local function token_type(v)
  if type(v) == "string" and #v <= 32 and find(v, "^[%w_%-]+$") then return v end
  return "bearer"
end

-- A field in either spelling; JSON null counts as absent.
local function field(doc, snake, camel)
  local v = doc[snake]
  if v == nil or v == cjson.null then v = doc[camel] end
  if v == cjson.null then return nil end
  return v
end

--- Read a token endpoint's answer body, in either documented spelling (snake_case or
-- camelCase). The token taken is always safe in a header; nothing of a refused one is quoted.
-- @tparam string body the answer body (JSON)
-- @treturn string|nil token
-- @treturn number|string lifetime in seconds, or why the answer was refused
-- @treturn[opt] string token_type
-- @treturn[opt] table the decoded document (when it is a JSON object)
function M.read_answer(body)
  local doc = type(body) == "string" and cjson.decode(body) or nil
  if type(doc) ~= "table" then return nil, "is not a JSON object" end
  local problem = token_problem(field(doc, "access_token", "accessToken"))
  if problem then return nil, problem, nil, doc end
  local token = field(doc, "access_token", "accessToken")
  local ttl = lifetime(field(doc, "expires_in", "expiresIn"))
  if not ttl then
    return nil, "holds no usable expires_in (a number of seconds >= " .. M.MIN_LIFETIME .. ")", nil, doc
  end
  return token, ttl, token_type(doc.token_type or doc.tokenType), doc
end

--- Fetch a new token over `transport` and store it in `store`.
-- @tparam table cfg resolved config
-- @tparam table transport an enkash transport
-- @param store the C token store
-- @tparam[opt] number timeout seconds for this request (default `cfg.timeout`): the caller's
-- deadline cuts it
-- @treturn table|nil info {lifetime, token_type}
-- @treturn table|nil err kind auth for refused credentials, else transport/http kinds
function M.fetch(cfg, transport, store, timeout)
  local body = url.form({
    { "username", cfg.username }, { "password", cfg.password },
    { "grant_type", "password" }, { "clientId", cfg.client_id },
  })
  local res, err = transport:request{
    method = "POST", url = cfg.auth_url, body = body, timeout = timeout or cfg.timeout,
    connect_timeout = cfg.connect_timeout,
    headers = {
      ["Authorization"] = "Basic " .. core.b64encode(cfg.client_id .. ":" .. cfg.client_secret),
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Accept"] = "application/json",
    },
  }
  if not res then
    err.endpoint = ENDPOINT
    return nil, err
  end
  if res.status == 200 then
    local token, ttl, kind, doc = M.read_answer(res.body)
    if token then
      redact.remember(cfg, "access_token", token) -- an answer that echoes it shows ***
      store:set(token, ttl)
      return { lifetime = ttl, token_type = kind }
    end
    -- The server's own words only when it sent no token at all (then they say why); never
    -- beside a refused token, which they might repeat.
    local said = type(doc) == "table" and field(doc, "access_token", "accessToken") == nil
      and (doc.response_message or doc.message or doc.error_description)
    return auth_error("token response " .. ttl
      .. (type(said) == "string" and (": " .. redact.text(said)) or ""), res)
  end
  local doc = cjson.decode(res.body or "")
  if res.status == 400 or res.status == 401 or res.status == 403 then
    local said = type(doc) == "table" and (doc.error_description or doc.error or doc.message)
    return auth_error("credentials refused"
      .. (type(said) == "string" and (": " .. redact.text(said)) or "")
      .. " (not retried: Enkash locks an account after 3 failures)", res)
  end
  return nil, errors.new("http", "token endpoint answered HTTP " .. res.status, {
    endpoint = ENDPOINT, http_status = res.status,
  })
end

return M
