--- How `enkash run` shows a run: a line per step, a summary table, or JSON events.
-- @module enkash.cli.progress

local json = require "enkash.json"

local format, rep = string.format, string.rep

local M = {}

local function short(result)
  if type(result) ~= "table" then return "" end
  local keys = {}
  for k, v in pairs(result) do
    if type(v) ~= "table" and k ~= "token" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local out = {}
  for i = 1, math.min(#keys, 2) do
    local v = tostring(result[keys[i]])
    if #v > 40 then v = v:sub(1, 37) .. "..." end
    out[#out + 1] = keys[i] .. "=" .. v
  end
  return require("enkash.redact").text(table.concat(out, " "))
end

--- A human event printer: `[k/n] name ... status  elapsed  summary`.
-- @tparam file out where to write (io.stdout)
-- @tparam[opt] boolean own_lines start each step on a line of its own (other output, such as
-- a dry run's requests, goes between)
-- @treturn function on_event
function M.human(out, own_lines)
  return function(e)
    if e.event == "start" then
      out:write(format("[%d/%d] %-22s%s", e.k, e.n, e.name, own_lines and "\n" or " "))
      out:flush()
    elseif e.event == "poll" then
      out:write(".")
      out:flush()
    elseif e.event == "step" then
      if e.replayed then
        out:write(format("[%d/%d] %-22s %s (from the journal)\n", e.k, e.n, e.name, e.status))
      else
        local what = e.error and tostring(e.error) or short(e.result)
        out:write(format(" %-8s %6.1f s  %s\n", e.status, e.elapsed, what))
      end
      out:flush()
    end
  end
end

--- A JSON-lines event printer (one object per event; errors as text).
-- @tparam file out
-- @treturn function on_event
function M.json(out)
  return function(e)
    local copy = {}
    for k, v in pairs(e) do
      if k == "error" and v then v = tostring(v) end
      copy[k] = v
    end
    out:write(json.encode(copy), "\n")
    out:flush()
  end
end

--- The summary table of a run.
-- @tparam table summary from runbook.run
-- @treturn string
function M.summary(summary)
  local lines = { format("%-24s %-8s %8s", "step", "status", "elapsed"), rep("-", 42) }
  for _, s in ipairs(summary.steps) do
    lines[#lines + 1] = format("%-24s %-8s %7.1fs%s", s.name, s.status, s.elapsed or 0,
      s.replayed and "  (journal)" or "")
  end
  lines[#lines + 1] = rep("-", 42)
  lines[#lines + 1] = format("run %s: %s", summary.run_id, summary.ok and "ok" or
    ("FAILED: " .. tostring(summary.error)))
  return table.concat(lines, "\n")
end

--- A progress bar line for bulk runs: `[#####.....] 500/1000  ok 480  failed 20`.
-- @tparam number done
-- @tparam number total
-- @tparam number ok
-- @tparam number failed
-- @treturn string
function M.bar(done, total, ok, failed)
  local width = 30
  local filled = total > 0 and math.floor(width * done / total) or width
  return format("[%s%s] %d/%d  ok %d  failed %d", rep("#", filled), rep(".", width - filled), done, total,
    ok, failed)
end

return M
