--- enkash inside nginx (OpenResty, or Debian's nginx + libnginx-mod-http-lua): the entry points.
--
--     init_by_lua_block {
--       local enkash_ngx = require "enkash.ngx"
--       assert(enkash_ngx.configure{ env = "uat", ngx_shared_dict = "enkash" }) -- ENKASH_* env
--       enkash_ngx.handlers.webhook = enkash_ngx.webhook_handler{
--         secrets = { os.getenv("ENKASH_WEBHOOK_SECRET") }, dict = "enkash_webhooks",
--         handle = function(n) return credit(n.uniqueTransactionId, n.amount_paise) end,
--       }
--     }
--     location = /balance { content_by_lua_block {
--       local payload, err = require("enkash.ngx").client().wallet:balance{ enKashCardId = ... }
--     } }
--     location = /enkash/webhook { content_by_lua_block { require("enkash.ngx").handlers.webhook() } }
--
-- Calls go over cosockets (enkash.transport.ngx) and never block the worker; the token is
-- shared by the workers through the `ngx_shared_dict` (enkash.auth.shared_dict). In a phase
-- without cosockets (init, init_worker, set, header_filter, body_filter, log, balancer) a
-- call returns `nil, err` (kind "transport"): defer it with `enkash.ngx.defer(fn)`, which is
-- `ngx.timer.at(0, fn)`.
-- @module enkash.ngx

-- luacheck: read globals ngx
-- ngx.status and ngx.header are meant to be written; luacheck knows ngx only as read-only.
-- luacheck: ignore 122

local enkash = require "enkash"
local webhook = require "enkash.webhook"
local dedupe = require "enkash.webhook.dedupe"
local redact = require "enkash.redact"
local transport = require "enkash.transport.ngx"
local cjson = require "cjson.safe"

local type, tostring, tonumber, pairs, pcall, error, select =
  type, tostring, tonumber, pairs, pcall, error, select
local unpack = table.unpack or unpack -- luacheck: ignore 143

local M = {}

--- The application's handlers, for nginx.conf to reach what init_by_lua made:
-- `enkash_ngx.handlers.webhook = enkash_ngx.webhook_handler{...}` in init_by_lua, then
-- `content_by_lua_block { require("enkash.ngx").handlers.webhook() }`.
M.handlers = {}

local default_client

--- Create the client the request handlers share (`enkash.ngx.client()`), typically in
-- init_by_lua, where the ENKASH_* environment variables are still visible (nginx hides them
-- from the workers unless listed with `env`). Its calls then run in the workers' request
-- phases, over cosockets.
-- @tparam table config as for `enkash.new` (set `ngx_shared_dict` to share the token)
-- @treturn table|nil client
-- @treturn[opt] table err
function M.configure(config)
  local client, err = enkash.new(config)
  if not client then return nil, err end
  default_client = client
  return client
end

--- The client made by `configure`; raises when there is none.
-- @treturn table client
function M.client()
  if not default_client then
    error("enkash.ngx.client: call enkash.ngx.configure{...} first (in init_by_lua)", 2)
  end
  return default_client
end

--- True when nginx allows cosockets in the current phase, else nil and the error a call
-- would return (kind "transport", naming the phase and the ngx.timer.at workaround).
-- @treturn boolean|nil ok
-- @treturn[opt] table err
function M.check()
  return transport.check()
end

--- Run `fn(...)` from a zero-delay timer: the way to call Enkash from a phase without
-- cosockets (log, init_worker, header_filter, ...). Errors raised by fn are logged (masked).
-- @tparam function fn
-- @param ... arguments for fn
-- @treturn boolean|nil ok
-- @treturn[opt] string err from ngx.timer.at ("too many pending timers", "process exiting")
function M.defer(fn, ...)
  if type(fn) ~= "function" then error("enkash.ngx.defer: fn must be a function", 2) end
  local n, args = select("#", ...), { ... }
  return ngx.timer.at(0, function(premature)
    if premature then return end -- nginx is exiting
    local ok, err = pcall(fn, unpack(args, 1, n))
    if not ok then ngx.log(ngx.ERR, "enkash: deferred call raised: ", redact.text(tostring(err))) end
  end)
end

local function shared_dict(dict, who)
  if type(dict) == "string" then
    local d = ngx.shared[dict]
    if not d then error(who .. ": lua_shared_dict " .. dict .. " is not declared in nginx.conf", 3) end
    return d
  end
  if type(dict) ~= "table" and type(dict) ~= "userdata" then
    error(who .. ": dict must be a lua_shared_dict name or ngx.shared.NAME", 3)
  end
  return dict
end

--- A webhook dedupe store over a lua_shared_dict (the store contract of
-- `enkash.webhook.dedupe`): shared by every worker. When the dict is full it refuses the new
-- key (`safe_add`: "no memory") rather than let nginx evict a live one, which would let a
-- replay inside max_age be handled twice; dedupe then answers a retryable error and Enkash
-- delivers again later, as with the in-memory store.
-- @tparam string|table dict a lua_shared_dict name, or ngx.shared.NAME
-- @tparam[opt] string prefix key prefix (default "enkash:webhook:")
-- @treturn table store with add(key, ttl), delete(key), has(key)
function M.dict_store(dict, prefix)
  dict = shared_dict(dict, "enkash.ngx.dict_store")
  prefix = prefix or "enkash:webhook:"
  local store = {}
  function store.add(_, key, ttl)
    local ok, err = dict:safe_add(prefix .. key, true, ttl)
    if ok then return true end
    if err == "exists" then return false end
    if err == "no memory" then
      ngx.log(ngx.WARN, "enkash: webhook dedupe dict is full of live keys; refusing a new one")
      return nil, "full"
    end
    return nil, err
  end
  function store.delete(_, key)
    dict:delete(prefix .. key)
    return true
  end
  function store.has(_, key)
    return dict:get(prefix .. key) ~= nil
  end
  return store
end

-- Short refusals: no secret, no PII, nothing of the body.
local REFUSALS = {
  auth = "checksum mismatch",
  crypto = "cannot decrypt the notification",
  validation = "invalid notification",
}

local function reply(status, doc)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.print(type(doc) == "string" and doc or cjson.encode(doc))
  return ngx.exit(ngx.HTTP_OK)
end

local function read_file_prefix(path, n)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read(n)
  f:close()
  return s or ""
end

-- The raw body, from memory or from nginx's temp file; nil when larger than max_bytes.
local function read_body(max_bytes)
  local declared = tonumber(ngx.var.http_content_length or "")
  if declared and declared > max_bytes then return nil end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if not body then
    local file = ngx.req.get_body_file()
    body = file and read_file_prefix(file, max_bytes + 1) or ""
  end
  if #body > max_bytes then return nil end
  return body
end

local HANDLER_OPTS = {
  handle = true, secret = true, secrets = true, verifier = true, dict = true, ttl = true,
  key = true, max_age = true, now = true, max_bytes = true,
}

--- A content handler for Enkash's Payment Notify webhook.
-- It reads the raw body (nginx's temp file too), runs `enkash.webhook.parse` (decrypt,
-- fields, checksum, staleness), deduplicates by uniqueTransactionId through the shared dict,
-- calls `handle(notification)`, and answers as Enkash expects (`webhook.ACK_STATUS`,
-- `webhook.ack_body()`, JSON). A replay gets the acknowledgement again without a second call
-- of `handle`. A tampered, malformed or stale notification gets HTTP 400 with a short JSON
-- error; `handle` raising or returning nil/false gets HTTP 500 and releases the key, so
-- Enkash's redelivery is processed. Only POST is accepted (405 otherwise).
-- @tparam table opts `handle` (function(notification) -> true when handled for good),
--   `secrets` (checksum key or keys) or `verifier`, `secret` (client secret, for encrypted
--   notifications), `dict` (lua_shared_dict name or ngx.shared.NAME, default
--   "enkash_webhooks"; false: a per-worker memory store), `ttl` (seconds keys are kept, 7
--   days), `key` (dedupe key function), `max_age`, `now`, `max_bytes` (as webhook.parse)
-- @treturn function the content handler: `content_by_lua_block { handler() }`
function M.webhook_handler(opts)
  local who = "enkash.ngx.webhook_handler"
  if type(opts) ~= "table" then error(who .. ": opts must be a table", 2) end
  for k in pairs(opts) do
    if not HANDLER_OPTS[k] then error(who .. ": unknown option " .. tostring(k), 2) end
  end
  local handle = opts.handle
  if type(handle) ~= "function" then error(who .. ": handle must be a function", 2) end
  local verifier = opts.verifier
  if verifier ~= nil and type(verifier) ~= "function" then
    error(who .. ": verifier must be a function", 2)
  end
  if not verifier and opts.secrets ~= nil then
    local ok, v = pcall(webhook.hmac_verifier, opts.secrets)
    if not ok then error(who .. ": secrets must be a secret or a non-empty list of them", 2) end
    verifier = v
  end
  if not verifier and not webhook.default_verifier then
    error(who .. ": give secrets (the checksum keys) or a verifier", 2)
  end
  local store
  if opts.dict == false then
    store = dedupe.memory_store()
  else
    store = M.dict_store(opts.dict or "enkash_webhooks")
  end
  local d = dedupe.new{ store = store, ttl = opts.ttl, key = opts.key }
  local max_bytes = opts.max_bytes or webhook.MAX_BODY
  local parse_opts = { secret = opts.secret, verifier = verifier, max_age = opts.max_age, now = opts.now,
                       max_bytes = max_bytes }
  webhook.parse("{}", nil, parse_opts) -- raises now on a bad option, not at the first delivery

  return function()
    if ngx.req.get_method() ~= "POST" then
      ngx.header["Allow"] = "POST"
      return reply(405, { status = "FAILED", error = "method not allowed" })
    end
    local raw = read_body(max_bytes)
    if not raw then return reply(413, { status = "FAILED", error = "body too large" }) end
    local n, err = webhook.parse(raw, ngx.req.get_headers(100), parse_opts)
    if not n then
      ngx.log(ngx.WARN, "enkash: webhook refused: ", err.kind, err.field and (" field=" .. err.field) or "")
      return reply(400, { status = "FAILED", error = REFUSALS[err.kind] or "invalid notification",
                          field = err.field })
    end
    local ok, done, why = pcall(d.once, d, n, handle)
    if not ok then
      ngx.log(ngx.ERR, "enkash: webhook handler raised: ", redact.text(tostring(done)))
      return reply(500, { status = "FAILED", error = "not processed" })
    end
    if done == nil and why == "duplicate" then
      ngx.log(ngx.INFO, "enkash: webhook replay acknowledged")
      return reply(webhook.ACK_STATUS, webhook.ack_body())
    end
    if not done then
      if type(why) == "table" and why.kind then
        ngx.log(ngx.ERR, "enkash: webhook dedupe store failed: ", tostring(why.message))
      else
        ngx.log(ngx.WARN, "enkash: webhook handler did not accept the notification; Enkash may redeliver")
      end
      return reply(500, { status = "FAILED", error = "not processed" })
    end
    return reply(webhook.ACK_STATUS, webhook.ack_body())
  end
end

return M
