-- The README stays true to the catalogue: every assumed row is listed under
-- "Assumed endpoints", and every endpoint of the client appears in the endpoints table.
local catalogue = require "enkash.catalogue"

describe("README", function()
  local text = assert(io.open("README.md")):read("*a")
  local assumed = text:match("### Assumed endpoints(.-)\n## ")

  it("lists every assumed catalogue row", function()
    assert.truthy(assumed)
    for _, row in ipairs(catalogue.rows) do
      if row.documented == false or row.assumption then
        assert.truthy(assumed:find("`" .. row.name .. "`", 1, true), row.name .. " missing from Assumed endpoints")
        assert.is_string(row.assumption, row.name .. " has no reason")
      end
    end
  end)

  it("shows every endpoint of the client with its path", function()
    for _, row in ipairs(catalogue.rows) do
      if row.host == "api" then
        local group, method = catalogue.split(row.name)
        local line = text:match("| `client%." .. group .. ":" .. method .. "%(p%)` | `([^`]+)`")
        assert.equals(row.method .. " " .. row.path, line, row.name)
      end
    end
  end)

  it("shows the two commands and the demo's output", function()
    assert.truthy(text:find("make demo", 1, true))
    assert.truthy(text:find("make test", 1, true))
    assert.truthy(text:find("[8/8] KYC full", 1, true))
  end)
end)
