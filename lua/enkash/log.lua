--- The logger hook: `config.logger(level, event, fields)`.
-- Fields are built by the SDK from counters and names only (endpoint, duration, status,
-- kind): never headers, bodies, tokens or credentials, so nothing here needs a secret scrub.
-- @module enkash.log

local pcall = pcall

local M = {}

--- Send an event to the configured logger, if any. A failing logger never breaks a call.
-- @tparam table cfg resolved config
-- @tparam string level debug | info | warn | error
-- @tparam string event event name
-- @tparam table fields event fields
function M.emit(cfg, level, event, fields)
  local logger = cfg.logger
  if logger then pcall(logger, level, event, fields) end
end

return M
