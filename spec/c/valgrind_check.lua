-- Exercises every function of enkash.core, including every error path, so that
-- spec/c/run_valgrind.sh can run it under valgrind. Plain Lua (no busted): valgrind should
-- see only our code, Lua and the libraries. Exits non-zero if any check fails; prints
-- "valgrind_check: ok" at the end otherwise.
--
-- Usage: lua5.4 spec/c/valgrind_check.lua   (finds build/lua5.4 relative to this file)

local root = (arg and arg[0] or ""):match("^(.*)/spec/c/[^/]*$") or "."
package.cpath = root .. "/build/lua5.4/?.so;" .. package.cpath

local core = require "enkash.core"

local checks = 0
local function check(cond, what)
  checks = checks + 1
  if not cond then error("check failed: " .. what, 2) end
end

local function raises(f, what)
  check(not pcall(f), what .. " raises")
end

local function sh(cmd)
  local ok = os.execute(cmd .. " >/dev/null 2>&1")
  return ok == true or ok == 0
end

---------------------------------------------------------------- crypto
do
  local SECRET = "test-client-secret"
  local PT = '{"amountToLoad":"100","cardAccountId":"CAC7975","enKashCardId":"EKCWLUAADN"}'
  local CT = "gpUn2Tm5A2/BbMqUjEs6ecMDvx25ghMWViLkAXco8ZbQQG3SApc5qotTojEzxifNug" ..
    "AvdxHqhw+jWLMUQJBHruaJ+TVTRXHV3KJChn6GNzM="
  check(#core.sha256("") == 32, "sha256")
  check(#core.hmac_sha256("", "") == 32 and #core.hmac_sha256("Jefe", "x") == 32, "hmac")
  raises(function() core.sha256() end, "sha256()")
  raises(function() core.hmac_sha256("k") end, "hmac_sha256(k)")

  for n = 0, 40 do
    local s = string.rep("\0\255", n):sub(1, n)
    check(core.b64decode(core.b64encode(s)) == s, "b64 round trip " .. n)
    check(core.decrypt(core.encrypt(s, SECRET), SECRET) == s, "aes round trip " .. n)
  end
  for _, bad in ipairs({ "Zg", "Zg=", "Z===", "====", "Z=g=", "Zm9v\n", "Zm-v", "Zg\0=" }) do
    local v, err = core.b64decode(bad)
    check(v == nil and err == "invalid base64", "b64decode rejects " .. bad)
  end
  check(core.b64decode("") == "", "b64decode empty")
  raises(function() core.b64encode(nil) end, "b64encode(nil)")
  raises(function() core.b64decode({}) end, "b64decode({})")

  check(core.encrypt(PT, SECRET) == CT, "known-answer encrypt")
  check(core.decrypt(CT, SECRET) == PT, "known-answer decrypt")
  local big = string.rep("0123456789abcdef", 65536) .. "tail" -- 1 MiB + 4
  check(core.decrypt(core.encrypt(big, SECRET), SECRET) == big, "1 MiB round trip")

  local v, err = core.decrypt("@@@@", SECRET)
  check(v == nil and err == "invalid base64", "decrypt bad base64")
  v, err = core.decrypt("", SECRET)
  check(v == nil and err == "invalid ciphertext length", "decrypt empty")
  v, err = core.decrypt(core.b64encode("seventeen bytes!!"), SECRET)
  check(v == nil and err == "invalid ciphertext length", "decrypt 17 bytes")
  -- Find a block whose padding is bad under SECRET (most random blocks are).
  local found = false
  for _ = 1, 50 do
    v, err = core.decrypt(core.b64encode(core.random_bytes(32)), SECRET)
    if v == nil then
      check(err == "bad padding", "decrypt bad padding")
      found = true
      break
    end
  end
  check(found, "a bad-padding ciphertext was found")
  -- the keyed-context cache across secrets, and bad padding past the 4 KiB in-place buffer
  for _, n in ipairs({ 100, 5000 }) do
    local s = string.rep("k", n)
    local ca, cb = core.encrypt(s, SECRET), core.encrypt(s, "other secret")
    check(core.decrypt(ca, SECRET) == s and core.decrypt(cb, "other secret") == s, "two secrets " .. n)
    v, err = core.decrypt(core.b64encode(core.b64decode(ca) .. string.rep("\0", 16)), SECRET)
    check(v == nil and err == "bad padding", "bad padding after " .. n)
  end
  raises(function() core.encrypt("x") end, "encrypt(x)")
  raises(function() core.decrypt("AAAA") end, "decrypt(AAAA)")

  check(#core.random_bytes(1) == 1 and #core.random_bytes(4096) == 4096, "random_bytes")
  raises(function() core.random_bytes(0) end, "random_bytes(0)")
  raises(function() core.random_bytes(4097) end, "random_bytes(4097)")
  raises(function() core.random_bytes("x") end, "random_bytes(x)")

  check(core.secure_equal("a", "a") and not core.secure_equal("a", "b")
    and not core.secure_equal("a", "ab"), "secure_equal")
  raises(function() core.secure_equal("a") end, "secure_equal(a)")
end

---------------------------------------------------------------- json scans
do
  check(core.json_plain("abc") == true and core.json_plain('a"b') == false, "json_plain")
  check(core.json_plain("") == true and core.json_plain("\0") == false, "json_plain edges")
  local names = { amount = true, otbBalance = true }
  local t = core.json_numbers('{"amount": -100.10 ,"x":"\\"amount\\":5","l":[{"amount":0.07},'
    .. '{"amount":"9.99"}],"otbBalance":1e3}', names)
  check(t.amount[1] == "-100.10" and t.amount[2] == "0.07" and t.amount[3] == nil, "json_numbers texts")
  check(t.otbBalance[1] == "1e3", "json_numbers exponent kept as written")
  check(core.json_numbers("{}", names) == nil, "json_numbers none")
  -- broken text: every prefix, and strings that never end, are read without going past the end
  local doc = '{"amount":12.50,"s":"a\\\\","amount":7}'
  for n = 0, #doc do core.json_numbers(doc:sub(1, n), names) end
  for _, bad in ipairs({ '"', '"\\', '{"amount"', '{"amount":', '{"amount":-', '{"a\\"' }) do
    core.json_numbers(bad, names)
  end
  local big = "[" .. string.rep('{"amount":1.25},', 100000) .. '{"amount":2}]'
  check(#core.json_numbers(big, names).amount == 100001, "json_numbers 100k keys")
  raises(function() core.json_numbers("{}") end, "json_numbers without names")
  raises(function() core.json_numbers(nil, names) end, "json_numbers(nil)")
end

---------------------------------------------------------------- clock
do
  local t0 = core.monotime()
  core.sleep(0.01)
  core.sleep(0)
  core.sleep(-1)
  check(core.monotime() > t0, "monotime advances")
  raises(function() core.sleep("x") end, "sleep(x)")
  raises(function() core.sleep(0 / 0) end, "sleep(nan)")
end

---------------------------------------------------------------- url parse
do
  local p = core.url_parse("http://localhost:80@evil.example:8080/p?q#f")
  check(p and p.host == "evil.example" and p.user == "localhost" and p.password == "80"
    and p.port == 8080 and p.path == "/p" and p.query == "q" and p.fragment == "f", "url_parse parts")
  p = core.url_parse("http://0x7f.1")
  check(p and p.host == "127.0.0.1" and p.addr == "\127\0\0\1" and p.port == 80, "url_parse ipv4 addr")
  p = core.url_parse("https://[::1%25lo]:8443/")
  check(p and p.zoneid == "lo" and #p.addr == 16 and p.port == 8443, "url_parse ipv6 zone")
  for _, bad in ipairs({ "http://", "http://127.0.0.1:65536", "http://[::1", "http://a b", "mailto:x", "" }) do
    local v, why = core.url_parse(bad)
    check(v == nil and type(why) == "string", "url_parse refuses " .. bad)
  end
  local v, why = core.url_parse("http://127.0.0.1\0@evil")
  check(v == nil and why == "URL contains a NUL byte", "url_parse NUL")
  check(core.url_parse("https://h/" .. string.rep("a", 100000)) ~= nil, "url_parse long path")
  raises(function() core.url_parse() end, "url_parse()")
  raises(function() core.url_parse({}) end, "url_parse({})")
  for _ = 1, 200 do core.url_parse("http://u:p@127.1:8780/x?y#z") end
end

---------------------------------------------------------------- token store
do
  local ts = core.token_store()
  check(ts:get(0) == nil and ts:remaining() == nil and not ts:info().present, "empty store")
  check(tostring(ts) == "enkash.token(empty)", "tostring empty")
  ts:set("token-one", 100)
  ts:set("token-two", 0.05) -- replaces (scrubs and frees) the first
  check(ts:get(0) == "token-two" and ts:get(1) == nil, "get with margin")
  check(ts:info().lifetime == 0.05 and ts:remaining() > 0, "info")
  check(not tostring(ts):find("token-two", 1, true), "tostring hides the token")
  core.sleep(0.06)
  check(ts:get(0) == nil and tostring(ts) == "enkash.token(present, expired)", "expired")
  ts:invalidate()
  ts:invalidate()
  check(ts:info().present == false, "invalidated")
  raises(function() ts:set("x", 0) end, "set(x, 0)")
  raises(function() ts:set("", 1) end, "set('', 1)")
  raises(function() ts:set({}, 1) end, "set({}, 1)")
  raises(function() ts:get("x") end, "get(x)")
  raises(function() ts.info(42) end, "info(42)")
  core.token_store():set("collected-with-a-token", 10) -- freed by __gc
end

---------------------------------------------------------------- http
do
  raises(function() core.http("x") end, "http(x)")
  -- raises after ca_file/proxy were copied: __gc must free the copies
  raises(function() core.http { ca_file = "a", proxy = "b", verify = "no" } end, "http{verify=no}")
  raises(function() core.http { ca_file = "a\0b" } end, "http{ca_file NUL}")
  raises(function() core.http { timeout = 0 } end, "http{timeout=0}")
  raises(function() core.http { max_response_bytes = 1.5 } end, "http{max=1.5}")

  local h = core.http { ca_file = "/nonexistent", proxy = "", user_agent = "vg" }
  local res, msg, kind = h:request { url = "http://127.0.0.1:1/", body = "x",
    headers = { Authorization = "Bearer secret", ["X-Empty"] = "" } }
  check(res == nil and kind == "connect" and type(msg) == "string", "closed port -> connect")
  res, msg, kind = h:request { url = "ftp://127.0.0.1:1/" }
  check(res == nil and kind == "transport" and type(msg) == "string", "ftp -> transport")
  raises(function() h:request() end, "request()")
  raises(function() h:request { url = "http://127.0.0.1:1/", method = "A B" } end, "bad method")
  -- raises with the first header already in the list: freed by the next request or close
  raises(function()
    h:request { url = "http://127.0.0.1:1/", headers = { ["X-A"] = "ok", ["X-B"] = "a\nb" } }
  end, "bad header value")
  raises(function() h:request { url = "http://127.0.0.1:1/", timeout = -1 } end, "timeout=-1")
  -- request headers libcurl would call "Out of memory": refused before sending (nothing counted)
  res, msg, kind = h:request { url = "http://127.0.0.1:1/", headers = { Authorization = string.rep("t", 70000) } }
  check(res == nil and kind == "validation" and msg == "request URL and headers larger than 65536 bytes",
    "request head cap")
  raises(function() core.http { ca_file = "a", max_header_bytes = 65537 } end, "http{max_header_bytes}")
  raises(function() core.http { proxy = "b", max_header_lines = 0 / 0 } end, "http{max_header_lines=nan}")
  check(h:stats().requests == 2, "stats.requests")
  check(tostring(h):find("^enkash%.http"), "tostring")
  h:close()
  h:close()
  raises(function() h:request { url = "http://127.0.0.1:1/" } end, "closed request")
  raises(function() h:stats() end, "closed stats")
  core.http() -- never closed: __gc closes it

  -- one handle, URLs parsed once (CURLU) or given as strings (those that do not parse),
  -- methods and timeouts set only when they change, header lines in kept buffers (grown
  -- past one block, then a raise half way through): every path, then __gc with a URL held
  local many = {}
  for i = 1, 40 do many["X-Many-" .. i] = string.rep("m", 200) end
  local u = core.http()
  local steps = {
    { url = "http://127.0.0.1:1/a", method = "POST", body = "b1", headers = many },
    { url = "http://127.0.0.1:1/a", method = "POST", body = "b2", headers = many, timeout = 3 },
    { url = "http://[::1", method = "GET" },
    { url = "http://127.0.0.1:1/b?q=1", method = "HEAD", connect_timeout = 2 },
    { url = "http://a b/", method = "PUT", body = "x" },
    { url = "http://127.0.0.1:1/b?q=1", method = "GET" },
    { url = "http://127.0.0.1:1/b?q=1", method = "GET", headers = { ["X-Empty"] = "", N = 1 } },
    { url = "ftp://127.0.0.1:1/", method = "POST" },
    { url = "http://127.0.0.1:1/a", method = "DELETE" },
  }
  for round = 1, 2 do
    for i, req in ipairs(steps) do
      res, msg, kind = u:request(req)
      check(res == nil and type(msg) == "string" and type(kind) == "string", "url step " .. round .. "." .. i)
    end
    raises(function()
      u:request { url = "http://127.0.0.1:1/c", headers = { ["X-A"] = "ok", ["X-B"] = "a\r\nb" } }
    end, "bad header after a kept URL")
  end
  check(u:stats().requests == 18, "url steps counted")
  u = nil -- luacheck: ignore 311
  collectgarbage() -- __gc closes it: the parsed URL is freed after the handle
end

---------------------------------------------------------------- multi
do
  raises(function() core.multi("x") end, "multi(x)")
  -- raises after ca_file/proxy were copied: __gc must free the copies
  raises(function() core.multi { ca_file = "a", proxy = "b", verify = "no" } end, "multi{verify=no}")
  raises(function() core.multi { ca_file = "a", max_total_connections = 0 } end, "multi{max_total=0}")
  raises(function() core.multi { timeout = 0 } end, "multi{timeout=0}")

  local m = core.multi { ca_file = "/nonexistent", proxy = "", user_agent = "vg", max_total_connections = 2 }
  local a = m:add { url = "http://127.0.0.1:1/", method = "POST", body = "secret body",
    headers = { Authorization = "Bearer secret", ["X-Empty"] = "" } }
  local b = m:add { url = "ftp://127.0.0.1:1/" }
  raises(function() m:add() end, "add()")
  raises(function() m:add { url = "http://127.0.0.1:1/", method = "A B" } end, "add bad method")
  -- raises with the first header already in the slot's list: freed at the slot's next use
  raises(function()
    m:add { url = "http://127.0.0.1:1/", headers = { ["X-A"] = "ok", ["X-B"] = "a\nb" } }
  end, "add bad header value")
  raises(function() m:add { url = "http://127.0.0.1:1/", body = {} } end, "add body={}")
  raises(function() m:wait(-1) end, "wait(-1)")
  check(m:pending() == 2, "pending after raising adds")
  local big = m:add { url = "http://127.0.0.1:1/", body = "x", headers = { Authorization = string.rep("t", 70000) } }
  local kinds = {}
  while m:pending() > 0 do
    for _, c in ipairs(m:wait(5)) do kinds[c.id] = c.kind end
  end
  check(kinds[a] == "connect" and kinds[b] == "transport", "multi failure kinds")
  check(kinds[big] == "validation", "multi request head cap")
  raises(function() core.multi { ca_file = "a", max_header_lines = 10001 } end, "multi{max_header_lines}")
  check(#m:wait(0) == 0 and #m:wait() == 0, "wait with nothing pending")
  check(m:stats().requests == 2, "multi stats.requests")
  check(tostring(m):find("^enkash%.multi"), "multi tostring")
  m:add { url = "http://127.0.0.1:1/", body = "in flight at close" } -- never waited for
  m:close()
  m:close()
  raises(function() m:add { url = "http://127.0.0.1:1/" } end, "closed add")
  raises(function() m:wait(0) end, "closed wait")
  raises(function() m:pending() end, "closed pending")
  raises(function() m:stats() end, "closed stats")
  local g = core.multi() -- never closed, with a request done but not reported: __gc frees it
  g:add { url = "http://127.0.0.1:1/", headers = { Authorization = "Bearer gc" } }
end

---------------------------------------------------------------- http against nginx
-- A real server when nginx is there; TLS via a self-signed cert; lua module for the slow
-- location when installed. Skipped (with a note) when nginx cannot start.
local function with_nginx(fn)
  local dir = os.tmpname()
  os.remove(dir)
  if not sh("command -v nginx") or not sh("mkdir -p '" .. dir .. "/tmp'") then
    return print("valgrind_check: nginx not available, server checks skipped")
  end
  local lua_mod = "/usr/lib/nginx/modules/ngx_http_lua_module.so"
  local f = io.open(lua_mod, "r")
  local have_lua = f ~= nil
  if f then f:close() end
  local tls = sh(("cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem" ..
    " -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"):format(dir))
  math.randomseed(os.time())
  local port = 20000 + math.random(0, 20000)
  local conf = {
    have_lua and ("load_module /usr/lib/nginx/modules/ndk_http_module.so;\n" ..
      "load_module " .. lua_mod .. ";") or "",
    ("daemon on; pid %s/nginx.pid; user root; error_log %s/error.log;"):format(dir, dir),
    "events {}",
    ("http { access_log off; client_body_temp_path %s/tmp; proxy_temp_path %s/tmp;"):format(dir, dir),
    ("fastcgi_temp_path %s/tmp; uwsgi_temp_path %s/tmp; scgi_temp_path %s/tmp;"):format(dir, dir, dir),
    ("server { listen 127.0.0.1:%d; %s"):format(port, tls and
      ("listen 127.0.0.1:%d ssl; ssl_certificate %s/cert.pem; ssl_certificate_key %s/key.pem;")
      :format(port + 1, dir, dir) or ""),
    "location = /hello { add_header X-Multi one; add_header X-Multi two; return 200 hello; }",
    "location = /big { return 200 '" .. string.rep("x", 500) .. "'; }",
    have_lua and "location = /slow { content_by_lua_block { ngx.sleep(2) ngx.say('late') } }" or "",
    have_lua and "location = /echo { client_body_buffer_size 1m; content_by_lua_block {" ..
      " ngx.req.read_body() ngx.print(ngx.req.get_body_data() or '') } }" or "",
    have_lua and "location = /reset { content_by_lua_block { ngx.req.read_body() ngx.exit(444) } }" or "",
    -- hostile heads (raw): ?n= header lines, a header of ?big= bytes, ?t= trailer lines,
    -- repeated and folded headers
    have_lua and ("location = /hostile { content_by_lua_block { local a = ngx.req.get_uri_args()" ..
      " local s = ngx.req.socket(true) local n, big, t = tonumber(a.n) or 0, tonumber(a.big) or 0, tonumber(a.t)" ..
      " local h = {'HTTP/1.1 200 OK\\r\\nConnection: close\\r\\nX-Fold: a\\r\\n b\\r\\n'}" ..
      " for i = 1, n do h[#h + 1] = 'X-R: ' .. i .. '\\r\\n' end" ..
      " if big > 0 then h[#h + 1] = 'X-Big: ' .. ('a'):rep(big) .. '\\r\\n' end" ..
      " if t then h[#h + 1] = 'Transfer-Encoding: chunked\\r\\n\\r\\n2\\r\\nok\\r\\n0\\r\\n'" ..
      " .. ('X-T: v\\r\\n'):rep(t) .. '\\r\\n'" ..
      " else h[#h + 1] = 'Content-Length: 2\\r\\n\\r\\nok' end" ..
      " s:send(table.concat(h)) ngx.exit(444) } }") or "",
    "} }",
  }
  local cf = assert(io.open(dir .. "/nginx.conf", "w"))
  cf:write(table.concat(conf, "\n"))
  cf:close()
  if not sh(("nginx -p '%s' -c '%s/nginx.conf' -e '%s/error.log'"):format(dir, dir, dir)) then
    sh("rm -rf '" .. dir .. "'")
    return print("valgrind_check: nginx did not start, server checks skipped")
  end
  local ok, err = pcall(fn, "http://127.0.0.1:" .. port, tls and ("https://127.0.0.1:" .. (port + 1)),
    tls and (dir .. "/cert.pem"), have_lua)
  sh(("kill $(cat '%s/nginx.pid')"):format(dir))
  sh("sleep 0.2; rm -rf '" .. dir .. "'")
  if not ok then error(err, 0) end
end

with_nginx(function(url, tls_url, cert, have_lua)
  local h = core.http { timeout = 10 }
  for _ = 1, 3 do
    local res = assert(h:request { url = url .. "/hello", headers = { ["X-A"] = "1" } })
    check(res.status == 200 and res.body == "hello" and res.headers["x-multi"] == "one, two", "GET")
  end
  check(h:stats().connects == 1, "connection reused")
  local res, msg, kind = core.http { max_response_bytes = 100 }:request { url = url .. "/big" }
  check(res == nil and kind == "transport" and msg == "response larger than 100 bytes", "cap")
  if have_lua then
    local body = string.rep("\0\1\2\255", 10000)
    res = assert(h:request { method = "POST", url = url .. "/echo", body = body })
    check(res.body == body, "binary POST echo")
    res, msg, kind = h:request { url = url .. "/slow", timeout = 0.3 }
    check(res == nil and kind == "timeout" and type(msg) == "string", "timeout")
    assert(h:request { url = url .. "/hello" })
    res, msg, kind = h:request { method = "POST", url = url .. "/reset", body = "once" } -- reused conn
    check(res == nil and kind == "transport" and type(msg) == "string", "no hidden re-send")
    -- the header caps: our callback's, libcurl's own line limit mapped, trailers; the joins
    res = assert(h:request { url = url .. "/hostile?n=150" })
    check(res.headers["x-fold"] == "a b" and select(2, res.headers["x-r"]:gsub(", ", "")) == 149, "joined heads")
    res, msg, kind = h:request { url = url .. "/hostile?n=300" }
    check(res == nil and kind == "transport" and msg == "more than 200 response header lines", "header lines cap")
    res, msg, kind = h:request { url = url .. "/hostile?big=70000" }
    check(res == nil and kind == "transport" and msg == "response headers larger than 65536 bytes", "header bytes cap")
    res, msg, kind = h:request { url = url .. "/hostile?big=200000" }
    check(res == nil and kind == "transport" and msg == "response headers larger than 65536 bytes",
      "libcurl line cap mapped")
    res, msg, kind = h:request { url = url .. "/hostile?t=1000" }
    check(res == nil and kind == "transport" and msg == "more than 200 response header lines", "trailer lines cap")
    res = assert(h:request { url = url .. "/hostile?t=10" })
    check(res.body == "ok" and res.headers["x-t"] == "v, v, v, v, v, v, v, v, v, v", "trailers joined")
    -- simple heads and grouped ones, in turn on one handle
    for i = 1, 6 do
      res = assert(h:request { url = url .. (i % 2 == 0 and "/big" or "/hostile?n=3") })
      check(res.headers[i % 2 == 0 and "content-length" or "x-r"] == (i % 2 == 0 and "500" or "1, 2, 3"),
        "simple and grouped heads")
    end
    local mh = core.multi { max_header_lines = 10 }
    mh:add { url = url .. "/hostile?n=20" }
    local mc = mh:wait(5)[1]
    check(mc.message == "more than 10 response header lines", "multi header lines cap")
    mh:close()
  end
  h:close()
  -- multi: parallel successes and failures, reuse, no silent resend, close in flight
  local m = core.multi { timeout = 10, max_total_connections = 4 }
  local want = {}
  for i = 1, 8 do
    want[m:add { url = url .. "/hello", headers = { Authorization = "Bearer t" .. i } }] = "hello"
  end
  want[m:add { url = "http://127.0.0.1:1/" }] = "connect"
  local got = {}
  while m:pending() > 0 do
    for _, c in ipairs(m:wait(5)) do got[c.id] = c.res and c.res.body or c.kind end
  end
  for id, w in pairs(want) do check(got[id] == w, "multi result " .. id) end
  check(m:stats().connects <= 4, "multi connections reused")
  local capped = core.multi { max_response_bytes = 100 }
  local id = capped:add { url = url .. "/big" }
  local c = capped:wait(5)[1]
  check(c.id == id and c.kind == "transport" and c.message == "response larger than 100 bytes", "multi cap")
  capped:close()
  if have_lua then
    local body = string.rep("\0\1\2\255", 10000)
    id = m:add { method = "POST", url = url .. "/echo", body = body }
    c = m:wait(5)[1]
    check(c.id == id and c.res.body == body, "multi binary POST echo")
    id = m:add { url = url .. "/slow", timeout = 0.3 }
    c = m:wait(5)[1]
    check(c.id == id and c.kind == "timeout", "multi timeout")
    local one = core.multi { max_total_connections = 1 }
    one:add { url = url .. "/hello" }
    one:wait(5)
    id = one:add { method = "POST", url = url .. "/reset", body = "once" } -- reused conn
    c = one:wait(5)[1]
    check(c.id == id and c.kind == "transport", "multi: no hidden re-send")
    one:close()
    for _ = 1, 3 do m:add { url = url .. "/slow", body = "in flight", headers = { Authorization = "Bearer x" } } end
    m:add { url = url .. "/hello" }
    m:wait(0.1) -- the slow ones are in flight (the hello may be reported or not)
  end
  m:close() -- aborts what is in flight
  local g = core.multi()
  g:add { url = url .. "/hello" }
  g:add { url = url .. "/hello" }
  g:wait(0.05)
  g = nil -- luacheck: ignore 311
  collectgarbage() -- __gc closes it
  if tls_url then
    local t = core.http { ca_file = cert }
    check(assert(t:request { url = tls_url .. "/hello" }).body == "hello", "https with ca_file")
    t:close()
    res, msg, kind = core.http():request { url = tls_url .. "/hello" }
    check(res == nil and kind == "tls" and type(msg) == "string", "https without ca -> tls")
    check(assert(core.http { verify = false }:request { url = tls_url .. "/hello" }).status == 200,
      "https verify=false")
    local tm = core.multi { ca_file = cert }
    local tid = tm:add { url = tls_url .. "/hello" }
    local tid2 = tm:add { url = tls_url .. "/hello", connect_timeout = 5 }
    local res_by = {}
    while tm:pending() > 0 do for _, d in ipairs(tm:wait(5)) do res_by[d.id] = d end end
    check(res_by[tid].res.body == "hello" and res_by[tid2].res.status == 200, "multi https with ca_file")
    tm:close()
    local nm = core.multi()
    tid = nm:add { url = tls_url .. "/hello" }
    local tc = nm:wait(5)[1]
    check(tc.id == tid and tc.kind == "tls", "multi https without ca -> tls")
    nm:close()
  end
end)

collectgarbage()
collectgarbage()
print(("valgrind_check: ok (%d checks)"):format(checks))
