-- enkash.amounts' one-pass C decoder (core.json_decoder) against what it stands in for: cjson's
-- strict decode plus core.json_numbers. For every text it takes, the document is the same
-- value, built alike (the same `next` order at every level, floats where cjson gives floats)
-- and `found` is json_numbers' table; what it does not take goes to cjson, so amounts.decode
-- answers exactly as the Lua-and-cjson path (enkash.amounts loaded without the decoder).
local core = require "enkash.core"
local amounts = require "enkash.amounts"

local cjson = require("cjson.safe").new()
cjson.decode_invalid_numbers(false)
local dec = core.json_decoder(cjson.null)
local names = amounts.set({ "amount", "otbBalance", "finalAmount" })

local ref_amounts = require("helpers.reload").without("enkash.amounts", { "json_decoder" })

-- Same value, same construction: keys visited by `next` in the same order, same number types.
local function same_value(a, b, path)
  assert.equals(type(b), type(a), path)
  if type(a) == "number" then
    if math.type then assert.equals(math.type(b), math.type(a), path) end
    assert.is_true(a == b or (a ~= a and b ~= b), path)
  elseif type(a) ~= "table" then
    assert.equals(b, a, path)
  else
    local ka, kb = next(a), next(b)
    while ka ~= nil or kb ~= nil do
      assert.equals(kb, ka, path .. " (next order)")
      same_value(a[ka], b[kb], path .. "." .. tostring(ka))
      ka, kb = next(a, ka), next(b, kb)
    end
  end
end

local rng = require("helpers.reload").rng

local WS = { "", " ", "  ", "\n", "\t", "\r\n ", "" }
local KEYS = { "amount", "otbBalance", "finalAmount", "status", "payload", "data", "x", "",
  "am\\u006fount", "amo\\\"unt", "a\\nb", "response_code", "a b", "\195\169" }
local NUMBERS = { "0", "-0", "1", "-1", "100.10", "0.07", "20.5", "1e3", "1E+2", "2e-3", "-0.0", "1234567890.12",
  "12345678901234567890", "0.1000000000000000055", "1.7976931348623157e308", "5e-324",
  -- not JSON, or not the grammar: cjson decides
  "01", "1.", ".5", "+1", "0x10", "NaN", "Infinity", "-", "1e", "1.e3", "--1", "1e999" }
local STRINGS = { '""', '"x"', '"SUCCESS"', '"a\\"b"', '"a\\\\b"', '"\\/"', '"\\b\\f\\n\\r\\t"', '"\\u00e9"',
  '"\\ud83d\\ude00"', '"\\x"', '"\1"', '"\195\169\226\130\185"', '"100.50"', '"{\\"amount\\":5}"', '"tab\there"' }

local function text(r, depth)
  local w = function() return WS[1 + r(#WS)] end
  local k = r(depth > 4 and 4 or 7)
  if k == 0 then return NUMBERS[1 + r(#NUMBERS)]
  elseif k == 1 then return STRINGS[1 + r(#STRINGS)]
  elseif k == 2 then return ({ "true", "false", "null" })[1 + r(3)]
  elseif k == 3 then return r(2) == 0 and NUMBERS[1 + r(12)] or STRINGS[1 + r(7)]
  elseif k <= 5 then
    local parts = {}
    for i = 1, r(6) do
      parts[i] = w() .. '"' .. KEYS[1 + r(#KEYS)] .. '"' .. w() .. ":" .. w() .. text(r, depth + 1) .. w()
    end
    return "{" .. table.concat(parts, ",") .. w() .. "}"
  else
    local parts = {}
    for i = 1, r(5) do parts[i] = w() .. text(r, depth + 1) .. w() end
    return "[" .. table.concat(parts, ",") .. "]"
  end
end

-- A broken variant now and then: cut, a stray byte, a trailing comma, trailing text.
local function damage(r, s)
  local k = r(12)
  if k == 0 then return s:sub(1, r(#s + 1)) end
  if k == 1 then
    local at = 1 + r(#s + 1)
    return s:sub(1, at - 1) .. string.char(r(256)) .. s:sub(at)
  end
  if k == 2 then return (s:gsub("}$", ",}")) end
  if k == 3 then return s .. " x" end
  return s
end

local function check(s, taken)
  local sealed = core.json_sealed(s)
  if sealed ~= nil then -- only ever the one key of a one-key object cjson reads alike
    local want = cjson.decode(s)
    assert.equals(sealed, want.request, s)
    assert.equals("request", next(want), s)
    assert.is_nil(next(want, "request"), s)
  end
  local doc, found = dec(s, names)
  if doc ~= nil then
    taken[1] = taken[1] + 1
    local want = cjson.decode(s)
    assert.is_not_nil(want, s)
    same_value(doc, want, s)
    if type(want) == "table" then same_value(found, core.json_numbers(s, names), s .. " (found)") end
  end
  local d1, b1 = amounts.decode(s, names)
  local d2, b2 = ref_amounts.decode(s, names)
  same_value(d1, d2, s .. " (amounts)")
  same_value(b1, b2, s .. " (bad)")
end

describe("the one-pass JSON decoder of enkash.amounts", function()
  it("decodes an Enkash answer, money texts included", function()
    local s = '{"response_code":0,"payload":{"otbBalance":250.0,"list":[{"amount":100.10},{"amount":"5"}]}}'
    local doc, found = dec(s, names)
    assert.equals(250, doc.payload.otbBalance)
    assert.same({ otbBalance = { "250.0" }, amount = { "100.10" } }, found)
    assert.is_nil(select(2, dec('{"status":"Bound"}', names)))
    local d, bad = amounts.decode(s, names)
    assert.equals(10010, d.payload.list[1].amount_paise)
    assert.equals(25000, d.payload.otbBalance_paise)
    assert.same({}, bad)
  end)

  it("leaves to cjson what it does not take, with the same answer", function()
    for _, s in ipairs({ "", " ", "01", "1.", '{"a":1,}', "[1,]", '"\\u00e9"', '"a\1b"', "{} x", "nul",
      '{"amount":1e3x}', ("["):rep(100) .. ("]"):rep(100), '{"a" 1}', "\239\187\191{}" }) do
      check(s, { 0 })
    end
    assert.is_nil(dec("[1]", nil)) -- names not a table: the caller's path decides
    for _, s in ipairs({ "[1]", "1", "x" }) do
      local ok1, a, b = pcall(amounts.decode, s, nil)
      local ok2, c, d = pcall(ref_amounts.decode, s, nil)
      assert.equals(ok2, ok1, s)
      if ok1 then
        same_value(a, c, s)
        same_value(b, d, s)
      end
    end
  end)

  it("finds the Base64 of an encrypted envelope exactly where cjson would (core.json_sealed)", function()
    local b64 = core.encrypt('{"response_code":0}', "spec-secret-0001")
    local texts = { '{"request":"' .. b64 .. '"}', ' {\n "request" :\t"' .. b64 .. '" } ', '{"request":""}',
      '{"request":"' .. b64 .. '","code":0}', '{"request":"a b"}', '{"request":"\\u0041"}', '{"request":5}',
      '{"Request":"QUJD"}', '{"request":"QUJD"} x', '["request"]', '{"request":"QUJD"', "", "null", 5, nil }
    for i = 1, 14 do
      local s = texts[i]
      local got = core.json_sealed(s)
      if got ~= nil then
        local doc = cjson.decode(s)
        assert.equals(doc.request, got, s)
        assert.equals("request", next(doc), s)
        assert.is_nil(next(doc, "request"), s)
      end
    end
    assert.equals(b64, core.json_sealed(texts[1]))
    assert.equals(b64, core.json_sealed(texts[2]))
    assert.equals("", core.json_sealed(texts[3]))
    for i = 4, 14 do assert.is_nil(core.json_sealed(texts[i]), tostring(texts[i])) end
    assert.is_nil(core.json_sealed(nil))
  end)

  it("matches cjson and json_numbers on 6,000 generated texts", function()
    local taken = { 0 }
    for seed = 1, 6000 do
      local r = rng(seed)
      check(damage(r, text(r, 0)), taken)
    end
    assert.is_true(taken[1] > 2000, "the fast path took " .. taken[1])
  end)
end)
