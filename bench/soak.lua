-- Soak: 100,000 sequential device.status calls from one client over the curl transport to the
-- sandbox under nginx, watching this process for leaks. RSS (VmRSS) and the count of open file
-- descriptors are taken after a 5,000-call warm-up (connections, token, caches, the allocator
-- at its working size) and again at the end, each after a full garbage collection.
-- Figures: soak_rss_growth_kib (target < 1024) and soak_fd_growth (target 0), plus the wall
-- time. A benchmark, not a test: `make bench` runs it; exits non-zero when a target is missed.
--
--   lua5.4 bench/soak.lua                       the full run
--   SOAK_CALLS=20000 lua5.4 bench/soak.lua      shorter (the warm-up stays 5,000 calls)

local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench") .. "/lib.lua")
local enkash = require "enkash"
local core = require "enkash.core"
local nginx = require "enkash.sandbox.nginx"
local fx = require "helpers.fixtures"

local CALLS = tonumber(os.getenv("SOAK_CALLS")) or 100000
local WARMUP = 5000
local RSS_TARGET_KIB = 1024
local FD_TARGET = 0

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local pid = assert(read("/proc/self/stat"):match("^(%d+)"))

local function rss_kib()
  return assert(tonumber(read("/proc/self/status"):match("VmRSS:%s*(%d+)")))
end

-- Open descriptors of this process (ls runs in a child: the popen pipe is counted each time,
-- the same at both measurements).
local function fd_count()
  return tonumber(lib.sh("ls /proc/" .. pid .. "/fd | wc -l"):match("%d+"))
end

local function measure()
  collectgarbage("collect")
  collectgarbage("collect")
  return rss_kib(), fd_count(), collectgarbage("count")
end

local srv = assert(nginx.start{ sandbox_opts = fx.sandbox_opts })
local ok, err = pcall(function()
  local c = assert(enkash.new(fx.config(srv.url, { transport = "curl" })))
  assert(c.device:generate(fx.device))
  local function call(i)
    local p, res = c.device:status(fx.device)
    if not p or p.status ~= "Bound" then
      error(("call %d: %s"):format(i, tostring(p and p.status or res)))
    end
  end

  local t0 = core.monotime()
  for i = 1, WARMUP do call(i) end
  local rss0, fd0, heap0 = measure()
  local t1 = core.monotime()
  for i = 1, CALLS - WARMUP do
    call(WARMUP + i)
    if i % 10000 == 0 then
      io.stderr:write(("  %6d calls, RSS %d KiB, %.0f calls/s\n"):format(WARMUP + i, rss_kib(),
        i / (core.monotime() - t1)))
    end
  end
  local rss1, fd1, heap1 = measure()
  local t2 = core.monotime()
  c:close()

  local growth, fds = rss1 - rss0, fd1 - fd0
  local wall = t2 - t0
  lib.record{
    soak_rss_growth_kib = growth, soak_fd_growth = fds, soak_calls = CALLS,
    soak_wall_s = math.floor(wall * 10 + 0.5) / 10, soak_calls_per_s = math.floor(CALLS / wall),
    soak_lua_heap_growth_kib = math.floor(heap1 - heap0 + 0.5),
  }
  print(("soak: %d calls in %.1f s (%.0f calls/s); RSS %d -> %d KiB, fds %d -> %d"):format(
    CALLS, wall, CALLS / wall, rss0, rss1, fd0, fd1))
  print(("%-28s %10d   target < %d"):format("soak_rss_growth_kib", growth, RSS_TARGET_KIB))
  print(("%-28s %10d   target %d"):format("soak_fd_growth", fds, FD_TARGET))
  print(("%-28s %10d   (information: the Lua heap after a full collection)"):format(
    "soak_lua_heap_growth_kib", math.floor(heap1 - heap0 + 0.5)))
  if growth >= RSS_TARGET_KIB or fds > FD_TARGET then error("soak: growth over target") end
end)
srv:stop()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
