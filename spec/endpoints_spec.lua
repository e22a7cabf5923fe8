-- One case per catalogue endpoint, against a recording server on 127.0.0.1: the portal's
-- request example (docs/enkash-api.md), given as params, goes out with exactly those fields and
-- JSON types, to the documented method and path, with the documented headers. Endpoints
-- without a documented example use the fields the catalogue assumes.
local enkash = require "enkash"
local catalogue = require "enkash.catalogue"
local cjson = require "cjson"
local recorder = require "helpers.recorder"
local fx = require "helpers.fixtures"

local P = "/api/v0/partner/enKashCard"

-- name -> {params, path, method, [expected body when it differs from params], [query]}
local cases = {
  ["device.generate"] = { params = fx.device, method = "POST", path = "/api/v1/partner/device-bind/generate" },
  ["device.status"] = { params = fx.device, method = "POST", path = "/api/v1/partner/device-bind/status" },
  ["wallet.create"] = { method = "POST", path = P .. "/wallet", params = cjson.decode([[
    {"companyId":"CEKQ08TRRG","cardAccountId":"CAC7975","email":"kris.singh@example.com","mobile":"6000091111",
     "title":"Mr","firstName":"Kris","lastName":"singh","documents":[{"docType":"PAN","docNo":"CPNPN9971R"}],
     "specialDate":"02-09-2001","address":"Flat 109, near Dmart","address2":"Radha Chowk","city":"Kota",
     "state":"Rajasthan","pincode":"323307","country":"India"}]]) },
  ["wallet.update"] = { method = "PATCH", path = P, params = cjson.decode(
    [[{"cardAccountId":"CAC7975","companyId":"CEKQ08TRRG","enKashCardId":"EKCWLUAADN"}]]) },
  ["wallet.vkyc_link"] = { method = "GET", path = P .. "/vkyc/link",
    params = { enKashCardId = "EKCWLUAADN", cardAccountId = "CAC7975" },
    query = "enKashCardId=EKCWLUAADN&cardAccountId=CAC7975" },
  ["wallet.vkyc_status"] = { method = "GET", path = P .. "/vkyc/status",
    params = { enKashCardId = "EKCWLUAADN", cardAccountId = "CAC7975" },
    query = "enKashCardId=EKCWLUAADN&cardAccountId=CAC7975" },
  ["wallet.details"] = { method = "POST", path = P .. "/wallet-details", params = cjson.decode(
    [[{"cardAccountId":"CAC7975","companyId":"CEKQ08TRRG","enKashCardId":"EKCWLUAADN",
       "clientReferenceId":"CLI5736JK"}]]) },
  ["wallet.balance"] = { method = "POST", path = P .. "/card-balance",
    params = { companyId = "CEKQ08TRRG", cardAccountId = "CAC7975", enKashCardId = "EKCWLUAADN" } },
  ["wallet.add_money"] = { method = "POST", path = P .. "/load-money",
    params = { companyId = "CEKQ08TRRG", cardAccountId = "CAC7975", enKashCardId = "EKCWLUAADN",
               amount = 250.5, uniqueReferenceNumber = "Ref124", remarks = "load" } },
  ["wallet.top_up"] = { method = "POST", path = P .. "/balance", params = cjson.decode([[
    {"companyId":"CEKQ08TRRG","cardAccountId":"CAC7975","createdBy":"anay","amount":10,"transactionType":"CR",
     "description":"desc","type":"ALLOCATE_FUND","transactionCode":"ALLOCATION","uniqueReferenceNumber":"Ref123",
     "remarks":"string","enKashCardId":"EKCWLUAADN","enkashCardBenefitId":"EKCBY22EXYH"}]]) },
  ["wallet.check_load_limit"] = { method = "POST", path = P .. "/validate/wallet-load-limit", params = cjson.decode(
    [[{"enKashCardId":"EKCWLUAADN","cardAccountId":"CAC7975","amountToLoad":"100"}]]) },
  ["wallet.send_otp"] = { method = "POST", path = P .. "/otp", params = cjson.decode(
    [[{"cardOtpAction":"TRANSACTION_OTP","cardAccountId":"CAC7975","enKashCardId":"EKCBEFFEC1"}]]) },
  ["wallet.transaction"] = { method = "POST", path = P .. "/transaction/all",
    params = { companyId = "CEKQ08TRRG", cardAccountId = "CAC7975", enKashCardId = "EKCWLUAADN",
               pgReferenceNumber = "Ref123" } },
  ["transfers.add_beneficiary"] = { method = "POST", path = P .. "/beneficiary",
    params = { companyId = "CEKQ08TRRG", cardAccountId = "CAC7975", enKashCardId = "EKCWLUAADN",
               beneficiaryName = "Asha Rao", accountNumber = "123456789012", ifsc = "HDFC0001234" } },
  ["transfers.search_beneficiaries"] = { method = "POST", path = P .. "/beneficiary/search",
    params = { companyId = "CEKQ08TRRG", cardAccountId = "CAC7975", enKashCardId = "EKCWLUAADN",
               beneficiaryName = "Asha" } },
  ["transfers.imps"] = { method = "POST", path = P .. "/fund-transfer",
    params = { companyId = "CEKQ08TRRG", cardAccountId = "CAC7975", enKashCardId = "EKCWLUAADN",
               beneficiaryId = "BENAB12CD34", amount = 99.99, uniqueTransactionId = "TXN_IMPS_0001" } },
  ["transfers.wallet_to_wallet"] = { method = "POST", path = P .. "/wallet-transfer",
    params = { companyId = "CEKQ08TRRG", cardAccountId = "CAC7975", enKashCardId = "EKCWLUAADN",
               toEnKashCardId = "EKCBEFFEC1", amount = 5, uniqueTransactionId = "TXN_W2W_0001" } },
  ["transfers.status"] = { method = "GET", path = P .. "/fund-transfer/status",
    params = { uniqueTransactionId = "TXN_IMPS_0001" }, query = "uniqueTransactionId=TXN_IMPS_0001" },
  ["merchant.debit"] = { method = "POST", path = P .. "/ppi-merchant-transaction", params = cjson.decode([[
    {"merchantDetailId":"MD7GWIYV3VEMQ8KQ","enkashCardId":"EKCKIE9O2R","companyId":"CEKZYD5VWX",
     "cardAccountId":"CAP1D8F","amount":20.00,"productCode":"DEFAULT","remarks":"Payment towards merchant",
     "otpMedium":"MOBILE","otp":"123456","otpReferenceId":"EK0N4ERDOS",
     "uniqueTransactionId":"TXN_RANDOX123451abce"}]]) },
  ["merchant.settlement_status"] = { method = "GET", path = P .. "/settlement-status",
    params = { merchantUniqueTxnId = "FAYDA_TXN_1234" }, query = "merchantUniqueTxnId=FAYDA_TXN_1234" },
}

-- JSON type names as a decoder sees them.
local function shape(v)
  if type(v) ~= "table" then return type(v) end
  local out = {}
  for k, x in pairs(v) do out[k] = shape(x) end
  return out
end

describe("every endpoint, against a recording server", function()
  local srv, last
  setup(function() srv, last = recorder.start() end)
  teardown(function() if srv then srv:stop() end end)

  it("has a case for every API row of the catalogue", function()
    for _, row in ipairs(catalogue.rows) do
      if row.host == "api" then assert.truthy(cases[row.name], "no case for " .. row.name) end
    end
  end)

  for name, case in pairs(cases) do
    it(name .. " sends the documented method, path, headers and body", function()
      local client = assert(enkash.new(fx.config(srv.url, { retries = 0 })))
      local group, method = catalogue.split(name)
      local payload, res = client[group][method](client[group], case.params)
      assert.is_true(payload and payload.recorded, tostring(res))
      local got = last()
      assert.equals(case.method, got.method)
      assert.equals(case.path, got.path)
      assert.equals(fx.creds.partner_id, got.headers.partnerid)
      assert.equals("Bearer rec-token-0001", got.headers.authorization)
      assert.equals("application/json", got.headers["content-type"])
      if case.method == "GET" then
        assert.equals(case.query, got.query)
        assert.equals("", got.body)
      else
        local sent = cjson.decode(got.body)
        assert.same(case.params, sent)             -- exactly those fields, same values
        assert.same(shape(case.params), shape(sent)) -- and the same JSON types
      end
      client:close()
    end)
  end

  it("writes amounts as the endpoint documents: amount a number, amountToLoad a string", function()
    local client = assert(enkash.new(fx.config(srv.url)))
    client.wallet:top_up({ amount = "100.50", enKashCardId = "EKCWLUAADN", uniqueReferenceNumber = "Ref777",
                           companyId = "CEKQ08TRRG", cardAccountId = "CAC7975" })
    assert.matches('"amount":100.50[,}]', last().body)
    client.wallet:check_load_limit({ amountToLoad = 100.5, enKashCardId = "EKCWLUAADN", cardAccountId = "CAC7975" })
    assert.matches('"amountToLoad":"100.50"', last().body)
    client:close()
  end)

  it("fills companyId and cardAccountId from config where the body documents them, and no more", function()
    local client = assert(enkash.new(fx.config(srv.url, { card_account_id = "CAC7975" })))
    client.wallet:details({ enKashCardId = "EKCWLUAADN" })
    local sent = cjson.decode(last().body)
    assert.equals(fx.creds.client_id, sent.companyId)
    assert.equals("CAC7975", sent.cardAccountId)
    client.wallet:details({ enKashCardId = "EKCWLUAADN", companyId = "CEKQ08TRRG" })
    assert.equals("CEKQ08TRRG", cjson.decode(last().body).companyId) -- the caller's value wins
    client.wallet:check_load_limit({ enKashCardId = "EKCWLUAADN", amountToLoad = "5" })
    sent = cjson.decode(last().body)
    assert.is_nil(sent.companyId) -- its documented body has no companyId
    assert.equals("CAC7975", sent.cardAccountId)
    client:close()
  end)

  it("generates a reference for a money call when none is given, and returns it", function()
    local client = assert(enkash.new(fx.config(srv.url, { card_account_id = "CAC7975" })))
    local _, res = client.wallet:top_up({ amount = 10, enKashCardId = "EKCWLUAADN" })
    local sent = cjson.decode(last().body)
    assert.matches("^ENK%x+$", res.reference)
    assert.equals(res.reference, sent.uniqueReferenceNumber)
    assert.equals("CR", sent.transactionType)
    client:close()
  end)

  it("lets routes override method, path and encryption of a row", function()
    local client = assert(enkash.new(fx.config(srv.url, { routes = {
      ["wallet.balance"] = { path = P .. "/wallet-balance", method = "PUT", encrypted = true },
    } })))
    client.wallet:balance({ enKashCardId = "EKCWLUAADN", cardAccountId = "CAC7975" })
    local got = last()
    assert.equals("PUT", got.method)
    assert.equals(P .. "/wallet-balance", got.path)
    local wrapped = cjson.decode(got.body)
    assert.is_string(wrapped.request)
    local plain = cjson.decode(enkash.crypto.decrypt(wrapped.request, fx.creds.client_secret))
    assert.equals("EKCWLUAADN", plain.enKashCardId)
    client:close()
  end)
end)
