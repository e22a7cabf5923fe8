-- Draw bench/results.json as bench/results.svg: one horizontal bar per ratio on a log scale,
-- green when it meets its target, red when not, the target marked on each bar. Hand-written
-- SVG, no dependencies. Run by bench/run.lua after the benchmarks (not a benchmark itself).
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench") .. "/lib.lua")
local cjson = require "cjson"

local f = assert(io.open(lib.results_path, "rb"))
local results = cjson.decode(f:read("*a"))
f:close()

local bars = {
  { key = "sdk_vs_c", label = "SDK vs plain C (wall)" },
  { key = "sdk_vs_c_instr", label = "SDK vs plain C (instructions)" },
  { key = "vs_node", label = "vs Node.js 20 + fetch" },
  { key = "vs_lua_curl", label = "vs Lua + lua-curl" },
  { key = "crypto_1k", label = "crypto 1 KiB vs raw EVP" },
  { key = "crypto_64k", label = "crypto 64 KiB vs raw EVP" },
  { key = "parallel_speedup", label = "batch vs sequential (500 calls)" },
}

local W, left, right, top, row_h, bar_h = 860, 250, 110, 70, 40, 22
local present = {}
for _, b in ipairs(bars) do
  if type(results[b.key]) == "number" then present[#present + 1] = b end
end
local H = top + #present * row_h + 80
local lo, hi = math.log(0.1, 10), math.log(100, 10) -- the axis: 0.1x .. 100x
local function x(v)
  local l = math.log(math.max(math.min(v, 100), 0.1), 10)
  return left + (l - lo) / (hi - lo) * (W - left - right)
end
local function esc(s) return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;")) end

local out = {}
local function add(s, ...) out[#out + 1] = select("#", ...) > 0 and s:format(...) or s end
add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
  .. 'font-family="DejaVu Sans, Arial, sans-serif" font-size="13">', W, H, W, H)
add('<rect width="100%%" height="100%%" fill="#ffffff"/>')
add('<text x="%d" y="28" font-size="18" font-weight="bold">enkash benchmarks: ratio to baseline '
  .. '(higher is better, log scale)</text>', 20)
add('<text x="%d" y="50" fill="#555">green: target met, red: missed; black tick: target</text>', 20)
for _, t in ipairs({ 0.1, 0.3, 1, 3, 10, 30, 100 }) do
  local tx = x(t)
  add('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="1"/>', tx, top - 8, tx,
    top + #present * row_h, t == 1 and "#888" or "#e2e2e2")
  add('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%sx</text>', tx, top + #present * row_h + 18, t)
end
for i, b in ipairs(present) do
  local v, target = results[b.key], lib.targets[b.key]
  local y = top + (i - 1) * row_h
  local met = not target or v >= target
  add('<text x="%d" y="%.1f" text-anchor="end">%s</text>', left - 10, y + bar_h / 2 + 5, esc(b.label))
  add('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s" rx="2"/>', left, y, math.max(x(v) - left, 1),
    bar_h, met and "#3a9d4a" or "#d04a3a")
  if target then
    local tx = x(target)
    add('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-width="3"/>', tx, y - 4, tx,
      y + bar_h + 4)
  end
  local lx = math.max(x(v), target and x(target) + 2 or 0) + 6 -- right of the bar and the tick
  add('<text x="%.1f" y="%.1f" font-weight="bold">%.2fx%s</text>', lx, y + bar_h / 2 + 5, v,
    target and (" (target %s)"):format(target) or "")
end
local tok = results.token_requests_per_10000
if tok then
  add('<text x="%d" y="%d" fill="%s">Token requests made by 10,000 calls: %d (target 1)</text>', 20, H - 22,
    tok == 1 and "#3a9d4a" or "#d04a3a", tok)
end
add("</svg>")

local path = lib.dir .. "/results.svg"
f = assert(io.open(path, "wb"))
f:write(table.concat(out, "\n"), "\n")
f:close()
print("chart: " .. path)
