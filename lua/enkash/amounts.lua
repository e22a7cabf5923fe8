--- Exact amounts out of JSON text: every money field also as integer `<name>_paise`.
-- cjson turns `100.10` into a binary float; the paise must come from the digits Enkash wrote.
-- So the text is decoded twice: once as it is (what the caller sees, unchanged), and once
-- with the number of every money key rewritten as a JSON string ("100.10"), whose digits
-- `enkash.money.exact` reads. Both decodings have the same shape, so one walk pairs them.
-- The rewrite only touches `"<name>": <number>` where the opening quote is not escaped: in
-- valid JSON a quote inside a string is always escaped, so text inside strings is never
-- rewritten, and a key is always preceded by `{`, `,` or white space.
-- Used by responses (enkash.envelope) and webhooks (enkash.webhook): one function for both.
-- @module enkash.amounts

local cjson = require "cjson.safe"
local money = require "enkash.money"

local type, pairs, gsub = type, pairs, string.gsub
local decode, exact = cjson.decode, money.exact

local M = {}

-- `x"name": -12.50` with x not a backslash; the number token as JSON writes it.
local KEY_NUMBER = '([^\\])"([%w_]+)"(%s*:%s*)(%-?%d[%d%.eE%+%-]*)'

-- Add `<k>_paise` to `doc` for every money key, reading the digits from `texts` (the same
-- document with money numbers as strings; it may be `doc` itself). `bad` collects the keys
-- whose text is no exact amount (first reason wins). New keys are set after each table's
-- traversal: adding a key while `pairs` walks the same table is undefined.
local function walk(doc, texts, names, bad)
  local add
  for k, v in pairs(texts) do
    local tv = type(v)
    if tv == "table" then
      local d = doc[k]
      if type(d) == "table" then walk(d, v, names, bad) end
    elseif tv == "string" and names[k] then
      local paise, why = exact(v)
      if paise then
        add = add or {}
        add[k .. "_paise"] = paise
      elseif bad[k] == nil then
        bad[k] = why
      end
    end
  end
  if add then
    for k, paise in pairs(add) do doc[k] = paise end
  end
end

--- Decode JSON text, adding `<name>_paise` (integer paise) beside every money field.
-- A money field whose text is not an exact amount (3 decimals, an exponent, not a number)
-- gets no `_paise`; `bad` names it with the reason.
-- @tparam string text JSON text
-- @tparam table names set of money field names (`{amount = true, ...}`)
-- @return the decoded value (nil when the text is not JSON)
-- @treturn table bad field name -> why its amount is not exact (empty when all are)
function M.decode(text, names)
  local doc = decode(text)
  local bad = {}
  if type(doc) ~= "table" then return doc, bad end
  local rewrote = false
  local texts = gsub(text, KEY_NUMBER, function(pre, name, sep, number)
    if not names[name] then return nil end -- nil: keep the match as it was
    rewrote = true
    return pre .. '"' .. name .. '"' .. sep .. '"' .. number .. '"'
  end)
  -- Strings (amountToLoad "100") need no rewrite: the caller's value is already the text.
  if rewrote then
    local alt = decode(texts)
    if type(alt) ~= "table" then return doc, bad end -- cannot happen for valid JSON
    walk(doc, alt, names, bad)
  else
    walk(doc, doc, names, bad)
  end
  return doc, bad
end

--- A set of names from a list (`{"amount", "otbBalance"}` -> `{amount = true, ...}`).
-- @tparam table list
-- @treturn table set
function M.set(list)
  local s = {}
  for _, name in pairs(list) do s[name] = true end
  return s
end

return M
