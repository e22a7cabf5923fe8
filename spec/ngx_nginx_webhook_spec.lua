-- enkash.ngx.webhook_handler inside real nginx (2 workers): signed notifications are
-- acknowledged, tampered/malformed/stale ones refused with 400, replays acknowledged without
-- a second call of the handler (deduplicated through a lua_shared_dict), failures answered
-- 500 with the key released so that Enkash's redelivery is processed.
local cjson = require "cjson"
local core = require "enkash.core"
local webhook = require "enkash.webhook"
local app = require "helpers.ngx_app"
local fixtures = require "helpers.fixtures"

local SECRET, OLD_SECRET = "spec-webhook-secret-new", "spec-webhook-secret-old"
local CLIENT_SECRET = fixtures.creds.client_secret

local HTTP_CONF = [[
  lua_shared_dict enkash_webhooks 1m;
  lua_shared_dict spec 1m;
  lua_shared_dict tiny 12k;
  init_by_lua_block {
    local enkash_ngx = require "enkash.ngx"
    enkash_ngx.handlers.webhook = enkash_ngx.webhook_handler{
      secrets = { "]] .. SECRET .. [[", "]] .. OLD_SECRET .. [[" },
      secret = "]] .. CLIENT_SECRET .. [[",
      dict = "enkash_webhooks",
      handle = function(n)
        local calls = ngx.shared.spec:incr("calls:" .. n.uniqueTransactionId, 1, 0)
        if n.txnMsg == "slow" then ngx.sleep(0.2) end
        if n.txnMsg == "refuse once" and calls == 1 then return false end
        if n.txnMsg == "raise once" and calls == 1 then error("ledger down for 9674603714") end
        return true
      end,
    }
  }
]]

local SERVER_CONF = [[
  location = /webhook {
    client_body_buffer_size 1k; # larger notifications go through nginx's temp file
    content_by_lua_block { require("enkash.ngx").handlers.webhook() }
  }
  location = /full {
    content_by_lua_block {
      -- fill a tiny dict through dict_store until it refuses; then count what survived
      local store = require("enkash.ngx").dict_store("tiny")
      local added, refused, why = 0, 0, nil
      for i = 1, 5000 do
        local ok, err = store:add("key" .. i, 3600)
        if ok then added = added + 1 else refused, why = refused + 1, err break end
      end
      local kept = 0
      for i = 1, added do
        if store:has("key" .. i) then kept = kept + 1 end
      end
      ngx.print(require("cjson").encode({ added = added, refused = refused, why = why, kept = kept }))
    }
  }
  location = /calls {
    content_by_lua_block { ngx.print(ngx.shared.spec:get("calls:" .. ngx.var.arg_id) or 0) }
  }
]]

local seq = 0
local function fresh_id()
  seq = seq + 1
  return ("ENKWH%06d%04d"):format(seq, math.random(0, 9999))
end

-- A notification as a table (signed with `secret`) and its JSON text.
local function notification(fields, secret)
  local n = {
    uniqueTransactionId = fresh_id(), amount = 250.5, status = "SUCCESS", paymentMode = "UPI",
    txnDate = os.date("!%Y-%m-%dT%H:%M:%SZ"), transactionId = "TXN" .. seq,
  }
  for k, v in pairs(fields or {}) do n[k] = v end
  n.checksum = webhook.sign(n, secret or SECRET)
  return n, cjson.encode(n)
end

describe("enkash.ngx.webhook_handler", function()
  local srv

  setup(function()
    srv = app.app { workers = 2, http_conf = HTTP_CONF, server_conf = SERVER_CONF }
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  local function post(body, headers)
    return app.request(srv.url .. "/webhook", {
      method = "POST", body = body, headers = headers or { ["Content-Type"] = "application/json" },
    })
  end

  local function calls(id)
    return tonumber(app.request(srv.url .. "/calls?id=" .. id).body)
  end

  local function acked(res)
    assert.equal(webhook.ACK_STATUS, res.status)
    assert.equal(webhook.ack_body(), res.body)
    assert.matches("application/json", res.headers["content-type"])
  end

  local function refused(res, field)
    assert.equal(400, res.status)
    local doc = cjson.decode(res.body)
    assert.equal("FAILED", doc.status)
    assert.is_string(doc.error)
    if field then assert.equal(field, doc.field) end
    assert.is_true(#res.body < 120)
  end

  it("acknowledges a signed notification and calls the handler once", function()
    local n, body = notification()
    acked(post(body))
    assert.equal(1, calls(n.uniqueTransactionId))
  end)

  it("acknowledges a replay without calling the handler again", function()
    local n, body = notification()
    acked(post(body))
    acked(post(body))
    acked(post(body))
    assert.equal(1, calls(n.uniqueTransactionId))
  end)

  it("calls the handler once for 20 concurrent deliveries over two workers", function()
    local n, body = notification { txnMsg = "slow" }
    local results = app.fire(20, function()
      return { method = "POST", url = srv.url .. "/webhook", body = body,
               headers = { ["Content-Type"] = "application/json" } }
    end)
    for _, c in ipairs(results) do acked(c.res) end
    assert.equal(1, calls(n.uniqueTransactionId))
  end)

  it("refuses a tampered notification with 400 and keeps its key free", function()
    local n = notification()
    local signed = cjson.encode(n)
    n.amount = 25050
    local res = post(cjson.encode(n))
    refused(res, "checksum")
    assert.equal("checksum mismatch", cjson.decode(res.body).error)
    assert.equal(0, calls(n.uniqueTransactionId))
    acked(post(signed)) -- the genuine one is still processed
    assert.equal(1, calls(n.uniqueTransactionId))
  end)

  it("refuses malformed and stale notifications with 400, without secrets or PII", function()
    refused(post("{not json"))
    refused(post(""))
    refused(post(cjson.encode({ amount = 1 })))
    local _, stale = notification { txnDate = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 3 * 86400) }
    refused(post(stale), "txnDate")
    local _, pii = notification { cardHolderName = "9674603714", amount = "x" }
    local res = post(pii)
    refused(res, "amount")
    assert.is_nil(res.body:find("9674603714", 1, true))
    assert.is_nil(res.body:find(SECRET, 1, true))
  end)

  it("answers 500 and releases the key when the handler fails, so a redelivery is processed", function()
    local n, body = notification { txnMsg = "refuse once" }
    assert.equal(500, post(body).status)
    acked(post(body))
    acked(post(body))
    assert.equal(2, calls(n.uniqueTransactionId))

    n, body = notification { txnMsg = "raise once" }
    local res = post(body)
    assert.equal(500, res.status)
    assert.is_nil(res.body:find("ledger", 1, true))
    acked(post(body))
    assert.equal(2, calls(n.uniqueTransactionId))
    local log = srv:log_tail(200)
    assert.matches("webhook handler raised", log)
    assert.is_nil(log:find("9674603714", 1, true), "the mobile number reached the error log")
  end)

  it("accepts the previous secret, encrypted notifications, and bodies in nginx's temp file", function()
    local n, body = notification({}, OLD_SECRET)
    acked(post(body))
    assert.equal(1, calls(n.uniqueTransactionId))

    n, body = notification()
    acked(post(cjson.encode({ request = core.encrypt(body, CLIENT_SECRET) })))
    assert.equal(1, calls(n.uniqueTransactionId))

    n, body = notification { txnMsg = ("long message "):rep(400) } -- about 5 KB > 1k buffer
    assert.is_true(#body > 4096)
    acked(post(body))
    assert.equal(1, calls(n.uniqueTransactionId))
  end)

  it("a full dedupe dict refuses a new key instead of evicting a live one", function()
    local r = cjson.decode(app.request(srv.url .. "/full").body)
    assert.is_true(r.added > 10)
    assert.equal(1, r.refused)
    assert.equal("full", r.why)
    assert.equal(r.added, r.kept) -- every key it took is still remembered
  end)

  it("answers 405 to anything but POST", function()
    local res = app.request(srv.url .. "/webhook")
    assert.equal(405, res.status)
    assert.equal("POST", res.headers["allow"])
  end)
end)
