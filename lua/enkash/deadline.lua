--- A call's deadline, in the manner of LuaSocket's block/total timeouts: one object made when
-- the call starts, asked before every wait. Each attempt's timeout, each backoff sleep, each
-- token fetch and each reconciliation lookup is cut to the time left, so a call with
-- `deadline = 10` never runs much past 10 seconds, whatever its retries and timeouts say.
-- Without a deadline `left()` is infinite and nothing is cut.
-- @module enkash.deadline

local huge, min = math.huge, math.min
local setmetatable = setmetatable

local M = {}
local D = {}
D.__index = D

--- The shortest timeout handed to a transport: libcurl counts milliseconds, and 0 means "none".
M.MIN_TIMEOUT = 0.001

--- Start a deadline now.
-- @tparam table clock {now, sleep} (enkash.clock)
-- @tparam[opt] number seconds the total budget; nil for none
-- @treturn table deadline
function M.new(clock, seconds)
  local now = clock.now
  return setmetatable({ clock = clock, now = now, ends = seconds and (now() + seconds) or nil }, D)
end

--- Seconds left (math.huge without a deadline; never negative).
-- @treturn number
function D:left()
  local ends = self.ends
  if not ends then return huge end
  local left = ends - self.now()
  return left > 0 and left or 0
end

--- True when no time is left.
-- @treturn boolean
function D:expired()
  return self.ends ~= nil and self.now() >= self.ends
end

--- A timeout cut to the time left (at least `M.MIN_TIMEOUT`); nil when the deadline passed.
-- @tparam number timeout seconds
-- @treturn number|nil
function D:clip(timeout)
  if not self.ends then return timeout end
  local left = self:left()
  if left <= 0 then return nil end
  local t = min(timeout, left)
  return t > M.MIN_TIMEOUT and t or M.MIN_TIMEOUT
end

--- Sleep `seconds` when the deadline leaves room for it and the work after it; otherwise do
-- not sleep at all (a retry that would start past the deadline is not worth the wait).
-- @tparam number seconds
-- @treturn boolean true when it slept
function D:sleep(seconds)
  if self.ends and self.now() + seconds >= self.ends then return false end
  self.clock.sleep(seconds)
  return true
end

--- Sleep up to `seconds`, cut to the time left; false when no time is left at all.
-- @tparam number seconds
-- @treturn boolean
function D:wait(seconds)
  local left = self:left()
  if left <= 0 then return false end
  self.clock.sleep(min(seconds, left))
  return true
end

return M
