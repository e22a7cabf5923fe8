-- Every response shape the portal shows, read by enkash.envelope: envelopes, pages, lists,
-- nulls, string failures, Spring and OAuth error bodies, Payouts codes; stable error codes;
-- exact amounts back as integer paise read from the JSON text.
local envelope = require "enkash.envelope"
local error_codes = require "enkash.error_codes"
local amounts = require "enkash.amounts"
local core = require "enkash.core"

local SECRET = "shape-secret"

local function decode(status, body)
  return envelope.decode({ status = status, headers = {}, body = body }, "wallet.transaction", "auto", SECRET)
end

local function int(n)
  return math.type == nil or math.type(n) == "integer"
end

describe("envelope shapes", function()
  it("reads the code/message envelope like response_code/response_message", function()
    local p = decode(200, '{"code":0,"message":"Success","payload":{"status":"SUCCESS"}}')
    assert.equals("SUCCESS", p.status)
    local _, e = decode(200, '{"code":1,"message":"Wallet not found","payload":"Wallet not found"}')
    assert.equals("api", e.kind)
    assert.equals("Wallet not found", e.message)
    assert.equals("not_found", e.code)
    assert.equals(1, e.response_code)
    assert.is_true(int(e.response_code) and int(e.http_status))
  end)

  it("reads a failure whose message is only in response_message (null payload)", function()
    local _, e = decode(200, '{"response_code":1,"response_message":"Invalid OTP","payload":null}')
    assert.equals("Invalid OTP", e.message)
    assert.equals("invalid_otp", e.code)
  end)

  it("keeps the message of a Spring 4xx body, masked, and names its code", function()
    local _, e = decode(400, '{"timestamp":"2026-12-02T10:00:00.000+00:00","status":400,"error":"Bad Request",'
      .. '"message":"mobile 9812345670 is invalid","path":"/api/v0/partner/enKashCard/wallet"}')
    assert.equals("http", e.kind)
    assert.equals(400, e.http_status)
    assert.matches("^HTTP 400 Bad Request: mobile ", e.message)
    assert.is_nil(e.message:find("9812345670", 1, true))
    assert.equals("invalid_request", e.code)
  end)

  it("does not read a route's 404 (no message) as a missing record", function()
    local _, e = decode(404, '{"status":404,"error":"Not Found","path":"/x"}')
    assert.equals("http", e.kind)
    assert.is_nil(e.code)
  end)

  it("reads the OAuth error_description", function()
    local _, e = decode(401, '{"error":"invalid_token","error_description":"Access token expired"}')
    assert.matches("Access token expired", e.message)
    assert.equals("unauthorized", e.code)
  end)

  for _, case in ipairs({ { 403, "APIs not enabled", "forbidden" }, { 409, "Transaction ID already exists",
    "duplicate_reference" }, { 412, "Invalid checksum", "invalid_request" }, { 422, "Invalid request format",
    "invalid_request" } }) do
    it("reads the Payouts response_code " .. case[1], function()
      local _, e = decode(200, ('{"response_code":%d,"response_message":"%s","payload":"%s"}')
        :format(case[1], case[2], case[2]))
      assert.equals("api", e.kind)
      assert.equals(case[1], e.response_code)
      assert.equals(case[3], e.code)
    end)
  end

  it("names a code from the response_code when the message says nothing known", function()
    local _, e = decode(200, '{"response_code":38,"response_message":"Try another","payload":"Try another"}')
    assert.equals("duplicate_reference", e.code)
  end)

  it("keeps code nil and the message for a failure nothing names", function()
    local _, e = decode(200, '{"response_code":1,"response_message":"Something odd","payload":"Something odd"}')
    assert.is_nil(e.code)
    assert.equals("Something odd", e.message)
  end)

  it("reads an encrypted code/message envelope", function()
    local inner = '{"code":0,"message":"Success","payload":{"amount":12.30}}'
    local p = decode(200, '{"request":"' .. core.encrypt(inner, SECRET) .. '"}')
    assert.equals(1230, p.amount_paise)
  end)

  it("refuses numbers JSON does not have (hex, NaN, Infinity) as not JSON at all", function()
    for _, body in ipairs({ '{"response_code":0x0,"payload":{}}', '{"response_code":NaN,"payload":{}}',
                            '{"response_code":0,"payload":{"amount":Infinity}}' }) do
      local p, e = decode(200, body)
      assert.is_nil(p)
      assert.equals("http", e.kind)
      assert.matches("not JSON", e.message)
    end
  end)

  it("refuses a success envelope on an HTTP error status", function()
    local _, e = decode(500, '{"response_code":0,"response_message":"Success","payload":{}}')
    assert.equals("http", e.kind)
    assert.equals(500, e.http_status)
  end)

  describe("records", function()
    it("finds records in an object, a list, a page, and none in null, [], {} or an empty page", function()
      assert.equals(1, #envelope.records({ a = 1 }))
      assert.equals(2, #envelope.records({ { a = 1 }, { a = 2 } }))
      assert.equals(3, #envelope.records({ recordsCount = 3, data = { { a = 1 }, { a = 2 }, { a = 3 } } }))
      assert.equals(0, #envelope.records(nil))
      assert.equals(0, #envelope.records({}))
      assert.equals(0, #envelope.records({ recordsCount = 0, data = {} }))
      assert.equals(0, #envelope.records("Transaction not found"))
    end)
  end)
end)

describe("error codes", function()
  local cases = {
    { "Transaction not found", "not_found" }, { "Receiving wallet not found", "not_found" },
    { "Unique reference number already exists", "duplicate_reference" },
    { "Transaction ID already exists", "duplicate_reference" },
    { "Invalid OTP", "invalid_otp" }, { "OTP has expired", "otp_expired" }, { "OTP expired", "otp_expired" },
    { "Insufficient balance in card account", "insufficient_balance" },
    { "Monthly load limit exceeded", "limit_exceeded" }, { "Velocity limit breached", "limit_exceeded" },
    { "Full KYC required for this amount", "kyc_required" }, { "T&C not accepted", "tnc_pending" },
    { "Wallet details are locked after OTP verification", "locked" }, { "Account locked", "locked" },
    { "enKashCardId is required", "invalid_request" }, { "Invalid companyId", "invalid_request" },
  }
  for _, c in ipairs(cases) do
    it(("names %q %s"):format(c[1], c[2]), function()
      assert.equals(c[2], error_codes.classify(c[1]))
    end)
  end

  it("lists every code it can give in the codes table, and the README lists every one", function()
    local readme = assert(io.open("README.md")):read("a")
    local given = {}
    for _, p in ipairs(require("enkash.assumptions").error_patterns) do given[p[1]] = true end
    for _, c in pairs(error_codes.response_codes) do given[c] = true end
    for _, c in pairs(error_codes.http_statuses) do given[c] = true end
    given.transaction_failed = true
    for c in pairs(given) do
      assert.truthy(error_codes.codes[c], "no description for " .. c)
    end
    for c in pairs(error_codes.codes) do
      assert.truthy(readme:find("`" .. c .. "`", 1, true), "README does not list " .. c)
    end
    for kind in pairs(require("enkash.errors").kinds) do
      assert.truthy(readme:find("`" .. kind .. "`", 1, true), "README does not list kind " .. kind)
    end
  end)

  it("takes config's patterns first", function()
    local cfg = { error_patterns = { { "locked", "sorry" } } }
    assert.equals("locked", error_codes.classify("Sorry, not now", nil, nil, cfg))
  end)
end)

describe("exact amounts back", function()
  local names = amounts.set({ "amount", "otbBalance", "finalAmount" })

  it("reads paise from the JSON text at any depth, numbers and strings alike", function()
    local doc = amounts.decode('{"payload":{"amount":100.10,"otbBalance":250.0,"list":[{"amount":0.07},'
      .. '{"amount":"99999999.99"}],"finalAmount":-12.5}}', names)
    local p = doc.payload
    assert.equals(10010, p.amount_paise)
    assert.equals(25000, p.otbBalance_paise)
    assert.equals(7, p.list[1].amount_paise)
    assert.equals(9999999999, p.list[2].amount_paise)
    assert.equals(-1250, p.finalAmount_paise)
    assert.is_true(int(p.amount_paise))
    assert.equals(100.1, p.amount) -- the caller's value is unchanged
  end)

  it("never rewrites text inside strings, and leaves non-exact amounts without paise", function()
    local doc, bad = amounts.decode('{"note":"x\\"amount\\":5","amount":1.234,"otbBalance":1e3}', names)
    assert.equals('x"amount":5', doc.note)
    assert.is_nil(doc.amount_paise)
    assert.is_nil(doc.otbBalance_paise)
    assert.truthy(bad.amount)
    assert.truthy(bad.otbBalance)
  end)

  it("gives no paise rather than a wrong one when one float is written two ways", function()
    local doc, bad = amounts.decode('[{"amount":0.1},{"amount":0.1000000000000000055},{"amount":0.2}]', names)
    assert.is_nil(doc[1].amount_paise)
    assert.is_nil(doc[2].amount_paise)
    assert.equals(20, doc[3].amount_paise)
    assert.matches("two ways", bad.amount)
  end)

  it("answers a million random amounts exactly, from text that floats would round", function()
    local rand, fmt, floor = math.random, string.format, math.floor
    math.randomseed(20261202)
    local parts, want = {}, {}
    local n, checked = 0, 0
    -- 1000 documents of 1000 amounts each: the same function over a million values.
    for _ = 1, 1000 do
      for i = 1, 1000 do
        -- paise from 0 to 99999999999 (₹99,99,99,999.99): 11 digits, every decimal pattern
        local paise = rand(0, 99999) * 1000000 + rand(0, 999999)
        local rupees = floor(paise / 100)
        local text = fmt("%d.%02d", rupees, paise % 100)
        local r = rand(3)
        if r == 1 and paise % 100 == 0 then text = fmt("%d", rupees)
        elseif r == 2 and paise % 10 == 0 then text = fmt("%d.%d", rupees, floor(paise % 100 / 10)) end
        parts[i] = '{"amount":' .. text .. '}'
        want[i] = paise
      end
      local doc = amounts.decode("[" .. table.concat(parts, ",") .. "]", names)
      for i = 1, 1000 do
        n = n + 1
        if doc[i].amount_paise ~= want[i] then
          error(("amount %d: %s read as %s"):format(n, parts[i], tostring(doc[i].amount_paise)))
        end
        checked = checked + 1
      end
    end
    assert.equals(1000000, checked)
    print("\n  exact amounts: 1000000 random amounts read back exactly")
  end)
end)
