-- Reconciliation of money-moving calls, decision by decision, against a scripted transport:
-- each request pops the next scripted answer for its path, and every request is recorded.
local enkash = require "enkash"
local errors = require "enkash.errors"
local cjson = require "cjson"
local fx = require "helpers.fixtures"

local P = "/api/v0/partner/enKashCard"
local TOKEN = { status = 200, body = '{"access_token":"tok-1234567890","expires_in":3600}' }

local function ok(payload)
  return { status = 200, body = cjson.encode({ response_code = 0, response_message = "Success", payload = payload }) }
end
local function fail(msg)
  return { status = 200, body = cjson.encode({ response_code = 1, response_message = msg, payload = msg }) }
end
local function err(kind) return { err = errors.new(kind, kind .. " (scripted)", { retryable = true }) } end

local function scripted(script)
  local t = { sent = {}, slept = {} }
  function t.request(_, req)
    local path = req.url:match("^%a+://[^/]+([^?]*)")
    if path == "/oauth/token" then return { status = 200, headers = {}, body = TOKEN.body } end
    t.sent[#t.sent + 1] = { path = path, body = req.body, url = req.url }
    local queue = assert(script[path], "nothing scripted for " .. path)
    local answer = assert(table.remove(queue, 1), "script for " .. path .. " ran out")
    if answer.err then return nil, answer.err end
    return { status = answer.status, headers = answer.headers or {}, body = answer.body }
  end
  function t.sleep(_, s) t.slept[#t.slept + 1] = s end
  function t.close() end
  return t
end

local function client(script, extra)
  local t = scripted(script)
  local cfg = { transport = t, card_account_id = "CAC7975", reconcile_delay = 0.25, retry_base = 0.01 }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert(enkash.new(fx.config("http://127.0.0.1:9", cfg))), t
end

local function sends_to(t, path)
  local n = 0
  for _, s in ipairs(t.sent) do if s.path == path then n = n + 1 end end
  return n
end

local TOPUP = { amount = 10, enKashCardId = "EKCWLUAADN" }
local STATUS = P .. "/transaction/all"

describe("money-moving calls", function()
  it("return the reference they generated on success", function()
    local c, t = client({ [P .. "/balance"] = { ok({ otbBalance = 10 }) } })
    local payload, res = c.wallet:top_up(TOPUP)
    assert.same({ otbBalance = 10 }, payload)
    assert.matches("^ENK%x+$", res.reference)
    assert.equals(res.reference, cjson.decode(t.sent[1].body).uniqueReferenceNumber)
  end)

  it("after a timeout ask the status endpoint, and answer from it when the call took effect", function()
    local c, t = client({
      [P .. "/balance"] = { err("timeout") },
      [STATUS] = { ok({ status = "SUCCESS", pgReferenceNumber = "Ref123", otbBalance = 10 }) },
    })
    local payload, res = c.wallet:top_up(setmetatable({ uniqueReferenceNumber = "Ref123" }, { __index = TOPUP }))
    assert.equals("SUCCESS", payload.status)
    assert.is_true(res.reconciled)
    assert.equals("Ref123", res.reference)
    assert.equals("timeout", res.cause)
    assert.equals(1, sends_to(t, P .. "/balance"))
    local st = cjson.decode(t.sent[2].body)
    assert.equals("Ref123", st.pgReferenceNumber)
    assert.equals("EKCWLUAADN", st.enKashCardId)
    assert.same({ 0.25 }, t.slept) -- the reconcile delay, then no other wait
  end)

  it("send again with the same reference only when the status endpoint says it never arrived", function()
    local c, t = client({
      [P .. "/balance"] = { err("transport"), ok({ otbBalance = 10 }) },
      [STATUS] = { fail("Transaction not found") },
    })
    local payload, res = c.wallet:top_up(TOPUP)
    assert.same({ otbBalance = 10 }, payload)
    assert.equals(2, sends_to(t, P .. "/balance"))
    assert.equals(t.sent[1].body, t.sent[3].body) -- byte for byte: same reference
    assert.equals(res.reference, cjson.decode(t.sent[3].body).uniqueReferenceNumber)
  end)

  it("answer unknown_outcome, with the reference, only when the status endpoint cannot tell", function()
    local c, t = client({
      [P .. "/balance"] = { err("timeout") },
      [STATUS] = { err("timeout"), err("connect"), { status = 503, body = "<html>busy</html>" } },
    })
    local payload, e = c.wallet:top_up(TOPUP)
    assert.is_nil(payload)
    assert.equals("unknown_outcome", e.kind)
    assert.matches("^ENK", e.reference)
    assert.truthy(tostring(e):find(e.reference, 1, true))
    assert.equals(1, sends_to(t, P .. "/balance"))
    assert.equals(3, sends_to(t, STATUS)) -- the status read was retried (retries = 2)
  end)

  it("report a failure the status endpoint shows", function()
    local c = client({
      [P .. "/balance"] = { { status = 502, body = "<html>bad gateway</html>" } },
      [STATUS] = { ok({ status = "FAILED" }) },
    })
    local _, e = c.wallet:top_up(TOPUP)
    assert.equals("api", e.kind)
    assert.matches("failed: status FAILED", e.message)
    assert.is_true(e.reconciled)
  end)

  it("return a definite failure as it is, without asking the status endpoint", function()
    local c, t = client({ [P .. "/balance"] = { fail("Insufficient balance in card account") } })
    local _, e = c.wallet:top_up(TOPUP)
    assert.equals("api", e.kind)
    assert.equals("Insufficient balance in card account", e.message)
    assert.matches("^ENK", e.reference)
    assert.equals(0, sends_to(t, STATUS))
  end)

  it("send again after a refused connection or a 429, honouring Retry-After", function()
    local c, t = client({
      [P .. "/balance"] = { err("connect"), { status = 429, headers = { ["retry-after"] = "2" }, body = "" },
                            ok({ otbBalance = 1 }) },
    }, { max_sends = 3 })
    assert.truthy(c.wallet:top_up(TOPUP))
    assert.equals(3, sends_to(t, P .. "/balance"))
    assert.equals(0, sends_to(t, STATUS))
    assert.equals(2, t.slept[2])
  end)

  it("treat 'already exists' on a resend as a question for the status endpoint", function()
    local c, t = client({
      [P .. "/fund-transfer"] = { err("timeout"), fail("Transaction ID already exists") },
      [P .. "/fund-transfer/status"] = { fail("Transaction not found"), ok({ status = "SUCCESS" }) },
    })
    local payload, res = c.transfers:imps({ enKashCardId = "EKCWLUAADN", beneficiaryId = "BEN1", amount = 5 })
    assert.equals("SUCCESS", payload.status)
    assert.is_true(res.reconciled)
    assert.equals(2, sends_to(t, P .. "/fund-transfer"))
    assert.matches("uniqueTransactionId=" .. res.reference, t.sent[#t.sent].url, 1, true)
  end)

  it("never send twice when even the resend is ambiguous", function()
    local c, t = client({
      [P .. "/balance"] = { err("timeout"), err("timeout") },
      [STATUS] = { fail("Transaction not found"), fail("Transaction not found") },
    })
    local _, e = c.wallet:top_up(TOPUP)
    assert.equals("timeout", e.kind)
    assert.is_true(e.reconciled) -- the status endpoint says it never took effect
    assert.equals(2, sends_to(t, P .. "/balance"))
  end)

  it("ask first, send nothing, when resuming a call whose outcome was not recorded", function()
    local c, t = client({ [STATUS] = { ok({ status = "SUCCESS" }) } })
    local payload, res = c.wallet:top_up({ amount = 10, enKashCardId = "EKCWLUAADN", uniqueReferenceNumber = "Ref900" },
      { lookup_first = true })
    assert.equals("SUCCESS", payload.status)
    assert.is_true(res.reconciled)
    assert.equals(0, sends_to(t, P .. "/balance"))
  end)

  it("ask first, then send, when resuming a call that never arrived", function()
    local c, t = client({ [STATUS] = { fail("Transaction not found") },
                          [P .. "/balance"] = { ok({ otbBalance = 3 }) } })
    local payload = c.wallet:top_up({ amount = 10, enKashCardId = "EKCWLUAADN", uniqueReferenceNumber = "Ref901" },
      { lookup_first = true })
    assert.same({ otbBalance = 3 }, payload)
    assert.equals(1, sends_to(t, P .. "/balance"))
    assert.equals(STATUS, t.sent[1].path)
  end)

  it("make no request at all for invalid input", function()
    local c, t = client({})
    local _, e = c.wallet:top_up({ amount = 0.1 + 0.2, enKashCardId = "EKCWLUAADN" })
    assert.equals("validation", e.kind)
    assert.equals(0, #t.sent)
  end)

  it("look up merchant debits by merchantUniqueTxnId", function()
    local c, t = client({
      [P .. "/ppi-merchant-transaction"] = { err("timeout") },
      [P .. "/settlement-status"] = { ok({ status = "PENDING" }) },
    })
    local payload, res = c.merchant:debit({ merchantDetailId = "MD7GWIYV3VEMQ8KQ", enkashCardId = "EKCKIE9O2R",
      amount = "20.00", otpMedium = "MOBILE", otp = "123456", otpReferenceId = "EK0N4ERDOS" })
    assert.equals("PENDING", payload.status) -- the debit exists: its settlement is pending
    assert.is_true(res.reconciled)
    assert.equals(t.sent[2].url:match("merchantUniqueTxnId=([%w_%-]+)"), res.reference)
  end)
end)
