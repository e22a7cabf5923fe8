-- bin/enkash from a clean environment: no LUA_PATH needed, help text, the demo end to end.
local function run(cmd, dir)
  local p = io.popen("cd " .. (dir or ".") .. " && env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 "
    .. cmd .. " 2>&1")
  local out = p:read("*a")
  local ok, _, code = p:close()
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

  it("runs the demo: a device bound over HTTP against the nginx sandbox", function()
    local ok, out = run("lua5.4 " .. os.getenv("PWD") .. "/bin/enkash demo", "/")
    assert.is_true(ok, out)
    assert.matches("%[1/3%] token%s+ok, enkash%.token%(bearer", out)
    assert.matches("%[2/3%] generate%s+status Pending", out)
    assert.matches("%[3/3%] status%s+%.*Bound after %d+ polls", out)
    assert.matches("bound to mobile 96XXXXXX14", out)
    assert.is_nil(out:find("9674603714", 1, true))
    assert.matches("over 1 TCP connection", out)
    assert.matches("sandbox: stopped", out)
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
