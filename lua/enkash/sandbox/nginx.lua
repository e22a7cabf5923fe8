--- Run nginx (with the lua module) on 127.0.0.1 in a throwaway prefix, serving the sandbox.
-- Used by `enkash sandbox` and by the specs that need real HTTP(S).
--
--     local nginx = require "enkash.sandbox.nginx"
--     local srv = assert(nginx.start{ sandbox_opts = { bind_delay = 0 } })
--     -- srv.url, srv.port, srv.prefix, srv.ca_file (tls), srv.pid
--     srv:stop()
--
-- Needs nginx, /usr/lib/nginx/modules/{ndk_http_module,ngx_http_lua_module}.so, lua-cjson for
-- LuaJIT, the LuaJIT build of enkash.core (`make core`) and, for TLS, the openssl CLI.
-- @module enkash.sandbox.nginx

local cjson = require "cjson.safe"

local type, tostring, tonumber, setmetatable, ipairs, pairs = type, tostring, tonumber, setmetatable, ipairs,
  pairs
local format, concat = string.format, table.concat

local M = {}

--- Where Debian's nginx keeps dynamic modules (loaded by absolute path, ndk first).
M.modules_dir = "/usr/lib/nginx/modules"
--- The nginx binary.
M.nginx_bin = "nginx"
--- Seconds to wait for nginx to accept connections.
M.start_timeout = 10
--- Seconds to wait for nginx to exit on stop before it is killed.
M.stop_timeout = 5

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- os.execute's result as a boolean under Lua 5.4 (true|nil, how, code) and LuaJIT (status).
local function run(cmd)
  local a = os.execute(cmd)
  if type(a) == "number" then return a == 0 end
  return a == true
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write_file(path, text)
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  f:write(text)
  f:close()
  return true
end

local function capture(cmd)
  local p = io.popen(cmd)
  if not p then return nil end
  local out = p:read("*a")
  p:close()
  return out
end

local sleep
do
  local ok, core = pcall(require, "enkash.core")
  if ok and type(core) == "table" and core.sleep then
    sleep = core.sleep
  else
    sleep = function(s) run(format("sleep %.3f", s)) end
  end
end

local function now()
  local ok, core = pcall(require, "enkash.core")
  if ok and type(core) == "table" and core.monotime then return core.monotime() end
  return os.time()
end

-- The repository root, from this file's own path (<root>/lua/enkash/sandbox/nginx.lua).
local function repo_root()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  if src:sub(1, 1) ~= "/" then
    local cwd = (capture("pwd") or ""):gsub("%s+$", "")
    src = cwd .. "/" .. src
  end
  src = src:gsub("/%./", "/")
  return src:match("^(.*)/lua/enkash/sandbox/nginx%.lua$") or src:match("^(.*)/lua/enkash/sandbox/[^/]*$")
end

-- Is a process alive (and not a zombie left unreaped by a non-reaping init)?
local function alive(pid)
  local stat = read_file("/proc/" .. tostring(pid) .. "/stat")
  if not stat then return false end
  local st = stat:match("%) (%a)")
  return st ~= nil and st ~= "Z" and st ~= "X"
end

-- Pids of the children of `pid` (nginx workers), from /proc.
local function children(pid)
  local out = {}
  local list = capture("grep -l '^PPid:[[:space:]]*" .. tostring(pid)
    .. "$' /proc/[0-9]*/status 2>/dev/null")
  for p in (list or ""):gmatch("/proc/(%d+)/status") do out[#out + 1] = tonumber(p) end
  return out
end

local function random_port()
  local f = io.open("/dev/urandom", "rb")
  local b = f and f:read(2) or ""
  if f then f:close() end
  local n = #b == 2 and (b:byte(1) * 256 + b:byte(2)) or math.random(0, 65535)
  return 20000 + n % 20000
end

-- Does something accept TCP connections on 127.0.0.1:port? (bash's /dev/tcp: no extra tools)
local function accepts(port)
  return run(format("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d' 2>/dev/null", port))
end

local function tail(path, n)
  local text = read_file(path) or ""
  local lines = {}
  for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
  local from = #lines - (n or 15) + 1
  if from < 1 then from = 1 end
  return concat(lines, "\n", from, #lines)
end

-- A throwaway CA and a certificate for 127.0.0.1 and localhost signed by it.
local function make_certs(prefix)
  local ext = prefix .. "/server.ext"
  local ok, err = write_file(ext, concat({
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    "extendedKeyUsage=serverAuth",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
  }, "\n") .. "\n")
  if not ok then return nil, err end
  local q = function(name) return quote(prefix .. "/" .. name) end
  local ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  local cmds = {
    format("openssl req -x509 %s -keyout %s -out %s -days 2 -subj '/CN=enkash sandbox test CA'"
      .. " -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'",
      ec, q("ca.key"), q("ca.crt")),
    format("openssl req -new %s -keyout %s -out %s -subj '/CN=localhost'",
      ec, q("server.key"), q("server.csr")),
    format("openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -out %s -days 2 -extfile %s",
      q("server.csr"), q("ca.crt"), q("ca.key"), q("server.crt"), quote(ext)),
  }
  for _, cmd in ipairs(cmds) do
    if not run(cmd .. " >>" .. q("openssl.log") .. " 2>&1") then
      return nil, "openssl failed: " .. tail(prefix .. "/openssl.log", 5)
    end
  end
  return true
end

local function conf_text(o, prefix, port, root)
  local p = function(name) return prefix .. "/" .. name end
  local lines = {
    "# generated by enkash.sandbox.nginx; removed on stop",
    "load_module " .. M.modules_dir .. "/ndk_http_module.so;",
    "load_module " .. M.modules_dir .. "/ngx_http_lua_module.so;",
  }
  local uid = (capture("id -u") or ""):gsub("%s+", "")
  if uid == "0" then lines[#lines + 1] = "user root;" end -- workers must read the 0700 prefix
  local add = function(s) lines[#lines + 1] = s end
  add(format("worker_processes %d;", o.workers))
  add("pid " .. p("nginx.pid") .. ";")
  add("error_log " .. p("error.log") .. " notice;")
  add("events { worker_connections 1024; }")
  add("http {")
  add("  access_log " .. p("access.log") .. ";")
  add("  default_type application/octet-stream;")
  for _, t in ipairs({ "client_body", "proxy", "fastcgi", "uwsgi", "scgi" }) do
    add(format("  %s_temp_path %s;", t, p(t .. "_temp")))
  end
  add("  keepalive_requests 10000;")
  add("  client_body_buffer_size 1m;")
  add("  client_max_body_size 16m;")
  add(format('  lua_package_path "%s/lua/?.lua;%s/lua/?/init.lua;;";', root, root))
  add(format('  lua_package_cpath "%s/build/luajit/?.so;;";', root))
  add("  lua_socket_log_errors off;")
  if o.sandbox then
    add('  init_by_lua_block { require("enkash.sandbox.ngx_handler") }')
    add(format('  init_worker_by_lua_block { require("enkash.sandbox.ngx_handler").init("%s") }',
      p("sandbox_opts.json")))
  end
  if o.http_conf ~= "" then add(o.http_conf) end
  add("  server {")
  add(format("    listen 127.0.0.1:%d%s;", port, o.tls and " ssl" or ""))
  add("    server_name localhost;")
  if o.tls then
    add("    ssl_certificate " .. p("server.crt") .. ";")
    add("    ssl_certificate_key " .. p("server.key") .. ";")
    add("    ssl_protocols TLSv1.2 TLSv1.3;")
  end
  if o.sandbox then
    add('    location / { content_by_lua_block { require("enkash.sandbox.ngx_handler").handle() } }')
  end
  if o.server_conf ~= "" then add(o.server_conf) end
  add("  }")
  add("}")
  return concat(lines, "\n") .. "\n"
end

local Server = {}
Server.__index = Server

--- Stop nginx (TERM, then KILL after `M.stop_timeout`), wait for it and its workers to exit,
-- remove the prefix. Idempotent.
-- @treturn boolean true
function Server:stop()
  if self.stopped then return true end
  self.stopped = true
  local pid = self.pid
  if pid and alive(pid) then
    local kids = children(pid)
    run("kill -TERM " .. tostring(pid) .. " 2>/dev/null")
    local deadline = now() + M.stop_timeout
    while alive(pid) and now() < deadline do sleep(0.02) end
    if alive(pid) then run("kill -KILL " .. tostring(pid) .. " 2>/dev/null") end
    for _, k in ipairs(kids) do
      local d = now() + 1
      while alive(k) and now() < d do sleep(0.02) end
      if alive(k) then run("kill -KILL " .. tostring(k) .. " 2>/dev/null") end
    end
    while alive(pid) do sleep(0.02) end
  end
  if self.prefix and not self.keep_prefix then run("rm -rf " .. quote(self.prefix)) end
  return true
end

--- The last lines of the error log.
-- @tparam[opt=15] number n
-- @treturn string
function Server:log_tail(n)
  return tail(self.prefix .. "/error.log", n)
end

Server.__gc = function(self) self:stop() end

local function defaults(opts)
  local o = {
    port = opts.port, tls = opts.tls == true, sandbox = opts.sandbox ~= false,
    sandbox_opts = opts.sandbox_opts or {}, server_conf = opts.server_conf or "",
    http_conf = opts.http_conf or "", workers = opts.workers or 1, foreground = opts.foreground == true,
    on_start = opts.on_start,
  }
  if o.port ~= nil and (type(o.port) ~= "number" or o.port < 1 or o.port > 65535) then
    return nil, "port must be a number in 1-65535"
  end
  if type(o.workers) ~= "number" or o.workers < 1 then return nil, "workers must be a number >= 1" end
  if type(o.sandbox_opts) ~= "table" then return nil, "sandbox_opts must be a table" end
  -- Tests steer the server through the control API, so it is on unless asked otherwise.
  local so = {}
  for k, v in pairs(o.sandbox_opts) do so[k] = v end
  if so.control == nil then so.control = true end
  o.sandbox_opts = so
  return o
end

-- Launch nginx once on `port`; true, or nil + "in use" | error text.
local function launch(srv, o, port, root)
  local prefix = srv.prefix
  local ok, err = write_file(prefix .. "/nginx.conf", conf_text(o, prefix, port, root))
  if not ok then return nil, err end
  os.remove(prefix .. "/error.log")
  local cmd = format("%s -p %s -c %s -e %s", M.nginx_bin, quote(prefix .. "/"),
    quote(prefix .. "/nginx.conf"), quote(prefix .. "/error.log"))
  if o.foreground then
    if accepts(port) then return nil, "in use" end -- before the banner, not after nginx's retries
    srv.port, srv.url = port, (o.tls and "https" or "http") .. "://127.0.0.1:" .. tostring(port)
    if o.on_start then o.on_start(srv) end
    -- Ctrl-C reaches nginx and the shell that runs it: a stop by INT or TERM is a clean end.
    local a, how, code = os.execute(cmd .. " -g 'daemon off;'")
    if type(a) == "number" then -- LuaJIT: the wait status
      how = a % 256 ~= 0 and "signal" or "exit"
      code = how == "signal" and a % 128 or math.floor(a / 256)
    end
    ok = a == true or a == 0 or (how == "signal" and (code == 2 or code == 15))
      or (how == "exit" and (code == 130 or code == 143))
  else
    ok = run(cmd .. " >>" .. quote(prefix .. "/startup.log") .. " 2>&1")
  end
  if ok then return true end
  local log = (read_file(prefix .. "/error.log") or "") .. (read_file(prefix .. "/startup.log") or "")
  if log:find("Address already in use", 1, true) then return nil, "in use" end
  return nil, "nginx failed: " .. tail(prefix .. "/error.log") .. "\n" .. tail(prefix .. "/startup.log", 5)
end

-- Wait until the master wrote its pid, every worker created its sandbox (a ready-<id> file)
-- and the port accepts connections.
local function wait_ready(srv, o)
  local deadline = now() + M.start_timeout
  local prefix = srv.prefix
  while now() < deadline do
    local pid = tonumber(read_file(prefix .. "/nginx.pid") or "")
    if pid then
      srv.pid = pid
      local ready = true
      if o.sandbox then
        for id = 0, o.workers - 1 do
          if not read_file(prefix .. "/ready-" .. id) then ready = false end
        end
      end
      if ready and accepts(srv.port) then return true end
      if not alive(pid) then break end
    end
    sleep(0.02)
  end
  return nil, "nginx did not become ready: " .. tail(prefix .. "/error.log")
end

--- Start nginx.
-- @tparam[opt] table opts port (nil: a free one in 20000-39999), tls (false), sandbox (true),
-- sandbox_opts (for sandbox.new, JSON-serialisable; `control` defaults to true here),
-- server_conf and http_conf (extra directives inside server{} and http{}), workers (1),
-- foreground (false: when true nginx runs
-- with `daemon off` and this returns only when it exits), on_start (function(srv) called in
-- foreground mode just before nginx runs)
-- @treturn table|nil srv {url, port, prefix, ca_file, pid, stop = fn, log_tail = fn}
-- @treturn[opt] string error (with the tail of nginx's error log)
function M.start(opts)
  local o, err = defaults(opts or {})
  if not o then return nil, err end
  local root = repo_root()
  if not root then return nil, "cannot find the repository root from " .. debug.getinfo(1, "S").source end
  if o.sandbox and not read_file(root .. "/build/luajit/enkash/core.so") then
    return nil, "the LuaJIT build of enkash.core is missing (" .. root
      .. "/build/luajit/enkash/core.so): run make core"
  end
  local opts_json = cjson.encode(o.sandbox_opts)
  if not opts_json then return nil, "sandbox_opts must be JSON-serialisable" end
  local prefix = (capture("mktemp -d \"${TMPDIR:-/tmp}/enkash-nginx.XXXXXX\"") or ""):gsub("%s+$", "")
  if prefix == "" then return nil, "mktemp failed" end
  local srv = setmetatable({ prefix = prefix, tls = o.tls, error_log = prefix .. "/error.log" }, Server)
  local ok
  ok, err = write_file(prefix .. "/sandbox_opts.json", opts_json)
  if ok and o.tls then
    ok, err = make_certs(prefix)
    srv.ca_file = prefix .. "/ca.crt"
  end
  if not ok then
    srv:stop()
    return nil, err
  end
  local tries = o.port and 1 or 25
  for _ = 1, tries do
    local port = o.port or random_port()
    if o.port or not accepts(port) then
      srv.port = port
      srv.url = (o.tls and "https" or "http") .. "://127.0.0.1:" .. tostring(port)
      ok, err = launch(srv, o, port, root)
      if ok then
        if o.foreground then
          srv:stop()
          return srv
        end
        ok, err = wait_ready(srv, o)
        if ok then return srv end
        srv:stop()
        return nil, err
      end
      if err ~= "in use" then break end
      err = "port " .. tostring(port) .. " is in use"
    end
  end
  srv:stop()
  return nil, err or "no free port found"
end

return M
