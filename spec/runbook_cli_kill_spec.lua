-- `enkash run examples/onboarding.lua` killed with SIGKILL at every step boundary, in the
-- middle of a call and right after the sandbox committed the opening top-up, then resumed
-- with `--resume RUN_ID`: the sandbox ends in the same state as after an uninterrupted run,
-- and no money call is applied twice. Lua 5.4 only ("cli_" in the name keeps it out of the
-- LuaJIT pass of tools/test.sh: LuaJIT's io.popen/os.execute give no exit codes).
local enkash = require "enkash"
local control = require "helpers.control"
local fx = require "helpers.fixtures"
local cli = require "helpers.cli"

local RUNBOOK, INPUT = "examples/onboarding.lua", "examples/onboarding.json"
local STEPS = { "bind device", "T&C gate", "create wallet", "activation gate", "opening top-up", "send OTP",
                "VKYC link", "KYC full" }

describe("enkash run, killed and resumed", function()
  -- sess.srv, sess.dir, sess.env; a reset sandbox before each test. The sandbox options
  -- (cli.RUNBOOK_SANDBOX) make binding, T&C and VKYC take a moment, so the flow polls.
  local sess = cli.session()
  local baseline
  local seq = 0

  -- The sandbox's state without its random ids: wallets (KYC, T&C, balance), the device
  -- binding, partner accounts, the applied references' counts and the ledger total.
  local function snapshot()
    local stats, ledger = control(sess.srv, "stats"), control(sess.srv, "ledger")
    local snap = { wallets = stats.wallets, wallet_states = {}, partner_accounts = {}, total = ledger.total }
    for name, paise in pairs(ledger.accounts) do
      local id = name:match("^wallet:(.+)$")
      if id then
        local w = control(sess.srv, "wallet", { enKashCardId = id })
        snap.wallet_states[#snap.wallet_states + 1] = ("%s tnc=%s balance=%d"):format(w.kycStatus,
          tostring(w.latestTncVersionAccepted), paise)
      else
        snap.partner_accounts[name] = paise
      end
    end
    table.sort(snap.wallet_states)
    local counts = {}
    for _, n in pairs(ledger.applied or {}) do counts[#counts + 1] = n end
    table.sort(counts)
    snap.applied_refs, snap.applied_counts = #counts, counts
    local client = assert(enkash.new{ env = "sandbox", base_url = sess.srv.url })
    local st, err = client.device:status(fx.device)
    client:close()
    snap.device = st and st.status or ("error: " .. tostring(err))
    return snap
  end

  local function new_run_id()
    seq = seq + 1
    return ("K%d-%d"):format(seq, os.time())
  end

  local function journal_path(run_id) return sess.dir .. "/" .. run_id .. ".journal" end

  local function start_run(run_id)
    return cli.spawn({ "run", RUNBOOK, "--input", INPUT, "--run-id", run_id, "--runs-dir", sess.dir }, sess.env)
  end

  -- Resume in the foreground, then check the run's output and the sandbox's final state.
  -- `finished_before` = the steps the journal showed finished when the process was killed.
  local function resume_and_check(run_id, finished_before)
    local r = cli.run({ "run", RUNBOOK, "--resume", run_id, "--runs-dir", sess.dir }, sess.env)
    assert.equals(0, r.code, "resume exited " .. tostring(r.code)
      .. "\n" .. r.out .. r.err)
    for k, name in ipairs(STEPS) do
      local pat = "%[" .. k .. "/8%] " .. name:gsub("%-", "%%-") .. "%s+%a+ %(from the journal%)"
      if k <= finished_before then
        assert.matches(pat, r.out, 1, "step " .. k .. " (" .. name .. ") should come from the journal")
      else
        assert.is_nil(r.out:match(pat), "step " .. k .. " (" .. name .. ") was not finished before the kill")
      end
    end
    assert.matches("run " .. run_id:gsub("%-", "%%-") .. ": ok", r.out)
    local recs = cli.journal(journal_path(run_id))
    assert.equals(#STEPS, cli.steps_finished(recs), "every step finished once in the journal")
    local ends = cli.records(recs, "end")
    assert.equals("ok", ends[#ends].status)
    -- One top-up in the flow: journaled once, settled once under the same reference.
    local money = cli.records(recs, "money")
    assert.equals(1, #money, "money records in the journal")
    local done = cli.records(recs, "money_done", { key = money[1].key })
    assert.equals(1, #done, "the top-up's outcome is journaled once")
    assert.equals(money[1].reference, done[1].reference)
    local step = cli.records(recs, "step", { name = "opening top-up" })[1]
    assert.equals(money[1].reference, step.values.reference)
    assert.same(baseline, snapshot())
    return r, recs
  end

  setup(function()
    -- The reference: one uninterrupted run on a reset sandbox.
    local run_id = new_run_id()
    local r = cli.run({ "run", RUNBOOK, "--input", INPUT, "--run-id", run_id, "--runs-dir", sess.dir }, sess.env)
    assert.equals(0, r.code, r.out .. r.err)
    baseline = snapshot()
  end)

  after_each(function() cli.cleanup() end)

  it("has a baseline: one wallet, FULL_KYC, T&C accepted, 500.00 loaded once, device bound", function()
    assert.equals(1, baseline.wallets)
    assert.same({ "FULL_KYC tnc=true balance=50000" }, baseline.wallet_states)
    assert.equals(2, baseline.applied_refs) -- the sandbox's funding of CACSANDBOX1, and the top-up
    assert.same({ 1, 1 }, baseline.applied_counts)
    assert.equals(100000000 - 50000, baseline.partner_accounts["account:CACSANDBOX1"])
    assert.equals("Bound", baseline.device)
  end)

  -- Steps 3, 4 and 8 poll, so a kill lands at the boundaries before them (k = 2, 3, 7) by
  -- polling the journal. The steps after the boundaries 2, 4, 5 and 6 finish within a
  -- millisecond, faster than any poll: their first call is held by a fault that fails
  -- *before* the sandbox processes it (HTTP 503 after 3 s), so the kill lands exactly
  -- there. Step 2 (the T&C gate) makes no call at all: the boundary 1 cannot be held and
  -- the kill lands after step 1 or a later one.
  local HOLD = { [2] = "wallet.create", [4] = "wallet.top_up", [5] = "wallet.send_otp", [6] = "wallet.vkyc_link" }

  for k = 1, 7 do
    it("resumes after a kill -9 at the step boundary " .. k .. " (after '" .. STEPS[k] .. "')", function()
      if HOLD[k] then
        control(sess.srv, "fault", { endpoint = HOLD[k], kind = "http_status", status = 503, body = "busy", delay = 3 })
      end
      local run_id = new_run_id()
      local p = start_run(run_id)
      cli.wait_until(function()
        if not cli.alive(p.pid) then
          error("the run ended before step " .. k .. " finished: " .. table.concat({ cli.output(p) }))
        end
        if cli.steps_finished(cli.journal(journal_path(run_id))) < k then return false end
        return not HOLD[k] or control(sess.srv, "stats").pending_faults == 0 -- the held call has arrived
      end, 20, k .. " finished steps in the journal" .. (HOLD[k] and " and " .. HOLD[k] .. " held" or ""))
      cli.kill9(p)
      local recs = cli.journal(journal_path(run_id))
      local finished = cli.steps_finished(recs)
      if k == 1 then
        assert.is_true(finished >= 1 and finished < #STEPS, "killed after " .. finished .. " steps")
        if finished ~= k then print(("  (boundary 1: the kill landed after %d steps)"):format(finished)) end
      else
        assert.equals(k, finished, "killed at the boundary " .. k)
      end
      assert.equals(0, #cli.records(recs, "end"), "the run had not ended")
      resume_and_check(run_id, finished)
    end)
  end

  -- A call that reached the sandbox but whose answer never reached the journal is made again
  -- on resume. For wallet.vkyc_link the lost call may already have completed the KYC (the
  -- sandbox approves sessions every vkyc_step): the step checks the state first and goes on.
  for _, c in ipairs({ { endpoint = "wallet.send_otp", before = "opening top-up", step = "send OTP" },
                       { endpoint = "wallet.vkyc_link", before = "send OTP", step = "VKYC link" } }) do
    it("resumes after a kill -9 in the middle of " .. c.endpoint .. " (processed, answer delayed)", function()
      control(sess.srv, "fault", { endpoint = c.endpoint, kind = "delay", delay = 2, count = 1 })
      local run_id = new_run_id()
      local p = start_run(run_id)
      cli.wait_until(function()
        return #cli.records(cli.journal(journal_path(run_id)), "step", { name = c.before, status = "done" }) == 1
      end, 20, "'" .. c.before .. "' done in the journal")
      cli.sleep(0.5)
      assert.is_true(cli.alive(p.pid), "the run is still waiting for " .. c.endpoint)
      cli.kill9(p)
      local recs = cli.journal(journal_path(run_id))
      assert.equals(0, #cli.records(recs, "step", { name = c.step }), c.step .. " had not finished")
      resume_and_check(run_id, cli.steps_finished(recs))
    end)
  end

  it("resumes after a kill -9 right after the sandbox committed the opening top-up", function()
    control(sess.srv, "fault", { endpoint = "wallet.top_up", kind = "commit_timeout", delay = 5, count = 1 })
    local run_id = new_run_id()
    local p = start_run(run_id)
    local ref = cli.wait_until(function()
      local money = cli.records(cli.journal(journal_path(run_id)), "money")
      local r = money[1] and money[1].reference
      return r and (control(sess.srv, "ledger").applied or {})[r] == 1 and r
    end, 20, "the top-up journaled and applied by the sandbox")
    cli.kill9(p)
    local before = cli.journal(journal_path(run_id))
    assert.equals(0, #cli.records(before, "money_done"), "the answer was still held back when killed")
    local _, recs = resume_and_check(run_id, cli.steps_finished(before))
    local money = cli.records(recs, "money")
    assert.equals(1, #money, "the resumed run journaled no second top-up")
    assert.equals(ref, money[1].reference)
    local done = cli.records(recs, "money_done")
    assert.equals(1, #done)
    assert.equals(ref, done[1].reference)
    local step = cli.records(recs, "step", { name = "opening top-up" })[1]
    assert.equals(ref, step.values.reference, "the top-up step's reference is the one journaled before the kill")
    assert.equals(1, (control(sess.srv, "ledger").applied or {})[ref])
    -- Settled through the status endpoint: the top-up itself was not sent again.
    local top_ups, lookups = 0, 0
    for _, e in ipairs(control(sess.srv, "log").entries) do
      if e.endpoint == "wallet.top_up" then top_ups = top_ups + 1 end
      if e.endpoint == "wallet.transaction" then lookups = lookups + 1 end
    end
    assert.equals(1, top_ups, "wallet.top_up requests")
    assert.is_true(lookups >= 1, "the resumed run asked wallet.transaction about the reference")
  end)
end)
