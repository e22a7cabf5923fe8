--- Sandbox time: the host's clock plus an offset that only moves forward.
-- Every expiry and progression in the sandbox (tokens, device bindings, OTPs, settlements,
-- VKYC sessions, monthly load totals) reads `sb.clock()`, so the control call `advance`
-- moves all of them at once without the test waiting. The offset survives `reset`, so
-- time never runs backwards for a client that keeps running across a reset.
-- Calendar values (the month of a load, a webhook's txnDate) come from the wall clock at
-- creation plus the elapsed sandbox time, in India Standard Time (UTC+05:30, no DST), the
-- zone Enkash's partners and PPI limits live in.
-- @module enkash.sandbox.clock

local type, floor, date, time = type, math.floor, os.date, os.time

local M = {}

--- Seconds east of UTC of India Standard Time.
M.IST = 19800

--- Give a sandbox its clock: `sb.clock()` = base() + the offset.
-- @tparam table sb the sandbox
-- @tparam function base the host clock (seconds, monotonic)
function M.install(sb, base)
  sb.offset = 0
  -- wall time = epoch + sb.clock(): anchored once, so advancing moves the calendar too
  sb.epoch = time() - base()
  sb.clock = function() return base() + sb.offset end
end

--- Wall-clock seconds since 1970 (UTC) of the sandbox's present.
-- @tparam table sb
-- @treturn number
function M.wall(sb)
  return sb.epoch + sb.clock()
end

--- The calendar month in IST, "YYYY-MM": the period of the monthly load limit.
-- @tparam table sb
-- @treturn string
function M.month(sb)
  return date("!%Y-%m", floor(M.wall(sb)) + M.IST)
end

--- The present as ISO-8601 in IST: "YYYY-MM-DDTHH:MM:SS+05:30" (webhook txnDate).
-- @tparam table sb
-- @treturn string
function M.iso(sb)
  return date("!%Y-%m-%dT%H:%M:%S", floor(M.wall(sb)) + M.IST) .. "+05:30"
end

-- advance {seconds = N}: move the sandbox's time forward by N seconds (N >= 0).
local function advance(sb, args)
  local s = args.seconds
  if type(s) ~= "number" or s ~= s or s < 0 or s == math.huge then
    return nil, "seconds must be a number >= 0"
  end
  sb.offset = sb.offset + s
  sb:tick()
  return { offset = sb.offset, month = M.month(sb), now = M.iso(sb) }
end

--- Control calls of this module (merged into enkash.sandbox.control).
M.controls = {
  advance = { method = "POST", fn = advance },
}

return M
