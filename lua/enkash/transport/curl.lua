--- The libcurl transport: one reused easy handle per client (keep-alive, one TLS session).
-- Implements the transport interface shared by every transport:
-- `t:request{method, url, headers, body, timeout}` -> `{status, headers, body}` | `nil, err`,
-- `t:sleep(seconds)`, `t:stats()`, `t:close()`.
--
-- Outside a batch it blocks. Inside a task of the scheduler (enkash.transport.scheduler) it
-- does not: `request` hands the request to the batch's `core.multi` (made with the same
-- HTTP options) and yields until it completes, and `sleep` yields a timer, so the other tasks
-- run meanwhile.
-- @module enkash.transport.curl

local core = require "enkash.core"
local scheduler = require "enkash.transport.scheduler"
local errors = require "enkash.errors"

local setmetatable = setmetatable
local running = coroutine.running

local M = {}
local T = {}
T.__index = T

--- The `core.http` / `core.multi` options for a resolved config.
-- @tparam table cfg resolved config
-- @treturn table {ca_file, proxy, verify, timeout, connect_timeout, max_response_bytes, user_agent}
function M.http_opts(cfg)
  return {
    ca_file = cfg.ca_file, proxy = cfg.proxy, verify = cfg.verify,
    timeout = cfg.timeout, connect_timeout = cfg.connect_timeout,
    max_response_bytes = cfg.max_response_bytes, user_agent = cfg.user_agent,
  }
end

--- Create a transport from a resolved config.
-- @tparam table cfg resolved config (timeout, connect_timeout, ca_file, proxy, verify, ...)
-- @treturn table transport; `t.http_opts` are its HTTP options (what a batch's multi uses)
function M.new(cfg)
  local opts = M.http_opts(cfg)
  local handle = core.http(opts)
  return setmetatable({ handle = handle, name = "curl", http_opts = opts }, T)
end

--- Send one HTTP request (inside a batch task: yields until it completes).
-- @tparam table req {method, url, headers, body, timeout, connect_timeout}
-- @treturn table|nil res {status, headers, body}
-- @treturn table|nil err kind timeout | connect | tls | transport (an answer past a cap:
-- "response larger than N bytes", "more than N response header lines", ...), or validation
-- for a request whose URL and headers are over the header cap (then nothing was sent)
function T:request(req)
  local res, message, kind
  -- A batch task is a coroutine: on the main one (nil under LuaJIT) there is no batch to ask.
  local co, main = running()
  if co and not main and scheduler.can_http(self.http_opts) then
    res, message, kind = scheduler.http(req)
  else
    res, message, kind = self.handle:request(req)
  end
  if res then return res end
  return nil, errors.new(kind, message) -- facts only: enkash.retry decides what follows
end

--- Wait `seconds`: blocks outside a batch, yields to the other tasks inside one.
-- @tparam number seconds
function T.sleep(_, seconds)
  scheduler.sleep(seconds)
end

--- Counters of the blocking handle: {requests, connects} (a batch's requests are counted
-- by its multi: see `enkash.transport.scheduler.run`'s `results.stats`).
-- @treturn table
function T:stats()
  return self.handle:stats()
end

--- Close the handle and its connections; idempotent.
function T:close()
  self.handle:close()
end

return M
