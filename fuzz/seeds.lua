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

local function write(target, name, data)
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

print("fuzz seeds written under " .. root .. "/fuzz/corpus/")
