--- Webhooks: the Payment Notify request sent to `opts.webhook_url` after add_money, and its
-- delivery through a host-provided sender.
--
-- The body follows the Payment Gateway page's "Payment Notify Request" (docs/enkash-api.md §4.19;
-- the Wallet page was not found), plus `checksum = enkash.webhook.sign(body, secret)`.
-- Assumptions: the sandbox's payment is a UPI payment without surcharge or MDR (0), so card
-- fields are empty strings; transactionId is the load's enkashCardTxnId; the secret defaults
-- to the client secret; no acknowledgement body is documented, so any 2xx counts as delivered.
--
-- A sender is `function(msg, done)`: it POSTs msg = {url, headers, body}, retrying as it
-- sees fit, and calls `done{delivered = bool, attempts = n, status = http status | nil,
-- error = text | nil}` once, now or later. The default one blocks (enkash.core's libcurl,
-- 5 s timeout), fine in-process; inside nginx, enkash.sandbox.ngx_sender posts from a timer.
-- @module enkash.sandbox.notify

local json = require "enkash.json"
local money = require "enkash.money"
local clock = require "enkash.sandbox.clock"
local ids = require "enkash.sandbox.ids"
local options = require "enkash.sandbox.options"

local type, pcall, tostring, tonumber, pairs, ipairs = type, pcall, tostring, tonumber, pairs, ipairs

local M = {}

--- Attempts per notification: the first and up to 3 retries.
M.ATTEMPTS = 4
--- Seconds before the first retry, doubled before each next one.
M.BACKOFF = 0.5
--- Seconds a single attempt may take.
M.TIMEOUT = 5

--- Deliver with retries: call `post(msg)` (-> http status | nil, error) until a 2xx or
-- `M.ATTEMPTS` attempts, sleeping `M.BACKOFF`, doubled each time, between them.
-- @tparam table msg {url, headers, body}
-- @tparam function done the sender's completion callback
-- @tparam function post one attempt
-- @tparam function sleep seconds -> nothing (a blocking or a yielding sleep)
function M.deliver(msg, done, post, sleep)
  local status, err
  local wait = M.BACKOFF
  for attempt = 1, M.ATTEMPTS do
    status, err = post(msg)
    if type(status) == "number" and status >= 200 and status < 300 then
      return done{ delivered = true, attempts = attempt, status = status }
    end
    if attempt < M.ATTEMPTS then
      sleep(wait)
      wait = wait * 2
    end
  end
  return done{ delivered = false, attempts = M.ATTEMPTS, status = status, error = err }
end

-- One blocking POST with enkash.core's libcurl handle.
local function curl_post(msg)
  local core = require "enkash.core"
  local h = core.http{ timeout = M.TIMEOUT, connect_timeout = M.TIMEOUT }
  local res, text, kind = h:request{ method = "POST", url = msg.url, headers = msg.headers, body = msg.body }
  h:close()
  if not res then return nil, tostring(kind) .. ": " .. tostring(text) end
  return res.status, res.status >= 300 and ("HTTP " .. res.status) or nil
end

--- The default sender: blocking POSTs with retries (for in-process hosts).
-- @tparam table msg {url, headers, body}
-- @tparam function done
function M.blocking_sender(msg, done)
  M.deliver(msg, done, curl_post, require("enkash.core").sleep)
end

-- The Payment Notify body without its checksum. Amounts are decimal text here; `body` makes
-- them verbatim JSON numbers, `signed` the numbers a receiver's JSON decoder reads back.
local function document(sb, w, load)
  local amount = money.text(load.amount)
  return {
    surcharge = "0", surchargeGst = "0", amount = amount, finalAmount = amount,
    paymentMode = "UPI", bankCode = "SBXB", bankName = "Sandbox Bank", cardScheme = "",
    currency = "INR", status = "SUCCESS", transactionId = load.txn_id,
    txnMsg = "Transaction successful", txnDate = clock.iso(sb),
    uniqueTransactionId = load.reference, maskedCardNumber = "",
    cardHolderName = ((w.firstName or "") .. " " .. (w.lastName or "")):gsub("^%s+", ""):gsub("%s+$", ""),
    paymentToken = "", bankTransactionId = ids.upper(sb.core, "SBXB", 12), mdr = "0", mdrGst = "0",
    transactionAmount = amount, orderId = ids.upper(sb.core, "ORD", 12), orderStatus = "PAID",
    transactionStatus = "SUCCESS",
  }
end

--- The Payment Notify's amount fields (JSON numbers).
M.AMOUNTS = { "surcharge", "surchargeGst", "amount", "finalAmount", "mdr", "mdrGst", "transactionAmount" }

-- A copy of `doc` with each amount's text turned by `f`.
local function with_amounts(doc, f)
  local out = {}
  for k, v in pairs(doc) do out[k] = v end
  for _, k in ipairs(M.AMOUNTS) do out[k] = f(doc[k]) end
  return out
end

--- Send the Payment Notify of a successful add_money, if a webhook URL is configured.
-- The outcome is kept in the state's `notifications` list (no body: it holds PII).
-- @tparam table sb
-- @tparam table w wallet record
-- @tparam table load the load record {reference, txn_id, amount}
-- @treturn table|nil the notification record
function M.payment_notify(sb, w, load)
  local url = sb.opts.webhook_url
  if type(url) ~= "string" or url == "" then return nil end
  local list = sb.state.notifications
  local rec = { id = #list + 1, event = "payment_notify", reference = load.reference, url = url,
                status = "pending", attempts = 0 }
  list[#list + 1] = rec
  local doc = document(sb, w, load)
  -- required here, not at load time: enkash.webhook is written alongside this module
  local ok, webhook = pcall(require, "enkash.webhook")
  if not ok then
    rec.status, rec.error = "failed", "enkash.webhook is not available"
    return rec
  end
  -- tonumber of decimal text is what the receiver's decoder does too: no arithmetic on money
  local signed, checksum = pcall(webhook.sign, with_amounts(doc, tonumber),
    sb.opts.webhook_secret or sb.opts.client_secret)
  if not signed then
    rec.status, rec.error = "failed", "signing failed: " .. tostring(checksum)
    return rec
  end
  local body = with_amounts(doc, json.raw)
  body.checksum = checksum
  local msg = { url = url, body = json.encode(body), headers = { ["Content-Type"] = "application/json" } }
  local sender = sb.opts.sender or M.blocking_sender
  -- a failing sender must not fail the add_money that was applied already
  local sent, err = pcall(sender, msg, function(result)
    rec.status = result.delivered and "delivered" or "failed"
    rec.attempts, rec.http_status, rec.error = result.attempts, result.status, result.error
  end)
  if not sent then rec.status, rec.error = "failed", "sender failed: " .. tostring(err) end
  return rec
end

-- notifications (GET): {notifications = [{id, event, reference, url, status, attempts,
-- http_status, error}]}.
local function notifications(sb)
  local out = {}
  for i, r in ipairs(sb.state.notifications) do
    out[i] = { id = r.id, event = r.event, reference = r.reference, url = r.url, status = r.status,
               attempts = r.attempts, http_status = r.http_status, error = r.error }
  end
  return { notifications = json.array(out) }
end

-- webhook {url, secret}: where Payment Notify requests go (url false or "" for nowhere) and
-- the secret of their checksum.
local function set_webhook(sb, args)
  if args.url ~= nil then
    local ok, err = options.check("webhook_url", args.url)
    if not ok then return nil, err end
  end
  if args.secret ~= nil then
    local ok, err = options.check("webhook_secret", args.secret)
    if not ok then return nil, err end
  end
  if args.url ~= nil then sb.opts.webhook_url = args.url end
  if args.secret ~= nil then sb.opts.webhook_secret = args.secret end
  return { url = sb.opts.webhook_url or false, secret_set = sb.opts.webhook_secret ~= nil }
end

--- Control calls of this module.
M.controls = {
  notifications = { method = "GET", fn = notifications },
  webhook = { method = "POST", fn = set_webhook },
}

return M
