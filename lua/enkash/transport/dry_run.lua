--- The dry-run transport: every request is printed, with secrets and PII masked, and answered
-- by the in-process sandbox, so a runbook can walk its whole flow without sending anything.
-- @module enkash.transport.dry_run

local cjson = require "cjson.safe"
local json = require "enkash.json"
local redact = require "enkash.redact"

local setmetatable, pairs = setmetatable, pairs

local M = {}
local T = {}
T.__index = T

local function form_fields(body)
  local t = {}
  for k, v in body:gmatch("([^&=]+)=([^&]*)") do t[k] = v:gsub("%%(%x%x)", function(h)
    return string.char(tonumber(h, 16))
  end) end
  return t
end

--- Create a dry-run transport.
-- @tparam table cfg resolved config (`sandbox`/`sandbox_opts` as for the sandbox transport)
-- @tparam function print_line receives each masked request line
-- @treturn table transport
function M.new(cfg, print_line)
  local inner = require("enkash.transport.sandbox").new(cfg)
  return setmetatable({ inner = inner, print = print_line, name = "dry-run", count = 0 }, T)
end

-- ENKASH_* variables a dry run reads: only what changes how requests are checked. Hosts and
-- credentials never: a dry run sends nothing, so needs neither, the in-process sandbox would
-- refuse real credentials (the run failed at its token call), and what is never read is never
-- printed.
local FROM_ENV = { ENKASH_STRICT = true }

local function dry_getenv(name)
  if FROM_ENV[name] then return os.getenv(name) end
  return nil
end

--- A client for a dry run: the in-process sandbox's own credentials and host, and this
-- transport in front of it. Works the same with or without ENKASH_* credentials (or a
-- host, or ENKASH_ENV) in the environment, which it does not read.
-- @tparam function print_line receives each masked request line
-- @tparam[opt] table opts `sandbox_opts` (the sandbox's timings; its clock is virtual here)
-- @treturn table|nil client
-- @treturn function|string stop (nothing to stop), or the error
function M.client(print_line, opts)
  local sandbox_opts = {}
  for k, v in pairs(opts and opts.sandbox_opts or {}) do sandbox_opts[k] = v end
  local ok, sandbox = pcall(require("enkash.sandbox").new, sandbox_opts)
  if not ok then return nil, tostring(sandbox) end
  -- The transport is made first and handed to enkash.new (a transport object): the client's
  -- sleeps then reach the sandbox's clock through it.
  local client, err = require("enkash").new{
    env = "sandbox", base_url = "http://dry-run.invalid", allow_insecure_http = true,
    transport = M.new({ sandbox = sandbox }, print_line), getenv = dry_getenv,
  }
  if not client then return nil, tostring(err) end
  return client, function() end
end

--- Print the request (masked) and answer it from the in-process sandbox.
-- @tparam table req
-- @treturn table|nil res
-- @treturn table|nil err
function T:request(req)
  self.count = self.count + 1
  local path = req.url:match("^%a+://[^/]*(/.*)$") or req.url
  local shown = ""
  if req.body and req.body ~= "" then
    local doc = cjson.decode(req.body)
    if type(doc) == "table" then
      shown = " " .. json.encode(redact.table(doc))
    else
      shown = " " .. json.encode(redact.table(form_fields(req.body)))
    end
  end
  self.print(("      would send %s %s%s"):format(req.method, redact.text(path), shown))
  return self.inner:request(req)
end

--- Sleep without waiting: the sandbox's clock is moved forward instead, so polls see time
-- pass (a device binds, a VKYC progresses) and a dry run finishes at once.
-- @tparam number seconds
function T:sleep(seconds)
  self.inner.sandbox:control("advance", { seconds = seconds })
end

--- Counters.
-- @treturn table {requests, connects = 0}
function T:stats()
  return { requests = self.count, connects = 0 }
end

--- Nothing to close.
function T.close() end

return M
