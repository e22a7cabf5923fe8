-- enkash.core crypto: known answers, cross-checks against the openssl command line in both
-- directions, strict Base64, and error paths that never crash nor leak the secret.
local core = require "enkash.core"

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

-- Runs a shell command, returns its stdout and whether it exited 0 (works on 5.1 and 5.4).
local function run(cmd)
  local p = assert(io.popen(cmd .. "; echo \"rc=$?\"", "r"))
  local out = p:read("*a")
  p:close()
  local body, rc = out:match("^(.*)rc=(%d+)\n$")
  return body, rc == "0"
end

local SECRET = "test-client-secret"
local KEY_HEX = "8ac950188678f9bb3524b275130332b5"

-- openssl enc with Enkash's parameters; input and output are files.
local function openssl_enc(args, infile, outfile)
  local cmd = string.format("openssl enc -aes-128-ecb -K %s %s -in '%s' -out '%s' 2>&1",
    KEY_HEX, args, infile, outfile)
  local out, ok = run(cmd)
  assert(ok, "openssl failed: " .. tostring(out))
end

describe("enkash.core crypto", function()
  local tmp_in, tmp_out

  before_each(function()
    tmp_in, tmp_out = os.tmpname(), os.tmpname()
  end)

  after_each(function()
    os.remove(tmp_in)
    os.remove(tmp_out)
  end)

  describe("sha256 / hmac_sha256", function()
    it("hashes known answers", function()
      assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hex(core.sha256("")))
      assert.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex(core.sha256("abc")))
      assert.equal(32, #core.sha256(string.rep("x", 100000)))
    end)

    it("derives Enkash's key from the client secret", function()
      assert.equal(KEY_HEX, hex(core.sha256(SECRET)):sub(1, 32))
    end)

    it("matches RFC 4231 test cases 1 and 2", function()
      assert.equal("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        hex(core.hmac_sha256(string.rep("\11", 20), "Hi There")))
      assert.equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        hex(core.hmac_sha256("Jefe", "what do ya want for nothing?")))
    end)

    it("accepts an empty key and data", function()
      assert.equal("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
        hex(core.hmac_sha256("", "")))
    end)

    it("raises on wrong argument types", function()
      assert.has_error(function() core.sha256() end)
      assert.has_error(function() core.sha256({}) end)
      assert.has_error(function() core.hmac_sha256("k") end)
    end)
  end)

  describe("base64", function()
    it("encodes standard, padded, without newlines", function()
      assert.equal("", core.b64encode(""))
      assert.equal("Zg==", core.b64encode("f"))
      assert.equal("Zm8=", core.b64encode("fo"))
      assert.equal("Zm9v", core.b64encode("foo"))
      assert.equal("Zm9vYmFy", core.b64encode("foobar"))
      assert.equal("+/8=", core.b64encode("\251\255"))
      local long = core.b64encode(string.rep("a", 1000))
      assert.is_nil(long:find("\n", 1, true))
      assert.equal(1336, #long)
    end)

    it("round trips every byte value and many lengths", function()
      local all = {}
      for i = 0, 255 do all[#all + 1] = string.char(i) end
      all = table.concat(all)
      for n = 0, 256 do
        local s = all:sub(1, n)
        assert.equal(s, core.b64decode(core.b64encode(s)))
      end
    end)

    it("decodes the empty string to the empty string", function()
      assert.equal("", core.b64decode(""))
    end)

    it("is strict", function()
      local bad = { "Zg", "Zg=", "Zm9", "Z===", "====", "Zg==Zg==", "Z=g=", "Zm9v\n", " Zm9v",
        "Zm9v ", "Zm-v", "Zm_v", "Zm9v=", "Zm9v====", "Zg\0=", "=Zm9" }
      for _, s in ipairs(bad) do
        local v, err = core.b64decode(s)
        assert.is_nil(v, s)
        assert.equal("invalid base64", err)
      end
    end)

    it("matches openssl base64", function()
      local data = core.random_bytes(1000)
      write_file(tmp_in, data)
      local out, ok = run(string.format("openssl base64 -A -in '%s'", tmp_in))
      assert.is_true(ok)
      assert.equal(out, core.b64encode(data))
    end)
  end)

  describe("encrypt / decrypt", function()
    it("reproduces Enkash's known-answer vector", function()
      local pt = '{"amountToLoad":"100","cardAccountId":"CAC7975","enKashCardId":"EKCWLUAADN"}'
      local ct = "gpUn2Tm5A2/BbMqUjEs6ecMDvx25ghMWViLkAXco8ZbQQG3SApc5qotTojEzxifNug" ..
        "AvdxHqhw+jWLMUQJBHruaJ+TVTRXHV3KJChn6GNzM="
      assert.equal(ct, core.encrypt(pt, SECRET))
      assert.equal(pt, core.decrypt(ct, SECRET))
    end)

    local samples = {
      ["0 bytes"] = "",
      ["1 byte"] = "x",
      ["15 bytes"] = string.rep("a", 15),
      ["16 bytes"] = string.rep("b", 16),
      ["17 bytes"] = string.rep("c", 17),
      ["multi-byte UTF-8"] = "नमस्ते ₹100.50 — ünïcødé 😀",
      ["binary"] = "\0\1\2\255\254\0",
    }

    for name, pt in pairs(samples) do
      it("interoperates with openssl enc for " .. name, function()
        -- ours -> openssl
        write_file(tmp_in, core.encrypt(pt, SECRET))
        openssl_enc("-d -base64 -A", tmp_in, tmp_out)
        assert.equal(pt, read_file(tmp_out))
        -- openssl -> ours
        write_file(tmp_in, pt)
        openssl_enc("-base64 -A", tmp_in, tmp_out)
        local ct = read_file(tmp_out):gsub("%s+$", "")
        assert.equal(ct, core.encrypt(pt, SECRET)) -- ECB is deterministic
        assert.equal(pt, core.decrypt(ct, SECRET))
      end)
    end

    it("interoperates with openssl enc for 1 MiB", function()
      local chunk = core.random_bytes(4096)
      local pt = string.rep(chunk, 256)
      write_file(tmp_in, core.encrypt(pt, SECRET))
      openssl_enc("-d -base64 -A", tmp_in, tmp_out)
      assert.is_true(read_file(tmp_out) == pt)
      write_file(tmp_in, pt)
      openssl_enc("-base64 -A", tmp_in, tmp_out)
      local ct = read_file(tmp_out):gsub("%s+$", "")
      assert.is_true(core.decrypt(ct, SECRET) == pt)
    end)

    it("pads a 16-byte block into 32 bytes of ciphertext", function()
      assert.equal(32, #core.b64decode(core.encrypt(string.rep("z", 16), SECRET)))
      assert.equal(16, #core.b64decode(core.encrypt("", SECRET)))
    end)

    it("rejects invalid base64", function()
      for _, s in ipairs({ "not base64!", "abc", "Zg=", "Zm9v\n" }) do
        local v, err = core.decrypt(s, SECRET)
        assert.is_nil(v)
        assert.equal("invalid base64", err)
      end
    end)

    it("rejects a bad ciphertext length", function()
      for _, raw in ipairs({ "", "x", string.rep("y", 15), string.rep("y", 17), string.rep("y", 33) }) do
        local v, err = core.decrypt(core.b64encode(raw), SECRET)
        assert.is_nil(v)
        assert.equal("invalid ciphertext length", err)
      end
    end)

    it("rejects bad padding", function()
      -- A block whose plaintext ends in 0x00, and one ending in 0x11 (> 16): never valid.
      for _, last in ipairs({ "\0", "\17", "\3\3\2" }) do
        local block = string.rep("A", 16 - #last) .. last
        write_file(tmp_in, block)
        openssl_enc("-nopad", tmp_in, tmp_out)
        local ct = core.b64encode(read_file(tmp_out))
        local v, err = core.decrypt(ct, SECRET)
        assert.is_nil(v)
        assert.equal("bad padding", err)
        -- the same after a valid block (ECB: the first block of any ciphertext)
        local first = core.b64decode(core.encrypt("0123456789abcdef", SECRET)):sub(1, 16)
        v, err = core.decrypt(core.b64encode(first .. read_file(tmp_out)), SECRET)
        assert.is_nil(v)
        assert.equal("bad padding", err)
      end
    end)

    it("never puts the secret into an error", function()
      local secret = "S3cr3t-Do-Not-Print"
      local inputs = { "!!!!", core.b64encode("short"), core.encrypt("hello", "other-secret") }
      for _, ct in ipairs(inputs) do
        local v, err = core.decrypt(ct, secret)
        if v == nil then
          assert.is_nil(err:find(secret, 1, true))
          assert.is_truthy(({ ["invalid base64"] = true, ["invalid ciphertext length"] = true,
            ["bad padding"] = true })[err])
        end
      end
    end)

    it("never crashes on random ciphertexts", function()
      for i = 1, 200 do
        local raw = core.random_bytes(16 * (1 + i % 4))
        local v, err = core.decrypt(core.b64encode(raw), SECRET)
        assert.is_true((type(v) == "string" and err == nil) or (v == nil and err == "bad padding"))
      end
    end)

    it("raises on wrong argument types", function()
      assert.has_error(function() core.encrypt("x") end)
      assert.has_error(function() core.encrypt(nil, "s") end)
      assert.has_error(function() core.decrypt({}, "s") end)
      assert.has_error(function() core.decrypt("AAAA") end)
    end)
  end)

  describe("random_bytes", function()
    it("returns the requested length", function()
      for _, n in ipairs({ 1, 16, 32, 4096 }) do
        assert.equal(n, #core.random_bytes(n))
      end
    end)

    it("returns different bytes each time", function()
      assert.not_equal(core.random_bytes(32), core.random_bytes(32))
    end)

    it("raises outside 1..4096", function()
      assert.has_error(function() core.random_bytes(0) end)
      assert.has_error(function() core.random_bytes(4097) end)
      assert.has_error(function() core.random_bytes(-1) end)
      assert.has_error(function() core.random_bytes("x") end)
    end)
  end)

  describe("secure_equal", function()
    it("compares strings", function()
      assert.is_true(core.secure_equal("abc", "abc"))
      assert.is_false(core.secure_equal("abc", "abd"))
      assert.is_false(core.secure_equal("abc", "ab"))
      assert.is_true(core.secure_equal("", ""))
    end)
  end)
end)
