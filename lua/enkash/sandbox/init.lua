--- The Enkash sandbox: a stateful, pure-Lua emulator of the endpoint catalogue.
-- It speaks Enkash's envelope and encryption, checks headers and fields like Enkash would and
-- fails on request, in any of the response dialects Enkash's products use (option `dialect`,
-- enkash.sandbox.dialect). Hosts call `sb:handle(req)`: the in-process transport and the
-- nginx handler (enkash.sandbox.ngx_handler). Runs under Lua 5.4 and LuaJIT.
--
--     local sandbox = require "enkash.sandbox"
--     local sb = sandbox.new{ bind_delay = 0 }
--     local res = sb:handle{ method = "POST", path = "/oauth/token", headers = {...}, body = "..." }
--
-- It keeps the books of every Wallet endpoint: partner accounts, wallets, a double-entry
-- ledger in integer paise, OTPs, beneficiaries, transfers, settlements, VKYC sessions and
-- webhooks (see enkash.sandbox.books and the modules it names).
-- Choices where the portal is silent are marked "Assumption:" below and in the sub-modules.
-- @module enkash.sandbox

local core = require "enkash.core"
local json = require "enkash.json"
local catalogue = require "enkash.catalogue"
local http = require "enkash.sandbox.http"
local state = require "enkash.sandbox.state"
local auth = require "enkash.sandbox.auth"
local faults = require "enkash.sandbox.faults"
local control = require "enkash.sandbox.control"
local options = require "enkash.sandbox.options"
local clock = require "enkash.sandbox.clock"
local books = require "enkash.sandbox.books"
local limits = require "enkash.sandbox.limits"
local fields = require "enkash.sandbox.fields"
local vkyc = require "enkash.sandbox.vkyc"
local wallet = require "enkash.sandbox.wallet"
local merchant = require "enkash.sandbox.merchant"
local dialect = require "enkash.sandbox.dialect"

local type, pairs, next, setmetatable = type, pairs, next, setmetatable
local upper = string.upper

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
  control = false,          -- the control API over HTTP (sb:control always works)
  -- Partner accounts and their prefunded balances in paise (₹10,00,000); given accounts
  -- replace this one.
  accounts = { [creds.card_account_id] = 100000000 },
  limits = limits.defaults, -- per KYC level, paise; a partial table is laid over these
  otp_code = "123456",      -- every OTP's code (the sandbox sends no SMS; the documented example)
  otp_ttl = 300,            -- seconds an OTP stays valid
  settlement_step = 60,     -- seconds per settlement step; false = control calls only
  vkyc_step = 5,            -- seconds per VKYC step; false = control calls only
  tnc_accept_delay = false, -- seconds until a new wallet's T&C counts as accepted; false = control
  webhook_url = false,      -- where Payment Notify requests go; false = nowhere
  dialect = dialect.DEFAULT, -- response shapes: a preset name or a table (enkash.sandbox.dialect)
  -- webhook_secret: the checksum's secret, default client_secret
  -- sender: function(msg, done) delivering webhooks (enkash.sandbox.notify)
}

--- Handlers of API rows, by catalogue row name: `fn(sb, body, req) -> payload | nil, message`.
-- Rows without a handler answer response_code 1 "not implemented in sandbox".
M.handlers = {}
for _, name in ipairs({ "device", "wallet", "loads", "otp", "vkyc", "transfers", "merchant" }) do
  for row, fn in pairs(require("enkash.sandbox." .. name).handlers) do M.handlers[row] = fn end
end

local Sandbox = {}
Sandbox.__index = Sandbox

--- Create a sandbox.
-- @tparam[opt] table opts partner_id, client_id, client_secret, users, token_ttl, token_style,
-- bind_delay, bound_status, encryption, lockout_after, control, accounts, limits, otp_code,
-- otp_ttl, settlement_step, vkyc_step, webhook_url, webhook_secret, dialect, sender, clock
-- (see `M.defaults`; clock defaults to core.monotime)
-- @treturn table sandbox
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("sandbox options must be a table", 2) end
  local ok, err = options.check_all(opts, true)
  if not ok then error(err, 2) end
  local o = {}
  for k, v in pairs(M.defaults) do o[k] = v end
  for k, v in pairs(opts) do
    if k ~= "clock" then o[k] = v end
  end
  -- fresh copies: config and reset change these, and the defaults must stay as they are
  local users, accounts = {}, {}
  for u, p in pairs(o.users) do users[u] = p end
  for id, paise in pairs(o.accounts) do accounts[id] = paise end
  o.users, o.accounts = users, accounts
  o.limits = options.merge_limits(limits.defaults, opts.limits)
  o.dialect = dialect.resolve(o.dialect)
  local routes, paths = {}, {}
  for _, row in ipairs(catalogue.rows) do
    if row.host == "api" then
      routes[upper(row.method) .. " " .. row.path] = row
      paths[row.path] = row
    end
  end
  local sb = setmetatable({
    opts = o, core = core, routes = routes, paths = paths, handlers = M.handlers,
  }, Sandbox)
  clock.install(sb, opts.clock or core.monotime)
  sb:reset_state()
  return sb
end

--- Replace the state with a fresh one whose partner accounts are funded (used by `new` and
-- the control call `reset`).
function Sandbox:reset_state()
  self.state = state.new()
  books.init(self)
end

--- Bring every clock-driven record up to the present: settlements and VKYC sessions step on
-- (device bindings and OTPs are checked against the clock where they are read).
function Sandbox:tick()
  wallet.tick(self)
  vkyc.tick(self)
  merchant.tick(self)
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

-- {"request": "<base64>"} and nothing else: the encrypted envelope (docs/enkash-api.md §5.1).
local function is_envelope(doc)
  return type(doc) == "table" and type(doc.request) == "string" and next(doc, next(doc)) == nil
end

-- Answer an envelope, encrypted like the request was: {"request": "<b64 of the JSON envelope>"}.
local function reply(self, env, encrypted)
  if encrypted then
    return http.json(200, { request = core.encrypt(json.encode(env), self.opts.client_secret) })
  end
  return http.json(200, env)
end

-- Answer an application failure in the dialect in force: an envelope at HTTP 200 (encrypted
-- like the request), or a Spring error body at 4xx, always plain: Spring's error handler
-- answers outside the application's encryption.
local function refuse(self, msg, req, encrypted)
  local status, body = dialect.fail(self, msg, req)
  if status ~= 200 then return http.json(status, body) end
  return reply(self, body, encrypted)
end

-- An API call past routing: Bearer, Content-Type, JSON, decryption, partnerId, fields, handler.
-- Assumption: the Bearer check (an OAuth filter in front of the application) comes first and
-- answers 401; a wrong or missing partnerId is the application's check and answers like every
-- other application failure: HTTP 200, response_code 1, "Invalid partner".
local function api(self, row, req, doc, entry)
  local denied = auth.bearer(self, req.headers)
  if denied then return denied end
  if row.method == "GET" then
    -- The fields of a GET row are its query string. Assumption: GET rows are never encrypted
    -- (a query string has no envelope) and are answered in plain JSON, even with
    -- encryption = "required".
    if req.headers["partnerid"] ~= self.opts.partner_id then
      return refuse(self, "Invalid partner", req, false)
    end
    return self:call(row, http.parse_query(req.query), req, false)
  end
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
    if not body then return refuse(self, "Invalid encrypted request", req, false) end
  elseif self.opts.encryption == "required" then
    return refuse(self, "Invalid encrypted request", req, false)
  end
  if req.headers["partnerid"] ~= self.opts.partner_id then
    return refuse(self, "Invalid partner", req, encrypted)
  end
  return self:call(row, body, req, encrypted)
end

--- Serve one API row with a decoded body (after the HTTP, auth and partner checks): the
-- row's field checks, then its handler; answers in the dialect in force as an HTTP response.
-- @tparam table row catalogue row
-- @tparam table body the request's fields
-- @tparam table req the request
-- @tparam boolean encrypted answer in the encrypted envelope
-- @treturn table response
function Sandbox:call(row, body, req, encrypted)
  local bad = fields.check(row, body)
  if bad then return refuse(self, bad, req, encrypted) end
  local handler = self.handlers[row.name]
  if not handler then return refuse(self, "not implemented in sandbox", req, encrypted) end
  self:tick()
  local payload, msg = handler(self, body, req)
  if payload == nil then return refuse(self, msg or "Failure", req, encrypted) end
  return reply(self, dialect.ok(self, payload), encrypted)
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

  local function real()
    if row then return api(self, row, req, doc, entry) end
    return auth.token(self, req)
  end
  local res
  local f = faults.take(self.state.faults, endpoint)
  if f then
    entry.fault = f.kind
    local committed
    if faults.after_commit(f) then
      -- processed and committed first; the fault (if it answers at all) replaces the answer
      entry.after_commit = true
      committed = real()
    end
    res = faults.response(f, {
      endpoint = endpoint,
      api_error = function(msg)
        if not row then return http.json(400, { error = "invalid_request", error_description = msg }) end
        return refuse(self, msg, req, entry.encrypted or self.opts.encryption == "required")
      end,
      unauthorized = function()
        if not row then
          return http.json(401, { error = "unauthorized",
                                  error_description = "Full authentication is required" })
        end
        return auth.unauthorized()
      end,
    }) or committed
  end
  if not res then res = real() end
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
-- @tparam string name reset | config | fault | device | stats | log | advance | wallet |
-- transfer | settlement | vkyc | webhook | ledger | notifications | report
-- @tparam[opt] table args
-- @treturn table result
function Sandbox:control(name, args)
  local out, err = control.call(self, name, args)
  if not out then error(err, 2) end
  return out
end

return M
