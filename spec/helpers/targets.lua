-- Where a spec's client meets the sandbox, in one place: in-process on a virtual clock (no
-- socket, no real waiting: a 1 s delay or a backoff passes in microseconds), or the same
-- emulator under nginx reached over libcurl (the real parts: sockets, timeouts, TLS). Both
-- answer the same questions the same way, so one spec body runs on either:
--
--   local targets = require "helpers.targets"
--   local t = targets.inprocess()             -- now: a sandbox on a virtual clock
--   local w = targets.serve()                 -- in a describe: nginx started in setup, stopped in teardown
--   local client = t:client{ timeout = 0.5 }  -- fixture credentials, overrides merged in
--   t:control("fault", { endpoint = "wallet.top_up", kind = "reset" })
--   control(t, "ledger")                      -- helpers.control takes a target too
--
-- In-process, t.sb is the emulator and t.clock the virtual clock; over nginx, t.srv is the
-- server, whose fields (url, port, pid, prefix, ca_file) the target also shows.
local enkash = require "enkash"
local sandbox = require "enkash.sandbox"
local clock = require "enkash.clock"
local nginx = require "enkash.sandbox.nginx"
local cjson = require "cjson"
local core = require "enkash.core"
local fx = require "helpers.fixtures"

local M = {}

--- A fresh table: `base`'s fields, then `extra`'s over them (either may be nil).
local function merged(base, extra)
  local out = {}
  for k, v in pairs(base or {}) do out[k] = v end
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end
M.merged = merged

--- The fixture sandbox options (fixture credentials, control on) with `extra` laid over them.
function M.sandbox_opts(extra)
  return merged(fx.sandbox_opts, extra)
end

-- In-process ---------------------------------------------------------------------------------

local Inprocess = {}
Inprocess.__index = Inprocess

--- A sandbox on a fresh virtual clock (starting at 1000 s): `sandbox_extra` over the fixture
-- sandbox options. Every client it makes shares that clock.
function M.inprocess(sandbox_extra)
  local v = clock.virtual(1000)
  local sb = sandbox.new(merged(M.sandbox_opts(sandbox_extra), { clock = v.now }))
  return setmetatable({ sb = sb, clock = v }, Inprocess)
end

--- Client config (fixture credentials) on this target, `extra` merged in.
function Inprocess:config(extra)
  local v = self.clock
  return fx.config(nil, merged({ transport = "sandbox", sandbox = self.sb, clock = v.now, sleep = v.sleep }, extra))
end

--- A client on this target (raises when enkash.new refuses the config).
function Inprocess:client(extra)
  return assert(enkash.new(self:config(extra)))
end

--- A control call, through the same HTTP handler nginx runs (control.http): the answer is
-- the JSON text decoded, so its shape is what a spec over the wire sees (fresh tables, no
-- live references into the emulator's state). Raises unless HTTP 200.
function Inprocess:control(name, args)
  local calls = require("enkash.sandbox.control").calls
  local method = assert(calls[name], "no control call " .. tostring(name)).method
  local res = self.sb:handle{
    method = method, path = "/_sandbox/" .. name, conn = "control",
    headers = { ["content-type"] = "application/json" },
    body = method == "POST" and cjson.encode(args or {}) or "",
  }
  assert(res.status == 200, "control " .. name .. ": HTTP " .. res.status .. " " .. tostring(res.body))
  return cjson.decode(res.body)
end

--- Nothing to stop in-process.
function Inprocess.stop() end

-- nginx --------------------------------------------------------------------------------------

local Nginx = {}
-- A started target reads as its server too (t.port, t.pid, t.prefix, ...): it stands in
-- for the table enkash.sandbox.nginx.start answers.
Nginx.__index = function(t, k)
  local method = Nginx[k]
  if method ~= nil then return method end
  local srv = rawget(t, "srv")
  return srv and srv[k]
end

-- `opts` as enkash.sandbox.nginx.start; `opts.sandbox_opts` defaults to the fixture options.
local function start_opts(opts)
  local o = merged(opts)
  if o.sandbox_opts == nil and o.sandbox ~= false then o.sandbox_opts = fx.sandbox_opts end
  return o
end

--- A target whose server is not running yet (`:start()`; `M.serve` starts it in setup).
local function unstarted(opts)
  return setmetatable({ opts = start_opts(opts) }, Nginx)
end

--- Start the server (raises when nginx cannot start).
function Nginx:start()
  self.srv = assert(nginx.start(self.opts))
  self.url, self.ca_file = self.srv.url, self.srv.ca_file
  return self
end

--- Stop the server (once; safe when it never started).
function Nginx:stop()
  if self.srv then self.srv:stop() end
  self.srv = nil
end

--- The last `n` lines of the server's error log.
function Nginx:log_tail(n)
  return self.srv:log_tail(n)
end

--- An nginx sandbox started now (`opts` as enkash.sandbox.nginx.start, fixture sandbox
-- options by default); stop it with `:stop()`.
function M.nginx(opts)
  return unstarted(opts):start()
end

--- An nginx sandbox for the enclosing describe block (or file): started in busted's
-- `setup`, stopped in its `teardown`. Use it inside `it`/`before_each` only.
function M.serve(opts)
  local t = unstarted(opts)
  -- busted's own registration functions (a module is not run in the spec file's environment)
  local busted = require "busted"
  busted.setup(function() t:start() end)
  busted.teardown(function() t:stop() end)
  return t
end

--- Client config (fixture credentials) for this server, `extra` merged in (ca_file when TLS).
function Nginx:config(extra)
  return fx.config(self.url, merged({ ca_file = self.ca_file }, extra))
end

--- A client on this server (raises when enkash.new refuses the config).
function Nginx:client(extra)
  return assert(enkash.new(self:config(extra)))
end

--- A control call over HTTP to a sandbox at `url` (`ca_file` for TLS): the decoded JSON
-- answer (raises unless HTTP 200: a spec wants to stop there).
function M.http_control(url, ca_file, name, args)
  local calls = require("enkash.sandbox.control").calls
  local method = assert(calls[name], "no control call " .. tostring(name)).method
  local h = core.http{ ca_file = ca_file }
  local res, msg, kind = h:request{
    method = method, url = url .. "/_sandbox/" .. name,
    headers = { ["Content-Type"] = "application/json" },
    body = method == "POST" and cjson.encode(args or {}) or nil,
  }
  h:close()
  assert(res, tostring(kind) .. ": " .. tostring(msg))
  assert(res.status == 200, "control " .. name .. ": HTTP " .. res.status .. " " .. res.body)
  return cjson.decode(res.body)
end

--- A control call over HTTP: the decoded JSON answer (raises unless HTTP 200).
function Nginx:control(name, args)
  return M.http_control(self.url, self.ca_file, name, args)
end

-- Shortcuts ----------------------------------------------------------------------------------

--- A client on a fresh in-process sandbox and virtual clock: client, sandbox, clock.
-- `client_extra` over the client config, `sandbox_extra` over the fixture sandbox options.
function M.virtual_client(client_extra, sandbox_extra)
  local t = M.inprocess(sandbox_extra)
  return t:client(client_extra), t.sb, t.clock, t
end

return M
