-- enkash.batch: the coroutine scheduler, the curl transport inside it, and client:batch
-- against the nginx sandbox.
local batch = require "enkash.batch"
local core = require "enkash.core"
local enkash = require "enkash"
local errors = require "enkash.errors"
local cjson = require "cjson"
local control = require "helpers.control"
local targets = require "helpers.targets"
local fx = require "helpers.fixtures"

local monotime = core.monotime

describe("batch.run", function()
  it("keeps at most `concurrency` tasks running and returns results in task order", function()
    local now, max = 0, 0
    local tasks = {}
    for i = 1, 30 do
      tasks[i] = function()
        now = now + 1
        if now > max then max = now end
        batch.sleep((31 - i) * 0.001) -- later tasks finish first
        now = now - 1
        return i, "x" .. i, nil
      end
    end
    local results = batch.run(tasks, { concurrency = 7 })
    assert.equal(7, max)
    assert.equal(30, #results)
    for i = 1, 30 do
      assert.is_true(results[i].ok)
      assert.same({ n = 3, i, "x" .. i }, results[i].values)
    end
  end)

  it("defaults to 20 at once", function()
    local now, max = 0, 0
    local tasks = {}
    for i = 1, 45 do
      tasks[i] = function()
        now = now + 1
        if now > max then max = now end
        batch.sleep(0.001)
        now = now - 1
      end
    end
    batch.run(tasks)
    assert.equal(20, max)
  end)

  it("sleeps inside tasks without blocking the others", function()
    local tasks = {}
    for i = 1, 20 do tasks[i] = function() batch.sleep(0.1) return i end end
    local t0 = monotime()
    local results = batch.run(tasks, { concurrency = 20 })
    local elapsed = monotime() - t0
    assert.is_true(elapsed >= 0.09 and elapsed < 0.5, "took " .. elapsed)
    for i = 1, 20 do assert.equal(i, results[i].values[1]) end
  end)

  it("wakes timers in time order", function()
    local order = {}
    local tasks = {}
    for i, d in ipairs({ 0.05, 0.01, 0.03, 0, 0.02 }) do
      tasks[i] = function() batch.sleep(d) order[#order + 1] = i end
    end
    batch.run(tasks)
    assert.same({ 4, 2, 5, 3, 1 }, order)
  end)

  it("records a raising task and runs the others to the end", function()
    local boom = { code = "boom" }
    local results = batch.run({
      function() return 1 end,
      function() error(boom) end,
      function() batch.sleep(0.01) error("plain text", 0) end,
      function() batch.sleep(0.02) return 4 end,
    }, { concurrency = 2 })
    assert.same({ ok = true, values = { n = 1, 1 } }, results[1])
    assert.is_false(results[2].ok)
    assert.equal(boom, results[2].error)
    assert.same({ ok = false, error = "plain text" }, results[3])
    assert.same({ ok = true, values = { n = 1, 4 } }, results[4])
  end)

  it("calls on_done once per task, as each finishes", function()
    local seen, order = {}, {}
    local tasks = {}
    for i = 1, 10 do tasks[i] = function() batch.sleep((10 - i) * 0.002) return i end end
    local results = batch.run(tasks, {
      concurrency = 10,
      on_done = function(i, result)
        seen[i] = (seen[i] or 0) + 1
        order[#order + 1] = i
        assert.equal(i, result.values[1])
      end,
    })
    for i = 1, 10 do assert.equal(1, seen[i]) end
    assert.equal(10, #order)
    assert.equal(10, order[1]) -- the shortest sleep finished first
    assert.equal(10, #results)
  end)

  it("handles an empty list", function()
    local results = batch.run({})
    assert.equal(0, #results)
    assert.same({ requests = 0, connects = 0 }, results.stats)
  end)

  it("leaves coroutines of the task's own alone, and fails a bare yield to the scheduler", function()
    local results = batch.run({
      function()
        local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
        batch.sleep(0.001)
        return gen() + gen() + gen()
      end,
      function() coroutine.yield("stray") return "never" end,
    })
    assert.same({ ok = true, values = { n = 1, 6 } }, results[1])
    assert.is_false(results[2].ok)
    assert.matches("bare coroutine.yield", results[2].error)
  end)

  it("is not confused by a batch inside a coroutine of someone else", function()
    local co = coroutine.wrap(function()
      coroutine.yield("outer")
      local r = batch.run({ function() batch.sleep(0.001) return "inner" end })
      return r[1].values[1]
    end)
    assert.equal("outer", co())
    assert.equal("inner", co())
  end)

  it("raises on misuse", function()
    assert.has_error(function() batch.run("x") end)
    assert.has_error(function() batch.run({ function() end, 42 }) end)
    assert.has_error(function() batch.run({}, { concurrency = 0 }) end)
    assert.has_error(function() batch.run({}, { concurrency = 1.5 }) end)
    assert.has_error(function() batch.run({}, { on_done = 1 }) end)
    assert.has_error(function() batch.run({}, { http_opts = "x" }) end)
    assert.has_error(function() batch.http({ url = "http://127.0.0.1:1/" }) end)
    assert.has_error(function() batch.sleep("x") end)
    local ok, err = pcall(batch.run, { function() end }, { on_done = function() error("from on_done", 0) end })
    assert.is_false(ok)
    assert.equal("from on_done", err)
  end)

  it("blocks in sleep outside a batch", function()
    assert.is_nil(batch.current())
    local t0 = monotime()
    batch.sleep(0.02)
    assert.is_true(monotime() - t0 >= 0.019)
  end)
end)

describe("batch with the in-process sandbox transport", function()
  it("runs client:batch one call after another", function()
    local c = assert(enkash.new(fx.config(nil, { transport = "sandbox", sandbox_opts = fx.sandbox_opts })))
    assert.truthy(c.device:generate(fx.device))
    local calls = {}
    for i = 1, 10 do calls[i] = { "device.status", fx.device } end
    calls[11] = { "device.status", fx.device_with({ deviceId = "UNKNOWN-DEVICE" }) }
    local results = c:batch(calls)
    for i = 1, 10 do
      assert.equal("Bound", results[i][1].status)
      assert.equal(200, results[i][2].status)
    end
    assert.is_nil(results[11][1])
    assert.equal("api", results[11][2].kind)
    assert.has_error(function() c:batch({ { "no.such" } }) end)
    assert.has_error(function() c:batch("x") end)
    c:close()
  end)
end)

describe("batch over HTTP", function()
  local srv = targets.serve{
    server_conf = [[
      location = /raw_slow { content_by_lua_block { ngx.sleep(0.2) ngx.say("ok") } }
    ]],
  }
  before_each(function() control(srv, "reset") end)

  local function client(extra)
    return srv:client(extra)
  end

  it("client:batch makes 100 device.status calls with exactly one token request", function()
    local c = client()
    assert.truthy(c.device:generate(fx.device))
    c.tokens:invalidate() -- so the batch itself has to fetch one
    local before = control(srv, "stats").token_requests
    local calls = {}
    for i = 1, 100 do calls[i] = { "device.status", fx.device } end
    local done = 0
    local t0 = monotime()
    local results = c:batch(calls, { on_done = function() done = done + 1 end })
    local elapsed = monotime() - t0
    local stats = control(srv, "stats")
    print(("\n  client:batch: 100 device.status in %.3f s, %d requests over %d connections")
      :format(elapsed, results.stats.requests, results.stats.connects))
    assert.equal(100, done)
    for i = 1, 100 do
      assert.is_table(results[i][1], tostring(results[i][2]))
      assert.equal("Bound", results[i][1].status)
      assert.equal(200, results[i][2].status)
    end
    assert.equal(1, stats.token_requests - before)
    assert.equal(100, results.stats.requests)
    assert.is_true(results.stats.connects <= 20)
    c:close()
  end)

  it("100 calls of 100 ms each at concurrency 20 take well under 100 x 0.1 s", function()
    local c = client()
    assert.truthy(c.device:generate(fx.device))
    control(srv, "fault", { endpoint = "device.status", kind = "delay", delay = 0.1, count = -1 })
    local calls = {}
    for i = 1, 100 do calls[i] = { "device.status", fx.device } end
    local t0 = monotime()
    local results = c:batch(calls, { concurrency = 20 })
    local elapsed = monotime() - t0
    print(("\n  client:batch: 100 x 100 ms device.status at concurrency 20 in %.3f s (sequential: 10 s)")
      :format(elapsed))
    for i = 1, 100 do assert.equal("Bound", results[i][1] and results[i][1].status, tostring(results[i][2])) end
    assert.is_true(elapsed < 3, ("took %.3f s"):format(elapsed))
    assert.equal(1, control(srv, "stats").token_requests)
    c:close()
  end)

  it("reports failures per call and carries on", function()
    local c = client({ timeout = 0.3, retries = 0 })
    assert.truthy(c.device:generate(fx.device))
    control(srv, "fault", { endpoint = "device.status", kind = "delay", delay = 1, count = 2 })
    local calls = {}
    for i = 1, 10 do calls[i] = { "device.status", fx.device, { retries = 0 } } end
    calls[11] = { name = "device.status", params = fx.device_with({ deviceId = "UNKNOWN-DEVICE" }) }
    local results = c:batch(calls, { concurrency = 11 })
    local timeouts, bound = 0, 0
    for i = 1, 10 do
      if results[i][1] then
        bound = bound + 1
      else
        assert.equal("timeout", results[i][2].kind)
        timeouts = timeouts + 1
      end
    end
    assert.equal(2, timeouts)
    assert.equal(8, bound)
    assert.equal("api", results[11][2].kind)
    c:close()
  end)

  it("gives every call the token error when the token cannot be fetched, and sends nothing", function()
    local c = client({ password = "Wrong@Pass#0000" })
    local seen = 0
    local results = c:batch({ { "device.status", fx.device }, { "device.status", fx.device } },
      { on_done = function() seen = seen + 1 end })
    assert.equal(2, seen)
    assert.equal("auth", results[1][2].kind)
    assert.equal(results[1][2], results[2][2])
    assert.equal(0, control(srv, "stats").api_requests)
    c:close()
  end)

  it("the curl transport yields inside batch.run and blocks outside it", function()
    local t = require("enkash.transport.curl").new({ timeout = 5, connect_timeout = 2 })
    local tasks = {}
    for i = 1, 20 do tasks[i] = function() return assert(t:request { url = srv.url .. "/raw_slow" }).body end end
    local t0 = monotime()
    local results = batch.run(tasks)
    local elapsed = monotime() - t0
    for i = 1, 20 do assert.equal("ok\n", results[i].values[1]) end
    assert.is_true(elapsed < 1.5, "took " .. elapsed)
    assert.equal(20, results.stats.requests)
    assert.equal(0, t:stats().requests) -- none went through the blocking handle
    assert.equal("ok\n", assert(t:request { url = srv.url .. "/raw_slow" }).body)
    assert.equal(1, t:stats().requests)
    -- errors come back as enkash errors, raised misuse is raised in the task
    results = batch.run({
      function() return t:request { url = "http://127.0.0.1:1/" } end,
      function() return t:request { url = srv.url, method = "A B" } end,
    })
    assert.is_nil(results[1].values[1])
    assert.is_true(errors.is(results[1].values[2]))
    assert.equal("connect", results[1].values[2].kind)
    assert.is_false(results[2].ok)
    assert.matches("invalid method", results[2].error)
    t:close()
  end)

  it("a transport with other HTTP options than the run's does not borrow its multi", function()
    local t = require("enkash.transport.curl").new({ timeout = 5, verify = false })
    local results = batch.run({
      function() return t:request { url = srv.url .. "/raw_slow" } end,
    }, { http_opts = { timeout = 5 } }) -- verify differs: blocking on the transport's handle
    assert.equal(200, results[1].values[1].status)
    assert.equal(0, results.stats.requests)
    assert.equal(1, t:stats().requests)
    t:close()
  end)
end)

describe("client:batch with money-moving rows", function()
  -- A scripted transport that yields like the curl one: each answer comes after a wait.
  local P = "/api/v0/partner/enKashCard"
  local TOKEN = '{"access_token":"tok-1234567890","expires_in":3600}'

  it("reconciles each call inside its task, concurrently", function()
    local sent, token_calls = {}, 0
    local t = {}
    function t.request(_, req)
      local path = req.url:match("^%a+://[^/]+([^?]*)")
      if path == "/oauth/token" then
        token_calls = token_calls + 1
        return { status = 200, headers = {}, body = TOKEN }
      end
      sent[#sent + 1] = path
      batch.sleep(0.1)
      if path == P .. "/balance" then -- the top-up: times out after it was applied
        return nil, errors.new("timeout", "timeout (scripted)", { retryable = true })
      end
      local ref = cjson.decode(req.body).pgReferenceNumber
      return { status = 200, headers = {}, body = cjson.encode({ response_code = 0, response_message = "Success",
        payload = { status = "SUCCESS", pgReferenceNumber = ref } }) }
    end
    function t.sleep(_, s) batch.sleep(s) end
    function t.close() end
    local c = assert(enkash.new(fx.config("http://127.0.0.1:9", {
      transport = t, card_account_id = "CAC7975", reconcile_delay = 0.1,
    })))
    local calls = {}
    for i = 1, 20 do calls[i] = { "wallet.top_up", { amount = 10, enKashCardId = "EKCWLUAADN" } } end
    local t0 = monotime()
    local results = c:batch(calls, { concurrency = 20 })
    local elapsed = monotime() - t0
    local refs = {}
    for i = 1, 20 do
      local payload, res = results[i][1], results[i][2]
      assert.equal("SUCCESS", payload and payload.status, tostring(res))
      assert.is_true(res.reconciled)
      assert.equal("timeout", res.cause)
      assert.is_nil(refs[res.reference])
      refs[res.reference] = true
    end
    assert.equal(1, token_calls)
    assert.equal(40, #sent) -- one send and one status lookup each, never a blind resend
    -- sequentially 20 x (0.1 + 0.1 + 0.1) = 6 s
    assert.is_true(elapsed < 1.5, "took " .. elapsed)
  end)
end)
