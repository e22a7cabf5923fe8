-- Peers: the sdk_vs_c workload (sequential encrypted device-status calls against the
-- fixed-response nginx) written the way an integrator would without enkash:
--   bench/peers/node_client.mjs    Node.js 20, the portal's crypto sample, fetch (keep-alive)
--   bench/peers/lua_curl_client.lua plain Lua + lua-curl + luaossl + LuaSocket mime + lua-cjson
--                                   (lua5.1: Debian 12 ships lua-curl for 5.1/5.2 only)
-- Records vs_node and vs_lua_curl = enkash calls/s / peer calls/s (best of ROUNDS,
-- interleaved); also vs_lua_curl_luajit, the same peer under LuaJIT, for reference.
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench") .. "/lib.lua")

local N = tonumber(os.getenv("BENCH_N")) or 3000
local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS")) or 3
local creds, device = lib.fixtures.creds, lib.fixtures.device

local srv = lib.fixed_server(creds.client_secret)
local ok, err = pcall(function()
  local args = table.concat({ lib.q(srv.url), lib.q(creds.client_secret), tostring(N),
    lib.q(creds.partner_id), lib.q(creds.client_id), lib.q(creds.username), lib.q(creds.password) }, " ")
  local peers = {
    { key = "vs_node", name = "node " .. lib.sh("node --version"):gsub("%s+$", ""), target = ">= 3",
      cmd = "node " .. lib.q(lib.dir .. "/peers/node_client.mjs") .. " " .. args },
    { key = "vs_lua_curl", name = "lua5.1 + lua-curl", target = ">= 4",
      cmd = "lua5.1 " .. lib.q(lib.dir .. "/peers/lua_curl_client.lua") .. " " .. args },
    { key = "vs_lua_curl_luajit", name = "luajit + lua-curl", target = "(reference)",
      cmd = "luajit " .. lib.q(lib.dir .. "/peers/lua_curl_client.lua") .. " " .. args },
  }
  for i = #peers, 1, -1 do
    local bin = peers[i].cmd:match("^(%S+)")
    if not lib.have(bin) then
      print(("%-28s skipped: %s is not installed (make deps)"):format(peers[i].key, bin))
      table.remove(peers, i)
    end
  end
  local client = lib.client(srv.url, { encryption = true })
  for _ = 1, 200 do assert(client.device:status(device)) end
  local function run_enkash()
    local t0 = lib.now()
    for _ = 1, N do assert(client.device:status(device)) end
    return lib.now() - t0
  end
  local function run_peer(p)
    local out = lib.sh(p.cmd)
    local n_ok, secs = out:match("ok=(%d+) seconds=([%d.]+)")
    assert(tonumber(n_ok) == N, p.name .. ": " .. out)
    return tonumber(secs)
  end
  local best = {}
  local t_e
  for _ = 1, ROUNDS do
    for _, p in ipairs(peers) do
      local t = run_peer(p)
      if not best[p.key] or t < best[p.key] then best[p.key] = t end
    end
    local e = run_enkash()
    if not t_e or e < t_e then t_e = e end
  end
  client:close()
  local figures = { peers_enkash_calls_per_s = N / t_e }
  for _, p in ipairs(peers) do
    local ratio = best[p.key] / t_e
    lib.row(p.key, ("%.0f/s"):format(N / t_e), ("%.0f/s"):format(N / best[p.key]), ratio,
      p.target .. " (" .. p.name .. ")")
    figures[p.key] = ratio
    figures[p.key:gsub("^vs_", "peer_") .. "_calls_per_s"] = N / best[p.key]
  end
  lib.record(figures)
end)
srv:stop()
if not ok then error(err, 0) end
