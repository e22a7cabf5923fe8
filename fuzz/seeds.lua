-- Writes the hand-made seed inputs of the fuzz targets into fuzz/corpus/<target>/seed-*.
-- Run from anywhere: lua5.4 fuzz/seeds.lua (needs `make core`). Regression inputs of fixed
-- crashes (crash-*) live beside the seeds and are not touched here.
-- Works under Lua 5.4 and LuaJIT.

local root = (arg and arg[0] or ""):match("^(.*)/fuzz/[^/]*$") or "."
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/lua5.4/?.so;" .. package.cpath

local core = require "enkash.core"
local webhook = require "enkash.webhook"
local cjson = require "cjson"

local K = "k"
local rep = string.rep

-- `lua5.4 fuzz/seeds.lua token` writes one target's seeds only (the others' stay as they are).
local only = arg and arg[1]

local function write(target, name, data)
  if only and target ~= only then return end
  local dir = root .. "/fuzz/corpus/" .. target
  os.execute("mkdir -p '" .. dir .. "'")
  local f = assert(io.open(dir .. "/seed-" .. name, "wb"))
  f:write(data)
  f:close()
end

local function wrap(text) return '{"request":"' .. core.encrypt(text, K) .. '"}' end

-- Inputs every target gets: empty, bad encodings, numbers JSON has no room for, nesting.
local tricky = {
  empty = "",
  invalid_utf8 = '{"response_code":0,"payload":"\255\254\192\128\237\160\128"}',
  nan_infinity = '{"response_code":NaN,"code":-Infinity,"payload":Infinity,"x":[nan,inf]}',
  huge_numbers = '{"response_code":1e999,"amount":-1e400,"payload":123456789012345678901234567890,'
    .. '"n":0.0000000000000000000000000000001e-330,"h":0x7fffffffffffffff}',
  deep_nesting = rep("[", 5000) .. rep("]", 5000),
  deep_objects = rep('{"a":', 2000) .. "1" .. rep("}", 2000),
  nul_bytes = '{"response_code":0,"payload":"a\0b"}\0',
  unterminated = '{"response_code":0,"payload":"',
  escapes = '{"response_code":"\\u0030","payload":"\\ud800\\udc00\\ud800"}',
}

---------------------------------------------------------------- decrypt
local texts = {
  short = "x",
  block = "0123456789abcdef", -- exactly one block: a whole padding block follows
  json = '{"amountToLoad":"100","cardAccountId":"CAC7975","enKashCardId":"EKCWLUAADN"}',
  binary = "\0\1\2\255\254\253",
}
for name, text in pairs(texts) do write("decrypt", "ct_" .. name, core.encrypt(text, K)) end
write("decrypt", "ct_empty_plaintext", core.encrypt("", K))
write("decrypt", "b64_non_canonical", "Zh==")
write("decrypt", "b64_pad_only", "====")
write("decrypt", "b64_newline", "Zm9v\n")
write("decrypt", "b64_inner_pad", "Zm=v")
write("decrypt", "b64_url_alphabet", "-_-_")
write("decrypt", "one_block_bad_padding", core.b64encode(rep("\0", 16)))
write("decrypt", "two_blocks_other_key", core.encrypt(rep("y", 20), "other"))
write("decrypt", "short_ct", core.b64encode(rep("A", 15)))
for name, data in pairs(tricky) do write("decrypt", name, data) end

---------------------------------------------------------------- envelope
local ok_doc = '{"response_code":0,"response_message":"Success","payload":{"enKashCardId":"EKC1",'
  .. '"balance":100.5,"list":[1,2,{"a":null}]}}'
local fail_doc = '{"response_code":1,"response_message":"Failed","payload":"Wallet not found"}'
write("envelope", "plain_success", ok_doc)
write("envelope", "plain_failure", fail_doc)
write("envelope", "code_variant", '{"code":"0","message":"ok","payload":{}}')
write("envelope", "code_string_failure", '{"code":"E42","message":"","payload":""}')
write("envelope", "encrypted_success", wrap(ok_doc))
write("envelope", "encrypted_failure", wrap(fail_doc))
write("envelope", "encrypted_not_json", wrap("<html>502</html>"))
write("envelope", "encrypted_bad_base64", '{"request":"@@@@"}')
write("envelope", "encrypted_bad_length", '{"request":"AAAA"}')
write("envelope", "request_and_code", '{"request":"AAAA","response_code":0,"payload":1}')
write("envelope", "request_not_string", '{"request":{"request":1}}')
write("envelope", "html", "<html><body>nginx</body></html>")
write("envelope", "array", "[0,1,2]")
write("envelope", "payload_null", '{"response_code":0,"payload":null}')
write("envelope", "code_null", '{"response_code":null,"code":null}')
for name, data in pairs(tricky) do write("envelope", name, data) end

---------------------------------------------------------------- webhook
local note = {
  surcharge = 0, surchargeGst = 0, amount = 100.5, finalAmount = 100.5, paymentMode = "UPI",
  bankCode = "HDFC", bankName = "HDFC Bank", currency = "INR", status = "SUCCESS",
  transactionId = "T123", txnMsg = "ok", txnDate = "2024-01-31T10:00:00+05:30",
  uniqueTransactionId = "UTX-0001", orderId = "O-1", orderStatus = "PAID",
  transactionStatus = "SUCCESS",
}
local function signed(doc)
  local d = {}
  for k, v in pairs(doc) do d[k] = v end
  d.checksum = webhook.sign(d, K)
  return d
end
local valid = cjson.encode(signed(note))
assert(webhook.parse(valid, {}, { secrets = { K }, max_age = false }), "the signed seed must verify")
write("webhook", "signed_valid", valid)
write("webhook", "signed_encrypted", wrap(valid))
local minimal = signed({ amount = 1, checksum = "", status = "FAILED", txnDate = "2024-02-29 23:59:59.5Z",
  uniqueTransactionId = "U" })
write("webhook", "signed_minimal", cjson.encode(minimal))
local bad = signed(note)
bad.amount = 100.51
write("webhook", "bad_checksum", cjson.encode(bad))
local extras = signed({ amount = 5, status = "SUCCESS", txnDate = "2024-01-31T10:00:00",
  uniqueTransactionId = "U2", extra = "x|y=z" })
extras.nested = { deep = { 1, 2, 3 } }
extras.gone = cjson.null
write("webhook", "signed_unsigned_parts", cjson.encode(extras))
write("webhook", "three_decimals", (valid:gsub('"amount":100.5', '"amount":100.555')))
write("webhook", "huge_amount", (valid:gsub('"amount":100.5', '"amount":1e308')))
write("webhook", "bad_date", (valid:gsub("2024%-01%-31T10:00:00%+05:30", "2024-02-30T25:61:61+99:99")))
write("webhook", "wrong_types", '{"amount":"100","checksum":1,"status":true,"txnDate":[],'
  .. '"uniqueTransactionId":{}}')
for name, data in pairs(tricky) do write("webhook", name, data) end

---------------------------------------------------------------- token
-- Token endpoint answers: the good ones in both spellings, and every way a token or its
-- lifetime can be unusable (a header-breaking or oversized token, a lifetime that is not a
-- finite number of seconds >= 1). Written as literal JSON: the bytes stay the same each run.
local tok = '"tok-0123456789abcdef"'
local function answer(fields) return "{" .. fields .. "}" end
local token_seeds = {
  good_snake = answer('"access_token":' .. tok .. ',"token_type":"bearer","expires_in":86399'),
  good_camel = answer('"accessToken":' .. tok .. ',"tokenType":"Bearer","expiresIn":3600'),
  good_string_ttl = answer('"access_token":' .. tok .. ',"expires_in":"3600"'),
  good_jwt = answer('"access_token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl","expires_in":60'),
  both_spellings = answer('"access_token":' .. tok
    .. ',"accessToken":"other","expires_in":60,"expiresIn":-1'),
  crlf = answer('"access_token":"tok\\r\\nX-Injected: 1","expires_in":3600'),
  nul = answer('"access_token":"tok\\u0000tail","expires_in":3600'),
  space = answer('"access_token":"tok en","expires_in":3600'),
  tab = answer('"access_token":"tok\\ten","expires_in":3600'),
  del = answer('"access_token":"tok\\u007f","expires_in":3600'),
  non_ascii = answer('"access_token":"tok\\u00e9","expires_in":3600'),
  huge = answer('"access_token":"' .. rep("A", 10240) .. '","expires_in":3600'),
  longest = answer('"access_token":"' .. rep("B", 4096) .. '","expires_in":3600'),
  one_too_long = answer('"access_token":"' .. rep("B", 4097) .. '","expires_in":3600'),
  empty_token = answer('"access_token":"","expires_in":3600'),
  number = answer('"access_token":12345,"expires_in":3600'),
  object = answer('"access_token":{"a":1},"expires_in":3600'),
  null = answer('"access_token":null,"accessToken":' .. tok .. ',"expires_in":3600'),
  bool = answer('"access_token":true,"expires_in":3600'),
  missing = answer('"token_type":"bearer","expires_in":3600,"message":"no token today"'),
  ttl_1e400 = answer('"access_token":' .. tok .. ',"expires_in":1e400'),
  ttl_tiny = answer('"access_token":' .. tok .. ',"expires_in":1e-9'),
  ttl_negative = answer('"access_token":' .. tok .. ',"expires_in":-5'),
  ttl_zero = answer('"access_token":' .. tok .. ',"expires_in":0'),
  ttl_text = answer('"access_token":' .. tok .. ',"expires_in":"x"'),
  ttl_hex = answer('"access_token":' .. tok .. ',"expires_in":"0x10"'),
  ttl_missing = answer('"access_token":' .. tok),
  ttl_year = answer('"access_token":' .. tok .. ',"expires_in":31536000'),
  odd_type = answer('"access_token":' .. tok .. ',"token_type":"be arer\\r\\n","expires_in":60'),
  array = '["access_token","tok"]',
  string_doc = '"tok-0123456789abcdef"',
  form = "access_token=tok&expires_in=3600",
}
for name, data in pairs(token_seeds) do write("token", name, data) end
for name, data in pairs(tricky) do write("token", name, data) end

---------------------------------------------------------------- url
-- URLs for the URL policy (enkash.url_policy): the ways a host hides behind userinfo, the forms
-- of loopback libcurl normalises, IPv6, ports, encodings, control bytes. Each is also fuzzed
-- as the rest of an http:// and an https:// URL, a proxy and a routes path.
local url_seeds = {
  headline = "http://localhost:80@evil.example",
  user_at_loopback = "http://127.0.0.1@evil.example",
  user_pass = "https://user:pw@api.example.com/v1",
  empty_user = "http://@127.0.0.1",
  encoded_at_user = "http://a%40b@127.0.0.1",
  encoded_at_host = "http://evil%40127.0.0.1",
  backslash_user = "http://evil.example\\@127.0.0.1",
  fragment_at = "http://evil.example#@127.0.0.1",
  query_at = "http://evil.example?@127.0.0.1",
  login_options = "http://localhost;auth=x@evil.example",
  short_ipv4 = "http://127.1",
  hex_ipv4 = "http://0x7f.1:8780",
  octal_ipv4 = "http://0177.0.0.1",
  decimal_ipv4 = "http://2130706433/api",
  encoded_ipv4 = "http://%31%32%37.0.0.1",
  trailing_dot = "http://localhost./",
  trailing_dot_ip = "http://127.0.0.1.",
  any_address = "http://0.0.0.0:8780",
  encoded_name = "http://%6cocalhost:8780",
  upper = "HTTP://LOCALHOST:8780",
  sub_localhost = "http://foo.localhost",
  ipv6 = "http://[::1]:8780/x",
  ipv6_long = "http://[0:0:0:0:0:0:0:1]",
  ipv6_mapped = "http://[::ffff:127.0.0.1]",
  ipv6_zone = "http://[fe80::1%25eth0]:80",
  ipv6_unbracketed = "http://::1",
  port_zero = "http://127.0.0.1:0",
  port_big = "http://127.0.0.1:65536",
  port_leading_zero = "http://127.0.0.1:080",
  port_empty = "http://127.0.0.1:",
  crlf = "http://127.0.0.1\r\nHost: evil.example",
  nul = "http://127.0.0.1\0.evil.example",
  space = "http://127.0.0.1 /x",
  non_ascii = "http://\226\147\155ocalhost",
  no_slashes = "http:127.0.0.1",
  three_slashes = "http:///127.0.0.1",
  no_scheme = "127.0.0.1:8780",
  ftp = "ftp://127.0.0.1",
  https_remote = "https://pay-en-uat.enkash.in",
  proxy_plain = "proxy.example:3128",
  proxy_socks = "socks5h://user:pw@127.0.0.1:1080",
  path = "/api/v1/partner/device-bind/generate",
  path_at = "@evil.example/x",
  path_double = "//evil.example/x",
  host_only = "127.0.0.1:8780",
  host_user = "u:p@localhost",
}
for name, data in pairs(url_seeds) do write("url", name, data) end
write("url", "empty", "")
write("url", "long", "https://api.example.com/" .. rep("a", 5000))

print("fuzz seeds written under " .. root .. "/fuzz/corpus/")
