--- The sandbox's mutable state: tokens, lockouts, device bindings, the books (wallets,
-- references, loads, OTPs, beneficiaries, transfers, settlements, VKYC sessions, webhooks;
-- the ledger and partner accounts are added by enkash.sandbox.books), pending faults, the
-- request log and the counters. `reset` replaces it with a fresh one; the options survive.
-- @module enkash.sandbox.state

local pairs = pairs

local M = {}

--- How many log entries are kept (the oldest go first); the counters are never capped.
M.LOG_MAX = 1000

--- A fresh, empty state.
-- @treturn table state
function M.new()
  return {
    tokens = {},     -- access token -> {user =, expires_at =}
    refresh = {},    -- refresh token -> access token (no refresh grant is served)
    failures = {},   -- username -> consecutive bad passwords
    locked = {},     -- username -> true
    devices = {},    -- deviceId -> {status =, created =, mobileNumber =, ...}
    wallets = {},    -- enKashCardId -> wallet record (enkash.sandbox.wallet)
    mobiles = {},    -- mobile -> enKashCardId (one wallet per mobile)
    refs = {},       -- reference of any money call -> "load" | "transfer" | "merchant"
    claimed = {},    -- those references in the order used, oldest first
    reports = {},    -- reference -> {status =, amount =}: what lookups report (control `report`)
    loads = {},      -- uniqueReferenceNumber -> load record (add_money, top_up)
    otps = {},       -- otpReferenceId -> {wallet, code, expires_at, used}
    beneficiaries = {}, beneficiary_list = {}, -- beneficiaryId -> record; the same in order added
    transfers = {},  -- uniqueTransactionId -> transfer record (IMPS, wallet to wallet)
    settlements = {}, -- uniqueTransactionId of a merchant debit -> settlement record
    settling = {},   -- the settlements still moving by the clock
    vkyc = {},       -- enKashCardId -> the wallet's VKYC session
    notifications = {}, -- webhook deliveries, oldest first
    faults = {},     -- ordered list of pending faults
    log = {},        -- request log entries, oldest first
    conns = {},      -- connection id -> true (API and token requests only)
    counts = { requests = 0, token_requests = 0, api_requests = 0, control_requests = 0, connections = 0 },
  }
end

--- Append one request to the log and the counters.
-- Entries hold no header and no body: those carry secrets and personal data.
-- @tparam table st state
-- @tparam table entry {method, path, conn, status, endpoint, encrypted, fault}
function M.record(st, entry)
  local c = st.counts
  c.requests = c.requests + 1
  local ep = entry.endpoint
  if ep == "control" then
    c.control_requests = c.control_requests + 1
  else
    if ep == "auth.token" then
      c.token_requests = c.token_requests + 1
    else
      c.api_requests = c.api_requests + 1
    end
    local conn = entry.conn
    if conn ~= nil and not st.conns[conn] then
      st.conns[conn] = true
      c.connections = c.connections + 1
    end
  end
  local log = st.log
  log[#log + 1] = entry
  if #log > M.LOG_MAX then table.remove(log, 1) end
end

--- The counters, as the stats control call returns them.
-- @tparam table st state
-- @treturn table {requests, token_requests, api_requests, control_requests, connections, devices,
-- pending_faults, wallets}
function M.stats(st)
  local out = {}
  for k, v in pairs(st.counts) do out[k] = v end
  local n = 0
  for _ in pairs(st.devices) do n = n + 1 end
  out.devices = n
  n = 0
  for _ in pairs(st.faults) do n = n + 1 end
  out.pending_faults = n
  n = 0
  for _ in pairs(st.wallets) do n = n + 1 end
  out.wallets = n
  return out
end

return M
