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

describe("docs/enkash-api.md", function()
  -- Every file of the project cites its evidence there, never outside the repository.
  local doc = assert(io.open("docs/enkash-api.md")):read("*a")
  local sections = {}
  for n in doc:gmatch("\n##+ ([%d.]*%d)%.? ") do sections[n] = true end

  it("has every section the code, examples and README cite", function()
    local p = io.popen("grep -rhoE 'enkash-api\\.md §[0-9.]*[0-9]' lua examples README.md spec bin")
    local cited = 0
    for ref in p:read("*a"):gmatch("§([%d.]*%d)") do
      cited = cited + 1
      assert.truthy(sections[ref], "docs/enkash-api.md has no section " .. ref)
    end
    p:close()
    assert.is_true(cited > 20)
  end)

  it("is the only evidence cited: nothing points outside the repository", function()
    local p = io.popen("grep -rlE '\\.\\./shared|REFERENCE\\.md|DESIGN\\.md' lua examples README.md bin tools csrc")
    local out = p:read("*a")
    p:close()
    assert.equals("", out)
  end)
end)
