-- Bulk wallet creation: one run per CSV row (examples/users.csv), in parallel.
--
--   enkash run examples/bulk_wallets.lua --csv examples/users.csv --concurrency 20
--
-- Columns: title, firstName, lastName, email, mobile, gender, pan, specialDate, address,
-- city, state, pincode, country. A bad row fails alone, with the field at fault in the
-- results file; the others go on.
local runbook = require "enkash.runbook"

local rb = runbook.new("Bulk wallet creation")

rb:step("create wallet", function(ctx)
  local r = ctx.input
  local w, err = ctx:call("wallet.create", {
    title = r.title, firstName = r.firstName, lastName = r.lastName, email = r.email,
    mobile = r.mobile, gender = r.gender, specialDate = r.specialDate,
    documents = r.pan and { { docType = "PAN", docNo = r.pan } } or nil,
    address = r.address, city = r.city, state = r.state, pincode = r.pincode, country = r.country,
  })
  if not w then return nil, err end
  return { enKashCardId = w.enKashCardId }
end)

rb:step("check state", function(ctx)
  local st, err = ctx.client:onboarding_state({ enKashCardId = ctx.values["create wallet"].enKashCardId })
  if not st then return nil, err end
  return { kyc = st.kyc, next = st.next }
end)

return rb
