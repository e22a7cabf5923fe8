--- A double-entry ledger in integer paise: every movement of money is one entry moving an
-- amount from one named account to another, so the sum over all accounts never changes
-- (it is 0: even the partners' prefunding is an entry from the external "funding" account).
-- Internal accounts (partner accounts, wallets) never go below zero; external ones (the
-- payment gateway, the bank, merchants, funding) stand for the outside world and may.
-- `move` checks everything before it changes anything, so a refused movement leaves no
-- trace, and it applies each reference at most once.
-- Pure data: no sandbox, no I/O. Runs under Lua 5.4 and LuaJIT (paise stay far below 2^53).
-- @module enkash.sandbox.ledger

local type, pairs, floor = type, pairs, math.floor

local M = {}

--- The message of a movement that would make an internal account negative (documented
-- wording, docs/enkash-api.md §3.3).
M.INSUFFICIENT = "Insufficient balance in card account"
--- The message of a reference moved twice (a bug in the caller: handlers refuse duplicates
-- first, with their own wording).
M.APPLIED = "Reference already applied"

--- A fresh, empty ledger.
-- @treturn table {balances = name -> paise, internal = name -> true, entries = list, applied = ref -> count}
function M.new()
  return { balances = {}, internal = {}, entries = {}, applied = {} }
end

--- Open an account (idempotent).
-- @tparam table L ledger
-- @tparam string name
-- @tparam boolean internal true for accounts that may never go negative
function M.open(L, name, internal)
  if L.balances[name] == nil then L.balances[name] = 0 end
  if internal then L.internal[name] = true end
end

--- The balance of an account (0 when never opened).
-- @tparam table L ledger
-- @tparam string name
-- @treturn number paise
function M.balance(L, name)
  return L.balances[name] or 0
end

--- Would this movement be applied? Nothing is changed.
-- @tparam table L ledger
-- @tparam string from account debited
-- @tparam string to account credited
-- @tparam number paise a positive integer
-- @tparam string ref the movement's unique reference
-- @treturn boolean|nil true when it can be applied
-- @treturn[opt] string why not
function M.check(L, from, to, paise, ref)
  if type(paise) ~= "number" or paise <= 0 or floor(paise) ~= paise then
    return nil, "amount must be a positive whole number of paise"
  end
  if from == to then return nil, "cannot move money from an account to itself" end
  if type(ref) ~= "string" or ref == "" then return nil, "a movement needs a reference" end
  if L.applied[ref] then return nil, M.APPLIED end
  if L.internal[from] and M.balance(L, from) < paise then return nil, M.INSUFFICIENT end
  return true
end

--- Move `paise` from one account to another, atomically: check, then change both sides.
-- @tparam table L ledger
-- @tparam string from account debited
-- @tparam string to account credited
-- @tparam number paise a positive integer
-- @tparam string ref the movement's unique reference
-- @tparam[opt] string kind what the movement is ("add_money", "imps", "refund", ...)
-- @treturn table|nil the entry {from, to, amount, reference, kind}
-- @treturn[opt] string why it was refused (nothing changed)
function M.move(L, from, to, paise, ref, kind)
  local ok, err = M.check(L, from, to, paise, ref)
  if not ok then return nil, err end
  M.open(L, from)
  M.open(L, to)
  L.balances[from] = L.balances[from] - paise
  L.balances[to] = L.balances[to] + paise
  local e = { from = from, to = to, amount = paise, reference = ref, kind = kind }
  L.entries[#L.entries + 1] = e
  L.applied[ref] = (L.applied[ref] or 0) + 1
  return e
end

--- The sum of all balances (0 unless something bypassed `move`).
-- @tparam table L ledger
-- @treturn number paise
function M.total(L)
  local t = 0
  for _, v in pairs(L.balances) do t = t + v end
  return t
end

--- An account's balance recomputed from the entries alone (to audit `balances`).
-- @tparam table L ledger
-- @tparam string name
-- @treturn number paise
function M.replay(L, name)
  local t = 0
  for _, e in ipairs(L.entries) do
    if e.to == name then t = t + e.amount end
    if e.from == name then t = t - e.amount end
  end
  return t
end

--- A copy for the control call `ledger`: {accounts, total, entries = count, applied}.
-- @tparam table L ledger
-- @treturn table
function M.snapshot(L)
  local accounts, applied = {}, {}
  for k, v in pairs(L.balances) do accounts[k] = v end
  for k, v in pairs(L.applied) do applied[k] = v end
  return { accounts = accounts, total = M.total(L), entries = #L.entries, applied = applied }
end

return M
