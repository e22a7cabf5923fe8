-- The sandbox's books, in-process (sb:handle with Bearer tokens from the token endpoint):
-- every Wallet endpoint's happy path and its main refusals, under Lua 5.4 and LuaJIT.
local sandbox = require "enkash.sandbox"
local catalogue = require "enkash.catalogue"
local core = require "enkash.core"
local cjson = require "cjson.safe"

local D = sandbox.defaults
local ACC = "CACSANDBOX1"
local COMPANY = D.client_id

local raw = require "helpers.raw_sandbox"
local form, token, new = raw.form, raw.token, raw.new

-- Call a catalogue row: GET rows send `params` as the query string, others as JSON.
-- Returns the decoded envelope and the raw response.
local function call(sb, name, params, o)
  o = o or {}
  local row = catalogue.by_name[name]
  local headers = { ["content-type"] = "application/json", partnerid = D.partner_id,
                    authorization = "Bearer " .. sb.bearer }
  local req = { method = row.method, path = row.path, headers = headers, body = "", conn = "c" }
  if row.method == "GET" then
    req.query = o.query or form(params)
  else
    req.body = o.body or cjson.encode(params)
  end
  local res = sb:handle(req)
  return cjson.decode(res.body), res
end

local function ok(sb, name, params)
  local env, res = call(sb, name, params)
  assert(env and env.response_code == 0, name .. ": " .. tostring(res.body))
  return env.payload, res
end

local function fail(sb, name, params)
  local env, res = call(sb, name, params)
  assert(env and env.response_code == 1, name .. " should fail: " .. tostring(res.body))
  assert.equals(env.response_message, env.payload)
  return env.payload
end

local mobiles = 0
local function create(sb, changes)
  mobiles = mobiles + 1
  local p = {
    companyId = COMPANY, cardAccountId = ACC, email = "kris@example.com",
    mobile = ("7%09d"):format(mobiles), title = "Mr", firstName = "Kris", lastName = "Singh", gender = "M",
    documents = { { docType = "PAN", docNo = "CPNPN9971R" } }, address = "Flat 109", city = "Kota",
    state = "Rajasthan", pincode = "323307", country = "India",
  }
  for k, v in pairs(changes or {}) do p[k] = v end
  return ok(sb, "wallet.create", p)
end

local function ids(w, extra)
  local p = { companyId = COMPANY, cardAccountId = w.cardAccountId or ACC, enKashCardId = w.enKashCardId }
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

local refs = 0
local function ref(prefix)
  refs = refs + 1
  return (prefix or "REF") .. "_" .. refs
end

local function balance(sb, w)
  return ok(sb, "wallet.balance", ids(w)).otbBalance
end

local function top_up(sb, w, amount, r)
  return ok(sb, "wallet.top_up", ids(w, { amount = amount, transactionType = "CR",
    uniqueReferenceNumber = r or ref("TOP") }))
end

local function ledger(sb) return sb:control("ledger") end

describe("sandbox books (in-process)", function()
  describe("wallet setup", function()
    it("creates a MIN_KYC wallet with T&C pending", function()
      local sb = new()
      local w = create(sb)
      assert.matches("^EKC[A-Z0-9]+$", w.enKashCardId)
      assert.equals(10, #w.enKashCardId)
      assert.equals(ACC, w.cardAccountId)
      assert.is_string(w.walletId)
      assert.equals("MIN_KYC", w.kycStatus)
      assert.is_false(w.latestTncVersionAccepted)
      assert.equals(1, sb:control("stats").wallets)
    end)

    it("refuses a second wallet for a mobile, bad ids and bad fields", function()
      local sb = new()
      create(sb, { mobile = "6000091111" })
      local function refuse(changes, want)
        local d = { companyId = COMPANY, cardAccountId = ACC, email = "a@b.co", mobile = "8000000001",
                    title = "Ms", firstName = "A", lastName = "B", gender = "F",
                    documents = { { docType = "PAN", docNo = "ABCDE1234F" } }, address = "x", city = "y",
                    state = "z", pincode = "560001", country = "India" }
        for k, v in pairs(changes) do d[k] = v end
        assert.equals(want, fail(sb, "wallet.create", d))
      end
      refuse({ mobile = "6000091111" }, "Wallet already exists for this mobile")
      refuse({ companyId = "CEKOTHER01" }, "Invalid companyId")
      refuse({ cardAccountId = "CACNOPE" }, "Unknown cardAccountId")
      refuse({ email = "" }, "email is required")
      refuse({ gender = { "M" } }, "gender is invalid") -- any string passes: M/F is only "e.g."
      refuse({ documents = {} }, "documents is required")
      refuse({ documents = { { docType = "PAN" } } }, "documents[1].docNo is required")
      assert.equals(1, sb:control("stats").wallets)
    end)

    it("answers details, balance and the load-limit check", function()
      local sb = new()
      local w = create(sb, { mobile = "9674603714" })
      local d = ok(sb, "wallet.details", ids(w, { clientReferenceId = "CLI1" }))
      assert.same({
        enKashCardId = w.enKashCardId, walletId = w.walletId, cardAccountId = ACC, companyId = COMPANY,
        kycStatus = "MIN_KYC", latestTncVersionAccepted = false, walletStatus = "ACTIVE", otbBalance = 0,
        firstName = "Kris", lastName = "Singh", maskedMobile = "96XXXXXX14",
      }, d)
      local b, res = ok(sb, "wallet.balance", ids(w))
      assert.same({ enKashCardId = w.enKashCardId, otbBalance = 0, currency = "INR" }, b)
      assert.matches('"otbBalance":0', res.body, 1, true)
      local l
      l, res = ok(sb, "wallet.check_load_limit", { enKashCardId = w.enKashCardId, cardAccountId = ACC,
                                                   amountToLoad = "100" })
      assert.same({ allowed = true, remainingLimit = 10000, amountToLoad = "100" }, l)
      assert.matches('"remainingLimit":10000', res.body, 1, true)
      l = ok(sb, "wallet.check_load_limit", { enKashCardId = w.enKashCardId, cardAccountId = ACC,
                                              amountToLoad = "10000.01" })
      assert.is_false(l.allowed)
      top_up(sb, w, "9999.5")
      l, res = ok(sb, "wallet.check_load_limit", { enKashCardId = w.enKashCardId, cardAccountId = ACC,
                                                   amountToLoad = "0.50" })
      assert.same({ allowed = true, remainingLimit = 0.5, amountToLoad = "0.50" }, l)
      assert.matches('"remainingLimit":0.50', res.body, 1, true)
    end)

    it("finds a wallet only under its own card account and company", function()
      local sb = new{ accounts = { CACONE = 100000, CACTWO = 100000 } }
      local w = create(sb, { cardAccountId = "CACONE" })
      assert.equals("Wallet not found", fail(sb, "wallet.details", ids(w, { cardAccountId = "CACTWO" })))
      assert.equals("Unknown cardAccountId", fail(sb, "wallet.details", ids(w, { cardAccountId = ACC })))
      assert.equals("Invalid companyId", fail(sb, "wallet.details", ids(w, { companyId = "CEKOTHER01" })))
      assert.equals("Wallet not found", fail(sb, "wallet.balance",
        { companyId = COMPANY, cardAccountId = "CACONE", enKashCardId = "EKCNOPE123" }))
    end)

    it("updates details until the creation OTP is verified, then refuses", function()
      local sb = new()
      local w = create(sb, { mobile = "9000000002" })
      create(sb, { mobile = "9000000001" })
      local d = ok(sb, "wallet.update", ids(w, { firstName = "Krishna", email = "k@example.com" }))
      assert.equals("Krishna", d.firstName)
      assert.equals("Wallet already exists for this mobile",
        fail(sb, "wallet.update", ids(w, { mobile = "9000000001" })))
      d = ok(sb, "wallet.update", ids(w, { mobile = "9111111122" }))
      assert.equals("91XXXXXX22", d.maskedMobile)
      assert.same({ enKashCardId = w.enKashCardId, kycStatus = "MIN_KYC", latestTncVersionAccepted = true,
                    verified = true },
        sb:control("wallet", { enKashCardId = w.enKashCardId, verified = true, latestTncVersionAccepted = true }))
      assert.equals("Wallet details are locked after OTP verification",
        fail(sb, "wallet.update", ids(w, { firstName = "Mallory" })))
      assert.equals("Krishna", ok(sb, "wallet.details", ids(w)).firstName)
      assert.is_true(ok(sb, "wallet.details", ids(w)).latestTncVersionAccepted)
      -- the mobile given up by the update can be used again
      create(sb, { mobile = "9000000002" })
      assert.has_error(function() sb:control("wallet", { enKashCardId = "EKCNOPE123", verified = true }) end)
      assert.has_error(function() sb:control("wallet", { enKashCardId = w.enKashCardId, kycStatus = "MAX" }) end)
    end)
  end)

  describe("loads", function()
    it("add_money credits the wallet from the payment gateway, with verbatim amounts", function()
      local sb = new()
      local w = create(sb)
      local r = ref("PG")
      local p, res = ok(sb, "wallet.add_money", ids(w, { amount = "100.50", uniqueReferenceNumber = r }))
      assert.equals(r, p.uniqueReferenceNumber)
      assert.matches("^EKT[A-Z0-9]+$", p.enkashCardTxnId)
      assert.equals("SUCCESS", p.status)
      assert.matches('"otbBalance":100.50', res.body, 1, true)
      local l = ledger(sb)
      assert.equals(10050, l.accounts["wallet:" .. w.enKashCardId])
      assert.equals(-10050, l.accounts.pg)
      assert.equals(0, l.total)
      assert.equals(1, l.applied[r])
      local t
      t, res = ok(sb, "wallet.transaction", ids(w, { pgReferenceNumber = r }))
      assert.same({ pgReferenceNumber = r, enkashCardTxnId = p.enkashCardTxnId, enKashCardId = w.enKashCardId,
                    amount = 100.5, transactionType = "CR", status = "SUCCESS", otbBalance = 100.5 }, t)
      assert.matches('"amount":100.50', res.body, 1, true)
    end)

    it("top_up debits the partner account and credits the wallet", function()
      local sb = new{ accounts = { [ACC] = 50000 } }
      local w = create(sb)
      local r = ref("TOP")
      local p = top_up(sb, w, 200, r)
      assert.equals(r, p.pgReferenceNumber)
      assert.is_string(p.enkashCardTxnId)
      assert.equals(200, p.otbBalance)
      assert.equals(30000, ledger(sb).accounts["account:" .. ACC])
      -- companyId and cardAccountId are optional on top_up: the wallet's own account pays
      ok(sb, "wallet.top_up", { enKashCardId = w.enKashCardId, amount = 1, transactionType = "CR",
                                uniqueReferenceNumber = ref() })
      assert.equals(29900, ledger(sb).accounts["account:" .. ACC])
      -- more than the partner holds
      local r2 = ref()
      assert.equals("Insufficient balance in card account",
        fail(sb, "wallet.top_up", ids(w, { amount = 300, transactionType = "CR", uniqueReferenceNumber = r2 })))
      assert.equals(29900, ledger(sb).accounts["account:" .. ACC])
      assert.equals(201, balance(sb, w))
      assert.equals("FAILED", ok(sb, "wallet.transaction", ids(w, { pgReferenceNumber = r2 })).status)
    end)

    it("refuses a duplicate reference without applying it twice", function()
      local sb = new()
      local w = create(sb)
      local r = ref()
      ok(sb, "wallet.add_money", ids(w, { amount = 10, uniqueReferenceNumber = r }))
      local msg = fail(sb, "wallet.add_money", ids(w, { amount = 10, uniqueReferenceNumber = r }))
      assert.matches("already exists", msg, 1, true)
      msg = fail(sb, "wallet.top_up", ids(w, { amount = 10, transactionType = "CR", uniqueReferenceNumber = r }))
      assert.matches("already exists", msg, 1, true)
      -- references are unique across every money call
      ok(sb, "transfers.add_beneficiary", ids(w, { beneficiaryName = "A", accountNumber = "123456789012",
                                                   ifsc = "SBIN0000001" }))
      assert.equals("Transaction ID already exists", fail(sb, "transfers.wallet_to_wallet",
        ids(w, { toEnKashCardId = create(sb).enKashCardId, amount = 1, uniqueTransactionId = r })))
      assert.equals(10, balance(sb, w))
      assert.equals(1, ledger(sb).applied[r])
    end)

    it("refuses bad amounts and answers status lookups of unknown references with not found", function()
      local sb = new()
      local w = create(sb)
      assert.equals("amount must have at most 2 decimals",
        fail(sb, "wallet.add_money", ids(w, { amount = "1.005", uniqueReferenceNumber = ref() })))
      assert.equals("amount must be greater than 0",
        fail(sb, "wallet.add_money", ids(w, { amount = 0, uniqueReferenceNumber = ref() })))
      assert.equals("uniqueReferenceNumber is invalid", -- the client's default rule: no control characters
        fail(sb, "wallet.add_money", ids(w, { amount = 1, uniqueReferenceNumber = "A\nrefund" })))
      assert.equals("Transaction not found", fail(sb, "wallet.transaction", ids(w, { pgReferenceNumber = "NOPE" })))
      local r = ref()
      ok(sb, "wallet.add_money", ids(w, { amount = 1, uniqueReferenceNumber = r }))
      local other = create(sb)
      assert.equals("Transaction not found", fail(sb, "wallet.transaction", ids(other, { pgReferenceNumber = r })))
      assert.equals(1, ledger(sb).entries - 1) -- the funding entry and this load
    end)
  end)

  describe("limits", function()
    it("enforce the balance and monthly load limits per KYC level; months roll with advance", function()
      local sb = new{ limits = { MIN_KYC = { monthly_load = 100000, max_balance = 50000 } } }
      local w = create(sb)
      ok(sb, "transfers.add_beneficiary", ids(w, { beneficiaryName = "Self", accountNumber = "000111222333",
                                                   ifsc = "HDFC0000001" }))
      local ben = ok(sb, "transfers.search_beneficiaries", ids(w)).beneficiaries[1].beneficiaryId
      local function out(amount)
        ok(sb, "transfers.imps", ids(w, { beneficiaryId = ben, amount = amount, uniqueTransactionId = ref() }))
      end
      top_up(sb, w, 500)
      local r = ref()
      assert.equals("Load limit exceeded",
        fail(sb, "wallet.add_money", ids(w, { amount = 1, uniqueReferenceNumber = r })))
      assert.equals("FAILED", ok(sb, "wallet.transaction", ids(w, { pgReferenceNumber = r })).status)
      out(500)
      top_up(sb, w, 500)
      out(500)
      -- ₹1000 loaded this month: the monthly limit now refuses even with an empty wallet
      assert.equals("Load limit exceeded", fail(sb, "wallet.top_up",
        ids(w, { amount = 1, transactionType = "CR", uniqueReferenceNumber = ref() })))
      assert.is_false(ok(sb, "wallet.check_load_limit", { enKashCardId = w.enKashCardId, cardAccountId = ACC,
                                                          amountToLoad = "1" }).allowed)
      -- a FULL_KYC wallet has the FULL_KYC limits (defaults: ₹2,00,000)
      sb:control("wallet", { enKashCardId = w.enKashCardId, kycStatus = "FULL_KYC" })
      top_up(sb, w, 1)
      sb:control("wallet", { enKashCardId = w.enKashCardId, kycStatus = "MIN_KYC" })
      out(1)
      sb:control("advance", { seconds = 32 * 86400 })
      sb.bearer = token(sb) -- the old one expired meanwhile
      top_up(sb, w, 500)
      assert.equals(500, balance(sb, w))
    end)

    it("are configurable at run time", function()
      local sb = new()
      local w = create(sb)
      local cfg = sb:control("config", { limits = { MIN_KYC = { max_balance = 100 } } })
      assert.equals(100, cfg.limits.MIN_KYC.max_balance)
      assert.equals(1000000, cfg.limits.MIN_KYC.monthly_load)
      assert.equals("Load limit exceeded", fail(sb, "wallet.top_up",
        ids(w, { amount = "1.01", transactionType = "CR", uniqueReferenceNumber = ref() })))
      top_up(sb, w, 1)
      assert.has_error(function() sb:control("config", { limits = { MIN_KYC = { max_balance = -1 } } }) end)
      assert.has_error(function() sb:control("config", { limits = { GOLD = {} } }) end)
    end)
  end)

  describe("OTP and merchant debit", function()
    local function setup(opts)
      local sb = new(opts)
      local w = create(sb)
      top_up(sb, w, 1000)
      return sb, w
    end
    local function otp(sb, w)
      return ok(sb, "wallet.send_otp", { cardOtpAction = "TRANSACTION_OTP", cardAccountId = ACC,
                                         enKashCardId = w.enKashCardId }).otpReferenceId
    end
    local function debit(w, o, extra)
      local p = { merchantDetailId = "MD7GWIYV3VEMQ8KQ", enkashCardId = w.enKashCardId, companyId = COMPANY,
                  cardAccountId = ACC, amount = 20.5, productCode = "DEFAULT", remarks = "Payment",
                  otpMedium = "MOBILE", otp = "123456", otpReferenceId = o, uniqueTransactionId = ref("TXN") }
      for k, v in pairs(extra or {}) do p[k] = v end
      return p
    end

    it("debits the wallet to the merchant with a valid OTP, once", function()
      local sb, w = setup()
      local o = otp(sb, w)
      assert.matches("^EK[A-Z0-9]+$", o)
      assert.equals(10, #o)
      local p = debit(w, o)
      local out, res = ok(sb, "merchant.debit", p)
      assert.equals(p.uniqueTransactionId, out.uniqueTransactionId)
      assert.equals("SUCCESS", out.status)
      assert.is_string(out.enkashCardTxnId)
      assert.matches('"otbBalance":979.50', res.body, 1, true)
      assert.equals(2050, ledger(sb).accounts["merchant:MD7GWIYV3VEMQ8KQ"])
      -- the same reference again: already exists (not "invalid OTP", though the OTP is used up)
      assert.matches("already exists", fail(sb, "merchant.debit", p), 1, true)
      -- the used OTP with a new reference: refused
      assert.equals("Invalid or expired OTP", fail(sb, "merchant.debit", debit(w, o)))
      assert.equals(979.5, balance(sb, w))
    end)

    it("refuses a wrong code, another wallet's OTP, an expired one, and an overdraft", function()
      local sb, w = setup{ otp_ttl = 60 }
      local other = create(sb)
      local o = otp(sb, w)
      assert.equals("Invalid or expired OTP", fail(sb, "merchant.debit", debit(w, o, { otp = "654321" })))
      assert.equals("Invalid or expired OTP", fail(sb, "merchant.debit", debit(w, otp(sb, other))))
      assert.equals("Invalid or expired OTP", fail(sb, "merchant.debit", debit(w, "EKNOPE1234")))
      assert.equals("Insufficient balance in card account",
        fail(sb, "merchant.debit", debit(w, o, { amount = 1000.01 })))
      -- neither a wrong code nor a refused debit used the OTP up
      ok(sb, "merchant.debit", debit(w, o, { amount = 1 }))
      local late = otp(sb, w)
      sb:control("advance", { seconds = 60 })
      assert.equals("Invalid or expired OTP", fail(sb, "merchant.debit", debit(w, late)))
      assert.equals(999, balance(sb, w))
    end)

    it("uses opts.otp_code", function()
      local sb, w = setup{ otp_code = "4321" }
      assert.equals("Invalid or expired OTP", fail(sb, "merchant.debit", debit(w, otp(sb, w))))
      ok(sb, "merchant.debit", debit(w, otp(sb, w), { otp = "4321" }))
    end)

    it("settles PENDING -> APPROVED -> SETTLEMENT_IN_PROCESS -> SETTLED, one step a minute", function()
      local sb, w = setup()
      local p = debit(w, otp(sb, w))
      ok(sb, "merchant.debit", p)
      local function status()
        return ok(sb, "merchant.settlement_status", { merchantUniqueTxnId = p.uniqueTransactionId })
      end
      assert.same({ merchantUniqueTxnId = p.uniqueTransactionId, status = "PENDING", amount = 20.5 }, status())
      for _, want in ipairs({ "PENDING", "PENDING", "APPROVED", "APPROVED", "SETTLEMENT_IN_PROCESS",
                              "SETTLEMENT_IN_PROCESS", "SETTLED", "SETTLED" }) do
        assert.equals(want, status().status)
        sb:control("advance", { seconds = 30 })
      end
      assert.equals("Transaction not found", fail(sb, "merchant.settlement_status", { merchantUniqueTxnId = "NOPE" }))
      assert.equals("merchantUniqueTxnId is required", fail(sb, "merchant.settlement_status", {}))
    end)

    it("moves settlements only by control with settlement_step = false; REFUND credits back once", function()
      local sb, w = setup{ settlement_step = false }
      local p = debit(w, otp(sb, w))
      ok(sb, "merchant.debit", p)
      local q = { merchantUniqueTxnId = p.uniqueTransactionId }
      sb:control("advance", { seconds = 3600 })
      assert.equals("PENDING", ok(sb, "merchant.settlement_status", q).status)
      sb:control("settlement", { merchantUniqueTxnId = p.uniqueTransactionId, status = "DISPUTED" })
      assert.equals("DISPUTED", ok(sb, "merchant.settlement_status", q).status)
      assert.equals(979.5, balance(sb, w))
      sb:control("settlement", { merchantUniqueTxnId = p.uniqueTransactionId, status = "REFUND" })
      assert.equals("REFUND", ok(sb, "merchant.settlement_status", q).status)
      assert.equals(1000, balance(sb, w))
      assert.has_error(function()
        sb:control("settlement", { merchantUniqueTxnId = p.uniqueTransactionId, status = "REFUND" })
      end)
      assert.equals(1000, balance(sb, w))
      local l = ledger(sb)
      assert.equals(0, l.accounts["merchant:MD7GWIYV3VEMQ8KQ"])
      assert.equals(1, l.applied[p.uniqueTransactionId .. "\31refund"])
      assert.has_error(function() sb:control("settlement", { merchantUniqueTxnId = "NOPE", status = "REFUND" }) end)
      assert.has_error(function()
        sb:control("settlement", { merchantUniqueTxnId = p.uniqueTransactionId, status = "LOST" })
      end)
    end)

    it("stops stepping on DISPUTED or ON_HOLD and resumes from APPROVED", function()
      local sb, w = setup()
      local p = debit(w, otp(sb, w))
      ok(sb, "merchant.debit", p)
      local q = { merchantUniqueTxnId = p.uniqueTransactionId }
      sb:control("settlement", { merchantUniqueTxnId = p.uniqueTransactionId, status = "ON_HOLD" })
      sb:control("advance", { seconds = 600 })
      assert.equals("ON_HOLD", ok(sb, "merchant.settlement_status", q).status)
      sb:control("settlement", { merchantUniqueTxnId = p.uniqueTransactionId, status = "APPROVED" })
      sb:control("advance", { seconds = 60 })
      assert.equals("SETTLEMENT_IN_PROCESS", ok(sb, "merchant.settlement_status", q).status)
    end)
  end)

  describe("VKYC", function()
    it("links, then goes INITIATED -> IN_PROGRESS -> APPROVED and makes the wallet FULL_KYC", function()
      local sb = new()
      local w = create(sb)
      local q = { enKashCardId = w.enKashCardId, cardAccountId = ACC }
      assert.equals("VKYC session not found", fail(sb, "wallet.vkyc_status", q))
      local l = ok(sb, "wallet.vkyc_link", q)
      assert.matches("^https://vkyc%.sandbox%.invalid/s/[a-z0-9]+$", l.vkycLink)
      assert.equals("INITIATED", l.vkycStatus)
      assert.same({ vkycStatus = "INITIATED", kycStatus = "MIN_KYC" }, ok(sb, "wallet.vkyc_status", q))
      sb:control("advance", { seconds = 5 })
      assert.same({ vkycStatus = "IN_PROGRESS", kycStatus = "MIN_KYC" }, ok(sb, "wallet.vkyc_status", q))
      sb:control("advance", { seconds = 5 })
      -- the upgrade shows everywhere, not only in the VKYC status
      assert.equals("FULL_KYC", ok(sb, "wallet.details", ids(w)).kycStatus)
      assert.same({ vkycStatus = "APPROVED", kycStatus = "FULL_KYC" }, ok(sb, "wallet.vkyc_status", q))
      assert.equals("KYC already completed", fail(sb, "wallet.vkyc_link", q))
    end)

    it("moves only by control with vkyc_step = false, which can reject or expire a session", function()
      local sb = new{ vkyc_step = false }
      local w = create(sb)
      local q = { enKashCardId = w.enKashCardId }
      ok(sb, "wallet.vkyc_link", q)
      sb:control("advance", { seconds = 3600 })
      assert.equals("INITIATED", ok(sb, "wallet.vkyc_status", q).vkycStatus)
      sb:control("vkyc", { enKashCardId = w.enKashCardId, vkycStatus = "REJECTED" })
      assert.same({ vkycStatus = "REJECTED", kycStatus = "MIN_KYC" }, ok(sb, "wallet.vkyc_status", q))
      ok(sb, "wallet.vkyc_link", q) -- a new session after a rejection
      sb:control("vkyc", { enKashCardId = w.enKashCardId, vkycStatus = "EXPIRED" })
      assert.equals("EXPIRED", ok(sb, "wallet.vkyc_status", q).vkycStatus)
      sb:control("vkyc", { enKashCardId = w.enKashCardId, vkycStatus = "APPROVED" })
      assert.equals("FULL_KYC", ok(sb, "wallet.vkyc_status", q).kycStatus)
      assert.has_error(function() sb:control("vkyc", { enKashCardId = w.enKashCardId, vkycStatus = "MAYBE" }) end)
    end)

    it("reads GET fields from the url-encoded query and checks them like a body", function()
      local sb = new()
      local w = create(sb)
      local env = call(sb, "wallet.vkyc_link", nil, {
        query = "enKashCardId=" .. w.enKashCardId:gsub(".", function(c) return ("%%%02X"):format(c:byte()) end)
          .. "&cardAccountId=" .. ACC })
      assert.equals(0, env.response_code)
      env = call(sb, "wallet.vkyc_status", nil, { query = "cardAccountId=" .. ACC })
      assert.equals("enKashCardId is required", env.payload)
      env = call(sb, "wallet.vkyc_status", nil, { query = "enKashCardId=" .. w.enKashCardId .. "&cardAccountId=CACX" })
      assert.equals("Unknown cardAccountId", env.payload)
      env = call(sb, "transfers.status", nil, { query = "uniqueTransactionId=A%0AB" }) -- a newline
      assert.equals("uniqueTransactionId is invalid", env.payload)
    end)
  end)

  describe("fund transfers", function()
    local function setup()
      local sb = new()
      local w = create(sb)
      top_up(sb, w, 1000)
      local b = ok(sb, "transfers.add_beneficiary", ids(w, { beneficiaryName = "Asha Rao",
        accountNumber = "123456789012", ifsc = "SBIN0000001" }))
      return sb, w, b
    end

    it("adds beneficiaries (masked, idempotent) and searches them", function()
      local sb, w, b = setup()
      assert.matches("^BEN[A-Z0-9]+$", b.beneficiaryId)
      assert.equals(11, #b.beneficiaryId)
      assert.same({ beneficiaryId = b.beneficiaryId, beneficiaryName = "Asha Rao",
                    maskedAccountNumber = "XXXXXXXX9012" }, b)
      local again = ok(sb, "transfers.add_beneficiary", ids(w, { beneficiaryName = "Asha Rao",
        accountNumber = "123456789012", ifsc = "SBIN0000001" }))
      assert.equals(b.beneficiaryId, again.beneficiaryId)
      local b2 = ok(sb, "transfers.add_beneficiary", ids(w, { beneficiaryName = "Ravi",
        accountNumber = "99887766", ifsc = "HDFC0000002" }))
      local all, res = ok(sb, "transfers.search_beneficiaries", ids(w))
      assert.equals(2, #all.beneficiaries)
      assert.is_nil(res.body:find("123456789012", 1, true))
      local found = ok(sb, "transfers.search_beneficiaries", ids(w, { beneficiaryName = "rav" })).beneficiaries
      assert.same({ { beneficiaryId = b2.beneficiaryId, beneficiaryName = "Ravi", maskedAccountNumber = "XXXX7766",
                      ifsc = "HDFC0000002" } }, found)
      assert.equals(1, #ok(sb, "transfers.search_beneficiaries", ids(w, { beneficiaryId = b.beneficiaryId }))
        .beneficiaries)
      local other = create(sb)
      local _
      _, res = ok(sb, "transfers.search_beneficiaries", ids(other))
      assert.matches('"beneficiaries":[]', res.body, 1, true)
    end)

    it("IMPS debits the wallet to the bank; the control call can reverse or fail it (credit back once)", function()
      local sb, w, b = setup()
      local r = ref("IMPS")
      local p = ok(sb, "transfers.imps", ids(w, { beneficiaryId = b.beneficiaryId, amount = "250.25",
                                                 uniqueTransactionId = r }))
      assert.same({ uniqueTransactionId = r, status = "SUCCESS", otbBalance = 749.75 }, p)
      assert.same({ uniqueTransactionId = r, status = "SUCCESS", amount = 250.25, type = "IMPS" },
        ok(sb, "transfers.status", { uniqueTransactionId = r }))
      assert.equals(25025, ledger(sb).accounts.bank)
      sb:control("transfer", { uniqueTransactionId = r, status = "PROCESSING" })
      assert.equals("PROCESSING", ok(sb, "transfers.status", { uniqueTransactionId = r }).status)
      sb:control("transfer", { uniqueTransactionId = r, status = "REVERSED" })
      assert.equals("REVERSED", ok(sb, "transfers.status", { uniqueTransactionId = r }).status)
      assert.equals(1000, balance(sb, w))
      assert.has_error(function() sb:control("transfer", { uniqueTransactionId = r, status = "FAILED" }) end)
      assert.equals(1000, balance(sb, w))
      local r2 = ref("IMPS")
      ok(sb, "transfers.imps", ids(w, { beneficiaryId = b.beneficiaryId, amount = 100, uniqueTransactionId = r2 }))
      sb:control("transfer", { uniqueTransactionId = r2, status = "FAILED" })
      assert.equals(1000, balance(sb, w))
      assert.equals(0, ledger(sb).accounts.bank)
      assert.has_error(function() sb:control("transfer", { uniqueTransactionId = "NOPE", status = "FAILED" }) end)
    end)

    it("IMPS refuses an unknown or foreign beneficiary and an overdraft (kept as FAILED)", function()
      local sb, w, b = setup()
      local other = create(sb)
      top_up(sb, other, 10)
      assert.equals("Beneficiary not found", fail(sb, "transfers.imps",
        ids(w, { beneficiaryId = "BENNOPE123", amount = 1, uniqueTransactionId = ref() })))
      assert.equals("Beneficiary not found", fail(sb, "transfers.imps",
        ids(other, { beneficiaryId = b.beneficiaryId, amount = 1, uniqueTransactionId = ref() })))
      local r = ref()
      assert.equals("Insufficient balance in card account", fail(sb, "transfers.imps",
        ids(w, { beneficiaryId = b.beneficiaryId, amount = "1000.01", uniqueTransactionId = r })))
      assert.equals("FAILED", ok(sb, "transfers.status", { uniqueTransactionId = r }).status)
      assert.matches("already exists", fail(sb, "transfers.imps",
        ids(w, { beneficiaryId = b.beneficiaryId, amount = 1, uniqueTransactionId = r })), 1, true)
      assert.has_error(function() sb:control("transfer", { uniqueTransactionId = r, status = "REVERSED" }) end)
      assert.equals(1000, balance(sb, w))
      assert.equals("Transaction not found", fail(sb, "transfers.status", { uniqueTransactionId = "NOPE" }))
    end)

    it("wallet to wallet moves money atomically within the receiver's limits", function()
      local sb, w = setup()
      local to = create(sb)
      local r = ref("W2W")
      local p = ok(sb, "transfers.wallet_to_wallet", ids(w, { toEnKashCardId = to.enKashCardId, amount = 400,
                                                              uniqueTransactionId = r }))
      assert.same({ uniqueTransactionId = r, status = "SUCCESS", otbBalance = 600 }, p)
      assert.equals(400, balance(sb, to))
      assert.same({ uniqueTransactionId = r, status = "SUCCESS", amount = 400, type = "WALLET_TO_WALLET" },
        ok(sb, "transfers.status", { uniqueTransactionId = r }))
      sb:control("config", { limits = { MIN_KYC = { max_balance = 50000 } } })
      local r2 = ref("W2W")
      assert.equals("Load limit exceeded", fail(sb, "transfers.wallet_to_wallet",
        ids(w, { toEnKashCardId = to.enKashCardId, amount = "100.01", uniqueTransactionId = r2 })))
      assert.equals(600, balance(sb, w))
      assert.equals(400, balance(sb, to))
      assert.equals("FAILED", ok(sb, "transfers.status", { uniqueTransactionId = r2 }).status)
      assert.equals("Cannot transfer to the same wallet", fail(sb, "transfers.wallet_to_wallet",
        ids(w, { toEnKashCardId = w.enKashCardId, amount = 1, uniqueTransactionId = ref() })))
      assert.equals("Receiving wallet not found", fail(sb, "transfers.wallet_to_wallet",
        ids(w, { toEnKashCardId = "EKCNOPE123", amount = 1, uniqueTransactionId = ref() })))
      sb:control("config", { limits = { MIN_KYC = { max_balance = 1000000 } } })
      assert.equals("Insufficient balance in card account", fail(sb, "transfers.wallet_to_wallet",
        ids(to, { toEnKashCardId = w.enKashCardId, amount = "400.01", uniqueTransactionId = ref() })))
      -- reversing it takes the money back from the receiver
      sb:control("transfer", { uniqueTransactionId = r, status = "REVERSED" })
      assert.equals(1000, balance(sb, w))
      assert.equals(0, balance(sb, to))
      assert.equals(0, ledger(sb).total)
    end)
  end)

  describe("faults around commit", function()
    local function setup()
      local sb = new()
      local w = create(sb)
      return sb, w
    end

    it("a plain fault answers before commit: nothing changes", function()
      local sb, w = setup()
      sb:control("fault", { endpoint = "wallet.add_money", kind = "api_error", message = "Down" })
      local r = ref()
      assert.equals("Down", fail(sb, "wallet.add_money", ids(w, { amount = 5, uniqueReferenceNumber = r })))
      assert.equals(0, balance(sb, w))
      assert.equals("Transaction not found", fail(sb, "wallet.transaction", ids(w, { pgReferenceNumber = r })))
      sb:control("fault", { endpoint = "wallet.add_money", kind = "http_status", status = 503 })
      local _, res = call(sb, "wallet.add_money", ids(w, { amount = 5, uniqueReferenceNumber = r }))
      assert.equals(503, res.status)
      assert.equals(0, balance(sb, w))
    end)

    it("after_commit = true processes the call, then answers with the fault", function()
      local sb, w = setup()
      sb:control("fault", { endpoint = "wallet.add_money", kind = "http_status", status = 502,
                            after_commit = true })
      local r = ref()
      local _, res = call(sb, "wallet.add_money", ids(w, { amount = 5, uniqueReferenceNumber = r }))
      assert.equals(502, res.status)
      assert.equals(5, balance(sb, w))
      assert.equals("SUCCESS", ok(sb, "wallet.transaction", ids(w, { pgReferenceNumber = r })).status)
      assert.matches("already exists",
        fail(sb, "wallet.add_money", ids(w, { amount = 5, uniqueReferenceNumber = r })), 1, true)
      sb:control("fault", { endpoint = "transfers.wallet_to_wallet", kind = "reset", after_commit = true })
      local to = create(sb)
      local r2 = ref()
      _, res = call(sb, "transfers.wallet_to_wallet", ids(w, { toEnKashCardId = to.enKashCardId, amount = 2,
                                                               uniqueTransactionId = r2 }))
      assert.equals("reset", res.raw)
      assert.equals(2, balance(sb, to))
      local entry = sb:control("log").entries
      entry = entry[#entry - 1]
      assert.equals("reset", entry.fault)
      assert.is_true(entry.after_commit)
      assert.has_error(function() sb:control("fault", { kind = "reset", after_commit = "yes" }) end)
    end)

    it("commit_timeout commits, then holds the real answer back (default 5 s)", function()
      local sb, w = setup()
      sb:control("fault", { endpoint = "wallet.top_up", kind = "commit_timeout" })
      local r = ref()
      local env, res = call(sb, "wallet.top_up", ids(w, { amount = 7, transactionType = "CR",
                                                         uniqueReferenceNumber = r }))
      assert.equals(5, res.delay)
      assert.equals(0, env.response_code)
      assert.equals(7, balance(sb, w))
      local _
      sb:control("fault", { endpoint = "merchant.debit", kind = "commit_timeout", delay = 2 })
      local o = ok(sb, "wallet.send_otp", { cardOtpAction = "TRANSACTION_OTP", cardAccountId = ACC,
                                            enKashCardId = w.enKashCardId }).otpReferenceId
      _, res = call(sb, "merchant.debit", { merchantDetailId = "M1", enkashCardId = w.enKashCardId,
        companyId = COMPANY, cardAccountId = ACC, amount = 3, otpMedium = "MOBILE", otp = "123456",
        otpReferenceId = o, uniqueTransactionId = "TXN_CT" })
      assert.equals(2, res.delay)
      assert.equals(4, balance(sb, w))
      assert.equals("PENDING", ok(sb, "merchant.settlement_status", { merchantUniqueTxnId = "TXN_CT" }).status)
    end)
  end)

  describe("webhooks", function()
    local webhook = require "enkash.webhook"

    it("sends a signed Payment Notify after add_money through opts.sender", function()
      local sent = {}
      local sb = new{ webhook_url = "http://127.0.0.1:9/hook", webhook_secret = "hook-secret",
                      sender = function(msg, done)
                        sent[#sent + 1] = msg
                        done{ delivered = true, attempts = 1, status = 200 }
                      end }
      local w = create(sb)
      local r = ref("PG")
      local p = ok(sb, "wallet.add_money", ids(w, { amount = "100.50", uniqueReferenceNumber = r }))
      assert.equals(1, #sent)
      local msg = sent[1]
      assert.equals("http://127.0.0.1:9/hook", msg.url)
      assert.equals("application/json", msg.headers["Content-Type"])
      assert.matches('"amount":100.50', msg.body, 1, true)
      assert.matches('"surcharge":0,', msg.body, 1, true)
      local doc = cjson.decode(msg.body)
      for _, f in ipairs({ "surcharge", "surchargeGst", "amount", "finalAmount", "paymentMode", "bankCode",
                           "bankName", "cardScheme", "currency", "status", "transactionId", "txnMsg", "txnDate",
                           "uniqueTransactionId", "maskedCardNumber", "cardHolderName", "paymentToken",
                           "bankTransactionId", "mdr", "mdrGst", "transactionAmount", "orderId", "orderStatus",
                           "transactionStatus", "checksum" }) do
        assert.is_not_nil(doc[f], f)
      end
      assert.equals(r, doc.uniqueTransactionId)
      assert.equals(p.enkashCardTxnId, doc.transactionId)
      assert.equals("SUCCESS", doc.status)
      assert.equals("INR", doc.currency)
      assert.equals("Kris Singh", doc.cardHolderName)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%+05:30$", doc.txnDate)
      assert.matches("^%x+$", doc.checksum)
      assert.equals(64, #doc.checksum)
      assert.equals(doc.checksum:lower(), doc.checksum)
      local unsigned = {}
      for k, v in pairs(doc) do if k ~= "checksum" then unsigned[k] = v end end
      assert.equals(webhook.sign(unsigned, "hook-secret"), doc.checksum)
      local n, err = webhook.parse(msg.body, msg.headers, { secrets = { "hook-secret" } })
      assert(n, tostring(err))
      assert.same({ { id = 1, event = "payment_notify", reference = r, url = "http://127.0.0.1:9/hook",
                      status = "delivered", attempts = 1, http_status = 200 } },
        sb:control("notifications").notifications)
      -- top_up goes through no payment gateway: no notification
      top_up(sb, w, 1)
      assert.equals(1, #sent)
    end)

    it("sends nothing without a webhook URL, and the control call sets one", function()
      local sent = {}
      local sb = new{ sender = function(msg, done) sent[#sent + 1] = msg; done{ delivered = true, attempts = 1 } end }
      local w = create(sb)
      ok(sb, "wallet.add_money", ids(w, { amount = 1, uniqueReferenceNumber = ref() }))
      assert.equals(0, #sent)
      assert.same({ url = "http://127.0.0.1:9/h", secret_set = true },
        sb:control("webhook", { url = "http://127.0.0.1:9/h", secret = "s2" }))
      ok(sb, "wallet.add_money", ids(w, { amount = 1, uniqueReferenceNumber = ref() }))
      assert.equals(1, #sent)
      local doc = cjson.decode(sent[1].body)
      local checksum = doc.checksum
      doc.checksum = nil
      assert.equals(webhook.sign(doc, "s2"), checksum)
      assert.has_error(function() sb:control("webhook", { url = "ftp://x" }) end)
    end)

    it("a failing sender does not fail the load", function()
      local sb = new{ webhook_url = "http://127.0.0.1:9/h", sender = function() error("boom") end }
      local w = create(sb)
      ok(sb, "wallet.add_money", ids(w, { amount = 1, uniqueReferenceNumber = ref() }))
      local n = sb:control("notifications").notifications[1]
      assert.equals("failed", n.status)
      assert.matches("boom", n.error)
    end)

    it("the nginx sender parses http URLs itself", function()
      local parse = require("enkash.sandbox.ngx_sender").parse_url
      assert.same({ "127.0.0.1", 8080, "/hook?a=1" }, { parse("http://127.0.0.1:8080/hook?a=1") })
      assert.same({ "example.test", 80, "/" }, { parse("HTTP://example.test") })
      assert.same({ "::1", 9000, "/?x" }, { parse("http://[::1]:9000?x") })
      assert.is_nil((parse("https://127.0.0.1/hook")))
      assert.is_nil((parse("http:///nohost")))
    end)

    describe("default sender, to a receiver under nginx", function()
      local nginx = require "enkash.sandbox.nginx"
      local notify = require "enkash.sandbox.notify"
      local srv, backoff
      setup(function()
        backoff = notify.BACKOFF
        notify.BACKOFF = 0.01
        local err
        srv, err = nginx.start{
          sandbox = false, http_conf = "  lua_shared_dict hooks 1m;",
          server_conf = [[
    location = /hook { content_by_lua_block {
      ngx.req.read_body()
      ngx.shared.hooks:set("body", ngx.req.get_body_data())
      ngx.shared.hooks:incr("n", 1, 0)
      ngx.say("ok")
    } }
    location = /hook/last { content_by_lua_block {
      ngx.print(ngx.shared.hooks:get("n") or 0, "\n", ngx.shared.hooks:get("body") or "")
    } }
    location = /broken { return 500; }
]] }
        assert(srv, err)
      end)
      teardown(function()
        notify.BACKOFF = backoff
        if srv then srv:stop() end
      end)

      local function last()
        local h = core.http{}
        local res = assert(h:request{ method = "GET", url = srv.url .. "/hook/last" })
        h:close()
        local n, body = res.body:match("^(%d+)\n(.*)$")
        return tonumber(n), body
      end

      it("POSTs the notification (blocking, in-process) and records its delivery", function()
        local sb = new{ webhook_url = srv.url .. "/hook" }
        local w = create(sb)
        local r = ref("PG")
        ok(sb, "wallet.add_money", ids(w, { amount = "42.10", uniqueReferenceNumber = r }))
        local n, body = last()
        assert.equals(1, n)
        local doc = cjson.decode(body)
        assert.equals(r, doc.uniqueTransactionId)
        assert.matches('"amount":42.10', body, 1, true)
        assert(webhook.parse(body, { ["content-type"] = "application/json" }, { secrets = { D.client_secret } }))
        local rec = sb:control("notifications").notifications[1]
        assert.equals("delivered", rec.status)
        assert.equals(1, rec.attempts)
        assert.equals(200, rec.http_status)
      end)

      it("retries a failing receiver, then records the failure", function()
        local sb = new{ webhook_url = srv.url .. "/broken" }
        local w = create(sb)
        ok(sb, "wallet.add_money", ids(w, { amount = 1, uniqueReferenceNumber = ref() }))
        local rec = sb:control("notifications").notifications[1]
        assert.equals("failed", rec.status)
        assert.equals(notify.ATTEMPTS, rec.attempts)
        assert.equals(500, rec.http_status)
      end)
    end)
  end)

  describe("control API", function()
    local function ctl(sb, method, name, body)
      local res = sb:handle{ method = method, path = "/_sandbox/" .. name, headers = {},
                             body = body and cjson.encode(body) or "" }
      return res, cjson.decode(res.body)
    end

    it("is off over HTTP by default and on with control = true", function()
      local sb = new()
      assert.equals(403, (ctl(sb, "GET", "ledger")).status)
      assert.equals(403, (ctl(sb, "POST", "advance", { seconds = 1 })).status)
      assert.equals(0, sb.offset)
      sb = new{ control = true }
      local w = create(sb)
      top_up(sb, w, 1)
      local res, out = ctl(sb, "GET", "ledger")
      assert.equals(200, res.status)
      assert.equals(0, out.total)
      assert.equals(100, out.accounts["wallet:" .. w.enKashCardId])
      assert.equals(2, out.entries)
      res, out = ctl(sb, "POST", "advance", { seconds = 90 })
      assert.equals(200, res.status)
      assert.equals(90, out.offset)
      res = ctl(sb, "GET", "notifications")
      assert.equals('{"notifications":[]}', res.body)
      res, out = ctl(sb, "POST", "wallet", { enKashCardId = w.enKashCardId, verified = true })
      assert.equals(200, res.status)
      assert.is_true(out.verified)
      res, out = ctl(sb, "POST", "advance", { seconds = -1 })
      assert.equals(400, res.status)
      assert.matches("seconds", out.error)
    end)

    it("reset empties the books and funds the accounts afresh; config sets account balances", function()
      local sb = new{ accounts = { CACFIX = 5000 } }
      local w = create(sb, { cardAccountId = "CACFIX" })
      top_up(sb, w, 10)
      assert.equals(4000, ledger(sb).accounts["account:CACFIX"])
      sb:control("reset")
      sb.bearer = token(sb)
      local l = ledger(sb)
      assert.equals(5000, l.accounts["account:CACFIX"])
      assert.is_nil(l.accounts["account:" .. ACC])
      assert.equals(0, sb:control("stats").wallets)
      local cfg = sb:control("config", { accounts = { CACFIX = 100, CACNEW = 700 } })
      assert.same({ CACFIX = 100, CACNEW = 700 }, cfg.accounts)
      l = ledger(sb)
      assert.equals(100, l.accounts["account:CACFIX"])
      assert.equals(700, l.accounts["account:CACNEW"])
      assert.equals(0, l.total)
      assert.is_nil(cfg.webhook_secret)
      assert.has_error(function() sb:control("config", { accounts = { CACX = 1.5 } }) end)
      assert.has_error(function() sb:control("config", { control = true }) end)
      assert.has_error(function() sb:control("config", { sender = "x" }) end)
    end)

    it("checks the new options", function()
      for _, o in ipairs({ { accounts = { [""] = 1 } }, { limits = { MIN_KYC = { daily = 1 } } }, { otp_code = "12" },
                           { otp_ttl = 0 }, { settlement_step = 0 }, { vkyc_step = "soon" },
                           { webhook_url = "mailto:x" }, { webhook_secret = "" }, { sender = 1 },
                           { control = "yes" } }) do
        assert.has_error(function() sandbox.new(o) end)
      end
      local sb = sandbox.new{ control = true, settlement_step = false, vkyc_step = 1, otp_ttl = 30 }
      assert.is_false(sb.opts.settlement_step)
      assert.equals(100000000, sandbox.new().opts.accounts[ACC])
    end)
  end)
end)
