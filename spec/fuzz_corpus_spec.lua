-- The fuzz corpus replayed as a regression suite: every file of fuzz/corpus/<target>/ (the
-- hand-made seeds and the inputs of fixed crashes) goes through the same calls as the libFuzzer
-- harness (fuzz/targets.lua), here through the normal module, under Lua 5.4 and LuaJIT. A
-- target raises when a call raised or a round-trip invariant broke. Needs no clang.

local root = debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$") or "."
local targets = dofile(root .. "/fuzz/targets.lua")

local function files(dir)
  local out = {}
  local p = assert(io.popen("ls -A '" .. dir .. "' 2>/dev/null"))
  for name in p:lines() do out[#out + 1] = name end
  p:close()
  table.sort(out)
  return out
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

describe("fuzz corpus replay", function()
  for _, target in ipairs(targets.names) do
    describe(target, function()
      local dir = root .. "/fuzz/corpus/" .. target
      local names = files(dir)

      it("has seed inputs", function()
        assert.is_true(#names >= 5, dir .. " holds " .. #names .. " files")
      end)

      it("replays every input without a raise or a broken invariant", function()
        local failures = {}
        for _, name in ipairs(names) do
          local ok, err = pcall(targets[target], read(dir .. "/" .. name))
          if not ok then failures[#failures + 1] = name .. ": " .. tostring(err) end
        end
        assert.are.same({}, failures)
      end)
    end)
  end

  it("the targets catch a broken invariant", function()
    -- the check itself must be able to fail: a decrypt that loses a byte is reported
    local core = require "enkash.core"
    local real = core.decrypt
    core.decrypt = function(...)
      local pt, why = real(...)
      if pt and #pt > 0 then pt = pt:sub(2) end
      return pt, why
    end
    local ok, err = pcall(targets.decrypt, "abc")
    core.decrypt = real
    assert.is_false(ok)
    assert.matches("invariant broken", err)
  end)
end)
