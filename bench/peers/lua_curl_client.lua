-- bench/peers/lua_curl_client.lua - the vs_lua_curl peer: the device-status workload as an
-- integrator writes it in plain Lua without enkash, with Debian's lua-curl (one easy handle,
-- reused: keep-alive), luaossl (SHA-256, AES-128-ECB), LuaSocket's mime (Base64) and
-- lua-cjson. Debian 12 ships lua-curl for Lua 5.1 and 5.2 only, so this runs under lua5.1.
--
-- usage: lua5.1 lua_curl_client.lua BASE_URL SECRET N PARTNER_ID CLIENT_ID USERNAME PASSWORD
-- prints: calls=N ok=N seconds=S   (S: the N calls only, after a token fetch and warm-up)
local curl = require "curl"
local cipher = require "openssl.cipher"
local digest = require "openssl.digest"
local mime = require "mime"
local cjson = require "cjson"
local socket = require "socket" -- socket.gettime for the clock

local base, secret, n, partner_id, client_id, username, password = arg[1], arg[2], tonumber(arg[3]),
  arg[4], arg[5], arg[6], arg[7]

local function key_of(s) return digest.new("sha256"):final(s):sub(1, 16) end

local function encrypt(text, s)
  return (mime.b64(cipher.new("aes-128-ecb"):encrypt(key_of(s), nil, true):final(text)))
end

local function decrypt(b64, s)
  return cipher.new("aes-128-ecb"):decrypt(key_of(s), nil, true):final((mime.unb64(b64)))
end

local h = curl.easy_init()
local chunks, status_line
-- lua-curl's callbacks get (data, length) and return the length they took.
h:setopt(curl.OPT_WRITEFUNCTION, function(buf, len) chunks[#chunks + 1] = buf; return len end)
h:setopt(curl.OPT_HEADERFUNCTION, function(line, len)
  if line:sub(1, 5) == "HTTP/" then status_line = line end
  return len
end)

local function post(url, headers, body)
  chunks, status_line = {}, nil
  h:setopt(curl.OPT_URL, url)
  h:setopt(curl.OPT_HTTPHEADER, headers)
  h:setopt(curl.OPT_POSTFIELDS, body)
  h:setopt(curl.OPT_POSTFIELDSIZE, #body)
  local rc, msg = h:perform()
  if rc ~= 0 then error("curl: " .. tostring(msg)) end
  return tonumber(status_line:match("^HTTP/[%d.]+ (%d+)")), table.concat(chunks)
end

local function token()
  local st, body = post(base .. "/oauth/token", {
    "Authorization: Basic " .. mime.b64(client_id .. ":" .. secret),
    "Content-Type: application/x-www-form-urlencoded", "Accept: application/json",
  }, "username=" .. username .. "&password=" .. curl.escape(password) .. "&grant_type=password&clientId="
    .. client_id)
  assert(st == 200, "token: HTTP " .. tostring(st))
  return cjson.decode(body).access_token
end

local device = {
  deviceId = "0D5249C7-5D42-48AC-A8C2-79EE90D2560D", appVersion = "6.2", osVersion = "Android 14",
  model = "Pixel 7", manufracture = "Google", platform = "android", simProvider = "airtel",
  mobileNumber = "9674603714", deviceIp = "192.168.1.10", deviceImei = "356789123456780",
}

local access_token = token()
local url = base .. "/api/v1/partner/device-bind/status"

local function status()
  local st, body = post(url, {
    "partnerId: " .. partner_id, "Authorization: Bearer " .. access_token,
    "Content-Type: application/json", "Accept: application/json",
  }, cjson.encode({ request = encrypt(cjson.encode(device), secret) }))
  if st ~= 200 then error("HTTP " .. tostring(st)) end
  local env = cjson.decode(decrypt(cjson.decode(body).request, secret))
  if env.response_code ~= 0 then error(tostring(env.response_message)) end
  return env.payload
end

for _ = 1, 200 do status() end -- warm-up
local ok = 0
local t0 = socket.gettime()
for _ = 1, n do
  if status().status == "Bound" then ok = ok + 1 end
end
io.write(("calls=%d ok=%d seconds=%.6f\n"):format(n, ok, socket.gettime() - t0))
os.exit(ok == n and 0 or 1)
