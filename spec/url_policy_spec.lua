-- The URL policy (issue 11, class "secrets leave in clear"): every URL the SDK sends
-- credentials or data to is judged on libcurl's own parse (enkash.core.url_parse), never on a
-- second parser. The table below walks the class: userinfo in every form, hosts libcurl
-- normalises, IPv6, ports, trailing dots, 0.0.0.0, control characters, schemes. Each URL goes
-- through the policy directly and through enkash.new as base_url and as auth_url, with a
-- transport that records requests: a refused URL sends nothing; an accepted one sends its
-- token request to the host the policy judged.
-- Works under Lua 5.4 and LuaJIT.

local enkash = require "enkash"
local core = require "enkash.core"
local policy = require "enkash.url_policy"
local options = require "enkash.sandbox.options"
local fx = require "helpers.fixtures"

-- Verdicts: "loopback" (plain http allowed), "ok" (https to a remote host), or why refused:
-- "https" (plain http to a host that is not loopback: allowed only with allow_insecure_http),
-- "userinfo", "text" (empty, too long, control, space, non-ASCII), "scheme", "nohost",
-- "parse" (libcurl refuses it), "port", "fragment", "query" (base_url only).
-- `auth` gives the verdict as auth_url where it differs (a token URL may have a ?query);
-- `base` the verdict as base_url through enkash.new, where it differs (config strips a base
-- URL's trailing slashes before it is judged).
local CASES = {
  -- userinfo, in every form: credentials never ride in a URL, and the host is never the
  -- text before an @
  { "http://localhost:80@evil.example", "userinfo" },
  { "http://127.0.0.1@evil.example", "userinfo" },
  { "http://127.0.0.1:80@evil.example:80", "userinfo" },
  { "http://user:pass@127.0.0.1:8780", "userinfo" },
  { "https://user:s3cret-pw@api.example.com", "userinfo" },
  { "https://user@api.example.com", "userinfo" },
  { "http://:s3cret-pw@127.0.0.1", "userinfo" },
  { "http://@127.0.0.1", "userinfo" },
  { "http://a%40b@127.0.0.1", "userinfo" },
  { "http://evil.example%23@127.0.0.1", "userinfo" },
  { "http://evil.example\\@127.0.0.1", "userinfo" },
  { "http://127.0.0.1\\@evil.example", "userinfo" },
  { "http://localhost;auth=x@evil.example", "userinfo" },
  { "http://[::1]@evil.example", "userinfo" },
  { "http://evil%40127.0.0.1", "parse" },
  { "http://evil.example#@127.0.0.1", "fragment" },
  { "https://evil.example#@127.0.0.1", "fragment" },
  { "http://evil.example?@127.0.0.1", "query", auth = "https" },
  { "http://127.0.0.1#frag", "fragment" },
  -- IPv4 loopback in every form libcurl normalises to 127.0.0.0/8
  { "http://127.0.0.1", "loopback" },
  { "http://127.0.0.1:8780", "loopback" },
  { "http://127.0.0.1:8780/api/", "loopback" },
  { "http://127.1", "loopback" },
  { "http://127.0.1", "loopback" },
  { "http://127.255.255.254", "loopback" },
  { "http://0x7f.1", "loopback" },
  { "http://0x7f000001", "loopback" },
  { "http://0x7f.0x0.0x0.0x1", "loopback" },
  { "http://0177.0.0.1", "loopback" },
  { "http://017700000001", "loopback" },
  { "http://2130706433", "loopback" },
  { "http://%31%32%37.0.0.1", "loopback" },
  { "http://127.0.0.1/%0d%0a", "loopback" }, -- encoded, it stays encoded on the wire
  -- not loopback: libcurl resolves a trailing dot through DNS; 0.0.0.0 is "any"
  { "http://127.0.0.1.", "https" },
  { "http://0x7f.1%2e", "https" },
  { "http://0.0.0.0", "https" },
  { "http://0", "https" },
  { "http://128.0.0.1", "https" },
  { "http://126.255.255.255", "https" },
  { "http://10.0.0.5", "https" },
  { "http://256.0.0.1", "https" },
  { "http://1.2.3.4.5", "https" },
  { "http://127.0.0.1.evil.example", "https" },
  { "http://127.0.0.1.nip.io", "https" },
  -- names: "localhost" only (libcurl answers it itself); uppercase and encoded as libcurl reads
  { "http://localhost", "loopback" },
  { "http://LOCALHOST:8780", "loopback" },
  { "HTTP://LocalHost", "loopback" },
  { "http://%6cocalhost", "loopback" },
  { "http://local%68ost:8780", "loopback" },
  { "http://localhost.", "https" },
  { "http://localhost%2eevil.example", "https" },
  { "http://localhost.evil.example", "https" },
  { "http://evil-localhost", "https" },
  { "http://foo.localhost", "https" },
  { "http://localhost%00", "parse" },
  -- IPv6
  { "http://[::1]", "loopback" },
  { "http://[::1]:8780", "loopback" },
  { "http://[0:0:0:0:0:0:0:1]", "loopback" },
  { "http://[::ffff:127.0.0.1]", "loopback" },
  { "http://[::ffff:7f00:1]", "loopback" },
  { "http://[::1%25lo]", "loopback" },
  { "http://[::]", "https" },
  { "http://[::2]", "https" },
  { "http://[::ffff:10.0.0.1]", "https" },
  { "http://[fe80::1%25eth0]", "https" },
  { "http://::1", "parse" },
  { "http://[::1", "parse" },
  { "http://[::1]x", "parse" },
  { "http://%5b::1%5d", "parse" },
  -- ports, as libcurl reads them
  { "http://127.0.0.1:0", "port" },
  { "http://127.0.0.1:65535", "loopback" },
  { "http://127.0.0.1:65536", "parse" },
  { "http://127.0.0.1:080", "loopback" },
  { "http://127.0.0.1:", "loopback" },
  { "http://127.0.0.1:443", "loopback" },
  { "http://127.0.0.1:-1", "parse" },
  { "http://127.0.0.1:0x50", "parse" },
  { "http://127.0.0.1:80:80", "parse" },
  { "https://api.example.com:8443", "ok" },
  -- whitespace, control characters, non-ASCII, length
  { "", "text" },
  { " http://127.0.0.1", "text" },
  { "http://127.0.0.1 ", "text" },
  { "http://127.0.0.1\r\nHost: evil.example", "text" },
  { "http://127.0.0.1\0.evil.example", "text" },
  { "http://127.0.0.1/\t", "text" },
  { "http://127.0.0.1\127", "text" },
  { "http://\226\147\155ocalhost", "text" },
  { "https://api.example.com/caf\195\169", "text" },
  { "https://api.example.com/" .. string.rep("a", 5000), "text" },
  -- schemes and missing hosts
  { "ftp://127.0.0.1", "scheme" },
  { "file:///etc/passwd", "scheme" },
  { "gopher://127.0.0.1", "scheme" },
  { "httpx://127.0.0.1", "scheme" },
  { "127.0.0.1:8780", "scheme" },
  { "//127.0.0.1", "scheme" },
  { "http:/127.0.0.1", "scheme" },
  { "http:127.0.0.1", "scheme" },
  { "http:\\\\127.0.0.1", "scheme" },
  { "http://", "nohost", base = "scheme" }, -- as base_url, its trailing slashes go first: "http:"
  { "https://", "nohost", base = "scheme" },
  { "http:///127.0.0.1", "nohost" },
  { "http://\\127.0.0.1", "nohost" },
  -- https to remote hosts
  { "https://api.example.com", "ok" },
  { "https://API.Example.COM/v1", "ok" },
  { "https://pay-en-uat.enkash.in", "ok" },
  { "https://93.184.216.34", "ok" },
  { "https://[2001:db8::1]:8443", "ok" },
  { "https://api.example.com/?x=1", "query", auth = "ok" },
}

-- What each refusal's message says (never the URL itself).
local REASON = {
  https = "must use https", userinfo = "user name or password", scheme = "must be an http%(s%) URL",
  nohost = "no host", parse = "libcurl accepts", port = "port from 1 to 65535",
  fragment = "#fragment", query = "%?query",
}
local TEXT = { "printable ASCII", "must not be empty", "longer than" }

-- A URL as a test name: quoted, control and non-ASCII bytes as \ddd, cut short.
local function shown(url)
  local q = '"' .. url:gsub("[^\32-\126]", function(ch) return "\\" .. ch:byte() end) .. '"'
  return q:sub(1, 80)
end

local function says(message, reason)
  if reason == "text" then
    for _, p in ipairs(TEXT) do
      if message:find(p) then return true end
    end
    return false
  end
  return message:find(REASON[reason]) ~= nil
end

-- Parts of a URL that must never show in a message: anything that could be a password.
local function leaks(message, url)
  for _, bit in ipairs({ "s3cret%-pw", "pass@", "evil%.example" }) do
    if url:find(bit) and message:find(bit) then return bit end
  end
  return nil
end

-- A transport that answers a token request and records every request it is given.
local function recorder()
  local t = { requests = {} }
  function t.request(_, req)
    t.requests[#t.requests + 1] = req
    return { status = 200, headers = { ["content-type"] = "application/json" },
             body = '{"access_token":"tok-0001","token_type":"bearer","expires_in":3600}' }
  end
  function t.sleep() end
  function t.close() end
  return t
end

local function config(base, auth, t, extra)
  local c = { env = "uat", base_url = base, auth_url = auth, transport = t, getenv = function() return nil end }
  for k, v in pairs(fx.creds) do c[k] = v end
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

local REMOTE_BASE, REMOTE_AUTH = "https://api.example.com", "https://auth.example.com/oauth/token"

local function accepted(verdict) return verdict == "loopback" or verdict == "ok" end

describe("URL policy", function()
  it("walks at least 60 URLs, of every verdict", function()
    local seen = {}
    for _, c in ipairs(CASES) do seen[c[2]] = (seen[c[2]] or 0) + 1 end
    assert.is_true(#CASES >= 60, #CASES .. " cases")
    for _, v in ipairs({ "loopback", "ok", "https", "userinfo", "text", "scheme", "nohost", "parse",
                         "port", "fragment", "query" }) do
      assert.is_true((seen[v] or 0) > 0, "no case of " .. v)
    end
  end)

  describe("url_policy.check", function()
    for _, c in ipairs(CASES) do
      local url, verdict = c[1], c[2]
      it(verdict .. ": " .. shown(url), function()
        local parts, why = policy.check(url, { no_query = true })
        if accepted(verdict) then
          assert.is_table(parts, why)
          assert.is_nil(parts.user)
          assert.is_nil(parts.password)
          assert.equals(verdict == "loopback", parts.loopback)
        else
          assert.is_nil(parts)
          assert.is_true(says(why, verdict), why)
          assert.is_nil(leaks(why, url), why)
        end
        -- allow_insecure_http lifts exactly the https rule, nothing else
        local lax, lax_why = policy.check(url, { no_query = true, allow_insecure_http = true })
        assert.equals(accepted(verdict) or verdict == "https", lax ~= nil, lax_why)
      end)
    end
  end)

  describe("enkash.new", function()
    for _, c in ipairs(CASES) do
      local url, verdict = c[1], c[2]
      it(verdict .. ": " .. shown(url), function()
        for _, key in ipairs({ "base_url", "auth_url" }) do
          local want = (key == "auth_url" and c.auth) or (key == "base_url" and c.base) or verdict
          local t = recorder()
          local base = key == "base_url" and url or REMOTE_BASE
          local auth = key == "auth_url" and url or REMOTE_AUTH
          local client, err = enkash.new(config(base, auth, t))
          if accepted(want) then
            assert.is_table(client, tostring(err))
            -- a token request to auth_url, then an API call to base_url (its answer is a
            -- token document, not an envelope: only where the requests went matters here)
            assert.is_string(client:access_token())
            client:call("device.generate", fx.device)
            assert.is_true(#t.requests >= 2)
            local hosts = {}
            for _, u in ipairs({ base, auth }) do
              local p = core.url_parse(u)
              hosts[p.scheme .. " " .. p.host .. " " .. p.port] = true
            end
            -- every request went where the policy judged: libcurl's host of the URL sent
            for _, req in ipairs(t.requests) do
              local sent = assert(core.url_parse(req.url))
              assert.is_true(hosts[sent.scheme .. " " .. sent.host .. " " .. sent.port], req.url)
              assert.is_nil(sent.user)
              if sent.scheme == "http" then assert.is_true(policy.is_loopback(sent)) end
            end
            client:close()
          else
            assert.is_nil(client)
            assert.equals("validation", err.kind)
            assert.equals(key, err.field)
            assert.is_true(says(err.message, want), err.message)
            assert.is_nil(leaks(tostring(err), url), tostring(err))
            assert.equals(0, #t.requests) -- nothing was sent
          end
        end
      end)
    end

    it("takes plain http to any host only with allow_insecure_http, and never userinfo", function()
      local t = recorder()
      assert.truthy(enkash.new(config("http://10.0.0.5", "http://10.0.0.5/t", t, { allow_insecure_http = true })))
      local client, err = enkash.new(config("http://u:p@10.0.0.5", "http://10.0.0.5/t", t,
        { allow_insecure_http = true }))
      assert.is_nil(client)
      assert.matches("user name or password", err.message)
      assert.equals(0, #t.requests)
    end)
  end)

  describe("routes paths", function()
    local PATHS = {
      { "/api/v1/other", true },
      { "/a@b/c", true },
      { "@evil.example/x", false },
      { ":80@evil.example/x", false },
      { ".evil.example/x", false },
      { "//evil.example/x", true }, -- still a path of the base's host (libcurl keeps it)
      { "/x#y", false },
      { "/x\r\nHost: evil", false },
      { "", false },
    }
    for _, p in ipairs(PATHS) do
      it((p[2] and "keeps" or "refuses") .. " " .. shown(p[1]), function()
        local ok, why = policy.check_path("http://127.0.0.1:8780", p[1])
        assert.equals(p[2], ok == true, why)
        local t = recorder()
        local client, err = enkash.new(config("http://127.0.0.1:8780", "http://127.0.0.1:8780/oauth/token", t,
          { routes = { generate = { path = p[1] } } }))
        if not p[2] then
          assert.is_nil(client)
          assert.equals("routes", err.field)
        end
        assert.equals(0, #t.requests)
      end)
    end
  end)

  describe("proxy", function()
    local PROXIES = {
      { "http://proxy.example:3128", true },
      { "http://user:pw@proxy.example:3128", true }, -- proxy authentication is legitimate
      { "proxy.example:3128", true },
      { "socks5h://127.0.0.1:1080", true },
      { "https://proxy.example", true },
      { "http://proxy.example:3128\r\nX: y", false },
      { "http://proxy.example\0:3128", false },
      { "proxy example:3128", false },
      { "ftp://proxy.example", false },
      { "http://proxy.example:99999", false },
      { "http://", false },
    }
    for _, p in ipairs(PROXIES) do
      it((p[2] and "takes " or "refuses ") .. shown(p[1]), function()
        local parts, why = policy.check_proxy(p[1])
        assert.equals(p[2], parts ~= nil, why)
        local client, err = enkash.new(config(REMOTE_BASE, REMOTE_AUTH, recorder(), { proxy = p[1] }))
        assert.equals(p[2], client ~= nil, tostring(err))
        if not client then
          assert.equals("proxy", err.field)
          assert.is_nil(tostring(err):find("pw@", 1, true))
        end
      end)
    end
  end)

  describe("the sandbox's webhook_url", function()
    for _, c in ipairs(CASES) do
      local url, verdict = c[1], c[2]
      if url ~= "" then -- "" means "no webhook" there
        it(verdict .. ": " .. shown(url), function()
          local ok, why = options.check("webhook_url", url)
          -- a webhook URL may have a ?query: only base_url gets paths appended
          local want = verdict == "query" and c.auth or verdict
          assert.equals(accepted(want), ok == true, why)
        end)
      end
    end
  end)

  describe("core.url_parse", function()
    it("gives libcurl's parts", function()
      local p = assert(core.url_parse("http://localhost:80@evil.example/x?y#z"))
      assert.same({ "http", "evil.example", 80, "localhost", "80", "/x", "y", "z" },
        { p.scheme, p.host, p.port, p.user, p.password, p.path, p.query, p.fragment })
      p = assert(core.url_parse("http://0x7f.1:8780"))
      assert.equals("127.0.0.1", p.host)
      assert.equals("\127\0\0\1", p.addr)
      assert.equals(8780, p.port)
      p = assert(core.url_parse("https://[::1%25lo]/"))
      assert.equals("lo", p.zoneid)
      assert.equals(443, p.port)
      assert.equals(16, #p.addr)
      assert.is_nil(core.url_parse("https://api.example.com").addr)
    end)

    it("refuses a NUL byte before libcurl reads a C string", function()
      local p, why = core.url_parse("http://127.0.0.1\0@evil.example")
      assert.is_nil(p)
      assert.equals("URL contains a NUL byte", why)
    end)

    it("answers nil and libcurl's reason for what libcurl refuses", function()
      local p, why = core.url_parse("http://127.0.0.1:99999")
      assert.is_nil(p)
      assert.matches("Port number", why)
    end)

    it("raises on misuse (not a string)", function()
      assert.has_error(function() core.url_parse() end)
      assert.has_error(function() core.url_parse({}) end)
    end)
  end)

  it("never raises, whatever it is given", function()
    for _, v in ipairs({ 1, true, {}, function() end }) do
      assert.is_nil((policy.check(v)))
      assert.is_nil((policy.check_proxy(v)))
      assert.is_nil((policy.check_path("http://127.0.0.1", v)))
    end
    assert.is_nil((policy.check(nil)))
  end)
end)
