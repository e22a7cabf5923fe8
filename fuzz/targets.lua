-- The fuzz targets, in one place: each is a function of one input (a byte string) that makes
-- the calls a target fuzzes and raises when an invariant is broken. Used by
--   * fuzz/harness.c (libFuzzer, embedded Lua 5.4, `make fuzz`): a raised error is a crash;
--   * spec/fuzz_corpus_spec.lua (`make test`, Lua 5.4 and LuaJIT): every file of
--     fuzz/corpus/<target>/ is replayed through the same function.
-- Returning `nil, err` from the module under test is fine: only a raise is a bug.
--
-- How `make fuzz` works (there is deliberately no README in fuzz/):
--   make fuzz                    every target for FUZZ_SECONDS (60) each
--   make fuzz FUZZ_SECONDS=10    shorter
--   build/fuzz/<target> build/fuzz/<target>-crash-<sha1>   replay one crash input
-- Each target runs on a working copy of its corpus (build/fuzz/corpus-run/<target>, seeded
-- from fuzz/corpus/<target>/). A crash input is written to build/fuzz/<target>-crash-*; once
-- the bug is fixed, copy it into fuzz/corpus/<target>/ so that `make test` replays it forever.
-- fuzz/seeds.lua regenerates the seed inputs (lua5.4 fuzz/seeds.lua).
--
-- Works under Lua 5.4 and LuaJIT: no 5.4-only syntax.

local core = require "enkash.core"
local envelope = require "enkash.envelope"
local webhook = require "enkash.webhook"
local errors = require "enkash.errors"
local url_policy = require "enkash.url_policy"
local auth = require "enkash.auth"
local cjson = require "cjson.safe"

local type, tostring, format = type, tostring, string.format

local M = {}

--- The key every target uses.
M.SECRET = "k"

--- The target names, in the order `make fuzz` runs them.
M.names = { "decrypt", "envelope", "webhook", "token", "url" }

local function bug(what, ...)
  error("fuzz invariant broken: " .. format(what, ...), 0)
end

-- A `nil, err` pair is fine when err is an enkash error object with a known kind.
local function check_err(where, v, err)
  if v ~= nil then return end
  if not errors.is(err) or not errors.kinds[err.kind] or type(err.message) ~= "string" then
    bug("%s returned nil without an enkash error (got %s)", where, tostring(err))
  end
  tostring(err) -- __tostring must not raise either
end

--- The C core's decrypt and Base64 paths, with the round-trip invariants.
-- @tparam string data
function M.decrypt(data)
  -- data as Base64 ciphertext
  local pt, why = core.decrypt(data, M.SECRET)
  if pt == nil then
    if why ~= "invalid base64" and why ~= "invalid ciphertext length" and why ~= "bad padding" then
      bug("decrypt failed with an unknown reason %s", tostring(why))
    end
  elseif type(pt) ~= "string" then
    bug("decrypt returned a %s", type(pt))
  elseif core.decrypt(core.encrypt(pt, M.SECRET), M.SECRET) ~= pt then
    bug("decrypt(encrypt(decrypt(data))) ~= decrypt(data)")
  elseif #pt > #data then
    bug("plaintext (%d bytes) longer than its Base64 (%d bytes)", #pt, #data)
  end
  -- data as plaintext
  local ct = core.encrypt(data, M.SECRET)
  if type(ct) ~= "string" or #ct % 4 ~= 0 or #ct == 0 then bug("encrypt gave bad Base64") end
  if core.decrypt(ct, M.SECRET) ~= data then bug("decrypt(encrypt(x)) ~= x") end
  -- another secret (the input's first bytes, maybe empty) in between: the C core caches the
  -- keyed contexts of the last secret, and switching must neither mix keys nor leak
  local other = data:sub(1, 3)
  if core.decrypt(core.encrypt(data, other), other) ~= data then
    bug("decrypt(encrypt(x, s), s) ~= x for another secret")
  end
  if core.encrypt(data, M.SECRET) ~= ct then bug("encrypt under %q changed after a switch", M.SECRET) end
  -- Base64 both ways
  local raw, err = core.b64decode(data)
  if raw == nil then
    if err ~= "invalid base64" then bug("b64decode failed with %s", tostring(err)) end
  elseif type(raw) ~= "string" or #raw > #data / 4 * 3 then
    bug("b64decode returned %d bytes for %d characters", #tostring(raw), #data)
  elseif core.b64decode(core.b64encode(raw)) ~= raw then
    bug("b64decode(b64encode(b64decode(data))) ~= b64decode(data)")
  end
  local b64 = core.b64encode(data)
  if b64 ~= core.b64encode(data) or core.b64decode(b64) ~= data then
    bug("b64decode(b64encode(x)) ~= x")
  end
end

-- JSON string literal of a Base64 text (no escaping needed: the alphabet has no " or \).
local function wrap(data)
  return '{"request":"' .. core.encrypt(data, M.SECRET) .. '"}'
end

--- enkash.envelope.decode on a 200 response for each encryption mode, with the input as
-- the body and as the plaintext inside an encrypted `{"request": ...}` body.
-- @tparam string data
function M.envelope(data)
  local bodies = { data, wrap(data) }
  for _, body in ipairs(bodies) do
    for _, mode in ipairs({ true, "auto", false }) do
      local res = { status = 200, headers = {}, body = body }
      local payload, err = envelope.decode(res, "fuzz", mode, M.SECRET)
      if payload == nil and err ~= nil then check_err("envelope.decode", payload, err) end
      if payload ~= nil and err ~= nil then bug("envelope.decode returned a payload and an error") end
    end
  end
end

local function check_notification(n, err)
  check_err("webhook.parse", n, err)
  if n == nil then return end
  if type(n) ~= "table" then bug("webhook.parse returned a %s", type(n)) end
  local p = n.amount_paise
  if type(p) ~= "number" or p <= 0 or p ~= p or p % 1 ~= 0 then
    bug("a parsed notification has amount_paise %s", tostring(p))
  end
  if type(n.txn_time) ~= "number" or n.txn_time ~= n.txn_time then
    bug("a parsed notification has txn_time %s", tostring(n.txn_time))
  end
end

--- enkash.webhook.parse with secret "k" and no staleness check, on the input as the body,
-- and on the input encrypted into a `{"request": ...}` body (decrypted with opts.secret).
-- @tparam string data
function M.webhook(data)
  check_notification(webhook.parse(data, {}, { secrets = { M.SECRET }, max_age = false }))
  check_notification(webhook.parse(wrap(data), {},
    { secrets = { M.SECRET }, secret = M.SECRET, max_age = false }))
end

-- An accepted token must be safe in `Authorization: Bearer <token>` and its lifetime sane.
local function check_accepted(token, ttl, kind)
  if type(token) ~= "string" or token == "" or #token > auth.MAX_TOKEN or token:find("[^\33-\126]") then
    bug("an accepted token is not header-safe (%s, %d bytes)", type(token), #tostring(token))
  end
  if type(ttl) ~= "number" or ttl ~= ttl or ttl < auth.MIN_LIFETIME or ttl > auth.MAX_LIFETIME then
    bug("an accepted token has lifetime %s", tostring(ttl))
  end
  if type(kind) ~= "string" or kind:find("%c") then bug("an accepted token has type %s", tostring(kind)) end
end

-- The token field of a decoded answer, in the spelling auth reads first.
local function token_field(doc)
  if type(doc) ~= "table" then return nil end
  if doc.access_token ~= nil and doc.access_token ~= cjson.null then return doc.access_token end
  return doc.accessToken
end

-- enkash.auth.fetch over a transport answering `body` with HTTP 200, into a real C token store.
local function fetch(body)
  local store = core.token_store()
  local transport = { request = function() return { status = 200, headers = {}, body = body } end }
  local cfg = { username = "u", password = "p", client_id = "c", client_secret = M.SECRET,
                auth_url = "http://127.0.0.1:9/oauth/token", timeout = 1 }
  local info, err = auth.fetch(cfg, transport, store)
  check_err("auth.fetch", info, err)
  if info then
    check_accepted(store:get(0), info.lifetime, info.token_type)
  else
    if err.kind ~= "auth" then bug("a refused 200 token answer gave kind %s", tostring(err.kind)) end
    if store:info().present then bug("a refused token was stored") end
    -- A refused token is never quoted. Checked when it holds a byte outside printable ASCII
    -- or is too long, so that it cannot be mistaken for the error's own words.
    local t = token_field(cjson.decode(body))
    if type(t) == "string" and #t > 0 and (#t > auth.MAX_TOKEN or t:find("[^\32-\126]"))
        and err.message:find(t, 1, true) then
      bug("the error message quotes a refused token")
    end
  end
  store:invalidate()
  return info
end

--- enkash.auth's reading of a token endpoint's answer: the input as the whole answer body,
-- as the access token of an otherwise good answer, and as the expires_in of one.
-- @tparam string data
function M.token(data)
  local token, ttl, kind = auth.read_answer(data)
  if token ~= nil then
    check_accepted(token, ttl, kind)
  elseif type(ttl) ~= "string" then
    bug("read_answer refused without saying why")
  end
  if (fetch(data) ~= nil) ~= (token ~= nil) then bug("auth.fetch and auth.read_answer disagree") end
  local as_token = cjson.encode({ access_token = data, expires_in = 3600 })
  if as_token then fetch(as_token) end
  fetch('{"accessToken":"tok-1","expiresIn":' .. data .. '}')
end

-- The URL policy's verdict on one URL, with its invariants: a refusal says why, an
-- acceptance is an http(s) URL of printable ASCII that libcurl parses to the same parts,
-- without userinfo, and plain http to a host libcurl reaches on loopback only.
local function check_url(url, opts)
  local parts, why = url_policy.check(url, opts)
  local raw = core.url_parse(url)
  if parts == nil then
    if type(why) ~= "string" or why == "" then bug("url_policy.check refused without saying why") end
    -- (no message of the policy has an @: a URL with one is never quoted by accident)
    if url:find("@", 1, true) and why:find(url, 1, true) then bug("url_policy.check quotes a refused URL") end
    return nil
  end
  if url:find("[^\33-\126]") or not url:lower():find("^https?://") then
    bug("url_policy.check accepted a URL that is not printable ASCII http(s)")
  end
  if not raw or raw.host ~= parts.host or raw.port ~= parts.port or raw.scheme ~= parts.scheme then
    bug("url_policy.check's parts differ from libcurl's parse")
  end
  if raw.user or raw.password or raw.options or raw.fragment then
    bug("url_policy.check accepted a URL with userinfo or a fragment")
  end
  if type(raw.port) ~= "number" or raw.port < 1 or raw.port > 65535 then
    bug("accepted port %s", tostring(raw.port))
  end
  -- loopback, judged again from libcurl's host without the policy's helper
  local a = raw.addr
  local loop = (a and #a == 4 and a:byte(1) == 127) or a == ("\0"):rep(15) .. "\1"
    or (a and #a == 16 and a:sub(1, 12) == ("\0"):rep(10) .. "\255\255" and a:byte(13) == 127)
    or (not a and raw.host:lower() == "localhost")
  if (loop and true or false) ~= parts.loopback then
    bug("loopback verdict %s for host %q", tostring(parts.loopback), raw.host)
  end
  if raw.scheme == "http" and not loop and not (opts and opts.allow_insecure_http) then
    bug("plain http accepted to a host that is not loopback: %q", raw.host)
  end
  return parts
end

--- The URL policy (enkash.url_policy) on the input as a URL, as the host and rest of an
-- http:// and an https:// URL, as a proxy and as a path appended to a base URL.
-- @tparam string data
function M.url(data)
  for _, url in ipairs({ data, "http://" .. data, "https://" .. data }) do
    check_url(url)
    check_url(url, { allow_insecure_http = true })
    local base = check_url(url, { no_query = true })
    -- a path appended to an accepted base URL keeps its host
    if base then
      local joined = core.url_parse(url .. "/x")
      if not joined or joined.host ~= base.host or joined.port ~= base.port or joined.user then
        bug("appending a path to an accepted base URL changed its host")
      end
    end
  end
  local proxy, why = url_policy.check_proxy(data)
  if proxy == nil and type(why) ~= "string" then bug("check_proxy refused without saying why") end
  if proxy and data:find("[^\33-\126]") then bug("check_proxy accepted a control character") end
  local ok, pwhy = url_policy.check_path("http://127.0.0.1:8780", data)
  if ok then
    local j = core.url_parse("http://127.0.0.1:8780" .. data)
    if not j or j.host ~= "127.0.0.1" or j.port ~= 8780 or j.user then
      bug("check_path let a path move the host")
    end
  elseif type(pwhy) ~= "string" then
    bug("check_path refused without saying why")
  end
end

return M
