-- The secrets scan: every line the suite recorded (tools/test.sh, spec/helpers/audit.lua) is
-- searched for the test secrets, passwords, full PII values and every token issued.
-- Usage: lua5.4 tools/scan_secrets.lua AUDIT_DIR ; exits 1 on any hit.
package.path = "spec/?.lua;" .. package.path
local fx = require "helpers.fixtures"
local dir = assert(arg[1], "usage: scan_secrets.lua AUDIT_DIR")

local needles = {}
for _, s in ipairs(fx.secrets) do needles[#needles + 1] = { s, "fixture" } end
local tf = io.open(dir .. "/tokens.txt")
if tf then
  for t in tf:lines() do if #t >= 8 then needles[#needles + 1] = { t, "token" } end end
  tf:close()
end

local scanned, hits = 0, 0
local lf = io.open(dir .. "/lines.txt")
if lf then
  for line in lf:lines() do
    scanned = scanned + 1
    for _, n in ipairs(needles) do
      if line:find(n[1], 1, true) then
        hits = hits + 1
        print(("secrets scan: a %s value appears in: %s"):format(n[2], line:sub(1, 200)))
      end
    end
  end
  lf:close()
end
print(("secrets scan: %d lines checked against %d values, %d hits"):format(scanned, #needles, hits))
os.exit(hits == 0 and scanned > 0 and 0 or 1)
