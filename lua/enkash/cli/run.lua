--- `enkash run FILE.lua`: run an onboarding runbook, once or once per CSV row, resumably.
-- @module enkash.cli.run

local args_lib = require "enkash.cli.args"
local csv = require "enkash.cli.csv"
local progress = require "enkash.cli.progress"
local runbook = require "enkash.flows.runbook"
local session = require "enkash.cli.session"
local store_lib = require "enkash.flows.store"
local cjson = require "cjson.safe"

local M = {}

M.help = [[
usage: enkash run FILE.lua [--env sandbox|uat|production] [--input input.json | --csv users.csv]
                           [--resume RUN_ID] [--run-id ID] [--dry-run] [--json]
                           [--concurrency N] [--runs-dir DIR] [--results FILE]

Runs the runbook FILE.lua (a script returning require("enkash.runbook").new(...) with steps).

  --env ENV        sandbox (the default when no ENKASH_* credentials are set), uat or production.
                   With sandbox and no ENKASH_BASE_URL, the bundled sandbox is started on
                   127.0.0.1 for the run and stopped afterwards.
  --input FILE     the run's input, a JSON object (ctx.input)
  --csv FILE       run once per row (ctx.input = the row), --concurrency at a time (default 10),
                   with a progress bar; one line per row goes to --results (default
                   RUNS_DIR/<run id>.results.csv). A bad row never stops the others.
  --resume RUN_ID  continue a run from its journal: completed steps are not repeated, and a
                   money-moving call whose outcome was not recorded is settled first
  --dry-run        validate and print every request (secrets and PII masked) without sending
                   anything: the in-process sandbox answers
  --json           print events as JSON lines instead of progress lines
  --runs-dir DIR   where journals live (default ./.enkash/runs, or ENKASH_RUNS_DIR)

Exit status: 0 when every run succeeded, 1 when one failed, 2 on a usage error.]]

local spec = {
  env = "value", input = "value", csv = "value", resume = "value", ["run-id"] = "value",
  ["dry-run"] = "flag", json = "flag", concurrency = "value", ["runs-dir"] = "value",
  results = "value",
}

local function fail(msg, code)
  io.stderr:write("enkash run: ", msg, "\n")
  return code or 1
end

local function load_runbook(path)
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  local ok, rb = pcall(chunk)
  if not ok then return nil, path .. ": " .. tostring(rb) end
  if not runbook.is(rb) then return nil, path .. " must return a runbook (enkash.runbook.new)" end
  return rb
end

local function read_json(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local doc, derr = cjson.decode(f:read("*a"))
  f:close()
  if type(doc) ~= "table" then return nil, path .. ": not a JSON object (" .. tostring(derr) .. ")" end
  return doc
end

-- --concurrency: a whole number of rows at once, 1 to 1000 (10 when not given).
local function concurrency(o)
  if o.concurrency == nil then return 10 end
  local n = tonumber(o.concurrency)
  if not n or n ~= n or n < 1 or n > 1000 or n ~= math.floor(n) then
    return nil, "--concurrency must be a whole number from 1 to 1000"
  end
  return n
end

-- Records the CSV reader set aside fail alone, each on its own results line; the other rows run.
local function report_bad_rows(bad, out, o, say)
  for _, b in ipairs(bad) do
    out:write(csv.line({ b.line, "", "failed", "", "", "malformed CSV record: " .. b.error }), "\n")
    if o.json then
      say(require("enkash.json").encode({ event = "row", row = b.line, ok = false }))
    else
      io.stderr:write(("enkash run: %s line %d: %s (row skipped)\n"):format(o.csv, b.line, b.error))
    end
  end
end

local function bulk(rb, client, store, o, say, runs_dir)
  local width, werr = concurrency(o)
  if not width then return fail(werr, 2) end
  local rows, err, _, bad_rows = csv.read(o.csv)
  if not rows then return fail(err) end
  local base = o["run-id"] or runbook.new_run_id()
  local results_path = o.results or (runs_dir .. "/" .. base .. ".results.csv")
  local out, oerr
  if o["dry-run"] and not o.results then
    -- a dry run leaves no file behind unless asked to (--results)
    results_path, out = "(none: dry run)", { write = function() end, close = function() end }
  else
    out, oerr = io.open(results_path, "wb")
    if not out then return fail("cannot write the results file: " .. tostring(oerr)) end
  end
  out:write(csv.line({ "row", "run_id", "status", "failed_step", "field", "error" }), "\n")
  report_bad_rows(bad_rows, out, o, say)
  local done, ok_n, bad_n = #bad_rows, 0, #bad_rows
  local tasks = {}
  for i, row in ipairs(rows) do
    tasks[i] = function()
      local line = row._line
      row._line = nil
      local s = runbook.run(rb, { client = client, store = store, run_id = base .. "-" .. line, input = row })
      return s, line
    end
  end
  local tty = not o.json
  require("enkash.transport.scheduler").run(tasks, {
    concurrency = width,
    on_done = function(_, r)
      done = done + 1
      local s, line = r.values and r.values[1], r.values and r.values[2]
      local failed_step, field, message = "", "", ""
      if r.ok and s.ok then
        ok_n = ok_n + 1
      else
        bad_n = bad_n + 1
        local e = r.ok and s.error or r.error
        for _, st in ipairs(s and s.steps or {}) do
          if st.status == "failed" then failed_step = st.name end
        end
        field = type(e) == "table" and e.field or ""
        message = progress.error_text(e) or "" -- masked as the run's own output is
      end
      out:write(csv.line({ line or "", s and s.run_id or "", (r.ok and s.ok) and "ok" or "failed",
                           failed_step, field, message }), "\n")
      if tty then
        io.stderr:write("\r", progress.bar(done, #tasks + #bad_rows, ok_n, bad_n))
        io.stderr:flush()
      elseif o.json then
        say(require("enkash.json").encode({ event = "row", row = line, ok = r.ok and s.ok,
                                            field = field ~= "" and field or nil }))
      end
    end,
  })
  out:close()
  if tty then io.stderr:write("\n") end
  say(("bulk: %d rows, %d ok, %d failed; results in %s"):format(#tasks + #bad_rows, ok_n, bad_n,
    results_path))
  return bad_n == 0 and 0 or 1
end

--- Run the verb.
-- @tparam table args the arguments after the verb
-- @treturn number exit status
function M.run(args)
  local o, err = args_lib.parse(args, spec)
  if not o then return fail(err .. "\n\n" .. M.help, 2) end
  if not o[1] then return fail("which runbook? \n\n" .. M.help, 2) end
  if o.input and o.csv then return fail("--input and --csv exclude each other", 2) end
  local rb
  rb, err = load_runbook(o[1])
  if not rb then return fail(err, 2) end
  local input -- nil unless --input: a resumed run takes its input from the journal
  if o.input then
    input, err = read_json(o.input)
    if not input then return fail(err, 2) end
  end
  local say = function(line) io.stdout:write(line, "\n") io.stdout:flush() end
  if o.json then
    local json = require "enkash.json"
    say = function(line) io.stdout:write(json.encode({ event = "message", text = line }), "\n") end
  end
  local runs_dir = o["runs-dir"] or os.getenv("ENKASH_RUNS_DIR") or ".enkash/runs"
  -- A dry run leaves no journal behind: there is nothing to resume.
  local store = o["dry-run"] and store_lib.memory() or store_lib.file(runs_dir)
  -- A dry run sends nothing: no host, no credentials, whatever ENKASH_* variables are set.
  local client, stop
  if o["dry-run"] then
    client, stop = require("enkash.transport.dry_run").client(say, { sandbox_opts = session.sandbox_opts })
  else
    client, stop = session.open(o, say)
  end
  if not client then return fail(stop) end

  local code
  if o.csv then
    code = bulk(rb, client, store, o, say, runs_dir)
  else
    say(("runbook: %s (%d steps)%s"):format(rb.name, #rb.steps, o["dry-run"] and ", dry run" or ""))
    local summary = runbook.run(rb, {
      client = client, store = store, input = input, run_id = o.resume or o["run-id"],
      resume = o.resume ~= nil,
      on_event = o.json and progress.json(io.stdout) or progress.human(io.stdout, o["dry-run"]),
    })
    -- A run refused before its first step (no journal, an existing run, a damaged journal)
    -- has no table to show: its reason goes to stderr, in --json mode too.
    local refused = not summary.ok and #summary.steps == 0
    if refused then
      fail(progress.error_text(summary.error) or "?")
    elseif not o.json then
      say("\n" .. progress.summary(summary))
    end
    if not o.json and not o["dry-run"] and store:exists(summary.run_id) then
      say("journal: " .. runs_dir .. "/" .. summary.run_id .. ".journal")
    end
    code = summary.ok and 0 or 1
  end
  stop()
  return code
end

return M
