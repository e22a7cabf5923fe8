-- examples/nginx.conf works: its http and location parts (between the "enkash:" markers)
-- run in nginx, configured from ENKASH_* variables as the example says, against the sandbox.
local cjson = require "cjson"
local nginx = require "enkash.sandbox.nginx"
local webhook = require "enkash.webhook"
local app = require "helpers.ngx_app"
local control = require "helpers.control"
local fixtures = require "helpers.fixtures"

local EXAMPLE = app.root .. "/examples/nginx.conf"
local WEBHOOK_SECRET = "spec-example-webhook-secret"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function part(text, name)
  local body = text:match("# %-%-%-%- enkash: " .. name .. " %(begin%) %-%-%-%-\n(.-)\n%s*# %-%-%-%- enkash: "
    .. name .. " %(end%) %-%-%-%-")
  return assert(body, "examples/nginx.conf has no enkash: " .. name .. " part")
end

local function sq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

describe("examples/nginx.conf", function()
  local text = read(EXAMPLE)
  local sandbox, srv

  setup(function()
    sandbox = app.sandbox()
    control(sandbox, "device", { deviceId = fixtures.device.deviceId, status = "Bound" })
    local http = part(text, "http")
    -- the example points at /opt/enkash; the runner already sets this checkout's paths
    http = ("\n" .. http):gsub("\n%s*lua_package_c?path [^\n]*", "")
    -- as the example says: credentials in the environment of nginx's master
    local env = {
      ENKASH_ENV = "sandbox", ENKASH_BASE_URL = sandbox.url, ENKASH_PARTNER_ID = fixtures.creds.partner_id,
      ENKASH_CLIENT_ID = fixtures.creds.client_id, ENKASH_CLIENT_SECRET = fixtures.creds.client_secret,
      ENKASH_USERNAME = fixtures.creds.username, ENKASH_PASSWORD = fixtures.creds.password,
      ENKASH_WEBHOOK_SECRET = WEBHOOK_SECRET,
    }
    local words = { "env" }
    for k, v in pairs(env) do words[#words + 1] = k .. "=" .. sq(v) end
    local bin = nginx.nginx_bin
    nginx.nginx_bin = table.concat(words, " ") .. " " .. bin
    local ok, s = pcall(app.app, { workers = 2, http_conf = http, server_conf = part(text, "locations") })
    nginx.nginx_bin = bin
    assert(ok, s)
    srv = s
  end)

  teardown(function()
    if srv then srv:stop() end
    if sandbox then sandbox:stop() end
  end)

  it("points lua_package_path and lua_package_cpath at the checkout's lua/ and build/luajit/", function()
    local http = part(text, "http")
    local path = assert(http:match('lua_package_path "([^"]+)"'))
    local cpath = assert(http:match('lua_package_cpath "([^"]+)"'))
    local function found(paths, name)
      for p in paths:gsub("/opt/enkash", app.root):gmatch("[^;]+") do
        local f = io.open((p:gsub("%?", name)), "rb")
        if f then f:close() return true end
      end
      return false
    end
    assert.is_true(found(path, "enkash/ngx"))
    assert.is_true(found(path, "enkash"))
    assert.is_true(found(cpath, "enkash/core"))
    assert.matches("lua_ssl_trusted_certificate", http)
    assert.matches("lua_shared_dict enkash ", http)
    assert.matches("lua_shared_dict enkash_webhooks ", http)
  end)

  it("serves the SDK call of its location", function()
    local res = app.request(srv.url .. "/device/status", { method = "POST", body = cjson.encode(fixtures.device) })
    assert.equal(200, res.status, res.body)
    assert.same({ status = "Bound" }, cjson.decode(res.body))
    local bad = app.request(srv.url .. "/device/status", {
      method = "POST", body = cjson.encode(fixtures.device_with { mobileNumber = "12" }) })
    assert.equal(400, bad.status)
    assert.equal("mobileNumber", cjson.decode(bad.body).field)
  end)

  it("serves its webhook location", function()
    local n = { uniqueTransactionId = "ENKEXAMPLE0001", amount = 10, status = "SUCCESS",
                txnDate = os.date("!%Y-%m-%dT%H:%M:%SZ") }
    n.checksum = webhook.sign(n, WEBHOOK_SECRET)
    local res = app.request(srv.url .. "/enkash/webhook", { method = "POST", body = cjson.encode(n) })
    assert.equal(webhook.ACK_STATUS, res.status)
    assert.equal(webhook.ack_body(), res.body)
    n.amount = 11
    assert.equal(400, app.request(srv.url .. "/enkash/webhook", { method = "POST", body = cjson.encode(n) }).status)
  end)
end)
