-- core.encrypt/decrypt going through Base64 piece by piece (3072 bytes of ciphertext at a
-- time, on the C stack) into a reused output buffer (up to 1 MiB, past that a fresh one),
-- and the table-driven Base64 itself: the same bytes and the same errors as reading the
-- message whole, at every size around those edges.
local core = require "enkash.core"

local SECRET = "spec-client-secret-7f3a9c"
local floor = math.floor

-- An independent Base64 encoder (arithmetic only: Lua 5.4 and LuaJIT alike).
local A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function ref_b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local d = { floor(n / 262144) % 64, floor(n / 4096) % 64, floor(n / 64) % 64, n % 64 }
    local k = b == nil and 2 or c == nil and 3 or 4
    for j = 1, 4 do out[#out + 1] = j <= k and A:sub(d[j] + 1, d[j] + 1) or "=" end
  end
  return table.concat(out)
end

-- n pseudo-random bytes: 4 KiB made from the seed, repeated (big sizes stay quick to make).
local function bytes(n, seed)
  local t, x = {}, seed or 7
  for i = 1, math.min(n, 4099) do
    x = (x * 48271) % 2147483647
    t[i] = string.char(floor(x / 65536) % 256)
  end
  local s = table.concat(t)
  if n > #s then s = s:rep(floor(n / #s) + 1):sub(1, n) end
  return s
end

local function hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- The padded length of n bytes of plaintext, and of its Base64.
local function ct_len(n) return (floor(n / 16) + 1) * 16 end
local function b64_len(n) return floor((n + 2) / 3) * 4 end

describe("core Base64", function()
  it("encodes every length from 0 to 300 and some big ones as a plain reference does", function()
    local lens = {}
    for n = 0, 300 do lens[#lens + 1] = n end
    for _, n in ipairs({ 3071, 3072, 3073, 4095, 4096, 4097, 65535, 65536, 65537 }) do lens[#lens + 1] = n end
    for _, n in ipairs(lens) do
      local s = bytes(n, n + 1)
      local b = core.b64encode(s)
      assert.equals(ref_b64(s), b, "length " .. n)
      assert.equals(s, core.b64decode(b), "length " .. n)
    end
  end)

  it("refuses a bad character wherever it stands, in the wide and the narrow loop", function()
    local b = core.b64encode(bytes(300))
    for _, at in ipairs({ 1, 2, 3, 4, 5, 16, 17, 48, 63, 64, 65, 200, #b - 4, #b - 3, #b - 1, #b }) do
      for _, c in ipairs({ "*", "=", " ", "\0", "\255", "-", "_" }) do
        local bad = b:sub(1, at - 1) .. c .. b:sub(at + 1)
        local v, err = core.b64decode(bad)
        -- "=" in the last two places is padding: the text may still be valid Base64 of other bytes
        if not (c == "=" and at >= #b - 1) then
          assert.is_nil(v, at .. " " .. c:byte())
          assert.equals("invalid base64", err)
        end
      end
    end
  end)
end)

describe("core.encrypt/decrypt piece by piece", function()
  it("match openssl enc -aes-128-ecb on messages of several pieces", function()
    -- sha256 of `openssl enc -aes-128-ecb -K <sha256(secret)[0:16]> -nosalt | base64 -w0`
    local pt = ("0123456789abcdef"):rep(1000) .. "xyz"
    local ct = core.encrypt(pt, SECRET)
    assert.equals(21356, #ct)
    assert.equals("82ed22a93ade2d2e73eee4311ae2662a9f30dfef3f6152f052aa8aa3cc3262ca", hex(core.sha256(ct)))
    assert.equals(pt, core.decrypt(ct, SECRET))
    local t = {}
    for i = 0, 69999 do t[i + 1] = string.char((i * 7 + 3) % 256) end
    pt = table.concat(t)
    ct = core.encrypt(pt, SECRET)
    assert.equals(93356, #ct)
    assert.equals("28bac18bbb0067f60f8128470c5915ab795e058fa9b823ffc1f5243b3501f878", hex(core.sha256(ct)))
    assert.equals(pt, core.decrypt(ct, SECRET))
  end)

  it("round trip at every size around a piece, the stack buffer and the reused buffer", function()
    local sizes = {}
    for _, edge in ipairs({ 0, 3072, 4096, 2 * 3072, 3 * 3072, 65536, 1048576 - 16 }) do
      for d = -33, 33, 3 do
        if edge + d >= 0 then sizes[#sizes + 1] = edge + d end
      end
    end
    for _, n in ipairs({ 1048576, 1048576 + 5000, 3000000, 100, 70000, 10 }) do sizes[#sizes + 1] = n end
    for _, n in ipairs(sizes) do
      local pt = bytes(n, n)
      local ct = core.encrypt(pt, SECRET)
      assert.equals(b64_len(ct_len(n)), #ct, "size " .. n)
      assert.equals(ct_len(n), #core.b64decode(ct), "size " .. n)
      assert.equals(pt, core.decrypt(ct, SECRET), "size " .. n)
    end
  end)

  it("answers bad Base64 before a bad length, and a bad length before bad padding", function()
    for _, n in ipairs({ 10, 5000, 70000 }) do
      local ct = core.encrypt(bytes(n), SECRET)
      local raw = core.b64decode(ct)
      -- a bad character late in the text: read after pieces of it were decrypted
      local at = #ct - 8
      local v, err = core.decrypt(ct:sub(1, at - 1) .. "*" .. ct:sub(at + 1), SECRET)
      assert.is_nil(v)
      assert.equals("invalid base64", err)
      -- a length that is no multiple of the block, with a bad character too: Base64 first
      local odd = core.b64encode(raw .. "x")
      local _
      _, err = core.decrypt(odd:sub(1, 4) .. "*" .. odd:sub(6), SECRET)
      assert.equals("invalid base64", err)
      v, err = core.decrypt(odd, SECRET)
      assert.is_nil(v)
      assert.equals("invalid ciphertext length", err)
      -- whole blocks whose last one does not unpad
      v, err = core.decrypt(core.b64encode(raw .. ("\0"):rep(16)), SECRET)
      if v == nil then assert.equals("bad padding", err) end
      -- a text whose length is no multiple of 4
      _, err = core.decrypt(ct .. "A", SECRET)
      assert.equals("invalid base64", err)
      -- and the next message is right again
      assert.equals(bytes(n), core.decrypt(ct, SECRET))
    end
    local v, err = core.decrypt("", SECRET)
    assert.is_nil(v)
    assert.equals("invalid ciphertext length", err)
    local _
    _, err = core.decrypt("====", SECRET)
    assert.equals("invalid base64", err)
  end)

  it("keeps each secret's output apart when secrets alternate on big messages", function()
    local a, b = bytes(70000, 1), bytes(90000, 2)
    local ca, cb = core.encrypt(a, SECRET), core.encrypt(b, "another secret")
    for _ = 1, 3 do
      assert.equals(a, core.decrypt(ca, SECRET))
      assert.equals(b, core.decrypt(cb, "another secret"))
      assert.equals(ca, core.encrypt(a, SECRET))
    end
  end)
end)
