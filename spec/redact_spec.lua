-- Central redaction, loaded fresh so nothing else in the suite has warmed it up.
describe("redact", function()
  local redact
  before_each(function()
    package.loaded["enkash.redact"] = nil
    redact = require "enkash.redact"
  end)

  it("masks fields by name from the first call on", function()
    local out = redact.table({
      password = "Spec@Pass#4417", client_secret = "s3cr3t", otp = "123456", access_token = "tok",
      mobile = "9674603714", mobileNumber = "9674603714", docNo = "CPNPN9971R",
      accountNumber = "123456789012", deviceImei = "356789123456780", email = "kris@example.com",
      nested = { token = "abc", mobile = "9812345601" }, amount = 10, note = "call 9674603714",
    })
    assert.equals("***", out.password)
    assert.equals("***", out.client_secret)
    assert.equals("***", out.otp)
    assert.equals("***", out.access_token)
    assert.equals("96XXXXXX14", out.mobile)
    assert.equals("96XXXXXX14", out.mobileNumber)
    assert.equals("XXXXX9971X", out.docNo)
    assert.equals("XXXXXXXX9012", out.accountNumber)
    assert.equals("XXXXXXXXXXX6780", out.deviceImei)
    assert.equals("k***@example.com", out.email)
    assert.equals("***", out.nested.token)
    assert.equals("98XXXXXX01", out.nested.mobile)
    assert.equals(10, out.amount)
    assert.equals("call 96XXXXXX14", out.note)
  end)

  it("masks PII in free text, whole words only", function()
    assert.equals("mobile 96XXXXXX14, PAN XXXXX1234X, acct XXXXXXXX9012, ref ENK1234567890ABC",
      redact.text("mobile 9674603714, PAN ABCDE1234F, acct 123456789012, ref ENK1234567890ABC"))
    assert.equals("short 12345 stays", redact.text("short 12345 stays"))
  end)
end)

describe("redact, round two", function()
  local redact = require "enkash.redact"

  it("masks digit runs split by spaces or dashes, keeping the layout", function()
    assert.equals("card XXXX-XXXX-XXXX-1111", redact.text("card 4111-1111-1111-1111"))
    assert.equals("card XXXX XXXX XXXX 1111", redact.text("card 4111 1111 1111 1111"))
    assert.equals("+91 98XXX XXX70", redact.text("+91 98123 45670"))
    assert.equals("+91-98XXX-XXX70", redact.text("+91-98123-45670"))
    assert.equals("acct XXXXX3645", redact.text("acct 918273645"))
    assert.equals("aadhaar XXXX XXXX 9012", redact.text("aadhaar 1234 5678 9012"))
  end)

  it("masks a PAN in any case, codes next to an OTP word, credentials after Bearer/Basic/token", function()
    assert.equals("pan XXXXX5678X / XXXXX5678X", redact.text("pan qwert5678y / QwErT5678Y"))
    assert.equals("OTP *** invalid; *** is your otp; passcode: ***", redact.text(
      "OTP 483921 invalid; 483921 is your otp; passcode: 4839"))
    assert.equals("Authorization: Bearer ***", redact.text("Authorization: Bearer abc.DEF123.xyz"))
    assert.equals('{"access_token":"***"}', redact.text('{"access_token":"tok-1234567890"}'))
    assert.equals("password=*** secret: ***", redact.text("password=hunter2 secret: xyz"))
  end)

  it("leaves ids, decimals, times, amounts and quantities alone", function()
    for _, s in ipairs({ "ENK0123456789ABC", "ENK-2024-000123456789", "1234567890.50", "10:30:45",
                         "12345678221 bytes remaining", "Rs. 123456789", "timestamp=1714567890123",
                         "2026-12-02T10:15:30.123456789Z", "Basic KYC", "token expired" }) do
      assert.equals(s, redact.text(s))
    end
  end)

  it("masks registered secrets in any case and spacing while their owner lives", function()
    local _, before = redact.registered()
    local owner = {}
    redact.remember(owner, "password", "Spec@Pass#4417")
    assert.equals("pw *** / *** / *** / ***", redact.text(
      "pw Spec@Pass#4417 / SPEC@PASS#4417 / Spec @ Pass # 4417 / Spec%40Pass%234417"))
    redact.forget(owner)
    assert.equals(before, select(2, redact.registered()))
  end)

  it("registers a config's secrets and its Basic credential as the C core encodes it", function()
    local core = require "enkash.core"
    local cfg = { client_id = "CEKTEST001", client_secret = "abc:secret-99", password = "pw-12345",
                  username = "6000000099" }
    redact.remember_config(cfg)
    local basic = core.b64encode(cfg.client_id .. ":" .. cfg.client_secret)
    assert.equals("echo ***", redact.text("echo " .. basic))
    for _, n in ipairs({ 1, 2, 3, 4, 5, 6 }) do -- every padding length encodes alike
      local owner = { client_id = ("x"):rep(n), client_secret = "s3cret-value" }
      redact.remember_config(owner)
      assert.equals("***", redact.text(core.b64encode(owner.client_id .. ":" .. owner.client_secret)))
      redact.forget(owner)
    end
    redact.forget(cfg)
  end)

  it("holds a call's secret fields (OTP as text or number) for as long as its owner", function()
    local o = {}
    redact.hold(o, { otp = 583920, nested = { mfaCode = "MFA-9921" }, amount = 10 })
    assert.equals("value *** and ***", redact.text("value 583920 and mfa-9921"))
    redact.forget(o)
  end)

  it("cuts a huge text at a space before masking it, never through a word", function()
    local word = "9812345670"
    local s = ("x"):rep(redact.MAX_TEXT - 5) .. " " .. word .. (" tail"):rep(250000) -- ~1 MB
    local out = redact.text(s)
    assert.is_true(#out < redact.MAX_TEXT + 64, #out .. " bytes")
    assert.matches(" %.%.%. %(%d+ bytes cut%)$", out)
    assert.is_nil(out:find("98123", 1, true)) -- not even the half of the number before the cut
    assert.equals(out, redact.text(out))
    local tokens = redact.text(("tokentoken"):rep(100000)) -- keyword scans stay linear
    assert.is_true(#tokens < redact.MAX_TEXT + 64)
  end)

  it("shortens links by key, masks labels, and copies deep tables safely", function()
    assert.equals("https://vkyc.example/...mnop",
      redact.value("vkycLink", "https://vkyc.example/s/abcdefghijklmnop"))
    assert.equals("https://x.example/...mnop", redact.value("sessionUrl", "https://x.example/s/abcdefghijklmnop"))
    assert.equals("+91 98XXX XXX70", redact.label("+91 98123 45670"))
    assert.equals("a\\013\\010b", redact.label("a\r\nb"))
    assert.equals("?", redact.label(42))
    assert.is_true(#redact.label(("k"):rep(1000)) <= 64)
    local t = {}
    t.self = t
    assert.is_table(redact.table(t)) -- a cycle ends as "***", never a stack overflow
  end)
end)
