-- Hostile configuration, hostile per-call options and hostile token answers (issue 11).
-- Every option of enkash.new (config.types), every ENKASH_* variable and every per-call option
-- of client:call (config.call_option_names) is fed values of every type. Each value is either
-- refused with `nil, err` (kind validation, err.field naming the option, the value never
-- quoted) before anything is sent, or is one of the acceptances documented in ACCEPTED below.
-- Nothing raises (pcall around every case) and a transport counts what is sent. Token answers:
-- every unusable token or lifetime gives `nil, err` and never reaches a header.
local enkash = require "enkash"
local config = require "enkash.config"
local errors = require "enkash.errors"
local cjson = require "cjson.safe"
local fx = require "helpers.fixtures"

local rep = string.rep

local function env_of(map) return function(name) return map[name] end end

local TOKEN = "tok-good-0123456789"
local GOOD_ANSWER = '{"access_token":"' .. TOKEN .. '","token_type":"bearer","expires_in":3600}'

-- A transport that answers the token endpoint with `token_answer` (a body, or a function of the
-- fetch's number) and every other request with a success envelope naming the call's reference
-- (or with HTTP `t.api_status` when set); it keeps every request.
local function counting(token_answer)
  local t = { tokens = 0, api = {}, all = {} }
  function t.request(_, req)
    t.all[#t.all + 1] = req
    if req.url:find("/oauth/token", 1, true) then
      t.tokens = t.tokens + 1
      local a = token_answer or GOOD_ANSWER
      if type(a) == "function" then a = a(t.tokens) end
      return { status = 200, headers = {}, body = a }
    end
    t.api[#t.api + 1] = req
    if t.api_status then return { status = t.api_status, headers = {}, body = "" } end
    local body = type(req.body) == "string" and cjson.decode(req.body) or {}
    local payload = { uniqueReferenceNumber = body.uniqueReferenceNumber, pgReferenceNumber = body.pgReferenceNumber }
    return { status = 200, headers = {},
             body = cjson.encode({ response_code = 0, response_message = "Success", payload = payload }) }
  end
  function t.sleep() end
  function t.close() end
  return t
end

-- A config every check accepts (env uat: credentials required), with `key` set to `value`
-- (nil: left out) over `transport`.
local function base(transport, key, value)
  local c = { env = "uat", base_url = "https://api.example.test",
              auth_url = "https://auth.example.test/oauth/token", transport = transport,
              card_account_id = fx.card_account_id, getenv = env_of({}) }
  for k, v in pairs(fx.creds) do c[k] = v end
  if key ~= nil then c[key] = value end
  return c
end

local BIG = rep("A", 10 * 1024)
-- A value of every type, and the numbers and strings that broke something once.
local VALUES = {
  { "false", false }, { "true", true },
  { "0", 0 }, { "-1", -1 }, { "1.5", 1.5 }, { "NaN", 0 / 0 }, { "inf", math.huge }, { "-inf", -math.huge },
  { "1e300", 1e300 }, { "2^53", 2 ^ 53 },
  { "empty", "" }, { "CRLF", "v\r\nX-Injected: 1" }, { "NUL", "v\0w" }, { "10kB", BIG },
  { "space", "v w" }, { "tab", "v\tw" }, { "DEL", "v\127" }, { "digits", "5" },
  { "table", {} }, { "list", { "x" } }, { "function", function() end },
  { "userdata", io.stdout }, { "thread", coroutine.create(function() end) },
}

local function set(...)
  local s = {}
  for _, k in ipairs({ ... }) do s[k] = true end
  return s
end

-- The documented acceptances: which of VALUES each option takes (README, Options). Every
-- other value of VALUES must be refused. Every option of config.types must be listed.
local seconds_pos, seconds, bools = set("1.5"), set("0", "1.5"), set("false", "true")
local ids, lines, any_bytes, empty_table = set("digits"), set("space", "digits"),
  set("CRLF", "NUL", "space", "tab", "DEL", "digits"), set("table")
local ACCEPTED = {
  timeout = seconds_pos, connect_timeout = seconds_pos, deadline = seconds_pos,
  retry_base = seconds, retry_cap = seconds, retry_after_max = seconds, reconcile_delay = seconds,
  pending_interval = seconds, pending_wait = seconds, token_refresh_min = seconds,
  token_refresh_max = seconds, token_refresh_fraction = set("0"),
  retries = set("0"), max_sends = set(), max_response_bytes = set(),
  verify = bools, allow_insecure_http = bools, strict = bools, encryption = bools,
  logger = set("function"), getenv = set("function"), clock = set("function"), sleep = set("function"),
  env = set(), base_url = set(), auth_url = set(), log_level = set(),
  partner_id = ids, client_id = ids, card_account_id = ids, proxy = ids, ngx_shared_dict = ids,
  client_secret = any_bytes, password = any_bytes,
  username = lines, ca_file = lines, kyc_field = lines, user_agent = lines,
  not_found_pattern = lines, duplicate_pattern = lines,
  status_words = empty_table, error_patterns = empty_table, status_failed = empty_table,
  device_failed_statuses = empty_table, routes = empty_table, sandbox_opts = empty_table,
  sandbox = set(), transport = set(),
}

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local KEYS = sorted_keys(config.types)

-- A refusal: kind validation, naming `field`, the value not quoted.
local function assert_refused(what, field, err, value)
  assert.is_true(errors.is(err), what .. ": not an enkash error: " .. tostring(err))
  assert.equals("validation", err.kind, what)
  assert.equals(field, err.field, what)
  if type(value) == "string" and #value >= 3 then
    assert.is_nil(err.message:find(value, 1, true), what .. ": the message quotes the value")
  end
  tostring(err) -- never raises either
end

-- Everything a transport was given is safe on the wire: no control character in a header or
-- the URL (a CR or LF there would start a header line of its own).
local function assert_wire_safe(what, t)
  for _, req in ipairs(t.all) do
    assert.is_nil(req.url:find("[%c ]"), what .. ": URL")
    for k, v in pairs(req.headers or {}) do
      assert.is_nil(tostring(k):find("%c"), what .. ": header name")
      assert.is_nil(tostring(v):find("%c"), what .. ": header " .. tostring(k))
    end
  end
end

describe("hostile config", function()
  it("lists an acceptance for every option, and nothing else", function()
    for _, k in ipairs(KEYS) do assert.truthy(ACCEPTED[k], k .. " has no documented acceptance") end
    for k in pairs(ACCEPTED) do assert.truthy(config.types[k], k .. " is not an option") end
  end)

  it("every option fed a value of every type: refused by name, or a documented acceptance", function()
    local cases = 0
    for _, key in ipairs(KEYS) do
      for _, case in ipairs(VALUES) do
        local name, value = case[1], case[2]
        local what = key .. " = " .. name
        local t = counting()
        local ok, client, err = pcall(enkash.new, base(t, key, value))
        assert.is_true(ok, what .. " raised: " .. tostring(client))
        if ACCEPTED[key][name] then
          assert.truthy(client, what .. " was refused: " .. tostring(err))
          -- a call with it never raises, and puts nothing unsafe on the wire
          local called, payload, res = pcall(client.device.status, client.device, fx.device)
          assert.is_true(called, what .. ": the call raised: " .. tostring(payload))
          assert.truthy(payload ~= nil or errors.is(res), what)
          assert_wire_safe(what, t)
        else
          assert.is_nil(client, what .. " was accepted")
          assert_refused(what, key, err, value)
          assert.equals(0, #t.all, what)
        end
        cases = cases + 1
      end
    end
    assert.equals(#KEYS * #VALUES, cases)
  end)

  it("the same walk over the libcurl transport: nothing raises in the C core", function()
    -- what once raised there: timeout = math.huge, NUL in ca_file, max_response_bytes 1.5
    local cases = 0
    for _, key in ipairs(KEYS) do
      if key ~= "transport" then
        for _, case in ipairs(VALUES) do
          local what = key .. " = " .. case[1] .. " (curl)"
          local ok, client, err = pcall(enkash.new, base("curl", key, case[2]))
          assert.is_true(ok, what .. " raised: " .. tostring(client))
          if ACCEPTED[key][case[1]] then
            assert.truthy(client, what .. " was refused: " .. tostring(err))
            client:close()
          else
            assert_refused(what, key, err, case[2])
          end
          cases = cases + 1
        end
      end
    end
    assert.equals((#KEYS - 1) * #VALUES, cases)
  end)

  it("every option left out: the credentials are required by name, the rest have defaults", function()
    local required = set("env", "partner_id", "client_id", "client_secret", "username", "password")
    local cases = 0
    for _, key in ipairs(KEYS) do
      -- getenv left out reads the real environment, which is not this spec's to know
      if key ~= "getenv" then
        local ok, client, err = pcall(enkash.new, base(counting(), key, nil))
        assert.is_true(ok, key .. " = nil raised: " .. tostring(client))
        if required[key] then
          assert.is_nil(client, key .. " = nil was accepted")
          assert_refused(key .. " = nil", key, err)
        else
          assert.truthy(client, key .. " = nil was refused: " .. tostring(err))
        end
        cases = cases + 1
      end
    end
    assert.equals(#KEYS - 1, cases)
  end)

  it("not a table, or an unknown option: refused, the name masked and cut short", function()
    for _, case in ipairs(VALUES) do
      local v = case[2]
      if type(v) ~= "table" then
        local ok, client, err = pcall(enkash.new, v)
        assert.is_true(ok, case[1])
        if v == nil then
          assert.truthy(client)
        else
          assert.is_nil(client, case[1])
          assert_refused(case[1], "config", err)
        end
      end
    end
    for _, k in ipairs({ "timeut", "9812345670", BIG, 1, true }) do
      local c = base(counting())
      c[k] = 1
      local ok, client, err = pcall(enkash.new, c)
      assert.is_true(ok)
      assert.is_nil(client)
      assert.equals("validation", err.kind)
      assert.is_string(err.field)
      assert.is_true(#err.field <= 64)
      assert.is_nil(err.field:find("9812345670", 1, true), "a mobile number used as a key is masked")
      assert.is_nil(err.message:find("9812345670", 1, true))
    end
  end)

  it("refuses the values the issue found, each by name", function()
    local cases = {
      { max_sends = 0 / 0 }, { retry_base = 0 / 0 }, { reconcile_delay = 0 / 0 }, { reconcile_delay = -1 },
      { timeout = math.huge }, { max_response_bytes = 0 }, { max_response_bytes = -1 },
      { max_response_bytes = 1.5 }, { ca_file = "/etc/ssl/certs\0x" }, { partner_id = "P\r\nX: 1" },
      { partner_id = "P\0" }, { user_agent = "ua\r\nX-Injected: 1" }, { not_found_pattern = "[" },
      { retries = 1.5 }, { max_sends = math.huge }, { deadline = math.huge },
      { routes = { ["wallet.balance"] = { path = "/x\r\nHost: evil" } } },
      { routes = { ["wallet.balance"] = { method = "GET /x" } } },
      { routes = { ["wallet.balance"] = { host = "evil.example" } } },
      { routes = { ["wallet.balance"] = { paht = "/x" } } },
      { routes = { nope = { path = "/x" } } }, { routes = { status = { path = "/x" } } }, -- ambiguous
      { client_id = "CEK:1" }, { token_refresh_fraction = 1 }, { error_patterns = { { "x", "" } } },
      { error_patterns = { [2] = { "locked", "x" } } }, { status_failed = { "VOIDED" } },
    }
    for _, c in ipairs(cases) do
      local key, value = next(c)
      local ok, client, err = pcall(enkash.new, base(counting(), key, value))
      assert.is_true(ok, key)
      assert.is_nil(client, key)
      assert_refused(key, key, err)
    end
    -- and takes good routes
    assert.truthy(enkash.new(base(counting(), "routes", {
      ["wallet.balance"] = { method = "POST", path = "/api/v1/x/balance-2", host = "api", encrypted = true },
      generate = { path = "/a/b%20c" },
    })))
  end)
end)

describe("hostile ENKASH_* variables", function()
  local ENV_VALUES = { "1e400", "nan", "inf", "-1", "0", "0.5", "abc", "v\r\nX-Injected: 1", "v\0w", BIG,
                       "v w", "true", "0x10" }
  local SECRET_KEYS = set("client_secret", "password")

  it("every variable fed every hostile text: refused by name, or a safe value", function()
    local cases = 0
    for _, key in ipairs(sorted_keys(config.env_vars)) do
      local var = config.env_vars[key]
      for _, raw in ipairs(ENV_VALUES) do
        local c = base(counting(), key, nil)
        c.getenv = env_of({ [var] = raw })
        local what = var .. "=" .. raw:sub(1, 20)
        local ok, cfg, err = pcall(config.resolve, c)
        assert.is_true(ok, what .. " raised")
        if cfg then
          local v = cfg[key]
          if type(v) == "string" and not SECRET_KEYS[key] then
            assert.is_nil(v:find("%c"), what .. " accepted with a control character")
            assert.is_true(#v <= config.limits.text, what)
          elseif type(v) == "number" then
            assert.is_true(v > 0 and v <= config.limits.seconds, what)
          end
        else
          assert_refused(what, key, err, raw)
        end
        cases = cases + 1
      end
    end
    assert.equals(15 * #ENV_VALUES, cases)
  end)

  it("names the variable a refused value came from", function()
    for var, raw in pairs({ ENKASH_TIMEOUT = "1e400", ENKASH_CONNECT_TIMEOUT = "abc",
                            ENKASH_PARTNER_ID = "P\r\nX: 1", ENKASH_CA_FILE = "a\0b" }) do
      local key
      for k, v in pairs(config.env_vars) do if v == var then key = k end end
      local c = base(counting(), key, nil)
      c.getenv = env_of({ [var] = raw })
      local cfg, err = config.resolve(c)
      assert.is_nil(cfg, var)
      assert.equals(key, err.field)
      assert.matches(var, err.message, 1, true)
    end
  end)

  it("a getenv that raises is a refusal, not a raise", function()
    local c = base(counting(), "partner_id", nil)
    c.getenv = function() error("boom") end
    local ok, cfg, err = pcall(config.resolve, c)
    assert.is_true(ok)
    assert.is_nil(cfg)
    assert.equals("getenv", err.field)
  end)
end)

describe("hostile per-call options", function()
  -- the documented acceptances among VALUES; every other value is refused
  local CALL_ACCEPTED = {
    timeout = set("1.5"), deadline = set("1.5"), retries = set("0"), lookup_first = set("false", "true"),
  }
  local TOPUP = { enKashCardId = "EKCWLUAADN", amount = 10 }

  local function new_client()
    local t = counting()
    return assert(enkash.new(base(t))), t
  end

  -- The two ways in: a generated group method (a read) and client:call (a money call).
  local CALLS = {
    { "device.status", function(c, opts) return c.device:status(fx.device, opts) end },
    { "wallet.top_up", function(c, opts) return c:call("wallet.top_up", TOPUP, opts) end },
  }

  it("lists an acceptance for every option", function()
    assert.same(sorted_keys(CALL_ACCEPTED), config.call_option_names)
  end)

  it("every option fed a value of every type: refused by name before anything is sent", function()
    local cases = 0
    for _, call in ipairs(CALLS) do
      for _, opt in ipairs(config.call_option_names) do
        for _, case in ipairs(VALUES) do
          local what = call[1] .. " {" .. opt .. " = " .. case[1] .. "}"
          local c, t = new_client()
          local ok, payload, res = pcall(call[2], c, { [opt] = case[2] })
          assert.is_true(ok, what .. " raised: " .. tostring(payload))
          if CALL_ACCEPTED[opt][case[1]] then
            assert.truthy(payload ~= nil or errors.is(res), what .. " returned nil without an error")
            assert.is_true(#t.api >= 1, what .. " sent nothing")
            if call[1] == "device.status" then assert.truthy(payload, what .. ": " .. tostring(res)) end
          else
            assert.is_nil(payload, what .. " was accepted")
            assert_refused(what, opt, res, case[2])
            assert.equals(call[1], res.endpoint)
            assert.equals(0, #t.all, what .. " sent a request")
          end
          cases = cases + 1
        end
      end
    end
    assert.equals(#CALLS * #config.call_option_names * #VALUES, cases)
  end)

  it("opts itself of every type, and unknown option names: refused before anything is sent", function()
    local cases = 0
    for _, call in ipairs(CALLS) do
      for _, case in ipairs(VALUES) do
        local c, t = new_client()
        local ok, payload, res = pcall(call[2], c, case[2])
        assert.is_true(ok, case[1])
        if case[1] == "table" then -- {}: no options
          assert.truthy(payload ~= nil or errors.is(res))
        else
          assert.is_nil(payload, case[1])
          assert_refused(call[1] .. " opts = " .. case[1], case[1] == "list" and "1" or "opts", res)
          assert.equals(0, #t.all)
        end
        cases = cases + 1
      end
      for _, k in ipairs({ "timout", "attempt", "concurrency", "9812345670", BIG, 1, true }) do
        local c, t = new_client()
        local ok, payload, res = pcall(call[2], c, { [k] = 1 })
        assert.is_true(ok)
        assert.is_nil(payload)
        assert.equals("validation", res.kind)
        assert.is_true(#res.field <= 64)
        assert.is_nil(res.field:find("9812345670", 1, true))
        assert.is_nil(res.message:find("9812345670", 1, true))
        assert.equals(0, #t.all)
        cases = cases + 1
      end
    end
    assert.equals(#CALLS * (#VALUES + 7), cases)
  end)

  it("the issue's cases: retries -1 is an error, not nil, nil; a batch refuses them too", function()
    local c = new_client()
    local payload, err = c.device:status(fx.device, { retries = -1 })
    assert.is_nil(payload)
    assert.equals("retries", err.field)
    local results = c:batch({ { "device.status", fx.device, { timeout = "5" } }, { "device.status", fx.device } })
    assert.is_nil(results[1][1])
    assert.equals("timeout", results[1][2].field)
    assert.truthy(results[2][1])
  end)
end)

describe("hostile token answers", function()
  local MARK = "SECRETTOK"
  -- Answers whose token or lifetime cannot be used; MARK is in every refused token's text.
  local REFUSED = {
    crlf = '{"access_token":"' .. MARK .. '\\r\\nX-Injected: 1","expires_in":3600}',
    lf = '{"access_token":"' .. MARK .. '\\nX","expires_in":3600}',
    nul = '{"access_token":"' .. MARK .. '\\u0000tail","expires_in":3600}',
    space = '{"access_token":"' .. MARK .. ' x","expires_in":3600}',
    tab = '{"access_token":"' .. MARK .. '\\tx","expires_in":3600}',
    del = '{"access_token":"' .. MARK .. '\\u007f","expires_in":3600}',
    non_ascii = '{"access_token":"' .. MARK .. '\\u00e9","expires_in":3600}',
    ten_kb = '{"access_token":"' .. MARK .. BIG .. '","expires_in":3600}',
    one_too_long = '{"access_token":"' .. MARK .. rep("B", 4096 - #MARK + 1) .. '","expires_in":3600}',
    empty_token = '{"access_token":"","expires_in":3600}',
    number = '{"access_token":12345,"expires_in":3600}',
    object = '{"access_token":{"t":"' .. MARK .. '"},"expires_in":3600}',
    boolean = '{"access_token":true,"expires_in":3600}',
    null = '{"access_token":null,"expires_in":3600}',
    missing = '{"token_type":"bearer","expires_in":3600}',
    camel_crlf = '{"accessToken":"' .. MARK .. '\\r\\nX: 1","expiresIn":3600}',
    camel_bad_ttl = '{"accessToken":"' .. MARK .. '","expiresIn":"x"}',
    snake_bad_camel_good = '{"access_token":"' .. MARK .. ' x","accessToken":"good","expires_in":3600}',
    ttl_tiny = '{"access_token":"' .. MARK .. '","expires_in":1e-9}',
    ttl_negative = '{"access_token":"' .. MARK .. '","expires_in":-5}',
    ttl_zero = '{"access_token":"' .. MARK .. '","expires_in":0}',
    ttl_text = '{"access_token":"' .. MARK .. '","expires_in":"x"}',
    ttl_hex = '{"access_token":"' .. MARK .. '","expires_in":"0x10"}',
    ttl_nan = '{"access_token":"' .. MARK .. '","expires_in":NaN}',
    ttl_neg_inf = '{"access_token":"' .. MARK .. '","expires_in":-1e400}',
    ttl_boolean = '{"access_token":"' .. MARK .. '","expires_in":true}',
    ttl_object = '{"access_token":"' .. MARK .. '","expires_in":{}}',
    ttl_missing = '{"access_token":"' .. MARK .. '"}',
    array = '["' .. MARK .. '"]',
    string_doc = '"' .. MARK .. '"',
    not_json = "access_token=" .. MARK .. "&expires_in=3600",
    empty_body = "",
  }
  -- Answers that are taken, and the lifetime kept (seconds).
  local WEEK = 7 * 24 * 3600
  local ACCEPTED_ANSWERS = {
    snake = { '{"access_token":"' .. TOKEN .. '","token_type":"bearer","expires_in":86399}', TOKEN, 86399 },
    camel = { '{"accessToken":"' .. TOKEN .. '","tokenType":"Bearer","expiresIn":3600}', TOKEN, 3600 },
    ttl_string = { '{"access_token":"' .. TOKEN .. '","expires_in":"3600"}', TOKEN, 3600 },
    ttl_1e400 = { '{"access_token":"' .. TOKEN .. '","expires_in":1e400}', TOKEN, WEEK }, -- clamped
    ttl_year = { '{"access_token":"' .. TOKEN .. '","expires_in":31536000}', TOKEN, WEEK }, -- clamped
    null_snake = { '{"access_token":null,"accessToken":"' .. TOKEN .. '","expires_in":60}', TOKEN, 60 },
    longest = { '{"access_token":"' .. rep("B", 4096) .. '","expires_in":60}', rep("B", 4096), 60 },
    odd_type = { '{"access_token":"' .. TOKEN .. '","token_type":"x\\r\\ny","expires_in":60}', TOKEN, 60 },
  }

  local function client_for(answer)
    local t = counting(answer)
    return assert(enkash.new(base(t))), t
  end

  it("refuses every unusable token or lifetime: nil, err, and nothing sent with it", function()
    local cases = 0
    for _, name in ipairs(sorted_keys(REFUSED)) do
      local c, t = client_for(REFUSED[name])
      local ok, payload, err = pcall(c.device.status, c.device, fx.device)
      assert.is_true(ok, name .. " raised: " .. tostring(payload))
      assert.is_nil(payload, name)
      assert.is_true(errors.is(err), name)
      assert.equals("auth", err.kind, name)
      assert.is_nil(tostring(err):find(MARK, 1, true), name .. ": the error quotes the token")
      assert.equals(0, #t.api, name .. ": an API request was sent")
      assert.equals(1, t.tokens, name .. ": the token request was repeated")
      local tok_ok, info, tok_err = pcall(c.token, c)
      assert.is_true(tok_ok, name)
      assert.is_nil(info, name)
      assert.equals("auth", tok_err.kind, name)
      cases = cases + 1
    end
    assert.equals(32, cases)
  end)

  it("takes both spellings, a quoted lifetime, and cuts a lifetime past a week", function()
    local cases = 0
    for _, name in ipairs(sorted_keys(ACCEPTED_ANSWERS)) do
      local a = ACCEPTED_ANSWERS[name]
      local c, t = client_for(a[1])
      local payload, err = c.device:status(fx.device)
      assert.truthy(payload, name .. ": " .. tostring(err))
      assert.equals("Bearer " .. a[2], t.api[1].headers.Authorization, name)
      local info = assert(c:token())
      assert.equals(a[3], info.lifetime, name)
      assert.is_nil(tostring(info):find(a[2], 1, true))
      cases = cases + 1
    end
    assert.equals(8, cases)
  end)

  it("a refresh after a 401 that gets a bad token sends nothing more", function()
    for _, name in ipairs({ "crlf", "ttl_tiny", "ten_kb" }) do
      local t = counting(function(n) return n == 1 and GOOD_ANSWER or REFUSED[name] end)
      t.api_status = 401
      local c = assert(enkash.new(base(t)))
      local ok, payload, err = pcall(c.device.status, c.device, fx.device)
      assert.is_true(ok, name)
      assert.is_nil(payload)
      assert.equals("auth", err.kind)
      assert.equals(1, #t.api, name)
      assert.equals("Bearer " .. TOKEN, t.api[1].headers.Authorization)
      assert.equals(2, t.tokens)
    end
  end)
end)
