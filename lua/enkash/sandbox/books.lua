--- The sandbox's books: partner accounts and their prefunding, the ledger's account names,
-- the identity checks every wallet call makes, and the registry of used references.
-- Balances live only in the ledger (enkash.sandbox.ledger); a wallet record holds no copy.
--
-- Assumptions (the portal is silent): a companyId other than the client id is "Invalid
-- companyId"; an unknown cardAccountId is "Unknown cardAccountId"; an enKashCardId that is
-- not a wallet of the given card account is "Wallet not found". References are unique
-- across every money call (a uniqueTransactionId may not repeat a uniqueReferenceNumber), so
-- the ledger's `applied` map has one key per call.
-- @module enkash.sandbox.books

local ledger = require "enkash.sandbox.ledger"
local money = require "enkash.money"
local json = require "enkash.json"

local pairs, tostring = pairs, tostring

local M = {}

--- The separator of the sandbox's own ledger references (a funding, a refund, a reversal):
-- a control character, which no client reference may hold (enkash.validate), so they never
-- collide with one.
M.OWN = "\31"

--- External ledger accounts: the payment gateway (add_money), the bank (IMPS), the source of
-- partner prefunding. Merchants are "merchant:<merchantDetailId>", also external.
M.PG, M.BANK, M.FUNDING = "pg", "bank", "funding"

--- Ledger name of a partner account.
-- @tparam string id cardAccountId
-- @treturn string
function M.account_name(id) return "account:" .. id end

--- Ledger name of a wallet.
-- @tparam string id enKashCardId
-- @treturn string
function M.wallet_name(id) return "wallet:" .. id end

--- Ledger name of a merchant.
-- @tparam string id merchantDetailId
-- @treturn string
function M.merchant_name(id) return "merchant:" .. tostring(id) end

--- Set partner accounts to the given balances (opening them as needed) by entries from or to
-- "funding", so the ledger stays balanced. Accounts not listed are left alone.
-- @tparam table sb the sandbox
-- @tparam table accounts cardAccountId -> paise
function M.fund(sb, accounts)
  local st = sb.state
  local L = st.ledger
  for id, paise in pairs(accounts) do
    local name = M.account_name(id)
    ledger.open(L, name, true)
    st.accounts[id] = true
    local diff = paise - ledger.balance(L, name)
    local ref = M.OWN .. "funding-" .. tostring(#L.entries + 1)
    if diff > 0 then
      assert(ledger.move(L, M.FUNDING, name, diff, ref, "funding"))
    elseif diff < 0 then
      assert(ledger.move(L, name, M.FUNDING, -diff, ref, "funding"))
    end
  end
end

--- Give a fresh state its books: an empty ledger with the configured accounts funded.
-- @tparam table sb the sandbox (after `sb.state` was replaced)
function M.init(sb)
  sb.state.ledger = ledger.new()
  sb.state.accounts = {}
  M.fund(sb, sb.opts.accounts)
end

--- Check the companyId and cardAccountId of a body, when present.
-- @tparam table sb
-- @tparam table body
-- @treturn string|nil the refusal message, nil when fine
function M.check_ids(sb, body)
  if body.companyId ~= nil and body.companyId ~= sb.opts.client_id then return "Invalid companyId" end
  local acc = body.cardAccountId
  if acc ~= nil and not sb.state.accounts[acc] then return "Unknown cardAccountId" end
  return nil
end

--- The wallet a body names, after the companyId and cardAccountId checks.
-- @tparam table sb
-- @tparam table body
-- @tparam[opt="enKashCardId"] string field the field holding the wallet id
-- @treturn table|nil wallet record
-- @treturn[opt] string refusal message
function M.wallet(sb, body, field)
  local msg = M.check_ids(sb, body)
  if msg then return nil, msg end
  local w = sb.state.wallets[body[field or "enKashCardId"]]
  if not w or (body.cardAccountId ~= nil and w.account ~= body.cardAccountId) then
    return nil, "Wallet not found"
  end
  return w
end

--- A wallet's balance in paise.
-- @tparam table sb
-- @tparam table w wallet record
-- @treturn number
function M.balance(sb, w)
  return ledger.balance(sb.state.ledger, M.wallet_name(w.id))
end

--- An amount field already checked by the router, in paise.
-- @param v the field's value
-- @treturn number paise
function M.paise(v)
  return (assert(money.paise(v)))
end

--- Paise as a JSON number written verbatim (20.50, not 20.5 or 20.499999).
-- @tparam number paise
-- @treturn table json.raw value
function M.amount(paise)
  return json.raw(money.text(paise))
end

--- The refusal of a reference already used by any money call, or nil when it is fresh.
-- Wording: Payouts' "Transaction ID already exists" (docs/enkash-api.md §3.3).
-- @tparam table sb
-- @tparam string ref
-- @tparam string field the reference's field name in this call
-- @treturn string|nil message
function M.duplicate(sb, ref, field)
  if sb.state.refs[ref] == nil then return nil end
  if field == "uniqueReferenceNumber" then return "Unique reference number already exists" end
  return "Transaction ID already exists"
end

--- Record a reference as used by a call of `kind` ("load", "transfer", "merchant"), and
-- when (the order of `claimed` is the order of creation, newest last).
-- @tparam table sb
-- @tparam string ref
-- @tparam string kind
function M.claim(sb, ref, kind)
  local st = sb.state
  st.refs[ref] = kind
  st.claimed[#st.claimed + 1] = ref
end

-- The state table holding the records of each kind of reference.
local records = { load = "loads", transfer = "transfers", merchant = "settlements" }

--- The record a reference names (a load, transfer or settlement), and its kind.
-- @tparam table sb
-- @tparam string ref
-- @treturn table|nil record
-- @treturn[opt] string kind
function M.record(sb, ref)
  local st = sb.state
  local kind = st.refs[ref]
  local rec = kind and st[records[kind]][ref]
  if not rec then return nil end
  return rec, kind
end

--- The newest records of one kind, newest first, at most `max`.
-- @tparam table sb
-- @tparam string kind "load" | "transfer" | "merchant"
-- @tparam number max
-- @tparam[opt] function keep fn(record) -> boolean, a filter
-- @treturn table list of records
function M.recent(sb, kind, max, keep)
  local st = sb.state
  local map, claimed, out = st[records[kind]], st.claimed, {}
  for i = #claimed, 1, -1 do
    local ref = claimed[i]
    local rec = st.refs[ref] == kind and map[ref]
    if rec and (keep == nil or keep(rec)) then
      out[#out + 1] = rec
      if #out >= max then break end
    end
  end
  return out
end

-- ledger (GET): {accounts = name -> paise, total, entries = count, applied = ref -> count}.
local function ledger_call(sb)
  local snap = ledger.snapshot(sb.state.ledger)
  return { accounts = snap.accounts, total = snap.total, entries = snap.entries, applied = snap.applied }
end

--- Control calls of this module.
M.controls = {
  ledger = { method = "GET", fn = ledger_call },
}

return M
