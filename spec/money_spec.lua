local money = require "enkash.money"

describe("money", function()
  it("converts rupees to integer paise by decimal text", function()
    local cases = { ["100.50"] = 10050, ["100"] = 10000, ["0.01"] = 1, ["99999.99"] = 9999999, ["00012.3"] = 1230 }
    for text, paise in pairs(cases) do assert.equals(paise, money.paise(text), text) end
    assert.equals(1000, money.paise(10))
    assert.equals(2050, money.paise(20.5))
    assert.equals(10007, money.paise(100.07)) -- not 10006: the shortest exact text is used
    assert.equals(1999, money.paise(19.99))
  end)

  it("refuses, never rounds, what is not a positive amount with at most 2 decimals", function()
    local bad = { 0.1 + 0.2, "0.125", 0.125, "1.", ".5", "-1", -1, "0", 0, "0.00", "1e3", 1e15, 1e-5,
                  "abc", "", " 1", 0 / 0, math.huge, true, {} }
    for _, v in ipairs(bad) do
      local p, why = money.paise(v)
      assert.is_nil(p, tostring(v))
      assert.is_string(why)
    end
    assert.matches("at most 2 decimals", select(2, money.paise(0.1 + 0.2)))
    assert.is_nil(money.paise("12345678901"))
  end)

  it("writes paise back as rupees", function()
    assert.equals("10", money.text(1000))
    assert.equals("20.50", money.text(2050))
    assert.equals("0.05", money.text(5))
    assert.equals("99999.99", money.text(9999999))
  end)

  it("round-trips every paise value of a range exactly", function()
    for paise = 1, 20000, 7 do
      assert.equals(paise, money.paise(money.text(paise)))
    end
  end)
end)
