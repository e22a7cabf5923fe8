--- Exact amounts out of JSON text: every money field also as integer `<name>_paise`.
-- cjson turns `100.10` into a binary float; the paise must come from the digits Enkash wrote.
-- So the text is decoded once by cjson (what the caller sees, unchanged), and scanned once in
-- C (`core.json_numbers`) for the number tokens of the money keys, in document order. Each
-- decoded money value then takes its paise from the texts of its key that read back as that
-- very value (`tonumber(text) == value`, looked up in an index built once per key, so the
-- work stays linear in the size of the answer): when they all give the same paise, that is
-- the amount; when they disagree (the same float written once exactly and once with more
-- digits, which only a hostile server does) none is given. So a `_paise` is never wrong,
-- at worst missing. Used by responses (enkash.envelope) and webhooks (enkash.webhook): one
-- function for both.
-- @module enkash.amounts

local core = require "enkash.core"
local money = require "enkash.money"

-- A private, strict decoder: JSON has no hex numbers, NaN or Infinity, and cjson accepts
-- them by default ({"response_code":0x0} would read as success).
local cjson = require("cjson.safe").new()
cjson.decode_invalid_numbers(false)

local type, pairs, tonumber = type, pairs, tonumber
local decode, exact, scan = cjson.decode, money.exact, core.json_numbers
-- Both in one C pass (core.json_decoder) for the JSON it takes: strict JSON without \u
-- escapes or raw control characters, the tables made as cjson makes them. It answers nil for
-- anything else, which then goes through cjson and the scan as above.
local both = core.json_decoder and core.json_decoder(cjson.null)

local M = {}

-- A key's texts indexed by the number each reads as: value -> paise, or value -> false and
-- the reason in `why[value]`. Built once per key, so a document with n amounts costs O(n).
local CONFLICT = "is written two ways that read as the same number"
local function index_of(texts)
  local by_value, why = {}, {}
  for i = 1, #texts do
    local t = texts[i]
    local v = tonumber(t)
    if v ~= nil then
      local p, w = exact(t)
      local seen = by_value[v]
      if seen == nil then
        by_value[v], why[v] = p or false, w
      elseif seen ~= (p or false) then
        by_value[v], why[v] = false, CONFLICT
      end
    end
  end
  return { paise = by_value, why = why }
end

-- The paise of a decoded number `v` under a key whose index is `ix`; nil and why when none.
local function paise_of(v, ix)
  local p = ix.paise[v]
  if p then return p end
  return nil, ix.why[v] or "is not an amount"
end

-- Add `<k>_paise` beside every money key of `doc` (any depth). New keys are set after each
-- table's traversal: adding a key while `pairs` walks the same table is undefined.
local function walk(doc, found, bad, indexes)
  local add
  for k, v in pairs(doc) do
    local tv = type(v)
    if tv == "table" then
      walk(v, found, bad, indexes)
    elseif found[k] and (tv == "number" or tv == "string") then
      local paise, why
      local texts = found[k]
      if tv == "number" and #texts == 1 then -- the usual answer: one text, nothing to index
        if tonumber(texts[1]) == v then paise, why = exact(texts[1]) else why = "is not an amount" end
      elseif tv == "number" then
        local ix = indexes[k]
        if not ix then
          ix = index_of(texts)
          indexes[k] = ix
        end
        paise, why = paise_of(v, ix)
      else
        paise, why = exact(v)
      end
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
  local doc, found
  if both then doc, found = both(text, names) end -- nil for text that is no string too
  if doc == nil then
    doc = decode(text)
    if type(doc) ~= "table" then return doc, {} end
    found = scan(text, names)
  end
  local bad = {}
  -- found is nil when no money key occurs (and always for a document that is no table)
  if found then walk(doc, found, bad, {}) end
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
