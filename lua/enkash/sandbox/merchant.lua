--- Merchant payments: the OTP-authorised wallet debit and its settlement status.
-- A debit needs a valid transaction OTP of the same wallet (enkash.sandbox.otp), moves the
-- amount from the wallet to "merchant:<merchantDetailId>" and opens a settlement, which goes
-- PENDING -> APPROVED -> SETTLEMENT_IN_PROCESS -> SETTLED one step every
-- `opts.settlement_step` seconds (false: only the control call `settlement` moves it). The
-- control call can also set DISPUTED, ON_HOLD, PENDING_WITH_BANK or REFUND; REFUND credits
-- the wallet back from the merchant, once, and is final.
-- Assumptions: the settlement statuses are the documented enum (docs/enkash-api.md §4.17); the
-- debit is SUCCESS at once; a refused debit (OTP, balance) leaves no record, since the
-- settlement enum has no failed value, so its reference stays free for a new attempt; a
-- debit is not a load and does not count against load limits. The status lookup answers in
-- the dialect in force (enkash.sandbox.dialect); a settlement never reports CREATED (its first
-- status, PENDING, is already a documented one).
-- @module enkash.sandbox.merchant

local books = require "enkash.sandbox.books"
local ledger = require "enkash.sandbox.ledger"
local ids = require "enkash.sandbox.ids"
local otp = require "enkash.sandbox.otp"
local steps = require "enkash.sandbox.steps"
local dialect = require "enkash.sandbox.dialect"

local pairs = pairs

local M = {}

local REF = "uniqueTransactionId"

--- The time-driven progression of a settlement.
M.CHAIN = { "PENDING", "APPROVED", "SETTLEMENT_IN_PROCESS", "SETTLED" }
--- Every documented settlement status.
M.STATUSES = { PENDING = true, APPROVED = true, SETTLEMENT_IN_PROCESS = true, DISPUTED = true, SETTLED = true,
               PENDING_WITH_BANK = true, REFUND = true, ON_HOLD = true }

-- What authorises a debit: the transaction OTP (otpMedium MOBILE), or the MFA code.
-- Assumption: an MFA code (otpMedium "MFA", field mfaCode as on the Prepaid Card pages,
-- docs/enkash-api.md §8) comes from the user's authenticator, not from wallet.send_otp: it has no
-- otpReferenceId and is not used up; the sandbox takes the configured otp_code as the one
-- valid code, and a wrong one answers like a wrong OTP. The returned record is a fresh
-- table, so `otp.use` on it changes nothing that is kept.
local function authorise(sb, body, w)
  if body.otpMedium == "MFA" then
    if body.mfaCode ~= sb.opts.otp_code then return nil, otp.INVALID end
    return { mfa = true }
  end
  return otp.valid(sb, body.otpReferenceId, w.id, body.otp)
end

local function debit(sb, body)
  local w, msg = books.wallet(sb, body, "enkashCardId") -- lower-case k, as documented
  if not w then return nil, msg end
  local ref = body[REF]
  -- the duplicate check comes before the OTP: a resend of an applied debit (whose OTP is
  -- used up by now) must say "already exists", not "invalid OTP"
  msg = books.duplicate(sb, ref, REF)
  if msg then return nil, msg end
  local o
  o, msg = authorise(sb, body, w)
  if not o then return nil, msg end
  local paise = books.paise(body.amount)
  local merchant = books.merchant_name(body.merchantDetailId)
  local ok, err = ledger.move(sb.state.ledger, books.wallet_name(w.id), merchant, paise, ref,
    "merchant_debit")
  if not ok then return nil, err end
  otp.use(o)
  local st = sb.state
  local rec = { reference = ref, txn_id = ids.upper(sb.core, "EKT", 12), wallet = w.id,
                merchant = merchant, amount = paise, status = "PENDING", since = sb.clock() }
  books.claim(sb, ref, "merchant")
  st.settlements[ref] = rec
  st.settling[ref] = rec
  return { uniqueTransactionId = ref, enkashCardTxnId = rec.txn_id, status = "SUCCESS",
           otbBalance = books.amount(books.balance(sb, w)) }
end

local function settlement_view(sb, rec)
  local status, paise = dialect.shown(sb, rec)
  return { merchantUniqueTxnId = rec.reference, status = status, amount = books.amount(paise) }
end

-- merchant.settlement_status: a settlement by its reference; under lookups = "list" every
-- settlement of the sandbox.
local function settlement_status(sb, body)
  return dialect.lookup(sb, {
    found = sb.state.settlements[body.merchantUniqueTxnId], missing = "Transaction not found",
    view = function(r) return settlement_view(sb, r) end,
    all = function() return books.recent(sb, "merchant", dialect.LIST_MAX) end,
  })
end

--- Move every open settlement along by the clock.
-- @tparam table sb
function M.tick(sb)
  local now, step = sb.clock(), sb.opts.settlement_step
  local settling = sb.state.settling
  for ref, rec in pairs(settling) do
    if not steps.advance(rec, M.CHAIN, step, now) then settling[ref] = nil end
  end
end

--- Handlers by catalogue row name.
M.handlers = {
  ["merchant.debit"] = debit,
  ["merchant.settlement_status"] = settlement_status,
}

-- settlement {merchantUniqueTxnId, status}: set a settlement's status now.
local function control_settlement(sb, args)
  local st = sb.state
  local ref = args.merchantUniqueTxnId
  local rec = st.settlements[ref]
  if not rec then return nil, "unknown merchantUniqueTxnId" end
  local s = args.status
  if not M.STATUSES[s] then return nil, "status must be one of the documented settlement statuses" end
  if rec.status == "REFUND" then return nil, "settlement " .. ref .. " was refunded already" end
  if s == "REFUND" then
    -- the merchant is an external account: the refund cannot fail for want of balance
    assert(ledger.move(st.ledger, rec.merchant, books.wallet_name(rec.wallet), rec.amount,
      ref .. books.OWN .. "refund", "refund"))
  end
  rec.status, rec.since = s, sb.clock()
  st.settling[ref] = steps.index(M.CHAIN, s) and s ~= "SETTLED" and rec or nil
  return { merchantUniqueTxnId = ref, status = s }
end

--- Control calls of this module.
M.controls = {
  settlement = { method = "POST", fn = control_settlement },
}

return M
