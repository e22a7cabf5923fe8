--- Retry policy: which failures may be retried, and how long to wait before the next try.
-- Exponential backoff with jitter from `retry_base`, capped at `retry_cap`; a server's
-- Retry-After wins, up to `retry_after_max`. Reads and status calls retry any transient
-- failure; other calls only failures that prove the request was not processed.
-- @module enkash.retry

local min, random = math.min, math.random

local M = {}

--- Seconds to wait before attempt `attempt + 1`.
-- @tparam table cfg resolved config
-- @tparam number attempt the attempt that just failed (1-based)
-- @tparam table err its error
-- @treturn number seconds
function M.delay(cfg, attempt, err)
  if err and err.retry_after then return min(err.retry_after, cfg.retry_after_max) end
  local d = min(cfg.retry_cap, cfg.retry_base * 2 ^ (attempt - 1))
  return d / 2 + random() * d / 2 -- "equal jitter": spread clients, keep a floor
end

--- True when the request certainly did not reach the application: nothing was committed,
-- so even a money-moving call may be sent again.
-- @tparam table err
-- @treturn boolean
function M.not_processed(err)
  return err.kind == "connect" or err.http_status == 429
end

--- True when an idempotent call (a read, a status query) may be sent again after `err`.
-- @tparam table err
-- @treturn boolean
function M.transient(err)
  return err.retryable == true or M.not_processed(err)
end

--- True when `err` leaves the outcome of a processed request unknown: it may or may not have
-- been committed (timeout after send, connection reset, truncated or garbage answer, 5xx).
-- @tparam table err
-- @treturn boolean
function M.ambiguous(err)
  if err.ambiguous then return true end -- said so where it was made (a 401 on a money call)
  local k = err.kind
  if k == "timeout" or k == "transport" or k == "crypto" then return true end
  if k == "http" then return err.http_status == nil or err.http_status >= 500 or err.http_status == 200 end
  return false
end

return M
