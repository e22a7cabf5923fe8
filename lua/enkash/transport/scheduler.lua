--- Parallel calls on one thread: a scheduler of coroutines over one `core.multi`, beside the
-- transports whose requests it runs (the catalogue call batch, `client:batch`, is
-- enkash.client.batch, above it).
--
--     local results = scheduler.run({ f1, f2, f3 }, { concurrency = 20 })
--     -- results[i] = { ok = true, values = { n = ..., ... } } | { ok = false, error = <raised> }
--
-- Each task runs in its own coroutine, at most `concurrency` at once. Inside a task the curl
-- transport does not block: `t:request(req)` yields the request to the scheduler, which
-- adds it to the run's `core.multi` and resumes the task when it completes; `t:sleep(s)`
-- yields a timer. When nothing is runnable the scheduler blocks in `m:wait` until the next
-- transfer completes or the next timer is due. Transports that do not yield (the in-process
-- sandbox) simply run the tasks one after another.
--
-- A task is recognised by its coroutine (a weak table of the run's coroutines): code in a
-- coroutine of its own inside a task, and every coroutine outside a batch, are left alone,
-- and the yields carry a private tag no other coroutine user can produce.
-- @module enkash.transport.scheduler

local core = require "enkash.core"

local type, tostring, select, setmetatable, ipairs = type, tostring, select, setmetatable, ipairs
local create, resume, status, yield, running =
  coroutine.create, coroutine.resume, coroutine.status, coroutine.yield, coroutine.running
local unpack = table.unpack or unpack -- luacheck: ignore 143
local floor = math.floor
local monotime, sleep = core.monotime, core.sleep

local M = {}

--- Default number of tasks running at once.
M.concurrency = 20

-- The tag of the scheduler's yields: a private table, so no other coroutine user's yield
-- can be taken for ours (and ours are not mistaken for theirs).
local TAG = setmetatable({}, { __tostring = function() return "enkash.batch" end })

-- coroutine -> the run it belongs to, for the coroutines of running tasks only.
local runs = setmetatable({}, { __mode = "k" })

-- The options that shape a transfer (core.http's); max_total_connections only sizes the pool.
local OPT_KEYS = { "ca_file", "proxy", "verify", "timeout", "connect_timeout", "max_response_bytes",
  "user_agent" }

local function same_opts(a, b)
  if a == b then return true end
  a, b = a or {}, b or {}
  for _, k in ipairs(OPT_KEYS) do
    local x, y = a[k], b[k]
    if k == "verify" then x, y = x ~= false, y ~= false end
    if x ~= y then return false end
  end
  return true
end

local function pack(...)
  return { n = select("#", ...), ... }
end

--- The run the running coroutine belongs to, or nil outside a batch task.
-- @treturn table|nil run
function M.current()
  local co = running()
  return co and runs[co] or nil
end

--- Can the running coroutine hand a request with these HTTP options to its batch?
-- True inside a batch task whose run's `core.multi` uses the same options (the run adopts
-- the options of its first request when it was given none). A transport whose options
-- differ (another CA file, proxy, `verify`) must not borrow the run's: it sends blocking.
-- @tparam[opt] table http_opts the options the caller's own `core.http` handle was made with
-- @treturn boolean
function M.can_http(http_opts)
  local run = M.current()
  if not run then return false end
  if run.http_opts == nil then run.http_opts = http_opts or {} end
  return same_opts(run.http_opts, http_opts)
end

--- Send a request through the running task's batch: yields until it completes.
-- Only inside a batch task (see `can_http`); raises otherwise, and raises as `h:request`
-- does on a malformed request.
-- @tparam table req {method, url, headers, body, timeout, connect_timeout}
-- @treturn table|nil res {status, headers, body}
-- @treturn[opt] string message
-- @treturn[opt] string kind timeout | connect | tls | transport | validation
function M.http(req)
  if not M.current() then error("enkash.batch.http: not inside a batch task", 2) end
  local r = pack(yield(TAG, "http", req))
  if not r[1] then error(r[2], 0) end -- the request was refused as misuse: raise in the task
  return unpack(r, 2, r.n)
end

--- Sleep: inside a batch task yields to the scheduler (other tasks run meanwhile),
-- elsewhere blocks (`core.sleep`).
-- @tparam number seconds
function M.sleep(seconds)
  if type(seconds) ~= "number" or seconds ~= seconds then
    error("enkash.batch.sleep: seconds must be a number", 2)
  end
  if M.current() then
    yield(TAG, "sleep", seconds)
  else
    sleep(seconds)
  end
end

local function check_run_args(tasks, opts)
  if type(tasks) ~= "table" then error("enkash.batch.run: tasks must be a list of functions", 3) end
  for i = 1, #tasks do
    if type(tasks[i]) ~= "function" then
      error("enkash.batch.run: tasks[" .. i .. "] is a " .. type(tasks[i]) .. ", not a function", 3)
    end
  end
  if opts ~= nil and type(opts) ~= "table" then error("enkash.batch.run: opts must be a table", 3) end
  opts = opts or {}
  local c = opts.concurrency
  if c == nil then c = M.concurrency end
  if type(c) ~= "number" or c < 1 or c ~= floor(c) then
    error("enkash.batch.run: opts.concurrency must be an integer >= 1", 3)
  end
  if opts.on_done ~= nil and type(opts.on_done) ~= "function" then
    error("enkash.batch.run: opts.on_done must be a function", 3)
  end
  if opts.http_opts ~= nil and type(opts.http_opts) ~= "table" then
    error("enkash.batch.run: opts.http_opts must be a table", 3)
  end
  return opts, c
end

-- The scheduler's loop; `run` holds the state close() needs when it raises.
local function schedule(tasks, opts, concurrency, run)
  local n = #tasks
  local results = {}
  local queue, qhead, qtail = {}, 1, 0 -- runnable: {co, i, args}
  local waiting = {}                    -- multi id -> entry
  local timers = {}                     -- entries with .at, ordered by time (FIFO on ties)
  local active, started, finished = 0, 0, 0

  local function push(entry)
    qtail = qtail + 1
    queue[qtail] = entry
  end

  local function fill()
    while active < concurrency and started < n do
      started = started + 1
      active = active + 1
      local co = create(tasks[started])
      runs[co] = run
      push({ co = co, i = started, args = { n = 0 } })
    end
  end

  local function finish(entry, result)
    runs[entry.co] = nil
    results[entry.i] = result
    active = active - 1
    finished = finished + 1
    if opts.on_done then opts.on_done(entry.i, result) end
    fill()
  end

  local function add_timer(entry, seconds)
    entry.at = monotime() + (seconds > 0 and seconds or 0)
    local pos = #timers + 1
    while pos > 1 and timers[pos - 1].at > entry.at do pos = pos - 1 end
    table.insert(timers, pos, entry)
  end

  local function http(entry, req)
    if not run.multi then run.multi = core.multi(run.http_opts or {}) end
    local ok, id = pcall(run.multi.add, run.multi, req)
    if not ok then
      entry.args = { n = 2, false, id } -- misuse: raised in the task by M.http
      return push(entry)
    end
    waiting[id] = entry
  end

  local function step(entry)
    local r = pack(resume(entry.co, unpack(entry.args, 1, entry.args.n)))
    entry.args = nil
    if not r[1] then return finish(entry, { ok = false, error = r[2] }) end
    if status(entry.co) == "dead" then
      return finish(entry, { ok = true, values = pack(unpack(r, 2, r.n)) })
    end
    if r[2] == TAG and r[3] == "http" then return http(entry, r[4]) end
    if r[2] == TAG and r[3] == "sleep" then return add_timer(entry, r[4]) end
    finish(entry, { ok = false, error = "enkash.batch: a task yielded " .. tostring(r[2])
      .. " to the scheduler (a bare coroutine.yield in a task is not supported)" })
  end

  fill()
  while finished < n do
    while qhead <= qtail do
      local entry = queue[qhead]
      queue[qhead] = nil
      qhead = qhead + 1
      step(entry)
    end
    if finished == n then break end
    local timeout
    if timers[1] then
      timeout = timers[1].at - monotime()
      if timeout < 0 then timeout = 0 end
    end
    if run.multi and run.multi:pending() > 0 then
      for _, c in ipairs(run.multi:wait(timeout)) do
        local entry = waiting[c.id]
        waiting[c.id] = nil
        if c.res then
          entry.args = { n = 2, true, c.res }
        else
          entry.args = { n = 4, true, nil, c.message, c.kind }
        end
        push(entry)
      end
    elseif timeout then
      sleep(timeout)
    else
      error("enkash.batch: internal error: tasks are waiting on nothing")
    end
    local now = monotime()
    while timers[1] and timers[1].at <= now do
      local entry = table.remove(timers, 1)
      entry.at, entry.args = nil, { n = 0 }
      push(entry)
    end
  end
  return results
end

--- Run tasks concurrently on this thread.
-- @tparam {function,...} tasks each called with no arguments in its own coroutine
-- @tparam[opt] table opts `concurrency` (default 20) tasks at once; `http_opts` for the run's
-- `core.multi` (core.http's options plus max_total_connections; default: the options of the
-- first request handed over); `on_done(i, result)` called as each task finishes
-- @treturn table results: `results[i] = {ok = true, values = {n = ..., ...}}` or
-- `{ok = false, error = <the raised value>}`; one task raising never stops the others.
-- `results.stats` = the multi's `{requests, connects}` (zeros when no request went through it)
function M.run(tasks, opts)
  local concurrency
  opts, concurrency = check_run_args(tasks, opts)
  local run = { http_opts = opts.http_opts }
  local ok, results = pcall(schedule, tasks, opts, concurrency, run)
  local stats = { requests = 0, connects = 0 }
  if run.multi then
    stats = run.multi:stats()
    run.multi:close() -- aborts what is still in flight when schedule raised
  end
  if not ok then error(results, 0) end -- on_done raised, or an internal error
  results.stats = stats
  return results
end

return M
