--- The in-process transport: requests go straight to a sandbox emulator, no socket.
-- For fast unit tests; the same emulator runs behind nginx for tests over the wire.
-- Raw faults that only make sense on a socket become the errors libcurl would report.
-- @module enkash.transport.sandbox

local core = require "enkash.core"
local errors = require "enkash.errors"

local setmetatable, pairs, lower = setmetatable, pairs, string.lower

local M = {}
local T = {}
T.__index = T

-- What libcurl reports for each raw fault of the sandbox.
local raw_errors = {
  truncate = { "transport", "transfer closed with outstanding read data remaining" },
  reset = { "transport", "Empty reply from server" },
  garbage = { "transport", "Unsupported HTTP version in response" },
}

--- Create a transport bound to a sandbox instance.
-- @tparam table cfg resolved config; `cfg.sandbox` is an existing emulator, otherwise one is
-- made from `cfg.sandbox_opts` (on `cfg.clock` when given). `cfg.sleep` (enkash.clock) serves
-- the emulator's delays and timeouts, so they pass in virtual time.
-- @treturn table transport
function M.new(cfg)
  local sb = cfg.sandbox
  if not sb then
    local opts = cfg.sandbox_opts
    if cfg.clock and not (opts and opts.clock) then
      local copy = {}
      for k, v in pairs(cfg.sandbox_opts or {}) do copy[k] = v end
      copy.clock = cfg.clock
      opts = copy
    end
    sb = require("enkash.sandbox").new(opts)
  end
  return setmetatable({ sandbox = sb, name = "sandbox", requests = 0, wait = cfg.sleep or core.sleep }, T)
end

--- Send one request to the emulator.
-- @tparam table req {method, url, headers, body, timeout}
-- @treturn table|nil res {status, headers, body}
-- @treturn table|nil err kind timeout | transport
function T:request(req)
  local path, query = req.url:match("^%a+://[^/]*(/[^?]*)%??(.*)$")
  if not path then path, query = "/", nil end
  local headers = {}
  for k, v in pairs(req.headers or {}) do headers[lower(k)] = v end
  self.requests = self.requests + 1
  local res = self.sandbox:handle{
    method = req.method, path = path, query = query ~= "" and query or nil,
    headers = headers, body = req.body or "", conn = "in-process",
  }
  if res.delay and res.delay > 0 then
    if req.timeout and res.delay >= req.timeout then
      self.wait(req.timeout)
      return nil, errors.new("timeout", "Operation timed out after " .. req.timeout .. " s")
    end
    self.wait(res.delay)
  end
  local raw = res.raw and raw_errors[res.raw]
  if raw then return nil, errors.new(raw[1], raw[2]) end
  local lowered = {}
  for k, v in pairs(res.headers or {}) do lowered[lower(k)] = v end
  return { status = res.status, headers = lowered, body = res.body or "" }
end

--- Sleep (blocking, as outside nginx; or `cfg.sleep`).
-- @tparam number seconds
function T:sleep(seconds)
  self.wait(seconds)
end

--- Counters: {requests, connects}; there are no connections in-process.
-- @treturn table
function T:stats()
  return { requests = self.requests, connects = 0 }
end

--- Nothing to close in-process.
function T.close() end

return M
