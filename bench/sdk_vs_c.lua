-- SDK overhead: N sequential encrypted device-status calls through enkash against a
-- fixed-response nginx, versus the plain C client (bench/c/client.c: libcurl + EVP on one
-- reused handle) doing the same requests against the same server. Records
-- sdk_vs_c = enkash calls/s / C calls/s (best of ROUNDS, interleaved), and, when valgrind is
-- there, sdk_vs_c_instr = C instructions per call / enkash instructions per call (callgrind,
-- client process only: steadier than wall time on a shared 2-core machine).
-- Then the breakdown of one call into its stages (bench/stages.lua: validate, encode, encrypt,
-- transport, decrypt, decode, and "rest", the SDK's glue: the call less the stages), each in
-- microseconds per call (in this process, best of ROUNDS) and instructions per call
-- (callgrind on a child running only that stage IN and 2*IN times: difference / IN); recorded
-- as stage_<name>_us and stage_<name>_instr.
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
-- `sdk_vs_c.lua --stage NAME N URL`: a client, one warm-up call, then only that stage N times.
if arg[1] == "--stage" then
  local client = lib.client(arg[4], { encryption = true })
  local fns = dofile(lib.dir .. "/stages.lua").prepare(client, device, lib.FIXED_TOKEN)
  local fn = assert(fns[arg[2]], "unknown stage")
  for _ = 1, tonumber(arg[3]) do fn() end
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
lib.row("sdk_vs_c (wall)", ("%.0f/s"):format(e_rate), ("%.0f/s"):format(c_rate), ratio,
  ">= " .. lib.targets.sdk_vs_c)
local figures = { sdk_vs_c = ratio, sdk_enkash_calls_per_s = e_rate, sdk_c_calls_per_s = c_rate }

-- Instruction counts: each side's whole process at IN and at 2*IN calls; the difference is
-- the cost of IN calls with start-up and warm-up taken out.
local callgrind = lib.have("valgrind") and os.getenv("BENCH_NO_CALLGRIND") == nil
local function instr(cmd)
  local out = lib.sh("valgrind --tool=callgrind --callgrind-out-file=/dev/null " .. cmd .. " 2>&1")
  return tonumber((out:match("Collected : (%d+)")))
end
local function per_call(cmd_of)
  local a, b = instr(cmd_of(IN)), instr(cmd_of(2 * IN))
  return a and b and (b - a) / IN
end
local me = "lua5.4 " .. lib.q(lib.dir .. "/sdk_vs_c.lua")
if callgrind then
  local per_c = per_call(c_cmd)
  local per_e = per_call(function(n) return me .. " --calls " .. n .. " " .. lib.q(srv.url) end)
  if per_c and per_e then
    local r = per_c / per_e
    lib.row("sdk_vs_c (instructions)", ("%.0f/call"):format(per_e), ("%.0f/call"):format(per_c), r,
      ">= " .. lib.targets.sdk_vs_c_instr)
    figures.sdk_vs_c_instr = r
    figures.sdk_enkash_instr_per_call = per_e
    figures.sdk_c_instr_per_call = per_c
  end
end

-- The breakdown. Wall: each stage's and the whole call's best of ROUNDS runs of SN in this
-- process, the rounds interleaved (a busy machine slows them alike). Instructions: each
-- stage in its own child under callgrind (the whole call's count is the one above).
local stages = dofile(lib.dir .. "/stages.lua")
local SN = tonumber(os.getenv("BENCH_STAGE_N")) or 2000
local fns = stages.prepare(client, device, lib.FIXED_TOKEN)
local keys = {}
for _, name in ipairs(stages.names) do keys[#keys + 1] = name == "decode" and "decode_all" or name end
keys[#keys + 1] = "call"
local best = {}
for _ = 1, ROUNDS do
  for _, key in ipairs(keys) do
    local fn = fns[key]
    local t0 = lib.now()
    for _ = 1, SN do fn() end
    local t = (lib.now() - t0) / SN * 1e6
    if not best[key] or t < best[key] then best[key] = t end
  end
end
local us, ins = { call = best.call }, {}
for i, name in ipairs(stages.names) do
  us[name] = best[keys[i]]
  if callgrind then
    ins[name] = per_call(function(n)
      return me .. " --stage " .. keys[i] .. " " .. n .. " " .. lib.q(srv.url)
    end)
  end
end
-- decode_all decrypts too (envelope.decode does): the decode stage is what it does besides.
us.decode = us.decode - us.decrypt
if ins.decode and ins.decrypt then ins.decode = ins.decode - ins.decrypt end
ins.call = figures.sdk_enkash_instr_per_call
local sum_us, sum_in, counted = 0, 0, ins.call ~= nil
for _, name in ipairs(stages.names) do
  sum_us = sum_us + us[name]
  if ins[name] then sum_in = sum_in + ins[name] else counted = false end
end
us.rest = us.call - sum_us
ins.rest = counted and ins.call - sum_in or nil

print(("%-28s %14s %14s %8s"):format("stage of one call", "us/call", "instr/call", "share"))
local rows = {}
for _, name in ipairs(stages.names) do rows[#rows + 1] = name end
rows[#rows + 1] = "rest"
rows[#rows + 1] = "call"
for _, name in ipairs(rows) do
  local share = ins[name] and ins.call and ("%7.1f%%"):format(100 * ins[name] / ins.call) or ""
  print(("  %-26s %14.2f %14s %8s"):format(name, us[name], ins[name] and ("%.0f"):format(ins[name]) or "-",
    share))
  figures["stage_" .. name .. "_us"] = us[name]
  if ins[name] then figures["stage_" .. name .. "_instr"] = ins[name] end
end

client:close()
srv:stop()
lib.record(figures)
