-- Crypto: encrypt+Base64 and decrypt of 1 KiB and 64 KiB payloads through enkash.crypto
-- from Lua, versus a raw EVP loop in C (bench/c/crypto.c) doing the same work. One op =
-- encrypt then decrypt. Records crypto_1k and crypto_64k = enkash ops/s / C ops/s
-- (best of ROUNDS, interleaved).
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench") .. "/lib.lua")

local enkash = require "enkash"
local encrypt, decrypt = enkash.crypto.encrypt, enkash.crypto.decrypt

local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS")) or 3
local secret = lib.fixtures.creds.client_secret
local cbin = lib.cc("crypto")

local sizes = {
  { key = "crypto_1k", size = 1024, iters = 100000 },
  { key = "crypto_64k", size = 65536, iters = 3000 },
}

local figures = {}
for _, s in ipairs(sizes) do
  local buf = {}
  for i = 0, s.size - 1 do buf[#buf + 1] = string.char(97 + i % 26) end
  local pt = table.concat(buf)
  assert(decrypt(encrypt(pt, secret), secret) == pt)
  local function run_lua()
    local t0 = lib.now()
    for _ = 1, s.iters do
      local back = decrypt(encrypt(pt, secret), secret)
      if #back ~= s.size then error("round trip failed") end
    end
    return lib.now() - t0
  end
  local function run_c()
    local out = lib.sh(("%s %d %d %s"):format(lib.q(cbin), s.size, s.iters, lib.q(secret)))
    return tonumber(out:match("seconds=([%d.]+)"))
  end
  run_lua() -- warm-up
  local t_e, t_c
  for _ = 1, ROUNDS do
    local c, e = run_c(), run_lua()
    if not t_c or c < t_c then t_c = c end
    if not t_e or e < t_e then t_e = e end
  end
  local e_rate, c_rate = s.iters / t_e, s.iters / t_c
  local ratio = e_rate / c_rate
  lib.row(s.key, ("%.0f ops/s"):format(e_rate), ("%.0f ops/s"):format(c_rate), ratio,
    ">= " .. lib.targets[s.key])
  figures[s.key] = ratio
  figures[s.key .. "_enkash_ops_per_s"] = e_rate
  figures[s.key .. "_c_ops_per_s"] = c_rate
end
lib.record(figures)
