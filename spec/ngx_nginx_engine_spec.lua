-- enkash.transport.ngx_http's fast paths against its general ones, over a scripted stand-in
-- for nginx's cosocket (plain Lua: the engine touches `ngx` only when called):
-- - the one-pass head reader (a head whole in the first read) answers exactly as the line
--   reader does, for generated answers: repeated, folded, odd and bare-LF header lines, 1xx,
--   HTTP/1.0, Content-Length, chunked and to-close bodies, the header caps at and past their
--   limit, every answer also cut into reads of random sizes;
-- - the request bytes built from cached parts are the bytes of the plain builder, and a
--   headers table changed between two requests sends its new contents.
-- The engine inside real nginx is spec/ngx_nginx_transport_spec.lua and
-- spec/ngx_nginx_hostile_spec.lua.

-- A cosocket that answers `reads` (a list of strings) one receiveany at a time, then
-- "closed"; it records what was sent and whether it was kept alive or closed.
local function fake_socket(reads, reused)
  local s = { sent = {}, fate = nil, i = 0 }
  function s.settimeout() end
  function s.connect() return 1 end
  function s.getreusedtimes() return reused and 1 or 0 end
  function s.send(_, data)
    local function flat(d)
      if type(d) == "table" then
        for _, v in ipairs(d) do flat(v) end
      else
        s.sent[#s.sent + 1] = tostring(d)
      end
    end
    flat(data)
    return 1
  end
  function s.receiveany(_, max)
    s.i = s.i + 1
    local r = reads[s.i]
    if r == nil then return nil, "closed" end
    assert(#r <= max)
    return r
  end
  function s.setkeepalive() s.fate = "kept" return 1 end
  function s.close() s.fate = s.fate or "closed" return 1 end
  return s
end

local saved_ngx
local http

local function with_socket(sock)
  _G.ngx = { now = function() return 1000 end, socket = { tcp = function() return sock end } }
end

setup(function()
  saved_ngx = rawget(_G, "ngx")
  package.loaded["enkash.transport.ngx_http"] = nil
  http = require "enkash.transport.ngx_http"
end)

teardown(function()
  _G.ngx = saved_ngx
  http.quick_head = true
end)

local REQ_URL = "http://127.0.0.1:8080/api/v1/x"

-- One exchange: the result (res or {kind, message}), the socket's fate, the bytes sent.
local function exchange(reads, quick, opts, req)
  http.quick_head = quick
  local sock = fake_socket(reads, opts and opts.reused)
  with_socket(sock)
  local res, kind, message = http.request(req or { method = "GET", url = REQ_URL, timeout = 5 }, opts)
  local out = res and { status = res.status, headers = res.headers, body = res.body }
    or { kind = kind, message = message }
  return out, sock.fate, table.concat(sock.sent)
end

-- Cut `s` into reads: whole, or at random points (some of one byte).
local function cut(s, rnd)
  if not rnd then return { s } end
  local reads, i = {}, 1
  while i <= #s do
    local n = rnd(3) == 1 and 1 or rnd(64)
    reads[#reads + 1] = s:sub(i, i + n - 1)
    i = i + n
  end
  return reads
end

-- A small deterministic generator (Park-Miller: exact in doubles, so the same answers on
-- every run and under both interpreters).
local function generator(seed)
  local x = seed
  return function(n)
    x = (x * 16807) % 2147483647
    return x % n + 1
  end
end

local NAMES = { "Content-Type", "X-Request-Id", "Set-Cookie", "server", "X-A", "x-a", "Cache-Control",
  "Connection", " Spaced", "Bad Name", "Tab\tName", "", "X-Empty" }
local VALUES = { "application/json", "  padded  ", "", "a, b", "\tq", "v:with:colons", "keep-alive",
  "close", "x\ry" }

-- One generated answer: status line, header lines in various shapes, a framed body.
local function answer(rnd)
  local lines = {}
  local eol = rnd(20) == 1 and "\n" or "\r\n"
  if rnd(8) == 1 then lines[#lines + 1] = "HTTP/1.1 100 Continue\r\n\r\n" end
  local version = ({ "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.x" })[rnd(6)]
  local status = ({ 200, 200, 201, 204, 304, 404, 500, 101, 199 })[rnd(9)]
  lines[#lines + 1] = version .. " " .. status .. (rnd(3) == 1 and "" or " Reason Phrase") .. eol
  for _ = 1, rnd(12) - 1 do
    local shape = rnd(24)
    local name, value = NAMES[rnd(#NAMES)], VALUES[rnd(#VALUES)]
    if shape == 1 then
      lines[#lines + 1] = (rnd(2) == 1 and " " or "\t") .. "folded part" .. eol
    elseif shape == 2 then
      lines[#lines + 1] = "no colon here" .. eol
    elseif shape == 3 then
      lines[#lines + 1] = name .. " : " .. value .. "\n"
    else
      lines[#lines + 1] = name .. ":" .. value .. eol
    end
  end
  local body = ("b"):rep(rnd(40) - 1)
  local framing = rnd(4)
  if framing == 1 then
    lines[#lines + 1] = "Content-Length: " .. #body .. eol .. eol .. body
  elseif framing == 2 then
    lines[#lines + 1] = "Transfer-Encoding: chunked" .. eol .. eol
    if #body > 0 then lines[#lines + 1] = ("%x\r\n%s\r\n"):format(#body, body) end
    lines[#lines + 1] = "0\r\n" .. (rnd(3) == 1 and "X-Trailer: t\r\n" or "") .. "\r\n"
  elseif framing == 3 then
    lines[#lines + 1] = "Content-Length: " .. (#body + rnd(5) - 3) .. eol .. eol .. body
  else
    lines[#lines + 1] = eol .. body
  end
  return table.concat(lines)
end

describe("enkash.transport.ngx_http's one-pass head reader", function()
  it("answers as the line reader does, for 6,000 generated answers read whole or in pieces", function()
    local rnd = generator(20261202)
    -- count the answers the one-pass reader took (it returns nil for the line reader's)
    local quick_taken, slot, quick = 0, nil, nil
    for i = 1, math.huge do
      local name, f = debug.getupvalue(http.request, i)
      if not name then break end
      if name == "quick_head" then slot, quick = i, f end
    end
    assert.is_function(quick)
    debug.setupvalue(http.request, slot, function(x)
      local status, headers, minor = quick(x)
      if status then quick_taken = quick_taken + 1 end
      return status, headers, minor
    end)
    for i = 1, 3000 do
      local wire = answer(rnd)
      for _, pieces in ipairs({ false, true }) do
        local reads = cut(wire, pieces and rnd)
        local reused = rnd(2) == 1
        local a, fate_a = exchange(reads, true, { reused = reused })
        local b, fate_b = exchange(reads, false, { reused = reused })
        assert.same(b, a, ("answer %d (%s): %q"):format(i, pieces and "in pieces" or "whole", wire))
        assert.equal(fate_b, fate_a, ("answer %d: %q"):format(i, wire))
      end
    end
    debug.setupvalue(http.request, slot, quick)
    assert.is_true(quick_taken > 300, "the one-pass reader took " .. quick_taken .. " answers")
  end)

  it("keeps the header caps exactly: at the limit, one past it, in lines and in bytes", function()
    for _, max_lines in ipairs({ 1, 5, 200 }) do
      for extra = -1, 1 do
        local n = max_lines + extra
        local lines = { "HTTP/1.1 200 OK\r\n" }
        for k = 1, n - 1 do lines[#lines + 1] = "X-H" .. k .. ": v\r\n" end
        lines[#lines + 1] = "Content-Length: 2\r\n\r\nok"
        local wire = table.concat(lines)
        local a = exchange({ wire }, true, { max_header_lines = max_lines })
        local b = exchange({ wire }, false, { max_header_lines = max_lines })
        assert.same(b, a)
        if extra > 0 then
          assert.equal("more than " .. max_lines .. " response header lines", a.message)
        else
          assert.equal(200, a.status)
        end
      end
    end
    local wire = "HTTP/1.1 200 OK\r\nX-Pad: " .. ("p"):rep(100) .. "\r\nContent-Length: 0\r\n\r\n"
    local head = #wire
    for max = head - 2, head + 1 do
      local a = exchange({ wire }, true, { max_header_bytes = max })
      local b = exchange({ wire }, false, { max_header_bytes = max })
      assert.same(b, a, "max_header_bytes " .. max)
      if max < head then
        assert.equal("response headers larger than " .. max .. " bytes", a.message)
      else
        assert.equal(200, a.status)
      end
    end
  end)

  it("joins repeated headers once, in order, and keeps the connection only when it may", function()
    local wire = "HTTP/1.1 200 OK\r\nSet-Cookie: a\r\nset-cookie:  b \r\nSET-COOKIE: c\r\n"
      .. "Content-Length: 3\r\n\r\nabc"
    local a, fate = exchange({ wire }, true)
    assert.equal("a, b, c", a.headers["set-cookie"])
    assert.equal("abc", a.body)
    assert.equal("kept", fate)
    local _, fate2 = exchange({ wire .. "extra" }, true)
    assert.equal("closed", fate2) -- bytes past the answer: the stream is off
    local _, fate3 = exchange({ "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n" }, true)
    assert.equal("closed", fate3)
    local _, fate4 = exchange({ "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n" },
      true)
    assert.equal("kept", fate4)
  end)
end)

-- The request bytes as the engine wrote them before its head was built from cached parts.
local function plain_head(req, user_agent)
  local method = req.method or "GET"
  local path = req.url:match("^https?://[^/]+(.*)$")
  if path == "" then path = "/" end
  local host = req.url:match("^https?://([^/]+)")
  local lines = { method .. " " .. path .. " HTTP/1.1", "Host: " .. host }
  local has_ua = false
  for k, v in pairs(req.headers or {}) do
    local lk = k:lower()
    if lk ~= "host" and lk ~= "content-length" and lk ~= "transfer-encoding" and lk ~= "connection" then
      if lk == "user-agent" then has_ua = true end
      lines[#lines + 1] = k .. ": " .. tostring(v)
    end
  end
  if not has_ua then lines[#lines + 1] = "User-Agent: " .. user_agent end
  if req.body or method == "POST" or method == "PUT" or method == "PATCH" then
    lines[#lines + 1] = "Content-Length: " .. #(req.body or "")
  end
  return table.concat(lines, "\r\n") .. "\r\n\r\n" .. (req.body or "")
end

describe("enkash.transport.ngx_http's request head from cached parts", function()
  local OK = { "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" }

  it("writes the plain builder's bytes, and a changed headers table's new contents", function()
    local headers = { partnerId = "P1", Authorization = "Bearer t1", ["Content-Type"] = "application/json",
                      Accept = "application/json" }
    local reqs = {
      { method = "POST", url = REQ_URL, headers = headers, body = '{"a":1}' },
      { method = "POST", url = REQ_URL, headers = headers, body = "" },
      { method = "GET", url = REQ_URL .. "?q=1&r=2", headers = headers },
      { method = "PUT", url = "http://localhost/p", headers = headers },
      { method = "DELETE", url = "http://[::1]:9000/d", headers = {} },
      { method = "GET", url = "http://127.0.0.1:8080", headers = { ["User-Agent"] = "mine", Host = "ignored",
                                                               Connection = "close", n = 42 } },
    }
    for round = 1, 3 do
      for i, req in ipairs(reqs) do
        req.timeout = 5
        local _, _, sent = exchange(OK, true, { user_agent = "ua/" .. round }, req)
        assert.equal(plain_head(req, "ua/" .. round), sent, ("round %d request %d"):format(round, i))
      end
      -- the same table, changed: a new token, a header added, one removed
      headers.Authorization = "Bearer t" .. (round + 1)
      headers["X-Round"] = tostring(round)
      if round == 2 then headers.Accept = nil end
    end
  end)

  it("sends each request's own bytes when requests interleave (a connect or a send waits)", function()
    for _, waits in ipairs({ "connect", "send" }) do
      local socks = {}
      _G.ngx = { now = function() return 1000 end, socket = { tcp = function()
        local sock = fake_socket(OK)
        local real = sock[waits]
        sock[waits] = function(...) -- a send waits after nginx copied its data, as nginx's does
          local r = waits == "send" and real(...) or nil
          coroutine.yield()
          return r or real(...)
        end
        socks[#socks + 1] = sock
        return sock
      end } }
      http.quick_head = true
      local reqs = {
        { method = "POST", url = REQ_URL, headers = { A = "1" }, body = "first", timeout = 5 },
        { method = "PUT", url = REQ_URL .. "/2", headers = { B = "2" }, body = "the second body", timeout = 5 },
      }
      local runs, results = {}, {}
      for i, req in ipairs(reqs) do
        runs[i] = coroutine.wrap(function() results[i] = http.request(req, { user_agent = "ua" }) end)
      end
      runs[1]() -- up to its wait
      runs[2]()
      runs[1]()
      runs[2]()
      for i, req in ipairs(reqs) do
        assert.equal(plain_head(req, "ua"), table.concat(socks[i].sent), waits .. " waits: request " .. i)
        assert.equal(200, results[i].status)
      end
    end
  end)

  it("keeps no URL with a query (it may hold a customer's ids) among the URLs it remembers", function()
    local req = { method = "GET", url = REQ_URL .. "?mobileNumber=9674603714", timeout = 5 }
    exchange(OK, true, nil, req)
    local target
    for i = 1, math.huge do
      local name, f = debug.getupvalue(http.request, i)
      if not name then break end
      if name == "target" then target = f end
    end
    assert.is_function(target)
    local kept
    for i = 1, math.huge do
      local name, v = debug.getupvalue(target, i)
      if not name then break end
      if name == "targets" then kept = v end
    end
    assert.is_table(kept)
    assert.is_truthy(kept[REQ_URL], "a URL without a query is kept")
    for url in pairs(kept) do assert.is_nil(url:find("?", 1, true), url) end
  end)

  it("still refuses a header with a line break, also in a table it sent before", function()
    local headers = { A = "1" }
    local req = { method = "GET", url = REQ_URL, headers = headers, timeout = 5 }
    exchange(OK, true, nil, req)
    headers.A = "1\r\nInjected: yes"
    assert.has_error(function() exchange(OK, true, nil, req) end,
      "enkash.transport.ngx_http: header names and values must not hold line breaks")
    headers.A = nil
    headers["B:C"] = "x"
    assert.has_error(function() exchange(OK, true, nil, req) end,
      "enkash.transport.ngx_http: header names and values must not hold line breaks")
  end)
end)
