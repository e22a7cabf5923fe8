--- Fund transfers: beneficiaries, IMPS to a beneficiary's bank account, wallet to wallet,
-- and their status lookup. Only navigation entries are documented (docs/enkash-api.md §4.15), so
-- everything here is the sandbox's choice:
-- - a beneficiary belongs to one wallet; adding the same account number and IFSC to the
--   same wallet again answers the existing beneficiary (safe to repeat after a timeout);
-- - IMPS debits the wallet to the external "bank" account and is SUCCESS at once; the
--   control call `transfer` can set PROCESSING, FAILED or REVERSED, and FAILED/REVERSED
--   credit the amount back (once);
-- - wallet to wallet moves the amount in one entry, after the receiver's load limits (the
--   credit counts as a load of the receiver);
-- - a transfer refused by a business rule (balance, receiver's limits) is kept as FAILED and
--   uses its reference up; one refused for bad ids, fields, an unknown beneficiary or
--   receiver, or a duplicate reference leaves no record;
-- - the status lookup and the beneficiary search answer in the dialect in force
--   (enkash.sandbox.dialect).
-- @module enkash.sandbox.transfers

local books = require "enkash.sandbox.books"
local ledger = require "enkash.sandbox.ledger"
local limits = require "enkash.sandbox.limits"
local ids = require "enkash.sandbox.ids"
local dialect = require "enkash.sandbox.dialect"

local tostring, ipairs, sub, rep, lower, find = tostring, ipairs, string.sub, string.rep, string.lower,
  string.find

local M = {}

local REF = "uniqueTransactionId"

--- Statuses a transfer can have.
M.STATUSES = { SUCCESS = true, PROCESSING = true, FAILED = true, REVERSED = true }

-- "XXXXXXXX1234": account numbers are shown by their last 4 digits only.
local function mask(account)
  account = tostring(account)
  if #account <= 4 then return account end
  return rep("X", #account - 4) .. sub(account, -4)
end

local function view(b)
  return { beneficiaryId = b.id, beneficiaryName = b.name, maskedAccountNumber = mask(b.account),
           ifsc = b.ifsc }
end

local function add_beneficiary(sb, body)
  local w, msg = books.wallet(sb, body)
  if not w then return nil, msg end
  local st = sb.state
  local account = tostring(body.accountNumber)
  for _, b in ipairs(st.beneficiary_list) do
    if b.wallet == w.id and b.account == account and b.ifsc == body.ifsc then
      return { beneficiaryId = b.id, beneficiaryName = b.name, maskedAccountNumber = mask(b.account) }
    end
  end
  local b = {
    id = ids.fresh(sb.core, "BEN", 8, st.beneficiaries), wallet = w.id, name = body.beneficiaryName,
    account = account, ifsc = body.ifsc, mobile = body.mobile, email = body.email,
  }
  st.beneficiaries[b.id] = b
  st.beneficiary_list[#st.beneficiary_list + 1] = b
  return { beneficiaryId = b.id, beneficiaryName = b.name, maskedAccountNumber = mask(b.account) }
end

-- The wallet's beneficiaries in the order added; beneficiaryId matches exactly,
-- beneficiaryName as a case-insensitive substring.
local function search_beneficiaries(sb, body)
  local w, msg = books.wallet(sb, body)
  if not w then return nil, msg end
  local name = body.beneficiaryName and lower(tostring(body.beneficiaryName))
  local out = {}
  for _, b in ipairs(sb.state.beneficiary_list) do
    if b.wallet == w.id and (body.beneficiaryId == nil or body.beneficiaryId == b.id)
      and (name == nil or find(lower(tostring(b.name)), name, 1, true)) then
      out[#out + 1] = view(b)
    end
  end
  return dialect.search(sb, out, function(list) return { beneficiaries = list } end)
end

-- Keep a FAILED record of a transfer (using up its reference).
local function record(sb, ref, kind, from, to, paise)
  local rec = { reference = ref, type = kind, from = from, to = to, amount = paise, status = "FAILED" }
  dialect.hold(sb, rec)
  books.claim(sb, ref, "transfer")
  sb.state.transfers[ref] = rec
  return rec
end

-- Apply a recorded transfer: one ledger entry; SUCCESS when it went through.
local function apply(sb, rec)
  local ok, err = ledger.move(sb.state.ledger, rec.from, rec.to, rec.amount, rec.reference, rec.type)
  if not ok then return nil, err end
  rec.status, rec.debited = "SUCCESS", true
  return true
end

local function answer(sb, rec, w)
  return { uniqueTransactionId = rec.reference, status = rec.status,
           otbBalance = books.amount(books.balance(sb, w)) }
end

local function imps(sb, body)
  local w, msg = books.wallet(sb, body)
  if not w then return nil, msg end
  local ref = body[REF]
  msg = books.duplicate(sb, ref, REF)
  if msg then return nil, msg end
  local b = sb.state.beneficiaries[body.beneficiaryId]
  if not b or b.wallet ~= w.id then return nil, "Beneficiary not found" end
  local rec = record(sb, ref, "IMPS", books.wallet_name(w.id), books.BANK, books.paise(body.amount))
  local ok, err = apply(sb, rec)
  if not ok then return nil, err end
  return answer(sb, rec, w)
end

local function wallet_to_wallet(sb, body)
  local w, msg = books.wallet(sb, body)
  if not w then return nil, msg end
  local ref = body[REF]
  msg = books.duplicate(sb, ref, REF)
  if msg then return nil, msg end
  local to = sb.state.wallets[body.toEnKashCardId]
  if not to then return nil, "Receiving wallet not found" end
  if to == w then return nil, "Cannot transfer to the same wallet" end
  local paise = books.paise(body.amount)
  local rec = record(sb, ref, "WALLET_TO_WALLET", books.wallet_name(w.id), books.wallet_name(to.id), paise)
  msg = limits.check(sb, to, paise)
  if msg then return nil, msg end
  local ok, err = apply(sb, rec)
  if not ok then return nil, err end
  limits.count(sb, to, paise)
  return answer(sb, rec, w)
end

local function status_view(sb, rec)
  local status, paise = dialect.shown(sb, rec)
  return { uniqueTransactionId = rec.reference, status = status, amount = books.amount(paise),
           type = rec.type }
end

-- transfers.status: a transfer by its reference; under lookups = "list" every transfer of the
-- sandbox (the lookup has no wallet to scope it).
local function status(sb, body)
  return dialect.lookup(sb, {
    found = sb.state.transfers[body[REF]], missing = "Transaction not found",
    view = function(r) return status_view(sb, r) end,
    all = function() return books.recent(sb, "transfer", dialect.LIST_MAX) end,
  })
end

--- Handlers by catalogue row name.
M.handlers = {
  ["transfers.add_beneficiary"] = add_beneficiary,
  ["transfers.search_beneficiaries"] = search_beneficiaries,
  ["transfers.imps"] = imps,
  ["transfers.wallet_to_wallet"] = wallet_to_wallet,
  ["transfers.status"] = status,
}

-- transfer {uniqueTransactionId, status}: set a transfer's status; FAILED or REVERSED credit
-- the amount back to the sender once (a wallet-to-wallet reversal needs the receiver to
-- still hold it). A transfer that never moved money, or was already credited back, is refused.
local function control_transfer(sb, args)
  local rec = sb.state.transfers[args.uniqueTransactionId]
  if not rec then return nil, "unknown uniqueTransactionId" end
  local s = args.status
  if not M.STATUSES[s] then return nil, "status must be SUCCESS, PROCESSING, FAILED or REVERSED" end
  if not rec.debited then return nil, "transfer " .. rec.reference .. " moved no money" end
  if rec.credited_back then return nil, "transfer " .. rec.reference .. " was already credited back" end
  if s == "FAILED" or s == "REVERSED" then
    local ok, err = ledger.move(sb.state.ledger, rec.to, rec.from, rec.amount,
      rec.reference .. books.OWN .. "reversal", "reversal")
    if not ok then return nil, "cannot credit back: " .. err end
    rec.credited_back = true
  end
  rec.status = s
  return { uniqueTransactionId = rec.reference, status = rec.status }
end

--- Control calls of this module.
M.controls = {
  transfer = { method = "POST", fn = control_transfer },
}

return M
