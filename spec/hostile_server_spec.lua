-- Hostile HTTP answers at the curl transport (core.http, core.multi, enkash.transport.curl
-- and a client over them), from a real nginx on 127.0.0.1 writing raw bytes: every
-- per-response cost is capped and linear, a cap stops the transfer at once with a clear
-- error (never "Out of memory"), the body cap holds while the body arrives, the timeout bounds
-- a dripping answer, and only the number 0 or the string "0" is a success code.
-- No assertion on wall time: each case asserts what came back, and counts what the server
-- managed to send where that proves the transfer was cut short.
-- spec/ngx_nginx_hostile_spec.lua replays the same answers (HOSTILE below) through the ngx
-- transport inside nginx.
local cjson = require "cjson"
local core = require "enkash.core"
local enkash = require "enkash"
local nginx = require "enkash.sandbox.nginx"
local curl = require "enkash.transport.curl"
local fx = require "helpers.fixtures"

local MAX_HEADER_BYTES, MAX_HEADER_LINES = 65536, 200

-- The hostile answers, raw over the client's socket. /h?what=W&n=N[&tag=T] answers W with
-- size N; with tag, the bytes the server managed to send are kept under T at /sent?tag=T.
-- Every answer says Connection: close, so no case leaves a half-read connection behind.
-- spec/ngx_nginx_hostile_spec.lua reads this string from this file: keep the markers.
local HOSTILE = [==[
  location = /h {
    content_by_lua_block {
      local a = ngx.req.get_uri_args()
      local what, n = a.what, tonumber(a.n) or 0
      ngx.req.read_body()
      local sock = ngx.req.socket(true)
      local sent = 0
      local function send(s)
        local ok = sock:send(s)
        if ok then sent = sent + #s end
        return ok
      end
      -- count copies of unit, sent in blocks of about 64 KiB
      local function many(unit, count)
        local per = math.max(1, math.floor(65536 / #unit))
        local block = unit:rep(per)
        while count >= per do
          if not send(block) then return false end
          count = count - per
        end
        return send(unit:rep(count))
      end
      local OK = "HTTP/1.1 200 OK\r\nConnection: close\r\n"
      local ENV = '{"response_code":0,"response_message":"Success","payload":{"status":"Bound"}}'
      local CHUNKED = OK .. "Transfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n"
        .. string.format("%x\r\n%s\r\n0\r\n", #ENV, ENV)
      local function length(body) return "Content-Length: " .. #body .. "\r\n\r\n" .. body end
      if what == "lines" then -- n header lines in all (n - 2 of them X-H)
        if send(OK) and many("X-H: v\r\n", n - 2) then send(length(ENV)) end
      elseif what == "join" then -- n repeats of one name, a folded header, mixed case
        local parts = { OK }
        for i = 1, n do parts[#parts + 1] = "x-Rep: " .. i .. "\r\n" end
        parts[#parts + 1] = "X-Fold: a\r\n  b \r\n\tc\r\nX-Empty:\r\n" .. length(ENV)
        send(table.concat(parts))
      elseif what == "big" then -- one header of n bytes
        if send(OK .. "X-Big: ") and many("a", n) then send("\r\n" .. length(ENV)) end
      elseif what == "longstatus" then -- a status line of n bytes
        if send("HTTP/1.1 200 ") and many("a", n) then send("\r\nConnection: close\r\n" .. length(ENV)) end
      elseif what == "continues" then -- n 100 Continue blocks of one header line each
        if many("HTTP/1.1 100 Continue\r\nX-C: v\r\n\r\n", n) then send(OK .. length(ENV)) end
      elseif what == "trailers" then -- a chunked envelope, then n trailer lines
        if send(CHUNKED) and many("X-T: v\r\n", n) then send("\r\n") end
      elseif what == "bigtrailer" then -- one trailer line of n bytes
        if send(CHUNKED .. "X-T: ") and many("t", n) then send("\r\n\r\n") end
      elseif what == "body" then -- n bytes framed by the end of the connection
        if send(OK .. "\r\n") then many("b", n) end
      elseif what == "length" then -- n bytes announced by Content-Length
        if send(OK .. "Content-Length: " .. n .. "\r\n\r\n") then many("b", n) end
      elseif what == "chunks" then -- n bytes in chunks of 64 KiB
        if send(OK .. "Transfer-Encoding: chunked\r\n\r\n") then
          local block = string.format("%x\r\n%s\r\n", 65536, ("c"):rep(65536))
          for _ = 1, math.ceil(n / 65536) do
            if not send(block) then break end
          end
          send("0\r\n\r\n")
        end
      elseif what == "drip" or what == "drip_head" then -- a byte every 50 ms, n bytes
        local head = what == "drip" and (OK .. "Content-Length: " .. n .. "\r\n\r\n") or "HTTP/1.1 200 OK\r\nX-D: "
        if send(head) then
          for _ = 1, n do
            ngx.sleep(0.05)
            if not send(what == "drip" and "d" or "x") then break end
          end
        end
      elseif what == "redirect" then -- a 302 carrying a success envelope
        send("HTTP/1.1 302 Found\r\nConnection: close\r\nLocation: http://elsewhere.invalid/\r\n"
          .. "Content-Type: application/json\r\n" .. length(ENV))
      elseif what == "code" then -- an envelope whose response_code is CODES[n], raw JSON
        send(OK .. "Content-Type: application/json\r\n" .. length('{"response_code":' .. CODES[n]
          .. ',"response_message":"Success","payload":{"status":"Bound"}}'))
      end
      if a.tag then ngx.shared.hostile:set(a.tag, sent) end
      ngx.exit(444)
    }
  }
  location = /sent { content_by_lua_block { ngx.print(ngx.shared.hostile:get(ngx.var.arg_tag) or "") } }
]==]

-- The response_code values served by what=code (n: the index), raw JSON: only the first two
-- are success.
local CODES = { "0", '"0"', '"0x0"', '" 0"', '"0.0"', '"-0"', "true", '""', '"0 "', '"00"', '"+0"',
                '"0e0"', '"nan"', '"inf"', "null", "[0]", '{"0":0}', "false", '"0\\u0000"', "1e400",
                "1", '"1"', '"412"', "-1" }
local GOOD, BAD, FAILED = { 1, 2 }, {}, { 21, 22, 23, 24 }
for i = 3, 20 do BAD[#BAD + 1] = i end

-- A client's answers by path prefix: /as/<what>/oauth/token a token (2 MiB long for
-- what = "bigtoken"), /as/<what><n>/<api path> the hostile answer `what` of size n.
local AS_CLIENT = [==[
  location ~ ^/as/(?<what>[^/]+)/oauth/token$ {
    content_by_lua_block {
      local n = ngx.var.what == "bigtoken" and 2 * 1024 * 1024 or 16
      ngx.header["Content-Type"] = "application/json"
      ngx.print('{"access_token":"' .. ("k"):rep(n) .. '","token_type":"bearer","expires_in":3600}')
    }
  }
  location ~ ^/as/(?<what>[^/]+)/ {
    content_by_lua_block {
      if ngx.var.what == "bigtoken" then
        ngx.header["Content-Type"] = "application/json"
        return ngx.print('{"response_code":0,"payload":{"status":"Bound"}}')
      end
      local what, n = ngx.var.what:match("^(%a+)(%d*)$")
      return ngx.exec("/h", { what = what, n = n })
    }
  }
]==]

local function start()
  return assert(nginx.start { sandbox = false, server_conf = HOSTILE .. AS_CLIENT,
    http_conf = "lua_shared_dict hostile 1m;\n  init_by_lua_block { CODES = require('cjson').decode([=["
      .. cjson.encode(CODES) .. "]=]) }" })
end

-- The hostile answers and what each must come back as: {what, n, kind, message}. Sizes are
-- those of the issue (800k trailer lines, 10k header lines, a 1 MB header) and their
-- siblings: the same floods in 1xx blocks and trailers, one line over our cap but under
-- libcurl's 100 KiB, a status line too long, exactly at and one past the line cap.
local LINES_MSG = "more than " .. MAX_HEADER_LINES .. " response header lines"
local BYTES_MSG = "response headers larger than " .. MAX_HEADER_BYTES .. " bytes"
local TRAILER_MSG = "response trailer line longer than 4096 bytes"
local CAPPED = {
  { "trailers", 800000, LINES_MSG },
  { "lines", 10000, LINES_MSG },
  { "big", 1000000, BYTES_MSG },        -- over libcurl's own 100 KiB: its "Out of memory", mapped
  { "big", 70000, BYTES_MSG },          -- under libcurl's limit, over ours: on_header
  { "lines", MAX_HEADER_LINES + 1, LINES_MSG },
  { "continues", 1000, LINES_MSG },     -- the lines of 1xx blocks count too
  { "bigtrailer", 100000, TRAILER_MSG }, -- libcurl's own "Out of memory in chunked-encoding"
  { "bigtrailer", 4090, TRAILER_MSG },   -- just past that limit (ours too, for any libcurl)
  { "longstatus", 200000, BYTES_MSG },
  { "trailers", 100000, LINES_MSG },
}

local function url(srv, what, n, extra)
  return srv.url .. "/h?what=" .. what .. "&n=" .. tostring(n) .. (extra or "")
end

-- The bytes the server had sent when the answer tagged `tag` ended (it ends when the client
-- closes: its next send fails).
local function sent(srv, tag)
  local h = core.http { timeout = 5 }
  for _ = 1, 200 do
    local res = assert(h:request { url = srv.url .. "/sent?tag=" .. tag })
    if res.body ~= "" then
      h:close()
      return tonumber(res.body)
    end
    core.sleep(0.025)
  end
  h:close()
  error("the server never finished the answer tagged " .. tag)
end

-- One request through core.multi; returns res | nil, message, kind as h:request does.
local function via_multi(opts, req)
  local m = core.multi(opts)
  local id = m:add(req)
  local c = m:wait(30)[1]
  m:close()
  assert(c and c.id == id, "no completion")
  if c.res then return c.res end
  return nil, c.message, c.kind
end

local tried = 0 -- hostile cases tried, printed at the end: the closing note counts them

describe("hostile answers at the curl transport", function()
  local srv

  setup(function() srv = start() end)
  teardown(function() if srv then srv:stop() end end)

  it("caps header lines and bytes, in every header block, and stops at once", function()
    local h = core.http { timeout = 20 }
    for _, c in ipairs(CAPPED) do
      local what, n, want = c[1], c[2], c[3]
      for _, path in ipairs({ "http", "multi" }) do
        local res, msg, kind
        if path == "http" then
          res, msg, kind = h:request { url = url(srv, what, n) }
        else
          res, msg, kind = via_multi({ timeout = 20 }, { url = url(srv, what, n) })
        end
        tried = tried + 1
        local label = path .. " " .. what .. " " .. n
        assert.is_nil(res, label)
        assert.equal("transport", kind, label)
        assert.equal(want, msg, label)
      end
    end
    h:close()
  end)

  it("takes what is under the caps, joins repeated headers once, in order", function()
    local h = core.http { timeout = 20 }
    local res = assert(h:request { url = url(srv, "lines", MAX_HEADER_LINES) })
    assert.equal(200, res.status)
    assert.equal(MAX_HEADER_LINES - 2, #res.headers["x-h"]:gsub("[^v]", ""))
    res = assert(h:request { url = url(srv, "big", 60000) })
    assert.equal(60000, #res.headers["x-big"])
    res = assert(h:request { url = url(srv, "trailers", 100) })
    assert.equal(("v, "):rep(99) .. "v", res.headers["x-t"]) -- trailers are headers too
    res = assert(h:request { url = url(srv, "bigtrailer", 4000) })
    assert.equal(4000, #res.headers["x-t"])
    res = assert(h:request { url = url(srv, "join", 150) })
    local want = {}
    for i = 1, 150 do want[i] = tostring(i) end
    assert.equal(table.concat(want, ", "), res.headers["x-rep"])
    assert.equal("a b c", res.headers["x-fold"])
    assert.equal("", res.headers["x-empty"])
    assert.equal("close", res.headers["connection"])
    h:close()
    tried = tried + 5
  end)

  it("takes its caps as options, checked", function()
    local h = core.http { timeout = 20, max_header_lines = 5, max_header_bytes = 1000 }
    local res, msg, kind = h:request { url = url(srv, "lines", 5) }
    assert.same({ 200, nil, nil }, { res and res.status, kind, msg })
    res, msg, kind = h:request { url = url(srv, "lines", 6) }
    assert.same({ nil, "transport", "more than 5 response header lines" }, { res, kind, msg })
    res, msg, kind = h:request { url = url(srv, "big", 1000) }
    assert.same({ nil, "transport", "response headers larger than 1000 bytes" }, { res, kind, msg })
    h:close()
    res, msg, kind = via_multi({ max_header_lines = 5 }, { url = url(srv, "lines", 6) })
    assert.same({ nil, "transport", "more than 5 response header lines" }, { res, kind, msg })
    tried = tried + 4
    for _, bad in ipairs({ 0, -1, 1.5, 0 / 0, 1 / 0, 65537, "64", true }) do
      assert.has_error(function() core.http { max_header_bytes = bad } end)
      assert.has_error(function() core.multi { max_header_lines = bad == 65537 and 10001 or bad } end)
    end
  end)

  it("refuses request headers libcurl would report as out of memory, before sending", function()
    local h = core.http { timeout = 20 }
    for _, n in ipairs({ 70000, 1100000, 4 * 1024 * 1024 }) do
      local big = { Authorization = "Bearer " .. ("t"):rep(n) }
      local res, msg, kind = h:request { url = url(srv, "code", 1, "&tag=req" .. n), headers = big }
      assert.is_nil(res)
      assert.same({ nil, "validation", "request URL and headers larger than 65536 bytes" }, { res, kind, msg })
      res, msg, kind = via_multi({}, { url = url(srv, "code", 1), headers = big })
      assert.same({ nil, "validation", "request URL and headers larger than 65536 bytes" }, { res, kind, msg })
      res, msg, kind = h:request { url = url(srv, "code", 1, "&x=" .. ("q"):rep(n)) }
      assert.same({ nil, "validation", "request URL and headers larger than 65536 bytes" }, { res, kind, msg })
      tried = tried + 3
    end
    -- nothing was sent: the server never saw the first request
    assert.equal("", assert(h:request { url = srv.url .. "/sent?tag=req70000" }).body)
    h:close()
  end)

  it("holds the body cap while the body arrives, with or without a length", function()
    local cap = 1024 * 1024
    local offered = 64 * 1024 * 1024
    for i, what in ipairs({ "body", "length", "chunks" }) do
      for _, path in ipairs({ "http", "multi" }) do
        local tag = path .. i
        local req = { url = url(srv, what, offered, "&tag=" .. tag) }
        local res, msg, kind
        if path == "http" then
          local h = core.http { max_response_bytes = cap, timeout = 30 }
          res, msg, kind = h:request(req)
          h:close()
        else
          res, msg, kind = via_multi({ max_response_bytes = cap, timeout = 30 }, req)
        end
        tried = tried + 1
        assert.is_nil(res)
        assert.same({ nil, "transport", "response larger than " .. cap .. " bytes" }, { res, kind, msg })
        -- the transfer stopped near the cap: the server could not send the rest (socket
        -- buffers hold a few MB at most)
        local n = sent(srv, tag)
        assert.is_true(n < offered / 4, what .. " sent " .. n)
      end
    end
  end)

  it("gives up on an answer that drips in past the timeout", function()
    for _, what in ipairs({ "drip", "drip_head" }) do
      for _, path in ipairs({ "http", "multi" }) do
        local tag = path .. what
        local req = { url = url(srv, what, 100, "&tag=" .. tag) }
        local res, _, kind
        if path == "http" then
          local h = core.http { timeout = 0.4 }
          res, _, kind = h:request(req)
          h:close()
        else
          res, _, kind = via_multi({ timeout = 0.4 }, req)
        end
        tried = tried + 1
        assert.is_nil(res)
        assert.equal("timeout", kind)
        -- cut short: the whole answer is 159 (drip) or 122 (drip_head) bytes; a 0.4 s timeout
        -- lets about 8 of the 100 dripped ones through
        local n = sent(srv, tag)
        assert.is_true(n < 110, what .. " sent " .. n)
      end
    end
  end)

  it("reports caps through enkash.transport.curl as errors with kind and message", function()
    local t = curl.new { timeout = 20, connect_timeout = 5, max_response_bytes = 4096, verify = true }
    local res, err = t:request { method = "GET", url = url(srv, "trailers", 800000) }
    assert.is_nil(res)
    assert.same({ nil, "transport", LINES_MSG }, { res, err.kind, err.message })
    res, err = t:request { method = "GET", url = url(srv, "body", 100000) }
    assert.same({ nil, "transport", "response larger than 4096 bytes" }, { res, err.kind, err.message })
    res, err = t:request { method = "GET", url = url(srv, "big", 1000000) }
    assert.same({ nil, "transport", BYTES_MSG }, { res, err.kind, err.message })
    assert.is_nil(tostring(err):find("memory", 1, true))
    t:close()
    tried = tried + 3
  end)
end)

describe("hostile answers to a client over the curl transport", function()
  local srv

  setup(function() srv = start() end)
  teardown(function() if srv then srv:stop() end end)

  local function client(what, extra)
    return assert(enkash.new(fx.config(srv.url .. "/as/" .. what, extra or { timeout = 20 })))
  end

  it("reads a 302 carrying a success envelope as an http error, not api, not success", function()
    local c = client("redirect")
    local p, err = c.device:status(fx.device)
    assert.is_nil(p)
    assert.equal("http", err.kind)
    assert.equal(302, err.http_status)
    assert.equal("HTTP 302 with a success envelope", err.message)
    c:close()
    tried = tried + 1
  end)

  it("takes only the number 0 or the string \"0\" as success", function()
    local function call(i)
      local c = client("code" .. i)
      local p, err = c.device:status(fx.device)
      c:close()
      tried = tried + 1
      return p, err
    end
    for _, i in ipairs(GOOD) do assert.same({ status = "Bound" }, (assert(call(i)))) end
    for _, i in ipairs(BAD) do
      local p, err = call(i)
      assert.is_nil(p, CODES[i])
      assert.same({ "http", "response is not an Enkash envelope" }, { err.kind, err.message }, CODES[i])
    end
    -- a nonzero code of either type is still Enkash's failure, with its code
    for _, i in ipairs(FAILED) do
      local p, err = call(i)
      assert.is_nil(p)
      assert.equal("api", err.kind, CODES[i])
      assert.equal(math.tointeger and math.tointeger(tonumber(cjson.decode(CODES[i])))
        or tonumber(cjson.decode(CODES[i])), err.response_code)
    end
  end)

  it("never reports a huge header or token as out of memory", function()
    for _, what in ipairs({ "big1000000", "trailers800000", "lines10000", "bigtrailer100000" }) do
      local c = client(what)
      local p, err = c.device:status(fx.device)
      assert.is_nil(p)
      assert.equal("transport", err.kind, what)
      assert.is_nil(err.message:lower():find("memory", 1, true), err.message)
      c:close()
      tried = tried + 1
    end
    local c = client("bigtoken")
    local p, err = c.device:status(fx.device)
    assert.is_nil(p)
    -- refused when taken (auth), or when it would be sent (validation): never sent, never OOM
    assert.is_truthy(err.kind == "auth" or err.kind == "validation", err.kind)
    assert.is_nil(err.message:lower():find("memory", 1, true), err.message)
    c:close()
    tried = tried + 1
  end)
end)

describe("hostile answers at the curl transport, counted", function()
  it("tried every case", function()
    assert.is_true(tried > 0)
    print(("\n  hostile_server: %d hostile cases tried over core.http, core.multi, the transport and a client")
      :format(tried))
  end)
end)
