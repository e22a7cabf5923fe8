--- The access token: fetched as documented (REFERENCE.md §4.3), cached in the C token store.
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

local M = {}

local ENDPOINT = "auth.token"

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
    endpoint = ENDPOINT, http_status = res and res.status, retryable = false,
  })
end

-- Read the token from either documented spelling: snake_case or camelCase.
local function parse(doc)
  if type(doc) ~= "table" then return nil end
  local token = doc.access_token or doc.accessToken
  local ttl = tonumber(doc.expires_in or doc.expiresIn)
  if type(token) ~= "string" or token == "" or not ttl or ttl <= 0 then return nil end
  return token, ttl, doc.token_type or doc.tokenType or "bearer"
end

--- Fetch a new token over `transport` and store it in `store`.
-- @tparam table cfg resolved config
-- @tparam table transport an enkash transport
-- @param store the C token store
-- @treturn table|nil info {lifetime, token_type}
-- @treturn table|nil err kind auth for refused credentials, else transport/http kinds
function M.fetch(cfg, transport, store)
  local body = url.form({
    { "username", cfg.username }, { "password", cfg.password },
    { "grant_type", "password" }, { "clientId", cfg.client_id },
  })
  local res, err = transport:request{
    method = "POST", url = cfg.auth_url, body = body, timeout = cfg.timeout,
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
  local doc = cjson.decode(res.body or "")
  if res.status == 200 then
    local token, ttl, token_type = parse(doc)
    if token then
      store:set(token, ttl)
      return { lifetime = ttl, token_type = token_type }
    end
    local said = type(doc) == "table" and (doc.response_message or doc.message or doc.error_description)
    return auth_error("token response holds no access token"
      .. (type(said) == "string" and (": " .. redact.text(said)) or ""), res)
  end
  if res.status == 400 or res.status == 401 or res.status == 403 then
    local said = type(doc) == "table" and (doc.error_description or doc.error or doc.message)
    return auth_error("credentials refused"
      .. (type(said) == "string" and (": " .. redact.text(said)) or "")
      .. " (not retried: Enkash locks an account after 3 failures)", res)
  end
  return nil, errors.new("http", "token endpoint answered HTTP " .. res.status, {
    endpoint = ENDPOINT, http_status = res.status,
    retryable = res.status == 429 or res.status >= 500,
  })
end

return M
