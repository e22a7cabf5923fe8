--- Time-driven progressions: a record walks a chain of statuses one step every `step`
-- seconds (settlements PENDING -> APPROVED -> ...; VKYC INITIATED -> IN_PROGRESS -> APPROVED).
-- Steps are computed from the time of the last change, so however late the sandbox looks,
-- the record lands where it would have been, and looking twice changes nothing.
-- @module enkash.sandbox.steps

local type = type

local M = {}

--- The position of `status` in `chain`, or nil when the record left the chain (a status set
-- by a control call, e.g. DISPUTED, stops the progression).
-- @tparam table chain list of statuses
-- @tparam string status
-- @treturn number|nil
function M.index(chain, status)
  for i, s in ipairs(chain) do
    if s == status then return i end
  end
  return nil
end

--- Move `rec` along `chain` as far as the time since `rec.since` allows.
-- @tparam table rec {status, since}
-- @tparam table chain list of statuses
-- @param step seconds per step, or false (only control calls move the record)
-- @tparam number now the sandbox's clock
-- @tparam[opt] function on_enter called with rec after each step
-- @treturn boolean true while the record can still move by time
function M.advance(rec, chain, step, now, on_enter)
  local i = M.index(chain, rec.status)
  if not i then return false end
  if type(step) == "number" then
    while i < #chain and now - rec.since >= step do
      i = i + 1
      rec.status = chain[i]
      rec.since = rec.since + step
      if on_enter then on_enter(rec) end
    end
  end
  return i < #chain
end

return M
