--- The one retry decision. Errors carry facts only (kind, HTTP status, Retry-After, whether a
-- 401 refused our token, whether the request never left); this module alone reads them and
-- decides what happens next: send the same request again, refresh the token, ask Enkash
-- (reconcile), or give up. `err.retryable` is derived here too (enkash.errors asks
-- `M.retryable`), so every layer and every caller sees the same answer.
--
-- Waits: exponential backoff with jitter from `retry_base`, capped at `retry_cap`; a server's
-- Retry-After wins, up to `retry_after_max`. The caller's deadline (enkash.deadline) cuts them.
-- @module enkash.retry

local min, random = math.min, math.random
local rawget = rawget

local M = {}

--- HTTP statuses that say "not now, try later": rate limited, or a gateway that could not
-- reach (or hear back from) the application. A 500 or 501 is the application's own answer
-- and is never retried (one list for the API and the token endpoint).
M.statuses = { [429] = true, [502] = true, [503] = true, [504] = true }

-- Kinds of failure on the way (the transport's): the same request may go again when it is safe.
local WIRE = { connect = true, timeout = true, transport = true }

--- True when the request certainly did not reach the application: nothing was committed,
-- so even a money-moving call may be sent again.
-- @tparam table err
-- @treturn boolean
function M.not_processed(err)
  return err.kind == "connect" or err.http_status == 429 or err.sent == false
end

--- The retryable fact of an error: true for failures on the wire and for the statuses of
-- `M.statuses`; an explicit `retryable` given where the error was made wins.
-- @tparam table err
-- @treturn boolean
function M.retryable(err)
  local said = rawget(err, "retryable")
  if said ~= nil then return said end
  local kind = err.kind
  if WIRE[kind] then return true end
  if kind == "http" or kind == "api" then return M.statuses[err.http_status] == true end
  return false
end

--- True when an idempotent call (a read, a status query) may be sent again after `err`.
-- @tparam table err
-- @treturn boolean
function M.transient(err)
  return M.retryable(err) or M.not_processed(err)
end

--- True when `err` leaves the outcome of a processed request unknown: it may or may not have
-- been committed (timeout after send, connection reset, truncated or garbage answer, 5xx, a
-- 401 on a money call).
-- @tparam table err
-- @treturn boolean
function M.ambiguous(err)
  if err.token_refused then return true end -- a gateway may refuse after the commit
  local k = err.kind
  if k == "timeout" or k == "transport" or k == "crypto" then return true end
  if k == "http" then return err.http_status == nil or err.http_status >= 500 or err.http_status == 200 end
  return false
end

--- What to do after a failed attempt.
-- @tparam table err the attempt's error
-- @tparam table call {money = bool, idempotent = bool, token = bool (the token fetch itself),
-- attempt = this attempt (1-based), attempts = the most allowed, refreshed = a 401 was already
-- answered with a new token}
-- @treturn string "retry" (send the same request again), "refresh" (new token, send again),
-- "reconcile" (ask Enkash what happened), or "give_up"
function M.decide(err, call)
  local action
  if err.token_refused then
    -- A 401 on a money call may come after the commit: ask before anything is resent.
    if call.money then return "reconcile" end
    return call.refreshed and "give_up" or "refresh"
  elseif call.money then
    if M.not_processed(err) then action = "retry"
    elseif M.ambiguous(err) or err.code == "duplicate_reference" then return "reconcile"
    else return "give_up" end
  elseif call.token then
    -- refused credentials never again: Enkash locks an account after 3 failures
    action = err.kind ~= "auth" and M.transient(err) and "retry"
  else
    action = ((call.idempotent and M.transient(err)) or M.not_processed(err)) and "retry"
  end
  if not action or call.attempt >= call.attempts then return "give_up" end
  return action
end

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

return M
