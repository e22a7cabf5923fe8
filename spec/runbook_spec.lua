-- The runbook engine: steps, values passed forward, branching, polling, the journal, resume.
-- The clients run in-process on virtual time (helpers.targets): polls pass without waiting.
local runbook = require "enkash.runbook"
local store = require "enkash.runbook.store"
local cjson = require "cjson"
local targets = require "helpers.targets"
local fx = require "helpers.fixtures"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end

local function sandbox_client(sb_extra)
  return targets.virtual_client(nil, sb_extra)
end

local function bind_runbook(counter)
  local rb = runbook.new("bind")
  rb:step("generate", function(ctx)
    counter.generate = (counter.generate or 0) + 1
    return ctx:call("device.generate", ctx.input.device)
  end)
  rb:step("wait until bound", function(ctx)
    return ctx:poll(function()
      local p, err = ctx:call("device.status", ctx.input.device)
      if not p then return nil, err end
      return p.status ~= "Pending" and p
    end, { interval = 0.05, timeout = 5 })
  end)
  rb:step("only when bound", function(ctx)
    return { saw = ctx.values["wait until bound"].status }
  end, { when = function(ctx) return ctx.values["wait until bound"].status == "Bound" end })
  rb:step("never", function() return { ran = true } end, { when = function() return false end })
  return rb
end

describe("runbook", function()
  it("runs steps in order, passes values forward, branches and polls", function()
    local client = sandbox_client({ bind_delay = 0.2 })
    local events = {}
    local s = runbook.run(bind_runbook({}), {
      client = client, store = store.file(tmpdir()), input = { device = fx.device },
      on_event = function(e) events[#events + 1] = e end,
    })
    assert.is_true(s.ok, tostring(s.error))
    assert.same({ "done", "done", "done", "skipped" },
      { s.steps[1].status, s.steps[2].status, s.steps[3].status, s.steps[4].status })
    assert.equals("Bound", s.values["only when bound"].saw)
    local polls = 0
    for _, e in ipairs(events) do if e.event == "poll" then polls = polls + 1 end end
    assert.is_true(polls >= 1)
    assert.equals("end", events[#events].event)
  end)

  it("journals every step durably, and a resume repeats none that completed", function()
    local dir, counter = tmpdir(), {}
    local client = sandbox_client({ bind_delay = false })
    local st = store.file(dir)
    -- the status poll times out: the run fails after "generate" completed
    local rb = bind_runbook(counter)
    rb.steps[2].fn = function(ctx)
      return ctx:poll(function()
        local p = ctx:call("device.status", ctx.input.device)
        return p.status ~= "Pending" and p
      end, { interval = 0.02, timeout = 0.1 })
    end
    local s = runbook.run(rb, { client = client, store = st, run_id = "r1", input = { device = fx.device } })
    assert.is_false(s.ok)
    assert.equals("timeout", s.error.kind)
    local lines = {}
    for l in io.lines(dir .. "/r1.journal") do lines[#lines + 1] = cjson.decode(l) end
    assert.equals("run", lines[1].t)
    assert.equals("generate", lines[2].name)
    assert.equals("done", lines[2].status)
    -- bind it, resume: generate is not repeated, the input comes from the journal
    client.transport.sandbox:control("device", { deviceId = fx.device.deviceId, status = "Bound" })
    s = runbook.run(bind_runbook(counter), { client = client, store = st, run_id = "r1", resume = true })
    assert.is_true(s.ok, tostring(s.error))
    assert.equals(1, counter.generate)
    assert.is_true(s.steps[1].replayed)
  end)

  it("refuses to resume an unknown run or to restart an existing one", function()
    local client = sandbox_client()
    local st = store.file(tmpdir())
    local s = runbook.run(bind_runbook({}), { client = client, store = st, run_id = "nope", resume = true })
    assert.is_false(s.ok)
    assert.matches("no journal", s.error.message)
    runbook.run(bind_runbook({}), { client = client, store = st, run_id = "x1", input = { device = fx.device } })
    s = runbook.run(bind_runbook({}), { client = client, store = st, run_id = "x1" })
    assert.matches("exists", s.error.message)
  end)

  it("fails the run on a raising step with a clear error", function()
    local rb = runbook.new("boom")
    rb:step("explode", function() error("kaboom") end)
    rb:step("after", function() return {} end)
    local s = runbook.run(rb, { client = sandbox_client(), store = store.file(tmpdir()) })
    assert.is_false(s.ok)
    assert.matches("kaboom", tostring(s.error))
    assert.is_nil(s.steps[2])
  end)

  it("answers a step's bad params or opts on a money call with a validation error, journaling nothing", function()
    local client = sandbox_client()
    local dir = tmpdir()
    for _, bad in ipairs({ { "nope", nil }, { 5, nil }, { {}, "x" }, { {}, 5 }, { {}, true } }) do
      local got
      local rb = runbook.new("bad args")
      rb:step("top up", function(ctx)
        local p, err = ctx:call("wallet.top_up", bad[1], bad[2])
        got = err
        return p, err
      end)
      local s = runbook.run(rb, { client = client, store = store.file(dir) })
      assert.is_false(s.ok)
      assert.equals("validation", got.kind)
    end
  end)

  it("rejects duplicate step names", function()
    local rb = runbook.new("dup")
    rb:step("a", function() return {} end)
    assert.has_error(function() rb:step("a", function() return {} end) end)
  end)
end)
