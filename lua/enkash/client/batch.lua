--- The catalogue call batch (`client:batch`): many calls of one client, concurrently, each
-- in its own task of the scheduler (enkash.transport.scheduler) over one libcurl multi.
-- @module enkash.client.batch

local catalogue = require "enkash.catalogue"
local scheduler = require "enkash.transport.scheduler"

local type, tostring, ipairs, error = type, tostring, ipairs, error

local M = {}

--- Call catalogue endpoints concurrently through a client (what `client:batch` does).
-- The token is fetched once before any call starts; each call then runs as
-- `client:call(name, params, opts)` in its own task (money-moving rows reconcile inside it).
-- @tparam table client an enkash client
-- @tparam table calls a list of `{name, params, opts}` (or `{name =, params =, opts =}`)
-- @tparam[opt] table opts `concurrency`, `on_done(i, result)`
-- @treturn table results: `results[i] = {payload, response}` or `{nil, err}` (err the
-- raised value when a call raised); when the token cannot be fetched every result is
-- `{nil, err}` with that error and no call is sent
function M.calls(client, calls, opts)
  if type(calls) ~= "table" then error("enkash: client:batch: calls must be a list", 3) end
  if opts ~= nil and type(opts) ~= "table" then error("enkash: client:batch: opts must be a table", 3) end
  opts = opts or {}
  local list = {}
  for i = 1, #calls do
    local c = calls[i]
    if type(c) ~= "table" then error("enkash: client:batch: calls[" .. i .. "] must be a table", 3) end
    local name, params, call_opts = c.name or c[1], c.params or c[2], c.opts or c[3]
    if type(name) ~= "string" or not catalogue.resolve(name, client.config.routes) then
      error("enkash: client:batch: calls[" .. i .. "]: unknown endpoint " .. tostring(name), 3)
    end
    list[i] = { name, params, call_opts }
  end
  local results = {}
  local function done(i, result)
    results[i] = result
    if opts.on_done then opts.on_done(i, result) end
  end
  local token, err = client:access_token()
  if not token then
    for i = 1, #list do done(i, { nil, err }) end
    results.stats = { requests = 0, connects = 0 }
    return results
  end
  local tasks = {}
  for i, c in ipairs(list) do
    tasks[i] = function() return client:call(c[1], c[2], c[3]) end
  end
  local raw = scheduler.run(tasks, {
    concurrency = opts.concurrency, http_opts = client.transport.http_opts,
    on_done = function(i, r)
      if r.ok then
        done(i, { r.values[1], r.values[2] })
      else
        done(i, { nil, r.error })
      end
    end,
  })
  results.stats = raw.stats
  return results
end

return M
