--- The token a client sends: cached in a store, refreshed before it expires, fetched by one
-- task at a time (single flight), its fetch retried by the one retry decision (enkash.retry)
-- and cut to the call's deadline. The pipeline asks `session:token(deadline)` before every
-- attempt and `session:invalidate()` after a 401.
--
-- Stores: the C token store (per client), or, inside nginx, a lua_shared_dict store
-- (enkash.auth.shared_dict) that has its own single flight across workers (`lock`/`unlock`).
-- @module enkash.auth.session

local auth = require "enkash.auth"
local errors = require "enkash.errors"
local log = require "enkash.log"
local retry = require "enkash.retry"

local setmetatable, pcall, error, floor = setmetatable, pcall, error, math.floor

local M = {}
local S = {}
S.__index = S

--- A session over a store.
-- @tparam table c {config, transport, store, clock}
-- @treturn table session
function M.new(c)
  return setmetatable({
    cfg = c.config, transport = c.transport, store = c.store, clock = c.clock,
    token_type = "bearer", fetching = false,
    virtual = c.config.clock ~= nil, expires_at = nil, -- the token's expiry on an injected clock
    margin = nil, -- the refresh margin of the stored token's lifetime (enkash.auth.margin)
  }, S)
end

-- Fetch a token into the store, retrying transient failures (never refused credentials: Enkash
-- locks an account after 3), each attempt and each wait cut to the deadline.
local function fetch(self, deadline)
  local cfg, clock = self.cfg, self.clock
  local t0 = clock.now()
  local attempts = 1 + cfg.retries
  local ok, got, err
  for attempt = 1, attempts do
    local timeout = deadline and deadline:clip(cfg.timeout) or cfg.timeout
    if not timeout then
      ok, got, err = true, nil, errors.new("timeout", "the call's deadline passed before a token was fetched",
        { endpoint = "auth.token", sent = false, retryable = false })
      break
    end
    ok, got, err = pcall(auth.fetch, cfg, self.transport, self.store, timeout)
    if not ok or got then break end
    local action = retry.decide(err, { token = true, attempt = attempt, attempts = attempts })
    if action ~= "retry" then break end
    local delay = retry.delay(cfg, attempt, err)
    if deadline then
      if not deadline:sleep(delay) then break end
    else
      clock.sleep(delay)
    end
  end
  if not ok then return false, got end
  log.emit(cfg, got and "info" or "warn", "token", {
    endpoint = "auth.token", duration = clock.now() - t0, ok = got ~= nil,
    http_status = err and err.http_status, kind = err and err.kind,
  })
  return true, got, err
end

-- The stored token when it stays valid for `margin` seconds more: the store's own expiry (the
-- C core's clock, or the shared dict's), and, with an injected clock (config `clock`), the
-- expiry on that clock too, so a virtual hour expires a token as a real one would.
local function fresh(self, margin)
  local token = self.store:get(margin)
  if token and self.virtual and not (self.expires_at and self.clock.now() + margin < self.expires_at) then
    return nil
  end
  return token
end

--- The access token string, fetched when missing or within its refresh margin.
-- Raises only what a transport raised (a programming error); failures are `nil, err`.
-- @tparam[opt] table deadline the call's (enkash.deadline): the fetch is cut to it
-- @treturn string|nil token
-- @treturn table|nil err
function S:token(deadline)
  local store = self.store
  -- The refresh margin of the token last seen, kept: the hot path is one store lookup.
  local margin = self.margin
  local token = margin and fresh(self, margin)
  if token then return token end
  local info = store:info()
  margin = info.present and auth.margin(self.cfg, info.lifetime)
  self.margin = margin or nil
  token = margin and fresh(self, margin)
  if token then return token end
  -- Single flight: while one task of a batch fetches (its request yields), the others wait
  -- for that token instead of each fetching their own.
  if self.fetching then
    -- the transport's own sleep, which yields to the fetching task (a virtual clock's would
    -- not, and this loop would never end)
    while self.fetching do self.transport:sleep(0.005) end
    token = store:get(0)
    if token then return token end
  end
  -- A store shared by processes (nginx workers) has its own single flight: one worker
  -- fetches, the others wait for its token (or its error).
  local shared = store.lock ~= nil
  if shared then
    local got, lock_err = store:lock(margin or 0)
    if got ~= true then return got, lock_err end
  end
  self.fetching = true
  local ok, got, err = fetch(self, deadline)
  self.fetching = false
  if shared then store:unlock(ok and not got and err or nil) end
  if not ok then error(got, 0) end
  if not got then return nil, err end
  self.token_type = got.token_type
  self.margin = auth.margin(self.cfg, got.lifetime)
  if self.virtual then self.expires_at = self.clock.now() + got.lifetime end
  token = store:get(0)
  -- never `nil, nil`: a token whose lifetime ran out while it was being stored
  if not token then
    return nil, errors.new("auth", "the new access token expired at once", { endpoint = "auth.token" })
  end
  return token
end

--- Drop the cached token (a 401 said it died early).
function S:invalidate()
  self.expires_at = nil
  self.store:invalidate()
end

local TokenInfo = {
  __tostring = function(t)
    return "enkash.token(" .. t.token_type .. ", expires in " .. floor(t.expires_in) .. "s)"
  end,
}

--- The token's info, fetching one first when there is none; never the token itself.
-- @treturn table|nil info {token_type, expires_in, lifetime}; tostring shows type and lifetime
-- @treturn table|nil err
function S:info()
  local ok, err = self:token()
  if not ok then return nil, err end
  local info = self.store:info()
  return setmetatable({
    token_type = self.token_type, expires_in = info.expires_in, lifetime = info.lifetime,
  }, TokenInfo)
end

--- Forget the token when the client closes, unless other workers share the store.
function S:close()
  if not self.store.lock then self.store:invalidate() end
end

return M
