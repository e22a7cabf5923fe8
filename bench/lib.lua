-- Shared pieces of the benchmarks: paths, merging figures into bench/results.json, printing.
-- Each benchmark is a script bench/<name>.lua run by bench/run.lua (`make bench`); it measures
-- against a baseline in the same run and records ratios, never absolute timings as pass/fail.
local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench"
M.dir = here
M.root = here:gsub("/?bench$", "")
if M.root == "" then M.root = "." end
M.results_path = here .. "/results.json"

package.path = M.root .. "/lua/?.lua;" .. M.root .. "/lua/?/init.lua;" .. M.root .. "/spec/?.lua;" .. package.path
package.cpath = M.root .. "/build/lua5.4/?.so;" .. package.cpath

local cjson = require "cjson"

--- Merge `figures` (key -> number) into bench/results.json, keeping other benchmarks' keys.
function M.record(figures)
  local all = {}
  local f = io.open(M.results_path, "rb")
  if f then
    local ok, doc = pcall(cjson.decode, f:read("*a"))
    f:close()
    if ok and type(doc) == "table" then all = doc end
  end
  for k, v in pairs(figures) do all[k] = v end
  local keys = {}
  for k in pairs(all) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for i, k in ipairs(keys) do out[i] = ("  %q: %s"):format(k, cjson.encode(all[k])) end
  f = assert(io.open(M.results_path, "wb"))
  f:write("{\n", table.concat(out, ",\n"), "\n}\n")
  f:close()
end

--- Print one row of the ratio table: name, ours, baseline, ratio, target.
function M.row(name, ours, base, ratio, target)
  print(("%-28s %14s %14s %8.2fx  %s"):format(name, ours, base, ratio, target or ""))
end

--- Run a shell command, return its stdout (raises on failure).
function M.sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  local ok = p:close()
  if not ok then error("command failed: " .. cmd .. "\n" .. out) end
  return out
end

-- ---- shared by the benchmark scripts (helpers, not benchmarks) ----

local core = require "enkash.core"

--- Seconds on the monotonic clock.
M.now = core.monotime

--- The credentials and device every request benchmark uses (the specs' fixtures).
M.fixtures = require "helpers.fixtures"

--- Targets of the recorded ratios (key -> minimum), for the summary table and the chart
-- (issue 12's "Speed" items for sdk_vs_c_instr and crypto).
M.targets = {
  sdk_vs_c = 0.9, sdk_vs_c_instr = 0.6, vs_node = 3, vs_lua_curl = 4,
  crypto_1k = 0.9, crypto_64k = 0.95, parallel_speedup = 15,
}

--- Print every recorded ratio with its target (and token_requests_per_10000), met or not.
function M.summary()
  local f = io.open(M.results_path, "rb")
  if not f then return end
  local doc = cjson.decode(f:read("*a"))
  f:close()
  local keys = { "sdk_vs_c", "sdk_vs_c_instr", "vs_node", "vs_lua_curl", "vs_lua_curl_luajit", "crypto_1k",
    "crypto_64k", "parallel_speedup" }
  print("== ratios")
  print(("%-28s %10s %10s  %s"):format("key", "value", "target", "met"))
  for _, k in ipairs(keys) do
    local v, t = doc[k], M.targets[k]
    if v then
      local met = t and (v >= t and "yes" or "NO") or ""
      print(("%-28s %10.2f %10s  %s"):format(k, v, t and (">= " .. t) or "-", met))
    end
  end
  local tok = doc.token_requests_per_10000
  if tok then
    print(("%-28s %10d %10s  %s"):format("token_requests_per_10000", tok, "== 1", tok == 1 and "yes" or "NO"))
  end
end

--- Quote a string for the shell.
function M.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Build a C program bench/c/<name>.c into build/bench/<name> (libcurl, OpenSSL); its path.
function M.cc(name)
  local out = M.root .. "/build/bench/" .. name
  M.sh("mkdir -p " .. M.q(M.root .. "/build/bench"))
  M.sh(("cc -O2 -Wall -Wextra -Werror -std=c99 -D_POSIX_C_SOURCE=200809L -o %s %s "
    .. "$(pkg-config --cflags --libs libcurl openssl) 2>&1")
    :format(M.q(out), M.q(M.root .. "/bench/c/" .. name .. ".c")))
  return out
end

--- Does a command exist on PATH?
function M.have(cmd)
  return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == true
end

--- The fixed encrypted success envelope device.status answers (the same bytes every time).
function M.status_envelope(secret)
  local json = require "enkash.json" -- not cjson: it would write "/" as "\/"
  local inner = json.encode(json.object({ { "response_code", 0 }, { "response_message", "SUCCESS" },
    { "payload", json.object({ { "deviceId", M.fixtures.device.deviceId }, { "status", "Bound" } }) } }))
  return json.encode({ request = core.encrypt(inner, secret) })
end

--- The access token the fixed server hands out (it checks none).
M.FIXED_TOKEN = "bench-token-0123456789abcdef"

--- A fixed-response nginx on 127.0.0.1: POST device.status answers `M.status_envelope`,
-- /oauth/token a fixed token; only token requests are logged (`srv:token_requests()`).
-- The server's work is the same for every client measured against it.
function M.fixed_server(secret)
  local nginx = require "enkash.sandbox.nginx"
  local token = '{"access_token":"' .. M.FIXED_TOKEN .. '","token_type":"bearer","expires_in":86399}'
  local conf = table.concat({
    "    access_log off;",
    "    location = /api/v1/partner/device-bind/status {",
    "      default_type application/json;",
    "      return 200 '" .. M.status_envelope(secret) .. "';",
    "    }",
    "    location = /oauth/token {",
    "      access_log PREFIX/token.log;",
    "      default_type application/json;",
    "      return 200 '" .. token .. "';",
    "    }",
  }, "\n")
  local srv, err
  -- the prefix is only known after start: log to a fixed name under /tmp per run instead
  local log = os.tmpname()
  conf = conf:gsub("PREFIX/token%.log", log)
  srv, err = nginx.start{ sandbox = false, server_conf = conf, http_conf = "  keepalive_timeout 300s;" }
  if not srv then os.remove(log); error(err) end
  srv.token_log = log
  function srv.token_requests()
    local f = io.open(log, "rb")
    if not f then return 0 end
    local n = 0
    for _ in f:lines() do n = n + 1 end
    f:close()
    return n
  end
  local stop = srv.stop
  function srv.stop(self)
    os.remove(log)
    return stop(self)
  end
  return srv
end

--- An enkash client for `url` with the fixtures' credentials (`extra` merged in).
function M.client(url, extra)
  local enkash = require "enkash"
  return assert(enkash.new(M.fixtures.config(url, extra)))
end

--- Run `fn` `rounds` times, return the smallest result (fn returns seconds).
function M.best(rounds, fn)
  local best
  for _ = 1, rounds do
    local t = fn()
    if not best or t < best then best = t end
  end
  return best
end

return M
