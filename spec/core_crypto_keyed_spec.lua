-- The keyed-context cache of core.encrypt/decrypt (one keyed EVP pair per secret, reset per
-- message) and the in-place buffers on either side of their 4 KiB threshold: results must
-- be exactly those of a fresh key every time.
local core = require "enkash.core"

describe("core.encrypt/decrypt keyed contexts", function()
  local A, B = "secret-a", string.rep("long secret b ", 8) -- a short and a long string

  it("gives each secret its own key when calls alternate between secrets", function()
    local pt = '{"x":1}'
    local ca, cb = core.encrypt(pt, A), core.encrypt(pt, B)
    assert.are_not.equal(ca, cb)
    for _ = 1, 3 do
      assert.equal(ca, core.encrypt(pt, A))
      assert.equal(cb, core.encrypt(pt, B))
      assert.equal(pt, core.decrypt(ca, A))
      assert.equal(pt, core.decrypt(cb, B))
      local v, err = core.decrypt(ca, B) -- the wrong key: bad padding (or garbage), never A's text
      assert.is_true(v == nil and err == "bad padding" or v ~= pt)
    end
  end)

  it("treats equal secrets made separately as the same key", function()
    local b2 = table.concat({ "long secret b " }):rep(8)
    assert.equal(core.encrypt("hello", B), core.encrypt("hello", b2))
  end)

  it("round trips and refuses bad padding around the in-place buffer size", function()
    for _, n in ipairs({ 0, 1, 2000, 2700, 2800, 4064, 4079, 4080, 4081, 4096, 5000, 70000 }) do
      local pt = string.rep("z", n)
      local ct = core.encrypt(pt, A)
      assert.equal(pt, core.decrypt(ct, A))
      -- a valid ciphertext followed by a block that decrypts to bad padding
      local raw = core.b64decode(ct)
      local bad = core.b64encode(raw .. string.rep("\0", 16))
      local v, err = core.decrypt(bad, A)
      if v == nil then assert.equal("bad padding", err) end
      -- the message after a failure is right again (the context was reset)
      assert.equal(pt, core.decrypt(ct, A))
    end
  end)

  it("still refuses a secret that is not a string, and takes a number as its text", function()
    assert.has_error(function() core.encrypt("x", {}) end)
    assert.has_error(function() core.decrypt("AAAA", nil) end)
    assert.equal(core.encrypt("x", "42"), core.encrypt("x", 42))
  end)
end)
