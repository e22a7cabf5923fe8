-- `enkash run`: dry runs (nothing sent, nothing journaled, nothing secret printed), JSON
-- events, exit statuses and resume errors, against a spec-started nginx sandbox. Lua 5.4
-- only ("cli_" in the name keeps it out of LuaJIT's pass: its io.popen gives no exit codes).
local cjson = require "cjson.safe"
local catalogue = require "enkash.catalogue"
local control = require "helpers.control"
local cli = require "helpers.cli"

local RUNBOOK = cli.root .. "/examples/onboarding.lua"
local INPUT = cli.root .. "/examples/onboarding.json"
local STEPS = { "bind device", "T&C gate", "create wallet", "activation gate", "opening top-up", "send OTP",
                "VKYC link", "KYC full" }

-- Every endpoint the onboarding flow calls.
local FLOW = { "device.generate", "device.status", "wallet.create", "wallet.details", "wallet.top_up",
               "wallet.send_otp", "wallet.vkyc_link" }

-- Secrets and full PII of the sandbox's credentials and examples/onboarding.json.
local NEVER_SHOWN = { "sandbox-client-secret", "Sandbox@123", "9674603714", "CPNPN9971R", "356789123456780" }

local function esc(s) return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")) end

local function listing(dir)
  local h = io.popen("ls -A '" .. dir .. "' 2>/dev/null")
  local out = h:read("*a")
  h:close()
  return out
end

-- stdout as JSON lines; fails on any line that is not a JSON object.
local function events(out)
  local list = {}
  for line in out:gmatch("[^\n]+") do
    local e = cjson.decode(line)
    assert.is_table(e, "not a JSON object: " .. line)
    assert.is_string(e.event, "no event name: " .. line)
    list[#list + 1] = e
  end
  return list
end

describe("enkash run", function()
  local sess = cli.session() -- sess.srv, sess.dir, sess.env; a reset sandbox before each test

  -- The sandbox's API traffic: token and API requests, and log entries other than control calls.
  local function traffic()
    local stats = control(sess.srv, "stats")
    local entries = 0
    for _, e in ipairs(control(sess.srv, "log").entries) do
      if e.endpoint ~= "control" then entries = entries + 1 end
    end
    return { token_requests = stats.token_requests, api_requests = stats.api_requests, log_entries = entries,
             wallets = stats.wallets, devices = stats.devices }
  end

  describe("--dry-run", function()
    local r, cwd

    setup(function()
      control(sess.srv, "reset")
      cwd = sess.dir .. "/dry"
      os.execute("mkdir -p '" .. cwd .. "'")
      -- From an empty directory and without --runs-dir: a journal would land in ./.enkash/runs.
      r = cli.run({ "run", RUNBOOK, "--input", INPUT, "--dry-run" }, sess.env, { cwd = cwd })
    end)

    it("walks the whole flow and exits 0", function()
      assert.equals(0, r.code, r.out .. r.err)
      for k, name in ipairs(STEPS) do
        assert.matches("%[" .. k .. "/8%] " .. esc(name) .. "%s*\n", r.out)
        assert.matches("\n" .. esc(name) .. "%s+done%s", r.out) -- the summary table
      end
      assert.matches("run [%w%-]+: ok", r.out)
    end)

    it("sends nothing: no token request, no API request reaches the sandbox", function()
      assert.same({ token_requests = 0, api_requests = 0, log_entries = 0, wallets = 0, devices = 0 }, traffic())
    end)

    it("prints a 'would send' line for the token and for every endpoint of the flow", function()
      assert.matches("would send POST /oauth/token ", r.out)
      for _, name in ipairs(FLOW) do
        local row = assert(catalogue.by_name[name], name)
        assert.matches("would send " .. row.method .. " " .. esc(row.path) .. "[ ?\n]", r.out, 1,
          "no 'would send' line for " .. name)
      end
    end)

    it("shows no secret and no full mobile, PAN or IMEI", function()
      for _, s in ipairs(NEVER_SHOWN) do
        assert.is_nil(r.out:find(s, 1, true), "stdout shows " .. s)
        assert.is_nil(r.err:find(s, 1, true), "stderr shows " .. s)
      end
      assert.matches("96XXXXXX14", r.out) -- the mobile is there, masked
    end)

    it("writes no journal", function()
      assert.equals("", listing(cwd), "the dry run left files behind: " .. listing(cwd))
      local runs = sess.dir .. "/dry-runs"
      local r2 = cli.run({ "run", RUNBOOK, "--input", INPUT, "--dry-run", "--runs-dir", runs }, sess.env, { cwd = cwd })
      assert.equals(0, r2.code, r2.out .. r2.err)
      assert.equals("", listing(runs), "a journal in --runs-dir: " .. listing(runs))
      assert.is_nil(r2.out:find("journal:", 1, true))
    end)
  end)

  -- Issue 11: with real ENKASH_* credentials in the environment the dry run failed (the client
  -- took them, and the in-process sandbox refused them at the token call; without ENKASH_ENV it
  -- was refused outright). A dry run reads no host and no credential: the same run must pass,
  -- send nothing and print none of them, whatever ENKASH_ENV says, in every output mode.
  describe("--dry-run with real credentials in the environment", function()
    local REAL = { ENKASH_CLIENT_SECRET = "real-client-secret-4f1c9e", ENKASH_PASSWORD = "Real@Pass-7731",
                   ENKASH_USERNAME = "9811122233", ENKASH_PARTNER_ID = "CRMREAL0001",
                   ENKASH_CLIENT_ID = "CEKREAL0001", ENKASH_CARD_ACCOUNT_ID = "CACREAL00042" }
    local MODES = {
      { name = "human", args = { "run", RUNBOOK, "--input", INPUT, "--dry-run" }, code = 0 },
      { name = "--json", args = { "run", RUNBOOK, "--input", INPUT, "--dry-run", "--json" }, code = 0 },
      -- examples/users.csv holds one bad row by design: exit 1, and its bulk line
      { name = "--csv", args = { "run", "examples/bulk_wallets.lua", "--csv", "examples/users.csv", "--dry-run" },
        code = 1, expect = "bulk: 3 rows, 2 ok, 1 failed" },
    }

    it("passes, sends nothing and prints none of them, under every ENKASH_ENV and output mode", function()
      local cases = 0
      for _, env_name in ipairs({ false, "sandbox", "uat", "production" }) do
        for _, mode in ipairs(MODES) do
          local e = { ENKASH_BASE_URL = sess.srv.url } -- a host: it must not be used either
          for k, v in pairs(REAL) do e[k] = v end
          if env_name then e.ENKASH_ENV = env_name end
          local what = mode.name .. ", ENKASH_ENV=" .. tostring(env_name)
          local r = cli.run(mode.args, e)
          assert.equals(mode.code, r.code, what .. "\n" .. r.out .. r.err)
          if mode.expect then assert.matches(mode.expect, r.out, 1, true) end
          assert.matches("would send POST /oauth/token", r.out, 1, true)
          for k, v in pairs(REAL) do
            assert.is_nil(r.out:find(v, 1, true), what .. ": stdout shows " .. k)
            assert.is_nil(r.err:find(v, 1, true), what .. ": stderr shows " .. k)
          end
          for _, v in ipairs(NEVER_SHOWN) do
            assert.is_nil((r.out .. r.err):find(v, 1, true), what .. ": shows " .. v)
          end
          cases = cases + 1
        end
      end
      assert.same({ token_requests = 0, api_requests = 0, log_entries = 0, wallets = 0, devices = 0 }, traffic())
      print(("  dry run with credentials: %d cases"):format(cases))
    end)
  end)

  describe("--json", function()
    it("prints one JSON object per line: start and step events for every step, then end; exit 0", function()
      local r = cli.run({ "run", RUNBOOK, "--input", INPUT, "--json", "--run-id", "json-ok", "--runs-dir", sess.dir },
        sess.env)
      assert.equals(0, r.code, r.out .. r.err)
      local list = events(r.out)
      local started, finished = {}, {}
      for _, e in ipairs(list) do
        if e.event == "start" then started[e.k] = e.name end
        if e.event == "step" then finished[e.k] = e end
      end
      for k, name in ipairs(STEPS) do
        assert.equals(name, started[k], "start event of step " .. k)
        assert.equals(name, finished[k] and finished[k].name, "step event of step " .. k)
        assert.equals("done", finished[k].status)
        assert.equals(8, finished[k].n)
      end
      local last = list[#list]
      assert.equals("end", last.event)
      assert.is_true(last.ok)
      assert.equals("json-ok", last.run_id)
    end)

    it("exits 1 when the run fails (T&C not accepted), with the failure in the events", function()
      local input = cjson.decode(cli.read(INPUT))
      input.tnc_accepted = false
      local path = sess.dir .. "/no-tnc.json"
      cli.write(path, cjson.encode(input))
      local r = cli.run({ "run", RUNBOOK, "--input", path, "--json", "--run-id", "json-tnc", "--runs-dir", sess.dir },
        sess.env)
      assert.equals(1, r.code, r.out .. r.err)
      local list = events(r.out)
      local failed
      for _, e in ipairs(list) do
        if e.event == "step" and e.status == "failed" then failed = e end
      end
      assert.is_table(failed, "no failed step event")
      assert.equals("T&C gate", failed.name)
      assert.matches("T&C", failed.error)
      local last = list[#list]
      assert.equals("end", last.event)
      assert.is_false(last.ok)
      assert.equals(0, traffic().wallets, "no wallet without the T&C")
    end)
  end)

  describe("--json, exit status 2 on a usage error", function()
    local cases = {
      { "an unknown option", { "run", RUNBOOK, "--input", INPUT, "--frobnicate" }, "unknown option %-%-frobnicate" },
      { "a missing runbook file", { "run", cli.root .. "/examples/no-such-runbook.lua" }, "no%-such%-runbook%.lua" },
      { "a missing input file", { "run", RUNBOOK, "--input", "/nonexistent/input.json" }, "/nonexistent/input%.json" },
      { "no runbook at all", { "run" }, "which runbook" },
      { "an option without its value", { "run", RUNBOOK, "--input" }, "%-%-input needs a value" },
      { "--input with --csv", { "run", RUNBOOK, "--input", INPUT, "--csv", INPUT }, "exclude each other" },
    }
    for _, c in ipairs(cases) do
      it("for " .. c[1], function()
        local args = { "run", "--json", "--runs-dir", sess.dir .. "/usage", table.unpack(c[2], 2) }
        local r = cli.run(args, sess.env)
        assert.equals(2, r.code, r.out .. r.err)
        assert.matches(c[3], r.err)
        events(r.out) -- stdout holds nothing but JSON lines
        assert.same({ token_requests = 0, api_requests = 0, log_entries = 0, wallets = 0, devices = 0 }, traffic())
      end)
    end
  end)

  describe("--resume", function()
    it("of an unknown run exits non-zero, says there is no journal for it and sends nothing", function()
      local runs = sess.dir .. "/resume-errors"
      local r = cli.run({ "run", RUNBOOK, "--resume", "NOPE", "--runs-dir", runs }, sess.env)
      assert.is_true(r.code ~= 0, "exit status " .. tostring(r.code))
      assert.matches("no journal for run NOPE", r.out .. r.err)
      assert.is_nil(cli.read(runs .. "/NOPE.journal"), "a journal was created for NOPE")
      assert.same({ token_requests = 0, api_requests = 0, log_entries = 0, wallets = 0, devices = 0 }, traffic())
    end)

    it("is required to continue an existing run id", function()
      local runs = sess.dir .. "/resume-errors"
      local input = cjson.decode(cli.read(INPUT))
      input.tnc_accepted = false -- fails fast at the gate, leaving a journal behind
      local path = sess.dir .. "/no-tnc-2.json"
      cli.write(path, cjson.encode(input))
      local r = cli.run({ "run", RUNBOOK, "--input", path, "--run-id", "TWICE", "--runs-dir", runs }, sess.env)
      assert.equals(1, r.code, r.out .. r.err)
      local before = cli.read(runs .. "/TWICE.journal")
      r = cli.run({ "run", RUNBOOK, "--input", INPUT, "--run-id", "TWICE", "--runs-dir", runs }, sess.env)
      assert.is_true(r.code ~= 0, "exit status " .. tostring(r.code))
      assert.matches("run TWICE exists; use %-%-resume", r.out .. r.err)
      assert.equals(before, cli.read(runs .. "/TWICE.journal"), "the journal was changed")
    end)
  end)
end)
