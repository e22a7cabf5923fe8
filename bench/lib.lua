-- Shared pieces of the benchmarks: paths, merging figures into bench/results.json, printing.
-- Each benchmark is a script bench/<name>.lua run by bench/run.lua (`make bench`); it measures
-- against a baseline in the same run and records ratios, never absolute timings as pass/fail.
local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench"
M.dir = here
M.root = here:gsub("/?bench$", "")
if M.root == "" then M.root = "." end
M.results_path = here .. "/results.json"

package.path = M.root .. "/lua/?.lua;" .. M.root .. "/lua/?/init.lua;" .. M.root .. "/spec/?.lua;" .. package.path
package.cpath = M.root .. "/build/lua5.4/?.so;" .. package.cpath

local cjson = require "cjson"

--- Merge `figures` (key -> number) into bench/results.json, keeping other benchmarks' keys.
function M.record(figures)
  local all = {}
  local f = io.open(M.results_path, "rb")
  if f then
    local ok, doc = pcall(cjson.decode, f:read("*a"))
    f:close()
    if ok and type(doc) == "table" then all = doc end
  end
  for k, v in pairs(figures) do all[k] = v end
  local keys = {}
  for k in pairs(all) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for i, k in ipairs(keys) do out[i] = ("  %q: %s"):format(k, cjson.encode(all[k])) end
  f = assert(io.open(M.results_path, "wb"))
  f:write("{\n", table.concat(out, ",\n"), "\n}\n")
  f:close()
end

--- Print one row of the ratio table: name, ours, baseline, ratio, target.
function M.row(name, ours, base, ratio, target)
  print(("%-28s %14s %14s %8.2fx  %s"):format(name, ours, base, ratio, target or ""))
end

--- Run a shell command, return its stdout (raises on failure).
function M.sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  local ok = p:close()
  if not ok then error("command failed: " .. cmd .. "\n" .. out) end
  return out
end

return M
