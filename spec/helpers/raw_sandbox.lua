-- An in-process sandbox driven with raw HTTP-shaped requests (sb:handle), for the specs of
-- the sandbox itself: form encoding, a Bearer token from its token endpoint, a test clock.
local sandbox = require "enkash.sandbox"
local core = require "enkash.core"
local cjson = require "cjson.safe"

local M = {}

local D = sandbox.defaults
local USER, PASS = next(D.users)

local function urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

--- application/x-www-form-urlencoded, keys sorted.
function M.form(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = urlencode(k) .. "=" .. urlencode(t[k]) end
  return table.concat(out, "&")
end

--- A Bearer token from the sandbox's token endpoint, with its default credentials.
function M.token(sb)
  local res = sb:handle{
    method = "POST", path = "/oauth/token", conn = "t",
    headers = { ["content-type"] = "application/x-www-form-urlencoded",
                authorization = "Basic " .. core.b64encode(D.client_id .. ":" .. D.client_secret) },
    body = M.form{ username = USER, password = PASS, grant_type = "password", clientId = D.client_id },
  }
  assert(res.status == 200, res.body)
  return cjson.decode(res.body).access_token
end

--- A sandbox on a test clock (t = 1000, moved by sb:control "advance"), with `sb.bearer` ready.
function M.new(opts)
  local t = 1000
  local o = { clock = function() return t end }
  for k, v in pairs(opts or {}) do o[k] = v end
  local sb = sandbox.new(o)
  sb.bearer = M.token(sb)
  return sb
end

return M
