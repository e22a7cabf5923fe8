-- The secrets scan: every line the suite recorded (tools/test.sh, spec/helpers/audit.lua) is
-- searched for the test secrets, passwords, full PII values and every token issued:
--   lines.txt  every error message and log event the SDK built (server-echoed text included)
--   shown.txt  everything printed that a spec captured: the CLI's stdout and stderr of every
--              run (spec/helpers/cli.lua), the run printers driven in-process
-- A value is found in any case, and with spaces or dashes between its characters.
-- Usage: lua5.4 tools/scan_secrets.lua AUDIT_DIR ; exits 1 on any hit, or when nothing was
-- recorded at all (the audit itself would be broken).
package.path = "spec/?.lua;" .. package.path
local fx = require "helpers.fixtures"
local dir = assert(arg[1], "usage: scan_secrets.lua AUDIT_DIR")

-- What the scan compares: lower case, no spaces or dashes ("+91 98123-45670" -> "+919812345670").
local function fold(s)
  return (s:lower():gsub("[%s%-]+", ""))
end

local needles = {}
for _, s in ipairs(fx.secrets) do needles[#needles + 1] = { fold(s), "fixture" } end
local tf = io.open(dir .. "/tokens.txt")
if tf then
  for t in tf:lines() do if #t >= 8 then needles[#needles + 1] = { fold(t), "token" } end end
  tf:close()
end

local scanned, hits = 0, 0
for _, name in ipairs({ "lines.txt", "shown.txt" }) do
  local lf = io.open(dir .. "/" .. name)
  if lf then
    for line in lf:lines() do
      scanned = scanned + 1
      local folded = fold(line)
      for _, n in ipairs(needles) do
        if folded:find(n[1], 1, true) then
          hits = hits + 1
          print(("secrets scan: a %s value appears in %s: %s"):format(n[2], name, line:sub(1, 200)))
        end
      end
    end
    lf:close()
  end
end
print(("secrets scan: %d lines checked against %d values, %d hits"):format(scanned, #needles, hits))
os.exit(hits == 0 and scanned > 0 and 0 or 1)
