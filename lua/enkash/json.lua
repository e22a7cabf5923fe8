--- A small JSON encoder for request bodies: field order kept, amounts written verbatim.
-- cjson cannot emit a decimal such as 20.50 without a binary float, nor keep the documented
-- field order; bodies are small, so encoding them here costs little. Decoding stays cjson.
-- Works under Lua 5.4 and LuaJIT.
-- @module enkash.json

local type, pairs, ipairs, tostring, setmetatable, getmetatable = type, pairs, ipairs, tostring,
  setmetatable, getmetatable
local format, gsub, byte, find, concat, sort = string.format, string.gsub, string.byte, string.find,
  table.concat, table.sort
local floor = math.floor

local M = {}

local Raw = {}     -- a JSON number written verbatim: { text = "20.50" }
local Object = {}  -- an ordered object: { {name, value}, ... }
local Array = {}   -- a sequence that encodes as an array even when empty

--- A number written verbatim (decimal text that is already valid JSON).
-- @tparam string text e.g. "20.50"
-- @treturn table
function M.raw(text)
  return setmetatable({ text = text }, Raw)
end

--- An object whose fields are encoded in the given order.
-- @tparam table list of {name, value} pairs
-- @treturn table
function M.object(list)
  return setmetatable(list, Object)
end

--- A sequence that encodes as a JSON array (also when empty).
-- @tparam table list
-- @treturn table
function M.array(list)
  return setmetatable(list, Array)
end

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function escape(c)
  return escapes[c] or format("\\u%04x", byte(c))
end

local ok_core, core = pcall(require, "enkash.core")
if not ok_core or type(core) ~= "table" then core = {} end

-- Can s go between quotes as it is (printable ASCII, no '"' or '\\')? In C when the core is
-- there (a few instructions a byte); else a negated set of ranges, several times faster to
-- scan than '[%c"\\]'. What fails goes through gsub with the exact set (so UTF-8 bytes still
-- pass through unescaped).
local plain = core.json_plain or function(s) return not find(s, '[^ !#-%[%]-~]') end

-- Append the JSON string for s at out[n+1..]; returns the new n. Strings with nothing to
-- escape (nearly all: names, ids, Base64) go in as they are, without a new string.
local function put_string(out, n, s)
  out[n + 1] = '"'
  if not plain(s) then
    out[n + 2] = gsub(s, '[%c"\\]', escape)
  else
    out[n + 2] = s
  end
  out[n + 3] = '"'
  return n + 3
end

-- '"name":' for an object's field names, memoised (they are the catalogue's few names).
local keys, nkeys = {}, 0
local function put_key(out, n, name)
  local k = keys[name]
  if not k then
    if not plain(name) then
      k = '"' .. gsub(name, '[%c"\\]', escape) .. '":'
    else
      k = '"' .. name .. '":'
    end
    if nkeys < 1000 then
      keys[name] = k
      nkeys = nkeys + 1
    end
  end
  out[n + 1] = k
  return n + 1
end

local encode

local function number(n)
  if n ~= n or n == math.huge or n == -math.huge then error("cannot encode " .. tostring(n) .. " in JSON") end
  if floor(n) == n and n > -1e15 and n < 1e15 then return format("%d", n) end
  return format("%.17g", n)
end

local function is_sequence(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n > 0 and n == #t
end

-- Append the JSON text of v at out[n+1..]; returns the new n.
encode = function(v, out, n)
  local tv = type(v)
  if tv == "string" then
    return put_string(out, n, v)
  elseif tv == "number" then
    n = n + 1
    out[n] = number(v)
  elseif tv == "boolean" then
    n = n + 1
    out[n] = v and "true" or "false"
  elseif v == nil or v == M.null then
    n = n + 1
    out[n] = "null"
  elseif tv == "table" then
    local mt = getmetatable(v)
    if mt == Raw then
      n = n + 1
      out[n] = v.text
    elseif mt == Object then
      n = n + 1
      out[n] = "{"
      for i = 1, #v do
        local kv = v[i]
        if i > 1 then
          n = n + 1
          out[n] = ","
        end
        n = put_key(out, n, kv[1])
        n = encode(kv[2], out, n)
      end
      n = n + 1
      out[n] = "}"
    elseif mt == Array or is_sequence(v) then
      n = n + 1
      out[n] = "["
      for i = 1, #v do
        if i > 1 then
          n = n + 1
          out[n] = ","
        end
        n = encode(v[i], out, n)
      end
      n = n + 1
      out[n] = "]"
    else
      local names = {}
      for k in pairs(v) do names[#names + 1] = tostring(k) end
      sort(names)
      n = n + 1
      out[n] = "{"
      for i, k in ipairs(names) do
        if i > 1 then
          n = n + 1
          out[n] = ","
        end
        n = put_key(out, n, k)
        n = encode(v[k], out, n)
      end
      n = n + 1
      out[n] = "}"
    end
  else
    error("cannot encode a " .. tv .. " in JSON")
  end
  return n
end

--- The JSON null (cjson's, so decoded and encoded nulls compare equal).
M.null = require("cjson").null

-- The same encoder in C (core.json_encoder) for what request bodies are made of: ordered
-- objects, arrays, Raw numbers, strings, numbers, booleans, null. It answers nil for anything
-- else (a plain table, a number that is not finite, ...), which is then encoded here, whole:
-- the text and the errors are this file's either way.
local fast = core.json_encoder and core.json_encoder(Object, Array, Raw, M.null)

--- Encode a value. Plain tables encode with sorted keys; see `object`, `array`, `raw`.
-- @param v
-- @treturn string
function M.encode(v)
  if fast then
    local text = fast(v)
    if text then return text end
  end
  local out = {}
  return concat(out, "", 1, encode(v, out, 0))
end

return M
