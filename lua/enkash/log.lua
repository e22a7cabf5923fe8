--- The logger hook: `config.logger(level, event, fields)`, levelled and redacted.
-- Events are structured: `request` (endpoint, duration, attempt, http_status,
-- response_code, kind, reference), `token`, `retry` (endpoint, attempt, delay, kind),
-- `reconcile` (endpoint, reference, verdict). Fields are built by the SDK from names and
-- counters, and every one passes through enkash.redact here, in one place, so that no secret,
-- token, password or full mobile/PAN/account number can reach a log line.
-- @module enkash.log

local redact = require "enkash.redact"

local pcall = pcall

local M = {}

--- Levels, lowest first.
M.levels = { debug = 1, info = 2, warn = 3, error = 4 }

--- Send an event to the configured logger when its level is at or above `log_level`.
-- A failing logger never breaks a call.
-- @tparam table cfg resolved config (logger, log_level)
-- @tparam string level debug | info | warn | error
-- @tparam string event event name
-- @tparam table fields event fields
function M.emit(cfg, level, event, fields)
  local logger = cfg.logger
  if not logger then return end
  if M.levels[level] < M.levels[cfg.log_level or "info"] then return end
  pcall(logger, level, event, redact.table(fields))
end

return M
