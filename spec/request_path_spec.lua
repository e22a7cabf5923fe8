-- The request path of issue 12: layers point down only, one retry decision, a deadline that
-- cuts every wait and timeout, an injected (virtual) clock, the client's private state.
local enkash = require "enkash"
local clock = require "enkash.clock"
local deadline = require "enkash.deadline"
local errors = require "enkash.errors"
local retry = require "enkash.retry"
local sandbox = require "enkash.sandbox"
local fx = require "helpers.fixtures"

-- A client on the in-process sandbox and a virtual clock shared by both.
local function virtual_client(extra)
  local v = clock.virtual(1000)
  local opts = {}
  for k, val in pairs(fx.sandbox_opts) do opts[k] = val end
  opts.clock = v.now
  local sb = sandbox.new(opts)
  local cfg = { env = "sandbox", transport = "sandbox", sandbox = sb, clock = v.now, sleep = v.sleep,
                card_account_id = fx.card_account_id }
  for k, val in pairs(fx.creds) do cfg[k] = val end
  for k, val in pairs(extra or {}) do cfg[k] = val end
  return assert(enkash.new(cfg)), sb, v
end

-- A transport that records every request and answers from a script of results.
local function scripted(script)
  local t = { seen = {}, slept = {} }
  function t.request(_, req)
    t.seen[#t.seen + 1] = req
    local step = table.remove(script, 1) or script.default
    return step(req)
  end
  function t.sleep(_, s) t.slept[#t.slept + 1] = s end
  function t.close() end
  return t
end

local TOKEN = '{"access_token":"tok-abc","expires_in":3600,"token_type":"bearer"}'
local function ok_token() return { status = 200, headers = {}, body = TOKEN } end
local function answer(status, body, headers)
  return function() return { status = status, headers = headers or {}, body = body } end
end
local STATUS_OK = '{"response_code":0,"response_message":"ok","payload":{"status":"Bound"}}'

describe("request path", function()
  describe("layers point down only", function()
    -- Which enkash modules each module requires, from its source text.
    local function requires(path)
      local f = assert(io.open(path))
      local src = f:read("a")
      f:close()
      local out = {}
      for name in src:gmatch('require[%s%(]*"(enkash[%w%._]*)"') do out[name] = true end
      return out
    end
    -- lower layer -> modules that must never be required by it
    local upper = { "enkash.client", "enkash.client.batch", "enkash.flows.onboarding", "enkash.flows.runbook",
                    "enkash.onboarding", "enkash.runbook", "enkash.batch", "enkash.cli" }
    local lower = {
      "lua/enkash/pipeline.lua", "lua/enkash/reconcile.lua", "lua/enkash/auth.lua",
      "lua/enkash/auth/session.lua", "lua/enkash/retry.lua", "lua/enkash/deadline.lua",
      "lua/enkash/clock.lua", "lua/enkash/envelope.lua", "lua/enkash/transport/curl.lua",
      "lua/enkash/transport/sandbox.lua", "lua/enkash/transport/scheduler.lua", "lua/enkash/errors.lua",
    }
    for _, path in ipairs(lower) do
      it(path .. " requires nothing above it", function()
        local r = requires(path)
        for _, up in ipairs(upper) do assert.is_nil(r[up], path .. " requires " .. up) end
      end)
    end
    it("the client does not require the flows; reconcile does not require the pipeline", function()
      assert.is_nil(requires("lua/enkash/client.lua")["enkash.onboarding"])
      assert.is_nil(requires("lua/enkash/client.lua")["enkash.flows.onboarding"])
      assert.is_nil(requires("lua/enkash/reconcile.lua")["enkash.pipeline"])
      assert.is_nil(requires("lua/enkash/transport/curl.lua")["enkash.catalogue"])
    end)
    it("old module names still load the new modules", function()
      assert.equals(require("enkash.flows.runbook"), require("enkash.runbook"))
      assert.equals(require("enkash.flows.store"), require("enkash.runbook.store"))
      assert.equals(require("enkash.flows.onboarding"), require("enkash.onboarding"))
      assert.equals(require("enkash.client.batch").calls, require("enkash.batch").calls)
      assert.equals(require("enkash.transport.scheduler").run, require("enkash.batch").run)
    end)
  end)

  describe("one retry decision", function()
    local function e(kind, f) return errors.new(kind, kind, f) end
    local cases = {
      -- err, call, action
      { e("connect"), { attempt = 1, attempts = 3 }, "retry" },
      { e("timeout"), { attempt = 1, attempts = 3 }, "give_up" },           -- a write: may have landed
      { e("timeout"), { idempotent = true, attempt = 1, attempts = 3 }, "retry" },
      { e("timeout"), { idempotent = true, attempt = 3, attempts = 3 }, "give_up" },
      { e("http", { http_status = 503 }), { idempotent = true, attempt = 1, attempts = 3 }, "retry" },
      { e("http", { http_status = 500 }), { idempotent = true, attempt = 1, attempts = 3 }, "give_up" },
      { e("http", { http_status = 501 }), { token = true, attempt = 1, attempts = 3 }, "give_up" },
      { e("http", { http_status = 429 }), { attempt = 1, attempts = 3 }, "retry" },
      { e("auth", { http_status = 401 }), { token = true, attempt = 1, attempts = 3 }, "give_up" },
      { e("auth", { http_status = 401, token_refused = true }), { attempt = 1, attempts = 3 }, "refresh" },
      { e("auth", { http_status = 401, token_refused = true }), { refreshed = true, attempt = 1, attempts = 3 },
        "give_up" },
      { e("auth", { http_status = 401, token_refused = true }), { money = true, attempt = 1, attempts = 3 },
        "reconcile" },
      { e("timeout"), { money = true, attempt = 1, attempts = 3 }, "reconcile" },
      { e("connect"), { money = true, attempt = 1, attempts = 3 }, "retry" },
      { e("connect"), { money = true, attempt = 3, attempts = 3 }, "give_up" },
      { e("api", { code = "duplicate_reference" }), { money = true, attempt = 1, attempts = 3 }, "reconcile" },
      { e("api", { http_status = 200 }), { money = true, attempt = 1, attempts = 3 }, "give_up" },
      { e("validation"), { idempotent = true, attempt = 1, attempts = 3 }, "give_up" },
    }
    for i, c in ipairs(cases) do
      it(("case %d: %s %s -> %s"):format(i, c[1].kind, tostring(c[1].http_status), c[3]), function()
        assert.equals(c[3], retry.decide(c[1], c[2]))
      end)
    end
    it("err.retryable is derived from the facts, unless said", function()
      assert.is_true(errors.new("timeout", "t").retryable)
      assert.is_true(errors.new("http", "h", { http_status = 502 }).retryable)
      assert.is_false(errors.new("http", "h", { http_status = 500 }).retryable)
      assert.is_false(errors.new("tls", "t").retryable)
      assert.is_false(errors.new("timeout", "t", { retryable = false }).retryable)
      assert.is_nil(rawget(errors.new("timeout", "t"), "retryable"))
    end)
  end)

  describe("deadline", function()
    it("cuts timeouts and refuses sleeps past its end; none without one", function()
      local v = clock.virtual()
      local d = deadline.new(v, 10)
      assert.equals(5, d:clip(5))
      v.advance(7)
      assert.equals(3, d:clip(5))
      assert.is_false(d:sleep(3))
      assert.equals(0, v.slept)
      assert.is_true(d:sleep(1))
      assert.is_true(d:wait(60))
      assert.equals(10, v.now())
      assert.is_true(d:expired())
      assert.is_nil(d:clip(5))
      local none = deadline.new(v)
      assert.equals(30, none:clip(30))
      assert.equals(math.huge, none:left())
    end)

    it("every attempt's timeout is cut to the time left", function()
      local v = clock.virtual()
      local calls = 0
      local t = scripted{ ok_token, default = function(req)
        calls = calls + 1
        v.advance(req.timeout) -- each attempt times out after its whole timeout
        return nil, errors.new("timeout", "timed out")
      end }
      local c = assert(enkash.new{ transport = t, clock = v.now, sleep = v.sleep, timeout = 4, retries = 5,
                                   retry_base = 0.5, retry_cap = 0.5 })
      local _, err = c.device:status(fx.device, { deadline = 10 })
      assert.equals("timeout", err.kind)
      -- 4 + 0.25..0.5 + 4 + backoff + the rest of 10 s: the last attempt gets only what is left
      local timeouts = {}
      for i = 2, #t.seen do timeouts[#timeouts + 1] = t.seen[i].timeout end
      assert.equals(4, timeouts[1])
      assert.is_true(timeouts[#timeouts] < 4, "last attempt cut: " .. tostring(timeouts[#timeouts]))
      assert.is_true(v.now() <= 10 + 1e-9, "ran past the deadline: " .. v.now())
      assert.equals(calls, #timeouts)
    end)

    it("the token fetch is cut to the deadline too", function()
      local v = clock.virtual()
      local t = scripted{ default = function(req)
        v.advance(req.timeout)
        return nil, errors.new("timeout", "timed out")
      end }
      local c = assert(enkash.new{ transport = t, clock = v.now, sleep = v.sleep, timeout = 30, retries = 10,
                                   retry_cap = 1 })
      local _, err = c.device:status(fx.device, { deadline = 5 })
      assert.truthy(err)
      assert.is_true(v.now() <= 5 + 1e-9, "ran past the deadline: " .. v.now())
      assert.equals(5, t.seen[1].timeout)
    end)
  end)

  describe("virtual time", function()
    it("a minute of backoff and a persistent 503 pass without waiting", function()
      local c, sb, v = virtual_client{ retries = 3, retry_base = 10, retry_cap = 20 }
      assert(c:token())
      sb:control("fault", { endpoint = "device.status", kind = "http_status", status = 503, body = "busy",
                            count = 10 })
      local t0 = os.clock()
      local _, err = c.device:status(fx.device)
      assert.equals("http", err.kind)
      assert.equals(503, err.http_status)
      assert.equals(3, v.sleeps)
      -- backoff with equal jitter: [5, 10] + [10, 20] + [10, 20] (capped at 20)
      assert.is_true(v.slept >= 25 - 1e-9 and v.slept <= 50 + 1e-9, tostring(v.slept))
      assert.is_true(os.clock() - t0 < 5)
    end)

    it("the token expires on the injected clock and is fetched again", function()
      local c, sb, v = virtual_client()
      assert(c.device:generate(fx.device))
      local before = sb:control("stats").token_requests
      assert(c.device:status(fx.device))
      assert.equals(before, sb:control("stats").token_requests)
      v.advance(25 * 3600) -- a day and more: past the sandbox token's lifetime
      local api = sb:control("stats").api_requests
      assert(c.device:status(fx.device))
      assert.equals(before + 1, sb:control("stats").token_requests)
      -- refreshed before the call, not after a 401 from the sandbox (one API request)
      assert.equals(api + 1, sb:control("stats").api_requests)
      assert(c.device:status(fx.device))
      assert.equals(before + 1, sb:control("stats").token_requests)
    end)

    it("a sandbox delay past the timeout is a timeout, in virtual time", function()
      local c, sb, v = virtual_client{ timeout = 2, retries = 0 }
      assert(c:token())
      local before = v.now()
      sb:control("fault", { endpoint = "device.status", kind = "delay", delay = 60, count = 1 })
      local _, err = c.device:status(fx.device)
      assert.equals("timeout", err.kind)
      assert.equals(2, v.now() - before)
    end)
  end)

  describe("one attempt", function()
    it("a 401 gets one new token and one more send; a second 401 gives up", function()
      local t = scripted{ ok_token, answer(401, ""), ok_token, answer(200, STATUS_OK) }
      local c = assert(enkash.new{ transport = t })
      assert.same({ status = "Bound" }, (c.device:status(fx.device)))
      t = scripted{ ok_token, answer(401, ""), ok_token, answer(401, "") }
      c = assert(enkash.new{ transport = t })
      local _, err = c.device:status(fx.device)
      assert.equals("auth", err.kind)
      assert.equals(401, err.http_status)
      assert.matches("refused twice", err.message)
      assert.equals(4, #t.seen)
    end)

    it("headers are made once per token, not per call", function()
      local t = scripted{ ok_token, default = answer(200, STATUS_OK) }
      local c = assert(enkash.new{ transport = t })
      assert(c.device:status(fx.device))
      assert(c.device:status(fx.device))
      assert.equals(t.seen[2].headers, t.seen[3].headers)
    end)
  end)

  describe("the client", function()
    it("keeps its state in one private field, with read-only views", function()
      local c = assert(enkash.new{ transport = "sandbox" })
      local keys = {}
      for k in pairs(c) do
        if type(k) == "string" then keys[#keys + 1] = k end
      end
      table.sort(keys)
      for _, k in ipairs(keys) do assert.equals("table", type(c[k]), k) end -- only the API groups
      assert.is_nil(rawget(c, "config"))
      assert.equals("sandbox", c.config.env)
      assert.equals("sandbox", c.transport.name)
      c:close()
    end)

    it("refuses a catalogue group named like a client method or view", function()
      local client = require "enkash.client"
      for _, bad in ipairs({ "call", "batch", "close", "token", "config", "transport", "onboarding_state" }) do
        local ok, err = pcall(client.groups_of, { { name = bad .. ".x", host = "api" } })
        assert.is_false(ok, bad)
        assert.matches("collides", err)
      end
      assert.same({ wallet = { { "x", "wallet.x" } } }, client.groups_of({ { name = "wallet.x", host = "api" } }))
    end)

    it("takes a transport object", function()
      local t = scripted{ ok_token, default = answer(200, STATUS_OK) }
      local c = assert(enkash.new{ transport = t })
      assert.equals(t, c.transport)
      assert(c.device:status(fx.device))
    end)
  end)
end)
