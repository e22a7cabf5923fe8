-- enkash.webhook: parse, verify (assumed HMAC checksum), decrypt, staleness, dedupe, ack.
local webhook = require "enkash.webhook"
local core = require "enkash.core"
local cjson = require "cjson.safe"
local fx = require "helpers.fixtures"

local SECRET = "spec-webhook-secret-2f9d41"         -- the webhook (checksum) secret
local OLD_SECRET = "spec-webhook-secret-old-83c1e0" -- the one being rotated out
local CLIENT_SECRET = fx.creds.client_secret       -- decrypts the {"request": ...} envelope
local TXN_TIME = 1714538730                         -- 2024-05-01T10:15:30+05:30

-- A JSON encoder that writes numbers exactly (cjson stops at 14 digits).
local enc = require "enkash.json"

local function now_fn(t) return function() return t end end
local function opts(extra)
  local o = { secrets = SECRET, secret = CLIENT_SECRET, now = now_fn(TXN_TIME + 60) }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- A sample body with insignificant whitespace, amounts as the portal writes them (100.50)
-- and an unknown extra field; "%s" is the checksum.
local TEMPLATE = [[
{
  "surcharge": 0, "surchargeGst": 0.00, "amount": 100.50, "finalAmount": 100.50,
  "paymentMode": "UPI", "bankCode": "HDFC", "bankName": "HDFC Bank", "currency": "INR",
  "checksum": "%s", "status": "SUCCESS", "transactionId": "EKT1234567",
  "txnMsg": "Transaction successful", "txnDate": "2024-05-01T10:15:30+05:30",
  "uniqueTransactionId": "UTX-20240501-0001", "maskedCardNumber": "XXXXXXXXXXXX1234",
  "mdr": 1.25, "mdrGst": 0.23, "transactionAmount": 100.50, "orderId": "ORD-77",
  "orderStatus": "PAID", "transactionStatus": "SUCCESS", "partnerNote": true
}
]]

local function signed_body(secret)
  local doc = assert(cjson.decode(TEMPLATE:format("x")))
  return TEMPLATE:format(webhook.sign(doc, secret or SECRET))
end

-- A minimal valid notification as a table; sign it after changes with `body_of`.
local function base_doc(changes)
  local d = {
    amount = 250.75, status = "SUCCESS", uniqueTransactionId = "UTX-MIN-0001",
    txnDate = "2024-05-01T10:15:30+05:30", paymentMode = "UPI",
  }
  for k, v in pairs(changes or {}) do d[k] = v end
  return d
end
local function body_of(doc, secret)
  doc.checksum = nil
  doc.checksum = webhook.sign(doc, secret or SECRET)
  return enc.encode(doc)
end

-- Every error is checked for leaks: no secret, no checksum of the sample.
local leak_needles = { SECRET, OLD_SECRET, CLIENT_SECRET }
local function assert_clean(err)
  local text = tostring(err) .. " " .. tostring(err.message)
  for _, s in ipairs(leak_needles) do
    assert.is_nil(text:find(s, 1, true), "error text holds a secret: " .. text)
  end
  assert.is_nil(text:find("%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x"),
    "error text holds a checksum-like hex run: " .. text)
end
local function refused(kind, field, n, err)
  assert.is_nil(n)
  assert.is_table(err, "expected an error object")
  assert_clean(err)
  assert.equal(kind, err.kind, tostring(err))
  if field then
    assert.equal(field, err.field, tostring(err))
    assert.truthy(err.message:find(field, 1, true), "message names the field: " .. err.message)
  end
  return err
end

describe("webhook", function()
  describe("canonical and sign", function()
    it("sorts the fields, skips checksum, null and nested values", function()
      local doc = { b = "x", a = 1, c = true, d = false, checksum = "zz", e = cjson.null, f = { 1 },
                    B = "upper", amount = 100.5, sum = 0.1 + 0.2, big = 1e21 }
      assert.equal("B=upper|a=1|amount=100.5|b=x|big=1e+21|c=true|d=false|sum=0.30000000000000004",
        webhook.canonical(doc))
    end)

    it("gives the same string for 100.5 and 100.50, whatever the whitespace", function()
      local a = assert(cjson.decode('{"amount":100.5,"x":"y"}'))
      local b = assert(cjson.decode('{ "x" : "y" ,\n "amount" : 100.50 }'))
      assert.equal(webhook.canonical(a), webhook.canonical(b))
    end)

    it("matches a known-answer HMAC-SHA256 vector (computed with Python's hmac)", function()
      local doc = { amount = 100.5, status = "SUCCESS", uniqueTransactionId = "U1",
                    txnDate = "2024-05-01T10:15:30Z", checksum = "ignored" }
      assert.equal("209dd5535f36d60383bc120cfc07d71f254856a5639ae1cc99af83575d485d1f", webhook.sign(doc, "k"))
    end)

    it("raises on misuse", function()
      assert.has_error(function() webhook.canonical("x") end)
      assert.has_error(function() webhook.sign({}, "") end)
      assert.has_error(function() webhook.sign({}, nil) end)
      assert.has_error(function() webhook.hmac_verifier({}) end)
      assert.has_error(function() webhook.hmac_verifier({ "ok", 5 }) end)
      assert.has_error(function() webhook.hmac_verifier(nil) end)
    end)
  end)

  describe("parse", function()
    it("accepts a valid notification and converts every amount to paise", function()
      local n, err = webhook.parse(signed_body(), { ["Content-Type"] = "application/json" }, opts())
      assert.is_nil(err)
      assert.equal("SUCCESS", n.status)
      assert.equal("UTX-20240501-0001", n.uniqueTransactionId)
      assert.equal(10050, n.amount_paise)
      assert.equal(10050, n.finalAmount_paise)
      assert.equal(10050, n.transactionAmount_paise)
      assert.equal(0, n.surcharge_paise)
      assert.equal(0, n.surchargeGst_paise)
      assert.equal(125, n.mdr_paise)
      assert.equal(23, n.mdrGst_paise)
      assert.equal(TXN_TIME, n.txn_time)
      assert.is_true(n.partnerNote)               -- unknown fields pass through
      assert.equal(100.5, n.amount)               -- the decoded value, untouched
    end)

    it("accepts the encrypted envelope {\"request\": \"<base64>\"}", function()
      local body = enc.encode({ request = core.encrypt(signed_body(), CLIENT_SECRET) })
      local n, err = webhook.parse(body, nil, opts())
      assert.is_nil(err)
      local plain = assert(webhook.parse(signed_body(), nil, opts()))
      assert.same(plain, n)
    end)

    it("refuses an envelope it cannot decrypt, or without a client secret", function()
      local body = enc.encode({ request = core.encrypt(signed_body(), CLIENT_SECRET) })
      refused("crypto", nil, webhook.parse(body, nil, opts({ secret = "not-the-client-secret" })))
      local o = opts()
      o.secret = nil
      refused("crypto", nil, webhook.parse(body, nil, o))
      refused("crypto", nil, webhook.parse('{"request":"!!not base64!!"}', nil, opts()))
      local garbage = enc.encode({ request = core.encrypt("not json", CLIENT_SECRET) })
      refused("crypto", nil, webhook.parse(garbage, nil, opts()))
    end)

    it("still needs the checksum inside the envelope (ECB is not authentication)", function()
      local body = enc.encode({ request = core.encrypt(signed_body(OLD_SECRET), CLIENT_SECRET) })
      local err = refused("auth", nil, webhook.parse(body, nil, opts()))
      assert.equal("checksum mismatch", err.message)
    end)

    it("rejects every single-byte tampering of the body that changes its data", function()
      local body = signed_body()
      local base = assert(webhook.parse(body, nil, opts()))
      local accepted, rejected, tried = 0, 0, 0
      local function mutations(b)
        local list = { (b + 1) % 256, (b + 255) % 256, 32, 34, 48, 65, 125 }
        if b >= 65 and b <= 90 then list[#list + 1] = b + 32 end
        if b >= 97 and b <= 122 then list[#list + 1] = b - 32 end
        return list
      end
      for i = 1, #body do
        for _, m in ipairs(mutations(body:byte(i))) do
          if m ~= body:byte(i) then
            tried = tried + 1
            local t = body:sub(1, i - 1) .. string.char(m) .. body:sub(i + 1)
            local n, err = webhook.parse(t, nil, opts())
            if n then
              accepted = accepted + 1
              assert.same(base, n, ("byte %d -> %d changed the data and passed"):format(i, m))
            else
              rejected = rejected + 1
              assert_clean(err)
              assert.truthy(err.kind == "validation" or err.kind == "auth", tostring(err))
            end
          end
        end
      end
      assert.is_true(tried >= 6 * #body)
      assert.is_true(rejected > accepted) -- only whitespace-like changes may pass
    end)

    it("rejects tampering with the encrypted envelope", function()
      local b64 = core.encrypt(signed_body(), CLIENT_SECRET)
      local base = assert(webhook.parse(enc.encode({ request = b64 }), nil, opts()))
      local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
      for i = 1, #b64 do
        local c = b64:sub(i, i)
        if c ~= "=" then
          local k = alphabet:find(c, 1, true)
          local r = alphabet:sub(k % 64 + 1, k % 64 + 1)
          local t = b64:sub(1, i - 1) .. r .. b64:sub(i + 1)
          local n, err = webhook.parse(enc.encode({ request = t }), nil, opts())
          if n then
            assert.same(base, n)
          else
            assert_clean(err)
          end
        end
      end
    end)

    it("rejects a checksum made with another secret, and an uppercase checksum", function()
      local err = refused("auth", nil, webhook.parse(signed_body("some-other-secret"), nil, opts()))
      assert.equal("checksum mismatch", err.message)
      assert.equal("checksum", err.field)
      local doc = base_doc()
      local body = body_of(doc):gsub(doc.checksum, doc.checksum:upper())
      refused("auth", nil, webhook.parse(body, nil, opts()))
    end)

    it("accepts any secret of a rotation list, and no removed one", function()
      local by_old, by_new = signed_body(OLD_SECRET), signed_body(SECRET)
      local rotating = opts({ secrets = { SECRET, OLD_SECRET } })
      assert.truthy(webhook.parse(by_old, nil, rotating))
      assert.truthy(webhook.parse(by_new, nil, rotating))
      local after = opts({ secrets = { SECRET } })
      assert.truthy(webhook.parse(by_new, nil, after))
      refused("auth", nil, webhook.parse(by_old, nil, after))
      local v = webhook.hmac_verifier({ SECRET, OLD_SECRET })
      assert.is_true(v(assert(cjson.decode(by_old))))
      assert.is_false(v({ checksum = 5 }))
      assert.is_false(v("nope"))
    end)

    it("names a missing required field (also when null or empty)", function()
      for _, name in ipairs({ "status", "uniqueTransactionId", "amount", "txnDate" }) do
        local doc = base_doc()
        doc[name] = nil
        refused("validation", name, webhook.parse(body_of(doc), nil, opts()))
        doc = base_doc({ [name] = cjson.null })
        refused("validation", name, webhook.parse(body_of(doc), nil, opts()))
      end
      local doc = base_doc()
      local body = enc.encode(doc) -- no checksum at all
      refused("validation", "checksum", webhook.parse(body, nil, opts()))
      refused("validation", "status", webhook.parse(body_of(base_doc({ status = "" })), nil, opts()))
    end)

    it("names a field of the wrong type, for every field of the template", function()
      for _, f in ipairs(webhook.fields) do
        if f.name ~= "checksum" then
          local wrong = f.type == "number" and "100" or 5
          refused("validation", f.name, webhook.parse(body_of(base_doc({ [f.name] = wrong })), nil, opts()))
        end
      end
      local doc = base_doc()
      local body = body_of(doc):gsub('"checksum":"%x+"', '"checksum":12')
      refused("validation", "checksum", webhook.parse(body, nil, opts()))
    end)

    it("lets optional fields be absent or null, and moves nested values to .unsigned", function()
      local n = assert(webhook.parse(body_of(base_doc({ bankCode = cjson.null, extra = { a = 1 } })),
        nil, opts()))
      assert.is_nil(n.bankCode)
      assert.is_nil(n.extra)
      assert.same({ extra = { a = 1 } }, n.unsigned)
      assert.equal(25075, n.amount_paise)
      assert.is_nil(n.mdr_paise)
    end)

    it("refuses amounts that are not exact rupees and paise", function()
      refused("validation", "amount", webhook.parse(body_of(base_doc({ amount = 0.1 + 0.2 })), nil, opts()))
      refused("validation", "amount", webhook.parse(body_of(base_doc({ amount = 100.505 })), nil, opts()))
      refused("validation", "amount", webhook.parse(body_of(base_doc({ amount = 0 })), nil, opts()))
      refused("validation", "amount", webhook.parse(body_of(base_doc({ amount = -5 })), nil, opts()))
      refused("validation", "mdr", webhook.parse(body_of(base_doc({ mdr = 0.1 + 0.2 })), nil, opts()))
      refused("validation", "surcharge", webhook.parse(body_of(base_doc({ surcharge = -1 })), nil, opts()))
      -- paise come from the text as sent: write 0.3 as a person would (the spec's encoder
      -- writes a float's 17 digits, which the webhook rightly refuses)
      local text = body_of(base_doc({ amount = 0.3, mdr = 0 })):gsub('"amount":0%.29999999999999999', '"amount":0.3')
      local n = assert(webhook.parse(text, nil, opts()))
      assert.equal(30, n.amount_paise)
      assert.equal(0, n.mdr_paise)
      -- the body as Enkash would write it: 0.30000000000000004 is refused, not rounded
      local body = body_of(base_doc({ amount = 0.5 })):gsub('"amount":0%.5', '"amount":0.30000000000000004')
      refused("validation", "amount", webhook.parse(body, nil, opts()))
    end)

    it("refuses malformed JSON, non-objects and an empty body", function()
      for _, body in ipairs({ "{", '{"amount":}', "nul", "[1,2]", '"text"', "42", '{"a":1} x',
                              '{"amount":0x10}', '{"amount":NaN}' }) do
        refused("validation", nil, webhook.parse(body, nil, opts()))
      end
      refused("validation", nil, webhook.parse("", nil, opts()))
      refused("validation", nil, webhook.parse(nil, nil, opts()))
    end)

    it("refuses a body over 1 MiB before decoding it", function()
      local doc = base_doc({ txnMsg = string.rep("a", 1024 * 1024) })
      local err = refused("validation", nil, webhook.parse(body_of(doc), nil, opts()))
      assert.truthy(err.message:find("larger than", 1, true))
      refused("validation", nil, webhook.parse(string.rep(" ", 1024 * 1024 + 1), nil, opts()))
      -- a smaller limit
      refused("validation", nil, webhook.parse(body_of(base_doc()), nil, opts({ max_bytes = 50 })))
    end)

    it("refuses a stale or future txnDate, within bounds, unless max_age = false", function()
      local body = body_of(base_doc())
      assert.truthy(webhook.parse(body, nil, opts({ now = now_fn(TXN_TIME + 172800) })))
      refused("validation", "txnDate", webhook.parse(body, nil, opts({ now = now_fn(TXN_TIME + 172801) })))
      assert.truthy(webhook.parse(body, nil, opts({ now = now_fn(TXN_TIME - 300) })))
      refused("validation", "txnDate", webhook.parse(body, nil, opts({ now = now_fn(TXN_TIME - 301) })))
      refused("validation", "txnDate",
        webhook.parse(body, nil, opts({ now = now_fn(TXN_TIME + 3601), max_age = 3600 })))
      assert.truthy(webhook.parse(body, nil, opts({ now = now_fn(TXN_TIME + 1e9), max_age = false })))
      -- the default clock: os.time; this 2024 notification is stale today
      local o = opts()
      o.now = nil
      refused("validation", "txnDate", webhook.parse(body, nil, o))
    end)

    it("checks the checksum before staleness, and fields before the checksum", function()
      local stale = opts({ now = now_fn(TXN_TIME + 1e7) })
      refused("auth", nil, webhook.parse(signed_body("wrong-secret"), nil, stale))
      refused("validation", "amount", webhook.parse(body_of(base_doc({ amount = "1" }), "wrong-secret"), nil, opts()))
    end)

    it("refuses everything when no checksum verifier is configured", function()
      local previous = webhook.set_default_verifier(nil)
      local err = refused("validation", nil, webhook.parse(signed_body(), nil, { now = now_fn(TXN_TIME) }))
      assert.equal("no checksum verifier configured", err.message)
      refused("validation", nil, webhook.parse(signed_body(), nil, nil))
      webhook.set_default_verifier(previous)
    end)

    it("uses the default verifier when set, opts.verifier first", function()
      local previous = webhook.set_default_verifier(webhook.hmac_verifier(SECRET))
      local ok, e = pcall(function()
        assert.truthy(webhook.parse(signed_body(), nil, { now = now_fn(TXN_TIME) }))
        refused("auth", nil, webhook.parse(signed_body(OLD_SECRET), nil, { now = now_fn(TXN_TIME) }))
        -- opts.secrets wins over the default, opts.verifier over both
        assert.truthy(webhook.parse(signed_body(OLD_SECRET), nil, { secrets = OLD_SECRET, now = now_fn(TXN_TIME) }))
        refused("auth", nil, webhook.parse(signed_body(), nil, { secrets = SECRET, now = now_fn(TXN_TIME),
                                                    verifier = function() return false end }))
      end)
      webhook.set_default_verifier(previous)
      assert(ok, e)
      assert.has_error(function() webhook.set_default_verifier("x") end)
    end)

    it("hands a custom verifier the document, the raw body and lower-cased headers", function()
      local body = body_of(base_doc())
      local seen
      local function verifier(doc, raw, headers)
        seen = { doc = doc, raw = raw, headers = headers }
        return headers["x-shared-secret"] == "s3"
      end
      assert.truthy(webhook.parse(body, { ["X-Shared-Secret"] = "s3" }, opts({ verifier = verifier })))
      assert.equal(body, seen.raw)
      assert.equal("UTX-MIN-0001", seen.doc.uniqueTransactionId)
      refused("auth", nil, webhook.parse(body, { ["X-Shared-Secret"] = "no" }, opts({ verifier = verifier })))
      refused("auth", nil, webhook.parse(body, nil, opts({ verifier = verifier })))
      -- only `true` passes; a raising verifier is a refusal whose text does not repeat its error
      refused("auth", nil, webhook.parse(body, nil, opts({ verifier = function() return 1 end })))
      local err = refused("auth", nil, webhook.parse(body, nil, opts({ verifier = function() error(SECRET) end })))
      assert.is_nil(tostring(err):find(SECRET, 1, true))
    end)

    it("answers misuse with a validation error naming the argument, never a raise", function()
      refused("validation", "raw_body", webhook.parse({}, nil, opts()))
      refused("validation", "headers", webhook.parse("{}", "headers", opts()))
      refused("validation", "opts", webhook.parse("{}", nil, { secret = SECRET, sekrets = SECRET }))
      refused("validation", "max_age", webhook.parse("{}", nil, { secrets = SECRET, max_age = "1" }))
      refused("validation", "verifier", webhook.parse("{}", nil, { verifier = "x" }))
      refused("validation", "secrets", webhook.parse("{}", nil, { secrets = {} }))
      refused("validation", "opts", webhook.parse("{}", nil, "opts"))
    end)

    it("never puts a secret, the checksum or the card holder's data into an error", function()
      local doc = base_doc({ txnMsg = "paid by 9674603714, PAN ABCDE1234F" })
      local body = body_of(doc, "another-secret")
      local err = refused("auth", nil, webhook.parse(body, nil, opts()))
      assert.is_nil(tostring(err):find(doc.checksum, 1, true))
      assert.is_nil(tostring(err):find("9674603714", 1, true))
      err = refused("validation", nil, webhook.parse('{"mobile": 9674603714 oops}', nil, opts()))
      assert.is_nil(tostring(err):find("9674603714", 1, true))
    end)
  end)

  describe("parse_time", function()
    it("reads the accepted spellings; no offset means IST", function()
      for _, s in ipairs({ "2024-05-01T10:15:30+05:30", "2024-05-01 10:15:30", "2024-05-01T10:15:30",
                           "2024-05-01T10:15:30.123", "2024-05-01T04:45:30Z", "2024-05-01 04:45:30.5Z",
                           "2024-04-30T23:45:30-05:00", "2024-05-01T04:45:30+00:00" }) do
        assert.equal(TXN_TIME, webhook.parse_time(s), s)
      end
      assert.equal(951782400, webhook.parse_time("2000-02-29T00:00:00Z"))
      assert.equal(-1, webhook.parse_time("1969-12-31T23:59:59Z"))
    end)

    it("refuses anything else, without raising", function()
      for _, s in ipairs({ "2024-05-01", "2024-05-01T10:15", "2024-02-30T00:00:00", "2023-02-29T00:00:00",
                           "2024-13-01T00:00:00", "2024-05-01T24:00:00", "2024-05-01T10:15:30+0530",
                           "2024-05-01T10:15:30 IST", "01-05-2024 10:15:30", "2024-05-01t10:15:30", "" }) do
        local t, why = webhook.parse_time(s)
        assert.is_nil(t, s)
        assert.is_string(why)
      end
      assert.is_nil(webhook.parse_time(5))
      assert.is_nil(webhook.parse_time(nil))
    end)
  end)

  describe("dedupe", function()
    local function parsed(changes)
      return assert(webhook.parse(body_of(base_doc(changes)), nil, opts()))
    end

    it("processes a replay and a double send once", function()
      local d = webhook.dedupe()
      local calls = 0
      local function handle(n) calls = calls + 1; return "done", n.amount_paise end
      local body = body_of(base_doc())
      local first = assert(webhook.parse(body, nil, opts()))
      local r1, r2 = d:once(first, handle)
      assert.equal("done", r1)
      assert.equal(25075, r2)
      -- the same body delivered again (replay)
      local again = assert(webhook.parse(body, nil, opts()))
      local r, why = d:once(again, handle)
      assert.is_nil(r)
      assert.equal("duplicate", why)
      -- a second send of the same transaction with another message
      assert.same({ nil, "duplicate" }, { d:once(parsed({ txnMsg = "resent" }), handle) })
      assert.equal(1, calls)
      assert.is_true(d:seen("UTX-MIN-0001"))
      assert.is_false(d:seen("UTX-OTHER"))
      -- another transaction is processed
      assert.equal("done", (d:once(parsed({ uniqueTransactionId = "UTX-OTHER" }), handle)))
      assert.equal(2, calls)
    end)

    it("releases the key when fn fails, so a redelivery is processed", function()
      local d = webhook.dedupe()
      local n = parsed()
      local r, e = d:once(n, function() return nil, "db down" end)
      assert.is_nil(r)
      assert.equal("db down", e)
      assert.is_false(d:seen(n.uniqueTransactionId))
      assert.is_false((d:once(n, function() return false end)))
      assert.has_error(function() d:once(n, function() error("boom") end) end, "boom")
      local ok, raised = pcall(d.once, d, n, function() error({ code = 7 }) end)
      assert.is_false(ok)
      assert.same({ code = 7 }, raised)
      assert.is_false(d:seen(n.uniqueTransactionId))
      assert.is_true(d:once(n, function() return true end))
      assert.same({ nil, "duplicate" }, { d:once(n, function() return true end) })
    end)

    it("forgets a key after its ttl (injected clock)", function()
      local t = 1000
      local store = webhook.memory_store({ now = function() return t end })
      local d = webhook.dedupe({ store = store, ttl = 10 })
      local n = parsed()
      local calls = 0
      local function handle() calls = calls + 1; return true end
      assert.is_true(d:once(n, handle))
      t = 1009
      assert.is_nil((d:once(n, handle)))
      assert.is_true(d:seen(n.uniqueTransactionId))
      t = 1010
      assert.is_false(d:seen(n.uniqueTransactionId))
      assert.is_true(d:once(n, handle))
      assert.equal(2, calls)
      assert.equal(1, store:count())
    end)

    it("defaults to a 7-day ttl", function()
      local t = 0
      local d = webhook.dedupe({ store = webhook.memory_store({ now = function() return t end }) })
      local n = parsed()
      assert.is_true(d:once(n, function() return true end))
      t = 7 * 24 * 3600 - 1
      assert.is_true(d:seen(n.uniqueTransactionId))
      t = 7 * 24 * 3600
      assert.is_false(d:seen(n.uniqueTransactionId))
      assert.equal(604800, webhook.DEDUPE_TTL)
    end)

    it("the memory store caps its size: full of live keys it refuses a new one, never evicts", function()
      local t = 0
      local s = webhook.memory_store({ max_keys = 3, now = function() return t end })
      assert.is_true(s:add("a", 100))
      assert.is_true(s:add("b", 100))
      assert.is_true(s:add("c", 100))
      assert.is_false(s:add("b", 100))
      local r, why = s:add("d", 100)
      assert.is_nil(r)
      assert.matches("^full", why)
      assert.equal(3, s:count())
      assert.is_true(s:has("a") and s:has("b") and s:has("c"))
      assert.is_false(s:has("d"))
      s:delete("c")
      assert.equal(2, s:count())
      assert.is_true(s:add("e", 100))
      assert.is_true(s:has("b"))
      t = 200 -- every key past its ttl: room again
      assert.is_true(s:add("f", 100))
      assert.equal(1, s:count())
    end)

    -- Issue 11: with eviction, a replay of the oldest notification after max_keys others, still
    -- inside parse's max_age, was handled again. Scaled down: 5 keys, the 2-day max_age.
    it("a replay inside max_age after max_keys other notifications is not handled again", function()
      local t = TXN_TIME + 60
      local store = webhook.memory_store({ max_keys = 5, now = function() return t end })
      local d = webhook.dedupe({ store = store, ttl = webhook.MAX_AGE + webhook.FUTURE_SKEW })
      local handled = {}
      local function handle(n)
        handled[n.uniqueTransactionId] = (handled[n.uniqueTransactionId] or 0) + 1
        return true
      end
      assert.is_true(d:once(parsed({ uniqueTransactionId = "UTX-FIRST" }), handle))
      for i = 1, 4 do assert.is_true(d:once(parsed({ uniqueTransactionId = "UTX-" .. i }), handle)) end
      -- a sixth transaction finds the store full of live keys: refused, retryable, not handled
      local r, err = d:once(parsed({ uniqueTransactionId = "UTX-SIXTH" }), handle)
      assert.is_nil(r)
      assert.equal("transport", err.kind)
      assert.is_true(err.retryable)
      assert.matches("full", err.message)
      assert.is_nil(handled["UTX-SIXTH"])
      -- the replay of the first, a day later (inside max_age): still a duplicate
      t = t + 86400
      local first = assert(webhook.parse(body_of(base_doc({ uniqueTransactionId = "UTX-FIRST" })), nil,
        opts({ now = function() return t end })))
      assert.same({ nil, "duplicate" }, { d:once(first, handle) })
      assert.equal(1, handled["UTX-FIRST"])
      -- once the keys are past their ttl, Enkash's redelivery of the sixth goes through
      t = TXN_TIME + 60 + webhook.MAX_AGE + webhook.FUTURE_SKEW
      assert.is_true(d:once(parsed({ uniqueTransactionId = "UTX-SIXTH" }), handle))
      assert.equal(1, handled["UTX-SIXTH"])
      -- and a replay of the first now is stale for parse: refused before dedupe is asked
      local stale, serr = webhook.parse(body_of(base_doc({ uniqueTransactionId = "UTX-FIRST" })), nil,
        opts({ now = function() return t end }))
      assert.is_nil(stale)
      assert.equal("txnDate", serr.field)
    end)

    it("finds expired keys behind live ones (mixed ttls) before it refuses", function()
      local t = 0
      local s = webhook.memory_store({ max_keys = 3, now = function() return t end })
      assert.is_true(s:add("long", 100))
      assert.is_true(s:add("short1", 5))
      assert.is_true(s:add("short2", 5))
      assert.is_nil((s:add("x", 5)))  -- full, nothing expired: refused (and a sweep recorded)
      t = 5                           -- the two short keys expired, behind the live "long"
      assert.is_true(s:add("x", 1))
      assert.is_true(s:add("y", 100))
      assert.is_nil((s:add("z", 100)))
      t = 6                           -- "x" (ttl 1, added after the last sweep) expired
      assert.is_true(s:add("z", 100))
      assert.is_true(s:has("long") and s:has("y") and s:has("z"))
    end)

    -- Against a model that states the rule: a key is live while now < its expiry; add refuses
    -- (nil) exactly when the key is not live and the live keys fill the store.
    it("walks random adds, deletes and clock steps: the store never forgets a live key", function()
      local state = 42
      local function pick(n)
        state = state * 16807 % 2147483647 -- exact in doubles (LuaJIT) and integers
        return state % n + 1
      end
      local MAX, t = 8, 0
      local store = webhook.memory_store({ max_keys = MAX, now = function() return t end })
      local model = {}
      local function live_count()
        local n = 0
        for _, e in pairs(model) do if e > t then n = n + 1 end end
        return n
      end
      local TTLS, STEPS = { 1, 5, 10, 50 }, { 0, 0, 1, 3, 7 }
      local steps, refusals = 20000, 0
      for i = 1, steps do
        local key, op = "k" .. pick(20), pick(10)
        if op <= 6 then
          local ttl = TTLS[pick(#TTLS)]
          local want
          if model[key] and model[key] > t then
            want = false
          elseif live_count() >= MAX then
            want = nil
          else
            want = true
            model[key] = t + ttl
          end
          local got = store:add(key, ttl)
          if got ~= want then error(("step %d: add(%s) gave %s, the model %s"):format(i, key, tostring(got),
            tostring(want))) end
          if want == nil then refusals = refusals + 1 end
        elseif op <= 7 then
          store:delete(key)
          model[key] = nil
        else
          t = t + STEPS[pick(#STEPS)]
        end
        for k = 1, 20 do
          local name = "k" .. k
          if store:has(name) ~= (model[name] ~= nil and model[name] > t) then
            error(("step %d: has(%s) disagrees with the model"):format(i, name))
          end
        end
        assert(store:count() <= MAX, "over the cap")
      end
      assert.is_true(refusals > 100, "the walk must fill the store: " .. refusals .. " refusals")
      print(("  dedupe walk: %d steps, %d refusals"):format(steps, refusals))
    end)

    it("takes any store with the add/delete contract, and a custom key", function()
      local keys, log = {}, {}
      local store = {
        add = function(_, key, ttl)
          log[#log + 1] = key .. "/" .. ttl
          if keys[key] then return false end
          keys[key] = true
          return true
        end,
        delete = function(_, key) keys[key] = nil end,
      }
      local d = webhook.dedupe({ store = store, ttl = 60,
                                 key = function(n) return n.uniqueTransactionId .. "|" .. n.status end })
      assert.is_true(d:once(parsed({ status = "PENDING" }), function() return true end))
      assert.is_true(d:once(parsed({ status = "SUCCESS" }), function() return true end))
      assert.is_nil((d:once(parsed({ status = "SUCCESS" }), function() return true end)))
      assert.same({ "UTX-MIN-0001|PENDING/60", "UTX-MIN-0001|SUCCESS/60", "UTX-MIN-0001|SUCCESS/60" }, log)
      assert.has_error(function() d:seen("x") end) -- no has()
    end)

    it("reports a failing store as an error, not as a duplicate", function()
      local d = webhook.dedupe({ store = { add = function() return nil, "no memory" end, delete = function() end } })
      local called = false
      local r, err = d:once(parsed(), function() called = true; return true end)
      assert.is_nil(r)
      assert.equal("transport", err.kind)
      assert.is_false(called)
    end)

    it("raises on misuse", function()
      assert.has_error(function() webhook.dedupe({ store = {} }) end)
      assert.has_error(function() webhook.dedupe({ ttl = 0 }) end)
      assert.has_error(function() webhook.dedupe({ key = "id" }) end)
      assert.has_error(function() webhook.memory_store({ max_keys = 0 }) end)
      local d = webhook.dedupe()
      assert.has_error(function() d:once({}, function() end) end)
      assert.has_error(function() d:once(parsed(), "fn") end)
    end)
  end)

  describe("ack and assumptions", function()
    it("acknowledges with HTTP 200 and {\"status\":\"SUCCESS\"}", function()
      assert.equal(200, webhook.ACK_STATUS)
      assert.equal('{"status":"SUCCESS"}', webhook.ack_body())
      assert.same({ status = "SUCCESS" }, cjson.decode(webhook.ack_body()))
      assert.equal(200, webhook.ack.status)
      assert.equal(webhook.ack_body(), webhook.ack.body)
    end)

    it("lists every assumption with a reason, and the template's fields once", function()
      assert.is_true(#webhook.assumptions >= 10)
      for _, a in ipairs(webhook.assumptions) do
        assert.is_string(a.what)
        assert.is_string(a.choice)
        assert.is_string(a.reason)
      end
      local names, required = {}, {}
      for _, f in ipairs(webhook.fields) do
        assert.is_nil(names[f.name], f.name)
        names[f.name] = f.type
        if f.required then required[#required + 1] = f.name end
      end
      assert.equal(25, #webhook.fields)
      assert.equal("number", names.finalAmount)
      assert.equal("string", names.txnDate)
      table.sort(required)
      assert.same({ "amount", "checksum", "status", "txnDate", "uniqueTransactionId" }, required)
    end)

    it("is reachable from the enkash module", function()
      local enkash = require "enkash"
      assert.equal(webhook, enkash.webhook)
      assert.equal(require "enkash.statuses", enkash.statuses)
    end)
  end)
end)
