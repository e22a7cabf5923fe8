--- Money into a wallet: add_money (the payment-gateway route), top_up (from the partner's
-- prefunded card account) and their status lookup, wallet.transaction.
--
-- Assumptions: add_money simulates a payment that succeeds at once (the sandbox has no
-- payment page), credits the wallet from the external "pg" account and then sends the
-- Payment Notify webhook. A load refused by a business rule (limit, partner balance) is kept
-- as a FAILED transaction: its reference is used up and the status lookup answers FAILED,
-- so a client that missed the answer learns the outcome. Loads refused for bad ids, fields
-- or a duplicate reference leave no record. The lookup answers in the dialect in force
-- (enkash.sandbox.dialect: a page, a list of the wallet's loads, CREATED while pending).
-- @module enkash.sandbox.loads

local books = require "enkash.sandbox.books"
local ledger = require "enkash.sandbox.ledger"
local limits = require "enkash.sandbox.limits"
local ids = require "enkash.sandbox.ids"
local notify = require "enkash.sandbox.notify"
local dialect = require "enkash.sandbox.dialect"

local M = {}

local REF = "uniqueReferenceNumber"

-- Check the wallet and the reference; keep a FAILED record of the load (using up the
-- reference) and return it with the wallet and the amount.
local function begin(sb, body, kind)
  local w, msg = books.wallet(sb, body)
  if not w then return nil, msg end
  local ref = body[REF]
  msg = books.duplicate(sb, ref, REF)
  if msg then return nil, msg end
  local rec = {
    reference = ref, txn_id = ids.fresh(sb.core, "EKT", 12, sb.state.loads), wallet = w.id,
    amount = books.paise(body.amount), status = "FAILED", kind = kind,
  }
  dialect.hold(sb, rec)
  books.claim(sb, ref, "load")
  sb.state.loads[ref] = rec
  return rec, w
end

-- Apply a load checked by `begin`: the limits, then one ledger entry from `from`.
local function apply(sb, rec, w, from)
  local msg = limits.check(sb, w, rec.amount)
  if msg then return nil, msg end
  local ok, err = ledger.move(sb.state.ledger, from, books.wallet_name(w.id), rec.amount, rec.reference,
    rec.kind)
  if not ok then return nil, err end
  limits.count(sb, w, rec.amount)
  rec.status = "SUCCESS"
  return true
end

local function add_money(sb, body)
  local rec, w = begin(sb, body, "add_money")
  if not rec then return nil, w end
  local ok, msg = apply(sb, rec, w, books.PG)
  if not ok then return nil, msg end
  notify.payment_notify(sb, w, rec)
  return { uniqueReferenceNumber = rec.reference, enkashCardTxnId = rec.txn_id, status = "SUCCESS",
           otbBalance = books.amount(books.balance(sb, w)) }
end

local function top_up(sb, body)
  local rec, w = begin(sb, body, "top_up")
  if not rec then return nil, w end
  local ok, msg = apply(sb, rec, w, books.account_name(w.account))
  if not ok then return nil, msg end
  return { pgReferenceNumber = rec.reference, enkashCardTxnId = rec.txn_id,
           otbBalance = books.amount(books.balance(sb, w)) }
end

-- A load as its lookup shows it (status and amount as enkash.sandbox.dialect.shown says).
local function view(sb, rec, w)
  local status, paise = dialect.shown(sb, rec)
  return {
    pgReferenceNumber = rec.reference, enkashCardTxnId = rec.txn_id, enKashCardId = w.id,
    amount = books.amount(paise), transactionType = "CR", status = status,
    otbBalance = books.amount(books.balance(sb, w)),
  }
end

-- wallet.transaction: a load of this wallet by its reference (pgReferenceNumber); under
-- lookups = "list" a search of the wallet's loads that ignores the reference, as the card
-- Get Transaction Details page (a search answering lists) would.
local function transaction(sb, body)
  local w, msg = books.wallet(sb, body)
  if not w then return nil, msg end
  local rec = sb.state.loads[body.pgReferenceNumber]
  if rec and rec.wallet ~= w.id then rec = nil end
  return dialect.lookup(sb, {
    found = rec, missing = "Transaction not found",
    view = function(r) return view(sb, r, w) end,
    all = function()
      return books.recent(sb, "load", dialect.LIST_MAX, function(r) return r.wallet == w.id end)
    end,
  })
end

--- Handlers by catalogue row name.
M.handlers = {
  ["wallet.add_money"] = add_money,
  ["wallet.top_up"] = top_up,
  ["wallet.transaction"] = transaction,
}

return M
