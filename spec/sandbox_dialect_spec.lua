-- The sandbox's response dialects (enkash.sandbox.dialect) and the control call `report`, driven
-- with raw HTTP-shaped requests in-process (sb:handle), under Lua 5.4 and LuaJIT; one check
-- over nginx that `config` changes the answer on the wire.
local sandbox = require "enkash.sandbox"
local dialect = require "enkash.sandbox.dialect"
local catalogue = require "enkash.catalogue"
local core = require "enkash.core"
local cjson = require "cjson.safe"

local D = sandbox.defaults
local USER, PASS = next(D.users)
local ACC = "CACSANDBOX1"
local COMPANY = D.client_id
local STAMP = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%d%+00:00$"

local raw = require "helpers.raw_sandbox"
local form, new = raw.form, raw.new

-- Call a catalogue row with raw HTTP: GET rows send `params` as the query string, the others
-- as JSON (o.encrypt: inside the encrypted envelope; o.partner: the partnerId header).
-- Returns the response and its decoded body (nil when it is not JSON).
local function call(sb, name, params, o)
  o = o or {}
  local row = catalogue.by_name[name]
  local headers = { ["content-type"] = "application/json", partnerid = o.partner or D.partner_id,
                    authorization = "Bearer " .. sb.bearer }
  local req = { method = row.method, path = row.path, headers = headers, body = "", conn = "c" }
  if row.method == "GET" then
    req.query = form(params)
  else
    req.body = cjson.encode(params)
    if o.encrypt then req.body = cjson.encode({ request = core.encrypt(req.body, D.client_secret) }) end
  end
  local res = sb:handle(req)
  return res, cjson.decode(res.body)
end

-- The payload of a call that must succeed, in either envelope.
local function ok(sb, name, params)
  local res, env = call(sb, name, params)
  assert(res.status == 200 and env and (env.response_code == 0 or env.code == 0), name .. ": " .. res.body)
  return env.payload
end

local mobiles = 0
local function create(sb)
  mobiles = mobiles + 1
  return ok(sb, "wallet.create", {
    companyId = COMPANY, cardAccountId = ACC, email = "kris@example.com", mobile = ("7%09d"):format(mobiles),
    title = "Mr", firstName = "Kris", lastName = "Singh", gender = "M",
    documents = { { docType = "PAN", docNo = "CPNPN9971R" } }, address = "Flat 109", city = "Kota",
    state = "Rajasthan", pincode = "323307", country = "India",
  })
end

local function ids(w, extra)
  local p = { companyId = COMPANY, cardAccountId = ACC, enKashCardId = w.enKashCardId }
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

local function top_up(sb, w, amount, ref)
  return call(sb, "wallet.top_up", ids(w, { amount = amount, transactionType = "CR", uniqueReferenceNumber = ref }))
end

local function txn(sb, w, ref)
  return call(sb, "wallet.transaction", ids(w, { pgReferenceNumber = ref }))
end

local function beneficiary(sb, w)
  return ok(sb, "transfers.add_beneficiary", ids(w, { beneficiaryName = "Asha Rao", accountNumber = "123456789012",
    ifsc = "HDFC0000123" })).beneficiaryId
end

local function imps(sb, w, ben, amount, ref)
  return call(sb, "transfers.imps", ids(w, { beneficiaryId = ben, amount = amount, uniqueTransactionId = ref }))
end

local function tstatus(sb, ref)
  return call(sb, "transfers.status", { uniqueTransactionId = ref })
end

local function debit(sb, w, amount, ref)
  local o = ok(sb, "wallet.send_otp", { cardOtpAction = "TRANSACTION_OTP", cardAccountId = ACC,
                                        enKashCardId = w.enKashCardId }).otpReferenceId
  return call(sb, "merchant.debit", { merchantDetailId = "M1", enkashCardId = w.enKashCardId, companyId = COMPANY,
    cardAccountId = ACC, amount = amount, otpMedium = "MOBILE", otp = "123456", otpReferenceId = o,
    uniqueTransactionId = ref })
end

local function settlement(sb, ref)
  return call(sb, "merchant.settlement_status", { merchantUniqueTxnId = ref })
end

-- The statuses of a list or page of records, by reference field.
local function statuses(list, field)
  local out = {}
  for i, r in ipairs(list) do out[i] = r[field] .. "=" .. r.status end
  return table.concat(out, " ")
end

describe("sandbox dialects", function()
  describe("the option", function()
    it("has seven presets, each a full set of the four dimensions", function()
      assert.same({ "enkash", "code", "paged", "list", "spring", "payouts", "terse" }, dialect.names)
      for _, name in ipairs(dialect.names) do
        local d = dialect.DIALECTS[name]
        assert.is_string(d.envelope, name)
        assert.is_string(d.lookups, name)
        assert.is_number(d.pending, name)
        assert.is_string(d.errors, name)
        assert.same(d, new{ dialect = name }.opts.dialect)
      end
      assert.same({ envelope = "response_code", lookups = "object", pending = 0, errors = "string" },
        sandbox.new().opts.dialect)
    end)

    it("takes a subset of the dimensions, the rest from enkash", function()
      assert.same({ envelope = "code", lookups = "object", pending = 0, errors = "spring" },
        sandbox.new{ dialect = { envelope = "code", errors = "spring" } }.opts.dialect)
    end)

    it("refuses unknown presets, dimensions and values", function()
      for _, bad in ipairs({ "nope", 5, true, { envelope = "xml" }, { lookups = "tree" }, { pending = -1 },
                             { pending = 1.5 }, { pending = "2" }, { errors = "loud" }, { colour = "blue" } }) do
        assert.has_error(function() sandbox.new{ dialect = bad } end)
        assert.has_error(function() sandbox.new():control("config", { dialect = bad }) end)
      end
    end)

    it("is changed at run time by config (a table replaces the dialect, over enkash)", function()
      local sb = new()
      local cfg = sb:control("config", { dialect = "paged" })
      assert.same(dialect.DIALECTS.paged, cfg.dialect)
      cfg = sb:control("config", { dialect = { errors = "spring" } })
      assert.same({ envelope = "response_code", lookups = "object", pending = 0, errors = "spring" }, cfg.dialect)
      -- over HTTP too
      sb = new{ control = true }
      local res = sb:handle{ method = "POST", path = "/_sandbox/config", headers = {}, body = '{"dialect":"terse"}' }
      assert.equals(200, res.status)
      assert.same(dialect.DIALECTS.terse, cjson.decode(res.body).dialect)
      res = sb:handle{ method = "POST", path = "/_sandbox/config", headers = {}, body = '{"dialect":"xml"}' }
      assert.equals(400, res.status)
      assert.matches("dialect must be a preset name", cjson.decode(res.body).error, 1, true)
    end)
  end)

  describe("envelope", function()
    it("enkash: response_code/response_message, the message repeated as the payload", function()
      local sb = new()
      local w = create(sb)
      local res = call(sb, "wallet.balance", ids(w))
      assert.equals(200, res.status)
      assert.equals('{"payload":{"currency":"INR","enKashCardId":"' .. w.enKashCardId .. '","otbBalance":0},'
        .. '"response_code":0,"response_message":"Success"}', res.body)
      res = txn(sb, w, "NOPE")
      assert.equals(200, res.status)
      assert.equals('{"payload":"Transaction not found","response_code":1,'
        .. '"response_message":"Transaction not found"}', res.body)
    end)

    it("code: code/message on success and on failure", function()
      local sb = new{ dialect = "code" }
      local w = create(sb)
      local res = call(sb, "wallet.balance", ids(w))
      assert.equals('{"code":0,"message":"Success","payload":{"currency":"INR","enKashCardId":"'
        .. w.enKashCardId .. '","otbBalance":0}}', res.body)
      res = call(sb, "wallet.balance", ids({ enKashCardId = "EKCNOPE" }))
      assert.equals(200, res.status)
      assert.equals('{"code":1,"message":"Wallet not found","payload":"Wallet not found"}', res.body)
      res = call(sb, "wallet.balance", ids(w), { partner = "CROTHER" })
      assert.equals('{"code":1,"message":"Invalid partner","payload":"Invalid partner"}', res.body)
    end)

    it("is encrypted like the request was, in any envelope", function()
      local sb = new{ dialect = "code" }
      local w = create(sb)
      local res, doc = call(sb, "wallet.balance", ids(w), { encrypt = true })
      assert.equals(200, res.status)
      local env = cjson.decode(core.decrypt(doc.request, D.client_secret))
      assert.same({ code = 0, message = "Success", payload = { currency = "INR", enKashCardId = w.enKashCardId,
                                                               otbBalance = 0 } }, env)
      sb:control("config", { dialect = "terse" })
      res, doc = call(sb, "wallet.balance", ids({ enKashCardId = "EKCNOPE" }), { encrypt = true })
      assert.equals(200, res.status)
      assert.equals('{"payload":null,"response_code":1,"response_message":"Wallet not found"}',
        core.decrypt(doc.request, D.client_secret))
    end)
  end)

  describe("lookups", function()
    it("object_null: a miss is success with a null payload; a hit is the record", function()
      local sb = new{ dialect = { lookups = "object_null" } }
      local w = create(sb)
      local null = '{"payload":null,"response_code":0,"response_message":"Success"}'
      assert.equals(null, (txn(sb, w, "NOPE")).body)
      assert.equals(null, (tstatus(sb, "NOPE")).body)
      assert.equals(null, (settlement(sb, "NOPE")).body)
      assert.equals(null, (call(sb, "wallet.details", ids({ enKashCardId = "EKCNOPE" }))).body)
      -- a wrong company, card account or (for a transaction) wallet is still a failure
      local _, env = call(sb, "wallet.details", ids(w, { companyId = "CEKOTHER01" }))
      assert.same({ response_code = 1, response_message = "Invalid companyId", payload = "Invalid companyId" }, env)
      _, env = txn(sb, { enKashCardId = "EKCNOPE" }, "NOPE")
      assert.equals("Wallet not found", env.payload)
      assert.equals(1, env.response_code)
      top_up(sb, w, 100, "L1")
      _, env = txn(sb, w, "L1")
      assert.same({ pgReferenceNumber = "L1", enkashCardTxnId = env.payload.enkashCardTxnId,
                    enKashCardId = w.enKashCardId, amount = 100, transactionType = "CR", status = "SUCCESS",
                    otbBalance = 100 }, env.payload)
      assert.equals(w.enKashCardId, ok(sb, "wallet.details", ids(w)).enKashCardId)
    end)

    it("page: {recordsCount, data}, an empty page for a miss", function()
      local sb = new{ dialect = { envelope = "code", lookups = "page" } }
      local w = create(sb)
      local empty = '{"code":0,"message":"Success","payload":{"data":[],"recordsCount":0}}'
      assert.equals(empty, (txn(sb, w, "NOPE")).body)
      assert.equals(empty, (tstatus(sb, "NOPE")).body)
      assert.equals(empty, (settlement(sb, "NOPE")).body)
      assert.equals(empty, (call(sb, "wallet.details", ids({ enKashCardId = "EKCNOPE" }))).body)
      assert.equals(empty, (call(sb, "transfers.search_beneficiaries", ids(w))).body)
      top_up(sb, w, "20.50", "L1")
      local res = txn(sb, w, "L1")
      assert.matches('"amount":20.50,', res.body, 1, true)
      local p = cjson.decode(res.body).payload
      assert.equals(1, p.recordsCount)
      assert.equals(1, #p.data)
      assert.equals("L1", p.data[1].pgReferenceNumber)
      assert.equals("SUCCESS", p.data[1].status)
      assert.equals(1, ok(sb, "wallet.details", ids(w)).recordsCount)
      local ben = beneficiary(sb, w)
      p = ok(sb, "transfers.search_beneficiaries", ids(w))
      assert.same({ recordsCount = 1, data = { { beneficiaryId = ben, beneficiaryName = "Asha Rao",
                    maskedAccountNumber = "XXXXXXXX9012", ifsc = "HDFC0000123" } } }, p)
      imps(sb, w, ben, 5, "T1")
      assert.same({ recordsCount = 1, data = { { uniqueTransactionId = "T1", status = "SUCCESS", amount = 5,
                                                type = "IMPS" } } },
        ok(sb, "transfers.status", { uniqueTransactionId = "T1" }))
    end)

    it("list: a bare array; the transaction lookups answer every record, newest first", function()
      local sb = new{ dialect = { lookups = "list" } }
      local w, other = create(sb), create(sb)
      local res = txn(sb, w, "NOPE")
      assert.equals('{"payload":[],"response_code":0,"response_message":"Success"}', res.body)
      assert.equals('{"payload":[],"response_code":0,"response_message":"Success"}', (tstatus(sb, "NOPE")).body)
      assert.equals('{"payload":[],"response_code":0,"response_message":"Success"}', (settlement(sb, "X")).body)
      top_up(sb, other, 7, "OTHER1")
      top_up(sb, w, 10, "L1")
      -- a lookup of a reference this wallet never used holds only the wallet's other record
      local _, env = txn(sb, w, "L2")
      assert.equals(1, #env.payload)
      assert.equals("L1", env.payload[1].pgReferenceNumber)
      top_up(sb, w, 20, "L2")
      top_up(sb, w, 30, "L3")
      _, env = txn(sb, w, "L1")
      assert.equals("L3=SUCCESS L2=SUCCESS L1=SUCCESS", statuses(env.payload, "pgReferenceNumber"))
      assert.equals(30, env.payload[1].amount)
      -- the other wallet's load is in no list of this wallet's
      _, env = txn(sb, other, "L1")
      assert.equals("OTHER1=SUCCESS", statuses(env.payload, "pgReferenceNumber"))
      -- transfers and settlements: every one of the sandbox
      local ben = beneficiary(sb, w)
      imps(sb, w, ben, 1, "T1")
      imps(sb, w, ben, 2, "T2")
      debit(sb, w, 3, "S1")
      debit(sb, w, 4, "S2")
      _, env = tstatus(sb, "T1")
      assert.equals("T2=SUCCESS T1=SUCCESS", statuses(env.payload, "uniqueTransactionId"))
      _, env = settlement(sb, "NOPE")
      assert.equals("S2=PENDING S1=PENDING", statuses(env.payload, "merchantUniqueTxnId"))
      -- wallet details and the beneficiary search: the matches as an array
      _, env = call(sb, "wallet.details", ids(w))
      assert.equals(1, #env.payload)
      assert.equals(w.enKashCardId, env.payload[1].enKashCardId)
      assert.equals('{"payload":[],"response_code":0,"response_message":"Success"}',
        (call(sb, "wallet.details", ids({ enKashCardId = "EKCNOPE" }))).body)
      _, env = call(sb, "transfers.search_beneficiaries", ids(w))
      assert.equals(ben, env.payload[1].beneficiaryId)
      assert.equals('{"payload":[],"response_code":0,"response_message":"Success"}',
        (call(sb, "transfers.search_beneficiaries", ids(other))).body)
    end)

    it("list: at most 50 records", function()
      local sb = new{ dialect = "list" }
      local w = create(sb)
      for i = 1, 55 do top_up(sb, w, 1, "L" .. i) end
      local _, env = txn(sb, w, "L1")
      assert.equals(50, #env.payload)
      assert.equals("L55", env.payload[1].pgReferenceNumber)
      assert.equals("L6", env.payload[50].pgReferenceNumber)
    end)

    it("object (enkash): today's beneficiary search shape", function()
      local sb = new()
      local w = create(sb)
      assert.equals('{"payload":{"beneficiaries":[]},"response_code":0,"response_message":"Success"}',
        (call(sb, "transfers.search_beneficiaries", ids(w))).body)
    end)
  end)

  describe("pending", function()
    it("reports CREATED for the first N lookups of a load or transfer, then its status", function()
      local sb = new{ dialect = { pending = 2 } }
      local w = create(sb)
      top_up(sb, w, 10, "L1")
      local seen = {}
      for i = 1, 4 do seen[i] = select(2, txn(sb, w, "L1")).payload.status end
      assert.same({ "CREATED", "CREATED", "SUCCESS", "SUCCESS" }, seen)
      local ben = beneficiary(sb, w)
      imps(sb, w, ben, 1, "T1")
      seen = {}
      for i = 1, 3 do seen[i] = select(2, tstatus(sb, "T1")).payload.status end
      assert.same({ "CREATED", "CREATED", "SUCCESS" }, seen)
      -- a refused load is on record as FAILED: CREATED first, then FAILED
      local res, env = top_up(sb, w, 10000, "BIG")
      assert.equals("Load limit exceeded", env.response_message)
      assert.equals(200, res.status)
      seen = {}
      for i = 1, 3 do seen[i] = select(2, txn(sb, w, "BIG")).payload.status end
      assert.same({ "CREATED", "CREATED", "FAILED" }, seen)
    end)

    it("does not touch settlements, nor records made before it was set", function()
      local sb = new()
      local w = create(sb)
      top_up(sb, w, 10, "L1")
      sb:control("config", { dialect = "code" })
      assert.equals("SUCCESS", select(2, txn(sb, w, "L1")).payload.status)
      debit(sb, w, 1, "S1")
      assert.equals("PENDING", select(2, settlement(sb, "S1")).payload.status)
      top_up(sb, w, 10, "L2")
      assert.equals("CREATED", select(2, txn(sb, w, "L2")).payload.status)
      assert.equals("SUCCESS", select(2, txn(sb, w, "L2")).payload.status)
    end)

    it("counts every lookup that includes the record (list)", function()
      local sb = new{ dialect = "list" }
      local w = create(sb)
      top_up(sb, w, 10, "L1")
      local function look() return statuses(select(2, txn(sb, w, "NOPE")).payload, "pgReferenceNumber") end
      assert.equals("L1=CREATED", look())
      top_up(sb, w, 20, "L2")
      assert.equals("L2=CREATED L1=CREATED", look())
      assert.equals("L2=CREATED L1=SUCCESS", look())
      assert.equals("L2=SUCCESS L1=SUCCESS", look())
    end)

    it("pages count too, and show CREATED inside the page", function()
      local sb = new{ dialect = "paged" }
      local w = create(sb)
      top_up(sb, w, 10, "L1")
      local res = txn(sb, w, "L1")
      assert.matches('^{"code":0,"message":"Success","payload":{"data":%[{.*"status":"CREATED".*}%],'
        .. '"recordsCount":1}}$', res.body)
      assert.equals("SUCCESS", cjson.decode((txn(sb, w, "L1")).body).payload.data[1].status)
    end)
  end)

  describe("errors", function()
    it("spring: a Spring error body at 404, 409 or 400 with the request path", function()
      local sb = new{ dialect = "spring" }
      local w = create(sb)
      local row = catalogue.by_name["wallet.transaction"]
      local res, body = txn(sb, w, "NOPE")
      assert.equals(404, res.status)
      assert.matches("^application/json", res.headers["content-type"])
      assert.matches(STAMP, body.timestamp)
      assert.same({ timestamp = body.timestamp, status = 404, error = "Not Found", message = "Transaction not found",
                    path = row.path }, body)
      top_up(sb, w, 10, "L1")
      res, body = top_up(sb, w, 10, "L1")
      assert.equals(409, res.status)
      assert.same({ timestamp = body.timestamp, status = 409, error = "Conflict",
                    message = "Unique reference number already exists",
                    path = catalogue.by_name["wallet.top_up"].path }, body)
      res, body = top_up(sb, w, 10000, "BIG")
      assert.equals(400, res.status)
      assert.equals("Bad Request", body.error)
      assert.equals("Load limit exceeded", body.message)
      res, body = call(sb, "wallet.balance", { cardAccountId = ACC, enKashCardId = w.enKashCardId })
      assert.equals(400, res.status)
      assert.equals("companyId is required", body.message)
      -- the GET row's path, without its query string
      res, body = tstatus(sb, "NOPE")
      assert.equals(404, res.status)
      assert.equals(catalogue.by_name["transfers.status"].path, body.path)
    end)

    it("spring: never encrypted, and only application failures change", function()
      local sb = new{ dialect = "spring" }
      local w = create(sb)
      local res, body = call(sb, "wallet.balance", ids({ enKashCardId = "EKCNOPE" }), { encrypt = true })
      assert.equals(404, res.status)
      assert.equals("Wallet not found", body.message)
      assert.is_nil(body.request)
      -- success stays an (encrypted) envelope
      local _, doc = call(sb, "wallet.balance", ids(w), { encrypt = true })
      assert.equals(0, cjson.decode(core.decrypt(doc.request, D.client_secret)).response_code)
      -- 401, routing 404/405, 415 and the token endpoint keep their own answers
      local r = sb:handle{ method = "POST", path = catalogue.by_name["wallet.balance"].path, body = "{}",
                           headers = { ["content-type"] = "application/json", partnerid = D.partner_id } }
      assert.equals(401, r.status)
      r = sb:handle{ method = "POST", path = "/api/nope", headers = {}, body = "" }
      assert.equals('{"error":"Not Found","path":"/api/nope","status":404}', r.body)
      r = sb:handle{ method = "POST", path = catalogue.by_name["wallet.balance"].path, body = "x=1",
                     headers = { ["content-type"] = "text/plain", partnerid = D.partner_id,
                                 authorization = "Bearer " .. sb.bearer } }
      assert.equals(415, r.status)
      assert.is_nil(cjson.decode(r.body).timestamp)
      r = sb:handle{ method = "POST", path = "/oauth/token", headers = {}, body = "" }
      assert.equals(401, r.status)
      -- an injected api_error is an application failure
      sb:control("fault", { endpoint = "wallet.balance", kind = "api_error", message = "Service down" })
      res, body = call(sb, "wallet.balance", ids(w))
      assert.equals(400, res.status)
      assert.equals("Service down", body.message)
    end)

    it("payouts: 409 duplicate, 422 field errors, 412 company or partner, 1 otherwise", function()
      local sb = new{ dialect = "payouts" }
      local w = create(sb)
      local function code(res, env)
        assert.equals(200, res.status)
        assert.equals(env.response_message, env.payload)
        return env.response_code
      end
      top_up(sb, w, 10, "L1")
      local res = top_up(sb, w, 10, "L1")
      assert.equals('{"payload":"Unique reference number already exists","response_code":409,'
        .. '"response_message":"Unique reference number already exists"}', res.body)
      assert.equals(422, code(call(sb, "wallet.balance", { cardAccountId = ACC, enKashCardId = w.enKashCardId })))
      assert.equals(422, code(top_up(sb, w, 10, { "not", "a", "string" })))
      -- the wording classes themselves (enkash.sandbox.fields' refusals)
      for msg, want in pairs({ ["amount must have at most 2 decimals"] = 422, ["amount is too large"] = 422,
                               ["documents[1].docNo is required"] = 422, ["gender is invalid"] = 422,
                               ["Transaction ID already exists"] = 409, ["Invalid companyId"] = 412,
                               ["Invalid partner"] = 412, ["Invalid or expired OTP"] = 1,
                               ["Insufficient balance in card account"] = 1 }) do
        assert.equals(want, dialect.payouts_code(msg), msg)
      end
      assert.equals(412, code(call(sb, "wallet.balance", ids(w, { companyId = "CEKOTHER01" }))))
      assert.equals(412, code(call(sb, "wallet.balance", ids(w), { partner = "CROTHER" })))
      assert.equals(1, code(top_up(sb, w, 10000, "BIG")))
      assert.equals(1, code(txn(sb, w, "NOPE")))
      -- with the code envelope
      sb:control("config", { dialect = { envelope = "code", errors = "payouts" } })
      local ben = beneficiary(sb, w)
      imps(sb, w, ben, 1, "T1")
      res = imps(sb, w, ben, 1, "T1")
      assert.equals('{"code":409,"message":"Transaction ID already exists","payload":"Transaction ID already exists"}',
        res.body)
    end)

    it("message_only (terse): code 1, the message once, a null payload", function()
      local sb = new{ dialect = "terse" }
      local w = create(sb)
      assert.equals('{"payload":null,"response_code":1,"response_message":"Transaction not found"}',
        (txn(sb, w, "NOPE")).body)
      sb:control("config", { dialect = { envelope = "code", errors = "message_only" } })
      assert.equals('{"code":1,"message":"Transaction not found","payload":null}', (txn(sb, w, "NOPE")).body)
    end)
  end)

  describe("report", function()
    it("overrides the status and amount a lookup shows, never the ledger", function()
      local sb = new()
      local w = create(sb)
      top_up(sb, w, 100, "L1")
      local before = sb:control("ledger")
      assert.same({ reference = "L1", status = "WEIRD_STATE" }, sb:control("report", { reference = "L1",
                                                                                       status = "WEIRD_STATE" }))
      local _, env = txn(sb, w, "L1")
      assert.equals("WEIRD_STATE", env.payload.status)
      assert.equals(100, env.payload.amount)
      assert.same({ reference = "L1", status = "WEIRD_STATE", amount = "12.34" },
        sb:control("report", { reference = "L1", amount = "12.34" }))
      local res = txn(sb, w, "L1")
      assert.matches('"amount":12.34,', res.body, 1, true)
      assert.matches('"otbBalance":100,', res.body, 1, true)
      assert.same(before, sb:control("ledger"))
      assert.same({ reference = "L1", cleared = true }, sb:control("report", { reference = "L1", clear = true }))
      _, env = txn(sb, w, "L1")
      assert.equals("SUCCESS", env.payload.status)
      assert.equals(100, env.payload.amount)
    end)

    it("works for transfers and settlements, in every lookup shape, and wins over CREATED", function()
      local sb = new{ dialect = "list" }
      local w = create(sb)
      top_up(sb, w, 100, "L1")
      local ben = beneficiary(sb, w)
      imps(sb, w, ben, 5, "T1")
      debit(sb, w, 6, "S1")
      sb:control("report", { reference = "T1", status = "ON_THE_MOON" })
      sb:control("report", { reference = "S1", amount = 7 })
      assert.equals("T1=ON_THE_MOON", statuses(select(2, tstatus(sb, "T1")).payload, "uniqueTransactionId"))
      local _, env = settlement(sb, "S1")
      assert.equals(7, env.payload[1].amount)
      assert.equals("PENDING", env.payload[1].status)
      sb:control("config", { dialect = "paged" })
      _, env = tstatus(sb, "T1")
      assert.equals("ON_THE_MOON", env.payload.data[1].status)
      sb:control("config", { dialect = "enkash" })
      assert.equals(7, select(2, settlement(sb, "S1")).payload.amount)
    end)

    it("refuses an unknown reference and bad values", function()
      local sb = new{ control = true }
      local w = create(sb)
      top_up(sb, w, 1, "L1")
      assert.has_error(function() sb:control("report", { reference = "NOPE", status = "X" }) end,
        "unknown reference: NOPE")
      assert.has_error(function() sb:control("report", { status = "X" }) end)
      assert.has_error(function() sb:control("report", { reference = "L1" }) end)
      assert.has_error(function() sb:control("report", { reference = "L1", status = "" }) end)
      assert.has_error(function() sb:control("report", { reference = "L1", status = 5 }) end)
      assert.has_error(function() sb:control("report", { reference = "L1", amount = "abc" }) end)
      -- over HTTP
      local res = sb:handle{ method = "POST", path = "/_sandbox/report", headers = {},
                             body = '{"reference":"L1","status":"ODD"}' }
      assert.equals(200, res.status)
      assert.equals('{"reference":"L1","status":"ODD"}', res.body)
      res = sb:handle{ method = "POST", path = "/_sandbox/report", headers = {}, body = '{"reference":"NOPE"}' }
      assert.equals(400, res.status)
      assert.equals("ODD", select(2, txn(sb, w, "L1")).payload.status)
      sb:control("reset")
      assert.has_error(function() sb:control("report", { reference = "L1", status = "X" }) end)
    end)
  end)

  describe("the ledger", function()
    -- The same calls under a dialect: loads, a duplicate, a refused load, transfers, a debit,
    -- and lookups of each. Returns the ledger with wallet names by role.
    local function scenario(name)
      local sb = new{ dialect = name }
      local w, to = create(sb), create(sb)
      top_up(sb, w, "500.25", "L1")
      top_up(sb, w, 1, "L1")
      top_up(sb, w, 10000, "BIG")
      local ben = beneficiary(sb, w)
      imps(sb, w, ben, 20, "T1")
      imps(sb, w, ben, 20, "T1")
      call(sb, "transfers.wallet_to_wallet", ids(w, { toEnKashCardId = to.enKashCardId, amount = 30,
                                                      uniqueTransactionId = "T2" }))
      debit(sb, w, "1.50", "S1")
      local before = sb:control("ledger")
      for _ = 1, 3 do
        txn(sb, w, "L1")
        txn(sb, w, "BIG")
        tstatus(sb, "T1")
        settlement(sb, "S1")
        call(sb, "wallet.details", ids(w))
      end
      sb:control("report", { reference = "L1", status = "ODD", amount = 1 })
      txn(sb, w, "L1")
      local after = sb:control("ledger")
      assert.same(before, after)
      local roles = { ["wallet:" .. w.enKashCardId] = "wallet:w", ["wallet:" .. to.enKashCardId] = "wallet:to" }
      local accounts = {}
      for k, v in pairs(after.accounts) do accounts[roles[k] or k] = v end
      after.accounts = accounts
      return after
    end

    it("is the same under every preset, and lookups never change it", function()
      local want = scenario("enkash")
      assert.equals(50025 - 2000 - 3000 - 150, want.accounts["wallet:w"])
      assert.equals(3000, want.accounts["wallet:to"])
      assert.equals(0, want.total)
      for _, name in ipairs(dialect.names) do
        assert.same(want, scenario(name), name)
      end
    end)
  end)
end)

describe("enkash sandbox --dialect", function()
  local cli = require "enkash.cli.sandbox"

  it("passes a preset or dimensions to the sandbox, and refuses anything else", function()
    assert.equals("paged", cli.parse({ "--dialect", "paged" }).sandbox_opts.dialect)
    assert.same({ envelope = "code", pending = 2 },
      cli.parse({ "--dialect", "envelope=code,pending=2" }).sandbox_opts.dialect)
    assert.is_nil(cli.parse({ "--port", "9000" }).sandbox_opts.dialect)
    for _, bad in ipairs({ { "--dialect", "nope" }, { "--dialect", "pending=x" }, { "--dialect" },
                           { "--dialect", "errors=loud" } }) do
      local o, err = cli.parse(bad)
      assert.is_nil(o)
      assert.matches("--dialect", err, 1, true)
    end
    assert.matches("--dialect", cli.help, 1, true)
    assert.matches("dialect        list (envelope=response_code lookups=list pending=2 errors=string)",
      cli.banner({ url = "http://127.0.0.1:1" }, false, "list"), 1, true)
  end)
end)

describe("sandbox dialects over nginx", function()
  -- started with a dialect, as `enkash sandbox --dialect terse` starts it
  local srv = require("helpers.targets").serve{ sandbox_opts = { bind_delay = 0, dialect = "terse" } }
  local bearer
  local tmp = os.tmpname()

  local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

  -- curl: the HTTP status and the body.
  local function curl(method, path, headers, body)
    local args = { "curl -sS --max-time 10 -w '\\n%{http_code}' -X " .. method }
    for k, v in pairs(headers) do args[#args + 1] = "-H " .. quote(k .. ": " .. v) end
    local f = assert(io.open(tmp, "wb"))
    f:write(body)
    f:close()
    args[#args + 1] = "--data-binary @" .. quote(tmp)
    args[#args + 1] = quote(srv.url .. path)
    local p = assert(io.popen(table.concat(args, " ") .. " 2>/dev/null"))
    local out = p:read("*a")
    p:close()
    local text, status = out:match("^(.*)\n(%d%d%d)$")
    return tonumber(status), text
  end

  local function control(name, args)
    local status, body = curl("POST", "/_sandbox/" .. name, { ["Content-Type"] = "application/json" },
      cjson.encode(args))
    assert(status == 200, body)
    return cjson.decode(body)
  end

  local function details()
    return curl("POST", catalogue.by_name["wallet.details"].path, {
      ["Content-Type"] = "application/json", partnerId = D.partner_id, Authorization = "Bearer " .. bearer,
    }, cjson.encode({ companyId = COMPANY, cardAccountId = ACC, enKashCardId = "EKCNOPE" }))
  end

  setup(function()
    local status, body = curl("POST", "/oauth/token", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      Authorization = "Basic " .. core.b64encode(D.client_id .. ":" .. D.client_secret),
    }, form{ username = USER, password = PASS, grant_type = "password", clientId = D.client_id })
    assert(status == 200, body)
    bearer = cjson.decode(body).access_token
  end)

  teardown(function() os.remove(tmp) end)

  it("changes the answer on the wire when config sets dialect", function()
    local status, body = details()
    assert.equals(200, status)
    assert.equals('{"payload":null,"response_code":1,"response_message":"Wallet not found"}', body)
    control("config", { dialect = "enkash" })
    status, body = details()
    assert.equals(200, status)
    assert.equals('{"payload":"Wallet not found","response_code":1,"response_message":"Wallet not found"}', body)
    assert.same(dialect.DIALECTS.paged, control("config", { dialect = "paged" }).dialect)
    status, body = details()
    assert.equals(200, status)
    assert.equals('{"code":0,"message":"Success","payload":{"data":[],"recordsCount":0}}', body)
    control("config", { dialect = "spring" })
    status, body = details()
    assert.equals(404, status)
    local e = cjson.decode(body)
    assert.matches(STAMP, e.timestamp)
    assert.same({ timestamp = e.timestamp, status = 404, error = "Not Found", message = "Wallet not found",
                  path = catalogue.by_name["wallet.details"].path }, e)
  end)
end)
