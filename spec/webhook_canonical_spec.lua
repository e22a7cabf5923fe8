-- enkash.webhook.canonical is injective: two different sets of fields never give the same
-- canonical string, so no signed notification can be re-split into other fields under its
-- checksum. Proven three ways: the re-split attack of issue 11 end to end through parse; a
-- decoder written here that reads every canonical string back into its fields (a left inverse
-- exists only for an injective function); and a walk over generated field sets built from the
-- characters that matter, checking that equal strings come only from equal field sets.
-- Runs under Lua 5.4 and LuaJIT.
local webhook = require "enkash.webhook"
local enc = require "enkash.json"

local SECRET = "spec-canonical-secret-7d21"
local TXN_TIME = 1714538730 -- 2024-05-01T10:15:30+05:30

-- ---------------------------------------------------------------------------------------
-- A reader of the canonical form, from its definition: parts split at unescaped "|", a part's
-- name and value at its first unescaped "="; a value "\" + a character other than \ | = is a
-- marked string; else true/false are booleans, number text is a number, anything else a string.

local function unescape(s)
  return (s:gsub("\\(.)", "%1"))
end

-- Split `s` at every unescaped occurrence of `sep` (one byte).
local function split(s, sep, max)
  local out, buf, i = {}, {}, 1
  while i <= #s do
    local c = s:sub(i, i)
    if c == "\\" then
      buf[#buf + 1] = s:sub(i, i + 1)
      i = i + 2
    elseif c == sep and (not max or #out < max - 1) then
      out[#out + 1] = table.concat(buf)
      buf = {}
      i = i + 1
    else
      buf[#buf + 1] = c
      i = i + 1
    end
  end
  out[#out + 1] = table.concat(buf)
  return out
end

local function read_value(text)
  if text:match("^\\[^\\|=]") then return unescape(text:sub(2)) end
  if text == "true" then return true end
  if text == "false" then return false end
  if text:match("^%-?%d[%d%.]*[eE]?[%+%-]?%d*$") then return assert(tonumber(text), text) end
  return unescape(text)
end

local function read_canonical(s)
  local doc = {}
  if s == "" then return doc end
  for _, part in ipairs(split(s, "|")) do
    local kv = split(part, "=", 2)
    assert(#kv == 2, "a part without '=': " .. part)
    local name = unescape(kv[1])
    assert(doc[name] == nil, "a name twice: " .. name)
    doc[name] = read_value(kv[2])
  end
  return doc
end

-- The fields canonical covers (strings, numbers, booleans; not checksum).
local function covered(doc)
  local out = {}
  for k, v in pairs(doc) do
    local t = type(v)
    if type(k) == "string" and k ~= "checksum" and (t == "string" or t == "number" or t == "boolean") then
      out[k] = v
    end
  end
  return out
end

-- Same fields, same types, same values (1 and 1.0 are one JSON number).
local function same_fields(a, b)
  for k, v in pairs(a) do
    if type(b[k]) ~= type(v) or b[k] ~= v then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

local function describe_doc(d)
  local keys = {}
  for k in pairs(d) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = ("%q=%s(%q)"):format(k, type(d[k]), tostring(d[k])) end
  return "{" .. table.concat(out, ", ") .. "}"
end

-- ---------------------------------------------------------------------------------------
-- The material of the walk: names and values made of the characters that could shift a
-- boundary (| = \), texts that read as numbers or booleans, and the real field names.

local NAMES = { "a", "b", "", "|", "=", "\\", "a|b", "a=b", "a\\", "\\|", "txnMsg", "uniqueTransactionId" }
local VALUES = { "x", "", "|", "=", "\\", "\\\\", "a|b=c", "\\|", "\\=", "|uniqueTransactionId=X", "a\\",
                 "1", "1.5", "-0", "1e+21", "true", "false", "\\1", "\\true", "1|2",
                 1, 1.5, -2, 1e21, 0.1, true, false }

-- A small deterministic generator (the same sequence under Lua 5.4 and LuaJIT).
local function lcg(seed)
  local state = seed
  return function(n)
    state = state * 16807 % 2147483647 -- exact in doubles (LuaJIT) and integers
    return state % n + 1
  end
end

local function walk(visit)
  local n = 0
  visit({})
  n = n + 1
  for _, a in ipairs(NAMES) do -- every one-field set
    for _, v in ipairs(VALUES) do
      visit({ [a] = v })
      n = n + 1
    end
  end
  for i, a in ipairs(NAMES) do -- every two-field set
    for j = i + 1, #NAMES do
      local b = NAMES[j]
      for _, v in ipairs(VALUES) do
        for _, w in ipairs(VALUES) do
          visit({ [a] = v, [b] = w })
          n = n + 1
        end
      end
    end
  end
  local pick = lcg(20240501) -- then larger sets, 3 to 6 fields
  for _ = 1, 20000 do
    local d = {}
    for _ = 1, 2 + pick(4) do d[NAMES[pick(#NAMES)]] = VALUES[pick(#VALUES)] end
    visit(d)
    n = n + 1
  end
  return n
end

describe("webhook.canonical is injective", function()
  it("the re-split attack: a txnMsg holding '|uniqueTransactionId=X' cannot become another id", function()
    -- A genuine, signed note whose txnMsg carries text the payer chose.
    local genuine = { amount = 100.5, status = "SUCCESS", txnDate = "2024-05-01T10:15:30+05:30",
                      txnMsg = "paid|uniqueTransactionId=EVIL-1", uniqueTransactionId = "UTX-1" }
    genuine.checksum = webhook.sign(genuine, SECRET)
    -- The forgery moves the boundary: under unescaped name=value|... both read
    -- "...|txnMsg=paid|uniqueTransactionId=EVIL-1|uniqueTransactionId=UTX-1".
    local forged = { amount = 100.5, status = "SUCCESS", txnDate = "2024-05-01T10:15:30+05:30",
                     txnMsg = "paid", uniqueTransactionId = "EVIL-1|uniqueTransactionId=UTX-1",
                     checksum = genuine.checksum }
    assert.are_not.equal(webhook.canonical(genuine), webhook.canonical(forged))
    assert.equal("amount=100.5|status=SUCCESS|txnDate=2024-05-01T10:15:30+05:30"
      .. "|txnMsg=paid\\|uniqueTransactionId\\=EVIL-1|uniqueTransactionId=UTX-1", webhook.canonical(genuine))

    local opts = { secrets = SECRET, now = function() return TXN_TIME + 60 end }
    local n, err = webhook.parse(enc.encode(genuine), nil, opts)
    assert.is_nil(err)
    assert.equal("UTX-1", n.uniqueTransactionId)
    local f, ferr = webhook.parse(enc.encode(forged), nil, opts)
    assert.is_nil(f)
    assert.equal("auth", ferr.kind)
    assert.equal("checksum mismatch", ferr.message)
  end)

  it("moving '=' between a name and its value, or a string for a number, changes the string", function()
    local pairs_of = {
      { { ["a=b"] = "c" }, { a = "b=c" } },
      { { a = "1" }, { a = 1 } },
      { { a = "true" }, { a = true } },
      { { a = "x|b=y" }, { a = "x", b = "y" } },
      { { a = "x\\", b = "y" }, { a = "x\\|b=y" } },
      { { a = "\\1" }, { a = "1" } },
    }
    for _, p in ipairs(pairs_of) do
      assert.are_not.equal(webhook.canonical(p[1]), webhook.canonical(p[2]),
        describe_doc(p[1]) .. " vs " .. describe_doc(p[2]))
    end
  end)

  it("reads every generated canonical string back into its own fields, and no two sets collide", function()
    local seen, cases = {}, 0
    local n = walk(function(doc)
      local s = webhook.canonical(doc)
      local back = read_canonical(s)
      if not same_fields(covered(doc), back) then
        error("read back differs: " .. describe_doc(doc) .. " -> " .. ("%q"):format(s) .. " -> " .. describe_doc(back))
      end
      local other = seen[s]
      if other and not same_fields(other, covered(doc)) then
        error("collision: " .. describe_doc(other) .. " and " .. describe_doc(doc) .. " -> " .. ("%q"):format(s))
      end
      seen[s] = covered(doc)
      cases = cases + 1
    end)
    assert.equal(n, cases)
    assert.is_true(cases > 25000)
    print(("  canonical walk: %d field sets"):format(cases))
  end)

  it("the reader above can fail: the unescaped form it replaces collides", function()
    -- The check is not vacuous: the old form (no escapes, no marks) joins distinct sets.
    local function old(doc)
      local names = {}
      for k in pairs(covered(doc)) do names[#names + 1] = k end
      table.sort(names)
      local parts = {}
      for i, k in ipairs(names) do parts[i] = k .. "=" .. tostring(doc[k]) end
      return table.concat(parts, "|")
    end
    assert.equal(old({ a = "x|b=y" }), old({ a = "x", b = "y" }))
    assert.equal(old({ a = "1" }), old({ a = 1 }))
  end)

  it("ordinary notifications read as the plain scheme, so a plain-scheme signer still agrees", function()
    local doc = { amount = 100.5, status = "SUCCESS", uniqueTransactionId = "U1", txnDate = "2024-05-01T10:15:30Z",
                  txnMsg = "Transaction successful", paymentMode = "UPI", surcharge = 0 }
    assert.equal("amount=100.5|paymentMode=UPI|status=SUCCESS|surcharge=0|txnDate=2024-05-01T10:15:30Z"
      .. "|txnMsg=Transaction successful|uniqueTransactionId=U1", webhook.canonical(doc))
  end)

  it("refuses (raises on) a number JSON cannot carry: misuse, never reached from parse", function()
    assert.has_error(function() webhook.canonical({ a = 0 / 0 }) end)
    assert.has_error(function() webhook.sign({ a = math.huge }, SECRET) end)
  end)
end)
