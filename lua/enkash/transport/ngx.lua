--- The nginx transport: HTTP over cosockets, so a call never blocks the nginx worker.
-- Implements the transport interface shared by every transport:
-- `t:request{method, url, headers, body, timeout, connect_timeout}` -> `{status, headers, body}`
-- | `nil, err`, `t:sleep(seconds)` (ngx.sleep: yields), `t:stats()`, `t:close()`; plus
-- `t:check()`, which the client asks before a call.
--
-- `enkash.new{}` picks it by itself inside nginx. The engine is lua-resty-http when it is
-- installed (`pcall(require, "resty.http")`, version 0.16 or later), else `enkash.transport.ngx_http`,
-- which needs nothing beyond Debian's nginx + libnginx-mod-http-lua + lua-resty-core.
--
-- Cosockets exist only in some nginx phases (lua-nginx-module's docs: rewrite, access,
-- content, ngx.timer, ssl_certificate, ssl_session_fetch, ssl_client_hello). Anywhere else
-- (init, init_worker, set, header_filter, body_filter, log, balancer, ...) a call fails at
-- once with kind "transport" naming the phase, and never falls back to a blocking libcurl
-- call that would stall every request of the worker: run it from `ngx.timer.at(0, fn)`.
--
-- TLS: verification is on unless `verify = false`; the CA certificates are nginx's
-- `lua_ssl_trusted_certificate` (and `lua_ssl_verify_depth`): a cosocket cannot take the
-- client's `ca_file`, which is ignored here (a warning is logged), as is `proxy`.
-- Caps: as the curl transport's (`enkash.transport.ngx_http`: 200 header lines, 64 KiB of headers, a
-- 4 KiB trailer line, `max_response_bytes` while the body arrives). lua-resty-http reads the
-- head itself, so over it the header caps are checked on what it read, and `timeout` bounds
-- the body only between its reads: nginx re-arms a cosocket's timer at each byte of one
-- receive, so an answer dripping in a byte at a time is bounded by the builtin engine alone.
-- Works under Lua 5.4 too as far as loading goes (the client asks `inside_nginx()` there).
-- @module enkash.transport.ngx

local errors = require "enkash.errors"

local type, tostring, tonumber, setmetatable, pairs, ipairs, pcall, require, rawget =
  type, tostring, tonumber, setmetatable, pairs, ipairs, pcall, require, rawget
local lower, match, find, concat = string.lower, string.match, string.find, table.concat
local min = math.min

local M = {}
local T = {}
T.__index = T

--- The nginx phases (`ngx.get_phase()`) in which cosockets and ngx.sleep work.
M.phases = {
  rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
}

local function ngx_table()
  local n = rawget(_G, "ngx")
  if type(n) == "table" and type(n.get_phase) == "function" then return n end
  return nil
end

--- True when running inside nginx (lua-nginx-module's `ngx` API is present).
-- @treturn boolean
function M.inside_nginx()
  return ngx_table() ~= nil
end

--- The current nginx phase, or nil outside nginx.
-- @treturn string|nil
function M.phase()
  local n = ngx_table()
  return n and n.get_phase() or nil
end

--- The error of a call from a phase without cosockets (kind "transport", not retryable).
-- @tparam string phase
-- @treturn table err
function M.phase_error(phase)
  return errors.new("transport", "enkash cannot call Enkash from nginx's " .. tostring(phase)
    .. " phase: nginx allows no cosockets there, and a blocking call would stall the worker;"
    .. " make the call from rewrite/access/content, or defer it with ngx.timer.at(0, function() ... end)",
    { retryable = false, phase = phase })
end

--- Can a request be made now? True in a phase with cosockets, else nil and the phase error.
-- @treturn boolean|nil ok
-- @treturn[opt] table err
function M.check()
  local phase = M.phase()
  if phase == nil then
    return nil, errors.new("transport", "the ngx transport runs only inside nginx", { retryable = false })
  end
  if not M.phases[phase] then return nil, M.phase_error(phase) end
  return true
end

-- ---------------------------------------------------------------------------------------
-- The lua-resty-http engine (used when it is installed)

local function version_at_least(v, want_major, want_minor)
  local major, minor = match(tostring(v or ""), "^v?(%d+)%.(%d+)")
  major, minor = tonumber(major), tonumber(minor)
  if not major then return false end
  return major > want_major or (major == want_major and minor >= want_minor)
end

-- Lower-cased names, repeated headers joined with ", " once (a list per name meanwhile),
-- within the header caps of enkash.transport.ngx_http: lua-resty-http reads the head itself, so they
-- are checked on what it read. Returns the table, or nil and the message.
local function lower_headers(h, max_bytes, max_lines)
  local lists, bytes, lines = {}, 0, 0
  for k, v in pairs(h or {}) do
    if type(k) == "string" then
      local lk = lower(k)
      local l = lists[lk] or {}
      lists[lk] = l
      for _, one in ipairs(type(v) == "table" and v or { v }) do
        one = tostring(one)
        lines, bytes = lines + 1, bytes + #k + #one + 4
        if lines > max_lines then return nil, "more than " .. max_lines .. " response header lines" end
        if bytes > max_bytes then return nil, "response headers larger than " .. max_bytes .. " bytes" end
        l[#l + 1] = one
      end
    end
  end
  local out = {}
  for k, l in pairs(lists) do out[k] = concat(l, ", ") end
  return out
end

local function resty_engine(http)
  local ngx_http = require "enkash.transport.ngx_http"
  local function failed(c, kind, message)
    c:close()
    return nil, kind, message
  end
  return function(req, opts)
    local scheme, host, port, path = ngx_http.parse_url(req.url)
    if not scheme then return nil, "transport", "unsupported URL (http:// or https:// with a host)" end
    local timeout = tonumber(req.timeout) or opts.timeout or 30
    local ct = min(tonumber(req.connect_timeout) or opts.connect_timeout or timeout, timeout)
    local deadline = rawget(_G, "ngx").now() + timeout
    local c = http.new()
    c:set_timeouts(ct * 1000, timeout * 1000, timeout * 1000)
    local verify = opts.verify ~= false
    local is_ip = match(host, "^%d+%.%d+%.%d+%.%d+$") or find(host, ":", 1, true)
    local ok, err = c:connect{
      scheme = scheme, host = lower(host) == "localhost" and "127.0.0.1" or host, port = port,
      ssl_verify = verify, ssl_server_name = not is_ip and host or nil,
      ssl_reused_session = false, -- no session object: Debian's lua-resty-core asserts on one
      pool = "enkash:resty:" .. scheme .. ":" .. host .. ":" .. port .. (verify and "" or ":noverify"),
      pool_size = ngx_http.pool_size,
    }
    if not ok then
      local kind = ngx_http.kind_of(err)
      if kind == "transport" then kind = "connect" end
      return nil, kind, "cannot connect to " .. host .. ":" .. port .. ": " .. tostring(err)
    end
    local reused = (c:get_reused_times() or 0) > 0
    if opts.stats then
      opts.stats.requests = (opts.stats.requests or 0) + 1
      if not reused then opts.stats.connects = (opts.stats.connects or 0) + 1 end
    end
    local headers = { ["Host"] = ngx_http.host_header(scheme, host, port) }
    for k, v in pairs(req.headers or {}) do headers[k] = v end
    if not headers["User-Agent"] then headers["User-Agent"] = opts.user_agent or ngx_http.user_agent end
    local res
    res, err = c:request{ method = req.method or "GET", path = path, headers = headers, body = req.body }
    if not res then
      if err == "closed" and reused then
        return failed(c, "transport",
          "connection closed before a response; the request may have been received")
      end
      local kind = ngx_http.kind_of(err)
      return failed(c, kind == "timeout" and kind or "transport", "request failed: " .. tostring(err))
    end
    local rh, too_many = lower_headers(res.headers, opts.max_header_bytes or ngx_http.max_header_bytes,
      opts.max_header_lines or ngx_http.max_header_lines)
    if not rh then return failed(c, "transport", too_many) end
    local cap = opts.max_response_bytes or ngx_http.max_response_bytes
    local n = tonumber(rh["content-length"])
    if n and n > cap then return failed(c, "transport", "response larger than " .. cap .. " bytes") end
    local to_close = not n and not find(lower(rh["transfer-encoding"] or ""), "chunked", 1, true)
    local parts, size = {}, 0
    if res.has_body and res.body_reader then
      while true do
        -- timeout bounds the whole exchange: each read gets only the time left
        local left = deadline - rawget(_G, "ngx").now()
        if left <= 0 then
          return failed(c, "timeout", "operation timed out while reading the response body")
        end
        c:set_timeouts(ct * 1000, left * 1000, left * 1000)
        local chunk, rerr = res.body_reader(65536)
        if chunk then
          size = size + #chunk
          if size > cap then return failed(c, "transport", "response larger than " .. cap .. " bytes") end
          parts[#parts + 1] = chunk
        end
        if rerr then
          if rerr == "closed" and to_close then break end -- the body ends with the connection
          local kind = ngx_http.kind_of(rerr)
          return failed(c, kind == "timeout" and kind or "transport",
            "reading the response body failed: " .. tostring(rerr))
        end
        if not chunk then break end
      end
    end
    if to_close then c:close() else c:set_keepalive(ngx_http.keepalive_timeout * 1000) end
    return { status = res.status, headers = rh, body = concat(parts) }
  end
end

local function builtin_engine()
  return require("enkash.transport.ngx_http").request
end

--- Which engine `new` uses by default: "auto" (lua-resty-http when installed, 0.16+),
-- "resty" or "builtin".
M.engine = "auto"

local function pick_engine(which)
  which = which or M.engine
  if which == "builtin" then return builtin_engine(), "builtin" end
  local ok, http = pcall(require, "resty.http")
  if ok and type(http) == "table" and version_at_least(http._VERSION, 0, 16) then
    return resty_engine(http), "resty"
  end
  if which == "resty" then
    error("enkash.transport.ngx: lua-resty-http (0.16 or later) is not installed", 3)
  end
  return builtin_engine(), "builtin"
end

--- Create a transport from a resolved config.
-- @tparam table cfg resolved config (verify, max_response_bytes, user_agent, timeout and
--   connect_timeout for requests that carry none; ca_file and
--   proxy are not supported by cosockets and are ignored with a warning)
-- @tparam[opt] table opts `engine` = "auto" | "resty" | "builtin" (default `M.engine`)
-- @treturn table transport; `t.name` is "ngx", `t.engine` "resty" or "builtin"
function M.new(cfg, opts)
  cfg = cfg or {}
  opts = opts or {}
  local request, engine = pick_engine(opts.engine)
  local n = ngx_table()
  if n and n.log then
    if cfg.ca_file then
      n.log(n.WARN, "enkash: ca_file is ignored inside nginx; put the CA in lua_ssl_trusted_certificate")
    end
    if cfg.proxy then n.log(n.WARN, "enkash: proxy is not supported by the ngx transport and is ignored") end
  end
  return setmetatable({
    name = "ngx", engine = engine, send = request,
    http_opts = { verify = cfg.verify ~= false, max_response_bytes = cfg.max_response_bytes,
                  user_agent = cfg.user_agent, timeout = cfg.timeout, connect_timeout = cfg.connect_timeout,
                  stats = { requests = 0, connects = 0 } },
  }, T)
end

--- Is a call possible now (inside nginx, in a phase with cosockets)?
-- @treturn boolean|nil ok
-- @treturn[opt] table err kind "transport" naming the phase and the ngx.timer.at workaround
function T.check()
  return M.check()
end

--- Send one HTTP request over a cosocket (yields to nginx while waiting).
-- @tparam table req {method, url, headers, body, timeout, connect_timeout}
-- @treturn table|nil res {status, headers (lower-cased names), body}
-- @treturn table|nil err kind timeout | connect | tls | transport
function T:request(req)
  local ok, err = M.check()
  if not ok then return nil, err end
  local res, kind, message = self.send(req, self.http_opts)
  if res then return res end
  return nil, errors.new(kind, message, { retryable = kind ~= "tls" })
end

--- Wait `seconds` with ngx.sleep: yields, the worker serves other requests meanwhile.
-- Raises (misuse) in a phase where nginx cannot sleep.
-- @tparam number seconds
function T.sleep(_, seconds)
  local ok, err = M.check()
  if not ok then error(err.message, 2) end
  rawget(_G, "ngx").sleep(seconds)
end

--- Counters of this transport (this worker): {requests, connects}; connects counts new
-- connections, so requests - connects were served by kept-alive ones.
-- @treturn table
function T:stats()
  local s = self.http_opts.stats
  return { requests = s.requests, connects = s.connects }
end

--- Nothing to release: idle connections belong to nginx's cosocket pool. Idempotent.
function T.close() end

return M
