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

local type, tostring, format = type, tostring, string.format

local M = {}

--- The key every target uses.
M.SECRET = "k"

--- The target names, in the order `make fuzz` runs them.
M.names = { "decrypt", "envelope", "webhook" }

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

return M
