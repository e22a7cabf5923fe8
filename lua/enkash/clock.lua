--- Time, as a collaborator: `now()` (monotonic seconds) and `sleep(seconds)`.
-- Everything on the request path that waits or measures (retries, the deadline, reconciliation,
-- the token's single flight, the in-process sandbox's delays) asks the clock it was given, never
-- the C core directly, so tests run on virtual time: `clock.virtual()` moves forward only when
-- something sleeps on it, and a minute of backoff passes in microseconds.
-- Config options `clock` and `sleep` (functions) replace either half (README, Options).
-- @module enkash.clock

local core = require "enkash.core"

local type, error, pcall = type, error, pcall
local huge = math.huge
local monotime = core.monotime

local M = {}

--- The clock of a client: `cfg.clock`/`cfg.sleep` when given, else the C core's monotonic
-- clock and the transport's sleep (which yields inside a batch or an nginx request).
-- @tparam table cfg resolved config
-- @tparam table transport the client's transport (its `sleep`)
-- @treturn table clock {now, sleep}
function M.of(cfg, transport)
  local sleep = cfg.sleep
  if sleep == nil then
    sleep = function(seconds) transport:sleep(seconds) end
  end
  local now = core.monotime
  local user = cfg.clock
  if user then
    -- A reading that is not a finite number (or a clock that raises) would make every
    -- deadline and backoff sum raise: the C core's clock answers instead.
    now = function()
      local ok, t = pcall(user)
      if ok and type(t) == "number" and t == t and t > -huge and t < huge then return t end
      return monotime()
    end
  end
  return { now = now, sleep = sleep }
end

--- The real clock, blocking: the C core's monotonic time and nanosleep.
M.real = { now = core.monotime, sleep = core.sleep }

--- A virtual clock for tests: time starts at `start` (default 0) and moves only by `sleep`
-- or `advance`; `slept` adds up every wait, `sleeps` counts them.
-- @tparam[opt] number start
-- @treturn table {now, sleep, advance, slept, sleeps}; `now` and `sleep` are plain functions
-- (no self), so they go straight into `enkash.new{clock = v.now, sleep = v.sleep}`
function M.virtual(start)
  local v = { slept = 0, sleeps = 0 }
  local t = start or 0
  function v.now() return t end
  function v.advance(seconds)
    if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 then
      error("enkash.clock: seconds must be a number >= 0", 2)
    end
    t = t + seconds
  end
  function v.sleep(seconds)
    v.advance(seconds)
    v.slept, v.sleeps = v.slept + seconds, v.sleeps + 1
  end
  return v
end

return M
