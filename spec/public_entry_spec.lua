-- Public entry points answer `nil, err` for any input and never raise: enkash.crypto and
-- webhook.parse fed values of every type (the client's options and calls are walked by
-- spec/hostile_config_spec.lua).
local enkash = require "enkash"

-- A value of every type, and the hostile strings.
local HOSTILE = {
  false, true, 0, -1, 1.5, 0 / 0, math.huge, -math.huge, "", "\0", "\r\n", string.rep("A", 100000),
  {}, { "x" }, function() end, io.stdout, coroutine.create(function() end),
}

local function each_value(fn)
  fn(nil)
  for _, v in ipairs(HOSTILE) do fn(v) end
end

describe("public entry points never raise", function()
  it("enkash.crypto.encrypt and decrypt answer nil, err for every argument they cannot take", function()
    local cases = 0
    each_value(function(a)
      each_value(function(b)
        for _, f in ipairs({ enkash.crypto.encrypt, enkash.crypto.decrypt }) do
          local ok, v, err = pcall(f, a, b)
          assert.is_true(ok, tostring(v))
          if v == nil then
            assert.is_true(enkash.errors.is(err), tostring(err))
            assert.truthy(err.kind == "validation" or err.kind == "crypto")
          else
            assert.is_string(v)
          end
          cases = cases + 1
        end
      end)
    end)
    assert.equals(2 * 18 * 18, cases)
  end)

  it("enkash.crypto round-trips and names why a ciphertext is refused", function()
    local b64 = assert(enkash.crypto.encrypt("hello", "k"))
    assert.equals("hello", enkash.crypto.decrypt(b64, "k"))
    local _, err = enkash.crypto.decrypt("@@@@", "k")
    assert.equals("crypto", err.kind)
    assert.equals("invalid base64", err.reason)
    _, err = enkash.crypto.decrypt(b64, "other")
    assert.equals("crypto", err.kind)
  end)
end)
