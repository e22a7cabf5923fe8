--- The URL policy: may the SDK send credentials or data to this URL, and over plain http?
-- Decided on the parts libcurl itself will use (`enkash.core.url_parse`, libcurl's URL API
-- with the flags of a transfer), never on a second parser of our own: a disagreement between
-- two parsers ("http://localhost:80@evil.example": user "localhost", host "evil.example") is
-- a way past the policy. The rules:
--
-- * an explicit `http://` or `https://` scheme, followed by a host;
-- * printable ASCII only: no control character, space, NUL or non-ASCII byte;
-- * no userinfo at all (user, password, login options): credentials never ride in a URL;
-- * a port from 1 to 65535 (libcurl's number: "080" is 80);
-- * no `#fragment` (it is never sent: a sign the URL is not what it looks like);
-- * plain http only to loopback (unless the caller allows insecure http): 127.0.0.0/8 in
--   any form libcurl turns into one ("127.1", "0x7f.1", "2130706433"), `[::1]`,
--   `[::ffff:127.x.y.z]`, and the name "localhost" (libcurl answers it itself, without the
--   resolver). "localhost." and "127.0.0.1." are not loopback: libcurl hands a name with a
--   trailing dot to the resolver, which may answer anything; `0.0.0.0` is not loopback.
--
-- Messages never quote the URL: it may hold a password.
-- Works under Lua 5.4 and LuaJIT.
-- @module enkash.url_policy

local core = require "enkash.core"

local type, byte, find, lower = type, string.byte, string.find, string.lower
local match, sub = string.match, string.sub
local ipairs, tostring = ipairs, tostring

local M = {}

--- Longest URL accepted, in bytes (a base URL is a host and a short path prefix).
M.MAX_LEN = 4096

--- Schemes a proxy URL may have (libcurl's CURLOPT_PROXY; none given means http).
M.PROXY_SCHEMES = { http = true, https = true, socks4 = true, socks4a = true, socks5 = true, socks5h = true }

local IPV6_LOOPBACK = string.rep("\0", 15) .. "\1"
local IPV4_MAPPED = string.rep("\0", 10) .. "\255\255" -- ::ffff:a.b.c.d

--- True when libcurl will connect to this host on the local machine only.
-- @tparam table parts from `core.url_parse` (host, addr)
-- @treturn boolean
function M.is_loopback(parts)
  local addr = parts.addr
  if addr then
    if #addr == 4 then return byte(addr, 1) == 127 end
    return addr == IPV6_LOOPBACK or (sub(addr, 1, 12) == IPV4_MAPPED and byte(addr, 13) == 127)
  end
  return type(parts.host) == "string" and lower(parts.host) == "localhost"
end

-- Printable ASCII, within the length cap: nil, or why not.
local function text_problem(s)
  if type(s) ~= "string" then return "must be a string" end
  if s == "" then return "must not be empty" end
  if #s > M.MAX_LEN then return "is longer than " .. M.MAX_LEN .. " bytes" end
  if find(s, "[^\33-\126]") then
    return "must be printable ASCII (no control character, space or non-ASCII byte)"
  end
  return nil
end

-- The parts of an http(s) URL written as scheme://host..., or nil and why not.
local function parse_http(url)
  local why = text_problem(url)
  if why then return nil, why end
  local scheme, after = match(url, "^(%a[%w+.-]*)://(.?)")
  scheme = scheme and lower(scheme)
  if scheme ~= "http" and scheme ~= "https" then return nil, "must be an http(s) URL" end
  if after == "" or after == "/" or after == "\\" then return nil, "has no host after " .. scheme .. "://" end
  local parts, err = core.url_parse(url)
  if not parts then return nil, "is not a URL libcurl accepts (" .. tostring(err) .. ")" end
  if parts.scheme ~= scheme then return nil, "must be an http(s) URL" end
  return parts
end

-- nil, or why the parsed parts break a rule that holds for every URL the SDK sends to.
local function parts_problem(parts)
  if parts.user or parts.password or parts.options then
    return "must not carry a user name or password (credentials never ride in a URL)"
  end
  if type(parts.host) ~= "string" or parts.host == "" then return "has no host" end
  if type(parts.port) ~= "number" or parts.port < 1 or parts.port > 65535 then
    return "must have a port from 1 to 65535"
  end
  if parts.fragment then return "must not have a #fragment" end
  return nil
end

--- Judge a URL the SDK sends credentials or data to (base_url, auth_url, a webhook URL).
-- @tparam string url
-- @tparam[opt] table opts `allow_insecure_http` (plain http to any host), `no_query` (refuse
-- a ?query: a base URL gets paths appended)
-- @treturn table|nil the parts as libcurl sees them (`core.url_parse`), plus `loopback`
-- @treturn[opt] string why not, to follow the URL's name ("base_url " .. why); never quotes it
function M.check(url, opts)
  opts = type(opts) == "table" and opts or {}
  local parts, why = parse_http(url)
  if not parts then return nil, why end
  why = parts_problem(parts)
  if why then return nil, why end
  if opts.no_query and parts.query then return nil, "must not have a ?query (paths are appended to it)" end
  parts.loopback = M.is_loopback(parts)
  if parts.scheme == "http" and not parts.loopback and not opts.allow_insecure_http then
    return nil, "must use https for a host that is not loopback"
  end
  return parts
end

--- Judge a path appended to a checked base URL (a `routes` override): it must start with
-- "/" and leave libcurl's scheme, host and port of the base as they were.
-- @tparam string base a URL `M.check` accepted
-- @tparam string path
-- @treturn boolean|nil true when fine
-- @treturn[opt] string why not
function M.check_path(base, path)
  if type(path) ~= "string" or sub(path, 1, 1) ~= "/" then return nil, "must be a string starting with /" end
  local why = text_problem(path)
  if why then return nil, why end
  local b = core.url_parse(base)
  local j, err = core.url_parse(base .. path)
  if not b or not j then return nil, "does not make a URL libcurl accepts (" .. tostring(err) .. ")" end
  for _, k in ipairs({ "scheme", "host", "port", "user", "password", "options", "zoneid" }) do
    if b[k] ~= j[k] then return nil, "would change the " .. k .. " of the URL" end
  end
  if j.fragment then return nil, "must not have a #fragment" end
  return true
end

--- Judge a proxy URL (`proxy`): printable ASCII, a proxy scheme libcurl speaks (none means
-- http), a host and a port libcurl accepts. A user and password are legitimate here (proxy
-- authentication); they are never quoted.
-- @tparam string proxy
-- @treturn table|nil the parts as libcurl sees them
-- @treturn[opt] string why not
function M.check_proxy(proxy)
  local why = text_problem(proxy)
  if why then return nil, why end
  local parts, err = core.url_parse(proxy)
  if not parts then return nil, "is not a URL libcurl accepts (" .. tostring(err) .. ")" end
  if not M.PROXY_SCHEMES[parts.scheme] then return nil, "must be an http, https or socks proxy URL" end
  if type(parts.host) ~= "string" or parts.host == "" then return nil, "has no host" end
  return parts
end

return M
