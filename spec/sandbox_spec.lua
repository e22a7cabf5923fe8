-- The sandbox emulator in-process (sb:handle / sb:control), under Lua 5.4 and LuaJIT.
local sandbox = require "enkash.sandbox"
local core = require "enkash.core"
local cjson = require "cjson.safe"

local D = sandbox.defaults
local USER, PASS = "6000000001", "Sandbox@123"
local TOKEN_PATH = "/oauth/token"
local GENERATE = "/api/v1/partner/device-bind/generate"
local STATUS = "/api/v1/partner/device-bind/status"

local DEVICE = require("helpers.fixtures").device

local function device(changes)
  local d = {}
  for k, v in pairs(DEVICE) do d[k] = v end
  for k, v in pairs(changes or {}) do d[k] = v end
  return d
end

-- A sandbox with a clock the test moves: returns sb and a function advancing the clock.
local function new(opts)
  local t = 1000
  local o = { clock = function() return t end }
  for k, v in pairs(opts or {}) do o[k] = v end
  return sandbox.new(o), function(dt) t = t + dt end
end

local function form(fields)
  local out = {}
  for _, kv in ipairs(fields) do
    out[#out + 1] = kv[1] .. "=" .. kv[2]:gsub("[^%w%-%._~]", function(c)
      return ("%%%02X"):format(c:byte())
    end)
  end
  return table.concat(out, "&")
end

local function basic(id, secret)
  return "Basic " .. core.b64encode((id or D.client_id) .. ":" .. (secret or D.client_secret))
end

-- POST /oauth/token; `o` overrides: user, password, grant_type, clientId, auth, ctype, body, conn.
local function token_req(sb, o)
  o = o or {}
  local body = o.body or form({
    { "username", o.user or USER }, { "password", o.password or PASS },
    { "grant_type", o.grant_type or "password" }, { "clientId", o.clientId or D.client_id },
  })
  local headers = { ["content-type"] = o.ctype or "application/x-www-form-urlencoded" }
  if o.auth ~= false then headers.authorization = o.auth or basic() end
  return sb:handle{ method = o.method or "POST", path = TOKEN_PATH, headers = headers, body = body,
                    conn = o.conn or "c1" }
end

local function json(res)
  return assert(cjson.decode(res.body), "not JSON: " .. tostring(res.body))
end

local function token(sb)
  local res = token_req(sb)
  assert.equals(200, res.status)
  return json(res).access_token
end

-- An API call; `o`: token, partner, ctype, body (string), conn, method, encrypt (secret).
local function api(sb, path, body, o)
  o = o or {}
  local headers = { ["content-type"] = o.ctype or "application/json", partnerid = o.partner or D.partner_id }
  if o.partner == false then headers.partnerid = nil end
  if o.token ~= false then headers.authorization = "Bearer " .. (o.token or token(sb)) end
  local text = o.body or cjson.encode(body)
  if o.encrypt then text = cjson.encode({ request = core.encrypt(text, o.encrypt) }) end
  return sb:handle{ method = o.method or "POST", path = path, headers = headers, body = text,
                    conn = o.conn or "c1" }
end

local function envelope(res)
  assert.equals(200, res.status)
  return json(res)
end

describe("sandbox (in-process)", function()
  describe("token endpoint", function()
    it("issues a snake_case bearer token for Basic client auth and the form fields", function()
      local sb = new()
      local res = token_req(sb)
      assert.equals(200, res.status)
      assert.matches("^application/json", res.headers["content-type"])
      assert.equals("no-store", res.headers["cache-control"])
      local t = json(res)
      assert.equals(27, #t.access_token)
      assert.matches("^[%w%-_]+$", t.access_token)
      assert.equals(27, #t.refresh_token)
      assert.not_equals(t.access_token, t.refresh_token)
      assert.equals("bearer", t.token_type)
      assert.equals(86399, t.expires_in)
      assert.equals("read write trust", t.scope)
      assert.not_equals(t.access_token, json(token_req(sb)).access_token)
    end)

    it("answers camelCase keys with token_style = camel", function()
      local t = json(token_req((new{ token_style = "camel", token_ttl = 600 })))
      assert.equals(27, #t.accessToken)
      assert.equals("bearer", t.tokenType)
      assert.equals(600, t.expiresIn)
      assert.is_string(t.refreshToken)
      assert.is_nil(t.access_token)
    end)

    it("requires Basic client authentication (401)", function()
      local sb = new()
      local res = token_req(sb, { auth = false })
      assert.equals(401, res.status)
      assert.same({ error = "unauthorized", error_description = "Full authentication is required" }, json(res))
      assert.matches("^Basic", res.headers["www-authenticate"])
      assert.equals(401, token_req(sb, { auth = "Bearer abc" }).status)
      assert.equals(401, token_req(sb, { auth = "Basic !!!notbase64" }).status)
      res = token_req(sb, { auth = basic(D.client_id, "wrong-secret") })
      assert.equals(401, res.status)
      assert.equals("unauthorized", json(res).error)
      assert.equals(401, token_req(sb, { auth = basic("CEKOTHER01", D.client_secret) }).status)
    end)

    it("refuses a wrong Content-Type or missing/wrong fields with 400 invalid_request", function()
      local sb = new()
      local cases = {
        { { ctype = "application/json" }, "Content%-Type" },
        { { body = "username=" .. USER .. "&password=x&clientId=" .. D.client_id }, "grant type" },
        { { grant_type = "client_credentials" }, "Unsupported grant type" },
        { { clientId = "CEKOTHER01" }, "clientId" },
        { { body = "username=" .. USER .. "&password=x&grant_type=password" }, "clientId" },
        { { user = "" }, "username" },
        { { password = "" }, "password" },
      }
      for _, c in ipairs(cases) do
        local res = token_req(sb, c[1])
        assert.equals(400, res.status)
        local e = json(res)
        assert.equals("invalid_request", e.error)
        assert.matches(c[2], e.error_description)
      end
      local res = token_req(sb, { method = "GET" })
      assert.equals(405, res.status)
      assert.equals("POST", res.headers.allow)
      -- none of these counted as a bad password
      assert.equals(200, token_req(sb).status)
    end)

    it("accepts the Content-Type with a charset parameter", function()
      assert.equals(200, token_req(new(), { ctype = "application/x-www-form-urlencoded; charset=UTF-8" }).status)
    end)

    it("answers a wrong password with invalid_grant / Bad credentials", function()
      local res = token_req(new(), { password = "nope" })
      assert.equals(400, res.status)
      assert.same({ error = "invalid_grant", error_description = "Bad credentials" }, json(res))
      res = token_req(new(), { user = "6999999999" })
      assert.same({ error = "invalid_grant", error_description = "Bad credentials" }, json(res))
    end)

    it("locks a user after 3 consecutive bad passwords, even for the right one after", function()
      local sb = new{ users = { [USER] = PASS, ["6000000002"] = "Other@123" } }
      for _ = 1, 3 do
        assert.equals("Bad credentials", json(token_req(sb, { password = "bad" })).error_description)
      end
      local res = token_req(sb)
      assert.equals(400, res.status)
      assert.same({ error = "invalid_grant", error_description = "User account is locked" }, json(res))
      assert.equals("User account is locked", json(token_req(sb, { password = "bad" })).error_description)
      -- another user is not affected
      assert.equals(200, token_req(sb, { user = "6000000002", password = "Other@123" }).status)
      -- reset forgets the lockout
      sb:control("reset")
      assert.equals(200, token_req(sb).status)
    end)

    it("counts only consecutive failures: a success starts over", function()
      local sb = new()
      token_req(sb, { password = "bad" })
      token_req(sb, { password = "bad" })
      assert.equals(200, token_req(sb).status)
      token_req(sb, { password = "bad" })
      token_req(sb, { password = "bad" })
      assert.equals(200, token_req(sb).status)
    end)

    it("honours lockout_after", function()
      local sb = new{ lockout_after = 1 }
      token_req(sb, { password = "bad" })
      assert.equals("User account is locked", json(token_req(sb)).error_description)
    end)

    it("expires tokens after token_ttl by the clock", function()
      local sb, advance = new{ token_ttl = 60 }
      local t = token(sb)
      assert.equals(200, api(sb, GENERATE, DEVICE, { token = t }).status)
      advance(59.9)
      assert.equals(200, api(sb, STATUS, DEVICE, { token = t }).status)
      advance(0.1)
      local res = api(sb, STATUS, DEVICE, { token = t })
      assert.equals(401, res.status)
      assert.same({ error = "invalid_token", error_description = "Access token expired" }, json(res))
      -- a new token works
      assert.equals(200, api(sb, STATUS, DEVICE).status)
    end)

    it("is never encrypted, even with encryption = required", function()
      local sb = new{ encryption = "required" }
      local t = json(token_req(sb))
      assert.is_string(t.access_token)
      assert.is_nil(t.request)
    end)
  end)

  describe("API calls", function()
    it("require a live Bearer token (401 invalid_token)", function()
      local sb = new()
      for _, o in ipairs({ { token = false }, { token = "not-a-token" } }) do
        local res = api(sb, STATUS, DEVICE, o)
        assert.equals(401, res.status)
        assert.same({ error = "invalid_token", error_description = "Access token expired" }, json(res))
      end
      local res = sb:handle{ method = "POST", path = STATUS, body = cjson.encode(DEVICE),
        headers = { ["content-type"] = "application/json", partnerid = D.partner_id,
                    authorization = "Basic " .. core.b64encode("a:b") } }
      assert.equals(401, res.status)
    end)

    it("require the partnerId header (HTTP 200, response_code 1)", function()
      local sb = new()
      for _, o in ipairs({ { partner = false }, { partner = "CRWRONG01" } }) do
        local env = envelope(api(sb, GENERATE, DEVICE, o))
        assert.same({ response_code = 1, response_message = "Invalid partner", payload = "Invalid partner" }, env)
      end
    end)

    it("require application/json (415) and a JSON object body (400)", function()
      local sb = new()
      local res = api(sb, GENERATE, DEVICE, { ctype = "text/plain" })
      assert.equals(415, res.status)
      res = api(sb, GENERATE, nil, { body = "{not json" })
      assert.equals(400, res.status)
      assert.equals("Bad Request", json(res).error)
      assert.equals(400, api(sb, GENERATE, nil, { body = "[1,2]" }).status)
      assert.equals(200, api(sb, GENERATE, DEVICE, { ctype = "application/json; charset=utf-8" }).status)
    end)

    it("require the row's required fields, present and non-empty", function()
      local sb = new()
      local env = envelope(api(sb, GENERATE, device({ deviceId = "" })))
      assert.same({ response_code = 1, response_message = "deviceId is required", payload = "deviceId is required" },
        env)
      local d = device()
      d.mobileNumber = nil
      assert.equals("mobileNumber is required", envelope(api(sb, STATUS, d)).payload)
      local with_null = cjson.encode(device()):gsub('"deviceImei":"%d+"', '"deviceImei":null')
      assert.equals("deviceImei is required", envelope(api(sb, STATUS, nil, { body = with_null })).payload)
      assert.equals("model is invalid", envelope(api(sb, STATUS, device({ model = { 1 } }))).payload)
    end)

    it("answers an unknown path with 404 JSON and a known path with a wrong method with 405", function()
      local sb = new()
      local res = sb:handle{ method = "POST", path = "/api/v1/partner/nope", headers = {}, body = "" }
      assert.equals(404, res.status)
      assert.equals("Not Found", json(res).error)
      res = sb:handle{ method = "GET", path = STATUS, headers = {}, body = "" }
      assert.equals(405, res.status)
      assert.equals("POST", res.headers.allow)
    end)

    it("routes rows generically: a row without a handler is 'not implemented in sandbox'", function()
      local sb = new()
      local t = token(sb)
      sb.handlers = {} -- this instance only
      local env = envelope(api(sb, STATUS, DEVICE, { token = t }))
      assert.equals(1, env.response_code)
      assert.equals("not implemented in sandbox", env.payload)
      -- other instances keep the module's handlers
      assert.equals(0, envelope(api(new(), GENERATE, DEVICE)).response_code)
    end)
  end)

  describe("device binding", function()
    it("goes Pending -> Bound bind_delay seconds after generate", function()
      local sb, advance = new()
      local t = token(sb)
      local env = envelope(api(sb, GENERATE, DEVICE, { token = t }))
      assert.same({ response_code = 0, response_message = "Success", payload = { status = "Pending" } }, env)
      assert.same({ status = "Pending" }, envelope(api(sb, STATUS, DEVICE, { token = t })).payload)
      advance(2.9)
      assert.equals("Pending", envelope(api(sb, STATUS, DEVICE, { token = t })).payload.status)
      advance(0.1)
      assert.equals("Bound", envelope(api(sb, STATUS, DEVICE, { token = t })).payload.status)
      -- generating again for a bound device answers its status
      assert.equals("Bound", envelope(api(sb, GENERATE, DEVICE, { token = t })).payload.status)
    end)

    it("does not restart the clock when generate is repeated while Pending", function()
      local sb, advance = new{ bind_delay = 10 }
      local t = token(sb)
      api(sb, GENERATE, DEVICE, { token = t })
      advance(6)
      assert.equals("Pending", envelope(api(sb, GENERATE, DEVICE, { token = t })).payload.status)
      advance(4)
      assert.equals("Bound", envelope(api(sb, STATUS, DEVICE, { token = t })).payload.status)
    end)

    it("binds at once with bind_delay = 0, and uses bound_status", function()
      local sb = new{ bind_delay = 0, bound_status = "Active" }
      local t = token(sb)
      assert.equals("Pending", envelope(api(sb, GENERATE, DEVICE, { token = t })).payload.status)
      assert.equals("Active", envelope(api(sb, STATUS, DEVICE, { token = t })).payload.status)
    end)

    it("fails an unknown deviceId", function()
      local env = envelope(api(new(), STATUS, device({ deviceId = "UNKNOWN" })))
      assert.same({ response_code = 1, response_message = "Device binding not found",
                    payload = "Device binding not found" }, env)
    end)

    it("with bind_delay = false binds only by the control call, which can also fail a binding", function()
      local sb, advance = new{ bind_delay = false }
      local t = token(sb)
      api(sb, GENERATE, DEVICE, { token = t })
      advance(1e6)
      t = token(sb) -- the first one expired meanwhile
      assert.equals("Pending", envelope(api(sb, STATUS, DEVICE, { token = t })).payload.status)
      assert.same({ deviceId = DEVICE.deviceId, status = "Bound" },
        sb:control("device", { deviceId = DEVICE.deviceId }))
      assert.equals("Bound", envelope(api(sb, STATUS, DEVICE, { token = t })).payload.status)
      local other = device({ deviceId = "DEV-2" })
      api(sb, GENERATE, other, { token = t })
      sb:control("device", { deviceId = "DEV-2", status = "Failed" })
      assert.equals("Failed", envelope(api(sb, STATUS, other, { token = t })).payload.status)
      -- a failed binding starts over on generate
      assert.equals("Pending", envelope(api(sb, GENERATE, other, { token = t })).payload.status)
      assert.equals("Pending", envelope(api(sb, STATUS, other, { token = t })).payload.status)
    end)

    it("changes bind_delay and bound_status through config", function()
      local sb = new{ bind_delay = false }
      local t = token(sb)
      local cfg = sb:control("config", { bind_delay = 0, bound_status = "BOUND" })
      assert.equals(0, cfg.bind_delay)
      api(sb, GENERATE, DEVICE, { token = t })
      assert.equals("BOUND", envelope(api(sb, STATUS, DEVICE, { token = t })).payload.status)
    end)
  end)

  describe("encryption", function()
    local secret = D.client_secret

    it("decrypts {request} and answers encrypted the same way (auto)", function()
      local sb = new{ bind_delay = 0 }
      local t = token(sb)
      local res = api(sb, GENERATE, DEVICE, { token = t, encrypt = secret })
      local outer = envelope(res)
      assert.is_string(outer.request)
      assert.is_nil(outer.response_code)
      local inner = cjson.decode((assert(core.decrypt(outer.request, secret))))
      assert.same({ response_code = 0, response_message = "Success", payload = { status = "Pending" } }, inner)
      -- errors are encrypted too
      outer = envelope(api(sb, STATUS, device({ deviceId = "UNKNOWN" }), { token = t, encrypt = secret }))
      inner = cjson.decode((assert(core.decrypt(outer.request, secret))))
      assert.equals("Device binding not found", inner.payload)
      outer = envelope(api(sb, STATUS, DEVICE, { token = t, encrypt = secret, partner = "X" }))
      assert.equals("Invalid partner", cjson.decode(core.decrypt(outer.request, secret)).payload)
      -- and a plain request still gets a plain answer
      assert.equals("Bound", envelope(api(sb, STATUS, DEVICE, { token = t })).payload.status)
      assert.is_true(sb:control("log").entries[2].encrypted)
      assert.is_false(sb:control("log").entries[#sb:control("log").entries].encrypted)
    end)

    it("refuses a request encrypted with another secret, in plain JSON", function()
      local env = envelope(api(new(), GENERATE, DEVICE, { encrypt = "another-secret" }))
      assert.same({ response_code = 1, response_message = "Invalid encrypted request",
                    payload = "Invalid encrypted request" }, env)
      env = envelope(api(new(), GENERATE, nil, { body = '{"request":"%%%not-base64"}' }))
      assert.equals("Invalid encrypted request", env.payload)
    end)

    it("refuses plain requests with encryption = required", function()
      local sb = new{ encryption = "required" }
      local t = token(sb)
      assert.equals("Invalid encrypted request", envelope(api(sb, GENERATE, DEVICE, { token = t })).payload)
      local outer = envelope(api(sb, GENERATE, DEVICE, { token = t, encrypt = secret }))
      assert.equals(0, cjson.decode(core.decrypt(outer.request, secret)).response_code)
    end)
  end)

  describe("faults", function()
    local function faulty(kind, args)
      local sb = new{ bind_delay = 0 }
      local t = token(sb)
      assert.equals(200, api(sb, GENERATE, DEVICE, { token = t }).status)
      local a = { endpoint = "device.status", kind = kind }
      for k, v in pairs(args or {}) do a[k] = v end
      sb:control("fault", a)
      return sb, t
    end

    it("http_502_html: an nginx-like 502 HTML page, once", function()
      local sb, t = faulty("http_502_html")
      local res = api(sb, STATUS, DEVICE, { token = t })
      assert.equals(502, res.status)
      assert.equals("text/html", res.headers["content-type"])
      assert.matches("<title>502 Bad Gateway</title>", res.body, 1, true)
      assert.is_nil(cjson.decode(res.body))
      assert.equals("Bound", envelope(api(sb, STATUS, DEVICE, { token = t })).payload.status)
    end)

    it("non_json: 200 text/plain OK", function()
      local sb, t = faulty("non_json")
      local res = api(sb, STATUS, DEVICE, { token = t })
      assert.equals(200, res.status)
      assert.equals("text/plain", res.headers["content-type"])
      assert.equals("OK", res.body)
    end)

    it("truncated: a declared Content-Length longer than the body sent", function()
      local sb, t = faulty("truncated")
      local res = api(sb, STATUS, DEVICE, { token = t })
      assert.equals("truncate", res.raw)
      assert.equals(200, res.status)
      assert.is_true(tonumber(res.headers["content-length"]) > #res.body)
      assert.equals(20, #res.body)
      assert.is_nil(cjson.decode(res.body))
    end)

    it("reset and garbage: raw modes with no HTTP response", function()
      local sb, t = faulty("reset")
      local res = api(sb, STATUS, DEVICE, { token = t })
      assert.equals("reset", res.raw)
      assert.equals("", res.body)
      sb:control("fault", { endpoint = "device.status", kind = "garbage" })
      res = api(sb, STATUS, DEVICE, { token = t })
      assert.equals("garbage", res.raw)
      assert.is_true(#res.body > 0)
      assert.is_nil(res.body:match("^HTTP/"))
    end)

    it("api_error: response_code 1 with the given message (encrypted for an encrypted request)", function()
      local sb, t = faulty("api_error", { message = "Service temporarily unavailable", count = 2 })
      local env = envelope(api(sb, STATUS, DEVICE, { token = t }))
      assert.same({ response_code = 1, response_message = "Service temporarily unavailable",
                    payload = "Service temporarily unavailable" }, env)
      local outer = envelope(api(sb, STATUS, DEVICE, { token = t, encrypt = D.client_secret }))
      assert.equals("Service temporarily unavailable",
        cjson.decode(core.decrypt(outer.request, D.client_secret)).payload)
      assert.equals(0, envelope(api(sb, STATUS, DEVICE, { token = t })).response_code)
    end)

    it("unauthorized: 401 even with a valid token", function()
      local sb, t = faulty("unauthorized")
      local res = api(sb, STATUS, DEVICE, { token = t })
      assert.equals(401, res.status)
      assert.equals("invalid_token", json(res).error)
      assert.equals(200, api(sb, STATUS, DEVICE, { token = t }).status)
    end)

    it("delay: the normal answer after `delay` seconds", function()
      local sb, t = faulty("delay", { delay = 1.5 })
      local res = api(sb, STATUS, DEVICE, { token = t })
      assert.equals(1.5, res.delay)
      assert.equals("Bound", envelope(res).payload.status)
      assert.is_nil(api(sb, STATUS, DEVICE, { token = t }).delay)
      sb:control("fault", { endpoint = "device.status", kind = "delay" })
      assert.equals(1, api(sb, STATUS, DEVICE, { token = t }).delay)
    end)

    it("http_status: any status and body, with Retry-After", function()
      local sb, t = faulty("http_status", { status = 429, body = '{"error":"slow down"}', retry_after = 2 })
      local res = api(sb, STATUS, DEVICE, { token = t })
      assert.equals(429, res.status)
      assert.equals('{"error":"slow down"}', res.body)
      assert.equals("application/json", res.headers["content-type"])
      assert.equals("2", res.headers["retry-after"])
      sb:control("fault", { endpoint = "device.status", kind = "http_status", status = 503 })
      res = api(sb, STATUS, DEVICE, { token = t })
      assert.equals(503, res.status)
      assert.equals("Service Unavailable", json(res).error)
    end)

    it("consumes counts, matches by endpoint or *, and -1 means always", function()
      local sb, t = faulty("non_json", { count = 2 })
      assert.equals(0, envelope(api(sb, GENERATE, DEVICE, { token = t })).response_code) -- other row
      assert.equals("OK", api(sb, STATUS, DEVICE, { token = t }).body)
      assert.equals("OK", api(sb, STATUS, DEVICE, { token = t }).body)
      assert.equals(0, envelope(api(sb, STATUS, DEVICE, { token = t })).response_code)
      sb:control("fault", { endpoint = "*", kind = "http_502_html" })
      assert.equals(502, token_req(sb).status) -- * matches the token endpoint too
      assert.equals(200, token_req(sb).status)
      sb:control("fault", { endpoint = "device.generate", kind = "http_status", status = 500, count = -1 })
      for _ = 1, 5 do assert.equals(500, api(sb, GENERATE, DEVICE, { token = t }).status) end
      assert.equals(1, sb:control("stats").pending_faults)
      sb:control("reset")
      assert.equals(0, sb:control("stats").pending_faults)
    end)

    it("refuses bad fault arguments", function()
      local sb = new()
      assert.has_error(function() sb:control("fault", { kind = "meteor" }) end, "unknown fault kind: meteor")
      assert.has_error(function() sb:control("fault", { endpoint = "wallet.nope", kind = "reset" }) end)
      assert.has_error(function() sb:control("fault", { kind = "reset", count = 0 }) end)
      assert.has_error(function() sb:control("fault", { kind = "http_status" }) end)
      assert.has_error(function() sb:control("fault", { kind = "delay", delay = -1 }) end)
      assert.has_error(function() sb:control("nope") end, "unknown control call: nope")
      assert.equals(0, sb:control("stats").pending_faults)
    end)
  end)

  describe("stats and log", function()
    it("count token and API requests and distinct connections", function()
      local sb = new()
      local t = json(token_req(sb, { conn = "a" })).access_token
      api(sb, GENERATE, DEVICE, { token = t, conn = "a" })
      api(sb, STATUS, DEVICE, { token = t, conn = "a" })
      api(sb, STATUS, DEVICE, { token = t, conn = "b" })
      sb:handle{ method = "GET", path = "/_sandbox/stats", headers = {}, body = "", conn = "z" }
      local s = sb:control("stats")
      assert.equals(1, s.token_requests)
      assert.equals(3, s.api_requests)
      assert.equals(2, s.connections)
      assert.equals(1, s.control_requests)
      assert.equals(5, s.requests)
      assert.equals(1, s.devices)
    end)

    it("log method, path, conn, status, endpoint, encrypted, and never a secret", function()
      local sb = new()
      local t = token(sb)
      api(sb, GENERATE, DEVICE, { token = t, encrypt = D.client_secret })
      api(sb, STATUS, DEVICE, { token = t })
      token_req(sb, { password = "Wrong#Pass1" })
      local entries = sb:control("log").entries
      assert.equals(4, #entries)
      assert.same({ method = "POST", path = TOKEN_PATH, conn = "c1", status = 200, endpoint = "auth.token",
                    encrypted = false }, entries[1])
      assert.same({ method = "POST", path = GENERATE, conn = "c1", status = 200, endpoint = "device.generate",
                    encrypted = true }, entries[2])
      assert.equals(400, entries[4].status)
      local allowed = { method = true, path = true, conn = true, status = true, endpoint = true,
                        encrypted = true, fault = true }
      for _, e in ipairs(entries) do
        for k in pairs(e) do assert.is_true(allowed[k], "unexpected log field " .. tostring(k)) end
      end
      local text = cjson.encode(entries)
      for _, secret in ipairs({ t, PASS, "Wrong#Pass1", D.client_secret, DEVICE.mobileNumber, DEVICE.deviceImei,
                                USER }) do
        assert.is_nil(text:find(secret, 1, true), "log holds a secret")
      end
      -- entries are copies
      entries[1].status = 999
      assert.equals(200, sb:control("log").entries[1].status)
    end)

    it("keep the log bounded and the counters exact", function()
      local sb = new()
      local max = require("enkash.sandbox.state").LOG_MAX
      for _ = 1, max + 5 do sb:handle{ method = "GET", path = "/x", headers = {}, body = "" } end
      assert.equals(max, #sb:control("log").entries)
      assert.equals(max + 5, sb:control("stats").requests)
    end)
  end)

  describe("control API over handle()", function()
    local function ctl(sb, method, name, body)
      local res = sb:handle{ method = method, path = "/_sandbox/" .. name, headers = {},
                             body = body and cjson.encode(body) or "" }
      return res, cjson.decode(res.body)
    end

    it("is off unless the sandbox was created with control = true (403)", function()
      local sb = new()
      for _, c in ipairs({ { "GET", "stats" }, { "POST", "reset" }, { "POST", "advance" }, { "GET", "nope" } }) do
        local res, out = ctl(sb, c[1], c[2], c[1] == "POST" and {} or nil)
        assert.equals(403, res.status)
        assert.matches("control = true", out.message, 1, true)
      end
      -- in-process control calls always work
      assert.equals(0, sb:control("stats").wallets)
    end)

    it("serves reset, config, fault, device, stats and log as JSON", function()
      local sb = new{ control = true }
      local res = ctl(sb, "GET", "log")
      assert.equals(200, res.status)
      assert.equals('{"entries":[]}', res.body)
      local out
      res, out = ctl(sb, "POST", "config", { token_style = "camel", token_ttl = 5 })
      assert.equals(200, res.status)
      assert.equals("camel", out.token_style)
      assert.equals(5, json(token_req(sb)).expiresIn)
      res = ctl(sb, "POST", "fault", { endpoint = "auth.token", kind = "non_json" })
      assert.equals(200, res.status)
      assert.equals("OK", token_req(sb).body)
      res, out = ctl(sb, "POST", "device", { deviceId = "D-9", status = "Failed" })
      assert.equals(200, res.status)
      assert.same({ deviceId = "D-9", status = "Failed" }, out)
      res, out = ctl(sb, "GET", "stats")
      assert.equals(200, res.status)
      assert.equals(2, out.token_requests)
      assert.equals(1, out.devices)
      res = ctl(sb, "POST", "reset")
      assert.equals(200, res.status)
      res, out = ctl(sb, "GET", "stats")
      assert.equals(200, res.status)
      assert.equals(0, out.requests)
      assert.equals(0, out.devices)
      assert.equals("camel", sb.opts.token_style) -- options survive a reset
    end)

    it("answers 400 for bad arguments, 404 for unknown calls and 405 for a wrong method", function()
      local sb = new{ control = true }
      local res, out = ctl(sb, "POST", "config", { token_style = "kebab" })
      assert.equals(400, res.status)
      assert.matches("token_style", out.error)
      assert.equals("snake", sb.opts.token_style)
      res = sb:handle{ method = "POST", path = "/_sandbox/config", headers = {}, body = "{oops" }
      assert.equals(400, res.status)
      assert.equals(404, (ctl(sb, "GET", "nope")).status)
      assert.equals(405, (ctl(sb, "GET", "reset")).status)
      assert.equals(405, (ctl(sb, "POST", "stats")).status)
      assert.equals(400, (ctl(sb, "POST", "config", { nope = 1 })).status)
    end)
  end)

  describe("options", function()
    it("are checked", function()
      assert.has_error(function() sandbox.new{ token_style = "kebab" } end)
      assert.has_error(function() sandbox.new{ bind_delay = -1 } end)
      assert.has_error(function() sandbox.new{ encryption = "always" } end)
      assert.has_error(function() sandbox.new{ colour = "blue" } end, "unknown sandbox option: colour")
      assert.has_error(function() sandbox.new{ client_secret = "" } end)
      assert.has_error(function() sandbox.new("x") end)
    end)

    it("default to the public sandbox credentials and a real clock", function()
      local sb = sandbox.new()
      assert.equals("CRSANDBOX1", sb.opts.partner_id)
      assert.equals(3, sb.opts.bind_delay)
      assert.equals(200, token_req(sb).status)
      local t0 = sb.clock()
      assert.is_number(t0)
      assert.is_true(sb.clock() >= t0)
    end)
  end)
end)
