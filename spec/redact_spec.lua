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
