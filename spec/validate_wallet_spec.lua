local catalogue = require "enkash.catalogue"
local validate = require "enkash.validate"
local cjson = require "cjson"
local json = require "enkash.json"
local enkash = require "enkash"
local sandbox = require "enkash.sandbox"
local fx = require "helpers.fixtures"

local cfg = { client_id = "CEKQ08TRRG", card_account_id = "CAC7975" }
local strict_cfg = { client_id = "CEKQ08TRRG", card_account_id = "CAC7975", strict = true }

local create = {
  email = "kris@example.com", mobile = "6000091111", title = "Mr", firstName = "Kris", lastName = "singh",
  gender = "M", documents = { { docType = "PAN", docNo = "CPNPN9971R" } }, specialDate = "02-09-2001",
  address = "Flat 109", city = "Kota", state = "Rajasthan", pincode = "323307", country = "India",
}

local function with(base, changes)
  local t = {}
  for k, v in pairs(base) do t[k] = v end
  for k, v in pairs(changes) do t[k] = v end
  return t
end

local function check(name, params, c)
  return validate.params(catalogue.by_name[name], params, c or cfg)
end

local function refused(name, params, field, pattern, c)
  local body, err = check(name, params, c)
  assert.is_nil(body, field)
  assert.equals("validation", err.kind)
  assert.equals(field, err.field)
  assert.equals(name, err.endpoint)
  if pattern then assert.matches(pattern, err.message) end
  return err
end

describe("validation of wallet, transfer and merchant params", function()
  it("accepts a full create-wallet body and fills the ids from config", function()
    local body = assert(check("wallet.create", create))
    local sent = cjson.decode(json.encode(body))
    assert.equals("CEKQ08TRRG", sent.companyId)
    assert.equals("CAC7975", sent.cardAccountId)
    assert.equals("CPNPN9971R", sent.documents[1].docNo)
  end)

  it("checks the stated formats by default: email, mobile, company id, a non-empty document list", function()
    refused("wallet.create", with(create, { email = "kris@" }), "email", "email")
    refused("wallet.create", with(create, { mobile = "600009111" }), "mobile", "10%-digit")
    refused("wallet.create", with(create, { documents = {} }), "documents", "non%-empty list")
    refused("wallet.create", with(create, { documents = { x = 1 } }), "documents", "must be a list")
    refused("wallet.create", with(create, { companyId = "CEK1" }), "companyId", "company id")
    refused("wallet.create", with(create, { title = " " }), "title", "empty")
  end)

  it("checks PAN, pincode, gender, docType and the date only when strict", function()
    local strict_only = {
      { { documents = { { docType = "PAN", docNo = "cpnpn9971r" } } }, "documents[1].docNo", "PAN" },
      { { documents = { { docType = "AADHAAR", docNo = "CPNPN9971R" } } }, "documents[1].docType", "one of PAN" },
      { { pincode = "32330" }, "pincode", "6%-digit" },
      { { pincode = "023307" }, "pincode" },
      { { gender = "X" }, "gender", "one of M, F" },
      { { specialDate = "2001-09-02" }, "specialDate", "DD%-MM%-YYYY" },
      { { specialDate = "30-02-2001" }, "specialDate", "real date" },
      { { specialDate = "29-02-2001" }, "specialDate" },
    }
    for _, case in ipairs(strict_only) do
      refused("wallet.create", with(create, case[1]), case[2], case[3], strict_cfg)
      assert.truthy(check("wallet.create", with(create, case[1])), case[2])
    end
    assert.truthy(check("wallet.create", with(create, { specialDate = "29-02-2000" }), strict_cfg))
    -- an optional field left blank: sent as it is by default, refused when strict
    assert.truthy(check("wallet.create", with(create, { address2 = "" })))
    refused("wallet.create", with(create, { address2 = "" }), "address2", "empty", strict_cfg)
  end)

  it("names the config key when a defaulted id is missing", function()
    local _, err = validate.params(catalogue.by_name["wallet.details"], { enKashCardId = "EKC1234567" }, {})
    assert.equals("cardAccountId", err.field)
    assert.matches("card_account_id", err.message)
  end)

  it("checks IFSC and account numbers only when strict", function()
    local b = { enKashCardId = "EKCWLUAADN", beneficiaryName = "Asha", accountNumber = "123456789012",
                ifsc = "HDFC0001234" }
    assert.truthy(check("transfers.add_beneficiary", b, strict_cfg))
    for _, case in ipairs({
      { { ifsc = "HDFC1001234" }, "ifsc", "IFSC" }, { { ifsc = "hdfc0001234" }, "ifsc" },
      { { accountNumber = "12345678" }, "accountNumber", "9 to 18" },
    }) do
      refused("transfers.add_beneficiary", with(b, case[1]), case[2], case[3], strict_cfg)
      assert.truthy(check("transfers.add_beneficiary", with(b, case[1])), case[2])
    end
    local err = refused("transfers.add_beneficiary", with(b, { accountNumber = "1234567890123456789" }),
      "accountNumber", nil, strict_cfg)
    assert.is_nil(tostring(err):find("1234567890123456789", 1, true))
  end)

  it("checks amounts: > 0, at most 2 decimals, never rounded", function()
    local t = { enKashCardId = "EKCWLUAADN", uniqueReferenceNumber = "Ref123" }
    for _, good in ipairs({ 10, 20.5, "100.50", "0.01" }) do
      assert.truthy(check("wallet.top_up", with(t, { amount = good })), tostring(good))
    end
    refused("wallet.top_up", with(t, { amount = 0.1 + 0.2 }), "amount", "at most 2 decimals")
    refused("wallet.top_up", with(t, { amount = "10.005" }), "amount", "at most 2 decimals")
    refused("wallet.top_up", with(t, { amount = 0 }), "amount", "greater than 0")
    refused("wallet.top_up", with(t, { amount = -5 }), "amount", "greater than 0")
    refused("wallet.top_up", with(t, { amount = "ten" }), "amount")
    refused("wallet.top_up", t, "amount", "is required")
    refused("wallet.check_load_limit", { enKashCardId = "EKCWLUAADN", amountToLoad = 0.1 + 0.2 },
      "amountToLoad", "at most 2 decimals")
    refused("wallet.top_up", with(t, { amount = "0.00" }), "amount", "greater than 0")
  end)

  it("sends an amount as the caller wrote it when that is plain JSON, else in canonical form", function()
    local t = { enKashCardId = "EKCWLUAADN", uniqueReferenceNumber = "Ref123" }
    local sent = {
      ["20.00"] = '"amount":20.00,', ["20.5"] = '"amount":20.5,', ["0.50"] = '"amount":0.50,',
      ["007"] = '"amount":7,', ["00.5"] = '"amount":0.50,', [20.5] = '"amount":20.50,', [10] = '"amount":10,',
    }
    for given, text in pairs(sent) do
      local body = assert(check("wallet.top_up", with(t, { amount = given })))
      assert.truthy(json.encode(body):find(text, 1, true), tostring(given))
    end
    local body = assert(check("wallet.check_load_limit", { enKashCardId = "EKCWLUAADN", amountToLoad = "100.00" }))
    assert.truthy(json.encode(body):find('"amountToLoad":"100.00"', 1, true))
  end)

  it("takes the card search filters of Get Transaction Details", function()
    local s = { enKashCardId = "EKCWLUAADN", pgReferenceNumber = "Ref123", status = "CREATED",
                enKashTransactionIds = { "ECTRSZJ8CRJ2E" }, cardTransactionType = "DR", amountFrom = 0,
                amountTo = "100.50", pgReferenceNumbers = { "Ref123", "Ref124" },
                txnDateFrom = "2025-01-24T08:47:01.505Z", txnDateTo = "2025-01-25T08:47:01.505Z" }
    local body = assert(check("wallet.transaction", s))
    local text = json.encode(body)
    assert.truthy(text:find('"enKashTransactionIds":["ECTRSZJ8CRJ2E"]', 1, true))
    assert.truthy(text:find('"amountFrom":0,"amountTo":100.50,', 1, true))
    assert.truthy(text:find('"pgReferenceNumbers":["Ref123","Ref124"]', 1, true))
    assert.same(cjson.decode(text).txnDateTo, s.txnDateTo)
    assert.truthy(check("wallet.transaction", with(s, { pgReferenceNumbers = {} }))) -- an optional list
    refused("wallet.transaction", with(s, { pgReferenceNumbers = {} }), "pgReferenceNumbers", "non%-empty",
      strict_cfg)
    refused("wallet.transaction", with(s, { pgReferenceNumbers = { "Ref1", 7 } }), "pgReferenceNumbers[2]",
      "must be a string")
    refused("wallet.transaction", with(s, { pgReferenceNumbers = { "Ref\n1" } }), "pgReferenceNumbers[1]",
      "control")
    refused("wallet.transaction", with(s, { enKashTransactionIds = "ECT1" }), "enKashTransactionIds", "list")
    refused("wallet.transaction", with(s, { amountFrom = -1 }), "amountFrom", "greater than 0")
    refused("wallet.transaction", with(s, { amountTo = "1.005" }), "amountTo", "at most 2 decimals")
  end)

  it("checks the stated enums always, the ones only seen when strict", function()
    local t = { enKashCardId = "EKCWLUAADN", uniqueReferenceNumber = "Ref123", amount = 1 }
    refused("wallet.top_up", with(t, { transactionType = "DR" }), "transactionType", "one of CR")
    local otp = { enKashCardId = "EKCWLUAADN", cardOtpAction = "PIN" }
    assert.truthy(check("wallet.send_otp", otp))
    refused("wallet.send_otp", otp, "cardOtpAction", "one of TRANSACTION_OTP", strict_cfg)
    local d = { merchantDetailId = "MD1", enkashCardId = "EKCKIE9O2R", amount = 20, otpMedium = "SMS",
                otp = "123456", otpReferenceId = "EK0N4ERDOS", uniqueTransactionId = "TXN_1234" }
    refused("merchant.debit", d, "otpMedium", "MOBILE, MFA")
    assert.truthy(check("merchant.debit", with(d, { otpMedium = "MOBILE", otp = "12a456" })))
    refused("merchant.debit", with(d, { otpMedium = "MOBILE", otp = "12a456" }), "otp", "digits", strict_cfg)
  end)

  it("requires otp and otpReferenceId with otpMedium MOBILE, mfaCode with MFA", function()
    local d = { merchantDetailId = "MD1", enkashCardId = "EKCKIE9O2R", amount = 20, otpMedium = "MOBILE",
                otp = "123456", otpReferenceId = "EK0N4ERDOS", uniqueTransactionId = "TXN_1234" }
    assert.truthy(check("merchant.debit", d))
    refused("merchant.debit", with(d, { otp = false }), "otp", "must be a string")
    local no_otp = with(d, {})
    no_otp.otp = nil
    refused("merchant.debit", no_otp, "otp", "is required when otpMedium is MOBILE")
    local no_ref = with(d, {})
    no_ref.otpReferenceId = nil
    refused("merchant.debit", no_ref, "otpReferenceId", "is required when otpMedium is MOBILE")
    refused("merchant.debit", with(d, { mfaCode = "" }), "mfaCode", "empty", strict_cfg)
    local mfa = { merchantDetailId = "MD1", enkashCardId = "EKCKIE9O2R", amount = 20, otpMedium = "MFA",
                  mfaCode = "481516", uniqueTransactionId = "TXN_1235" }
    local body = assert(check("merchant.debit", mfa))
    assert.equals("481516", validate.value(body, "mfaCode"))
    assert.is_nil(validate.value(body, "otp"))
    local err = refused("merchant.debit", with(mfa, { mfaCode = " " }), "mfaCode", "empty")
    assert.is_nil(tostring(err):find("481516", 1, true))
    local no_code = with(mfa, {})
    no_code.mfaCode = nil
    refused("merchant.debit", no_code, "mfaCode", "is required when otpMedium is MFA")
    refused("merchant.debit", with(d, { otpMedium = "MFA" }), "mfaCode", "is required when otpMedium is MFA")
  end)

  it("checks unique references: by default non-empty, no control characters, at most 100 bytes", function()
    local t = { enKashCardId = "EKCWLUAADN", amount = 1 }
    for _, good in ipairs({ "Ref123", "TXN_RANDOX123451abce", "FAYDA_TXN_1234", "a-b_c" }) do
      assert.truthy(check("wallet.top_up", with(t, { uniqueReferenceNumber = good }), strict_cfg), good)
    end
    for _, loose in ipairs({ "R1", ("x"):rep(41), ("x"):rep(100), "ref 123", "a/b/c/d", "Ref#1", "réf-1" }) do
      assert.truthy(check("wallet.top_up", with(t, { uniqueReferenceNumber = loose })), loose)
      refused("wallet.top_up", with(t, { uniqueReferenceNumber = loose }), "uniqueReferenceNumber", "4 to 40",
        strict_cfg)
    end
    refused("wallet.top_up", with(t, { uniqueReferenceNumber = ("x"):rep(101) }), "uniqueReferenceNumber", "100 bytes")
    refused("wallet.top_up", with(t, { uniqueReferenceNumber = "Ref\t123" }), "uniqueReferenceNumber", "control")
    refused("wallet.top_up", with(t, { uniqueReferenceNumber = "" }), "uniqueReferenceNumber", "empty")
    refused("wallet.top_up", with(t, { uniqueReferenceNumber = "   " }), "uniqueReferenceNumber", "empty")
    assert.truthy(check("merchant.settlement_status", { merchantUniqueTxnId = "a/b/c/d" }))
    refused("merchant.settlement_status", { merchantUniqueTxnId = "a/b/c/d" }, "merchantUniqueTxnId", nil,
      strict_cfg)
  end)

  it("uses the documented spellings: enkashCardId on the merchant debit only", function()
    refused("merchant.debit", { enKashCardId = "EKCKIE9O2R" }, "enKashCardId", 'did you mean "enkashCardId"')
    refused("wallet.details", { enkashCardId = "EKCKIE9O2R" }, "enkashCardId", 'did you mean "enKashCardId"')
  end)
end)

-- Every check Enkash does not state is opt-in: for each entry of validate.strict_only, a value
-- only a strict client refuses. rule -> {row, valid params, the change, the field refused}.
local debit = { merchantDetailId = "MD1", enkashCardId = "EKCKIE9O2R", amount = 20, otpMedium = "MOBILE",
                otp = "123456", otpReferenceId = "EK0N4ERDOS", uniqueTransactionId = "TXN_1234" }
local beneficiary = { enKashCardId = "EKCWLUAADN", beneficiaryName = "Asha", accountNumber = "123456789012",
                      ifsc = "HDFC0001234" }
local top_up = { enKashCardId = "EKCWLUAADN", amount = 1, uniqueReferenceNumber = "Ref123" }
local update = { enKashCardId = "EKCWLUAADN" }
local strict_cases = {
  luhn = { "device.status", fx.device, { deviceImei = "356789123456789" }, "deviceImei" },
  ip = { "device.status", fx.device, { deviceIp = "192.168.1" }, "deviceIp" },
  platform = { "device.status", fx.device, { platform = "Android" }, "platform" },
  email_length = { "wallet.update", update, { email = ("k"):rep(250) .. "@example.com" }, "email" },
  pan = { "wallet.create", create, { documents = { { docType = "PAN", docNo = "CPNPN9971" } } },
          "documents[1].docNo" },
  ifsc = { "transfers.add_beneficiary", beneficiary, { ifsc = "HDFC1001234" }, "ifsc" },
  account = { "transfers.add_beneficiary", beneficiary, { accountNumber = "12345678" }, "accountNumber" },
  pincode = { "wallet.create", create, { pincode = "3233070" }, "pincode" },
  date_ddmmyyyy = { "wallet.create", create, { specialDate = "2001-09-02" }, "specialDate" },
  reference_format = { "wallet.top_up", top_up, { uniqueReferenceNumber = "Ref 123" }, "uniqueReferenceNumber" },
  otp = { "merchant.debit", debit, { otp = "123" }, "otp" },
  blank = { "wallet.update", update, { title = "" }, "title" },
  ["enum:gender"] = { "wallet.create", create, { gender = "O" }, "gender" },
  ["enum:docType"] = { "wallet.create", create, { documents = { { docType = "AADHAAR", docNo = "CPNPN9971R" } } },
                       "documents[1].docType" },
  ["enum:cardOtpAction"] = { "wallet.send_otp", { enKashCardId = "EKCWLUAADN", cardOtpAction = "TRANSACTION_OTP" },
                             { cardOtpAction = "PIN_OTP" }, "cardOtpAction" },
}

describe("validate.strict_only: checks Enkash does not state run only with strict = true", function()
  it("has a case for every rule, and every rule a reason", function()
    for rule, reason in pairs(validate.strict_only) do
      assert.truthy(strict_cases[rule], "no case for " .. rule)
      assert.is_string(reason)
      assert.truthy(#reason > 20, rule)
    end
    for rule in pairs(strict_cases) do assert.truthy(validate.strict_only[rule], rule) end
  end)

  local rules = {}
  for rule in pairs(validate.strict_only) do rules[#rules + 1] = rule end
  table.sort(rules)
  for _, rule in ipairs(rules) do
    it(rule .. " (" .. validate.strict_only[rule] .. ")", function()
      local case = strict_cases[rule]
      local name, base, change, field = case[1], case[2], case[3], case[4]
      assert.truthy(check(name, base, strict_cfg), "the base case passes when strict")
      assert.truthy(check(name, with(base, change)), "accepted by default")
      assert.truthy(check(name, with(base, change), with(cfg, { strict = false })), "accepted with strict = false")
      refused(name, with(base, change), field, nil, strict_cfg)
    end)
  end

  it("classifies every named check and every enum of the catalogue", function()
    for name in pairs(validate.checks) do
      assert.truthy(validate.stated[name] or validate.strict_only[name], name .. " is not classified")
    end
    for _, row in ipairs(catalogue.rows) do
      local function walk(fields)
        for _, f in ipairs(fields or {}) do
          if f.enum then
            local rule = validate.enum_rule(f.name)
            assert.truthy(validate.stated[rule] or validate.strict_only[rule], rule .. " is not classified")
          end
          if f.type == "list" and not f.item.type then walk(f.item) end
        end
      end
      walk(row.fields)
    end
  end)

  it("is off in the resolved default config, and strict must be a boolean", function()
    local config = require "enkash.config"
    assert.is_false(assert(config.resolve({})).strict)
    assert.is_true(assert(config.resolve({ strict = true })).strict)
    local _, err = config.resolve({ strict = "yes" })
    assert.equals("strict", err.field)
  end)
end)

describe("merchant debit with MFA, through the in-process sandbox", function()
  local function setup()
    local sb = sandbox.new(fx.sandbox_opts)
    local client = assert(enkash.new(fx.config(nil, { transport = "sandbox", sandbox = sb,
                                                      card_account_id = fx.card_account_id })))
    local ids = fx.onboard(client, function(_, name, args) return sb:control(name, args) end)
    return client, ids
  end

  it("debits with mfaCode and no otpReferenceId; a wrong code is refused like a wrong OTP", function()
    local client, ids = setup()
    local p = assert(client.merchant:debit({ merchantDetailId = "MD7GWIYV3VEMQ8KQ", enkashCardId = ids.a,
      amount = "20.00", otpMedium = "MFA", mfaCode = fx.otp_code, uniqueTransactionId = "TXN_MFA_0001" }))
    assert.equals("SUCCESS", p.status)
    assert.equals(4980, p.otbBalance)
    local q, err = client.merchant:debit({ merchantDetailId = "MD7GWIYV3VEMQ8KQ", enkashCardId = ids.a,
      amount = 1, otpMedium = "MFA", mfaCode = "000000", uniqueTransactionId = "TXN_MFA_0002" })
    assert.is_nil(q)
    assert.matches("Invalid or expired OTP", err.message)
    client:close()
  end)
end)
