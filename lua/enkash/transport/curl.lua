--- The libcurl transport: one reused easy handle per client (keep-alive, one TLS session).
-- Implements the transport interface shared by every transport:
-- `t:request{method, url, headers, body, timeout}` -> `{status, headers, body}` | `nil, err`,
-- `t:sleep(seconds)`, `t:stats()`, `t:close()`.
-- @module enkash.transport.curl

local core = require "enkash.core"
local errors = require "enkash.errors"

local setmetatable = setmetatable

local M = {}
local T = {}
T.__index = T

--- Create a transport from a resolved config.
-- @tparam table cfg resolved config (timeout, connect_timeout, ca_file, proxy, verify, ...)
-- @treturn table transport
function M.new(cfg)
  local handle = core.http{
    ca_file = cfg.ca_file, proxy = cfg.proxy, verify = cfg.verify,
    timeout = cfg.timeout, connect_timeout = cfg.connect_timeout,
    max_response_bytes = cfg.max_response_bytes, user_agent = cfg.user_agent,
  }
  return setmetatable({ handle = handle, name = "curl" }, T)
end

--- Send one HTTP request.
-- @tparam table req {method, url, headers, body, timeout, connect_timeout}
-- @treturn table|nil res {status, headers, body}
-- @treturn table|nil err kind timeout | connect | tls | transport
function T:request(req)
  local res, kind, message = self.handle:request(req)
  if res then return res end
  return nil, errors.new(kind, message, { retryable = kind ~= "tls" })
end

--- Block for `seconds` (outside nginx a blocking sleep is what we want).
-- @tparam number seconds
function T.sleep(_, seconds)
  core.sleep(seconds)
end

--- Counters of the underlying handle: {requests, connects}.
-- @treturn table
function T:stats()
  return self.handle:stats()
end

--- Close the handle and its connections; idempotent.
function T:close()
  self.handle:close()
end

return M
