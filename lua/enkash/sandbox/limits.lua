--- PPI-style load limits per KYC level (opts.limits, paise): how much may be loaded into a
-- wallet in a calendar month (IST) and the most it may hold. Loads (add_money, top_up) and
-- incoming wallet-to-wallet transfers count; refunds and reversals only give money back and
-- are never refused or counted.
-- @module enkash.sandbox.limits

local clock = require "enkash.sandbox.clock"
local books = require "enkash.sandbox.books"

local min, max = math.min, math.max

local M = {}

--- The refusal of a load beyond a limit.
M.EXCEEDED = "Load limit exceeded"

--- Default limits in paise: ₹10,000 for a minimum-KYC wallet, ₹2,00,000 for full KYC (the
-- RBI PPI figures as commonly applied).
M.defaults = {
  MIN_KYC = { monthly_load = 1000000, max_balance = 1000000 },
  FULL_KYC = { monthly_load = 20000000, max_balance = 20000000 },
}

--- Paise loaded into a wallet in the current month.
-- @tparam table sb
-- @tparam table w wallet record
-- @treturn number
function M.loaded(sb, w)
  return w.loads[clock.month(sb)] or 0
end

--- How much more may be loaded now (>= 0): the lower of the monthly and balance headroom.
-- @tparam table sb
-- @tparam table w wallet record
-- @treturn number paise
function M.remaining(sb, w)
  local l = sb.opts.limits[w.kyc]
  local month = l.monthly_load - M.loaded(sb, w)
  local hold = l.max_balance - books.balance(sb, w)
  return max(0, min(month, hold))
end

--- Nil when `paise` may be loaded, else the refusal message.
-- @tparam table sb
-- @tparam table w wallet record
-- @tparam number paise
-- @treturn string|nil
function M.check(sb, w, paise)
  if paise > M.remaining(sb, w) then return M.EXCEEDED end
  return nil
end

--- Count a load against this month's total.
-- @tparam table sb
-- @tparam table w wallet record
-- @tparam number paise
function M.count(sb, w, paise)
  local m = clock.month(sb)
  w.loads[m] = (w.loads[m] or 0) + paise
end

return M
