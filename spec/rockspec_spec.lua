-- The rockspec builds and installs with Debian's luarocks into a temporary tree, and the
-- installed module works from there. Every Lua file of the module is listed in it.
describe("rockspec", function()
  local rockspec = "rockspec/enkash-scm-1.rockspec"

  local function sh(cmd)
    local p = io.popen(cmd .. " 2>&1")
    local out = p:read("*a")
    local ok, _, code = p:close()
    return ok, out, code
  end

  it("lists every module under lua/", function()
    local text = assert(io.open(rockspec)):read("*a")
    local _, files = sh("find lua -name '*.lua' | sort")
    local count = 0
    for path in files:gmatch("[^\n]+") do
      count = count + 1
      assert.truthy(text:find('"' .. path .. '"', 1, true), path .. " is missing from the rockspec")
    end
    assert.is_true(count > 10)
  end)

  it("lists every C source under csrc/", function()
    local text = assert(io.open(rockspec)):read("*a")
    local _, files = sh("ls csrc/*.c")
    for path in files:gmatch("[^\n]+") do
      assert.truthy(text:find('"' .. path .. '"', 1, true), path .. " is missing from the rockspec")
    end
  end)

  it("builds, installs into a temporary tree and loads", function()
    local tree, src = os.tmpname(), os.tmpname()
    os.remove(tree)
    os.remove(src)
    -- luarocks make builds in the directory it runs in: build from a copy, not the checkout.
    assert.is_true((sh(("mkdir -p %q && cp -r csrc lua bin rockspec %q"):format(src, src))))
    local ok, out = sh(("cd %q && luarocks --lua-version=5.4 make --deps-mode=none --tree=%q %s")
      :format(src, tree, rockspec))
    assert.is_true(ok, out)
    local probe = ([[cd / && LUA_PATH='%s/share/lua/5.4/?.lua;%s/share/lua/5.4/?/init.lua;;' ]]
      .. [[LUA_CPATH='%s/lib/lua/5.4/?.so;;' lua5.4 -e ]]
      .. [['local e = require "enkash"; local c = require "enkash.core"; ]]
      .. [[print(e._VERSION, package.searchpath("enkash.core", package.cpath), ]]
      .. [[e.crypto.decrypt(e.crypto.encrypt("x", "k"), "k"))']]):format(tree, tree, tree)
    local ok2, out2 = sh(probe)
    assert.is_true(ok2, out2)
    assert.matches("^enkash %d", out2)
    assert.truthy(out2:find(tree .. "/lib/lua/5.4/enkash/core.so", 1, true), out2)
    assert.matches("x\n$", out2)
    assert.truthy(io.open(tree .. "/bin/enkash"), "bin/enkash installed")
    sh(("rm -rf %q %q"):format(tree, src))
  end)
end)
