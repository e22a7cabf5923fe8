-- Every request example the portal shows goes out verbatim (catalogue rows' `example`): with
-- the default config, validation passes and the body (or query string) the client sends is
-- the example's JSON text, field for field and value for value, amounts in the documented
-- form (`amount` a JSON number as written, 20.00 included; `amountToLoad` a string). The
-- sent request is captured by a recording transport in front of the in-process sandbox,
-- which must not refuse any example for a format reason either.
local enkash = require "enkash"
local catalogue = require "enkash.catalogue"
local validate = require "enkash.validate"
local sandbox = require "enkash.sandbox"
local sandbox_fields = require "enkash.sandbox.fields"
local sandbox_transport = require "enkash.transport.sandbox"
local cjson = require "cjson"
local fx = require "helpers.fixtures"

local concat = table.concat

-- The rows whose page shows a request example (docs/enkash-api.md §4). wallet.transaction has
-- none: the card page's example is a schema skeleton cut off in the stored copy.
local WITH_EXAMPLE = {
  "device.status", "wallet.create", "wallet.update", "wallet.details", "wallet.top_up",
  "wallet.check_load_limit", "wallet.send_otp", "merchant.debit", "merchant.settlement_status",
}

-- The wording of the sandbox's field refusals (enkash.sandbox.fields).
local FIELD_REFUSALS = { " is required", " is invalid", " must ", " is too large" }

-- A JSON string for text with nothing to escape (true of every example value).
local function quote(s)
  assert.is_nil(s:find('[%c"\\]'), "example text needs escaping")
  return '"' .. s .. '"'
end

local expected_object

-- The JSON text of one example value as the portal writes it, built without enkash.json.
local function expected_value(f, v)
  if f.type == "amount" then
    local text = type(v) == "string" and v or cjson.encode(v) -- "20.00": the portal's text
    return f.as == "string" and quote(text) or text
  elseif f.type == "list" then
    local parts = {}
    for i, item in ipairs(v) do
      parts[i] = f.item.type and quote(item) or expected_object(f.item, item)
    end
    return "[" .. concat(parts, ",") .. "]"
  end
  return quote(v)
end

-- The example's JSON text. Its fields come in the row's order, which is the portal's order
-- for every example (catalogue.lua keeps the documented order); each example field must be
-- a field of the row.
expected_object = function(fields, example)
  local parts = {}
  for _, f in ipairs(fields) do
    local v = example[f.name]
    if v ~= nil then parts[#parts + 1] = quote(f.name) .. ":" .. expected_value(f, v) end
  end
  local n = 0
  for _ in pairs(example) do n = n + 1 end
  assert.equals(n, #parts, "the example has a field its row does not know")
  return "{" .. concat(parts, ",") .. "}"
end

-- The query string of a GET example: its fields in the row's order, nothing to escape.
local function expected_query(fields, example)
  local parts = {}
  for _, f in ipairs(fields) do
    local v = example[f.name]
    if v ~= nil then
      assert.truthy(v:match("^[%w%-._~]+$"), "example value needs percent-encoding")
      parts[#parts + 1] = f.name .. "=" .. v
    end
  end
  return concat(parts, "&")
end

local function copy(t)
  if type(t) ~= "table" then return t end
  local c = {}
  for k, v in pairs(t) do c[k] = copy(v) end
  return c
end

-- A transport that records every request, then hands it to the in-process sandbox.
local function recording(sb)
  local inner = sandbox_transport.new({ sandbox = sb })
  local t = { sent = {} }
  function t.request(_, req)
    t.sent[#t.sent + 1] = req
    return inner:request(req)
  end
  function t.sleep(_, seconds) inner:sleep(seconds) end
  function t.stats() return inner:stats() end
  function t.close() end
  return t
end

-- A client with the default config (strict left out), over a recording transport.
local function client_for(sb)
  local t = recording(sb)
  local client = assert(enkash.new(fx.config("http://127.0.0.1:9", { transport = t, retries = 0,
                                                                    reconcile_delay = 0 })))
  return client, t
end

-- The first request sent to `row`'s path, and its query string.
local function sent_to(t, row)
  for _, req in ipairs(t.sent) do
    local path, query = req.url:match("^%a+://[^/]*(/[^?]*)%??(.*)$")
    if path == row.path then return req, query end
  end
end

local function call(client, row, params)
  local group, method = catalogue.split(row.name)
  return client[group][method](client[group], params)
end

describe("the portal's request examples", function()
  it("are on every row whose page shows one", function()
    for _, name in ipairs(WITH_EXAMPLE) do
      assert.is_table(catalogue.by_name[name].example, name)
    end
  end)

  for _, row in ipairs(catalogue.rows) do
    if row.example then
      describe(row.name, function()
        it("passes validation with the default config", function()
          local client = client_for(sandbox.new(fx.sandbox_opts))
          assert.is_false(client.config.strict)
          local fields, err = validate.params(row, row.example, client.config)
          assert.truthy(fields, tostring(err))
          client:close()
        end)

        it("goes out verbatim, and the sandbox does not refuse it for a format reason", function()
          local client, t = client_for(sandbox.new(fx.sandbox_opts))
          local payload, err = call(client, row, copy(row.example))
          local req, query = sent_to(t, row)
          assert.truthy(req, "nothing was sent to " .. row.path)
          assert.equals(row.method, req.method)
          local doc
          if row.method == "GET" then
            assert.equals(expected_query(row.fields, row.example), query)
            assert.is_nil(req.body)
            doc = row.example
          else
            local want = expected_object(row.fields, row.example)
            assert.equals(want, req.body)                          -- text for text
            assert.same(cjson.decode(want), cjson.decode(req.body)) -- so the same values too
            doc = cjson.decode(req.body)
          end
          assert.is_nil(sandbox_fields.check(row, doc))
          if not payload then -- refused for the ids it names (no such wallet here), never a field
            for _, wording in ipairs(FIELD_REFUSALS) do
              assert.is_nil(err.message:find(wording, 1, true), err.message)
            end
          end
          client:close()
        end)
      end)
    end
  end

  it("device.status: the portal's device, IMEI 356789123456789 included, binds end to end", function()
    local example = catalogue.by_name["device.status"].example
    local client = client_for(sandbox.new(fx.sandbox_opts))
    assert.same({ status = "Pending" }, (assert(client.device:generate(copy(example)))))
    assert.same({ status = "Bound" }, (assert(client.device:status(copy(example))))) -- bind_delay 0
    client:close()
  end)

  it("device.status: a strict client refuses the portal's IMEI (Luhn), naming no value", function()
    local row = catalogue.by_name["device.status"]
    local _, err = validate.params(row, row.example, { strict = true })
    assert.equals("deviceImei", err.field)
    assert.is_nil(err.message:find("356789123456789", 1, true))
  end)
end)
