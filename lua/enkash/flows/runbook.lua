--- Runbooks: onboarding flows as Lua scripts of named steps, journaled and resumable.
--
--     local runbook = require "enkash.runbook"
--     local rb = runbook.new("Bind a device")
--     rb:step("generate", function(ctx) return ctx:call("device.generate", ctx.input.device) end)
--     rb:step("wait until bound", function(ctx)
--       return ctx:poll(function()
--         local p, err = ctx:call("device.status", ctx.input.device)
--         if not p then return nil, err end
--         return p.status ~= "Pending" and p
--       end, { timeout = 120 })
--     end)
--     return rb
--
-- A step returns a table of values (kept in the journal and given to later steps as
-- `ctx.values[step name]`), or `nil, err` to fail the run. `when = function(ctx) ... end`
-- skips a step (branching on state). Each step's outcome, and the reference of every
-- money-moving call *before* the call is sent, is written to the run's journal before the
-- run goes on; a run killed at any point resumes from its journal: completed steps are not
-- repeated, and a money-moving call whose outcome was not recorded is first settled through
-- its status endpoint (enkash.reconcile, lookup_first).
-- @module enkash.flows.runbook

local core = require "enkash.core"
local catalogue = require "enkash.catalogue"
local errors = require "enkash.errors"
local reconcile = require "enkash.reconcile"

local setmetatable, type, tostring, pairs, ipairs = setmetatable, type, tostring, pairs, ipairs
local monotime, min = core.monotime, math.min

local M = {}

local Runbook = {}
Runbook.__index = Runbook

--- A new, empty runbook.
-- @tparam string name shown in progress and summaries
-- @treturn table runbook
function M.new(name)
  return setmetatable({ name = name, steps = {} }, Runbook)
end

--- Add a step.
-- @tparam string name unique within the runbook
-- @tparam function fn `fn(ctx) -> values | nil, err`
-- @tparam[opt] table opts `when = function(ctx) -> boolean` (false skips the step)
-- @treturn table the runbook (chainable)
function Runbook:step(name, fn, opts)
  if type(name) ~= "string" or type(fn) ~= "function" then error("step(name, fn) expected", 2) end
  for _, s in ipairs(self.steps) do
    if s.name == name then error("duplicate step name: " .. name, 2) end
  end
  self.steps[#self.steps + 1] = { name = name, fn = fn, when = opts and opts.when }
  return self
end

--- Is `v` a runbook?
-- @param v
-- @treturn boolean
function M.is(v)
  return getmetatable(v) == Runbook
end

-- The context a step sees.
local Ctx = {}
Ctx.__index = Ctx

--- Call a catalogue endpoint through the run's client. A money-moving call gets its
-- reference journaled before it is sent; on resume it is settled by its status first.
-- @tparam string name row name, e.g. "wallet.top_up"
-- @tparam[opt] table params
-- @tparam[opt] table opts per-call options
-- @return payload
-- @treturn table response or err
function Ctx:call(name, params, opts)
  local row = catalogue.by_name[name]
  if not row then error("unknown endpoint " .. tostring(name), 2) end
  params = params or {}
  if not row.money then return self.client:call(name, params, opts) end
  -- Copied below, so checked first: a step's bad argument is a validation error, not a raise.
  if type(params) ~= "table" then
    return nil, errors.new("validation", "parameters must be a table",
      { field = "parameters", endpoint = name })
  end
  if opts ~= nil and type(opts) ~= "table" then
    return nil, errors.new("validation", "opts must be a table", { field = "opts", endpoint = name })
  end
  self.money_n = self.money_n + 1
  local key = self.step .. "#" .. self.money_n
  local known = self.run.money[key]
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  local ref
  if known then
    ref = known.reference
    if known.done then return known.payload, { reference = ref, replayed = true } end
    o.lookup_first = true -- sent before the crash, outcome not recorded: ask first
  else
    ref = params[row.reference] or reconcile.new_reference()
  end
  local p = {}
  for k, v in pairs(params) do p[k] = v end
  p[row.reference] = ref
  if not known then
    local ok, err = self.run:record({ t = "money", step = self.step, key = key, endpoint = name,
                                      reference = ref })
    if not ok then return nil, errors.new("transport", "journal: " .. tostring(err)) end
  end
  local payload, res = self.client:call(name, p, o)
  if payload then
    self.run:record({ t = "money_done", key = key, reference = ref, payload = payload })
  elseif res.kind ~= "unknown_outcome" and res.kind ~= "validation" then
    self.run:record({ t = "money_failed", key = key, reference = ref, kind = res.kind })
  end
  return payload, res
end

--- Poll `fn` until it returns a truthy value, with backoff between tries.
-- `fn` returns a value to finish, `false`/`nil` to try again, or `nil, err` to give up.
-- @tparam function fn
-- @tparam[opt] table opts interval (1 s), backoff (1.5), max_interval (10 s), timeout (300 s)
-- @return the value
-- @treturn[opt] table err a `timeout` error naming the step
function Ctx:poll(fn, opts)
  opts = opts or {}
  local interval = opts.interval or 1
  -- the client's clock (enkash.clock): virtual in tests, the transport's sleep otherwise
  local clock = self.client.clock
  local now = clock and clock.now or monotime
  local deadline = now() + (opts.timeout or 300)
  local tries = 0
  while true do
    tries = tries + 1
    local v, err = fn(tries)
    if v then return v end
    if err then return nil, err end
    if now() + interval > deadline then
      return nil, errors.new("timeout", "step '" .. self.step .. "' still waiting after "
        .. tries .. " polls", { retryable = true })
    end
    if self.on_poll then self.on_poll(tries) end
    if clock then clock.sleep(interval) else self.client.transport:sleep(interval) end
    interval = min(interval * (opts.backoff or 1.5), opts.max_interval or 10)
  end
end

-- Run state: journal plus what it says.
local Run = {}
Run.__index = Run

--- Append a record to the run's journal (durable before it returns).
-- @tparam table rec
-- @treturn true|nil
-- @treturn[opt] string err
function Run:record(rec)
  return self.journal:append(rec)
end

local function replay(records)
  local st = { done = {}, money = {}, input = nil, finished = nil }
  for _, r in ipairs(records) do
    if r.t == "run" then
      st.input, st.runbook = r.input, r.runbook
    elseif r.t == "step" then
      st.done[r.name] = r
    elseif r.t == "money" then
      st.money[r.key] = { reference = r.reference }
    elseif r.t == "money_done" and st.money[r.key] then
      st.money[r.key].done, st.money[r.key].payload = true, r.payload
    elseif r.t == "money_failed" then
      st.money[r.key] = nil -- a definite failure: a re-run may try again with a new reference
    elseif r.t == "end" then
      st.finished = r.status
    end
  end
  return st
end

-- The summary of a run refused before its first step: nothing was sent.
local function refused(run_id, message, field)
  return { ok = false, run_id = run_id, steps = {}, values = {},
           error = errors.new("validation", message, { field = field }) }
end

-- The records a resume starts from, or nil, err when the journal cannot be trusted. Any
-- store must give the run's input first (the file store checks it too): without it the
-- steps would run on an empty input.
local function resume_records(journal)
  local records, err = journal:records()
  if records and (records[1] == nil or records[1].t ~= "run") then
    return nil, "journal damaged at line 1: the first record is not the run's input"
  end
  return records, err
end

--- A fresh run id: UTC time and 4 random hex digits, e.g. 20261128-074501-3fa2.
-- @treturn string
function M.new_run_id()
  local r = core.random_bytes(2)
  return os.date("!%Y%m%d-%H%M%S") .. ("-%02x%02x"):format(r:byte(1), r:byte(2))
end

--- Run (or resume) a runbook.
-- @tparam table rb the runbook
-- @tparam table opts client (required), store (required), run_id (default: new), input (table),
-- resume (true: continue the journal of run_id), on_event (function(event))
-- @treturn table summary {ok, run_id, steps = {{name, status, elapsed, error}}, values, error};
-- a resume whose journal is damaged sends nothing and fails with a `validation` error
-- (field "journal", "journal damaged at line N: <why>")
function M.run(rb, opts)
  local client, store = opts.client, opts.store
  if not client or not store then error("run needs client and store", 2) end
  local run_id = opts.run_id or M.new_run_id()
  if opts.resume and not store:exists(run_id) then
    return refused(run_id, "no journal for run " .. run_id, "run_id")
  end
  if not opts.resume and store:exists(run_id) then
    return refused(run_id, "run " .. run_id .. " exists; use --resume", "run_id")
  end
  local journal = assert(store:open(run_id))
  local past = replay({})
  if opts.resume then
    -- A damaged journal stops the run before any call: guessing past a damaged money record
    -- would send it again under a new reference.
    local records, err = resume_records(journal)
    if not records then
      journal:close()
      return refused(run_id, tostring(err), "journal")
    end
    past = replay(records)
  end
  local run = setmetatable({ journal = journal, money = past.money }, Run)
  local emit = opts.on_event or function() end
  local input = opts.input or past.input or {}
  if not opts.resume then run:record({ t = "run", run_id = run_id, name = rb.name, input = input }) end

  local values, steps, n = {}, {}, #rb.steps
  local summary = { ok = true, run_id = run_id, steps = steps, values = values, resumed = opts.resume }
  for k, s in ipairs(rb.steps) do
    local prior = past.done[s.name]
    if prior and (prior.status == "done" or prior.status == "skipped") then
      values[s.name] = prior.values
      steps[k] = { name = s.name, status = prior.status, elapsed = 0, replayed = true }
      emit({ event = "step", k = k, n = n, name = s.name, status = prior.status, replayed = true,
             elapsed = 0 })
    else
      local ctx = setmetatable({ client = client, input = input, values = values, step = s.name,
                                 run = run, money_n = 0, run_id = run_id }, Ctx)
      ctx.on_poll = function(tries)
        emit({ event = "poll", k = k, n = n, name = s.name, tries = tries })
      end
      emit({ event = "start", k = k, n = n, name = s.name })
      local t0 = monotime()
      local status, result, err = "done", nil, nil
      if s.when and not s.when(ctx) then
        status = "skipped"
      else
        local ok, a, b = pcall(s.fn, ctx)
        if not ok then
          status, err = "failed", errors.new("validation", "step raised: " .. tostring(a))
        elseif a == nil then
          status, err = "failed", b or errors.new("validation", "step returned nothing")
        else
          result = type(a) == "table" and a or { value = a }
        end
      end
      local elapsed = monotime() - t0
      run:record({ t = "step", name = s.name, status = status, values = result,
                   error = err and tostring(err) or nil, elapsed = elapsed })
      values[s.name] = result
      steps[k] = { name = s.name, status = status, elapsed = elapsed, error = err }
      emit({ event = "step", k = k, n = n, name = s.name, status = status, elapsed = elapsed,
             result = result, error = err })
      if status == "failed" then
        summary.ok, summary.error = false, err
        break
      end
    end
  end
  run:record({ t = "end", status = summary.ok and "ok" or "failed" })
  journal:close()
  emit({ event = "end", ok = summary.ok, run_id = run_id, error = summary.error })
  return summary
end

return M
