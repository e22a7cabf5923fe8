-- make bench: run every benchmark script in bench/ (all but the helpers run.lua, lib.lua,
-- chart.lua and stages.lua), each in its own process, then print bench/results.json and a
-- table of the ratios, and draw the chart.
-- A failing benchmark is reported, the others run.
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench") .. "/lib.lua")

local scripts = {}
local p = assert(io.popen("ls " .. lib.dir .. "/*.lua"))
for path in p:lines() do
  local name = path:match("([^/]+)%.lua$")
  local helper = name == "run" or name == "lib" or name == "chart" or name == "stages"
  if not helper then scripts[#scripts + 1] = path end
end
p:close()
table.sort(scripts)

local failed = 0
for _, path in ipairs(scripts) do
  print(("== %s"):format(path:match("([^/]+)$")))
  local ok = os.execute("lua5.4 " .. path)
  if not ok then
    failed = failed + 1
    print("   (benchmark failed)")
  end
end
print("== bench/results.json")
local f = io.open(lib.results_path)
if f then
  io.write(f:read("*a"))
  f:close()
end
-- The summary: every recorded ratio against its target, then the chart (bench/results.svg).
lib.summary()
if not os.execute("lua5.4 " .. lib.dir .. "/chart.lua") then failed = failed + 1 end
os.exit(failed == 0 and 0 or 1)
