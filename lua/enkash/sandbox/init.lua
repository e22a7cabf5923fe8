--- The Enkash sandbox: a stateful, pure-Lua emulator of the endpoint catalogue.
-- It speaks Enkash's envelope and encryption, checks headers and fields like Enkash would and
-- fails on request. Hosts call `sb:handle(req)`: the in-process transport and the nginx
-- handler (enkash.sandbox.ngx_handler). Runs under Lua 5.4 and LuaJIT.
--
--     local sandbox = require "enkash.sandbox"
--     local sb = sandbox.new{ bind_delay = 0 }
--     local res = sb:handle{ method = "POST", path = "/oauth/token", headers = {...}, body = "..." }
--
-- Choices where the portal is silent are marked "Assumption:" below and in the sub-modules.
-- @module enkash.sandbox

local cjson = require "cjson.safe"
local core = require "enkash.core"
local catalogue = require "enkash.catalogue"
local http = require "enkash.sandbox.http"
local state = require "enkash.sandbox.state"
local auth = require "enkash.sandbox.auth"
local device = require "enkash.sandbox.device"
local faults = require "enkash.sandbox.faults"
local control = require "enkash.sandbox.control"

local type, pairs, next, setmetatable, tostring = type, pairs, next, setmetatable, tostring
local upper = string.upper
local null = cjson.null

local M = { _VERSION = "0.1" }

local creds = require("enkash.assumptions").sandbox_credentials

--- Default options of `new`; the credentials are public test values, the same ones a client
-- made with `env = "sandbox"` uses by default.
M.defaults = {
  partner_id = creds.partner_id,
  client_id = creds.client_id,
  client_secret = creds.client_secret,
  users = { [creds.username] = creds.password },
  token_ttl = 86399,        -- the documented example's expires_in
  token_style = "snake",    -- "camel": accessToken, tokenType, expiresIn, refreshToken
  bind_delay = 3,           -- seconds from generate to bound; 0 = at once; false = control call only
  bound_status = "Bound",   -- Assumption: only "Pending" is documented
  encryption = "auto",      -- "auto" | "required"
  lockout_after = 3,        -- consecutive bad passwords before the user is locked (documented: 3)
}

--- Handlers of API rows, by catalogue row name: `fn(sb, body, req) -> payload | nil, message`.
-- Rows without a handler answer response_code 1 "not implemented in sandbox".
M.handlers = {}
for name, fn in pairs(device.handlers) do M.handlers[name] = fn end

local Sandbox = {}
Sandbox.__index = Sandbox

local function check_opts(opts)
  for k, v in pairs(opts) do
    if control.option_checks[k] then
      local ok, err = control.check_option(k, v)
      if not ok then return nil, err end
    elseif k == "partner_id" or k == "client_id" or k == "client_secret" then
      if type(v) ~= "string" or v == "" then return nil, k .. " must be a non-empty string" end
    elseif k == "users" then
      if type(v) ~= "table" then return nil, "users must be a table username -> password" end
    elseif k == "clock" then
      if type(v) ~= "function" then return nil, "clock must be a function" end
    else
      return nil, "unknown sandbox option: " .. tostring(k)
    end
  end
  return true
end

--- Create a sandbox.
-- @tparam[opt] table opts partner_id, client_id, client_secret, users, token_ttl, token_style,
-- bind_delay, bound_status, encryption, lockout_after, clock (see `M.defaults`; clock defaults
-- to core.monotime)
-- @treturn table sandbox
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("sandbox options must be a table", 2) end
  local ok, err = check_opts(opts)
  if not ok then error(err, 2) end
  local o = {}
  for k, v in pairs(M.defaults) do o[k] = v end
  for k, v in pairs(opts) do
    if k ~= "clock" then o[k] = v end
  end
  local users = {}
  for u, p in pairs(o.users) do users[u] = p end
  o.users = users
  local routes, paths = {}, {}
  for _, row in ipairs(catalogue.rows) do
    if row.host == "api" then
      routes[upper(row.method) .. " " .. row.path] = row
      paths[row.path] = row
    end
  end
  return setmetatable({
    opts = o, clock = opts.clock or core.monotime, core = core, state = state.new(),
    routes = routes, paths = paths, handlers = M.handlers,
  }, Sandbox)
end

--- Is `name` an endpoint this sandbox routes (the token endpoint or an API row)?
-- @tparam string name catalogue row name
-- @treturn boolean
function Sandbox:known_endpoint(name)
  if name == "auth.token" then return true end
  for _, row in pairs(self.routes) do
    if row.name == name then return true end
  end
  return false
end

-- {"request": "<base64>"} and nothing else: the encrypted envelope (REFERENCE.md §5.1).
local function is_envelope(doc)
  return type(doc) == "table" and type(doc.request) == "string" and next(doc, next(doc)) == nil
end

-- Answer an envelope, encrypted like the request was: {"request": "<b64 of the JSON envelope>"}.
local function reply(self, env, encrypted)
  if encrypted then
    return http.json(200, { request = core.encrypt(cjson.encode(env), self.opts.client_secret) })
  end
  return http.json(200, env)
end

local function required_missing(row, body)
  for _, f in ipairs(row.fields or {}) do
    local v = body[f.name]
    if f.required and (v == nil or v == null or v == "") then
      return f.name .. " is required"
    end
    if v ~= nil and v ~= null and f.type == "string" and type(v) ~= "string" and type(v) ~= "number" then
      return f.name .. " is invalid"
    end
  end
  return nil
end

-- An API call past routing: Bearer, Content-Type, JSON, decryption, partnerId, fields, handler.
-- Assumption: the Bearer check (an OAuth filter in front of the application) comes first and
-- answers 401; a wrong or missing partnerId is the application's check and answers like every
-- other application failure: HTTP 200, response_code 1, "Invalid partner".
local function api(self, row, req, doc, entry)
  local denied = auth.bearer(self, req.headers)
  if denied then return denied end
  if http.media_type(req.headers) ~= "application/json" then
    -- Assumption: Spring's answer to a wrong media type.
    return http.json(415, { status = 415, error = "Unsupported Media Type", path = req.path })
  end
  if not doc then
    -- Assumption: Spring's answer to an unreadable body.
    return http.json(400, { status = 400, error = "Bad Request", message = "Malformed JSON request",
                            path = req.path })
  end
  local body, encrypted = doc, entry.encrypted
  if encrypted then
    local plain = core.decrypt(doc.request, self.opts.client_secret)
    body = plain and http.json_object(plain)
    -- Assumption: answered in plain JSON, since the request could not be decrypted.
    if not body then return reply(self, http.fail("Invalid encrypted request"), false) end
  elseif self.opts.encryption == "required" then
    return reply(self, http.fail("Invalid encrypted request"), false)
  end
  if req.headers["partnerid"] ~= self.opts.partner_id then
    return reply(self, http.fail("Invalid partner"), encrypted)
  end
  local missing = required_missing(row, body)
  if missing then return reply(self, http.fail(missing), encrypted) end
  local handler = self.handlers[row.name]
  if not handler then return reply(self, http.fail("not implemented in sandbox"), encrypted) end
  local payload, msg = handler(self, body, req)
  if payload == nil then return reply(self, http.fail(msg or "Failure"), encrypted) end
  return reply(self, http.ok(payload), encrypted)
end

-- Route a non-control request, apply a pending fault, serve it.
local function serve(self, req, entry)
  local method, path = req.method, req.path
  local row, endpoint, doc
  if path == auth.PATH then
    endpoint = "auth.token"
  else
    row = self.routes[method .. " " .. path]
    if not row then
      local other = self.paths[path]
      if other then
        entry.endpoint = other.name
        return http.json(405, { status = 405, error = "Method Not Allowed", path = path },
          { allow = upper(other.method) })
      end
      return http.json(404, { status = 404, error = "Not Found", path = path })
    end
    endpoint = row.name
    doc = http.json_object(req.body)
    entry.encrypted = is_envelope(doc)
  end
  entry.endpoint = endpoint

  local res
  local f = faults.take(self.state.faults, endpoint)
  if f then
    entry.fault = f.kind
    res = faults.response(f, {
      endpoint = endpoint,
      api_error = function(msg)
        if not row then return http.json(400, { error = "invalid_request", error_description = msg }) end
        return reply(self, http.fail(msg), entry.encrypted or self.opts.encryption == "required")
      end,
      unauthorized = function()
        if not row then
          return http.json(401, { error = "unauthorized",
                                  error_description = "Full authentication is required" })
        end
        return auth.unauthorized()
      end,
    })
  end
  if not res then
    if row then res = api(self, row, req, doc, entry) else res = auth.token(self, req) end
  end
  if f and f.delay and f.delay > 0 then res.delay = f.delay end
  return res
end

--- Handle one HTTP request.
-- @tparam table req {method, path (no query), query, headers (lower-cased names), body, conn}
-- @treturn table res {status, headers (lower-cased names), body, delay = seconds | nil,
-- raw = nil | "truncate" | "reset" | "garbage"}
function Sandbox:handle(req)
  local r = {
    method = upper(req.method or "GET"), path = req.path or "/", query = req.query,
    headers = req.headers or {}, body = req.body or "", conn = req.conn,
  }
  local entry = { method = r.method, path = r.path, conn = r.conn, encrypted = false }
  local res
  local cname = control.name(r.path)
  if cname then
    entry.endpoint = "control"
    res = control.http(self, r)
    -- The reset call is not logged: it empties the log and the counters.
    if cname == "reset" and res.status == 200 then return res end
  else
    res = serve(self, r, entry)
  end
  entry.status = res.status
  state.record(self.state, entry)
  return res
end

--- Run a control call in-process (the same calls as POST/GET /_sandbox/<name>).
-- Raises on an unknown call or bad arguments (a test's mistake, not a runtime failure).
-- @tparam string name reset | config | fault | device | stats | log
-- @tparam[opt] table args
-- @treturn table result
function Sandbox:control(name, args)
  local out, err = control.call(self, name, args)
  if not out then error(err, 2) end
  return out
end

return M
