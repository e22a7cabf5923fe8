local catalogue = require "enkash.catalogue"
local validate = require "enkash.validate"
local fx = require "helpers.fixtures"

local row = catalogue.by_name["device.status"]
local STRICT = { strict = true }

local function fails(changes, field, pattern, cfg)
  local body, err = validate.params(row, fx.device_with(changes), cfg)
  assert.is_nil(body)
  assert.equals("validation", err.kind)
  assert.equals(field, err.field)
  assert.equals("device.status", err.endpoint)
  if pattern then assert.matches(pattern, err.message) end
  return err
end

describe("validate device params", function()
  it("accepts the documented fields and returns them in documented order", function()
    local body = assert(validate.params(row, fx.device))
    assert.equals(#row.fields, #body)
    for i, f in ipairs(row.fields) do
      assert.same({ f.name, fx.device[f.name] }, body[i])
    end
    assert.equals(fx.device.model, validate.value(body, "model"))
  end)

  it("requires every documented field", function()
    for _, f in ipairs(row.fields) do
      fails({ [f.name] = false }, f.name) -- wrong type first
      local p = fx.device_with()
      p[f.name] = nil
      local _, err = validate.params(row, p)
      assert.equals(f.name, err.field)
      assert.matches("is required", err.message)
    end
  end)

  it("checks the mobile number without echoing it", function()
    for _, bad in ipairs({ "967460371", "96746037145", "96746O3714", "+919674603714", "" }) do
      local err = fails({ mobileNumber = bad }, "mobileNumber", "10%-digit")
      if #bad > 3 then assert.is_nil(tostring(err):find(bad, 1, true)) end
    end
  end)

  it("checks the IP address, v4 and v6, only when strict (Enkash states no format)", function()
    for _, ok in ipairs({ "192.168.1.10", "10.0.0.1", "::1", "2001:db8::8a2e:370:7334", "::ffff:10.1.2.3" }) do
      assert.truthy(validate.params(row, fx.device_with({ deviceIp = ok }), STRICT), ok)
    end
    for _, bad in ipairs({ "256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4.5", "abc", "1:2:3:4:5:6:7:8:9", "1::2::3" }) do
      fails({ deviceIp = bad }, "deviceIp", "IPv4 or IPv6", STRICT)
      assert.truthy(validate.params(row, fx.device_with({ deviceIp = bad })), bad)
    end
    fails({ deviceIp = " " }, "deviceIp", "empty") -- required: a blank one is a missing one
  end)

  it("checks the IMEI for 15 digits; its Luhn check digit only when strict", function()
    fails({ deviceImei = "35678912345678" }, "deviceImei", "15%-digit")
    fails({ deviceImei = "35678912345678A" }, "deviceImei", "15%-digit")
    -- The portal's own example IMEI has a wrong check digit: it goes out as it is by default.
    local body = assert(validate.params(row, fx.device_with({ deviceImei = "356789123456789" })))
    assert.equals("356789123456789", validate.value(body, "deviceImei"))
    assert.truthy(validate.params(row, fx.device_with({ deviceImei = "356789123456789" }), { strict = false }))
    fails({ deviceImei = "356789123456789" }, "deviceImei", "Luhn", STRICT)
    assert.truthy(validate.params(row, fx.device_with({ deviceImei = "490154203237518" }), STRICT))
    assert.is_true(validate.luhn_ok("356789123456780"))
  end)

  it("accepts any platform by default, only android and ios when strict", function()
    assert.truthy(validate.params(row, fx.device_with({ platform = "ios" }), STRICT))
    assert.truthy(validate.params(row, fx.device_with({ platform = "Android" })))
    fails({ platform = "Android" }, "platform", "android", STRICT)
    fails({ platform = "windows" }, "platform", nil, STRICT)
  end)

  it("refuses blank strings and non-string values", function()
    fails({ model = "   " }, "model", "empty")
    fails({ appVersion = 6.2 }, "appVersion", "must be a string")
  end)

  it("refuses undocumented fields and suggests the documented spelling", function()
    local p = fx.device_with({ manufracture = false })
    p.manufracture = nil
    p.manufacturer = "Google"
    local _, err = validate.params(row, p)
    assert.equals("manufacturer", err.field)
    assert.matches('did you mean "manufracture"', err.message)
  end)

  it("refuses a non-table", function()
    local _, err = validate.params(row, "x")
    assert.equals("validation", err.kind)
  end)
end)
