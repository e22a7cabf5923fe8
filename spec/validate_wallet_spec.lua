local catalogue = require "enkash.catalogue"
local validate = require "enkash.validate"
local cjson = require "cjson"
local json = require "enkash.json"

local cfg = { client_id = "CEKQ08TRRG", card_account_id = "CAC7975" }

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

local function check(name, params)
  return validate.params(catalogue.by_name[name], params, cfg)
end

local function refused(name, params, field, pattern)
  local body, err = check(name, params)
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

  it("checks email, mobile, PAN, pincode, gender and the date", function()
    refused("wallet.create", with(create, { email = "kris@" }), "email", "email")
    refused("wallet.create", with(create, { mobile = "600009111" }), "mobile", "10%-digit")
    refused("wallet.create", with(create, { documents = { { docType = "PAN", docNo = "cpnpn9971r" } } }),
      "documents[1].docNo", "PAN")
    refused("wallet.create", with(create, { documents = { { docType = "AADHAAR", docNo = "CPNPN9971R" } } }),
      "documents[1].docType", "one of PAN")
    refused("wallet.create", with(create, { documents = {} }), "documents", "non%-empty list")
    refused("wallet.create", with(create, { pincode = "32330" }), "pincode", "6%-digit")
    refused("wallet.create", with(create, { pincode = "023307" }), "pincode")
    refused("wallet.create", with(create, { gender = "X" }), "gender", "one of M, F")
    refused("wallet.create", with(create, { specialDate = "2001-09-02" }), "specialDate", "DD%-MM%-YYYY")
    refused("wallet.create", with(create, { specialDate = "30-02-2001" }), "specialDate", "real date")
    refused("wallet.create", with(create, { specialDate = "29-02-2001" }), "specialDate")
    assert.truthy(check("wallet.create", with(create, { specialDate = "29-02-2000" })))
    refused("wallet.create", with(create, { companyId = "CEK1" }), "companyId", "company id")
  end)

  it("names the config key when a defaulted id is missing", function()
    local _, err = validate.params(catalogue.by_name["wallet.details"], { enKashCardId = "EKC1234567" }, {})
    assert.equals("cardAccountId", err.field)
    assert.matches("card_account_id", err.message)
  end)

  it("checks IFSC and account numbers", function()
    local b = { enKashCardId = "EKCWLUAADN", beneficiaryName = "Asha", accountNumber = "123456789012",
                ifsc = "HDFC0001234" }
    assert.truthy(check("transfers.add_beneficiary", b))
    refused("transfers.add_beneficiary", with(b, { ifsc = "HDFC1001234" }), "ifsc", "IFSC")
    refused("transfers.add_beneficiary", with(b, { ifsc = "hdfc0001234" }), "ifsc")
    refused("transfers.add_beneficiary", with(b, { accountNumber = "12345678" }), "accountNumber", "9 to 18")
    local err = refused("transfers.add_beneficiary", with(b, { accountNumber = "1234567890123456789" }),
      "accountNumber")
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
  end)

  it("checks enums", function()
    local t = { enKashCardId = "EKCWLUAADN", uniqueReferenceNumber = "Ref123", amount = 1 }
    refused("wallet.top_up", with(t, { transactionType = "DR" }), "transactionType", "one of CR")
    refused("wallet.send_otp", { enKashCardId = "EKCWLUAADN", cardOtpAction = "PIN" }, "cardOtpAction")
    local d = { merchantDetailId = "MD1", enkashCardId = "EKCKIE9O2R", amount = 20, otpMedium = "SMS",
                otp = "123456", otpReferenceId = "EK0N4ERDOS", uniqueTransactionId = "TXN_1234" }
    refused("merchant.debit", d, "otpMedium", "MOBILE, MFA")
    refused("merchant.debit", with(d, { otpMedium = "MOBILE", otp = "12a456" }), "otp", "digits")
    assert.truthy(check("merchant.debit", with(d, { otpMedium = "MFA" })))
  end)

  it("checks unique references: length and characters", function()
    local t = { enKashCardId = "EKCWLUAADN", amount = 1 }
    for _, good in ipairs({ "Ref123", "TXN_RANDOX123451abce", "FAYDA_TXN_1234", "a-b_c" }) do
      assert.truthy(check("wallet.top_up", with(t, { uniqueReferenceNumber = good })), good)
    end
    refused("wallet.top_up", with(t, { uniqueReferenceNumber = "R1" }), "uniqueReferenceNumber", "4 to 40")
    refused("wallet.top_up", with(t, { uniqueReferenceNumber = ("x"):rep(41) }), "uniqueReferenceNumber")
    refused("wallet.top_up", with(t, { uniqueReferenceNumber = "ref 123" }), "uniqueReferenceNumber")
    refused("merchant.settlement_status", { merchantUniqueTxnId = "a/b/c/d" }, "merchantUniqueTxnId")
  end)

  it("uses the documented spellings: enkashCardId on the merchant debit only", function()
    refused("merchant.debit", { enKashCardId = "EKCKIE9O2R" }, "enKashCardId", 'did you mean "enkashCardId"')
    refused("wallet.details", { enkashCardId = "EKCKIE9O2R" }, "enkashCardId", 'did you mean "enKashCardId"')
  end)
end)
