--- Every default value that is policy, not an assumption about Enkash, defined once: the
-- config fills options from here, the transports (curl, ngx) take them from the config, and the
-- C core gets each one in its options table (its own constants are only a fallback).
-- What enkash assumes about Enkash itself is enkash.assumptions.
-- @module enkash.defaults

local M = {}

--- The SDK's version (`enkash._VERSION`, the User-Agent).
M.version = "0.1.0"

--- Seconds for one HTTP exchange, and for its connection. Config: timeout, connect_timeout.
M.timeout, M.connect_timeout = 30, 5

--- The largest response body taken, in bytes (8 MiB). Config: max_response_bytes.
M.max_response_bytes = 8 * 1024 * 1024

--- The User-Agent header. Config: user_agent.
M.user_agent = "enkash-lua/" .. M.version

--- Log levels, lowest first, and the level logged by default. Config: log_level.
M.log_levels = { debug = 1, info = 2, warn = 3, error = 4 }
M.log_level = "info"

--- Retries of reads and status calls, and the backoff: from 0.5 s, capped at 5 s; a server's
-- Retry-After is honoured up to 30 s. Config: retries, retry_base, retry_cap, retry_after_max.
M.retry = { retries = 2, retry_base = 0.5, retry_cap = 5, retry_after_max = 30 }

return M
