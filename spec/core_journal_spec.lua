local core = require "enkash.core"

describe("core.journal", function()
  local path
  before_each(function() path = os.tmpname(); os.remove(path) end)
  after_each(function() os.remove(path) end)

  it("appends whole records and creates the file private to its owner", function()
    local j = assert(core.journal(path))
    assert.is_true(j:append('{"a":1}\n'))
    assert.is_true(j:append('{"b":"' .. ("x"):rep(100000) .. '"}\n'))
    j:close()
    local f = assert(io.open(path))
    local lines = {}
    for l in f:lines() do lines[#lines + 1] = l end
    f:close()
    assert.equals(2, #lines)
    assert.equals('{"a":1}', lines[1])
    assert.equals(100008, #lines[2])
    local p = io.popen("stat -c %a " .. path)
    assert.equals("600", p:read("*l"))
    p:close()
  end)

  it("appends to an existing journal", function()
    local j = assert(core.journal(path))
    j:append("1\n")
    j:close()
    j = assert(core.journal(path))
    j:append("2\n")
    j:close()
    assert.equals("1\n2\n", assert(io.open(path)):read("*a"))
  end)

  it("returns nil, message when the file cannot be opened", function()
    local j, err = core.journal("/nonexistent-dir/x.journal")
    assert.is_nil(j)
    assert.matches("nonexistent%-dir", err)
  end)

  it("closes idempotently and refuses use after close", function()
    local j = assert(core.journal(path))
    j:close()
    j:close()
    assert.matches("closed", tostring(j))
    assert.has_error(function() j:append("x") end)
  end)
end)
