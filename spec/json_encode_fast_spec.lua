-- enkash.json's encoder in C (core.json_encoder) against the same module's Lua encoder: every
-- value, generated or hand-picked, encodes to the same text or fails with the same error.
-- The Lua-only reference is enkash.json loaded a second time with a C core that has no
-- encoder (only json_plain, as before the encoder existed).
local core = require "enkash.core"
local json = require "enkash.json"

local reload = require "helpers.reload"
local ref = reload.fresh("enkash.json", { json_plain = core.json_plain })
local fast = core.json_encoder(getmetatable(json.object({})), getmetatable(json.array({})),
  getmetatable(json.raw("1")), json.null)

local rng = reload.rng

local specials = { "", " ", "\"", "\\", "/", "\b\f\n\r\t", "\0", "\1\31", "\127", "\128\255",
  "é ₹ 日本", "a\"b\\c", "0D5249C7-5D42-48AC-A8C2-79EE90D2560D", "</script>", ("x"):rep(3000) }
local numbers = { 0, 1, -1, 20.5, 1e15 - 1, 1e15, -1e15 + 1, -1e15, 1e16, 2 ^ 53, -2 ^ 53, 0.1, 1 / 3,
  1e-300, 5e-324, 1.7976931348623157e308, -0.0, 123456789012.34 }
if math.type then
  for _, i in ipairs({ math.maxinteger, math.mininteger, 999999999999999, 1000000000000000, -999999999999999,
    -1000000000000000, 7 }) do numbers[#numbers + 1] = i end
end

-- The same value built with `m`'s constructors, from the same random choices.
local function value(m, r, depth)
  local k = r(depth > 3 and 5 or 9)
  if k == 0 then
    local s = {}
    for i = 1, r(12) do s[i] = string.char(r(256)) end
    return table.concat(s)
  elseif k == 1 then return specials[1 + r(#specials)]
  elseif k == 2 then return numbers[1 + r(#numbers)]
  elseif k == 3 then return r(2) == 0
  elseif k == 4 then return m.null
  elseif k == 5 then
    local list = {}
    for i = 1, r(5) do list[i] = { "k" .. r(4) .. specials[1 + r(#specials)]:sub(1, 3), value(m, r, depth + 1) } end
    return m.object(list)
  elseif k == 6 then
    local list = {}
    for i = 1, r(5) do list[i] = value(m, r, depth + 1) end
    return m.array(list)
  elseif k == 7 then return m.raw(("%d.%02d"):format(r(100000), r(100)))
  else -- a plain table: the C encoder leaves it to Lua
    if r(2) == 0 then return { value(m, r, depth + 1), value(m, r, depth + 1) } end
    return { a = value(m, r, depth + 1), b = value(m, r, depth + 1) }
  end
end

local function same(v_fast, v_ref, what)
  local ok1, a = pcall(json.encode, v_fast)
  local ok2, b = pcall(ref.encode, v_ref)
  assert.equals(ok2, ok1, what)
  if ok1 then
    assert.equals(b, a, what)
  else
    assert.equals((tostring(b):gsub("^.-:%d+: ", "")), (tostring(a):gsub("^.-:%d+: ", "")), what)
  end
end

describe("enkash.json's C encoder", function()
  it("encodes a request body in C (not handed back to Lua)", function()
    local body = json.object({ { "deviceId", "D-1" }, { "amount", json.raw("20.50") },
      { "documents", json.array({ json.object({ { "docType", "PAN" } }) }) }, { "n", 3 }, { "ok", true } })
    local text = fast(body)
    assert.equals('{"deviceId":"D-1","amount":20.50,"documents":[{"docType":"PAN"}],"n":3,"ok":true}', text)
    assert.equals(text, json.encode(body))
  end)

  it("writes every byte of a string as the Lua encoder does", function()
    for c = 0, 255 do
      local s = "a" .. string.char(c) .. "b"
      assert.equals(ref.encode(s), json.encode(s), "byte " .. c)
      assert.equals(ref.encode(ref.object({ { s, s } })), json.encode(json.object({ { s, s } })), "key byte " .. c)
    end
  end)

  it("writes every number as the Lua encoder does, and refuses the same ones", function()
    for _, n in ipairs(numbers) do same(n, n, tostring(n)) end
    for _, n in ipairs({ 0 / 0, math.huge, -math.huge }) do
      same(json.object({ { "x", n } }), ref.object({ { "x", n } }), tostring(n))
      assert.is_nil(fast(n))
    end
  end)

  it("leaves to the Lua encoder what it does not take, with the same result", function()
    local cases = {
      function() return { 1, 2, 3 } end,
      function(m) return { b = 1, a = m.array({}) } end,
      function(m) return m.object({ { 1, "number key" } }) end,
      function(m) return m.object({ "not a pair" }) end,
      function(m)
        return m.object({ setmetatable({}, { __index = function(_, i) return i == 1 and "k" or 2 end }) })
      end,
      function(m) return m.raw(20.5) end,
      function(m) return m.raw(nil) end,
      function(m) return m.array({ print }) end,
      function(m) return m.object({ { "f", coroutine.create(print) } }) end,
      function() return setmetatable({}, { __index = function() return 1 end }) end,
      function(m) local t = m.array({}); t[1] = t; return t end,
    }
    for i, make in ipairs(cases) do same(make(json), make(ref), "case " .. i) end
    assert.is_nil(fast({ 1, 2 }))
    assert.is_nil(fast(print))
  end)

  it("nests as deep as the Lua encoder (deeper than it takes itself)", function()
    local a, b = "x", "x"
    for _ = 1, 200 do a, b = json.array({ a }), ref.array({ b }) end
    same(a, b, "200 arrays")
  end)

  it("matches the Lua encoder on 3,000 generated values", function()
    for seed = 1, 3000 do
      same(value(json, rng(seed), 0), value(ref, rng(seed), 0), "seed " .. seed)
    end
  end)
end)
