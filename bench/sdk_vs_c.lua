-- SDK overhead: N sequential encrypted device-status calls through enkash against a
-- fixed-response nginx, versus the plain C client (bench/c/client.c: libcurl + EVP on one
-- reused handle) doing the same requests against the same server. Records
-- sdk_vs_c = enkash calls/s / C calls/s (best of ROUNDS, interleaved), and, when valgrind is
-- there, sdk_vs_c_instr = C instructions per call / enkash instructions per call (callgrind,
-- client process only: steadier than wall time on a shared 2-core machine).
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench") .. "/lib.lua")

local N = tonumber(os.getenv("BENCH_N")) or 5000
local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS")) or 3
local IN = 2000 -- calls per process under callgrind

local creds, device = lib.fixtures.creds, lib.fixtures.device

-- Child mode (what callgrind runs): `sdk_vs_c.lua --calls N URL`: a client, N calls, exit.
if arg[1] == "--calls" then
  local client = lib.client(arg[3], { encryption = true })
  for _ = 1, tonumber(arg[2]) do assert(client.device:status(device)) end
  client:close()
  os.exit(0)
end

local cbin = lib.cc("client")
local srv = lib.fixed_server(creds.client_secret)

local function c_cmd(n)
  return table.concat({ lib.q(cbin), lib.q(srv.url), lib.q(creds.client_secret), tostring(n),
    lib.q(creds.partner_id), lib.q(creds.client_id), lib.q(creds.username), lib.q(creds.password) }, " ")
end

local function run_c(n)
  local out = lib.sh(c_cmd(n))
  local ok, secs = out:match("ok=(%d+) seconds=([%d.]+)")
  assert(tonumber(ok) == n, "C client: " .. out)
  return tonumber(secs)
end

-- The enkash side, in this process: one client, warmed up (token, connection), then N calls.
local client = lib.client(srv.url, { encryption = true })
local function calls(n)
  for _ = 1, n do
    local p, err = client.device:status(device)
    if not p then error(tostring(err)) end
  end
end
calls(200)
assert(client.device:status(device).status == "Bound")
local function run_enkash(n)
  local t0 = lib.now()
  calls(n)
  return lib.now() - t0
end

local t_c, t_e
for _ = 1, ROUNDS do
  local c, e = run_c(N), run_enkash(N)
  if not t_c or c < t_c then t_c = c end
  if not t_e or e < t_e then t_e = e end
end
local c_rate, e_rate = N / t_c, N / t_e
local ratio = e_rate / c_rate
lib.row("sdk_vs_c (wall)", ("%.0f/s"):format(e_rate), ("%.0f/s"):format(c_rate), ratio, ">= 0.9")
local figures = { sdk_vs_c = ratio, sdk_enkash_calls_per_s = e_rate, sdk_c_calls_per_s = c_rate }

-- Instruction counts: each side's whole process at IN and at 2*IN calls; the difference is
-- the cost of IN calls with start-up and warm-up taken out.
if lib.have("valgrind") and os.getenv("BENCH_NO_CALLGRIND") == nil then
  local function instr(cmd)
    local out = lib.sh("valgrind --tool=callgrind --callgrind-out-file=/dev/null " .. cmd .. " 2>&1")
    return tonumber((out:match("Collected : (%d+)")))
  end
  local lua_cmd = function(n)
    return "lua5.4 " .. lib.q(lib.dir .. "/sdk_vs_c.lua") .. " --calls " .. n .. " " .. lib.q(srv.url)
  end
  local c1, c2 = instr(c_cmd(IN)), instr(c_cmd(2 * IN))
  local e1, e2 = instr(lua_cmd(IN)), instr(lua_cmd(2 * IN))
  if c1 and c2 and e1 and e2 then
    local per_c, per_e = (c2 - c1) / IN, (e2 - e1) / IN
    local r = per_c / per_e
    lib.row("sdk_vs_c (instructions)", ("%.0f/call"):format(per_e), ("%.0f/call"):format(per_c), r, ">= 0.9")
    figures.sdk_vs_c_instr = r
    figures.sdk_enkash_instr_per_call = per_e
    figures.sdk_c_instr_per_call = per_c
  end
end

client:close()
srv:stop()
lib.record(figures)
