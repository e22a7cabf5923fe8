-- Runs `lua5.4 bin/enkash ...` as a subprocess, for the runbook CLI specs (Lua 5.4 only:
-- LuaJIT's io.popen and os.execute cannot report exit codes).
--
--   local cli = require "helpers.cli"
--   local r = cli.run({ "run", "examples/onboarding.lua", "--dry-run" }, { ENKASH_ENV = "sandbox" })
--   -- r.code, r.out (stdout), r.err (stderr), r.elapsed (s)
--   local p = cli.spawn({ "run", ... }, env)       -- background: p.pid, p.out_path, p.err_path
--   cli.wait_until(function() return #cli.journal(path) > 3 end, 10, "3 journal records")
--   cli.kill9(p)                                    -- SIGKILL, and wait until it is gone
--   cli.cleanup()                                   -- SIGKILL whatever spawn started and still runs
--   local s = cli.session()   -- in a describe: s.srv (nginx sandbox), s.dir (runs dir), s.env, set in setup
local cjson = require "cjson.safe"
local core = require "enkash.core"
-- Every captured stdout and stderr goes to the suite's secrets scan (tools/scan_secrets.lua).
local audit = require "helpers.audit"

local M = {}

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- The repository root, from this file's path (<root>/spec/helpers/cli.lua).
local function repo_root()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  if src:sub(1, 1) ~= "/" then
    local p = io.popen("pwd")
    local cwd = p:read("*l")
    p:close()
    src = cwd .. "/" .. src
  end
  return (src:gsub("/%./", "/"):match("^(.*)/spec/helpers/cli%.lua$"))
end

M.root = assert(repo_root(), "cannot find the repository root")
M.sleep, M.now = core.sleep, core.monotime

-- Variables that would change which server or credentials the CLI uses: removed from the
-- subprocess's environment unless the caller sets them.
local scrubbed = { "LUA_PATH", "LUA_CPATH", "LUA_PATH_5_4", "LUA_CPATH_5_4", "ENKASH_ENV", "ENKASH_BASE_URL",
  "ENKASH_AUTH_URL", "ENKASH_CLIENT_SECRET", "ENKASH_PASSWORD", "ENKASH_USERNAME", "ENKASH_PARTNER_ID",
  "ENKASH_CLIENT_ID", "ENKASH_CARD_ACCOUNT_ID", "ENKASH_RUNS_DIR", "ENKASH_ENCRYPTION" }

-- `env -u ... K=V ... lua5.4 <root>/bin/enkash args...` (env execs lua5.4: same pid).
local function command(args, env)
  local parts = { "env" }
  for _, k in ipairs(scrubbed) do
    if not (env and env[k]) then parts[#parts + 1] = "-u " .. k end
  end
  local keys = {}
  for k in pairs(env or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. quote(env[k]) end
  parts[#parts + 1] = "lua5.4 " .. quote(M.root .. "/bin/enkash")
  for _, a in ipairs(args) do parts[#parts + 1] = quote(a) end
  return table.concat(parts, " ")
end

--- The whole text of a file, or nil.
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- Write a file.
function M.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

--- A fresh, empty temporary directory.
function M.tmpdir()
  local p = io.popen('mktemp -d "${TMPDIR:-/tmp}/enkash-cli-spec.XXXXXX"')
  local dir = p:read("*l")
  p:close()
  assert(dir and dir ~= "", "mktemp failed")
  return dir
end

--- Remove a directory made by tmpdir.
function M.rmdir(dir)
  if dir and dir:match("enkash%-cli%-spec%.") then os.execute("rm -rf " .. quote(dir)) end
end

--- Run in the foreground, from the repository root (or opts.cwd).
-- @treturn table {code, out, err, elapsed}
function M.run(args, env, opts)
  local dir = M.tmpdir()
  local t0 = M.now()
  local cmd = "cd " .. quote(opts and opts.cwd or M.root) .. " && " .. command(args, env)
    .. " >" .. quote(dir .. "/out") .. " 2>" .. quote(dir .. "/err") .. " </dev/null"
  local ok, how, code = os.execute(cmd)
  local r = { elapsed = M.now() - t0, out = M.read(dir .. "/out") or "", err = M.read(dir .. "/err") or "" }
  if how == "exit" then r.code = code else r.code, r.signal = -1, code end
  r.ok = ok == true
  M.rmdir(dir)
  audit.shown("enkash " .. tostring(args[1]) .. " stdout", r.out)
  audit.shown("enkash " .. tostring(args[1]) .. " stderr", r.err)
  return r
end

local spawned = {}

--- Start in the background; returns {pid, out_path, err_path, dir}.
function M.spawn(args, env, opts)
  local dir = M.tmpdir()
  local p = { dir = dir, out_path = dir .. "/out", err_path = dir .. "/err", verb = args[1] }
  local cmd = "cd " .. quote(opts and opts.cwd or M.root) .. " && (exec " .. command(args, env)
    .. " >" .. quote(p.out_path) .. " 2>" .. quote(p.err_path) .. " </dev/null) & echo $!"
  local h = io.popen(cmd)
  p.pid = tonumber(h:read("*l"))
  h:close()
  assert(p.pid, "could not start: " .. cmd)
  spawned[#spawned + 1] = p
  return p
end

--- Is the process alive (a zombie counts as gone)?
function M.alive(pid)
  local stat = M.read("/proc/" .. tostring(pid) .. "/stat")
  if not stat then return false end
  local st = stat:match("%) (%a)")
  return st ~= nil and st ~= "Z" and st ~= "X"
end

--- Poll `fn` every `interval` (0.02 s) until it returns a truthy value; fail after `timeout`
-- seconds with `what` in the message. Returns fn's value.
function M.wait_until(fn, timeout, what, interval)
  local deadline = M.now() + timeout
  while true do
    local v = fn()
    if v then return v end
    if M.now() > deadline then error("timed out after " .. timeout .. " s waiting for " .. what, 2) end
    M.sleep(interval or 0.02)
  end
end

--- SIGKILL a spawned process and wait until it is gone.
function M.kill9(p)
  os.execute("kill -9 " .. tostring(p.pid) .. " 2>/dev/null")
  M.wait_until(function() return not M.alive(p.pid) end, 5, "pid " .. p.pid .. " to die")
  p.killed = true
end

--- Wait for a spawned process to end by itself (no exit code: it is not our child).
function M.wait(p, timeout)
  M.wait_until(function() return not M.alive(p.pid) end, timeout or 30, "pid " .. p.pid .. " to exit", 0.05)
end

--- What a spawned process printed: stdout, stderr.
function M.output(p)
  return M.read(p.out_path) or "", M.read(p.err_path) or ""
end

-- A spawned process's output, into the secrets scan once it is over (cleanup).
local function audit_spawned(p)
  local out, err = M.output(p)
  audit.shown("enkash " .. tostring(p.verb) .. " (spawned) stdout", out)
  audit.shown("enkash " .. tostring(p.verb) .. " (spawned) stderr", err)
end

--- SIGKILL every spawned process still running; remove their output directories.
function M.cleanup()
  for _, p in ipairs(spawned) do
    if M.alive(p.pid) then os.execute("kill -9 " .. tostring(p.pid) .. " 2>/dev/null") end
    audit_spawned(p)
    M.rmdir(p.dir)
  end
  spawned = {}
end

--- The sandbox options of the runbook CLI specs: binding, T&C and VKYC take a moment, so the
-- onboarding runbook polls (and a kill can land between its steps).
M.RUNBOOK_SANDBOX = { bind_delay = 0.3, vkyc_step = 0.2, tnc_accept_delay = 0.2 }

--- For a describe block that runs the CLI against an nginx sandbox. In setup: the sandbox
-- (`sandbox_opts`, default M.RUNBOOK_SANDBOX, the CLI's default credentials), a runs
-- directory, and the environment that points the CLI at it; before each test: a reset
-- sandbox; in teardown: whatever spawn started killed, nginx stopped, the directory removed.
-- Register it before the block's own setup, which then sees the session's fields.
-- @treturn table session {srv, dir, env}, filled in setup
function M.session(sandbox_opts)
  local targets = require "helpers.targets"
  local busted = require "busted" -- a module is not run in the spec file's environment
  local s = {}
  busted.setup(function()
    s.srv = targets.nginx{ sandbox_opts = sandbox_opts or M.RUNBOOK_SANDBOX }
    s.dir = M.tmpdir()
    s.env = { ENKASH_ENV = "sandbox", ENKASH_BASE_URL = s.srv.url }
  end)
  busted.teardown(function()
    M.cleanup()
    if s.srv then s.srv:stop() end
    M.rmdir(s.dir)
  end)
  busted.before_each(function() s.srv:control("reset") end)
  return s
end

--- The records of a journal file (a torn last line is left out, as the store does).
function M.journal(path)
  local out = {}
  local text = M.read(path)
  if not text then return out end
  for line in text:gmatch("([^\n]*)\n") do
    local rec = cjson.decode(line)
    if type(rec) == "table" then out[#out + 1] = rec end
  end
  return out
end

--- Records of a journal with t == kind (and, when given, whose fields match `where`).
function M.records(recs, kind, where)
  local out = {}
  for _, r in ipairs(recs) do
    local match = r.t == kind
    for k, v in pairs(where or {}) do
      if r[k] ~= v then match = false end
    end
    if match then out[#out + 1] = r end
  end
  return out
end

--- How many steps the journal shows finished (status done or skipped).
function M.steps_finished(recs)
  local n = 0
  for _, r in ipairs(recs) do
    if r.t == "step" and (r.status == "done" or r.status == "skipped") then n = n + 1 end
  end
  return n
end

--- Pids of running processes whose command line contains `needle` (to find stragglers).
function M.pids_matching(needle)
  local out = {}
  local h = io.popen("ls /proc")
  for name in h:lines() do
    if name:match("^%d+$") then
      local cmdline = M.read("/proc/" .. name .. "/cmdline")
      if cmdline and cmdline:gsub("%z", " "):find(needle, 1, true) and M.alive(name) then
        out[#out + 1] = tonumber(name)
      end
    end
  end
  h:close()
  return out
end

return M
