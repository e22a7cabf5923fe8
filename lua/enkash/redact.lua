--- Central redaction of secrets and PII in anything the SDK shows: error messages, log
-- fields, dry runs, the CLI's output.
--
-- Free text (`M.text`) is masked in this order, each pass seeing the previous one's result:
--
-- 1. the caller's own secrets, registered by the client (`M.remember`): client secret,
--    password, username, the Basic credential, the current access token and the secret
--    fields of the call in flight; found in any case and with any spacing or dashes;
-- 2. a credential after `Bearer`, `Basic` or `token`, and a value after `password=` or
--    `secret:`;
-- 3. a 4-8 digit code next to the word OTP, passcode, MPIN, PIN, MFA or CVV;
-- 4. a PAN in any case (`abcde1234f` -> `XXXXX1234X`);
-- 5. a digit run of 9 or more digits, alone or split by single spaces or dashes (a card
--    `4111-1111-1111-1111`, a mobile `+91 98123 45670`, an account number `123456789`): a
--    10-digit number keeps its first and last two digits, any other its last four.
--
-- What is not PII is left alone: a digit run glued to letters or `_` (an id such as
-- ENK0123456789), a decimal or a time (`1234567890.50`, `10:30`), a number followed by a
-- unit (`12345678221 bytes`, `1500 ms`) or preceded by an amount or time word (`Rs`,
-- `amount`, `timestamp`), and a digit group of one or two digits (a date's `05-01`).
-- @module enkash.redact

local gsub, sub, rep, find, match, lower, byte = string.gsub, string.sub, string.rep, string.find,
  string.match, string.lower, string.byte
local gmatch, format = string.gmatch, string.format
local concat, sort = table.concat, table.sort
local type, pairs, next, error, setmetatable = type, pairs, next, error, setmetatable
local floor, max = math.floor, math.max

local M = {}

--- Secrets shorter than this (after folding case, spaces and dashes) are not registered: a
-- 3-character value cannot be told from ordinary text, and masking it would mangle every
-- message.
M.MIN_SECRET = 4
--- Slots one owner may register (`M.remember` raises beyond: a misuse); `M.hold` stops there.
M.MAX_SLOTS = 32
--- Longest free text masked, in bytes: a longer one (a hostile server's megabyte of "message")
-- is cut at a space before masking, so the work per message stays small.
M.MAX_TEXT = 8192

--- Mask a mobile number: first two and last two digits kept (96XXXXXX14).
-- @tparam string s ten digits
-- @treturn string
function M.mobile(s)
  return sub(s, 1, 2) .. rep("X", #s - 4) .. sub(s, -2)
end

--- Mask a link that is itself a credential (a VKYC session URL): scheme and host, then the
-- last four characters (`https://vkyc.example/...cdef`).
-- @tparam string s
-- @treturn string
function M.link(s)
  local head = match(s, "^(%a[%w+.-]*://[^/?#@%s]+)")
  if not head or find(head, "@", 1, true) then head = "" end
  if #s - #head <= 4 then return s end
  return head .. "/..." .. sub(s, -4)
end

-- ---------------------------------------------------------------------------------------
-- The registry of the caller's own secrets.
-- owner (a client's config, a token store, a call's options) -> {n, slots = {name -> slot}};
-- weak keys: a dropped client takes its secrets with it, and nothing grows without bound.
-- A slot keeps its value's folded forms and those of the value it replaced (a token that was
-- just refreshed may still be echoed by an answer to a request made with it).
local registry = setmetatable({}, { __mode = "k" })

local function fold(s)
  return (gsub(lower(s), "[%s%-]+", ""))
end

local function escape_url(s)
  return (gsub(s, "[^%w%-%._~]", function(c) return format("%%%02X", byte(c)) end))
end

local function escape_json(s)
  return (gsub(s, '[\\"/]', "\\%0"))
end

-- The forms a value may take in echoed text: as is, form-encoded, JSON-escaped.
local function forms(value)
  local out, seen = {}, {}
  for _, v in ipairs({ value, escape_url(value), escape_json(value) }) do
    local f = fold(v)
    if #f >= M.MIN_SECRET and not seen[f] then
      seen[f] = true
      out[#out + 1] = f
    end
  end
  return out
end

local function as_secret(value)
  if type(value) == "number" and value == floor(value) and value >= 0 and value < 1e15 then
    return format("%d", value)
  end
  if type(value) == "string" and #fold(value) >= M.MIN_SECRET then return value end
end

--- Register one of `owner`'s secret values: from now on `M.text` masks it wherever it appears,
-- in any case and spacing, while `owner` is alive. Setting a slot again replaces its value
-- (the previous one stays masked too, until the next change). Values shorter than
-- `M.MIN_SECRET` are ignored.
-- @tparam table owner what the secret belongs to (held weakly)
-- @tparam string slot the secret's name for this owner ("password", "access_token")
-- @param value a string (or a whole number, as an OTP may be given)
-- @treturn boolean registered
function M.remember(owner, slot, value)
  if type(owner) ~= "table" and type(owner) ~= "userdata" then
    error("enkash.redact.remember: owner must be a table", 2)
  end
  value = as_secret(value)
  if not value then return false end
  local entry = registry[owner]
  if not entry then
    entry = { n = 0, slots = {} }
    registry[owner] = entry
  end
  local cur = entry.slots[slot]
  if cur and cur.value == value then return true end
  if not cur then
    if entry.n >= M.MAX_SLOTS then
      error("enkash.redact.remember: more than " .. M.MAX_SLOTS .. " secrets for one owner", 2)
    end
    entry.n = entry.n + 1
  end
  entry.slots[slot] = { value = value, forms = forms(value), prev = cur and cur.forms }
  return true
end

--- Forget every secret of `owner` (done by itself when the owner is collected).
-- @tparam table owner
function M.forget(owner)
  registry[owner] = nil
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- Base64 without bitwise operators (this module runs on Lua 5.4 and LuaJIT, before the C core).
local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local d = { floor(n / 262144) % 64, floor(n / 4096) % 64, floor(n / 64) % 64, n % 64 }
    local k = b == nil and 2 or c == nil and 3 or 4
    for j = 1, 4 do out[#out + 1] = j <= k and sub(B64, d[j] + 1, d[j] + 1) or "=" end
  end
  return concat(out)
end

--- Register a resolved config's secrets: client secret, password, username and the Basic
-- credential made of the client id and secret.
-- @tparam table cfg resolved config (the owner)
function M.remember_config(cfg)
  M.remember(cfg, "client_secret", cfg.client_secret)
  M.remember(cfg, "password", cfg.password)
  M.remember(cfg, "username", cfg.username)
  if type(cfg.client_id) == "string" and type(cfg.client_secret) == "string" then
    M.remember(cfg, "basic", b64(cfg.client_id .. ":" .. cfg.client_secret))
  end
end

-- Keys whose values are never shown at all, and keys holding PII masked by kind.
local secret_keys = {
  password = true, client_secret = true, clientSecret = true, otp = true, access_token = true,
  accessToken = true, refresh_token = true, refreshToken = true, token = true,
  authorization = true, Authorization = true, checksum = true, request = true,
  paymentToken = true, mfaCode = true, pin = true, mpin = true, cvv = true, passcode = true,
}
M.secret_keys = secret_keys

local function hold_fields(owner, t, depth, count)
  if depth > 4 then return count end
  for k, v in next, t do
    if count >= M.MAX_SLOTS then return count end
    if type(v) == "table" then
      count = hold_fields(owner, v, depth + 1, count)
    elseif secret_keys[k] and as_secret(v) then
      count = count + 1
      M.remember(owner, "field" .. count, v)
    end
  end
  return count
end

-- The values hold_fields looks at (strings and numbers under a secret key, in its order),
-- gathered by one C call (csrc/fast_fields.c) when the core has it: nil for none, the usual
-- answer, so a call without an OTP costs no Lua walk of its params.
local secret_fields
do
  local ok, core = pcall(require, "enkash.core")
  secret_fields = ok and type(core) == "table" and core.secret_fields or nil
end

--- Register the secret fields of a call's parameters (an OTP, an MFA code, a payment token)
-- for as long as `owner` lives: the options table of that one call.
-- @tparam table owner
-- @param params the call's parameters (anything else is ignored)
function M.hold(owner, params)
  if secret_fields then
    local found = secret_fields(params, secret_keys, 4)
    if found == nil then return end -- no secret, or params that are no table
    if found then -- hold_fields' registrations, in its order and with its bound
      local count = 0
      for i = 1, #found do
        if count >= M.MAX_SLOTS then return end
        local v = found[i]
        if as_secret(v) then
          count = count + 1
          M.remember(owner, "field" .. count, v)
        end
      end
      return
    end
  end
  if type(params) == "table" then hold_fields(owner, params, 1, 0) end
end

--- How many owners and secret values are registered (for specs: the registry is bounded).
-- @treturn number owners
-- @treturn number values
function M.registered()
  local owners, values = 0, 0
  for _, entry in pairs(registry) do
    owners = owners + 1
    values = values + entry.n
  end
  return owners, values
end

-- ---------------------------------------------------------------------------------------
-- Free text.

-- Replace the byte ranges {first, last} of `s` with `with` (overlapping ranges once).
local function apply(s, ranges, with)
  if #ranges == 0 then return s end
  sort(ranges, function(x, y) return x[1] < y[1] end)
  local out, pos = {}, 1
  for _, r in ipairs(ranges) do
    if r[2] >= pos then
      if r[1] >= pos then
        out[#out + 1] = sub(s, pos, r[1] - 1)
        out[#out + 1] = with
      end
      pos = r[2] + 1
    end
  end
  out[#out + 1] = sub(s, pos)
  return concat(out)
end

-- `s` lowercased without spaces and dashes, and where each piece of it starts in `s`.
local function fold_map(s)
  local parts, starts, fstarts, f = {}, {}, {}, 1
  for at, piece in gmatch(s, "()([^%s%-]+)") do
    parts[#parts + 1] = lower(piece)
    starts[#starts + 1], fstarts[#fstarts + 1] = at, f
    f = f + #piece
  end
  return concat(parts), starts, fstarts
end

-- The position in `s` of position `i` of the folded text.
local function origin(i, starts, fstarts)
  local lo, hi = 1, #fstarts
  while lo < hi do
    local mid = floor((lo + hi + 1) / 2)
    if fstarts[mid] <= i then lo = mid else hi = mid - 1 end
  end
  return starts[lo] + (i - fstarts[lo])
end

local function find_all(folded, needle, starts, fstarts, ranges)
  local init = 1
  while true do
    local a, b = find(folded, needle, init, true)
    if not a then return end
    ranges[#ranges + 1] = { origin(a, starts, fstarts), origin(b, starts, fstarts) }
    init = b + 1
  end
end

-- Pass 1: every registered secret of every live owner.
local function mask_registered(s)
  if next(registry) == nil then return s end
  local folded, starts, fstarts = fold_map(s)
  local ranges = {}
  for _, entry in pairs(registry) do
    for _, slot in pairs(entry.slots) do
      for _, f in ipairs(slot.forms) do find_all(folded, f, starts, fstarts, ranges) end
      for _, f in ipairs(slot.prev or {}) do find_all(folded, f, starts, fstarts, ranges) end
    end
  end
  return apply(s, ranges, "***")
end

-- Where a keyword's value starts: after an optional quote, `:` or `=`, spaces, quote.
local function value_start(s, e)
  local _, stop = find(s, "^[\"']?%s*[:=]?%s*[\"']?", e + 1)
  return stop + 1, find(s, "^[\"']?%s*[:=]", e + 1) ~= nil
end

-- A credential, not a word: 8+ characters with a digit, a base64 sign or an inner capital.
local function credential_like(v)
  if #v < 8 then return false end
  return find(v, "%d") ~= nil or find(v, "[+/=]") ~= nil
    or (find(v, "%l") ~= nil and find(v, "%u", 2) ~= nil)
end

local TOKEN_WORDS = { "%f[%a]bearer", "%f[%a]basic", "token" }
local VALUE_WORDS = { "password", "passwd", "%f[%a]pwd", "secret" }

-- Pass 2: a credential after Bearer/Basic/token, any value after `password=` / `secret:`.
-- A keyword inside a value already read is not read again (linear in the text).
local function mask_keyworded(s)
  local l, ranges = lower(s), {}
  local read_to
  for _, word in ipairs(TOKEN_WORDS) do
    read_to = 0
    for e in gmatch(l, word .. "()") do
      if e > read_to then
        local at = value_start(s, e - 1)
        local v = match(sub(s, at, at + 4095), "^[%w%-%._~%+/=]+") or ""
        if credential_like(v) then ranges[#ranges + 1] = { at, at + #v - 1 } end
        read_to = at + #v
      end
    end
  end
  for _, word in ipairs(VALUE_WORDS) do
    read_to = 0
    for e in gmatch(l, word .. "()") do
      if e > read_to then
        local at, assigned = value_start(s, e - 1)
        local v = assigned and match(sub(s, at, at + 4095), "^[^%s\"',;&}]+") or ""
        if v ~= "" and v ~= "***" then ranges[#ranges + 1] = { at, at + #v - 1 } end
        read_to = at + #v
      end
    end
  end
  return apply(s, ranges, "***")
end

-- Words after a number that make it a quantity, not an identifier.
local UNITS = {}
for w in gmatch("b byte bytes kb mb gb kib mib gib ms us ns s sec secs second seconds min mins "
  .. "minute minutes h hr hrs hour hours day days paise rupees rs inr requests attempts times "
  .. "items records rows lines chars characters", "%S+") do UNITS[w] = true end

-- Words before a number that make it an amount or a time.
local QUANTITY_WORDS = {}
for w in gmatch("rs inr amount balance limit total paise timestamp ts epoch time millis nanos "
  .. "createdat updatedat expiresat created_at updated_at expires_at expires_in size bytes "
  .. "length count duration elapsed ttl", "%S+") do QUANTITY_WORDS[w] = true end

local function unit_after(s, j)
  if sub(s, j + 1, j + 1) == "%" then return true end
  local w = match(s, "^ ?(%a+)", j + 1)
  return w ~= nil and UNITS[lower(w)] == true
end

local function quantity_before(s, i)
  local before = sub(s, max(1, i - 32), i - 1)
  if find(before, "\226\130\185 ?$") then return true end -- ₹
  local w = match(before, "([%a_]+)[%s:=\"'%.]*$")
  if not w then return false end
  w = lower(w)
  return QUANTITY_WORDS[w] or find(w, "amount$") ~= nil or find(w, "balance$") ~= nil
    or find(w, "timestamp$") ~= nil
end

-- Is the digit group starting at `i` part of something else on its left: an id (ENK0123,
-- ENK-0123, ref_0123), a decimal or a time (1.50, 10:30)?
local function glued_left(s, i)
  local p = sub(s, i - 1, i - 1)
  if p == "" then return false end
  if find(p, "[%w_]") then return true end
  local pp = sub(s, i - 2, i - 2)
  if (p == "." or p == ":") and find(pp, "%d") then return true end
  return p == "-" and find(pp, "[%a_]") ~= nil
end

-- The same on the right of the group ending at `j`.
local function glued_right(s, j)
  local n = sub(s, j + 1, j + 1)
  if n == "" then return false end
  if find(n, "[%w_]") then return true end
  local nn = sub(s, j + 2, j + 2)
  if (n == "." or n == ":") and find(nn, "%d") then return true end
  return n == "-" and find(nn, "[%a_]") ~= nil
end

-- Pass 3: a 4-8 digit code near an OTP word (before or after it, no digit in between).
local OTP_WORDS = { "%f[%a]otp%f[%A]", "%f[%a]otpcode%f[%A]", "%f[%a]otpvalue%f[%A]", "passcode",
  "%f[%a]mpin%f[%A]", "%f[%a]pin%f[%A]", "%f[%a]mfa%f[%A]", "%f[%a]mfacode%f[%A]",
  "one.time.password", "verification code", "security code", "%f[%a]cvv%f[%A]" }

local function near_otp_word(l, a, b)
  local before, after = sub(l, max(1, a - 32), a - 1), sub(l, b + 1, b + 32)
  for _, w in ipairs(OTP_WORDS) do
    if find(before, w .. "[^%d]*$") or find(after, "^[^%d]*" .. w) then return true end
  end
  return false
end

local function mask_otp(s)
  local l, ranges = lower(s), {}
  for a, run, b in gmatch(s, "()(%d+)()") do
    b = b - 1
    if #run >= 3 and #run <= 8 and not glued_left(s, a) and not glued_right(s, b)
        and sub(s, a - 1, a - 1) ~= "-" and sub(s, b + 1, b + 1) ~= "-"
        and not unit_after(s, b) and (#run >= 4 or find(sub(l, max(1, a - 12), a), "cv[vc]"))
        and near_otp_word(l, a, b) then
      ranges[#ranges + 1] = { a, b }
    end
  end
  return apply(s, ranges, "***")
end

-- Pass 4: a PAN (five letters, four digits, a letter) in any case, whole words only.
local function mask_pan(s)
  return (gsub(s, "%f[%w]%a%a%a%a%a(%d%d%d%d)%a%f[%W]", "XXXXX%1X"))
end

-- Pass 5: digit runs. A run is digit groups joined by single spaces or dashes, with an
-- optional leading `+`; `groups` are {first, last} positions in `s`, `seps` the joiners.

-- Positions (in `s`) of the digits of groups[i..j] to replace with X.
local function hide(groups, i, j, out)
  local digits = {}
  for g = i, j do
    for p = groups[g][1], groups[g][2] do digits[#digits + 1] = p end
  end
  local n = #digits
  if n < 9 then return end
  -- ten digits read as a mobile: first and last two kept; anything else: the last four
  local keep_head, keep_tail = 0, 4
  if n == 10 then keep_head, keep_tail = 2, 2 end
  for k = keep_head + 1, n - keep_tail do out[digits[k]] = true end
end

local function size(g) return g[2] - g[1] + 1 end

-- A part: consecutive groups of 3+ digits. One group or a card/account/mobile layout is
-- masked as a whole; other groupings group by group.
local function hide_part(groups, i, j, out)
  if i > j then return end
  local total, fours = 0, true
  for g = i, j do
    total = total + size(groups[g])
    if size(groups[g]) < 4 and g < j then fours = false end
  end
  if i == j or total == 10 or fours then
    hide(groups, i, j, out)
  else
    for g = i, j do hide(groups, g, g, out) end
  end
end

-- Drop what belongs to something else at either end of groups[i..j], then mask the rest.
local function hide_run(s, groups, seps, i, j, out)
  if glued_left(s, groups[i][1]) then
    i = i + 1
    while i <= j and seps[i - 1] == "-" do i = i + 1 end
  elseif quantity_before(s, groups[i][1]) then
    i = i + 1
  end
  if i > j then return end
  if glued_right(s, groups[j][2]) then
    j = j - 1
    while j >= i and seps[j] == "-" do j = j - 1 end
  elseif unit_after(s, groups[j][2]) then
    j = j - 1
  end
  local start = i
  for g = i, j + 1 do
    if g > j or size(groups[g]) < 3 then
      hide_part(groups, start, g - 1, out)
      start = g + 1
    end
  end
end

-- A run split into groups; a gap of more than one space or dash ends a segment.
local function mask_run(s, a, run, out)
  local groups, seps = {}, {}
  for first, digits, gap in gmatch(run, "()(%d+)([ %-]*)") do
    local at = a + first - 1
    groups[#groups + 1] = { at, at + #digits - 1 }
    seps[#groups] = #gap == 1 and gap or false
  end
  local i = 1
  for g = 1, #groups do
    if g == #groups or not seps[g] then
      hide_run(s, groups, seps, i, g, out)
      i = g + 1
    end
  end
end

local function mask_numbers(s)
  local out = {}
  for a, run in gmatch(s, "()(%+?%d[%d%- ]*)") do
    mask_run(s, a, match(run, "^(.-%d)[ %-]*$"), out)
  end
  if next(out) == nil then return s end
  return (gsub(s, "()%d", function(p) if out[p] then return "X" end end))
end

--- Mask every secret and piece of PII in free text (see the module's description).
-- Safe on its own output: masking twice changes nothing more.
-- @tparam string s free text
-- @treturn string
function M.text(s)
  if type(s) ~= "string" then return s end
  if #s > M.MAX_TEXT + 64 then -- (+64: a text cut once is not cut again)
    local cut = gsub(sub(s, 1, M.MAX_TEXT), "%S*$", "") -- never half a word: half a secret
    s = cut .. " ... (" .. (#s - #cut) .. " bytes cut)"
  end
  s = mask_registered(s)
  s = mask_keyworded(s)
  s = mask_otp(s)
  s = mask_pan(s)
  return mask_numbers(s)
end

--- A key or label the caller chose (an unknown field name) as it may be shown: masked like
-- text, control characters escaped, at most 64 bytes.
-- @param name
-- @treturn string
function M.label(name)
  if type(name) ~= "string" then return "?" end
  local s = gsub(M.text(name), "%c", function(c) return format("\\%03d", byte(c)) end)
  if #s > 64 then s = sub(s, 1, 61) .. "..." end
  return s
end

local mask_by_key = {
  mobile = "mobile", mobileNumber = "mobile", username = "mobile", maskedMobile = "keep",
  docNo = "text", accountNumber = "last4", deviceImei = "last4", email = "email",
  cardNumber = "last4", vkycLink = "link",
}

-- How a key's value is masked; keys naming a link or URL hold a bearer credential.
local function how_for(key)
  local how = mask_by_key[key]
  if how or type(key) ~= "string" then return how end
  local k = lower(key)
  if find(k, "link") or find(k, "url$") then return "link" end
end

--- Mask one value by the name of its field: secrets vanish, PII keeps only what identifies it
-- to a person who already knows it.
-- @tparam string key field name
-- @param value
-- @return the masked value
function M.value(key, value)
  if secret_keys[key] then return "***" end
  if type(value) ~= "string" then return value end
  local how = how_for(key)
  if how == "keep" then return value end
  if how == "mobile" and #value >= 6 then return M.mobile(value) end
  if how == "last4" then return rep("X", max(#value - 4, 0)) .. sub(value, -4) end
  if how == "link" then return M.link(M.text(value)) end
  if how == "email" then
    local user, domain = match(value, "^(.)[^@]*@(.+)$")
    if user then return user .. "***@" .. domain end
    return "***"
  end
  return M.text(value)
end

local function copy(t, depth)
  local out = {}
  for k, v in pairs(t) do
    if type(v) == "table" then
      out[k] = (secret_keys[k] or depth >= 16) and "***" or copy(v, depth + 1)
    else
      out[k] = M.value(k, v)
    end
  end
  return out
end

--- A masked deep copy of a table (request bodies, form fields, headers, step values) for
-- display; tables nested deeper than 16 levels (or a cycle) are shown as "***".
-- @tparam table t
-- @treturn table
function M.table(t)
  return copy(t, 0)
end

return M
