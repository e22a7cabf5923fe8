--- The access token in a `lua_shared_dict`, shared by every nginx worker, with a single-flight
-- fetch: when the token is missing or due for refresh, one worker fetches it while the others
-- wait for it (a lock taken with the dict's atomic `add`, with an expiry; the waiters poll
-- with ngx.sleep, which yields) — never all at once.
--
-- Same interface as the C token store the client uses elsewhere (`set(token, ttl)`,
-- `get(margin)`, `info()`, `invalidate()`), plus `lock(margin)` / `unlock(err)` for the
-- single flight. The client uses it by itself inside nginx when `ngx_shared_dict` names a
-- dict:
--
--     http { lua_shared_dict enkash 1m; ... }
--     enkash.new{ ..., ngx_shared_dict = "enkash" }
--
-- The token text is kept in the dict (that is the point: the workers share it); it is never
-- logged and never part of an error. Keys are per credentials (a hash of the token URL,
-- client id and username), so several clients can share one dict.
-- @module enkash.auth.shared_dict

-- luacheck: read globals ngx

local core = require "enkash.core"
local errors = require "enkash.errors"
local redact = require "enkash.redact"

local type, tostring, tonumber, setmetatable, error = type, tostring, tonumber, setmetatable, error
local format, match, byte, gsub, sub = string.format, string.match, string.byte, string.gsub, string.sub
local running = coroutine.running
local max, min = math.max, math.min

local M = {}

--- Seconds a failed fetch is remembered: the workers that waited for it, and the requests
-- that need a token meanwhile, get its error instead of each trying again.
M.fail_ttl = 2
--- The same for refused credentials (kind "auth"): Enkash locks an account after 3 failures,
-- so a wrong password is tried at most once per this many seconds, whatever the traffic.
M.auth_fail_ttl = 30
--- First and longest pause between two looks of a waiting worker, in seconds.
M.poll_min, M.poll_max = 0.002, 0.05

local Store = {}
Store.__index = Store

local function hex(raw)
  return (gsub(raw, ".", function(c) return format("%02x", byte(c)) end))
end

--- Create a store over a shared dict.
-- @tparam string|table dict the name of a `lua_shared_dict`, or the dict (ngx.shared.NAME)
-- @tparam table cfg resolved config: auth_url, client_id and username name the key;
--   timeout and connect_timeout bound the lock's life
-- @treturn table store
function M.new(dict, cfg)
  if type(dict) == "string" then
    local name = dict
    dict = ngx.shared[name]
    if not dict then error("enkash: lua_shared_dict " .. name .. " is not declared in nginx.conf", 2) end
  end
  if type(dict) ~= "table" and type(dict) ~= "userdata" then
    error("enkash.auth.shared_dict: dict expected", 2)
  end
  if type(cfg) ~= "table" then error("enkash.auth.shared_dict: cfg expected", 2) end
  local id = sub(hex(core.sha256(tostring(cfg.auth_url) .. "\0" .. tostring(cfg.client_id) .. "\0"
    .. tostring(cfg.username))), 1, 16)
  local prefix = "enkash:token:" .. id
  return setmetatable({
    dict = dict, key = prefix, key_lock = prefix .. ":lock", key_ver = prefix .. ":ver",
    key_fail = prefix .. ":fail",
    -- the fetch with its retries: every attempt's timeouts and the backoff between them
    lock_ttl = ((cfg.connect_timeout or 5) + (cfg.timeout or 30)) * (1 + (cfg.retries or 0))
      + (cfg.retry_cap or 0) * (cfg.retries or 0) + 1,
    seen = setmetatable({}, { __mode = "k" }), -- coroutine -> version of the token it was given
    mine = nil, -- this worker's copy of the token it stored, in case the dict evicted it
    last = nil, -- the record read last, parsed
    remembered = nil, -- the token last registered with enkash.redact (as this store's)
    serial = 0,
  }, Store)
end

-- The stored record: expiry time, lifetime, version, token. The record read last is kept
-- parsed: every request reads the same one until the token changes (a string compare, as
-- equal Lua strings are one object).
local function load(self)
  local v = self.dict:get(self.key)
  if type(v) == "string" then
    local last = self.last
    if last and last.raw == v then return last.exp, last.life, last.ver, last.token end
    local exp, life, ver, token = match(v, "^(%S+) (%S+) (%d+)\n(.*)$")
    if exp then
      exp, life, ver = tonumber(exp), tonumber(life), tonumber(ver)
      self.last = { raw = v, exp = exp, life = life, ver = ver, token = token }
      return exp, life, ver, token
    end
  end
  local m = self.mine
  if m and m.expires_at > ngx.now() then return m.expires_at, m.lifetime, m.ver, m.token end
  return nil
end

--- Store a new token for `ttl` seconds (every worker sees it at once).
-- @tparam string token
-- @tparam number ttl seconds
function Store:set(token, ttl)
  if type(token) ~= "string" or type(ttl) ~= "number" or ttl <= 0 then
    error("token store: set(token, ttl) expects a string and a positive number", 2)
  end
  local ver = self.dict:incr(self.key_ver, 1, 0) or 0
  local expires_at = ngx.now() + ttl
  self.mine = { expires_at = expires_at, lifetime = ttl, ver = ver, token = token }
  local ok, err = self.dict:set(self.key, format("%.3f %.17g %d\n", expires_at, ttl, ver) .. token, ttl)
  if not ok then
    -- the error text is nginx's ("no memory"): it holds no token
    ngx.log(ngx.WARN, "enkash: cannot keep the token in the shared dict: ", tostring(err),
      "; this worker keeps its own copy")
  end
end

--- The token when it stays valid for more than `margin` seconds, else nil.
-- @tparam[opt=0] number margin seconds
-- @treturn string|nil token
function Store:get(margin)
  local exp, _, ver, token = load(self)
  if not exp or exp - ngx.now() <= (margin or 0) then return nil end
  self.seen[running() or self] = ver
  if token ~= self.remembered then -- fetched by another worker, perhaps: masked here too
    redact.remember(self, "access_token", token)
    self.remembered = token
  end
  return token
end

--- {present = false} or {present = true, expires_in, lifetime}; never the token.
-- @treturn table
function Store:info()
  local exp, life = load(self)
  if not exp then return { present = false } end
  return { present = true, expires_in = exp - ngx.now(), lifetime = life }
end

--- Drop the token, unless another worker already replaced the one this request was given
-- (a 401 in one request must not throw away the fresh token another one just fetched).
function Store:invalidate()
  local co = running() or self
  local seen = self.seen[co]
  self.seen[co] = nil
  local _, _, ver = load(self)
  if seen == nil or ver == nil or ver == seen then
    self.dict:delete(self.key)
    self.mine = nil
  end
end

-- The error of a recent failed fetch (of the one `lock_id` names, when given), or nil.
local function failure(self, lock_id)
  local v = self.dict:get(self.key_fail)
  if type(v) ~= "string" then return nil end
  local id, kind, status, message = match(v, "^([^\n]*)\n([^\n]*)\n([^\n]*)\n(.*)$")
  if (lock_id and id ~= lock_id) or not errors.kinds[kind] then return nil end
  return errors.new(kind, message .. " (a token fetch of the last seconds, shared by the nginx workers)", {
    endpoint = "auth.token", http_status = tonumber(status), retryable = kind ~= "auth" and kind ~= "tls",
  })
end

--- Take the fetch lock, or wait for the worker that holds it.
-- Returns true when the caller holds the lock and must fetch, then call `unlock`; the token
-- when one became available (the previous one while it is still valid, or the one another
-- worker fetched); nil and an error when the fetch this call waited for failed or took
-- longer than the lock's life.
-- @tparam[opt=0] number margin seconds the token must stay valid to be taken as fresh
-- @treturn true|string|nil
-- @treturn[opt] table err
function Store:lock(margin)
  -- waiting means ngx.sleep: not in a phase without it (the caller gets the phase error)
  local usable, why = require("enkash.transport.ngx").check()
  if not usable then return nil, why end
  margin = margin or 0
  local failed = failure(self)
  if failed then return nil, failed end
  local deadline = ngx.now() + self.lock_ttl + 1
  local pause = M.poll_min
  local waited_for
  while true do
    self.serial = self.serial + 1
    local id = format("%d:%d:%.3f", ngx.worker.pid(), self.serial, ngx.now())
    local ok, err = self.dict:add(self.key_lock, id, self.lock_ttl)
    if ok then
      -- someone may have stored a token, or failed to fetch one, between our look and the
      -- lock (unlock records the failure before it frees the lock): refused credentials are
      -- not tried once more
      local token = self:get(margin)
      if token then
        self.dict:delete(self.key_lock)
        return token
      end
      failed = failure(self)
      if failed then
        self.dict:delete(self.key_lock)
        return nil, failed
      end
      self.lock_id = id
      return true
    end
    if err ~= "exists" then
      return nil, errors.new("transport", "shared dict lock failed: " .. tostring(err),
        { endpoint = "auth.token" })
    end
    -- another worker fetches: the current token while it is still valid, else wait for the new one
    local token = self:get(0)
    if token then return token end
    waited_for = self.dict:get(self.key_lock) or waited_for
    repeat
      ngx.sleep(pause)
      pause = min(pause * 2, M.poll_max)
      token = self:get(0)
      if token then return token end
      failed = waited_for and failure(self, waited_for)
      if failed then return nil, failed end
      if ngx.now() > deadline then
        return nil, errors.new("timeout", "another nginx worker's token fetch did not finish in "
          .. self.lock_ttl .. " s", { endpoint = "auth.token", retryable = true })
      end
      local holder = self.dict:get(self.key_lock)
      if holder then waited_for = holder end
    until holder == nil
    -- the lock is free again: a fetch that failed meanwhile (one this worker never saw holding
    -- the lock) is remembered, and refused credentials must not be tried once more
    failed = failure(self)
    if failed then return nil, failed end
    deadline = max(deadline, ngx.now() + 1)
  end
end

--- Release the fetch lock; with `err`, the waiting workers get that error instead of a token.
-- @tparam[opt] table err the fetch's error (its kind, http_status and message are shared)
function Store:unlock(err)
  local id = self.lock_id
  self.lock_id = nil
  if err and id then
    self.dict:set(self.key_fail, format("%s\n%s\n%s\n%s", id, tostring(err.kind),
      tostring(err.http_status or ""), gsub(tostring(err.message), "\n", " ")),
      err.kind == "auth" and M.auth_fail_ttl or M.fail_ttl)
  end
  if id and self.dict:get(self.key_lock) == id then self.dict:delete(self.key_lock) end
end

--- Text form: presence and remaining lifetime, never the token.
function Store:__tostring()
  local exp = load(self)
  if not exp then return "enkash.token(empty, shared dict)" end
  return format("enkash.token(present, expires in %ds, shared dict)", math.floor(exp - ngx.now()))
end

return M
