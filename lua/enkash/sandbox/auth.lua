--- The sandbox's OAuth token endpoint (POST /oauth/token) and the Bearer check of API calls.
-- Errors follow Spring Security OAuth2, which the documented token response
-- (access_token, token_type "bearer", scope "read write trust") comes from:
-- `{"error": ..., "error_description": ...}` with HTTP 400 or 401. Never encrypted.
-- @module enkash.sandbox.auth

local http = require "enkash.sandbox.http"

local type = type
local match, gsub, lower = string.match, string.gsub, string.lower

local M = {}

--- The token path served by the sandbox (the auth host's documented path, docs/enkash-api.md §4.3).
M.PATH = "/oauth/token"

local function oauth_error(status, code, description, headers)
  return http.json(status, { error = code, error_description = description }, headers)
end

local function invalid_request(description)
  return oauth_error(400, "invalid_request", description)
end

-- A fresh url-safe random token: 20 random bytes in base64 without padding = 27 characters,
-- the length of the documented example ("bg-xFpMtGNl2jJGD8VPR4YZpNcA").
local function new_token(core)
  local s = core.b64encode(core.random_bytes(20))
  s = gsub(gsub(gsub(s, "=", ""), "%+", "-"), "/", "_")
  return s
end

-- Decode `Authorization: Basic base64(id:secret)`; nil when absent or malformed.
local function basic(core, headers)
  local h = headers["authorization"]
  if type(h) ~= "string" then return nil end
  local b64 = match(h, "^%s*[Bb][Aa][Ss][Ii][Cc]%s+(%S+)%s*$")
  if not b64 then return nil end
  local raw = core.b64decode(b64)
  if type(raw) ~= "string" then return nil end
  return match(raw, "^([^:]*):(.*)$")
end

--- Serve the token endpoint.
-- Order of checks: method (405), client Basic auth (401), Content-Type and form fields (400
-- invalid_request), lockout, password (400 invalid_grant).
-- @tparam table sb the sandbox
-- @tparam table req the request
-- @treturn table response
function M.token(sb, req)
  local opts, st, core = sb.opts, sb.state, sb.core
  if req.method ~= "POST" then
    return oauth_error(405, "method_not_allowed", "Request method '" .. req.method .. "' not supported",
      { allow = "POST" })
  end
  local id, secret = basic(core, req.headers)
  if not id then
    return oauth_error(401, "unauthorized", "Full authentication is required",
      { ["www-authenticate"] = 'Basic realm="oauth2/client"' })
  end
  if id ~= opts.client_id or not core.secure_equal(secret, opts.client_secret) then
    return oauth_error(401, "unauthorized", "Bad client credentials",
      { ["www-authenticate"] = 'Basic realm="oauth2/client"' })
  end
  if http.media_type(req.headers) ~= "application/x-www-form-urlencoded" then
    return invalid_request("Content-Type must be application/x-www-form-urlencoded")
  end
  local form = http.parse_form(req.body)
  local grant = form.grant_type
  if grant == nil or grant == "" then return invalid_request("Missing grant type") end
  if grant ~= "password" then return invalid_request("Unsupported grant type: " .. grant) end
  if form.clientId == nil or form.clientId == "" then return invalid_request("Missing clientId") end
  if form.clientId ~= opts.client_id then return invalid_request("Invalid clientId") end
  local user, password = form.username, form.password
  if user == nil or user == "" then return invalid_request("Missing username") end
  if password == nil or password == "" then return invalid_request("Missing password") end

  if st.locked[user] then
    return oauth_error(400, "invalid_grant", "User account is locked")
  end
  local known = opts.users[user]
  if known == nil or not core.secure_equal(known, password) then
    -- Only known users can be locked; an unknown one answers like a bad password.
    if known ~= nil then
      local n = (st.failures[user] or 0) + 1
      st.failures[user] = n
      if n >= opts.lockout_after then st.locked[user] = true end
    end
    return oauth_error(400, "invalid_grant", "Bad credentials")
  end
  st.failures[user] = nil

  local access, refresh = new_token(core), new_token(core)
  local ttl = opts.token_ttl
  st.tokens[access] = { user = user, expires_at = sb.clock() + ttl }
  st.refresh[refresh] = access
  local body
  if opts.token_style == "camel" then
    body = { accessToken = access, tokenType = "bearer", refreshToken = refresh, expiresIn = ttl,
             scope = "read write trust" }
  else
    body = { access_token = access, token_type = "bearer", refresh_token = refresh, expires_in = ttl,
             scope = "read write trust" }
  end
  return http.json(200, body, { ["cache-control"] = "no-store", pragma = "no-cache" })
end

--- Check `Authorization: Bearer <token>` of an API call.
-- A missing, unknown or expired token all answer the same 401 (the sandbox does not tell them
-- apart, so a client has one case to handle).
-- @tparam table sb the sandbox
-- @tparam table headers request headers (lower-cased names)
-- @treturn table|nil the 401 response, nil when the token is live
function M.bearer(sb, headers)
  local h = headers["authorization"]
  local scheme, token
  if type(h) == "string" then scheme, token = match(h, "^%s*(%a+)%s+(%S+)%s*$") end
  if scheme and lower(scheme) == "bearer" then
    local t = sb.state.tokens[token]
    if t then
      if sb.clock() < t.expires_at then return nil end
      sb.state.tokens[token] = nil
    end
  end
  return M.unauthorized()
end

--- The 401 answered for a missing, unknown or expired Bearer token.
-- @treturn table response
function M.unauthorized()
  return oauth_error(401, "invalid_token", "Access token expired", {
    ["www-authenticate"] = 'Bearer realm="oauth2-resource", error="invalid_token", '
      .. 'error_description="Access token expired"',
  })
end

return M
