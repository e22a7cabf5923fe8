-- For the spec/ngx_nginx_*_spec.lua files: an app server (nginx running the SDK over its ngx
-- transport) next to the sandbox, and many requests fired at once with core.multi.
local cjson = require "cjson"
local core = require "enkash.core"
local nginx = require "enkash.sandbox.nginx"
local fixtures = require "helpers.fixtures"

local M = {}

M.root = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/spec/helpers/[^/]*$") or "."

--- Lua source text that rebuilds `value` inside nginx (via cjson, in a long string).
function M.lua_value(value)
  return 'require("cjson").decode([==[' .. cjson.encode(value) .. ']==])'
end

--- Client config for the sandbox at `srv` (fixture credentials), `extra` merged in.
function M.config(srv, extra)
  local cfg = fixtures.config(srv.url, { timeout = 10, connect_timeout = 2 })
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return cfg
end

--- Start a sandbox (fixture credentials, control on); `opts` as enkash.sandbox.nginx.start.
function M.sandbox(opts)
  local o = { sandbox_opts = fixtures.sandbox_opts }
  for k, v in pairs(opts or {}) do o[k] = v end
  return assert(nginx.start(o))
end

--- Start an app server: no sandbox, `workers`, and the given http/server snippets.
function M.app(o)
  return assert(nginx.start {
    sandbox = false, workers = o.workers or 2, http_conf = o.http_conf or "", server_conf = o.server_conf or "",
  })
end

--- One request with core.http; returns res (status, headers, body) or raises.
function M.request(url, req)
  local h = core.http { timeout = 20 }
  req = req or {}
  req.url = url
  local res, kind, msg = h:request(req)
  h:close()
  assert(res, tostring(kind) .. ": " .. tostring(msg))
  return res
end

--- GET `url` and decode its JSON body (raises unless HTTP 200 and JSON).
function M.get_json(url)
  local res = M.request(url)
  assert(res.status == 200, "HTTP " .. res.status .. ": " .. res.body)
  return cjson.decode(res.body)
end

--- Fire `n` requests at once (all in flight together) and wait for all.
-- Returns the completions in order and the elapsed seconds.
function M.fire(n, make)
  local m = core.multi { max_total_connections = n, timeout = 30 }
  local ids, by_id = {}, {}
  local t0 = core.monotime()
  for i = 1, n do ids[i] = m:add(make(i)) end
  local deadline = t0 + 60
  while m:pending() > 0 do
    assert(core.monotime() < deadline, "requests did not finish")
    for _, c in ipairs(m:wait(1)) do by_id[c.id] = c end
  end
  local elapsed = core.monotime() - t0
  m:close()
  local out = {}
  for i = 1, n do out[i] = by_id[ids[i]] end
  return out, elapsed
end

return M
