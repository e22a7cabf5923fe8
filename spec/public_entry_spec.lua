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

  it("webhook.parse answers nil, err for every raw_body, headers and opts it cannot take", function()
    local opts_values = { { secrets = "s" }, { secrets = "s", now = function() error("clock") end },
      { secrets = "s", now = function() return 0 / 0 end }, { secrets = "s", max_bytes = 0 / 0 },
      { secrets = {} }, { verifier = 1 }, { nope = true } }
    local n_opts = #opts_values
    each_value(function(v) -- nil included: the list is walked by index, not ipairs
      n_opts = n_opts + 1
      opts_values[n_opts] = v
    end)
    local cases = 0
    each_value(function(body)
      each_value(function(headers)
        for i = 1, n_opts do
          local ok, n, err = pcall(enkash.webhook.parse, body, headers, opts_values[i])
          assert.is_true(ok, tostring(n))
          assert.is_nil(n)
          assert.is_true(enkash.errors.is(err), tostring(err))
          cases = cases + 1
        end
      end)
    end)
    -- a valid body through a clock that raises or answers NaN: refused, not raised
    local note = { uniqueTransactionId = "T1", amount = 1, status = "SUCCESS", checksum = "x",
                   txnDate = "2026-12-02T10:00:00Z" }
    note.checksum = enkash.webhook.sign(note, "s")
    local body = require("cjson").encode(note)
    for _, now in ipairs({ function() error("clock") end, function() return 0 / 0 end, function() return "x" end }) do
      local ok, n, err = pcall(enkash.webhook.parse, body, nil, { secrets = "s", now = now })
      assert.is_true(ok and n == nil and err.field == "now", tostring(err))
      cases = cases + 1
    end
    assert.equals(18 * 18 * 25 + 3, cases)
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
