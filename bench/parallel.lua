-- Parallel: 500 device-status calls against the Enkash sandbox under nginx with 20 ms of
-- injected latency on every device.status answer (control fault kind = "delay"), through
-- client:batch (one libcurl multi, CONCURRENCY calls in flight) versus one after another.
-- Records parallel_speedup = sequential seconds / batch seconds.
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench") .. "/lib.lua")

local control = require "helpers.control"
local nginx = require "enkash.sandbox.nginx"

local N = tonumber(os.getenv("BENCH_PARALLEL_N")) or 500
local CONCURRENCY = 50
local DELAY = 0.02

local srv = assert(nginx.start{ sandbox_opts = lib.fixtures.sandbox_opts })
local ok, err = pcall(function()
  local client = lib.client(srv.url, { encryption = true })
  local device = lib.fixtures.device
  assert(client.device:generate(device))
  assert(client.device:status(device))
  control(srv, "fault", { endpoint = "device.status", kind = "delay", delay = DELAY, count = -1 })

  local calls = {}
  for i = 1, N do calls[i] = { "device.status", device } end

  local t0 = lib.now()
  local results = client:batch(calls, { concurrency = CONCURRENCY })
  local t_batch = lib.now() - t0
  for i = 1, N do assert(results[i][1], tostring(results[i][2])) end

  t0 = lib.now()
  for _ = 1, N do assert(client.device:status(device)) end
  local t_seq = lib.now() - t0

  local stats = control(srv, "stats")
  local speedup = t_seq / t_batch
  lib.row("parallel_speedup", ("%.2fs batch"):format(t_batch), ("%.2fs seq"):format(t_seq), speedup,
    (">= 15 (%d calls, %d ms, concurrency %d)"):format(N, DELAY * 1000, CONCURRENCY))
  client:close()
  lib.record{
    parallel_speedup = speedup, parallel_batch_s = t_batch, parallel_sequential_s = t_seq,
    parallel_concurrency = CONCURRENCY, parallel_token_requests = stats.token_requests,
  }
end)
srv:stop()
if not ok then error(err, 0) end
