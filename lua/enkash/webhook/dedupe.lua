--- Webhook deduplication: process each notification once, however often Enkash delivers it.
-- `local d = webhook.dedupe{store = ..., ttl = ...}` (once per process, not per request), then
-- `d:once(notification, fn)`.
--
-- The store contract (so nginx code can plug in a `lua_shared_dict` behind a small wrapper):
--   store:add(key, ttl) -> true when the key was newly added, false when it is already there
--                          (and not expired); the key expires after ttl seconds; nil, why
--                          when it cannot remember the key (full of live keys, or broken):
--                          `d:once` then returns nil, err (retryable) without calling fn
--   store:delete(key)   -> releases the key
--   store:has(key)      -> boolean (optional; only `d:seen` needs it)
-- A wrapper over ngx.shared.DICT (enkash.ngx.dict_store): add = `dict:safe_add(key, true,
-- ttl)` mapped to true / false ("exists") / nil, "full" ("no memory": never an eviction),
-- delete = `dict:delete(key)`, has = `dict:get(key) ~= nil`.
--
-- Works under Lua 5.4 and LuaJIT.
-- @module enkash.webhook.dedupe

local core = require "enkash.core"
local errors = require "enkash.errors"

local type, pairs, pcall, select, setmetatable, tostring, error, floor, huge =
  type, pairs, pcall, select, setmetatable, tostring, error, math.floor, math.huge
local unpack = table.unpack or unpack -- luacheck: ignore 143

local M = {}

local function positive(x)
  return type(x) == "number" and x == x and x > 0
end

--- Default time a key is remembered, in seconds (7 days).
M.DEFAULT_TTL = 7 * 24 * 3600
--- Default size cap of the in-memory store, in keys.
M.DEFAULT_MAX_KEYS = 100000

-- ---------------------------------------------------------------------------------------
-- The in-memory store: key -> expiry, plus an insertion-ordered queue used to drop expired
-- keys as it goes. When it is full of keys still inside their ttl it refuses a new key rather
-- than forget a live one: a forgotten key lets a replay inside parse's max_age be handled
-- again (a second credit), while a refused delivery is answered with a 5xx and Enkash delivers
-- it again later, when keys have expired. Sizing the store from max_age instead would need a
-- bound on Enkash's delivery rate, which nobody states; memory must stay bounded regardless.

local Store = {}
Store.__index = Store

--- Create the in-memory store (per process: in nginx each worker has its own; use a
-- lua_shared_dict wrapper to share keys between workers).
-- Full of keys still inside their ttl, it refuses a new key (`add` returns nil, "full ...")
-- instead of evicting a live one, which would let a replay be processed again. Size
-- `max_keys` for the most notifications a ttl can see; with parse's staleness check on, a
-- ttl of `max_age + webhook.FUTURE_SKEW` is all a key needs.
-- @tparam[opt] table opts `max_keys` (default 100000), `now` (a clock in seconds; default
--   `core.monotime`)
-- @treturn table store
function M.memory_store(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("webhook.memory_store: opts must be a table", 2) end
  local max = opts.max_keys or M.DEFAULT_MAX_KEYS
  if type(max) ~= "number" or max < 1 or max == huge or floor(max) ~= max then
    error("webhook.memory_store: max_keys must be a positive integer", 2)
  end
  if opts.now ~= nil and type(opts.now) ~= "function" then
    error("webhook.memory_store: now must be a function", 2)
  end
  return setmetatable({
    max = max, now = opts.now or core.monotime,
    expiry = {}, seq_of = {}, -- key -> expiry time, key -> sequence number of its queue entry
    qkey = {}, qseq = {}, head = 1, tail = 0, seq = 0, n = 0,
    next_sweep = -huge, -- no live key expires before this time (see sweep)
  }, Store)
end

local function compact(self)
  local qkey, qseq, j = {}, {}, 0
  for i = self.head, self.tail do
    j = j + 1
    qkey[j], qseq[j] = self.qkey[i], self.qseq[i]
  end
  self.qkey, self.qseq, self.head, self.tail = qkey, qseq, 1, j
end

-- Drop queue entries from the head: stale ones (key deleted or re-added) and expired keys.
local function trim(self, now)
  while self.head <= self.tail do
    local h = self.head
    local key = self.qkey[h]
    local live = self.seq_of[key] == self.qseq[h]
    if live and self.expiry[key] > now then break end
    self.qkey[h], self.qseq[h] = nil, nil
    self.head = h + 1
    if live then
      self.expiry[key], self.seq_of[key] = nil, nil
      self.n = self.n - 1
    end
  end
  if self.head > 1024 and self.head * 2 > self.tail then compact(self) end
end

-- Drop every expired key, wherever it sits: keys added with different ttls expire out of
-- insertion order, so `trim` can leave expired keys behind a live one. It walks every key, so
-- it runs only when the store is full, and again only once the soonest live key it saw has
-- expired (`next_sweep`): a flood of refused adds does not walk the store each time.
local function sweep(self, now)
  if now < self.next_sweep then return end
  local soonest = huge
  for key, e in pairs(self.expiry) do
    if e <= now then
      self.expiry[key], self.seq_of[key] = nil, nil -- its queue entry is now stale
      self.n = self.n - 1
    elseif e < soonest then
      soonest = e
    end
  end
  self.next_sweep = soonest
end

--- Add `key` for `ttl` seconds.
-- @tparam string key
-- @tparam number ttl seconds
-- @treturn boolean|nil true when newly added, false when already present and not expired,
--   nil when the store is full of keys still inside their ttl (no live key is ever evicted)
-- @treturn[opt] string why, with nil
function Store:add(key, ttl)
  if type(key) ~= "string" then error("store:add: key must be a string", 2) end
  if not positive(ttl) or ttl == huge then error("store:add: ttl must be a positive number", 2) end
  local now = self.now()
  trim(self, now)
  local e = self.expiry[key]
  if e and e > now then return false end
  if not e then
    if self.n >= self.max then sweep(self, now) end
    if self.n >= self.max then
      return nil, "full: " .. self.max .. " keys, none past its ttl; deliver again later"
    end
    self.n = self.n + 1
  end
  self.seq = self.seq + 1
  self.expiry[key], self.seq_of[key] = now + ttl, self.seq
  if now + ttl < self.next_sweep then self.next_sweep = now + ttl end
  self.tail = self.tail + 1
  self.qkey[self.tail], self.qseq[self.tail] = key, self.seq
  return true
end

--- Release `key` (no-op when absent).
-- @tparam string key
-- @treturn boolean true
function Store:delete(key)
  if self.expiry[key] then
    self.expiry[key], self.seq_of[key] = nil, nil
    self.n = self.n - 1
  end
  return true
end

--- True when `key` is present and not expired.
-- @tparam string key
-- @treturn boolean
function Store:has(key)
  local e = self.expiry[key]
  return e ~= nil and e > self.now()
end

--- Number of keys held (expired keys not yet dropped included).
-- @treturn number
function Store:count()
  return self.n
end

-- ---------------------------------------------------------------------------------------
-- The deduplicator

local Dedupe = {}
Dedupe.__index = Dedupe

local function default_key(notification)
  return notification.uniqueTransactionId
end

--- Create a deduplicator.
-- @tparam[opt] table opts `store` (default `M.memory_store()`), `ttl` (seconds, default 7
--   days), `key` (function(notification) -> string; default its uniqueTransactionId)
-- @treturn table d with `d:once(notification, fn)` and `d:seen(key)`
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("webhook.dedupe: opts must be a table", 2) end
  local store = opts.store or M.memory_store()
  if (type(store) ~= "table" and type(store) ~= "userdata") or type(store.add) ~= "function"
    or type(store.delete) ~= "function" then
    error("webhook.dedupe: store must have add(key, ttl) and delete(key) methods", 2)
  end
  local ttl = opts.ttl or M.DEFAULT_TTL
  if not positive(ttl) or ttl == huge then error("webhook.dedupe: ttl must be a positive number", 2) end
  if opts.key ~= nil and type(opts.key) ~= "function" then
    error("webhook.dedupe: key must be a function", 2)
  end
  return setmetatable({ store = store, ttl = ttl, key = opts.key or default_key }, Dedupe)
end

local function pack(...)
  return { n = select("#", ...), ... }
end

--- Call `fn(notification)` only for the first delivery of this notification's key (its
-- uniqueTransactionId unless `opts.key` says otherwise).
-- When fn raises, the key is released and the error is raised again; when fn returns nil or
-- false, the key is released and fn's results are returned: either way a redelivery is
-- processed again. So return a true value only once the notification is handled for good.
-- A concurrent second delivery, while the first is still in fn, is a "duplicate" too: ack it
-- only if Enkash redelivers notifications that are not acknowledged.
-- @tparam table notification from `webhook.parse`
-- @tparam function fn the handler
-- @return fn's results, or nil, "duplicate"; or nil, err (kind "transport", retryable) when the
--   store cannot remember the key (full of live keys, or broken): fn is not called; answer with
--   a 5xx so that Enkash delivers the notification again later
function Dedupe:once(notification, fn)
  if type(notification) ~= "table" then error("dedupe:once: notification must be a table", 2) end
  if type(fn) ~= "function" then error("dedupe:once: fn must be a function", 2) end
  local key = self.key(notification)
  if type(key) ~= "string" or key == "" then
    error("dedupe:once: the notification has no key (uniqueTransactionId)", 2)
  end
  local added, why = self.store:add(key, self.ttl)
  if added == false then return nil, "duplicate" end
  if added ~= true then
    return nil, errors.new("transport", "dedupe store failed: " .. tostring(why), { retryable = true })
  end
  local res = pack(pcall(fn, notification))
  if not res[1] then
    self.store:delete(key)
    error(res[2], 0)
  end
  if not res[2] then self.store:delete(key) end
  return unpack(res, 2, res.n)
end

--- True when `key` (a uniqueTransactionId, by default) is held: processed or in progress.
-- Needs a store with `has(key)`.
-- @tparam string key
-- @treturn boolean
function Dedupe:seen(key)
  if type(self.store.has) ~= "function" then error("dedupe:seen: the store has no has(key) method", 2) end
  return self.store:has(key) == true
end

return M
