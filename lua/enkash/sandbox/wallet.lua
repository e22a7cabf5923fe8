--- Wallet setup and reads: create, update, details, balance, load-limit check, and the
-- control call `wallet` that stands in for what the portal documents no endpoint for (the
-- creation OTP, T&C acceptance on Enkash's page) or what the sandbox cannot do (a KYC upgrade
-- other than through VKYC).
--
-- Assumptions (the portal shows none of these responses): a new wallet is MIN_KYC with
-- T&C not accepted and unverified; one wallet per mobile number in the whole sandbox; the
-- wallet status is always ACTIVE (the T&C guide leaves gating to the partner, so money calls
-- do not check T&C or verification); update answers the wallet's details. The details
-- lookup answers in the dialect in force (enkash.sandbox.dialect): an unknown wallet is a miss
-- there, while a wrong companyId or cardAccountId stays a failure.
-- @module enkash.sandbox.wallet

local books = require "enkash.sandbox.books"
local ledger = require "enkash.sandbox.ledger"
local limits = require "enkash.sandbox.limits"
local ids = require "enkash.sandbox.ids"
local money = require "enkash.money"
local redact = require "enkash.redact"
local dialect = require "enkash.sandbox.dialect"

local type, pairs, ipairs = type, pairs, ipairs

local M = {}

--- The refusal of a second wallet for a mobile number.
M.DUPLICATE_MOBILE = "Wallet already exists for this mobile"
--- The refusal of an update after the creation OTP was verified (docs/enkash-api.md §4.5).
M.LOCKED = "Wallet details are locked after OTP verification"

-- Profile fields kept with a wallet and changed by update (never logged).
local profile = { "email", "mobile", "title", "firstName", "lastName" }

--- The details payload of a wallet.
-- @tparam table sb
-- @tparam table w wallet record
-- @treturn table
function M.details(sb, w)
  return {
    enKashCardId = w.id, walletId = w.wallet_id, cardAccountId = w.account, companyId = sb.opts.client_id,
    kycStatus = w.kyc, latestTncVersionAccepted = w.tnc, walletStatus = "ACTIVE",
    otbBalance = books.amount(books.balance(sb, w)),
    firstName = w.firstName, lastName = w.lastName,
    maskedMobile = type(w.mobile) == "string" and #w.mobile >= 4 and redact.mobile(w.mobile) or nil,
  }
end

-- wallet.create: a MIN_KYC wallet of the given card account.
local function create(sb, body)
  local msg = books.check_ids(sb, body)
  if msg then return nil, msg end
  local st = sb.state
  local existing = st.wallets[st.mobiles[body.mobile] or ""]
  if existing then
    -- Assumption: the same person (mobile and PAN) created again is a replay and gets the
    -- wallet back, so a client that lost the first answer can ask again; anyone else is refused.
    local pan = body.documents and body.documents[1] and body.documents[1].docNo
    if pan and pan == existing.pan then
      return { enKashCardId = existing.id, cardAccountId = existing.account, walletId = existing.wallet_id,
               kycStatus = existing.kyc, latestTncVersionAccepted = existing.tnc }
    end
    return nil, M.DUPLICATE_MOBILE
  end
  local id = ids.fresh(sb.core, "EKC", 7, st.wallets)
  local w = {
    id = id, wallet_id = ids.upper(sb.core, "EKW", 9), account = body.cardAccountId,
    kyc = "MIN_KYC", tnc = false, verified = false, loads = {}, created = sb.clock(),
  }
  for _, k in ipairs(profile) do w[k] = body[k] end
  w.pan = body.documents and body.documents[1] and body.documents[1].docNo
  st.wallets[id] = w
  st.mobiles[body.mobile] = id
  ledger.open(st.ledger, books.wallet_name(id), true)
  return { enKashCardId = id, cardAccountId = w.account, walletId = w.wallet_id, kycStatus = w.kyc,
           latestTncVersionAccepted = false }
end

--- Accept the T&C of wallets older than opts.tnc_accept_delay seconds: the sandbox's stand-in
-- for the user finishing the T&C redirect flow, whose URL and return are not documented.
-- @tparam table sb
function M.tick(sb)
  local delay = sb.opts.tnc_accept_delay
  if not delay then return end
  local now = sb.clock()
  for _, w in pairs(sb.state.wallets) do
    if not w.tnc and w.created and now >= w.created + delay then w.tnc = true end
  end
end

-- wallet.update: change profile fields, only before the creation OTP was verified.
local function update(sb, body)
  local w, msg = books.wallet(sb, body)
  if not w then return nil, msg end
  if w.verified then return nil, M.LOCKED end
  local st = sb.state
  local mobile = body.mobile
  if mobile ~= nil and mobile ~= w.mobile then
    if st.mobiles[mobile] then return nil, M.DUPLICATE_MOBILE end
    st.mobiles[w.mobile] = nil
    st.mobiles[mobile] = w.id
  end
  for _, k in ipairs(profile) do
    if body[k] ~= nil then w[k] = body[k] end
  end
  return M.details(sb, w)
end

local function details(sb, body)
  local msg = books.check_ids(sb, body)
  if msg then return nil, msg end
  return dialect.lookup(sb, {
    found = (books.wallet(sb, body)), missing = "Wallet not found",
    view = function(w) return M.details(sb, w) end,
  })
end

local function balance(sb, body)
  local w, msg = books.wallet(sb, body)
  if not w then return nil, msg end
  return { enKashCardId = w.id, otbBalance = books.amount(books.balance(sb, w)), currency = "INR" }
end

-- wallet.check_load_limit: would this amount be accepted now? amountToLoad is echoed as the
-- documented string.
local function check_load_limit(sb, body)
  local w, msg = books.wallet(sb, body)
  if not w then return nil, msg end
  local paise = books.paise(body.amountToLoad)
  local remaining = limits.remaining(sb, w)
  return { allowed = paise <= remaining, remainingLimit = books.amount(remaining),
           amountToLoad = money.text(paise) }
end

--- Handlers by catalogue row name.
M.handlers = {
  ["wallet.create"] = create,
  ["wallet.update"] = update,
  ["wallet.details"] = details,
  ["wallet.balance"] = balance,
  ["wallet.check_load_limit"] = check_load_limit,
}

-- wallet {enKashCardId, kycStatus?, latestTncVersionAccepted?, verified?}: set a wallet's
-- state; verified = true simulates the creation OTP (no endpoint for it is documented).
local function control_wallet(sb, args)
  local w = sb.state.wallets[args.enKashCardId]
  if not w then return nil, "unknown enKashCardId" end
  local kyc, tnc, verified = args.kycStatus, args.latestTncVersionAccepted, args.verified
  if kyc ~= nil and not sb.opts.limits[kyc] then return nil, "kycStatus must be MIN_KYC or FULL_KYC" end
  if tnc ~= nil and type(tnc) ~= "boolean" then return nil, "latestTncVersionAccepted must be a boolean" end
  if verified ~= nil and type(verified) ~= "boolean" then return nil, "verified must be a boolean" end
  for k in pairs(args) do
    if k ~= "enKashCardId" and k ~= "kycStatus" and k ~= "latestTncVersionAccepted" and k ~= "verified" then
      return nil, "unknown argument: " .. k
    end
  end
  if kyc ~= nil then w.kyc = kyc end
  if tnc ~= nil then w.tnc = tnc end
  if verified ~= nil then w.verified = verified end
  return { enKashCardId = w.id, kycStatus = w.kyc, latestTncVersionAccepted = w.tnc, verified = w.verified }
end

--- Control calls of this module.
M.controls = {
  wallet = { method = "POST", fn = control_wallet },
}

return M
