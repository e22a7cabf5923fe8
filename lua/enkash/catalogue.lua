--- The endpoint catalogue: every Enkash endpoint as one row of data.
-- The client builds its API groups from these rows and the sandbox serves the same rows,
-- so adding an endpoint means adding a row here, not writing a function.
--
-- Row fields:
--   name        "group.method", e.g. "device.status"; the client exposes client.group:method()
--   method      HTTP method; GET rows send their fields as the query string
--   host        "api" (base_url) or "auth" (auth_url)
--   path        path appended to the host's URL
--   fields      ordered list of fields, see "Field fields" below
--   money       true when the call moves money: never blindly retried (enkash.reconcile)
--   reference   the field holding the call's unique reference; generated when left out
--   status      for money rows: how to ask whether the call took effect:
--               {endpoint = row name, params = {status field = this row's field},
--                match = record fields that may hold the reference, words = the status
--                vocabulary ("transaction" | "settlement", see assumptions.status_words),
--                amount = the record field holding the amount}
--   idempotent  true for reads and status calls: retried on transient failures
--   documented  true when the portal shows method, path and body; false rows say why in
--               `assumption` and are listed in the README's "Assumed endpoints"
--   source      where the row comes from
--
-- Field fields: name (exactly as documented, typos included), type ("string" | "amount" |
-- "list"), required, required_when (required only when other fields have these values:
-- {otpMedium = "MOBILE"}), check (a validator in enkash.validate), enum (allowed values),
-- default (a config key whose value fills the field when the caller leaves it out),
-- value (a fixed default), as ("number" | "string": how an amount is written), zero (an
-- amount that may be 0: a search bound), item (the fields of each element of a list of
-- objects, or one field, {type = "string"}, for a list of plain values).
-- Whether a check or an enum runs by default is enkash.validate's (`strict_only`).
--
-- example: the portal's request example, as params, on the rows whose page shows one. It
-- goes out verbatim with the default config (spec/examples_verbatim_spec.lua). A Lua number
-- cannot keep how it was written, so an amount written 20.00 is given as the string "20.00"
-- (it still goes out as the JSON number 20.00 when the field is `as = "number"`).
-- @module enkash.catalogue

local statuses = require "enkash.statuses"

local M = {}

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- Field builders: one line per documented field below.
local function str(name, check, extra)
  local f = extra and copy(extra) or {}
  f.name, f.type, f.check = name, "string", check or "nonempty"
  return f
end
local function req(f) f.required = true; return f end
local function company()
  return { name = "companyId", type = "string", check = "company_id", default = "client_id" }
end
local function account()
  return { name = "cardAccountId", type = "string", check = "nonempty", default = "card_account_id" }
end
local function card(name) return req(str(name or "enKashCardId")) end
local function amount(name, as) return req({ name = name, type = "amount", as = as }) end
-- An optional amount bound of a search: a JSON number, 0 allowed (the card example's 0).
local function bound(name) return { name = name, type = "amount", as = "number", zero = true } end
local function ref(name) return { name = name, type = "string", check = "reference" } end
-- A list of strings (a search filter), each checked by `check`.
local function strs(name, check)
  return { name = name, type = "list", item = { type = "string", check = check or "nonempty" } }
end
local function enum(name, values, extra)
  local f = str(name, nil, extra)
  f.enum = values
  return f
end

-- The ten documented device fields, shared by generate and status (docs/enkash-api.md §4.2).
local device_fields = {
  req(str("deviceId")), req(str("appVersion")), req(str("osVersion")), req(str("model")),
  req(str("manufracture")), -- sic, as documented
  req(str("platform", "platform")), req(str("simProvider")), req(str("mobileNumber", "mobile")),
  req(str("deviceIp", "ip")), req(str("deviceImei", "imei")),
}

local P = "/api/v0/partner/enKashCard"

-- Balance loads are credits only: the debit value of the domain is refused on them.
local CREDIT = statuses.transaction_type.CR

-- The record fields that may carry a money call's reference in a status answer, for
-- enkash.reconcile: a record matches when one of them equals the call's reference. Loads: the
-- Rewards guide says "the pgReferenceNumber in the response matches your
-- uniqueReferenceNumber" (https://docs.enkash.com/doc-1039425); the card lookup filters by
-- pgReferenceNumbers (https://docs.enkash.com/api-13551023). Transfers and settlements: the
-- reference as sent (assumed).
local LOAD_MATCH = { "pgReferenceNumber", "uniqueReferenceNumber", "uniqueReferenceNum" }
local TRANSFER_MATCH = { "uniqueTransactionId" }
local SETTLEMENT_MATCH = { "merchantUniqueTxnId", "uniqueTransactionId" }

-- How each kind of money row asks whether it took effect (the row's `status`), written once.
-- A wallet load is looked up among the wallet's transactions by its reference.
local LOAD_STATUS = {
  endpoint = "wallet.transaction", params = {
    companyId = "companyId", cardAccountId = "cardAccountId", enKashCardId = "enKashCardId",
    pgReferenceNumber = "uniqueReferenceNumber",
  }, match = LOAD_MATCH, words = "transaction", amount = "amount",
}
local TRANSFER_STATUS = {
  endpoint = "transfers.status", params = { uniqueTransactionId = "uniqueTransactionId" },
  match = TRANSFER_MATCH, words = "transaction", amount = "amount",
}

--- All rows, in the portal's order (V5 navigation).
M.rows = {
  {
    name = "auth.token", method = "POST", host = "auth", path = "", form = true, documented = true,
    source = "docs/enkash-api.md §4.3, https://docs.enkash.com/api-19199701",
  },
  -- Device Binding
  {
    name = "device.generate", method = "POST", host = "api",
    path = "/api/v1/partner/device-bind/generate",
    fields = device_fields, documented = false,
    assumption = "only the navigation entry of Generate Device Binding exists; the path follows "
      .. "its documented sibling /api/v1/partner/device-bind/status, the body reuses its fields",
    source = "docs/enkash-api.md §4.1, https://docs.enkash.com/api-27571417",
  },
  {
    name = "device.status", method = "POST", host = "api", path = "/api/v1/partner/device-bind/status",
    fields = device_fields, documented = true, idempotent = true,
    example = { -- the seed page's, IMEI included (its Luhn digit is wrong: checked only when strict)
      deviceId = "0D5249C7-5D42-48AC-A8C2-79EE90D2560D", appVersion = "6.2", osVersion = "Android 14",
      model = "Pixel 7", manufracture = "Google", platform = "android", simProvider = "airtel",
      mobileNumber = "9674603714", deviceIp = "192.168.1.10", deviceImei = "356789123456789",
    },
    source = "docs/enkash-api.md §4.2, https://docs.enkash.com/api-27571417",
  },
  -- Wallet Setup
  {
    name = "wallet.create", method = "POST", host = "api", path = P .. "/wallet",
    fields = {
      req(company()), req(account()), req(str("email", "email")), req(str("mobile", "mobile")),
      req(str("title")), req(str("firstName")), req(str("lastName")),
      enum("gender", statuses.values("gender")), -- required in V1's table, absent from V2's example
      req({ name = "documents", type = "list", item = {
        req(enum("docType", statuses.values("doc_type"))), req(str("docNo", "pan")),
      } }),
      str("specialDate", "date_ddmmyyyy"),
      req(str("address")), str("address2"), req(str("city")), req(str("state")),
      req(str("pincode", "pincode")), req(str("country")),
    },
    example = { -- V2 "Create Wallet (with Full Details)"
      companyId = "CEKQ08TRRG", cardAccountId = "CAC7975",
      email = "kris.singh@example.com", -- elided ("…") in the stored page: a placeholder
      mobile = "6000091111", title = "Mr", firstName = "Kris", lastName = "singh",
      documents = { { docType = "PAN", docNo = "CPNPN9971R" } }, specialDate = "02-09-2001",
      address = "Flat 109, near Dmart", address2 = "Radha Chowk", city = "Kota", state = "Rajasthan",
      pincode = "323307", country = "India",
    },
    documented = false,
    assumption = "the V3+ Create Wallet page was not stored; path and body are the V2 "
      .. "\"Create Wallet (with Full Details)\" page's",
    source = "docs/enkash-api.md §4.4, https://docs.enkash.com/api-19199846",
  },
  {
    name = "wallet.update", method = "PATCH", host = "api", path = P,
    fields = {
      req(account()), req(company()), card(),
      str("email", "email"), str("mobile", "mobile"), str("title"), str("firstName"), str("lastName"),
    },
    example = { cardAccountId = "CAC7975", companyId = "CEKQ08TRRG", enKashCardId = "EKCWLUAADN" },
    documented = true,
    assumption = "the example shows only the three ids; the profile fields are the ones the "
      .. "description names (name, email, mobile), spelt as in Create Wallet",
    source = "docs/enkash-api.md §4.5, https://docs.enkash.com/api-19655127",
  },
  {
    name = "wallet.vkyc_link", method = "GET", host = "api", path = P .. "/vkyc/link",
    fields = { card(), account() },
    documented = false,
    assumption = "method and path are documented, the query parameter names are cut off: "
      .. "enKashCardId and cardAccountId, as in every other wallet call",
    source = "docs/enkash-api.md §4.6, https://docs.enkash.com/api-19202037",
  },
  {
    name = "wallet.vkyc_status", method = "GET", host = "api", path = P .. "/vkyc/status",
    fields = { card(), account() }, idempotent = true,
    documented = false,
    assumption = "only the navigation entry (GET) exists; the path is the link's sibling",
    source = "docs/enkash-api.md §4.7",
  },
  {
    name = "wallet.details", method = "POST", host = "api", path = P .. "/wallet-details",
    fields = { req(account()), req(company()), card(), str("clientReferenceId") },
    example = { cardAccountId = "CAC7975", companyId = "CEKQ08TRRG", enKashCardId = "EKCWLUAADN",
                clientReferenceId = "CLI5736JK" },
    documented = true, idempotent = true,
    source = "docs/enkash-api.md §4.14, https://docs.enkash.com/api-19200344",
  },
  {
    name = "wallet.balance", method = "POST", host = "api", path = P .. "/card-balance",
    fields = { req(company()), req(account()), card() }, idempotent = true,
    documented = false,
    assumption = "only the navigation entry exists; the path is the one a third-party client "
      .. "uses (weak evidence), the body the wallet's three ids",
    source = "docs/enkash-api.md §4.13, §8",
  },
  -- Wallet Management
  {
    name = "wallet.add_money", method = "POST", host = "api", path = P .. "/load-money",
    fields = {
      req(company()), req(account()), card(), amount("amount", "number"),
      req(ref("uniqueReferenceNumber")), str("remarks"),
    },
    money = true, reference = "uniqueReferenceNumber",
    status = LOAD_STATUS,
    documented = false,
    assumption = "only the navigation entry exists (old name Load Money Topup); the body follows "
      .. "Wallet Top-Up's conventions: the wallet's ids, amount, uniqueReferenceNumber",
    source = "docs/enkash-api.md §4.8",
  },
  {
    name = "wallet.top_up", method = "POST", host = "api", path = P .. "/balance",
    fields = {
      company(), account(), str("createdBy"), amount("amount", "number"),
      req(enum("transactionType", { CREDIT }, { value = CREDIT })), str("description"), str("type"),
      str("transactionCode"), req(ref("uniqueReferenceNumber")), str("remarks"), card(),
      str("enkashCardBenefitId"),
    },
    example = {
      companyId = "CEKQ08TRRG", cardAccountId = "CAC7975", createdBy = "anay", amount = 10,
      transactionType = "CR", description = "desc", type = "ALLOCATE_FUND", transactionCode = "ALLOCATION",
      uniqueReferenceNumber = "Ref123", remarks = "string", enKashCardId = "EKCWLUAADN",
      enkashCardBenefitId = "EKCBY22EXYH",
    },
    money = true, reference = "uniqueReferenceNumber",
    status = LOAD_STATUS,
    documented = true,
    source = "docs/enkash-api.md §4.9, https://docs.enkash.com/api-19838579",
  },
  {
    name = "wallet.check_load_limit", method = "POST", host = "api",
    path = P .. "/validate/wallet-load-limit",
    fields = { card(), req(account()), amount("amountToLoad", "string") },
    example = { enKashCardId = "EKCWLUAADN", cardAccountId = "CAC7975", amountToLoad = "100" },
    documented = true, idempotent = true,
    source = "docs/enkash-api.md §4.10, https://docs.enkash.com/api-24477800",
  },
  {
    name = "wallet.send_otp", method = "POST", host = "api", path = P .. "/otp",
    fields = { req(enum("cardOtpAction", statuses.values("card_otp_action"))), req(account()), card() },
    example = { cardOtpAction = "TRANSACTION_OTP", cardAccountId = "CAC7975", enKashCardId = "EKCBEFFEC1" },
    documented = true,
    source = "docs/enkash-api.md §4.11, https://docs.enkash.com/api-19201679",
  },
  {
    name = "wallet.transaction", method = "POST", host = "api", path = P .. "/transaction/all",
    -- The search filters follow the card page's example order. Its example is an Apidog
    -- schema skeleton ("companyId": "string", amounts 0) cut off in the stored copy
    -- ("txnDateTo": "2025-0…"), so it is not kept as an `example`: nothing complete to send.
    fields = {
      req(company()), req(account()), card(), str("status"), strs("enKashTransactionIds"),
      str("cardTransactionType"), bound("amountFrom"), bound("amountTo"),
      strs("pgReferenceNumbers", "reference"), req(ref("pgReferenceNumber")), str("txnDateFrom"),
      str("txnDateTo"),
    },
    idempotent = true, documented = false,
    assumption = "the wallet page was not stored; path and body are the Prepaid Card "
      .. "Get Transaction Details page's (same platform, same base path)",
    source = "docs/enkash-api.md §4.12, https://docs.enkash.com/api-13551023",
  },
  -- Fund Transfers
  {
    name = "transfers.add_beneficiary", method = "POST", host = "api", path = P .. "/beneficiary",
    fields = {
      req(company()), req(account()), card(), req(str("beneficiaryName")),
      req(str("accountNumber", "account")), req(str("ifsc", "ifsc")), str("mobile", "mobile"),
      str("email", "email"),
    },
    documented = false,
    assumption = "only the navigation entry exists; the body holds the wallet's ids and the "
      .. "bank details an IMPS transfer needs",
    source = "docs/enkash-api.md §4.15",
  },
  {
    name = "transfers.search_beneficiaries", method = "POST", host = "api",
    path = P .. "/beneficiary/search",
    fields = { req(company()), req(account()), card(), str("beneficiaryName"), str("beneficiaryId") },
    idempotent = true, documented = false,
    assumption = "only the navigation entry exists",
    source = "docs/enkash-api.md §4.15",
  },
  {
    name = "transfers.imps", method = "POST", host = "api", path = P .. "/fund-transfer",
    fields = {
      req(company()), req(account()), card(), req(str("beneficiaryId")), amount("amount", "number"),
      req(ref("uniqueTransactionId")), str("remarks"),
    },
    money = true, reference = "uniqueTransactionId",
    status = TRANSFER_STATUS,
    documented = false,
    assumption = "only the navigation entry exists (old name Fund Transfer); the reference is "
      .. "uniqueTransactionId, as on the merchant debit",
    source = "docs/enkash-api.md §4.15",
  },
  {
    name = "transfers.wallet_to_wallet", method = "POST", host = "api", path = P .. "/wallet-transfer",
    fields = {
      req(company()), req(account()), card(), card("toEnKashCardId"), amount("amount", "number"),
      req(ref("uniqueTransactionId")), str("remarks"),
    },
    money = true, reference = "uniqueTransactionId",
    status = TRANSFER_STATUS,
    documented = false,
    assumption = "only the navigation entry exists",
    source = "docs/enkash-api.md §4.15",
  },
  {
    name = "transfers.status", method = "GET", host = "api", path = P .. "/fund-transfer/status",
    fields = { req(ref("uniqueTransactionId")) },
    idempotent = true, documented = false,
    assumption = "only the navigation entry exists (old name Enquire Fund Transfer Status, GET)",
    source = "docs/enkash-api.md §4.15",
  },
  -- Merchant Payments
  {
    name = "merchant.debit", method = "POST", host = "api", path = P .. "/ppi-merchant-transaction",
    fields = {
      req(str("merchantDetailId")), card("enkashCardId"), -- lower-case k here, as documented
      req(company()), req(account()), amount("amount", "number"), str("productCode"), str("remarks"),
      req(enum("otpMedium", statuses.values("otp_medium"))),
      str("otp", "otp", { required_when = { otpMedium = "MOBILE" } }),
      str("otpReferenceId", nil, { required_when = { otpMedium = "MOBILE" } }),
      str("mfaCode", nil, { required_when = { otpMedium = "MFA" } }),
      req(ref("uniqueTransactionId")),
    },
    example = {
      merchantDetailId = "MD7GWIYV3VEMQ8KQ", enkashCardId = "EKCKIE9O2R", companyId = "CEKZYD5VWX",
      cardAccountId = "CAP1D8F",
      amount = "20.00", -- the portal's JSON number 20.00; a Lua number would lose its ".00"
      productCode = "DEFAULT", remarks = "Payment towards merchant", otpMedium = "MOBILE", otp = "123456",
      otpReferenceId = "EK0N4ERDOS", uniqueTransactionId = "TXN_RANDOX123451abce",
    },
    assumption = "mfaCode, required when otpMedium is MFA, is the Prepaid Card pages' field "
      .. "(https://docs.enkash.com/api-13438389); the wallet debit's page shows only MOBILE, "
      .. "with otp and otpReferenceId",
    money = true, reference = "uniqueTransactionId",
    status = { endpoint = "merchant.settlement_status",
               params = { merchantUniqueTxnId = "uniqueTransactionId" },
               match = SETTLEMENT_MATCH, words = "settlement", amount = "amount" },
    documented = true,
    source = "docs/enkash-api.md §4.16, https://docs.enkash.com/api-20879440",
  },
  {
    name = "merchant.settlement_status", method = "GET", host = "api", path = P .. "/settlement-status",
    fields = { req(ref("merchantUniqueTxnId")) },
    example = { merchantUniqueTxnId = "FAYDA_TXN_1234" }, -- the curl sample's query string
    idempotent = true, documented = true,
    source = "docs/enkash-api.md §4.17, https://docs.enkash.com/api-24040936",
  },
}

--- Money fields of responses, at any depth: each also comes back as integer paise,
-- `<name>_paise`, read from the JSON text (enkash.amounts). `amount` and `otbBalance`: the
-- Rewards credit example (https://docs.enkash.com/doc-1039425) and the card pages; the
-- webhook template's amounts (docs/enkash-api.md §4.19); `amountToLoad`, `amountFrom`/`amountTo`:
-- request fields Enkash may echo; `principalAmount`, `balance`: a card webhook (§8);
-- `remainingLimit`, `availableBalance`: assumed names of limit and balance answers.
M.response_money = {
  "amount", "otbBalance", "finalAmount", "transactionAmount", "surcharge", "surchargeGst", "mdr",
  "mdrGst", "amountToLoad", "amountFrom", "amountTo", "principalAmount", "balance",
  "remainingLimit", "availableBalance",
}

--- Rows indexed by name.
M.by_name = {}
-- Method names that occur in one group only ("generate"), usable as `routes` keys alone.
local short_count = {}
for _, row in ipairs(M.rows) do
  M.by_name[row.name] = row
  local short = row.name:match("%.(.+)$")
  short_count[short] = (short_count[short] or 0) + 1
end

--- Split a row name into its group and method ("device.status" -> "device", "status").
-- @tparam string name
-- @treturn string group
-- @treturn string method
function M.split(name)
  return name:match("^([%w_]+)%.([%w_]+)$")
end

--- The row for `name`, with any `routes` override from config applied.
-- An override may change method, path, host or encrypted; the result is a fresh table.
-- @tparam string name row name
-- @tparam[opt] table routes config.routes, keyed by row name, or by method name where that
-- is unique in the catalogue ("generate", not "status")
-- @treturn table|nil row
function M.resolve(name, routes)
  local row = M.by_name[name]
  if not row then return nil end
  local short = select(2, M.split(name))
  local over = routes and (routes[name] or (short_count[short] == 1 and routes[short]) or nil)
  if not over then return row end
  local c = copy(row)
  for _, k in ipairs({ "method", "path", "host", "encrypted" }) do
    if over[k] ~= nil then c[k] = over[k] end
  end
  c.overridden = true
  return c
end

return M
