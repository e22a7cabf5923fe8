-- Reconciliation of money-moving calls, decision by decision, against a scripted transport:
-- each request pops the next scripted answer for its path (an answer may be a function of
-- the request, to echo its reference), and every request is recorded.
local enkash = require "enkash"
local errors = require "enkash.errors"
local cjson = require "cjson"
local fx = require "helpers.fixtures"

local P = "/api/v0/partner/enKashCard"
local TOKEN = { status = 200, body = '{"access_token":"tok-1234567890","expires_in":3600}' }

local function envelope(payload, code_key)
  local doc = { payload = payload }
  doc[code_key or "response_code"] = 0
  doc[code_key == "code" and "message" or "response_message"] = "Success"
  return { status = 200, body = cjson.encode(doc) }
end
local function ok(payload) return envelope(payload) end
local function fail(msg)
  return { status = 200, body = cjson.encode({ response_code = 1, response_message = msg, payload = msg }) }
end
local function err(kind) return { err = errors.new(kind, kind .. " (scripted)", { retryable = true }) } end

-- The reference a request carries, in its JSON body or its query string.
local function ref_of(req)
  local body = req.body and cjson.decode(req.body) or {}
  return body.uniqueReferenceNumber or body.pgReferenceNumber or body.uniqueTransactionId
    or req.url:match("[?&]uniqueTransactionId=([^&]+)") or req.url:match("[?&]merchantUniqueTxnId=([^&]+)")
end

-- An answer built from the request: fn(ref) -> answer.
local function echo(fn) return function(req) return fn(ref_of(req)) end end

local function scripted(script)
  local t = { sent = {}, slept = {}, tokens = 0 }
  function t.request(_, req)
    local path = req.url:match("^%a+://[^/]+([^?]*)")
    if path == "/oauth/token" then
      t.tokens = t.tokens + 1
      return { status = 200, headers = {}, body = TOKEN.body }
    end
    t.sent[#t.sent + 1] = { path = path, body = req.body, url = req.url }
    local queue = assert(script[path], "nothing scripted for " .. path)
    local answer = assert(table.remove(queue, 1), "script for " .. path .. " ran out")
    if type(answer) == "function" then answer = answer(req) end
    if answer.err then return nil, answer.err end
    return { status = answer.status, headers = answer.headers or {}, body = answer.body }
  end
  function t.sleep(_, s) t.slept[#t.slept + 1] = s end
  function t.close() end
  return t
end

local function client(script, extra)
  local t = scripted(script)
  local cfg = { transport = t, card_account_id = "CAC7975", reconcile_delay = 0.25, retry_base = 0.01,
                pending_interval = 0.5, pending_wait = 2 }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert(enkash.new(fx.config("http://127.0.0.1:9", cfg))), t
end

local function sends_to(t, path)
  local n = 0
  for _, s in ipairs(t.sent) do if s.path == path then n = n + 1 end end
  return n
end

local TOPUP = { amount = 10, enKashCardId = "EKCWLUAADN" }
local BALANCE, STATUS = P .. "/balance", P .. "/transaction/all"

-- A top-up answer that names its reference, and a status record of it.
local topped = echo(function(ref) return ok({ pgReferenceNumber = ref, otbBalance = 10 }) end)
local function record(status, extra)
  return echo(function(ref)
    local r = { pgReferenceNumber = ref, status = status, amount = 10 }
    for k, v in pairs(extra or {}) do r[k] = v end
    return ok(r)
  end)
end

describe("money-moving calls", function()
  it("return the reference they generated on success, believing an answer that names it", function()
    local c, t = client({ [BALANCE] = { topped } })
    local payload, res = c.wallet:top_up(TOPUP)
    assert.equals(10, payload.otbBalance)
    assert.equals(1000, payload.otbBalance_paise)
    assert.matches("^ENK%x+$", res.reference)
    assert.equals(res.reference, payload.pgReferenceNumber)
    assert.equals(0, sends_to(t, STATUS))
  end)

  it("ask the status endpoint when the answer names no reference, and never resend after it", function()
    local c, t = client({ [BALANCE] = { ok({ otbBalance = 10 }) }, [STATUS] = { record("SUCCESS") } })
    local payload, res = c.wallet:top_up(TOPUP)
    assert.equals("SUCCESS", payload.status)
    assert.is_true(res.reconciled)
    assert.equals(1, sends_to(t, BALANCE))
  end)

  it("give unknown_outcome when a success answer names no reference and the lookup has no record", function()
    local c, t = client({ [BALANCE] = { ok({ otbBalance = 10 }) }, [STATUS] = { ok({}) } })
    local _, e = c.wallet:top_up(TOPUP)
    assert.equals("unknown_outcome", e.kind)
    assert.equals(1, sends_to(t, BALANCE)) -- Enkash said success once: never sent again
  end)

  it("after a timeout ask the status endpoint, and answer from the record when it succeeded", function()
    local c, t = client({ [BALANCE] = { err("timeout") }, [STATUS] = { record("SUCCESS", { amount = 10.0 }) } })
    local payload, res = c.wallet:top_up(setmetatable({ uniqueReferenceNumber = "Ref123" }, { __index = TOPUP }))
    assert.equals("SUCCESS", payload.status)
    assert.equals(1000, payload.amount_paise)
    assert.is_true(res.reconciled)
    assert.equals("Ref123", res.reference)
    assert.equals("timeout", res.cause)
    assert.equals(1, sends_to(t, BALANCE))
    local st = cjson.decode(t.sent[2].body)
    assert.equals("Ref123", st.pgReferenceNumber)
    assert.equals("EKCWLUAADN", st.enKashCardId)
    assert.same({ 0.25 }, t.slept) -- the reconcile delay, then no other wait
  end)

  -- Every answer that shows no record of the reference means "absent": the same reference
  -- is sent again (and the resend's answer names it).
  local absent_shapes = {
    { "a not-found failure", fail("Transaction not found") },
    { "payload []", ok(setmetatable({}, cjson.array_mt)) },
    { "payload null", { status = 200, body = '{"response_code":0,"response_message":"Success","payload":null}' } },
    { "an empty page", ok({ recordsCount = 0, data = setmetatable({}, cjson.array_mt) }) },
    { "a list holding only another reference's record",
      ok({ { pgReferenceNumber = "OTHER1234", status = "SUCCESS", amount = 10 } }) },
    { "a page holding only another reference's record", envelope({ recordsCount = 1,
      data = { { pgReferenceNumber = "OTHER1234", status = "SUCCESS", amount = 10 } } }, "code") },
    { "a Spring 404 whose message says not found", { status = 404, body = cjson.encode({
      timestamp = "2026-12-02T10:00:00.000+00:00", status = 404, error = "Not Found",
      message = "Transaction not found", path = STATUS }) } },
    { "code/message with a null payload", { status = 200, body = '{"code":0,"message":"Success","payload":null}' } },
  }
  for _, case in ipairs(absent_shapes) do
    it("send again with the same reference when the lookup answers " .. case[1], function()
      local c, t = client({ [BALANCE] = { err("transport"), topped }, [STATUS] = { case[2] } })
      local payload, res = c.wallet:top_up(TOPUP)
      assert.truthy(payload, tostring(res))
      assert.equals(2, sends_to(t, BALANCE))
      assert.equals(t.sent[1].body, t.sent[3].body) -- byte for byte: same reference
      assert.is_nil(res.reconciled)
    end)
  end

  -- A record that does not say "succeeded" is never success.
  local doubtful = {
    { "an unknown status word", record("MAYBE_DONE"), "MAYBE_DONE" },
    { "no status at all", echo(function(ref) return ok({ pgReferenceNumber = ref, amount = 10 }) end), nil },
    { "another amount", record("SUCCESS", { amount = 11 }), "SUCCESS" },
    { "an amount with 3 decimals", record("SUCCESS", { amount = "10.001" }), "SUCCESS" },
    { "two records of the reference", echo(function(ref)
      return ok({ { pgReferenceNumber = ref, status = "SUCCESS", amount = 10 },
                  { pgReferenceNumber = ref, status = "SUCCESS", amount = 10 } })
    end), nil },
    { "records that name no reference", ok({ { status = "SUCCESS", amount = 10 } }), nil },
    { "a Spring 404 without a message (a missing route)", { status = 404, body = cjson.encode({
      status = 404, error = "Not Found", path = STATUS }) }, nil },
  }
  for _, case in ipairs(doubtful) do
    it("answer unknown_outcome, never success, for a record with " .. case[1], function()
      local c, t = client({ [BALANCE] = { err("timeout") }, [STATUS] = { case[2], case[2], case[2] } })
      local payload, e = c.wallet:top_up(TOPUP)
      assert.is_nil(payload)
      assert.equals("unknown_outcome", e.kind)
      assert.matches("^ENK", e.reference)
      assert.equals(case[3], e.status)
      assert.equals(1, sends_to(t, BALANCE))
    end)
  end

  it("poll a pending record (CREATED, then PROCESSING) until it succeeds", function()
    local c, t = client({ [BALANCE] = { err("timeout") },
                          [STATUS] = { record("CREATED"), record("PROCESSING"), record("SUCCESS") } })
    local payload, res = c.wallet:top_up(TOPUP)
    assert.equals("SUCCESS", payload.status)
    assert.is_true(res.reconciled)
    assert.equals(3, sends_to(t, STATUS))
    assert.same({ 0.25, 0.5, 0.75 }, t.slept) -- the reconcile delay, then growing waits
  end)

  it("answer unknown_outcome with the word when a record stays pending past the wait", function()
    local c, t = client({ [BALANCE] = { err("timeout") }, [STATUS] = { record("CREATED"), record("CREATED"),
      record("CREATED"), record("CREATED"), record("CREATED") } }, { pending_wait = 0 })
    local _, e = c.wallet:top_up(TOPUP)
    assert.equals("unknown_outcome", e.kind)
    assert.equals("CREATED", e.status)
    assert.equals(1, sends_to(t, STATUS))
  end)

  it("answer unknown_outcome, with the reference, only when the status endpoint cannot tell", function()
    local c, t = client({
      [BALANCE] = { err("timeout") },
      [STATUS] = { err("timeout"), err("connect"), { status = 503, body = "<html>busy</html>" } },
    })
    local payload, e = c.wallet:top_up(TOPUP)
    assert.is_nil(payload)
    assert.equals("unknown_outcome", e.kind)
    assert.matches("^ENK", e.reference)
    assert.truthy(tostring(e):find(e.reference, 1, true))
    assert.equals(1, sends_to(t, BALANCE))
    assert.equals(3, sends_to(t, STATUS)) -- the status read was retried (retries = 2)
  end)

  it("report a failure the status record shows, with a stable code and the word", function()
    local c = client({ [BALANCE] = { { status = 502, body = "<html>bad gateway</html>" } },
                       [STATUS] = { record("FAILED") } })
    local _, e = c.wallet:top_up(TOPUP)
    assert.equals("api", e.kind)
    assert.equals("transaction_failed", e.code)
    assert.equals("FAILED", e.status)
    assert.matches("failed: status FAILED", e.message)
    assert.is_true(e.reconciled)
  end)

  it("return a definite failure as it is, with its code, without asking the status endpoint", function()
    local c, t = client({ [BALANCE] = { fail("Insufficient balance in card account") } })
    local _, e = c.wallet:top_up(TOPUP)
    assert.equals("api", e.kind)
    assert.equals("insufficient_balance", e.code)
    assert.equals("Insufficient balance in card account", e.message)
    assert.matches("^ENK", e.reference)
    assert.equals(0, sends_to(t, STATUS))
  end)

  it("send again after a refused connection or a 429, honouring Retry-After", function()
    local c, t = client({
      [BALANCE] = { err("connect"), { status = 429, headers = { ["retry-after"] = "2" }, body = "" }, topped },
    }, { max_sends = 3 })
    assert.truthy(c.wallet:top_up(TOPUP))
    assert.equals(3, sends_to(t, BALANCE))
    assert.equals(0, sends_to(t, STATUS))
    assert.equals(2, t.slept[2])
  end)

  it("treat 'already exists' on a resend as a question for the status endpoint", function()
    local transfer_record = echo(function(ref)
      return ok({ uniqueTransactionId = ref, status = "SUCCESS", amount = 5 })
    end)
    local c, t = client({
      [P .. "/fund-transfer"] = { err("timeout"), fail("Transaction ID already exists") },
      [P .. "/fund-transfer/status"] = { fail("Transaction not found"), transfer_record },
    })
    local payload, res = c.transfers:imps({ enKashCardId = "EKCWLUAADN", beneficiaryId = "BEN1", amount = 5 })
    assert.equals("SUCCESS", payload.status)
    assert.is_true(res.reconciled)
    assert.equals(2, sends_to(t, P .. "/fund-transfer"))
    assert.matches("uniqueTransactionId=" .. res.reference, t.sent[#t.sent].url, 1, true)
  end)

  it("answer a caller's idempotent retry ('already exists' on the first send) with the record", function()
    local c, t = client({ [BALANCE] = { fail("Unique reference number already exists") },
                          [STATUS] = { record("SUCCESS") } })
    local payload, res = c.wallet:top_up({ amount = 10, enKashCardId = "EKCWLUAADN", uniqueReferenceNumber = "Ref777" })
    assert.equals("SUCCESS", payload.status)
    assert.is_true(res.reconciled)
    assert.equals(1, sends_to(t, BALANCE))
  end)

  it("answer unknown_outcome when the server says 'already exists' (Payouts 409) but shows no record", function()
    local c, t = client({
      [BALANCE] = { { status = 200, body = cjson.encode({ response_code = 409,
        response_message = "Transaction ID already exists", payload = "Transaction ID already exists" }) } },
      [STATUS] = { fail("Transaction not found") } })
    local _, e = c.wallet:top_up(TOPUP)
    assert.equals("unknown_outcome", e.kind)
    assert.equals(1, sends_to(t, BALANCE))
  end)

  it("treat a 401 on a money call as ambiguous: new token, look up, and no resend when it was applied", function()
    local c, t = client({ [BALANCE] = { { status = 401, body = "" } }, [STATUS] = { record("SUCCESS") } })
    local payload, res = c.wallet:top_up(TOPUP)
    assert.equals("SUCCESS", payload.status)
    assert.is_true(res.reconciled)
    assert.equals("auth", res.cause)
    assert.equals(1, sends_to(t, BALANCE))
    assert.equals(2, t.tokens) -- the refused token was dropped before the lookup
  end)

  it("after a 401 on a money call that never arrived, send once more with a fresh token", function()
    local c, t = client({ [BALANCE] = { { status = 401, body = "" }, topped }, [STATUS] = { ok({}) } })
    assert.truthy(c.wallet:top_up(TOPUP))
    assert.equals(2, sends_to(t, BALANCE))
  end)

  it("never send twice when even the resend is ambiguous", function()
    local c, t = client({
      [BALANCE] = { err("timeout"), err("timeout") },
      [STATUS] = { fail("Transaction not found"), fail("Transaction not found") },
    })
    local _, e = c.wallet:top_up(TOPUP)
    assert.equals("timeout", e.kind)
    assert.is_true(e.reconciled) -- the status endpoint says it never took effect
    assert.equals(2, sends_to(t, BALANCE))
  end)

  it("ask first, send nothing, when resuming a call whose outcome was not recorded", function()
    local c, t = client({ [STATUS] = { record("SUCCESS") } })
    local payload, res = c.wallet:top_up({ amount = 10, enKashCardId = "EKCWLUAADN", uniqueReferenceNumber = "Ref900" },
      { lookup_first = true })
    assert.equals("SUCCESS", payload.status)
    assert.is_true(res.reconciled)
    assert.equals(0, sends_to(t, BALANCE))
  end)

  it("ask first, then send, when resuming a call that never arrived", function()
    local c, t = client({ [STATUS] = { fail("Transaction not found") }, [BALANCE] = { topped } })
    local payload = c.wallet:top_up({ amount = 10, enKashCardId = "EKCWLUAADN", uniqueReferenceNumber = "Ref901" },
      { lookup_first = true })
    assert.equals("Ref901", payload.pgReferenceNumber)
    assert.equals(1, sends_to(t, BALANCE))
    assert.equals(STATUS, t.sent[1].path)
  end)

  it("make no request at all for invalid input", function()
    local c, t = client({})
    local _, e = c.wallet:top_up({ amount = 0.1 + 0.2, enKashCardId = "EKCWLUAADN" })
    assert.equals("validation", e.kind)
    assert.equals(0, #t.sent)
  end)

  it("look up merchant debits by merchantUniqueTxnId, through the settlement vocabulary", function()
    local c, t = client({
      [P .. "/ppi-merchant-transaction"] = { err("timeout") },
      [P .. "/settlement-status"] = { echo(function(ref)
        return ok({ merchantUniqueTxnId = ref, status = "PENDING", amount = 20 })
      end) },
    })
    local payload, res = c.merchant:debit({ merchantDetailId = "MD7GWIYV3VEMQ8KQ", enkashCardId = "EKCKIE9O2R",
      amount = "20.00", otpMedium = "MOBILE", otp = "123456", otpReferenceId = "EK0N4ERDOS" })
    assert.equals("PENDING", payload.status) -- the debit exists: its settlement is pending
    assert.is_true(res.reconciled)
    assert.equals(t.sent[2].url:match("merchantUniqueTxnId=([%w_%-]+)"), res.reference)
  end)

  it("reads a refunded settlement as a failed debit", function()
    local c = client({
      [P .. "/ppi-merchant-transaction"] = { err("timeout") },
      [P .. "/settlement-status"] = { echo(function(ref)
        return ok({ merchantUniqueTxnId = ref, status = "REFUND", amount = 20 })
      end) },
    })
    local _, e = c.merchant:debit({ merchantDetailId = "MD7GWIYV3VEMQ8KQ", enkashCardId = "EKCKIE9O2R",
      amount = "20.00", otpMedium = "MOBILE", otp = "123456", otpReferenceId = "EK0N4ERDOS" })
    assert.equals("transaction_failed", e.code)
    assert.equals("REFUND", e.status)
  end)

  it("matches a reference of digits that the record echoes as a JSON number", function()
    local c, t = client({ [BALANCE] = { err("timeout") }, [STATUS] = {
      { status = 200, body = '{"response_code":0,"payload":{"pgReferenceNumber":20261202,"status":"SUCCESS"}}' } } })
    local payload, res = c.wallet:top_up({ amount = 10, enKashCardId = "EKCWLUAADN",
                                           uniqueReferenceNumber = "20261202" })
    assert.equals("SUCCESS", payload.status)
    assert.is_true(res.reconciled)
    assert.equals(1, sends_to(t, BALANCE))
  end)

  it("reads a page whose data is one object", function()
    local c = client({ [BALANCE] = { err("timeout") }, [STATUS] = { echo(function(ref)
      return ok({ recordsCount = 1, data = { pgReferenceNumber = ref, status = "SUCCESS", amount = 10 } })
    end) } })
    local payload, res = c.wallet:top_up(TOPUP)
    assert.equals("SUCCESS", payload.status, tostring(res))
  end)

  it("takes status words from config", function()
    local c = client({ [BALANCE] = { err("timeout") }, [STATUS] = { record("MAYBE_DONE") } },
      { status_words = { transaction = { succeeded = { "maybe_done" }, pending = {}, failed = {} } } })
    local payload = c.wallet:top_up(TOPUP)
    assert.equals("MAYBE_DONE", payload.status)
  end)
end)

describe("reconcile.record", function()
  local reconcile = require "enkash.reconcile"
  it("finds the record of a reference in an object, a list or a page, and says why when it cannot", function()
    local rec = { uniqueTransactionId = "T1", status = "SUCCESS" }
    assert.equals(rec, reconcile.record(rec, "T1"))
    assert.equals(rec, reconcile.record({ { uniqueTransactionId = "T0" }, rec }, "T1"))
    assert.equals(rec, reconcile.record({ recordsCount = 1, data = { rec } }, "T1"))
    assert.same({ nil, "absent" }, { reconcile.record({ { uniqueTransactionId = "T0" } }, "T1") })
    assert.same({ nil, "absent" }, { reconcile.record(nil, "T1") })
    assert.same({ nil, "several records" }, { reconcile.record({ rec, rec }, "T1") })
    assert.same({ nil, "no record names a reference" }, { reconcile.record({ { status = "SUCCESS" } }, "T1") })
  end)
end)
