--- Webhooks: the Wallet "Payment Notify Request" that Enkash POSTs to the partner.
-- The Wallet page of this webhook was not found; its body follows the Payment Gateway page of
-- the same name (docs/enkash-api.md §4.19). The portal does not say how its `checksum` is computed
-- nor what the acknowledgement is (§5.5), so those are assumptions, listed in `M.assumptions`.
--
--    local webhook = require "enkash.webhook"
--    local n, err = webhook.parse(body, headers, { secrets = { new_secret, old_secret },
--                                                  secret = client_secret })
--    if not n then return 400 end           -- err.kind: validation | crypto | auth
--    local d = webhook.dedupe()             -- create once per process, not per request
--    local done, why = d:once(n, function(n) credit(n.uniqueTransactionId, n.amount_paise) return true end)
--    if not done and why ~= "duplicate" then return 500 end -- not handled, or the store is full
--    return webhook.ACK_STATUS, webhook.ack_body()
--
-- Works under Lua 5.4 and LuaJIT (inside nginx too): no blocking call, no 5.4-only syntax.
-- @module enkash.webhook

local core = require "enkash.core"
local errors = require "enkash.errors"
local money = require "enkash.money"
local redact = require "enkash.redact"
local amounts = require "enkash.amounts"
local dedupe = require "enkash.webhook.dedupe"
local cjson = require "cjson.safe"

local type, pairs, ipairs, pcall, tonumber, tostring, error, os_time, floor =
  type, pairs, ipairs, pcall, tonumber, tostring, error, os.time, math.floor
local byte, format, gsub, match, lower = string.byte, string.format, string.gsub, string.match,
  string.lower
local concat, sort = table.concat, table.sort

-- A private, strict decoder: no hex numbers, NaN or Infinity (cjson accepts them by default).
local json = cjson.new()
json.decode_invalid_numbers(false)
json.decode_max_depth(32)
local null = cjson.null

local M = {}

--- Largest raw body accepted, in bytes (1 MiB); `opts.max_bytes` overrides it.
M.MAX_BODY = 1024 * 1024
--- Default `max_age`: a notification whose txnDate is older than this (seconds) is stale.
M.MAX_AGE = 172800
--- How far (seconds) a txnDate may lie in the future of the receiver's clock.
M.FUTURE_SKEW = 300
--- The acknowledgement's HTTP status (an assumption, see `M.assumptions`).
M.ACK_STATUS = 200
--- Default time a delivered uniqueTransactionId is remembered by `dedupe` (7 days).
M.DEDUPE_TTL = dedupe.DEFAULT_TTL

local ACK_BODY = '{"status":"SUCCESS"}'

--- The acknowledgement to send back: `{status = 200, body = '{"status":"SUCCESS"}',
-- content_type = "application/json"}` (an assumption, see `M.assumptions`).
M.ack = { status = M.ACK_STATUS, body = ACK_BODY, content_type = "application/json" }

--- The notification's fields, in the order of the portal's template (docs/enkash-api.md §4.19):
-- name, JSON type, whether it is required (assumed, see `M.assumptions`), `money` for the
-- amounts converted to integer paise (`<name>_paise`), `zero_ok` for the amounts that may be
-- 0 (fees, and amounts of a failed payment), `date_time` for txnDate.
M.fields = {
  { name = "surcharge", type = "number", required = false, money = true, zero_ok = true },
  { name = "surchargeGst", type = "number", required = false, money = true, zero_ok = true },
  { name = "amount", type = "number", required = true, money = true },
  { name = "finalAmount", type = "number", required = false, money = true, zero_ok = true },
  { name = "paymentMode", type = "string", required = false },
  { name = "bankCode", type = "string", required = false },
  { name = "bankName", type = "string", required = false },
  { name = "cardScheme", type = "string", required = false },
  { name = "currency", type = "string", required = false },
  { name = "checksum", type = "string", required = true },
  { name = "status", type = "string", required = true },
  { name = "transactionId", type = "string", required = false },
  { name = "txnMsg", type = "string", required = false },
  { name = "txnDate", type = "string", required = true, date_time = true },
  { name = "uniqueTransactionId", type = "string", required = true },
  { name = "maskedCardNumber", type = "string", required = false },
  { name = "cardHolderName", type = "string", required = false },
  { name = "paymentToken", type = "string", required = false },
  { name = "bankTransactionId", type = "string", required = false },
  { name = "mdr", type = "number", required = false, money = true, zero_ok = true },
  { name = "mdrGst", type = "number", required = false, money = true, zero_ok = true },
  { name = "transactionAmount", type = "number", required = false, money = true, zero_ok = true },
  { name = "orderId", type = "string", required = false },
  { name = "orderStatus", type = "string", required = false },
  { name = "transactionStatus", type = "string", required = false },
}

--- Every choice made where the portal is silent, each with its reason.
M.assumptions = {
  { what = "body", choice = "the Payment Gateway 'Payment Notify Request' template (M.fields)",
    reason = "the Wallet page of the webhook was not found; the PG page of the same name is "
      .. "the only template (docs/enkash-api.md §4.19)" },
  { what = "required fields",
    choice = "checksum, status, uniqueTransactionId, amount, txnDate; the others are type-checked "
      .. "only when present, null counts as absent, unknown extra fields pass through",
    reason = "the PG page marks every field required, but a Wallet notification has no card, "
      .. "bank or MDR data for every payment mode; these five are what verification, "
      .. "deduplication, staleness and crediting need" },
  { what = "checksum",
    choice = "lowercase hex HMAC-SHA256, keyed with a partner secret, over every top-level field "
      .. "except checksum, sorted by name (byte order), as name=value joined with '|' (escaped: "
      .. "see canonical escaping)",
    reason = "the portal shows a checksum field but not its computation (docs/enkash-api.md §5.5, "
      .. "§4.19); HMAC-SHA256 over sorted fields is the common scheme. Confirm with Enkash, or "
      .. "plug the real one in with opts.verifier / set_default_verifier" },
  { what = "canonical values",
    choice = "strings as they are, escaped; numbers as the shortest of %.15g/%.16g/%.17g that reads back "
      .. "exactly; booleans true/false; null, objects and arrays are skipped",
    reason = "a form both sides can compute from the decoded JSON, independent of whitespace, "
      .. "field order and number spelling (100.5 vs 100.50)" },
  { what = "unsigned values",
    choice = "objects and arrays at the top level are not covered by the checksum: parse moves "
      .. "them to notification.unsigned; null values are dropped",
    reason = "the notification then holds only values the checksum vouches for" },
  { what = "canonical escaping",
    choice = "in names and string values '\\', '|' and '=' are written '\\\\', '\\|' and '\\='; "
      .. "a string that reads as a number or a boolean (\"100.5\", \"true\") gets a leading '\\'",
    reason = "unescaped, a signed txnMsg holding '|uniqueTransactionId=X' re-splits into another "
      .. "uniqueTransactionId under the same checksum (a new dedupe key: a second credit), and "
      .. "\"1\" and 1 would sign alike. With the escapes the canonical string is injective: one set "
      .. "of fields, one string (spec/webhook_canonical_spec.lua). A notification without these "
      .. "characters or number-like strings reads exactly as the plain scheme" },
  { what = "checksum case", choice = "lowercase hex only; an uppercase checksum does not verify",
    reason = "one spelling per checksum keeps a signed notification byte-stable" },
  { what = "txnDate",
    choice = "YYYY-MM-DDTHH:MM:SS or YYYY-MM-DD HH:MM:SS, optional fractional seconds, optional "
      .. "Z or +HH:MM / -HH:MM offset; no offset means IST (+05:30)",
    reason = "the portal types it 'date-time' without an example; Enkash is an Indian platform" },
  { what = "staleness",
    choice = "txnDate older than max_age (default 172800 s = 2 days) or more than 300 s in the "
      .. "future is refused; max_age = false turns the check off",
    reason = "bounds replays of an old signed notification; Enkash's retry window is unknown" },
  { what = "encryption",
    choice = "a body {\"request\": \"<base64>\"} is decrypted with the client secret "
      .. "(AES-128-ECB, as the Payouts guide documents) before the checksum is verified",
    reason = "the platform's Payouts product wraps bodies this way (docs/enkash-api.md §5.1); ECB "
      .. "is not authentication, so the checksum is still required" },
  { what = "money", choice = "amounts are JSON numbers, converted once to integer paise; "
      .. "amount must be > 0, the other amounts may be 0; more than 2 decimals is refused",
    reason = "the template types them as numbers; fees and the amounts of a failed payment "
      .. "may well be 0" },
  { what = "acknowledgement", choice = "HTTP 200 with body {\"status\":\"SUCCESS\"}",
    reason = "the expected acknowledgement is not documented (docs/enkash-api.md §4.19)" },
  { what = "deduplication key",
    choice = "uniqueTransactionId (dedupe opts.key overrides it)",
    reason = "the brief's choice: one notification per transaction. If Enkash notifies each "
      .. "status change of a transaction, key on uniqueTransactionId and status instead" },
  { what = "body size", choice = "at most 1 MiB", reason = "a notification is a few hundred bytes" },
}

-- ---------------------------------------------------------------------------------------
-- Canonical string, signing, verifiers

-- Byte order, whatever the C locale (Lua compares strings with strcoll).
local function byte_less(a, b)
  local la, lb = #a, #b
  for i = 1, la < lb and la or lb do
    local x, y = byte(a, i), byte(b, i)
    if x ~= y then return x < y end
  end
  return la < lb
end

-- The shortest decimal text that reads back as exactly `n` (the same reading money uses).
local number_text = money.shortest

-- `\`, `|` and `=` inside a name or a string value are written `\\`, `\|` and `\=`: no text
-- inside a part can then read as a separator, so a signed note cannot be re-split into other
-- fields (a txnMsg holding "|uniqueTransactionId=X" stays inside txnMsg).
local function escape(s)
  return (gsub(s, "[\\|=]", "\\%0"))
end

-- Every text a number or a boolean is written as (the shortest %.15g..%.17g, true, false)
-- matches this; a string that does too gets a leading `\`, so "100.5" and 100.5, or "true"
-- and true, never read the same. An escape is `\` then one of `\|=`: a string's marker is
-- `\` then a digit, "-", "t" or "f", never mistaken for one.
local function reads_as_scalar(s)
  return s == "true" or s == "false" or match(s, "^%-?%d[%d%.]*[eE]?[%+%-]?%d*$") ~= nil
end

local huge = math.huge

local function value_text(v)
  local tv = type(v)
  if tv == "string" then
    return reads_as_scalar(v) and "\\" .. v or escape(v)
  elseif tv == "number" then
    -- JSON cannot carry NaN or infinity (parse refuses them): only a caller's table can
    if v ~= v or v == huge or v == -huge then error("webhook.canonical: a number is not finite", 3) end
    return number_text(v)
  elseif tv == "boolean" then
    return v and "true" or "false"
  end
  return nil -- null, objects, arrays: not part of the canonical string
end

--- The canonical string the checksum is computed over (an assumption, see `M.assumptions`):
-- every top-level field but `checksum`, sorted by name (byte order), as `name=value` joined
-- with `|`. In names and string values `\`, `|` and `=` are escaped with `\`, and a string
-- that reads as a number or a boolean ("100.5", "true") is marked with a leading `\`: so two
-- different sets of fields never give the same string. Ordinary notifications (no such
-- characters, no number-like strings) read exactly as plain `name=value|...`.
-- @tparam table doc the decoded notification
-- @treturn string
function M.canonical(doc)
  if type(doc) ~= "table" then error("webhook.canonical: doc must be a table", 2) end
  local names = {}
  for k, v in pairs(doc) do
    if type(k) == "string" and k ~= "checksum" and value_text(v) then names[#names + 1] = k end
  end
  sort(names, byte_less)
  local parts = {}
  for i, k in ipairs(names) do parts[i] = escape(k) .. "=" .. value_text(doc[k]) end
  return concat(parts, "|")
end

local function hex(raw)
  return (gsub(raw, ".", function(c) return format("%02x", byte(c)) end))
end

--- The checksum of `doc`: lowercase hex HMAC-SHA256 of `M.canonical(doc)` keyed with `secret`.
-- The sandbox signs the notifications it delivers with this.
-- @tparam table doc the notification (its own `checksum` field is ignored)
-- @tparam string secret the partner's webhook secret
-- @treturn string 64 lowercase hex digits
function M.sign(doc, secret)
  if type(doc) ~= "table" then error("webhook.sign: doc must be a table", 2) end
  if type(secret) ~= "string" or secret == "" then
    error("webhook.sign: secret must be a non-empty string", 2)
  end
  return hex(core.hmac_sha256(secret, M.canonical(doc)))
end

--- A checksum verifier for one secret or several (key rotation: any of them passes).
-- The comparison is constant-time (`core.secure_equal`).
-- @tparam string|{string,...} secrets
-- @treturn function `verifier(doc, raw_body, headers) -> boolean`
function M.hmac_verifier(secrets)
  local list = {}
  if type(secrets) == "string" then
    list[1] = secrets
  elseif type(secrets) == "table" then
    for i, s in ipairs(secrets) do list[i] = s end
  end
  if #list == 0 then error("webhook.hmac_verifier: secrets must be a string or a non-empty list", 2) end
  for _, s in ipairs(list) do
    if type(s) ~= "string" or s == "" then
      error("webhook.hmac_verifier: every secret must be a non-empty string", 2)
    end
  end
  return function(doc)
    if type(doc) ~= "table" or type(doc.checksum) ~= "string" then return false end
    local canon = M.canonical(doc)
    local ok = false
    for i = 1, #list do
      -- every secret is tried: the time taken does not tell which one matched
      if core.secure_equal(hex(core.hmac_sha256(list[i], canon)), doc.checksum) then ok = true end
    end
    return ok
  end
end

--- The verifier `parse` uses when neither `opts.verifier` nor `opts.secrets` is given.
-- Nil at first: without any verifier, parse refuses every notification.
M.default_verifier = nil

--- Set (or clear, with nil) the default checksum verifier.
-- @tparam function|nil fn `fn(doc, raw_body, headers) -> true | false`
-- @treturn function|nil the previous default
function M.set_default_verifier(fn)
  if fn ~= nil and type(fn) ~= "function" then
    error("webhook.set_default_verifier: expected a function or nil", 2)
  end
  local previous = M.default_verifier
  M.default_verifier = fn
  return previous
end

--- The acknowledgement body to send back with HTTP `M.ACK_STATUS` (an assumption).
-- @treturn string `{"status":"SUCCESS"}`
function M.ack_body()
  return ACK_BODY
end

-- ---------------------------------------------------------------------------------------
-- txnDate

local function is_leap(y)
  return y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)
end
local month_days = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local doy = floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local IST = 19800 -- +05:30, in seconds

--- Parse a txnDate into epoch seconds (UTC). Formats: `2024-01-31T10:00:00`,
-- `2024-01-31 10:00:00`, optional `.123` fraction, optional `Z` or `+05:30` offset; no offset
-- means IST. Never raises.
-- @param s the txnDate value
-- @treturn number|nil epoch seconds (the fraction dropped)
-- @treturn[opt] string why it is refused
function M.parse_time(s)
  if type(s) ~= "string" then return nil, "must be a string" end
  local y, mo, d, h, mi, sec, rest = match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil, "must be a date-time like 2024-01-31T10:00:00" end
  rest = gsub(rest, "^%.%d+", "", 1)
  local offset
  if rest == "" then
    offset = IST
  elseif rest == "Z" then
    offset = 0
  else
    local sign, oh, om = match(rest, "^([+-])(%d%d):(%d%d)$")
    if not sign then return nil, "has an offset other than Z or +HH:MM" end
    oh, om = tonumber(oh), tonumber(om)
    if oh > 23 or om > 59 then return nil, "has an invalid offset" end
    offset = (oh * 3600 + om * 60) * (sign == "-" and -1 or 1)
  end
  y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 then return nil, "has an invalid month" end
  local last = month_days[mo]
  if mo == 2 and is_leap(y) then last = 29 end
  if d < 1 or d > last then return nil, "has an invalid day" end
  if h > 23 or mi > 59 or sec > 59 then return nil, "has an invalid time of day" end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset
end

-- ---------------------------------------------------------------------------------------
-- parse

local function fail(kind, message, field)
  return nil, errors.new(kind, message, field and { field = field } or nil)
end

local known_opts = { secret = true, secrets = true, verifier = true, max_age = true, now = true,
                     max_bytes = true }

-- The options, or nil and the validation error naming the bad one: parse never raises,
-- whatever it is given (a receiver passes what arrives).
local function check_opts(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then return fail("validation", "opts must be a table", "opts") end
  for k in pairs(opts) do
    if not known_opts[k] then
      return fail("validation", "opts has an unknown option " .. tostring(k), "opts")
    end
  end
  if opts.secret ~= nil and (type(opts.secret) ~= "string" or opts.secret == "") then
    return fail("validation", "opts.secret must be a non-empty string", "secret")
  end
  if opts.verifier ~= nil and type(opts.verifier) ~= "function" then
    return fail("validation", "opts.verifier must be a function", "verifier")
  end
  local ma = opts.max_age
  if ma ~= nil and ma ~= false and (type(ma) ~= "number" or ma < 0 or ma ~= ma) then
    return fail("validation", "opts.max_age must be seconds >= 0 or false", "max_age")
  end
  if opts.now ~= nil and type(opts.now) ~= "function" then
    return fail("validation", "opts.now must be a function", "now")
  end
  local mb = opts.max_bytes
  if mb ~= nil and (type(mb) ~= "number" or mb ~= mb or mb < 1) then
    return fail("validation", "opts.max_bytes must be a positive number", "max_bytes")
  end
  return opts
end

-- A JSON object: a table whose keys are all strings (cjson gives arrays integer keys).
local function is_object(t)
  if type(t) ~= "table" then return false end
  for k in pairs(t) do
    if type(k) ~= "string" then return false end
  end
  return true
end

local function decode_object(text, kind, what)
  local doc, msg = json.decode(text)
  if doc == nil then
    return fail(kind, what .. " is not valid JSON (" .. redact.text(tostring(msg)) .. ")")
  end
  if not is_object(doc) then return fail(kind, what .. " is not a JSON object") end
  return doc
end

-- The encrypted envelope: exactly {"request": "<base64>"}.
local function is_envelope(doc)
  if type(doc.request) ~= "string" then return false end
  for k in pairs(doc) do
    if k ~= "request" then return false end
  end
  return true
end

-- The webhook's money fields, and their paise read from the JSON text by the same function
-- that reads responses (enkash.amounts).
local money_names = {}
for _, f in ipairs(M.fields) do
  if f.money then money_names[f.name] = true end
end

-- Type-check the fields, add `<name>_paise` and `txn_time`, move unsigned values aside.
-- `exact` is the same text decoded by enkash.amounts (paise from the digits as sent), `bad`
-- the reasons its amounts are not exact; `doc` itself is left as it is, for the checksum.
local function validate(doc, exact, bad)
  local out, unsigned = {}, nil
  for k, v in pairs(doc) do
    if type(v) == "table" then
      unsigned = unsigned or {}
      unsigned[k] = v
    elseif v ~= null then -- null: absent
      out[k] = v
    end
  end
  for _, f in ipairs(M.fields) do
    local name, v = f.name, out[f.name]
    if v == nil then
      if f.required then return fail("validation", name .. " is required", name) end
    elseif type(v) ~= f.type then
      return fail("validation", name .. " must be a JSON " .. f.type, name)
    elseif f.required and v == "" then
      return fail("validation", name .. " must not be empty", name)
    else
      if f.money then
        local paise = exact[name .. "_paise"]
        local why = bad[name] or "is not an amount"
        if not paise then return fail("validation", name .. " " .. why, name) end
        if paise < 0 or (paise == 0 and not f.zero_ok) then
          return fail("validation", name .. " must be greater than 0", name)
        end
        if paise > money.MAX_PAISE then return fail("validation", name .. " is too large", name) end
        out[name .. "_paise"] = paise
      end
      if f.date_time then
        local t, why = M.parse_time(v)
        if not t then return fail("validation", name .. " " .. why, name) end
        out.txn_time = t
      end
    end
  end
  out.unsigned = unsigned
  return out
end

local function lower_headers(headers)
  local h = {}
  if type(headers) == "table" then
    for k, v in pairs(headers) do
      if type(k) == "string" then h[lower(k)] = v end
    end
  end
  return h
end

--- Parse, decrypt, validate and verify one notification.
-- Steps: size limit -> JSON decode -> decrypt the `{"request": ...}` envelope (when it is
-- one) -> field types -> checksum -> staleness. The checksum verifier is `opts.verifier`, else
-- `hmac_verifier(opts.secrets)`, else `M.default_verifier`; with none, every notification is
-- refused. The result is the decoded notification (nulls dropped; objects and arrays, which
-- the checksum does not cover, moved to `.unsigned`) plus `<field>_paise` (integer paise) for
-- every amount present and `txn_time` (txnDate in epoch seconds).
-- @tparam string raw_body the request body, as received
-- @tparam[opt] table headers request headers, any case (handed to the verifier lower-cased)
-- @tparam[opt] table opts `secret` (client secret, for the encrypted envelope), `secrets`
--   (string or list) or `verifier`, `max_age` (seconds, default 172800; false: no staleness
--   check), `now` (function returning epoch seconds; default os.time), `max_bytes` (1 MiB)
-- @treturn table|nil notification
-- @treturn[opt] table err kind "validation" (err.field names the field), "crypto" or "auth"
function M.parse(raw_body, headers, opts)
  local opts_err
  opts, opts_err = check_opts(opts)
  if not opts then return nil, opts_err end
  if raw_body ~= nil and type(raw_body) ~= "string" then
    return fail("validation", "raw_body must be a string", "raw_body")
  end
  if headers ~= nil and type(headers) ~= "table" then
    return fail("validation", "headers must be a table or nil", "headers")
  end
  local verifier = opts.verifier
  if not verifier and opts.secrets ~= nil then
    local ok, v = pcall(M.hmac_verifier, opts.secrets)
    if not ok then
      return fail("validation", "opts.secrets must be a secret or a non-empty list of them", "secrets")
    end
    verifier = v
  end
  verifier = verifier or M.default_verifier
  if not verifier then return fail("validation", "no checksum verifier configured") end

  if raw_body == nil or raw_body == "" then return fail("validation", "empty body") end
  local limit = opts.max_bytes or M.MAX_BODY
  if #raw_body > limit then
    return fail("validation", "body is larger than " .. number_text(limit) .. " bytes")
  end
  local doc, err = decode_object(raw_body, "validation", "body")
  if not doc then return nil, err end
  local text = raw_body

  if is_envelope(doc) then
    if not opts.secret then
      return fail("crypto", "notification is encrypted and no opts.secret is given to decrypt it")
    end
    local plain, why = core.decrypt(doc.request, opts.secret)
    if not plain then return fail("crypto", "cannot decrypt the notification: " .. tostring(why)) end
    if #plain > limit then
      return fail("validation", "decrypted body is larger than " .. number_text(limit) .. " bytes")
    end
    doc, err = decode_object(plain, "crypto", "decrypted notification")
    if not doc then return nil, err end
    text = plain
  end

  local n
  n, err = validate(doc, amounts.decode(text, money_names))
  if not n then return nil, err end

  local ok, verified = pcall(verifier, doc, raw_body, lower_headers(headers))
  if not ok then return fail("auth", "checksum verifier raised an error") end
  if verified ~= true then return fail("auth", "checksum mismatch", "checksum") end

  if opts.max_age ~= false then
    local ok_now, now = pcall(opts.now or os_time)
    if not ok_now or type(now) ~= "number" or now ~= now then
      return fail("validation", "opts.now must return epoch seconds", "now")
    end
    local max_age = opts.max_age or M.MAX_AGE
    if n.txn_time < now - max_age then
      return fail("validation", "txnDate is older than max_age (" .. number_text(max_age) .. " s)",
        "txnDate")
    end
    if n.txn_time > now + M.FUTURE_SKEW then
      return fail("validation", "txnDate is more than " .. number_text(M.FUTURE_SKEW)
        .. " s in the future", "txnDate")
    end
  end
  return n
end

-- ---------------------------------------------------------------------------------------
-- Deduplication (enkash.webhook.dedupe)

--- Deduplicate deliveries: `d = webhook.dedupe{store = ..., ttl = ..., key = ...}`;
-- `d:once(notification, fn)` calls `fn(notification)` for the first delivery of a
-- uniqueTransactionId only, and releases the key when fn raises or returns nil/false.
-- See `enkash.webhook.dedupe`.
-- @tparam[opt] table opts store, ttl (seconds, default 7 days), key (function)
-- @treturn table d
function M.dedupe(opts)
  return dedupe.new(opts)
end

--- The default dedupe store: in memory, per process, with expiry and a size cap.
-- @tparam[opt] table opts max_keys (default 100000), now (clock in seconds; default core.monotime)
-- @treturn table store with `add(key, ttl)`, `delete(key)`, `has(key)`, `count()`
function M.memory_store(opts)
  return dedupe.memory_store(opts)
end

return M
