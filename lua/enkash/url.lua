--- URL helpers: percent-encoding and form/query strings.
-- @module enkash.url

local format, gsub, byte, concat = string.format, string.gsub, string.byte, table.concat
local tostring, type = tostring, type

local M = {}

--- Percent-encode everything but RFC 3986's unreserved characters.
-- @tparam string s
-- @treturn string
function M.escape(s)
  return (gsub(s, "[^%w%-%._~]", function(c) return format("%%%02X", byte(c)) end))
end

--- Encode a list of {name, value} pairs as `a=1&b=2` (form bodies and query strings).
-- Values that are enkash.json raw numbers are written as their text.
-- @tparam table pairs_list ordered pairs
-- @treturn string
function M.form(pairs_list)
  local out = {}
  for i, kv in ipairs(pairs_list) do
    local v = kv[2]
    if type(v) == "table" and v.text then v = v.text end
    out[i] = M.escape(kv[1]) .. "=" .. M.escape(tostring(v))
  end
  return concat(out, "&")
end

return M
