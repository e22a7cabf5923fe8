--- Video KYC: vkyc_link opens a session, vkyc_status reports it. A session goes
-- INITIATED -> IN_PROGRESS -> APPROVED one step every `opts.vkyc_step` seconds (false: only
-- the control call `vkyc` moves it); APPROVED makes the wallet FULL_KYC. The control call
-- can also end a session REJECTED or EXPIRED.
-- Assumptions (no response or status value is documented): the status names above; a new
-- link replaces the wallet's previous session; a FULL_KYC wallet gets no new link ("KYC
-- already completed"); the link points at the reserved .invalid domain, so nothing real is
-- ever opened.
-- @module enkash.sandbox.vkyc

local books = require "enkash.sandbox.books"
local ids = require "enkash.sandbox.ids"
local steps = require "enkash.sandbox.steps"

local pairs = pairs

local M = {}

--- The time-driven progression of a session.
M.CHAIN = { "INITIATED", "IN_PROGRESS", "APPROVED" }
--- Every status a session can have.
M.STATUSES = { INITIATED = true, IN_PROGRESS = true, APPROVED = true, REJECTED = true, EXPIRED = true }
--- Where links point.
M.LINK_BASE = "https://vkyc.sandbox.invalid/s/"

local function approve(sb, session)
  if session.status == "APPROVED" then
    local w = sb.state.wallets[session.wallet]
    if w then w.kyc = "FULL_KYC" end
  end
end

local function open(sb, w)
  local s = { id = ids.lower(sb.core, 16), wallet = w.id, status = "INITIATED", since = sb.clock() }
  sb.state.vkyc[w.id] = s
  return s
end

local function link(sb, body)
  local w, msg = books.wallet(sb, body)
  if not w then return nil, msg end
  if w.kyc == "FULL_KYC" then return nil, "KYC already completed" end
  local s = open(sb, w)
  return { vkycLink = M.LINK_BASE .. s.id, vkycStatus = s.status }
end

local function status(sb, body)
  local w, msg = books.wallet(sb, body)
  if not w then return nil, msg end
  local s = sb.state.vkyc[w.id]
  if not s then return nil, "VKYC session not found" end
  return { vkycStatus = s.status, kycStatus = w.kyc }
end

--- Move every open session along by the clock.
-- @tparam table sb
function M.tick(sb)
  local now, step = sb.clock(), sb.opts.vkyc_step
  for _, s in pairs(sb.state.vkyc) do
    steps.advance(s, M.CHAIN, step, now, function(rec) approve(sb, rec) end)
  end
end

--- Handlers by catalogue row name.
M.handlers = {
  ["wallet.vkyc_link"] = link,
  ["wallet.vkyc_status"] = status,
}

-- vkyc {enKashCardId, vkycStatus}: set a wallet's session status now (opening one if none).
local function control_vkyc(sb, args)
  local w = sb.state.wallets[args.enKashCardId]
  if not w then return nil, "unknown enKashCardId" end
  if not M.STATUSES[args.vkycStatus] then
    return nil, "vkycStatus must be INITIATED, IN_PROGRESS, APPROVED, REJECTED or EXPIRED"
  end
  local s = sb.state.vkyc[w.id] or open(sb, w)
  s.status, s.since = args.vkycStatus, sb.clock()
  approve(sb, s)
  return { enKashCardId = w.id, vkycStatus = s.status, kycStatus = w.kyc }
end

--- Control calls of this module.
M.controls = {
  vkyc = { method = "POST", fn = control_vkyc },
}

return M
