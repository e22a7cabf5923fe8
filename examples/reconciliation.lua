-- Daily reconciliation: the status of pending transfers and the settlement status of merchant
-- debits, looked up in parallel, with a report.
--
--   enkash run examples/reconciliation.lua --input examples/reconciliation.json
--
-- Input: {"transfers": ["<uniqueTransactionId>", ...], "settlements": ["<uniqueTransactionId>", ...],
--         "report": "reconciliation.csv"}
local reconcile = require "enkash.reconcile"
local runbook = require "enkash.runbook"
local statuses = require "enkash.statuses"

local rb = runbook.new("Daily reconciliation")

-- Look every reference up through one endpoint, in parallel; {reference -> status or error}.
-- The answer may be the record, a list or a page (Enkash's lookups are searches on some
-- products): reconcile.record finds the record that carries the reference.
local function lookup(ctx, endpoint, field, refs)
  local calls = {}
  for i, ref in ipairs(refs or {}) do calls[i] = { endpoint, { [field] = ref } } end
  local out = {}
  for i, r in ipairs(ctx.client:batch(calls)) do
    local payload, res = r[1], r[2]
    if payload then
      local rec, why = reconcile.record(payload, refs[i])
      out[refs[i]] = rec and tostring(rec.status) or ("error: " .. why)
    else
      out[refs[i]] = "error: " .. tostring(res and res.message or res)
    end
  end
  return out
end

rb:step("transfer statuses", function(ctx)
  return lookup(ctx, "transfers.status", "uniqueTransactionId", ctx.input.transfers)
end)

rb:step("settlement statuses", function(ctx)
  return lookup(ctx, "merchant.settlement_status", "merchantUniqueTxnId", ctx.input.settlements)
end)

rb:step("report", function(ctx)
  local path = ctx.input.report or "reconciliation.csv"
  local f = assert(io.open(path, "w"))
  f:write("kind,reference,status,final\n")
  local counts = { final = 0, open = 0, errors = 0 }
  local function emit(kind, domain, results)
    local refs = {}
    for ref in pairs(results) do refs[#refs + 1] = ref end
    table.sort(refs)
    for _, ref in ipairs(refs) do
      local st = results[ref]
      local final = statuses.is_final(domain, st)
      if st:find("^error") then counts.errors = counts.errors + 1
      elseif final then counts.final = counts.final + 1
      else counts.open = counts.open + 1 end
      f:write(("%s,%s,%s,%s\n"):format(kind, ref, st, tostring(final)))
    end
  end
  emit("transfer", "transfer", ctx.values["transfer statuses"])
  emit("settlement", "settlement", ctx.values["settlement statuses"])
  f:close()
  counts.report = path
  return counts
end)

return rb
