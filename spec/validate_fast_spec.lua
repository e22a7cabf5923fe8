-- enkash.validate's one-call C path (core.fields_fast, csrc/fast_fields.c) against the same
-- module without it: for every catalogue row, strict or not, and thousands of params made
-- from the rows' examples (fields dropped, blanked, retyped, padded with spaces, unknown keys,
-- wrong enum values and digits, a metatable), validate.params answers the same fields or the
-- same error. Without the C part in the core both sides are the Lua path (the spec says so).
local catalogue = require "enkash.catalogue"
local core = require "enkash.core"
local fx = require "helpers.fixtures"
local validate = require "enkash.validate"

local reload = require "helpers.reload"
local ref = reload.without("enkash.validate", { "fields_fast" })

local rng = reload.rng

-- Fields as sent: {name, value} pairs, amounts as their text.
local function shown(fields)
  local out = {}
  for i, kv in ipairs(fields) do
    local v = kv[2]
    if type(v) == "table" then v = require("enkash.json").encode(v) end
    out[i] = { kv[1], v }
  end
  return out
end

local function same(row, params, cfg, what)
  local a, ea = validate.params(row, params, cfg)
  local b, eb = ref.params(row, params, cfg)
  if b then
    assert.is_table(a, what .. ": " .. tostring(ea))
    assert.same(shown(b), shown(a), what)
    assert.equals(getmetatable(b) ~= nil, getmetatable(a) ~= nil, what)
    assert.equals(#b, #a, what)
  else
    assert.is_nil(a, what)
    assert.equals(eb.message, ea.message, what)
    assert.equals(eb.field, ea.field, what)
    assert.equals(eb.kind, ea.kind, what)
  end
end

local VALUES = { "", " ", "\t\n", " x ", "0", "9674603714", "96746037145", "356789123456780", "35678912345678A",
  "٣", "\0", "android", "ios", "CR", "DR", "MOBILE", "MFA", "M", "F", "PAN", "CEKQ08TRRG", "CEK", "20.00", "20.505",
  "-1", "abc@example.com", "ABCDE1234F", "HDFC0001234", "411001", "02-09-2001", "123456", 12, 20.5, 0, true, false,
  {}, { "a" }, { { docType = "PAN", docNo = "ABCDE1234F" } } }

local function params_for(row, r)
  local p = {}
  for k, v in pairs(row.example or fx.device) do p[k] = v end
  if row.example == nil then
    p = {}
    for _, f in ipairs(row.fields or {}) do
      if f.type == "amount" then p[f.name] = "10.00"
      elseif f.type == "list" then p[f.name] = nil
      else p[f.name] = f.enum and f.enum[1] or "x" .. f.name end
    end
  end
  local fields = row.fields or {}
  for _ = 1, r(3) do
    local k = r(6)
    local f = fields[1 + r(math.max(#fields, 1))]
    local name = f and f.name or "x"
    if k == 0 then p[name] = nil
    elseif k == 1 then p[name] = VALUES[1 + r(#VALUES)]
    elseif k == 2 and type(p[name]) == "string" then p[name] = " " .. p[name]
    elseif k == 3 then p["unknown" .. r(3)] = "v"
    elseif k == 4 and f and f.enum then p[name] = f.enum[1 + r(#f.enum)]
    end
  end
  return p
end

describe("validate.params in one C call", function()
  it("is there in this core (else both sides below are the Lua path)", function()
    if not core.fields_fast then
      print("  core.fields_fast is not in this build: csrc/fast_fields.c is not registered in csrc/core.c")
    end
  end)

  it("answers the examples and the device fixture as the Lua steps do", function()
    local cfg = { client_id = "CEKQ08TRRG", card_account_id = "CAC7975" }
    for _, row in ipairs(catalogue.rows) do
      for _, c in ipairs({ false, cfg, { strict = true }, { strict = true, client_id = "CEKQ08TRRG" } }) do
        same(row, row.example or fx.device, c or nil, row.name)
      end
    end
  end)

  it("answers odd params as the Lua steps do: not a table, a metatable, an unknown key", function()
    local row = catalogue.by_name["device.status"]
    for _, p in ipairs({ "x", 5, true, setmetatable({}, { __index = fx.device }),
      setmetatable(fx.device_with(), { __pairs = function() return next, {}, nil end }),
      fx.device_with({ manufacturer = "Google" }), fx.device_with({ [1] = "x" }) }) do
      same(row, p, nil, tostring(p))
    end
  end)

  it("matches the Lua steps on 20,000 generated params over every row", function()
    local cfgs = { false, { client_id = "CEKQ08TRRG", card_account_id = "CAC7975" }, { strict = true } }
    for seed = 1, 20000 do
      local r = rng(seed)
      local row = catalogue.rows[1 + r(#catalogue.rows)]
      local cfg = cfgs[1 + r(#cfgs)]
      same(row, params_for(row, r), cfg or nil, row.name .. " seed " .. seed)
    end
  end)
end)
