-- Runbook journals fail loudly: every line carries a checksum; a damaged record, or a
-- journal without its input record, stops a resume before anything is sent. Only a torn
-- last line (a crash mid-write) is ignored. Journals of the previous version (plain JSON
-- lines) still resume. Real journal files in a temp dir, the in-process sandbox.
local runbook = require "enkash.runbook"
local store = require "enkash.runbook.store"
local cjson = require "cjson"
local targets = require "helpers.targets"
local fx = require "helpers.fixtures"

local dirs = {}

local function tmpdir()
  local p = io.popen('mktemp -d "${TMPDIR:-/tmp}/enkash-journal-spec.XXXXXX"')
  local d = p:read("*l")
  p:close()
  dirs[#dirs + 1] = d
  return d
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function lines_of(text)
  local out = {}
  for l in text:gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

local function join(lines)
  return table.concat(lines, "\n") .. "\n"
end

-- An in-process sandbox (on virtual time) with one usable wallet; the client sends through it.
local function world()
  local client, sb = targets.virtual_client{ card_account_id = fx.card_account_id }
  local w = assert(client.wallet:create(fx.wallet_params()))
  sb:control("wallet", { enKashCardId = w.enKashCardId, latestTncVersionAccepted = true, verified = true })
  return { sb = sb, client = client, card = w.enKashCardId }
end

local function requests(wd)
  return wd.client.transport:stats().requests
end

-- How often the sandbox saw `endpoint` (its request log).
local function seen(wd, endpoint)
  local n = 0
  for _, e in ipairs(wd.sb:control("log").entries) do
    if e.endpoint == endpoint then n = n + 1 end
  end
  return n
end

-- A top-up, then a gate that fails until `gate.open`: a run stopped after its money call.
local function topup_runbook(gate)
  local rb = runbook.new("top up")
  rb:step("top-up", function(ctx)
    local t, res = ctx:call("wallet.top_up", { enKashCardId = ctx.input.card, amount = "100.00" })
    if not t then return nil, res end
    return { reference = res.reference }
  end)
  rb:step("gate", function()
    if not gate.open then return nil, "gate closed" end
    return { passed = true }
  end)
  return rb
end

-- A journal left by a run that topped up and then failed at the gate:
-- 1 run, 2 money, 3 money_done, 4 step top-up, 5 step gate (failed), 6 end.
local function failed_run(wd, st, run_id)
  local s = runbook.run(topup_runbook({ open = false }),
    { client = wd.client, store = st, run_id = run_id, input = { card = wd.card } })
  assert.is_false(s.ok)
  assert.equals("done", s.steps[1].status)
  return s.values["top-up"].reference
end

local function resume(wd, st, run_id)
  return runbook.run(topup_runbook({ open = true }),
    { client = wd.client, store = st, run_id = run_id, resume = true })
end

-- Resume a damaged journal: refused with "journal damaged at line N", nothing sent, the
-- journal left as it was.
local function assert_refused(wd, st, run_id, path, line, why)
  local before, text = requests(wd), read(path)
  local s = resume(wd, st, run_id)
  assert.is_false(s.ok)
  assert.equals(run_id, s.run_id)
  assert.same({}, s.steps)
  assert.same({}, s.values)
  assert.equals("validation", s.error.kind)
  assert.equals("journal", s.error.field)
  assert.equals("journal damaged at line " .. line .. ": " .. why, s.error.message)
  assert.equals(before, requests(wd), "requests sent on a damaged journal")
  assert.equals(text, read(path), "the damaged journal was changed")
  return s
end

-- Change one byte of `line`: the first of the value after `needle`.
local function flip(line, needle)
  local at = assert(line:find(needle, 1, true)) + #needle
  local c = line:sub(at, at)
  return line:sub(1, at - 1) .. (c == "A" and "B" or "A") .. line:sub(at + 1)
end

describe("runbook journal", function()
  local wd, dir, st

  before_each(function()
    wd, dir = world(), tmpdir()
    st = store.file(dir)
  end)

  teardown(function()
    for _, d in ipairs(dirs) do os.execute("rm -rf '" .. d .. "'") end
  end)

  it("writes each record as JSON with a checksum of its text first", function()
    failed_run(wd, st, "f1")
    local lines = lines_of(read(dir .. "/f1.journal"))
    assert.equals(6, #lines)
    local core = require "enkash.core"
    for _, l in ipairs(lines) do
      local sum, rest = l:match('^{"_sum":"(%x+)",(.*)$')
      assert.equals(16, #sum)
      local body = "{" .. rest
      assert.equals(("%02x"):rep(8):format(core.sha256(body):byte(1, 8)), sum)
      assert.equals(sum, cjson.decode(l)._sum) -- still a JSON line for other readers
    end
    local recs = assert(st:open("f1"):records())
    assert.same({ "run", "money", "money_done", "step", "step", "end" },
      { recs[1].t, recs[2].t, recs[3].t, recs[4].t, recs[5].t, recs[6].t })
    assert.is_nil(recs[1]._sum)
  end)

  it("stops a resume at a damaged money record, sending nothing", function()
    failed_run(wd, st, "m1")
    local path = dir .. "/m1.journal"
    local lines = lines_of(read(path))
    lines[2] = flip(lines[2], '"reference":"')
    write(path, join(lines))
    local s = assert_refused(wd, st, "m1", path, 2, "checksum mismatch")
    assert.is_nil(tostring(s.error):find(lines[2]:match('"reference":"(%w+)"'), 1, true),
      "the message quotes the record")
    local j = st:open("m1")
    local recs, err = j:records()
    j:close()
    assert.is_nil(recs)
    assert.equals("journal damaged at line 2: checksum mismatch", err)
  end)

  it("stops a resume at a damaged run record (the input), sending nothing", function()
    failed_run(wd, st, "i1")
    local path = dir .. "/i1.journal"
    local lines = lines_of(read(path))
    lines[1] = flip(lines[1], '"card":"')
    write(path, join(lines))
    assert_refused(wd, st, "i1", path, 1, "checksum mismatch")
  end)

  it("stops a resume whose first line (the input) was removed", function()
    failed_run(wd, st, "r1")
    local path = dir .. "/r1.journal"
    local lines = lines_of(read(path))
    table.remove(lines, 1)
    write(path, join(lines))
    assert_refused(wd, st, "r1", path, 1, "the first record is not the run's input")
  end)

  it("stops a resume of a journal with no record at all", function()
    write(dir .. "/e1.journal", "")
    assert_refused(wd, st, "e1", dir .. "/e1.journal", 1, "the first record is not the run's input")
  end)

  it("treats a valid JSON body under a wrong checksum as damage", function()
    failed_run(wd, st, "c1")
    local path = dir .. "/c1.journal"
    local lines = lines_of(read(path))
    local sum = lines[3]:sub(10, 25)
    lines[3] = lines[3]:sub(1, 9) .. (sum:sub(1, 1) == "0" and "1" or "0") .. lines[3]:sub(11)
    assert.is_table(cjson.decode(lines[3]))
    write(path, join(lines))
    assert_refused(wd, st, "c1", path, 3, "checksum mismatch")
  end)

  it("treats an undecodable middle line and a mix of old and new lines as damage", function()
    failed_run(wd, st, "x1")
    local path = dir .. "/x1.journal"
    local lines = lines_of(read(path))
    local good = join(lines)
    lines[4] = lines[4]:gsub('^{"_sum":"%x+",', "{")  -- a plain JSON line among checksummed ones
    write(path, join(lines))
    assert_refused(wd, st, "x1", path, 4, "no checksum (the other lines have one)")
    lines = lines_of(good)
    lines[5] = "not json"
    write(path, join(lines))
    assert_refused(wd, st, "x1", path, 5, "no checksum (the other lines have one)")
    -- An old-format journal (no checksums) with a line that does not decode.
    lines = lines_of(good)
    for i, l in ipairs(lines) do lines[i] = l:gsub('^{"_sum":"%x+",', "{") end
    lines[3] = lines[3]:sub(1, 20)
    write(path, join(lines))
    assert_refused(wd, st, "x1", path, 3, "not a JSON object")
  end)

  it("ignores a torn last line, resumes and settles the money call once", function()
    -- A run killed while journaling the top-up's answer: run, money, then half a line.
    local reference = failed_run(wd, st, "t1")
    local path = dir .. "/t1.journal"
    local lines = lines_of(read(path))
    write(path, lines[1] .. "\n" .. lines[2] .. "\n" .. lines[3]:sub(1, 40))
    assert.equals(1, seen(wd, "wallet.top_up"))
    local s = resume(wd, st, "t1")
    assert.is_true(s.ok, tostring(s.error))
    assert.equals(reference, s.values["top-up"].reference, "a new reference was used")
    assert.equals(1, seen(wd, "wallet.top_up"), "the top-up was sent again")
    assert.is_true(seen(wd, "wallet.transaction") >= 1, "the reference was looked up first")
    assert.equals(1, wd.sb:control("ledger").applied[reference])
    -- The torn bytes were cut off before the resume appended: the journal reads clean.
    local j = st:open("t1")
    local recs = assert(j:records())
    j:close()
    local money, done = 0, 0
    for _, r in ipairs(recs) do
      if r.t == "money" then money = money + 1 end
      if r.t == "money_done" then done = done + 1 end
    end
    assert.equals(1, money)
    assert.equals(1, done)
    assert.equals("ok", recs[#recs].status)
    assert.is_nil(read(path):find(lines[3]:sub(1, 40) .. "{", 1, true))
  end)

  it("ignores a last line that fails its checksum (torn, newline written)", function()
    failed_run(wd, st, "t2")
    local path = dir .. "/t2.journal"
    local lines = lines_of(read(path))
    lines[6] = flip(lines[6], '"status":"')
    write(path, join(lines))
    local s = resume(wd, st, "t2")
    assert.is_true(s.ok, tostring(s.error))
    assert.is_true(s.steps[1].replayed)
    assert.equals(1, seen(wd, "wallet.top_up"))
    local j = st:open("t2")
    assert.is_table(j:records())
    j:close()
  end)

  it("resumes a journal of the previous version (plain JSON lines) and keeps its form", function()
    local reference = failed_run(wd, st, "o1")
    local path = dir .. "/o1.journal"
    local lines = lines_of(read(path))
    for i, l in ipairs(lines) do lines[i] = l:gsub('^{"_sum":"%x+",', "{") end
    write(path, join(lines))
    local s = resume(wd, st, "o1")
    assert.is_true(s.ok, tostring(s.error))
    assert.is_true(s.steps[1].replayed)
    assert.equals(reference, s.values["top-up"].reference)
    assert.equals(1, seen(wd, "wallet.top_up"))
    local text = read(path)
    assert.is_nil(text:find("_sum", 1, true), "a checksummed line was added to an old journal")
    local j = st:open("o1")
    local recs = assert(j:records())
    j:close()
    assert.equals("ok", recs[#recs].status)
  end)

  it("refuses a fresh run on an existing journal, leaving it as it was", function()
    failed_run(wd, st, "d1")
    local text, before = read(dir .. "/d1.journal"), requests(wd)
    local s = runbook.run(topup_runbook({ open = true }),
      { client = wd.client, store = st, run_id = "d1", input = { card = wd.card } })
    assert.is_false(s.ok)
    assert.equals("run_id", s.error.field)
    assert.equals(text, read(dir .. "/d1.journal"))
    assert.equals(before, requests(wd))
  end)

  it("keeps the in-memory store working", function()
    local mem = store.memory()
    local s = runbook.run(topup_runbook({ open = true }),
      { client = wd.client, store = mem, run_id = "mem1", input = { card = wd.card } })
    assert.is_true(s.ok, tostring(s.error))
    local recs = mem:open("mem1"):records()
    assert.equals("run", recs[1].t)
    assert.equals("ok", recs[#recs].status)
  end)
end)

-- `enkash run --resume` on a damaged journal: the error on stderr, exit 1, nothing sent (the
-- base URL goes nowhere). Lua 5.4 only: LuaJIT's os.execute gives no exit code.
if _VERSION == "Lua 5.4" then
  describe("enkash run --resume on a damaged journal", function()
    local cli = require "helpers.cli"

    it("prints where the journal is damaged and exits 1 without sending anything", function()
      local dir = cli.tmpdir()
      local st = store.file(dir)
      local j = assert(st:open("BAD1"))
      assert(j:append({ t = "run", run_id = "BAD1", name = "Full onboarding", input = { tnc_accepted = true } }))
      assert(j:append({ t = "money", step = "opening top-up", key = "opening top-up#1",
                        endpoint = "wallet.top_up", reference = "ENK0123456789ABCDEF0123" }))
      assert(j:append({ t = "step", name = "bind device", status = "done", values = {} }))
      j:close()
      local path = dir .. "/BAD1.journal"
      local lines = lines_of(read(path))
      lines[2] = flip(lines[2], '"reference":"')
      write(path, join(lines))
      local r = cli.run({ "run", "examples/onboarding.lua", "--resume", "BAD1", "--runs-dir", dir },
        { ENKASH_ENV = "sandbox", ENKASH_BASE_URL = "http://127.0.0.1:9" })
      cli.rmdir(dir)
      assert.equals(1, r.code, r.out .. r.err)
      assert.matches("enkash run: enkash validation error: journal damaged at line 2: checksum mismatch",
        r.err, 1, true)
      assert.is_nil((r.out .. r.err):find("ENK0123", 1, true), "the record was printed")
      assert.is_nil((r.out .. r.err):find("connect", 1, true), "something was sent")
    end)
  end)
end
