-- enkash.redact.hold with the C walk of a call's params (core.secret_fields,
-- csrc/fast_fields.c) against the same module without it: for generated params (nested
-- tables, secret keys holding strings, numbers, short values, booleans and tables, more
-- secrets than an owner may hold, nesting past the walk's depth) the same values are
-- registered (the same masking of every value, the same count) and the same misuse raises.
-- Without the C part in the core both sides are the Lua walk (the spec says so).
local core = require "enkash.core"

local reload = require "helpers.reload"
local ref = reload.without("enkash.redact", { "secret_fields" })
-- A fresh instance too: the shared module's registry holds other specs' secrets (clients still
-- alive in this busted process), which would mask texts the fresh reference does not.
local redact = reload.fresh("enkash.redact")
local rng = reload.rng

local KEYS = { "otp", "mfaCode", "pin", "cvv", "token", "request", "password", "amount", "deviceId", "mobile",
  "note", 1, 2 }

local function value(r, depth, texts)
  local k = r(depth >= 6 and 4 or 6)
  if k == 0 then
    local s = ("v%d-%d"):format(r(1000000), r(1000))
    if r(4) == 0 then s = s:sub(1, 3) end -- too short to register
    texts[#texts + 1] = s
    return s
  elseif k == 1 then
    local n = ({ 583920, 12, 7.5, -4, 1e16, 123456789 })[1 + r(6)]
    texts[#texts + 1] = ("%.0f"):format(n)
    return n
  elseif k == 2 then return r(2) == 0
  elseif k == 3 then return nil
  else
    local t = {}
    for _ = 1, r(6) do t[KEYS[1 + r(#KEYS)]] = value(r, depth + 1, texts) end
    return t
  end
end

local function registered_values(m)
  return select(2, m.registered())
end

local function same(params, texts, what)
  local o1, o2 = {}, {}
  local v1, v2 = registered_values(redact), registered_values(ref)
  local ok1, e1 = pcall(redact.hold, o1, params)
  local ok2, e2 = pcall(ref.hold, o2, params)
  assert.equals(ok2, ok1, what .. " " .. tostring(e1) .. " " .. tostring(e2))
  assert.equals(registered_values(ref) - v2, registered_values(redact) - v1, what)
  local text = table.concat(texts, " ")
  assert.equals(ref.text(text), redact.text(text), what)
  redact.forget(o1)
  ref.forget(o2)
end

describe("redact.hold with the C walk", function()
  it("is there in this core (else both sides below are the Lua walk)", function()
    if not core.secret_fields then
      print("  core.secret_fields is not in this build: csrc/fast_fields.c is not registered in csrc/core.c")
    end
  end)

  it("holds the same for the usual shapes", function()
    same({ otp = 583920, nested = { mfaCode = "MFA-9921" }, amount = 10 }, { "583920", "mfa-9921", "10" }, "otp")
    same({ deviceId = "0D5249C7", mobileNumber = "9674603714" }, { "0D5249C7" }, "no secret")
    same({}, {}, "empty")
    same("not a table", {}, "string")
    local many = {}
    local texts = {}
    for i = 1, 40 do
      many[i] = { otp = "otp-value-" .. i }
      texts[i] = "otp-value-" .. i
    end
    same(many, texts, "40 secrets, 32 held")
    local deep = { otp = "level-one-1" }
    local t = deep
    for i = 2, 7 do
      t.next = { pin = "level-" .. i .. "-xyzw" }
      t = t.next
    end
    same(deep, { "level-one-1", "level-2-xyzw", "level-4-xyzw", "level-5-xyzw", "level-6-xyzw" }, "depth")
  end)

  it("raises alike for an owner that already holds all its slots", function()
    local o1, o2 = {}, {}
    for i = 1, redact.MAX_SLOTS do
      redact.remember(o1, "s" .. i, "value-number-" .. i)
      ref.remember(o2, "s" .. i, "value-number-" .. i)
    end
    assert.has_error(function() redact.hold(o1, { otp = "123456" }) end)
    assert.has_error(function() ref.hold(o2, { otp = "123456" }) end)
    redact.hold(o1, { deviceId = "x" })
    ref.hold(o2, { deviceId = "x" })
    redact.forget(o1)
    ref.forget(o2)
  end)

  it("holds the same for 5,000 generated params", function()
    for seed = 1, 5000 do
      local r = rng(seed)
      local texts = {}
      local p = value(r, 0, texts)
      if type(p) ~= "table" then p = { otp = p } end
      same(p, texts, "seed " .. seed)
    end
  end)
end)
