-- Secrets and PII never leave or show (issue 11, "Secrets leave or show"), class by class:
--   1. a hostile server echoing each secret and PII kind, in every spelling, in each error
--      shape (response_code and code envelopes, Spring 4xx, OAuth error_description, the
--      token endpoint's refusals): no err.message nor tostring(err) shows it; the caller's
--      own secrets through the client's registry (bounded, per client, collected with it);
--   2. ordinary text is left alone (a table of texts that redaction must not change);
--   3. an unknown field's label (err.field) is masked like the message;
--   4. `enkash run` shows step values masked the same way in --json and in its human lines,
--      the VKYC link shortened (in-process printers under both interpreters; a real run over
--      the nginx sandbox under Lua 5.4);
--   5. the secrets scan (tools/scan_secrets.lua) reads what the CLI printed.
-- Each class prints how many cases it walked (the issue's closing note cites them).
local enkash = require "enkash"
local redact = require "enkash.redact"
local progress = require "enkash.cli.progress"
local cjson = require "cjson"
local fx = require "helpers.fixtures"
local audit = require "helpers.audit"
local cli = require "helpers.cli"

-- The values this spec echoes (spec/helpers/fixtures.lua's `secrets` lists them too, so the
-- suite-wide scan fails if any of them is ever recorded in full).
local L = {
  token = "tokZ9x8Y7w6V5u4T3s2R1q0p", otp = "483921", call_otp = "583920", account = "918273645",
  account18 = "918273645012345678", pan = "qwert5678y", mobile = "9812345670", card = "4111111111111111",
  jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWFrcy1zcGVjIn0.c2lnbmF0dXJlLTQ4MzkyMQ",
}
local TOKEN = L.token
local BASIC = "Q0VLVEVTVDAwMTpzcGVjLWNsaWVudC1zZWNyZXQtN2YzYTlj" -- base64("CEKTEST001:" .. secret)

local function fold(s) return (s:lower():gsub("[%s%-]+", "")) end
local function digits(s) return (s:gsub("%D", "")) end

-- Does `text` show `needle` (compared as `how` says)?
local function shows(text, needle, how)
  if how == "digits" then return digits(text):find(digits(needle), 1, true) ~= nil end
  return fold(text):find(fold(needle), 1, true) ~= nil
end

local function spaced(s) return (s:gsub("(....)", "%1 ")) end
local function url(s) return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end)) end

-- Every spelling of every kind: {label, echoed text, needle, how, needs_token}.
local function echoes()
  local list = {}
  local function add(label, text, needle, how, needs_token)
    list[#list + 1] = { label, text, needle or text, how or "fold", needs_token }
  end
  for _, s in ipairs({ { "client secret", fx.creds.client_secret }, { "password", fx.creds.password },
                       { "username", fx.creds.username } }) do
    add(s[1], s[2])
    add(s[1] .. " upper-cased", s[2]:upper())
    add(s[1] .. " spaced", spaced(s[2]))
    add(s[1] .. " form-encoded", url(s[2]))
    add(s[1] .. " JSON-escaped", cjson.encode(s[2]):sub(2, -2))
  end
  add("Basic credential", BASIC)
  add("Basic header", "Authorization: Basic " .. BASIC, BASIC)
  add("our token, bare", TOKEN, nil, nil, true)
  add("our token, upper-cased", TOKEN:upper(), nil, nil, true)
  add("our token after Bearer", "Authorization: Bearer " .. TOKEN, TOKEN, nil, true)
  add("a JWT after Bearer", "Bearer " .. L.jwt, L.jwt)
  add("a token after token=", "token=" .. L.jwt, L.jwt)
  add("OTP after the word", "OTP " .. L.otp .. " is invalid", L.otp)
  add("otp: value", "invalid otp: " .. L.otp, L.otp)
  add("OTP before the word", L.otp .. " is your OTP", L.otp)
  add("passcode", "passcode " .. L.otp .. " expired", L.otp)
  add("MPIN", "MPIN " .. L.otp .. " wrong", L.otp)
  add("9-digit account number", "account " .. L.account .. " frozen", L.account, "digits")
  add("18-digit account number", "account " .. L.account18 .. " frozen", L.account18, "digits")
  add("PAN, upper case", "PAN " .. L.pan:upper(), L.pan)
  add("PAN, lower case", "pan " .. L.pan, L.pan)
  add("PAN, mixed case", "pan " .. "QwErT5678y", L.pan)
  for _, m in ipairs({ "+91 98123 45670", "+91-98123-45670", "+919812345670", "98123 45670", "9812345670",
                       "91 98123 45670", "0 98123 45670", "+91 981 234 5670" }) do
    add("mobile " .. m, "mobile " .. m .. " blocked", L.mobile, "digits")
  end
  for _, c in ipairs({ "4111-1111-1111-1111", "4111 1111 1111 1111", "4111111111111111" }) do
    add("card " .. c, "card " .. c .. " declined", L.card, "digits")
  end
  return list
end

-- The shapes a server puts its words in: {label, where = "api" | "token", answer(msg)}.
local function json(status, doc) return { status = status, headers = {}, body = cjson.encode(doc) } end
local SHAPES = {
  { "response_code envelope, string payload", "api",
    function(m) return json(200, { response_code = 1, response_message = m, payload = m }) end },
  { "response_code envelope, null payload", "api",
    function(m) return json(200, { response_code = 1, response_message = m, payload = cjson.null }) end },
  { "code/message envelope", "api", function(m) return json(200, { code = 1, message = m }) end },
  { "Spring 4xx body", "api", function(m)
    return json(400, { timestamp = "2026-12-02T10:00:00.000+00:00", status = 400, error = "Bad Request",
                       message = m, path = "/api/v1/partner/device-bind/status" })
  end },
  { "OAuth error_description (API)", "api",
    function(m) return json(403, { error = "access_denied", error_description = m }) end },
  { "OAuth error_description (token endpoint)", "token",
    function(m) return json(401, { error = "invalid_grant", error_description = m }) end },
  { "OAuth error (token endpoint)", "token", function(m) return json(400, { error = m }) end },
  { "token answer without a token", "token", function(m) return json(200, { message = m }) end },
}

-- A transport that answers the token endpoint with `token_answer` (default: TOKEN) and every
-- other request with `api_answer`, as often as asked.
local function hostile(api_answer, token_answer)
  local t = { n = 0 }
  function t.request(_, req)
    t.n = t.n + 1
    if req.url:find("/oauth/token", 1, true) then
      return token_answer or json(200, { access_token = TOKEN, expires_in = 3600 })
    end
    return api_answer
  end
  function t.sleep() end
  function t.close() end
  return t
end

local function new_client(t, extra)
  local cfg = { transport = t, retries = 0 }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert(enkash.new(fx.config("http://127.0.0.1:9", cfg)))
end

describe("secrets and PII never leave or show", function()
  describe("class 1: a hostile server echoing secrets and PII", function()
    it("never gets one into err.message or tostring(err), in any shape or spelling", function()
      local cases = 0
      for _, shape in ipairs(SHAPES) do
        for _, e in ipairs(echoes()) do
          if not (e[5] and shape[2] == "token") then -- no token is issued when its endpoint refuses
            local said = "rejected: " .. e[2] .. " (echoed)"
            local t = shape[2] == "api" and hostile(shape[3](said)) or hostile(nil, shape[3](said))
            local c = new_client(t)
            local p, err = c.device:status(fx.device)
            local what = shape[1] .. " / " .. e[1]
            assert.is_nil(p, what)
            assert.is_table(err, what)
            -- the server's words are carried (else this case would prove nothing) ...
            assert.truthy(err.message:find("(echoed)", 1, true), what .. ": " .. err.message)
            -- ... without the value
            assert.is_false(shows(err.message, e[3], e[4]), what .. ": " .. err.message)
            assert.is_false(shows(tostring(err), e[3], e[4]), what .. ": " .. tostring(err))
            assert.is_true(t.n <= 4, what .. ": " .. t.n .. " requests")
            c:close()
            cases = cases + 1
          end
        end
      end
      print(("  class 1: %d echo cases (%d shapes x %d spellings, less the token's on refused-token shapes)")
        :format(cases, #SHAPES, #echoes()))
      assert.is_true(cases >= 250)
    end)

    it("masks the secret fields of the call in flight (an OTP echoed bare), then forgets them", function()
      collectgarbage("collect")
      local owners0 = redact.registered()
      local said = "value " .. L.call_otp .. " rejected (echoed)"
      local t = hostile(json(200, { response_code = 1, response_message = said, payload = said }))
      local c = new_client(t, { card_account_id = "CAC1" })
      local _, err = c.merchant:debit({ merchantDetailId = "MD1", enkashCardId = "EKC1", amount = "20.00",
        otpMedium = "MOBILE", otp = L.call_otp, otpReferenceId = "EK0N4ERDOS" })
      assert.is_table(err)
      assert.matches("value *** rejected", err.message, 1, true)
      c:close()
      c, err = nil, nil -- luacheck: ignore
      collectgarbage("collect")
      collectgarbage("collect")
      assert.equals(owners0, (redact.registered()), "the call's and the client's secrets left with them")
    end)

    it("keeps the registry per client and bounded: a dropped client's secrets leave it", function()
      collectgarbage("collect")
      local owners0 = redact.registered()
      for i = 1, 200 do
        local c = assert(enkash.new(fx.config("http://127.0.0.1:9", {
          transport = hostile(), client_secret = "per-client-secret-" .. i })))
        assert(c:token())
        c:close()
      end
      collectgarbage("collect")
      collectgarbage("collect")
      local owners = redact.registered()
      assert.is_true(owners <= owners0 + 1, owners .. " owners after 200 dropped clients")
    end)

    it("masks both live clients' secrets in either's errors (masking more is fine)", function()
      local a = new_client(hostile(), { client_secret = "alpha-secret-0001" })
      local b = new_client(hostile(), { client_secret = "bravo-secret-0002" })
      local text = redact.text("a=ALPHA-SECRET-0001 b=bravo secret 0002")
      assert.equals("a=*** b=***", text)
      a:close()
      b:close()
    end)

    it("bounds each owner: a slot keeps its value and the one before; more slots than allowed raise", function()
      local owner = {}
      assert.is_true(redact.remember(owner, "access_token", "first-token-11111"))
      assert.is_true(redact.remember(owner, "access_token", "second-token-2222"))
      assert.equals("*** ***", redact.text("first-token-11111 second-token-2222"))
      assert.is_true(redact.remember(owner, "access_token", "third-token-33333"))
      local _, values = redact.registered()
      assert.is_true(values < 1000)
      for i = 2, redact.MAX_SLOTS do redact.remember(owner, "slot" .. i, "value-" .. i .. "-xyz") end
      assert.has_error(function() redact.remember(owner, "one too many", "value-too-many") end)
      assert.has_error(function() redact.remember("a string owner", "s", "value-xyz1") end)
      assert.is_false(redact.remember(owner, "access_token", "abc")) -- too short to tell from text
      redact.forget(owner)
    end)

    it("finds the Basic credential it never saw whole (base64 of client id and secret)", function()
      local c = new_client(hostile())
      assert.equals("echo ***", redact.text("echo " .. BASIC))
      c:close()
    end)
  end)

  describe("class 2: ordinary text", function()
    local ORDINARY = {
      "12345678221 bytes remaining", "XXXXXXX8221 bytes remaining", "received 1048576000 bytes",
      "took 1500 ms", "timeout after 300000 ms", "retry in 120 s", "waited 86400 seconds", "HTTP 502",
      "HTTP 429 Too Many Requests", "response_code=1", "amount 100.50", "amount 123456789.50",
      "balance 150000000", "Rs. 123456789", "INR 250000000", "\226\130\185123456789", "1,234,567,890",
      "2026-12-02T10:15:30.123456789Z", "2026-12-02 10:15:30", "02-09-1990", "at 10:30:45",
      "timestamp=1714567890123", "createdAt: 1714567890123", "expires_in 86399",
      "ref ENK0123456789ABC", "ENK514249B2F80CD154AB80", "ENK-2024-000123456789", "TXN_RANDOX123451abce",
      "UTX-20240501-0001", "otpReferenceId EK0N4ERDOS", "EKC6DUJG0K", "CACSANDBOX1",
      "0D5249C7-5D42-48AC-A8C2-79EE90D2560D", "v1.2.3", "ids 100 200 300", "page 2 of 17",
      "Basic KYC not done", "token validation failed", "Access token expired", "token_type bearer",
      "OTP valid for 10 minutes", "OTP expired after 300 seconds", "3 OTP attempts left",
      "pincode 411001", "IFSC HDFC0001234", "XXXXXXXX9012", "96XXXXXX14", "XXXXX1234X",
      "+91 98XXX XXX70", "XXXX-XXXX-XXXX-1111", "Wallet not found", "KYC already completed",
      "Insufficient balance", "limit exceeded: 2 of 5 loads today",
    }

    it("is left unchanged (" .. #ORDINARY .. " texts)", function()
      for _, text in ipairs(ORDINARY) do
        assert.equals(text, redact.text(text), "redaction changed ordinary text")
      end
      print(("  class 2: %d ordinary texts unchanged"):format(#ORDINARY))
    end)

    it("masks the PII beside them, and masking twice changes nothing more", function()
      local text = "card 4111 1111 1111 1111 (12345678221 bytes), mobile +91 98123 45670 at 10:30, ref ENK0123456789"
      local once = redact.text(text)
      assert.equals("card XXXX XXXX XXXX 1111 (12345678221 bytes), mobile +91 98XXX XXX70 at 10:30, ref ENK0123456789",
        once)
      assert.equals(once, redact.text(once))
    end)
  end)

  describe("class 3: the label of an unknown field", function()
    local KEYS = {
      { L.mobile, L.mobile, "digits" }, { "+91 98123 45670", L.mobile, "digits" },
      { L.pan, L.pan }, { L.pan:upper(), L.pan }, { L.card, L.card, "digits" },
      { "4111-1111-1111-1111", L.card, "digits" }, { L.account, L.account, "digits" },
      { fx.creds.client_secret, fx.creds.client_secret }, { fx.creds.password, fx.creds.password },
      { "otp " .. L.otp, L.otp },
    }

    it("is masked in err.field and in the message, and escapes control characters", function()
      local c = new_client(hostile())
      local cases = 0
      for _, k in ipairs(KEYS) do
        for _, endpoint in ipairs({ "device.status", "wallet.details", "transfers.add_beneficiary" }) do
          local _, err = c:call(endpoint, { [k[1]] = "x" })
          assert.equals("validation", err.kind)
          assert.matches("is not a documented field", err.message)
          assert.is_string(err.field)
          assert.is_false(shows(err.field, k[2], k[3]), endpoint .. ": field " .. err.field)
          assert.is_false(shows(tostring(err), k[2], k[3]), tostring(err))
          cases = cases + 1
        end
      end
      local params = fx.device_with({})
      params["bad\r\nInjected: 1"] = "x"
      local _, err = c.device:status(params)
      assert.is_nil(err.field:find("[\r\n]"))
      assert.is_nil(err.message:find("[\r\n]"))
      params = fx.device_with({})
      params[string.rep("k", 100000)] = "x"
      _, err = c.device:status(params)
      assert.is_true(#err.field <= 64, "a 100 kB key is shown in " .. #err.field .. " bytes")
      c:close()
      print(("  class 3: %d unknown-key cases (+2: control characters, a 100 kB key)"):format(cases))
    end)
  end)

  describe("class 4: enkash run's output", function()
    local function sink()
      local s = { text = "" }
      function s.write(self, ...)
        for _, v in ipairs({ ... }) do self.text = self.text .. tostring(v) end
      end
      function s.flush() end
      return s
    end

    local LINK = "https://vkyc.sandbox.invalid/s/abcdefghijklmnop"
    local VALUES = {
      mobile = L.mobile, otp = L.otp, accountNumber = L.account, vkycLink = LINK, pan = L.pan:upper(),
      note = "call +91 98123 45670, card 4111-1111-1111-1111, pan " .. L.pan,
      sessionUrl = LINK, code = "OTP " .. L.otp, token = TOKEN,
    }
    local NEEDLES = { { L.mobile, "digits" }, { L.otp }, { L.account, "digits" }, { L.pan }, { L.card, "digits" },
                      { "abcdefghijklmnop" }, { TOKEN } }

    local function events()
      local list = {}
      for key, value in pairs(VALUES) do
        list[#list + 1] = { event = "step", k = 1, n = 1, name = "s", status = "done", elapsed = 0.1,
                            result = { [key] = value } }
      end
      list[#list + 1] = { event = "step", k = 1, n = 1, name = "s", status = "failed", elapsed = 0.1,
                          error = "refused for mobile " .. L.mobile .. ", otp " .. L.otp .. ", PAN " .. L.pan }
      list[#list + 1] = { event = "end", ok = false, run_id = "r", error = "account " .. L.account .. " closed" }
      return list
    end

    it("masks every value alike in --json and in the human lines (both interpreters)", function()
      local h, j = sink(), sink()
      local human, as_json = progress.human(h), progress.json(j)
      local cases = 0
      for _, e in ipairs(events()) do
        human(e)
        as_json(e)
        cases = cases + 1
      end
      audit.shown("progress printers (leaks_spec)", h.text .. "\n" .. j.text)
      for _, n in ipairs(NEEDLES) do
        assert.is_false(shows(h.text, n[1], n[2]), "human output shows " .. n[1] .. ":\n" .. h.text)
        assert.is_false(shows(j.text, n[1], n[2]), "--json shows " .. n[1] .. ":\n" .. j.text)
      end
      -- the same masks in both: each value of the JSON events is on the human lines
      for line in j.text:gmatch("[^\n]+") do
        local e = cjson.decode(line)
        for k, v in pairs(e.result or {}) do
          local shown = tostring(k) .. "=" .. tostring(v)
          if #tostring(v) <= 40 then assert.truthy(h.text:find(shown, 1, true), shown .. " not on the human lines") end
        end
      end
      local links = 0
      for line in j.text:gmatch("[^\n]+") do
        local r = cjson.decode(line).result or {}
        if r.vkycLink then
          assert.equals("https://vkyc.sandbox.invalid/...mnop", r.vkycLink)
          links = links + 1
        end
      end
      assert.equals(1, links)
      print(("  class 4: %d events through both printers, %d values checked"):format(cases, #NEEDLES))
    end)

    if jit then return end -- the CLI runs as a subprocess: Lua 5.4 only (spec/helpers/cli.lua)

    it("enkash run --json and its human output show no value in full, over the nginx sandbox", function()
      local nginx = require "enkash.sandbox.nginx"
      local srv = assert(nginx.start{ sandbox_opts = { bind_delay = 0.1, vkyc_step = 0.2, tnc_accept_delay = 0.1 } })
      local dir = cli.tmpdir()
      finally(function()
        srv:stop()
        cli.rmdir(dir)
      end)
      cli.write(dir .. "/leaks.lua", [[
local runbook = require "enkash.runbook"
local rb = runbook.new("leaks")
rb:step("create wallet", function(ctx)
  local w, err = ctx:call("wallet.create", ctx.input.wallet)
  if not w then return nil, err end
  return { enKashCardId = w.enKashCardId, mobile = ctx.input.wallet.mobile }
end)
rb:step("VKYC link", function(ctx)
  local v, err = ctx:call("wallet.vkyc_link", { enKashCardId = ctx.values["create wallet"].enKashCardId })
  if not v then return nil, err end
  return { vkycLink = v.vkycLink }
end)
rb:step("values", function(ctx)
  return { otp = ctx.input.otp, accountNumber = ctx.input.account, pan = ctx.input.pan, note = ctx.input.note }
end)
rb:step("fails", function(ctx) return nil, "refused: " .. ctx.input.note end)
return rb
]])
      local wallet = fx.wallet_params({ mobile = L.mobile })
      wallet.documents = { { docType = "PAN", docNo = L.pan:upper() } }
      cli.write(dir .. "/input.json", cjson.encode({ wallet = wallet, otp = L.otp, account = L.account, pan = L.pan,
        note = "mobile +91 98123 45670, card 4111-1111-1111-1111, pan " .. L.pan .. ", otp " .. L.otp }))
      local env = { ENKASH_ENV = "sandbox", ENKASH_BASE_URL = srv.url }
      local runs = 0
      local outputs = {}
      for _, mode in ipairs({ "--json", false }) do
        local args = { "run", dir .. "/leaks.lua", "--input", dir .. "/input.json", "--runs-dir", dir .. "/runs" }
        if mode then args[#args + 1] = mode end
        local r = cli.run(args, env)
        assert.equals(1, r.code, r.out .. r.err) -- the last step fails on purpose
        for _, n in ipairs(NEEDLES) do
          assert.is_false(shows(r.out .. r.err, n[1], n[2]), (mode or "human") .. " shows " .. n[1] .. ":\n" .. r.out)
        end
        assert.is_nil(r.out:find("vkyc.sandbox.invalid/s/", 1, true), "the VKYC session path is shown")
        outputs[mode or "human"] = r.out
        runs = runs + 1
      end
      local result = {}
      for line in outputs["--json"]:gmatch("[^\n]+") do
        local e = cjson.decode(line)
        if e.event == "step" and e.result then result[e.name] = e.result end
      end
      assert.matches("^https://vkyc%.sandbox%.invalid/%.%.%.%w%w%w%w$", result["VKYC link"].vkycLink)
      assert.matches("vkycLink=https://vkyc%.sandbox%.invalid/%.%.%.%w%w%w%w", outputs.human)
      assert.equals("98XXXXXX70", result["create wallet"].mobile)
      assert.equals("***", result.values.otp)
      assert.equals("XXXXX3645", result.values.accountNumber)
      assert.matches("accountNumber=XXXXX3645", outputs.human)
      assert.matches("mobile=98XXXXXX70", outputs.human)
      assert.matches("refused: mobile %+91 98XXX XXX70", outputs.human)
      print(("  class 4: %d CLI runs over nginx (--json, human), %d values checked in each"):format(runs, #NEEDLES))
    end)
  end)

  describe("class 5: the secrets scan reads what was printed", function()
    local function scan(shown_line)
      local dir = os.tmpname()
      os.remove(dir)
      os.execute("mkdir -p '" .. dir .. "'")
      local f = assert(io.open(dir .. "/lines.txt", "w"))
      f:write("enkash api error: masked 96XXXXXX14\n")
      f:close()
      f = assert(io.open(dir .. "/shown.txt", "w"))
      f:write(shown_line, "\n")
      f:close()
      local p = io.popen("cd '" .. cli.root .. "' && lua5.4 tools/scan_secrets.lua '" .. dir
        .. "' >/dev/null 2>&1; echo $?")
      local rc = tonumber(p:read("*a"))
      p:close()
      os.execute("rm -rf '" .. dir .. "'")
      return rc
    end

    it("fails on a secret or full PII in the CLI's output, in any case or spacing, and passes masked text", function()
      assert.equals(0, scan("enkash run stdout: mobile=96XXXXXX14 otp=***"))
      local cases = 1
      for _, s in ipairs({ fx.creds.password, fx.creds.client_secret:upper(), "+91 98123 45670", "4111 1111 1111 1111",
                           L.pan:upper(), L.account, L.jwt }) do
        assert.equals(1, scan("enkash run stdout: value " .. s), s)
        cases = cases + 1
      end
      print(("  class 5: %d scan cases"):format(cases))
    end)
  end)
end)
