local cjson = require "cjson"
local core = require "enkash.core"
local envelope = require "enkash.envelope"

local SECRET = "spec-client-secret-7f3a9c"

local function res(status, body, ctype)
  return { status = status, body = body, headers = { ["content-type"] = ctype or "application/json" } }
end

local function decode(r, mode)
  if mode == nil then mode = "auto" end
  return envelope.decode(r, "device.status", mode, SECRET)
end

describe("envelope", function()
  it("returns the payload of a success envelope", function()
    local p = decode(res(200, '{"response_code":0,"response_message":"Success","payload":{"status":"Pending"}}'))
    assert.same({ status = "Pending" }, p)
  end)

  it("turns a null payload into no payload, and the client into {}", function()
    assert.is_nil(decode(res(200, '{"response_code":0,"payload":null}')))
  end)

  it("accepts the {code, message, payload} variant", function()
    assert.same({ a = 1 }, decode(res(200, '{"code":0,"message":"Success","payload":{"a":1}}')))
  end)

  it("turns response_code 1 into an api error with the server's message", function()
    local p, err = decode(res(200, '{"response_code":1,"response_message":"Insufficient balance in card account",'
      .. '"payload":"Insufficient balance in card account"}'))
    assert.is_nil(p)
    assert.equals("api", err.kind)
    assert.equals(1, err.response_code)
    assert.equals(200, err.http_status)
    assert.equals("Insufficient balance in card account", err.message)
    assert.equals("device.status", err.endpoint)
    assert.is_false(err.retryable)
    assert.matches("enkash api error: Insufficient balance", tostring(err))
  end)

  it("masks PII the server echoes in an error message", function()
    local _, err = decode(res(200, '{"response_code":1,"payload":"mobile 9674603714 and PAN ABCDE1234F rejected"}'))
    assert.equals("mobile 96XXXXXX14 and PAN XXXXX1234X rejected", err.message)
  end)

  it("gives clean http errors for HTML, non-JSON and truncated bodies", function()
    local html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    local _, err = decode(res(502, html, "text/html"))
    assert.equals("http", err.kind)
    assert.equals(502, err.http_status)
    assert.is_true(err.retryable)
    assert.matches("HTTP 502 with a non%-JSON body %(text/html%)", err.message)
    _, err = decode(res(200, "OK", "text/plain"))
    assert.equals("http", err.kind)
    assert.matches("not JSON", err.message)
    _, err = decode(res(200, '{"response_code":0,"payload":{"sta'))
    assert.equals("http", err.kind)
    _, err = decode(res(200, '[1,2]'))
    assert.equals("http", err.kind)
    assert.matches("not an Enkash envelope", err.message)
  end)

  it("decrypts an encrypted response in auto and true modes, not in false", function()
    local inner = '{"response_code":0,"response_message":"Success","payload":{"status":"Bound"}}'
    local body = cjson.encode({ request = core.encrypt(inner, SECRET) })
    assert.same({ status = "Bound" }, decode(res(200, body), "auto"))
    assert.same({ status = "Bound" }, decode(res(200, body), true))
    local _, err = decode(res(200, body), false)
    assert.equals("http", err.kind)
  end)

  it("reports a response encrypted with another key as a crypto error", function()
    local body = cjson.encode({ request = core.encrypt('{"response_code":0}', "another-secret") })
    local p, err = decode(res(200, body))
    assert.is_nil(p)
    assert.equals("crypto", err.kind)
    assert.is_nil(tostring(err):find(SECRET, 1, true))
  end)

  it("encodes a request plain or in the encrypted envelope", function()
    local plain = envelope.encode({ a = "x" }, false, SECRET)
    assert.same({ a = "x" }, cjson.decode(plain))
    local wrapped = cjson.decode(envelope.encode({ a = "x" }, true, SECRET))
    assert.same({ a = "x" }, cjson.decode(core.decrypt(wrapped.request, SECRET)))
  end)
end)
