--- A small JSON encoder for request bodies: field order kept, amounts written verbatim.
-- cjson cannot emit a decimal such as 20.50 without a binary float, nor keep the documented
-- field order; bodies are small, so encoding them here costs little. Decoding stays cjson.
-- Works under Lua 5.4 and LuaJIT.
-- @module enkash.json

local type, pairs, ipairs, tostring, setmetatable, getmetatable = type, pairs, ipairs, tostring,
  setmetatable, getmetatable
local format, gsub, byte, concat, sort = string.format, string.gsub, string.byte, table.concat, table.sort
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
local function quote(s)
  return '"' .. gsub(s, '[%c"\\]', function(c)
    return escapes[c] or format("\\u%04x", byte(c))
  end) .. '"'
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

encode = function(v, out)
  local tv = type(v)
  if tv == "string" then
    out[#out + 1] = quote(v)
  elseif tv == "number" then
    out[#out + 1] = number(v)
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif v == nil or v == M.null then
    out[#out + 1] = "null"
  elseif tv == "table" then
    local mt = getmetatable(v)
    if mt == Raw then
      out[#out + 1] = v.text
    elseif mt == Object then
      out[#out + 1] = "{"
      for i, kv in ipairs(v) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = quote(kv[1])
        out[#out + 1] = ":"
        encode(kv[2], out)
      end
      out[#out + 1] = "}"
    elseif mt == Array or is_sequence(v) then
      out[#out + 1] = "["
      for i, x in ipairs(v) do
        if i > 1 then out[#out + 1] = "," end
        encode(x, out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = quote(k)
        out[#out + 1] = ":"
        encode(v[k], out)
      end
      out[#out + 1] = "}"
    end
  else
    error("cannot encode a " .. tv .. " in JSON")
  end
end

--- The JSON null (cjson's, so decoded and encoded nulls compare equal).
M.null = require("cjson").null

--- Encode a value. Plain tables encode with sorted keys; see `object`, `array`, `raw`.
-- @param v
-- @treturn string
function M.encode(v)
  local out = {}
  encode(v, out)
  return concat(out)
end

return M
