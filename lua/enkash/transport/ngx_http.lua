--- A small HTTP/1.1 client over nginx cosockets: the default engine of the ngx transport.
-- Needs only Debian's nginx + libnginx-mod-http-lua (+ lua-resty-core): every socket
-- operation yields to nginx, so the worker serves other requests meanwhile.
--
--     local http = require "enkash.transport.ngx_http"
--     local res, kind, message = http.request({ method = "GET", url = "https://host/path",
--       headers = {}, timeout = 30, connect_timeout = 5 }, { verify = true })
--     -- res = {status, headers (lower-cased names), body} | nil, kind, message
--
-- - Connections are pooled per scheme, host, port and verification mode (`setkeepalive`).
-- - TLS goes through `sslhandshake` with verification on unless `opts.verify == false`;
--   the CA certificates are nginx's `lua_ssl_trusted_certificate` (a cosocket cannot take a
--   CA file per call), the chain depth `lua_ssl_verify_depth`.
-- - Bodies framed by Content-Length, chunked transfer coding, or the end of the connection,
--   capped at `opts.max_response_bytes` while they arrive; header lines (1xx, final, chunked
--   trailers) capped at `max_header_lines` and `max_header_bytes`, as in the C core.
-- - `timeout` bounds the whole exchange (as libcurl's does), `connect_timeout` the connect:
--   every read is a `receiveany` given the time left, so an answer that drips in a byte at a
--   time cannot stretch it (a cosocket re-arms its timer at each byte of one `receive`).
-- - Work per response is linear in what arrived: lines are cut from buffered reads once,
--   repeated headers joined once.
-- - Failure kinds are the curl transport's: timeout | connect | tls | transport. A request
--   is never sent twice: a reused connection that dies before any answer is a "transport"
--   failure (the request may have been received), as the C core reports it.
-- LuaJIT inside nginx only (it calls `ngx.*`); loading the module elsewhere is harmless.
-- @module enkash.transport.ngx_http

-- luacheck: read globals ngx

local type, tostring, tonumber, pairs = type, tostring, tonumber, pairs
local format, lower, match, find, sub, byte = string.format, string.lower, string.match, string.find,
  string.sub, string.byte
local concat = table.concat
-- A table sized beforehand (LuaJIT's table.new): the headers of an answer, without the
-- rehashes of a table grown one name at a time (inside nginx: 27.8k -> 25.0k instructions a
-- request). Plain Lua has none: an empty table.
local ok_new, new_tab = pcall(require, "table.new")
if not ok_new then new_tab = function() return {} end end
local min, floor = math.min, math.floor

local M = {}

--- Module version.
M._VERSION = "0.1.0"
--- Seconds an idle pooled connection is kept.
M.keepalive_timeout = 30
--- Idle connections kept per pool (per worker).
M.pool_size = 64
--- Default cap on a response body, in bytes (8 MiB, as the curl transport).
M.max_response_bytes = 8 * 1024 * 1024
--- Default User-Agent.
M.user_agent = "enkash-ngx/" .. M._VERSION
--- Most header lines accepted in one response, trailers included (the C core's default).
M.max_header_lines = 200
--- Most bytes of header lines in one response, trailers included (the C core's default).
M.max_header_bytes = 64 * 1024
-- Longest trailer line taken, CRLF included: the C core's (libcurl 7.88's own limit).
local MAX_TRAILER_LINE = 4096
-- Longest chunk-size line read (hex size and extensions).
local MAX_CHUNK_LINE = 1024
-- Bytes asked of one receiveany.
local READ_SIZE = 65536
--- Read a head that came whole in the first read in one pass over it (false: line by line,
-- the general reader, which the specs compare it with).
M.quick_head = true

local DEFAULT_PORT = { http = 80, https = 443 }

--- Split an http(s) URL.
-- @tparam string url
-- @treturn string|nil scheme "http" or "https" (nil: not a URL this client speaks)
-- @treturn string host (IPv6 without brackets)
-- @treturn number port
-- @treturn string path with its query ("/" when empty)
function M.parse_url(url)
  if type(url) ~= "string" then return nil end
  local scheme, rest = match(url, "^(%a[%w+.-]*)://(.*)$")
  scheme = scheme and lower(scheme)
  if scheme ~= "http" and scheme ~= "https" then return nil end
  local authority, path = match(rest, "^([^/?#]*)([^#]*)")
  if not authority or authority == "" or find(authority, "@", 1, true) then return nil end
  local host, port = match(authority, "^%[([%x:.]+)%]:?(%d*)$")
  if not host then host, port = match(authority, "^([^:]+):?(%d*)$") end
  if not host then return nil end
  port = port ~= "" and tonumber(port) or DEFAULT_PORT[scheme]
  if port < 1 or port > 65535 then return nil end
  if path == "" then
    path = "/"
  elseif sub(path, 1, 1) == "?" then
    path = "/" .. path
  end
  return scheme, host, port, path
end

local function is_ip(host)
  return match(host, "^%d+%.%d+%.%d+%.%d+$") ~= nil or find(host, ":", 1, true) ~= nil
end

--- The Host header for a host and port (the port only when it is not the scheme's default).
-- @tparam string scheme
-- @tparam string host
-- @tparam number port
-- @treturn string
function M.host_header(scheme, host, port)
  local h = find(host, ":", 1, true) and ("[" .. host .. "]") or host
  if port ~= DEFAULT_PORT[scheme] then h = h .. ":" .. port end
  return h
end

-- A URL's parts, the Host header and the pool name, worked out once per URL: a client sends
-- to a handful of URLs. A URL with a query is worked out per request and never kept (its
-- query may hold a customer's ids); the rest are bounded all the same: emptied when full.
local targets, ntargets = {}, 0
local MAX_TARGETS = 256

local function target(url)
  local t = targets[url]
  if t then return t end
  local scheme, host, port, path = M.parse_url(url)
  if not scheme then return nil end
  local pool = format("enkash:%s:%s:%d", scheme, host, port)
  t = { scheme = scheme, host = host, port = port, path = path,
        host_header = M.host_header(scheme, host, port),
        -- "localhost" is loopback (RFC 6761); nginx's resolver would need a DNS server for it
        addr = lower(host) == "localhost" and "127.0.0.1" or host,
        pool = scheme == "https" and (pool .. ":verify") or pool,
        pool_noverify = scheme == "https" and (pool .. ":noverify") or pool }
  if find(url, "?", 1, true) then return t end
  if ntargets >= MAX_TARGETS then targets, ntargets = {}, 0 end
  targets[url], ntargets = t, ntargets + 1
  return t
end

local METHOD_OK, nmethods = {}, 0 -- methods already checked (a few, so bounded)

-- The header lines of a headers table (User-Agent included), each ending in CRLF, checked
-- and joined once per table: the pipeline hands one table to every call made with a token.
-- A request re-checks that the table still maps exactly what was joined (a changed table is
-- joined again), so reuse never sends a stale header. Weak keys: the tables come and go.
local joined_headers = setmetatable({}, { __mode = "k" })
local NO_HEADERS = {}

local function header_lines(headers, ua)
  local c = joined_headers[headers]
  if c and c.ua == ua then
    local snap, n = c.snap, 0
    for k, v in pairs(headers) do
      if snap[k] ~= v then
        n = -1
        break
      end
      n = n + 1
    end
    if n == c.n then return c.text end
  end
  local lines, snap, n, has_ua = {}, {}, 0, false
  for k, v in pairs(headers) do
    if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") then
      error("enkash.transport.ngx_http: headers must map names to strings", 4)
    end
    snap[k], n = v, n + 1
    v = tostring(v)
    if find(k, "[%c: ]") or find(v, "[\r\n]") then
      error("enkash.transport.ngx_http: header names and values must not hold line breaks", 4)
    end
    local lk = lower(k)
    -- framing and the connection are this client's business
    if lk ~= "host" and lk ~= "content-length" and lk ~= "transfer-encoding" and lk ~= "connection" then
      if lk == "user-agent" then has_ua = true end
      lines[#lines + 1] = k .. ": " .. v .. "\r\n"
    end
  end
  if not has_ua then lines[#lines + 1] = "User-Agent: " .. ua .. "\r\n" end
  local text = concat(lines)
  joined_headers[headers] = { ua = ua, snap = snap, n = n, text = text }
  return text
end

-- The request's method, header lines and body, checked before anything is connected.
-- Header names and values must not hold line breaks (misuse: raises).
local function request_head(req, opts)
  local method = req.method or "GET"
  if not METHOD_OK[method] then
    if type(method) ~= "string" or not match(method, "^%u+$") then
      error("enkash.transport.ngx_http: method must be an upper-case HTTP method", 3)
    end
    if nmethods < 32 then METHOD_OK[method], nmethods = true, nmethods + 1 end
  end
  local lines = header_lines(req.headers or NO_HEADERS, opts.user_agent or M.user_agent)
  local body = req.body
  if body ~= nil and type(body) ~= "string" then
    error("enkash.transport.ngx_http: body must be a string", 3)
  end
  return method, lines, body
end

-- The request's bytes, joined in one table that serves every request: it is filled and
-- joined at once, with no wait between (a connect waits: another request may fill it then).
-- One string for send: a table of fragments costs cosocket:send a C call per fragment to
-- size and copy them (inside nginx under callgrind: 35.1k -> 26.8k instructions a request).
local out = {}

local function send_request(sock, t, method, lines, body)
  out[1], out[2], out[3], out[4], out[5], out[6], out[7] =
    method, " ", t.path, " HTTP/1.1\r\nHost: ", t.host_header, "\r\n", lines
  if body or method == "POST" or method == "PUT" or method == "PATCH" then
    out[8], out[9], out[10], out[11] = "Content-Length: ", #(body or ""), "\r\n\r\n", body or ""
  else
    out[8], out[9], out[10], out[11] = "", "", "\r\n", ""
  end
  local data = concat(out, "", 1, 11)
  out[7], out[11] = "", "" -- hold no token or body here
  return sock:send(data)
end

-- One exchange's state: the socket, the deadline, the byte budget.
local function remaining_ms(x)
  return floor((x.deadline - ngx.now()) * 1000)
end

local function fail(x, kind, message)
  if x.sock then x.sock:close() end
  x.sock = nil
  return nil, kind, message
end

local function io_fail(x, err, what)
  if err == "timeout" then
    return fail(x, "timeout", format("operation timed out after %d ms while %s",
      floor(x.timeout * 1000), what))
  end
  return fail(x, "transport", what .. " failed: " .. tostring(err))
end

-- Reading: every byte comes from receiveany (given the time left) into x.buf, consumed from
-- x.pos. fill replaces a consumed buffer with the next read.
local function fill(x)
  local left = remaining_ms(x)
  if left <= 0 then return nil, "timeout" end
  x.sock:settimeout(left)
  local data, err = x.sock:receiveany(READ_SIZE)
  if not data then return nil, err end
  x.buf, x.pos = data, 1
  return true
end

local function buffered(x)
  return #x.buf - x.pos + 1
end

-- One line without its CRLF (or LF), of at most `max` bytes (CR included). Each byte is
-- scanned once: a line spread over many reads is kept in parts and joined once.
-- Returns the line, or nil and "timeout" | "closed" | "too long" | a socket error.
local function read_line(x, max)
  local parts, n = nil, 0
  while true do
    local buf, pos = x.buf, x.pos
    local nl = find(buf, "\n", pos, true)
    local len = (nl or #buf + 1) - pos
    if n + len > max then return nil, "too long" end
    if nl then
      local line = sub(buf, pos, nl - 1)
      x.pos = nl + 1
      if parts then
        parts[#parts + 1] = line
        line = concat(parts)
      end
      if byte(line, -1) == 13 then line = sub(line, 1, -2) end
      return line
    end
    if len > 0 then
      parts = parts or {}
      parts[#parts + 1] = pos == 1 and buf or sub(buf, pos)
      n = n + len
    end
    local ok, err = fill(x)
    if not ok then return nil, err end
  end
end

-- buf[i..j] without the spaces and tabs around it: a loop, not a pattern (a pattern such as
-- "(.-)%s*$" is quadratic in a hostile run of spaces).
local function trim(s, i, j)
  while i <= j and (byte(s, i) == 32 or byte(s, i) == 9) do i = i + 1 end
  while j >= i and (byte(s, j) == 32 or byte(s, j) == 9) do j = j - 1 end
  return sub(s, i, j)
end

local function head_too_large(x)
  return fail(x, "transport", format("response headers larger than %d bytes", x.max_head_bytes))
end

local function too_many_lines(x)
  return fail(x, "transport", format("more than %d response header lines", x.max_head_lines))
end

local function too_large(x)
  return fail(x, "transport", "response larger than " .. x.cap .. " bytes")
end

-- The body's budget.
local function spend(x, n)
  x.used = x.used + n
  return x.used <= x.cap
end

-- One header or trailer line within the caps (a trailer line also within MAX_TRAILER_LINE):
-- the line, or nil, kind, message.
local function head_line(x, what, trailer)
  local budget = x.max_head_bytes - x.head_used
  local line, err = read_line(x, trailer and min(budget, MAX_TRAILER_LINE - 1) or budget)
  if not line then
    if err == "too long" and trailer and budget >= MAX_TRAILER_LINE - 1 then
      return fail(x, "transport", format("response trailer line longer than %d bytes", MAX_TRAILER_LINE))
    end
    if err == "too long" then return head_too_large(x) end
    return io_fail(x, err, what)
  end
  x.head_used = x.head_used + #line + 2
  if x.head_used > x.max_head_bytes then return head_too_large(x) end
  if line ~= "" then
    x.head_lines = x.head_lines + 1
    if x.head_lines > x.max_head_lines then return too_many_lines(x) end
  end
  return line
end

-- The headers table from lists of values per name: repeated names joined with ", ", the
-- segments of a folded value with " " (as the C core joins them).
local function joined(lists)
  local headers = {}
  for name, l in pairs(lists) do
    for i = 1, #l do
      if type(l[i]) == "table" then l[i] = concat(l[i], " ") end
    end
    headers[name] = concat(l, ", ")
  end
  return headers
end

-- Header lines up to the blank one, into a table of lower-cased names. Values are listed per
-- name and joined once, at the end: linear however often a name repeats. An obsolete folded
-- line (leading space or tab) continues the previous value.
local function read_headers(x)
  local lists, last = {}, nil -- last: the list of the previous header
  while true do
    local h, kind, message = head_line(x, "reading the response headers")
    if not h then return nil, kind, message end
    if h == "" then break end
    local first = byte(h, 1)
    if first == 32 or first == 9 then
      local more = trim(h, 1, #h)
      if last and more ~= "" then
        local v = last[#last]
        if type(v) ~= "table" then
          v = { v }
          last[#last] = v
        end
        v[#v + 1] = more
      end
    else
      local colon = find(h, ":", 1, true)
      local name = colon and lower(trim(h, 1, colon - 1))
      if name and name ~= "" and not find(name, "[%s%c]") then
        last = lists[name] or {}
        lists[name] = last
        last[#last + 1] = trim(h, colon + 1, #h)
      end
    end
  end
  return joined(lists)
end

-- The failure of a status line that could not be read (err from read_line or fill).
local function status_line_failed(x, err)
  if err == "closed" and x.reused and x.head_used == 0 then
    return fail(x, "transport", "connection closed before a response; the request may have been received")
  end
  if err == "closed" then return fail(x, "transport", "Empty reply from server") end
  if err == "too long" then return head_too_large(x) end
  return io_fail(x, err, "reading the status line")
end

-- Status line and header lines. Returns status, headers, http minor version, or fails.
local function read_head(x)
  while true do
    local line, err = read_line(x, x.max_head_bytes - x.head_used)
    if not line then return status_line_failed(x, err) end
    x.head_used = x.head_used + #line + 2
    local minor, status = match(line, "^HTTP/1%.(%d) (%d%d%d)")
    if not status then return fail(x, "transport", "Unsupported HTTP version in response") end
    status = tonumber(status)
    local headers, kind, message = read_headers(x)
    if not headers then return nil, kind, message end
    -- 1xx answers (100 Continue, 103 Early Hints) precede the real one
    if status >= 200 or status == 101 then return status, headers, tonumber(minor) end
  end
end

-- Header names as sent -> what read_headers makes of them (trimmed, lower-cased; false when
-- no name): a server sends the same few, and the memo spares a trim, a lower and a pattern
-- per line. Bounded: past 64 names, a hostile server's are worked out anew.
local NAMES, nnames = {}, 0

local function header_name(buf, i, j)
  local raw = sub(buf, i, j)
  local name = NAMES[raw]
  if name ~= nil then return name end
  name = lower(trim(buf, i, j))
  if name == "" or find(name, "[%s%c]") then name = false end
  if nnames < 64 then NAMES[raw], nnames = name, nnames + 1 end
  return name
end

local function digit(b)
  return b and b >= 48 and b <= 57 and b - 48 or nil
end

-- The common answer read at once: the whole head in the first read, every line ending in
-- CRLF, no folded line, no 1xx, within the caps. It reads what read_head would, in one pass
-- over the buffer, without a string per line. Returns status, headers, minor; or nil, and
-- read_head reads the same buffer from its first byte (and reports any cap it passes).
-- Linear: the search for a line's colon is kept when it found one in a later line.
local function quick_head(x)
  local buf = x.buf
  local stop = find(buf, "\r\n\r\n", 1, true)
  if not stop or stop + 3 > x.max_head_bytes or sub(buf, 1, 7) ~= "HTTP/1." or byte(buf, 9) ~= 32 then
    return nil
  end
  local minor, d1, d2, d3 = digit(byte(buf, 8)), digit(byte(buf, 10)), digit(byte(buf, 11)),
    digit(byte(buf, 12))
  if not (minor and d1 and d2 and d3) then return nil end
  local status = d1 * 100 + d2 * 10 + d3
  if status < 200 and status ~= 101 then return nil end
  local nl = find(buf, "\n", 13, true)
  if byte(buf, nl - 1) ~= 13 then return nil end
  local headers, lines, repeated, max_lines = new_tab(0, 8), 0, nil, x.max_head_lines
  local pos, colon, last = nl + 1, 0, stop + 1
  while pos <= last do
    nl = find(buf, "\n", pos, true)
    local first = byte(buf, pos)
    if byte(buf, nl - 1) ~= 13 or first == 32 or first == 9 then return nil end
    lines = lines + 1
    if lines > max_lines then return nil end
    if colon < pos then colon = find(buf, ":", pos, true) or #buf + 1 end
    local name = colon < nl and header_name(buf, pos, colon - 1)
    if name then
      -- the value without the spaces and tabs around it; most have one space before
      local i, j = colon + 1, nl - 2
      if byte(buf, i) == 32 then i = i + 1 end
      local bi, bj = byte(buf, i), byte(buf, j)
      local value
      if i <= j and bi ~= 32 and bi ~= 9 and bj ~= 32 and bj ~= 9 then
        value = sub(buf, i, j)
      else
        value = trim(buf, i, j)
      end
      local had = headers[name]
      if had == nil then
        headers[name] = value
      else -- listed, and joined once at the end: linear however often a name repeats
        repeated = repeated or {}
        local l = repeated[name]
        if not l then
          l = { had }
          repeated[name] = l
        end
        l[#l + 1] = value
      end
    end
    pos = nl + 1
  end
  if repeated then
    for name, l in pairs(repeated) do headers[name] = concat(l, ", ") end
  end
  x.pos, x.head_used, x.head_lines = stop + 4, stop + 3, lines
  return status, headers, minor
end

-- Exactly n bytes into parts.
local function read_exact(x, n, parts)
  while n > 0 do
    if buffered(x) == 0 then
      local ok, err = fill(x)
      if not ok then
        if err == "closed" then
          return fail(x, "transport", format("transfer closed with %d bytes remaining to read", n))
        end
        return io_fail(x, err, "reading the response body")
      end
    end
    local take = min(buffered(x), n)
    local pos = x.pos
    parts[#parts + 1] = (pos == 1 and take == #x.buf) and x.buf or sub(x.buf, pos, pos + take - 1)
    x.pos = pos + take
    n = n - take
  end
  return true
end

local function read_chunked(x, parts)
  while true do
    local line, err = read_line(x, MAX_CHUNK_LINE)
    if not line then
      if err == "closed" then
        return fail(x, "transport", "transfer closed with outstanding read data remaining")
      end
      if err == "too long" then return fail(x, "transport", "invalid chunk header in response") end
      return io_fail(x, err, "reading a chunk header")
    end
    local size = tonumber(match(line, "^%s*(%x+)%s*;?") or "", 16)
    if not size then return fail(x, "transport", "invalid chunk header in response") end
    if size == 0 then break end
    if not spend(x, size) then return too_large(x) end
    local ok, kind, message = read_exact(x, size, parts)
    if not ok then return nil, kind, message end
    local crlf
    crlf, err = read_line(x, 1)
    if crlf ~= "" then
      if not crlf and err ~= "too long" then return io_fail(x, err, "reading a chunk") end
      return fail(x, "transport", "invalid chunk ending in response")
    end
  end
  while true do -- trailers, up to the empty line: header lines for the caps
    local line, kind, message = head_line(x, "reading the trailers", true)
    if not line then return nil, kind, message end
    if line == "" then return true end
  end
end

local function read_to_close(x, parts)
  if buffered(x) > 0 then
    local rest = x.pos == 1 and x.buf or sub(x.buf, x.pos)
    x.pos = #x.buf + 1
    parts[#parts + 1] = rest
    if not spend(x, #rest) then return too_large(x) end
  end
  while true do
    local ok, err = fill(x)
    if not ok then
      if err == "closed" then return true end
      return io_fail(x, err, "reading the response body")
    end
    x.pos = #x.buf + 1
    parts[#parts + 1] = x.buf
    if not spend(x, #x.buf) then return too_large(x) end
  end
end

-- The options of sock:connect, kept on the target (connect only reads them).
local function connect_opts(t, verify, size)
  local key = verify and "connect_opts" or "connect_opts_noverify"
  local o = t[key]
  if not o or o.pool_size ~= size then
    o = { pool = verify and t.pool or t.pool_noverify, pool_size = size }
    t[key] = o
  end
  return o
end

local function connect(x, t, opts, req)
  local sock, err = ngx.socket.tcp()
  if not sock then return fail(x, "transport", "no cosocket: " .. tostring(err)) end
  x.sock = sock
  local host, port = t.host, t.port
  local tls = t.scheme == "https"
  local verify = opts.verify ~= false
  local ct = min(tonumber(req.connect_timeout) or opts.connect_timeout or x.timeout, x.timeout)
  sock:settimeout(floor(ct * 1000))
  local ok
  ok, err = sock:connect(t.addr, port, connect_opts(t, verify, opts.pool_size or M.pool_size))
  if not ok then
    if err == "timeout" then
      return fail(x, "timeout", format("connection to %s:%d timed out after %d ms", host, port,
        floor(ct * 1000)))
    end
    return fail(x, "connect", format("cannot connect to %s:%d: %s", host, port, tostring(err)))
  end
  x.reused = (sock:getreusedtimes() or 0) > 0
  if opts.stats then
    local s = opts.stats
    s.requests = (s.requests or 0) + 1
    if not x.reused then s.connects = (s.connects or 0) + 1 end
  end
  if tls and not x.reused then
    local left = remaining_ms(x)
    if left <= 0 then return io_fail(x, "timeout", "the TLS handshake") end
    sock:settimeout(left)
    -- The name is sent as SNI and checked against the certificate (nginx checks DNS names
    -- only): for an IP address the chain is verified, the name is not.
    ok, err = sock:sslhandshake(false, not is_ip(host) and host or nil, verify)
    if not ok then
      if err == "timeout" then return io_fail(x, err, "the TLS handshake") end
      local msg = format("TLS handshake with %s:%d failed: %s", host, port, tostring(err))
      if verify and (find(tostring(err), "certif", 1, true) or find(tostring(err), "verify", 1, true)) then
        msg = msg .. " (the CA must be in nginx's lua_ssl_trusted_certificate)"
      end
      return fail(x, "tls", msg)
    end
  end
  return true
end

--- Send one request and read its answer.
-- @tparam table req {method, url, headers, body, timeout (seconds, whole exchange),
--   connect_timeout (seconds)}
-- @tparam[opt] table opts verify (default true), max_response_bytes (default 8 MiB),
--   max_header_bytes (64 KiB) and max_header_lines (200) of the response's header lines,
--   timeout and connect_timeout (defaults for requests without them; 30 s),
--   user_agent, pool_size, stats (a table whose `requests` and `connects` are counted)
-- @treturn table|nil res {status, headers, body}; header names lower-cased, repeated
--   headers joined with ", "
-- @treturn[opt] string kind timeout | connect | tls | transport
-- @treturn[opt] string message (no header, body or query string in it)
function M.request(req, opts)
  if type(req) ~= "table" then error("enkash.transport.ngx_http.request: req must be a table", 2) end
  opts = opts or {}
  local t = target(req.url)
  if not t then return nil, "transport", "unsupported URL (http:// or https:// with a host)" end
  local timeout = tonumber(req.timeout) or opts.timeout or 30
  if timeout <= 0 then error("enkash.transport.ngx_http.request: timeout must be > 0", 2) end
  local method, lines, body = request_head(req, opts)
  local x = { timeout = timeout, deadline = ngx.now() + timeout, used = 0, head_used = 0,
              head_lines = 0, buf = "", pos = 1,
              cap = opts.max_response_bytes or M.max_response_bytes,
              max_head_bytes = opts.max_header_bytes or M.max_header_bytes,
              max_head_lines = opts.max_header_lines or M.max_header_lines }
  local ok, kind, message = connect(x, t, opts, req)
  if not ok then return nil, kind, message end

  local left = remaining_ms(x)
  if left <= 0 then return io_fail(x, "timeout", "sending the request") end
  x.sock:settimeout(left)
  local sent, err = send_request(x.sock, t, method, lines, body)
  if not sent then
    if err == "timeout" then return io_fail(x, err, "sending the request") end
    return fail(x, "transport", "sending the request failed: " .. tostring(err))
  end

  ok, err = fill(x)
  if not ok then return status_line_failed(x, err) end
  local status, headers, minor
  if M.quick_head then status, headers, minor = quick_head(x) end
  if not status then
    status, headers, minor = read_head(x)
    if not status then return nil, headers, minor end
  end

  local parts = {}
  local reusable = true
  local conn = headers["connection"]
  conn = conn and lower(conn) or ""
  if find(conn, "close", 1, true) or (minor == 0 and not find(conn, "keep-alive", 1, true)) then
    reusable = false
  end
  local no_body = req.method == "HEAD" or status == 204 or status == 304 or status < 200
  if not no_body then
    local te = headers["transfer-encoding"]
    local cl = headers["content-length"]
    if te and find(lower(te), "chunked", 1, true) then
      ok, kind, message = read_chunked(x, parts)
    elseif cl then
      local n = tonumber(match(cl, "^%d+$") or "")
      if not n then return fail(x, "transport", "invalid Content-Length in response") end
      if not spend(x, n) then return too_large(x) end
      ok, kind, message = read_exact(x, n, parts)
    else
      reusable = false
      ok, kind, message = read_to_close(x, parts)
    end
    if not ok then return nil, kind, message end
  end
  if buffered(x) > 0 then reusable = false end -- bytes past the answer: the stream is off
  if reusable then
    local kept = x.sock:setkeepalive(floor(M.keepalive_timeout * 1000))
    if not kept then x.sock:close() end
  else
    x.sock:close()
  end
  x.sock = nil
  return { status = status, headers = headers, body = parts[2] == nil and (parts[1] or "") or concat(parts) }
end

--- The error kind of a cosocket or resty.http error string (for adapters).
-- @tparam string err e.g. "timeout", "connection refused", "certificate verify failed"
-- @treturn string timeout | tls | connect | transport
function M.kind_of(err)
  err = tostring(err)
  if err == "timeout" or find(err, "timed out", 1, true) then return "timeout" end
  if find(err, "handshake", 1, true) or find(err, "certificate", 1, true) or find(err, "ssl", 1, true) then
    return "tls"
  end
  if find(err, "refused", 1, true) or find(err, "resolve", 1, true) or find(err, "not found", 1, true)
    or find(err, "unreachable", 1, true) then
    return "connect"
  end
  return "transport"
end

return M
