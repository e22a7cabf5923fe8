-- bin/enkash from a clean environment: no LUA_PATH needed, help text, the demo end to end.
-- Every output goes to the suite-wide secrets scan (helpers.audit).
local audit = require "helpers.audit"

local function run(cmd, dir)
  local p = io.popen("cd " .. (dir or ".") .. " && env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 "
    .. cmd .. " 2>&1")
  local out = p:read("*a")
  local ok, _, code = p:close()
  audit.shown("bin/enkash output", out)
  return ok, out, code
end

describe("bin/enkash", function()
  it("lists its verbs", function()
    local ok, out = run("lua5.4 bin/enkash --help")
    assert.is_true(ok)
    assert.matches("sandbox", out)
    assert.matches("demo", out)
  end)

  it("refuses an unknown verb with status 2", function()
    local ok, out, code = run("lua5.4 bin/enkash frobnicate")
    assert.is_falsy(ok)
    assert.equals(2, code)
    assert.matches("unknown verb", out)
  end)

  it("describes a verb with --help", function()
    local ok, out = run("lua5.4 bin/enkash sandbox --help")
    assert.is_true(ok)
    assert.matches("%-%-port", out)
  end)

  it("runs the demo: the full onboarding runbook over HTTP against the nginx sandbox", function()
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
    local ok, out = run("lua5.4 " .. os.getenv("PWD") .. "/bin/enkash demo", dir)
    assert.is_true(ok, out)
    assert.matches("sandbox: started on http://127%.0%.0%.1:%d+", out)
    for k, step in ipairs({ "bind device", "T&C gate", "create wallet", "activation gate", "opening top%-up",
                            "send OTP", "VKYC link", "KYC full" }) do
      assert.matches("%[" .. k .. "/8%] " .. step .. "[ %.]+done", out)
    end
    assert.matches("status=Bound", out)
    assert.matches("kyc=FULL_KYC", out)
    assert.matches("run [%d%-a-f]+: ok", out)
    assert.is_nil(out:find("9674603714", 1, true))
    assert.matches("sandbox: stopped", out)
    os.execute("rm -rf " .. dir)
  end)

  it("runs examples/bind_device.lua against a sandbox", function()
    local srv = assert(require("enkash.sandbox.nginx").start{ sandbox_opts = { bind_delay = 0.5 } })
    local ok, out = run("ENKASH_ENV=sandbox ENKASH_BASE_URL=" .. srv.url .. " LUA_PATH_5_4='"
      .. os.getenv("PWD") .. "/lua/?.lua;" .. os.getenv("PWD") .. "/lua/?/init.lua;;' LUA_CPATH_5_4='"
      .. os.getenv("PWD") .. "/build/lua5.4/?.so;;' lua5.4 examples/bind_device.lua")
    srv:stop()
    assert.is_true(ok, out)
    assert.matches("%[3/3%] status%s+%.*Bound after %d+ polls", out)
    assert.matches("bound to mobile 96XXXXXX14", out)
    assert.matches("over 1 TCP connection", out)
  end)
end)

describe("make env", function()
  for _, lua in ipairs({ "lua5.4", "luajit" }) do
    it("lets " .. lua .. " require enkash from any directory", function()
      local ok, out = run(("sh -c 'eval \"$(make -s env LUA=%s)\" && cd / && %s -e \"local e = require [[enkash]]; "
        .. "print(e._VERSION, e.crypto.decrypt(e.crypto.encrypt([[hi]], [[k]]), [[k]]))\"'"):format(lua, lua))
      assert.is_true(ok, out)
      assert.matches("^enkash %d+%.%d+%.%d+\thi\n$", out)
    end)
  end
end)

describe("enkash call, encrypt, decrypt", function()
  it("round-trips stdin through encrypt and decrypt with the secret from the environment", function()
    local ok, out = run("printf '{\"a\":1}' | ENKASH_CLIENT_SECRET=k lua5.4 bin/enkash encrypt"
      .. " | ENKASH_CLIENT_SECRET=k lua5.4 bin/enkash decrypt")
    assert.is_true(ok, out)
    assert.equals('{"a":1}', out)
    local ok2, out2 = run("echo x | lua5.4 bin/enkash encrypt")
    assert.is_falsy(ok2)
    assert.matches("ENKASH_CLIENT_SECRET", out2)
    local ok3, out3 = run("echo bm90IGNpcGhlcg== | ENKASH_CLIENT_SECRET=k lua5.4 bin/enkash decrypt")
    assert.is_falsy(ok3)
    assert.matches("invalid ciphertext length", out3)
  end)

  it("calls one endpoint against a sandbox and prints the payload masked", function()
    local srv = assert(require("enkash.sandbox.nginx").start{ sandbox_opts = { bind_delay = 0 } })
    local env = "ENKASH_ENV=sandbox ENKASH_BASE_URL=" .. srv.url .. " "
    local device = require("cjson").encode(require("helpers.fixtures").device)
    local ok, out = run(env .. "lua5.4 bin/enkash call device.generate --json '" .. device .. "'")
    assert.is_true(ok, out)
    assert.matches('"status":"Pending"', out)
    local ok2, out2 = run(env .. "lua5.4 bin/enkash call device.status --json '{\"deviceId\":\"x\"}'")
    assert.is_falsy(ok2)
    assert.matches("validation", out2)
    local ok3, out3 = run(env .. "lua5.4 bin/enkash call no.such")
    srv:stop()
    assert.is_falsy(ok3)
    assert.matches("unknown endpoint", out3)
  end)

  -- Every verb answers hostile arguments with a message and a non-zero status: never a Lua
  -- error with its traceback, never a hang (each runs under `timeout`).
  it("answers hostile arguments of every verb with a usage or validation message", function()
    local cases = {
      "nope", "--nope", "call", "call nope", "call device.status --json '{'", "call device.status --json '[1]'",
      "call device.status --json null", "call device.status --json '{\"deviceId\":{}}' --dry-run",
      "call device.status --timeout nan", "call device.status --env mars", "call --json", "run",
      "run /nonexistent.lua", "run examples/onboarding.lua --input /nonexistent --dry-run",
      "run examples/onboarding.lua --resume", "run examples/onboarding.lua --resume '../x' --dry-run",
      "run examples/onboarding.lua --csv /nonexistent --dry-run", "run examples/onboarding.lua --concurrency -1",
      "run examples/onboarding.lua --concurrency x", "sandbox --port x", "sandbox --port 99999",
      "sandbox --dialect nope", "sandbox --bind-delay nan", "encrypt extra", "decrypt extra",
      "call device.status --json " .. ("'" .. string.rep("A", 5000) .. "'"),
    }
    for _, args in ipairs(cases) do
      local ok, out = run("ENKASH_CLIENT_SECRET= timeout 20 lua5.4 bin/enkash " .. args .. " </dev/null")
      assert.is_falsy(ok, args .. ": " .. out)
      assert.is_nil(out:find("stack traceback", 1, true), args .. ": " .. out)
      assert.is_nil(out:find("lua5.4:", 1, true), args .. ": " .. out)
      assert.truthy(out:find("%S"), args .. ": no message")
    end
    print(("\n  CLI: %d hostile argument sets"):format(#cases))
  end)

  -- A dry run needs no host and reads no credentials: real ones in the environment (with or
  -- without ENKASH_ENV) neither stop it nor show in its output.
  for _, with_env in ipairs({ "", "ENKASH_ENV=uat ", "ENKASH_ENV=production " }) do
    it("dry-runs a call with real credentials in the environment " .. (with_env ~= "" and with_env or "and no env"),
      function()
        local real = "ENKASH_PARTNER_ID=CRREAL0001 ENKASH_CLIENT_ID=CEKREAL001 ENKASH_CLIENT_SECRET=real-secret-3c1f "
          .. "ENKASH_USERNAME=9000000001 ENKASH_PASSWORD=RealPass-77 ENKASH_BASE_URL=https://pay.example "
        local ok, out = run(with_env .. real .. "lua5.4 bin/enkash call wallet.balance --dry-run"
          .. " --json '{\"enKashCardId\":\"EKC1\"}'")
        assert.matches("would send POST /api/v0/partner/enKashCard/card%-balance", out)
        assert.matches("Wallet not found", out) -- answered by the in-process sandbox
        assert.is_falsy(ok) -- the sandbox has no such wallet: a failure, not a refused run
        for _, secret in ipairs({ "real-secret-3c1f", "RealPass-77", "9000000001", "CRREAL0001", "pay.example" }) do
          assert.is_nil(out:find(secret, 1, true), secret)
        end
      end)
  end
end)
