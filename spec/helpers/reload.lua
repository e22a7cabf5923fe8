-- Fresh copies of a module, for specs that compare a C fast path with the Lua path it stands
-- in for, and a deterministic generator shared by their walks.
local M = {}

--- A fresh copy of `name`, loaded against `core` (default: the real enkash.core). The loaded
-- modules are put back afterwards, so the rest of the process keeps its own copies.
function M.fresh(name, core)
  local saved_core, saved = package.loaded["enkash.core"], package.loaded[name]
  if core then package.loaded["enkash.core"] = core end
  package.loaded[name] = nil
  local ok, mod = pcall(require, name)
  package.loaded["enkash.core"], package.loaded[name] = saved_core, saved
  assert(ok, mod)
  return mod
end

--- A fresh copy of `name` whose C core lacks the functions named in `drop`: its Lua path.
function M.without(name, drop)
  local core = require "enkash.core"
  local dropped = {}
  for _, k in ipairs(drop) do dropped[k] = true end
  local stub = {}
  for k, v in pairs(core) do if not dropped[k] then stub[k] = v end end
  return M.fresh(name, stub)
end

--- minstd: the same sequence under Lua 5.4 and LuaJIT; `r(n)` answers 0 .. n-1.
function M.rng(seed)
  local s = seed
  return function(n)
    s = (s * 48271) % 2147483647 -- exact in a double
    return s % n
  end
end

return M
