--- How `enkash run` shows a run: a line per step, a summary table, or JSON events.
-- @module enkash.cli.progress

local json = require "enkash.json"
local redact = require "enkash.redact"

local format, rep = string.format, string.rep

local M = {}

--- The masked form of a step's values, as both printers show them: every value masked by
-- its key (a mobile 96XXXXXX14, an OTP ***, a VKYC link cut to its host), free text by
-- enkash.redact.text; a value that is not a table is shown as `{value = ...}`.
-- @param result a step's result
-- @treturn table|nil
function M.masked(result)
  if result == nil then return nil end
  if type(result) ~= "table" then result = { value = result } end
  return redact.table(result)
end

--- An error (an enkash error or the text a step returned) as printed: text, masked.
-- @param err
-- @treturn string|nil
function M.error_text(err)
  if err == nil or err == false then return nil end
  return redact.text(tostring(err))
end

-- The first two plain values of a step's (masked) result, for the human line.
local function short(result)
  if type(result) ~= "table" then return "" end
  local shown = M.masked(result)
  local keys = {}
  for k, v in pairs(shown) do
    if type(v) ~= "table" then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local out = {}
  for i = 1, math.min(#keys, 2) do
    local v = tostring(shown[keys[i]])
    if #v > 40 then v = v:sub(1, 37) .. "..." end
    out[#out + 1] = tostring(keys[i]) .. "=" .. v
  end
  return table.concat(out, " ")
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
        local what = M.error_text(e.error) or short(e.result)
        out:write(format(" %-8s %6.1f s  %s\n", e.status, e.elapsed, what))
      end
      out:flush()
    end
  end
end

--- A JSON-lines event printer (one object per event; errors as text). Step values and
-- errors are masked exactly as the human printer masks them.
-- @tparam file out
-- @treturn function on_event
function M.json(out)
  return function(e)
    local copy = {}
    for k, v in pairs(e) do
      if k == "error" then v = M.error_text(v) end
      if k == "result" then v = M.masked(v) end
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
    ("FAILED: " .. (M.error_text(summary.error) or "?")))
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
