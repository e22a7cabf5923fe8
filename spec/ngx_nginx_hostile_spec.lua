-- The hostile answers of spec/hostile_server_spec.lua (its HOSTILE and AS_CLIENT server
-- blocks and CODES, read from that file) through the ngx transport inside nginx: the
-- builtin engine (enkash.transport.ngx_http) and the lua-resty-http adapter (over a stand-in), and a
-- client whose transport is ngx. The same caps and messages as the curl transport; no
-- assertion on wall time (counts and answers only). Lua 5.4 drives; nginx runs LuaJIT.
local cjson = require "cjson"
local app = require "helpers.ngx_app"
local core = require "enkash.core"
local fx = require "helpers.fixtures"

-- The server blocks and codes, from the curl spec: one copy of the hostile answers.
local SOURCE = (function()
  local f = assert(io.open(app.root .. "/spec/hostile_server_spec.lua", "rb"))
  local text = f:read("*a")
  f:close()
  return text
end)()
local HOSTILE = assert(SOURCE:match("local HOSTILE = %[==%[(.-)%]==%]"), "HOSTILE block")
local AS_CLIENT = assert(SOURCE:match("local AS_CLIENT = %[==%[(.-)%]==%]"), "AS_CLIENT block")
local CODES = assert(load("return " .. assert(SOURCE:match("local CODES = (%b{})"), "CODES")))()

local MAX_HEADER_BYTES, MAX_HEADER_LINES = 65536, 200
local LINES_MSG = "more than " .. MAX_HEADER_LINES .. " response header lines"
local BYTES_MSG = "response headers larger than " .. MAX_HEADER_BYTES .. " bytes"
local TRAILER_MSG = "response trailer line longer than 4096 bytes"

-- As in spec/hostile_server_spec.lua: {what, n, message}.
local CAPPED = {
  { "trailers", 800000, LINES_MSG },
  { "lines", 10000, LINES_MSG },
  { "big", 1000000, BYTES_MSG },
  { "big", 70000, BYTES_MSG },
  { "lines", MAX_HEADER_LINES + 1, LINES_MSG },
  { "continues", 1000, LINES_MSG },
  { "bigtrailer", 100000, TRAILER_MSG },
  { "bigtrailer", 4090, TRAILER_MSG },
  { "longstatus", 200000, BYTES_MSG },
  { "trailers", 100000, LINES_MSG },
}

-- A stand-in for lua-resty-http (not packaged by Debian) with the API the adapter uses; it
-- reads the whole head itself, unbounded, as lua-resty-http does: the adapter checks the caps
-- on what it read.
local RESTY_HTTP = [==[
local M = { _VERSION = "0.17.1" }
local mt = { __index = M }
function M.new() return setmetatable({ sock = ngx.socket.tcp() }, mt) end
function M:set_timeouts(c, s, r) return self.sock:settimeouts(c, s, r) end
function M:connect(o) return self.sock:connect(o.host, o.port, { pool = o.pool }) end
function M:get_reused_times() return self.sock:getreusedtimes() end
function M:set_keepalive(t) return self.sock:setkeepalive(t) end
function M:close() return self.sock:close() end
function M:request(p)
  local sock = self.sock
  local head = { p.method .. " " .. p.path .. " HTTP/1.1" }
  for k, v in pairs(p.headers) do head[#head + 1] = k .. ": " .. v end
  if p.body then head[#head + 1] = "Content-Length: " .. #p.body end
  local ok, err = sock:send(table.concat(head, "\r\n") .. "\r\n\r\n" .. (p.body or ""))
  if not ok then return nil, err end
  local line
  repeat
    line, err = sock:receive("*l")
    if not line then return nil, err end
    local res = { status = tonumber(line:sub(10, 12)), headers = {}, has_body = true }
    while true do
      line, err = sock:receive("*l")
      if not line then return nil, err end
      if line == "" then break end
      local k, v = line:match("^([^:]+):%s*(.*)$")
      if k then
        local old = res.headers[k]
        if old == nil then res.headers[k] = v
        elseif type(old) == "table" then old[#old + 1] = v
        else res.headers[k] = { old, v } end
      end
    end
    if res.status >= 200 then
      local len = tonumber(res.headers["Content-Length"])
      local done = false
      res.body_reader = function(max)
        if done then return nil end
        if len then
          local n = math.min(max, len)
          local data, e = sock:receive(n)
          if not data then return nil, e end
          len = len - n
          done = len == 0
          return data
        end
        local data, e, partial = sock:receive(max)
        if not data then done = true return partial, e end
        return data
      end
      return res
    end
  until false
end
return M
]==]

local T_LOCATION = [[
  location = /t {
    content_by_lua_block {
      local cjson = require "cjson"
      local a = ngx.req.get_uri_args()
      local t = require("enkash.transport.ngx").new({ max_response_bytes = tonumber(a.cap) },
        { engine = a.engine })
      local req = { method = "GET", url = a.url, timeout = tonumber(a.timeout) or 20, connect_timeout = 2 }
      local res, err
      if a.hl or a.hb then -- the caps as options of enkash.transport.ngx_http
        local kind, msg
        res, kind, msg = require("enkash.transport.ngx_http").request(req,
          { max_header_lines = tonumber(a.hl), max_header_bytes = tonumber(a.hb) })
        err = not res and { kind = kind, message = msg }
      else
        res, err = t:request(req)
      end
      ngx.say(cjson.encode(res
        and { status = res.status, headers = res.headers, body = res.body, engine = t.engine }
        or { kind = err.kind, message = err.message, engine = t.engine }))
    }
  }
  location = /c {
    content_by_lua_block {
      local cfg = {}
      for k, v in pairs(CFG) do cfg[k] = v end
      cfg.base_url = "http://127.0.0.1:" .. ngx.var.server_port .. "/as/" .. ngx.var.arg_what
      local c = assert(require("enkash").new(cfg))
      local p, err = c.device:status(DEVICE)
      ngx.say(require("cjson").encode(p and { status = p.status, transport = c.transport.name } or {
        kind = err.kind, message = err.message, http_status = err.http_status,
        response_code = err.response_code, transport = c.transport.name }))
    }
  }
]]

local function quote(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local tried = 0

local function start(extra_http)
  return app.app {
    workers = 2,
    server_conf = HOSTILE .. AS_CLIENT .. T_LOCATION,
    http_conf = "lua_shared_dict hostile 1m;\n  init_by_lua_block {\n"
      .. "    CODES = require('cjson').decode([=[" .. cjson.encode(CODES) .. "]=])\n"
      .. "    CFG = " .. app.lua_value(fx.config(nil, { timeout = 20, connect_timeout = 2 })) .. "\n"
      .. "    DEVICE = " .. app.lua_value(fx.device) .. "\n  }\n" .. (extra_http or ""),
  }
end

local function suite(engine)
  local srv

  -- One request through the transport inside nginx to the hostile answer what/n.
  local function via(what, n, o)
    o = o or {}
    local target = srv.url .. "/h?what=" .. what .. "&n=" .. n .. (o.tag and ("&tag=" .. o.tag) or "")
    local q = { "url=" .. quote(target), "engine=" .. engine }
    for _, k in ipairs({ "cap", "timeout", "hl", "hb" }) do
      if o[k] then q[#q + 1] = k .. "=" .. quote(o[k]) end
    end
    tried = tried + 1
    local r = app.get_json(srv.url .. "/t?" .. table.concat(q, "&"))
    assert.equal(engine, r.engine)
    return r
  end

  local function sent(tag)
    for _ = 1, 200 do
      local body = app.request(srv.url .. "/sent?tag=" .. tag).body
      if body ~= "" then return tonumber(body) end
      core.sleep(0.025)
    end
    error("the server never finished the answer tagged " .. tag)
  end

  return function()
    setup(function()
      if engine == "resty" then
        local dir = os.tmpname()
        os.remove(dir)
        assert(os.execute("mkdir -p " .. dir .. "/resty"))
        local f = assert(io.open(dir .. "/resty/http.lua", "wb"))
        f:write(RESTY_HTTP)
        f:close()
        srv = start('  init_worker_by_lua_block { package.path = "' .. dir .. '/?.lua;" .. package.path }')
        srv.standin_dir = dir
      else
        srv = start()
      end
    end)

    teardown(function()
      if srv then
        srv:stop()
        if srv.standin_dir then os.execute("rm -rf " .. srv.standin_dir) end
      end
    end)

    it("caps header lines and bytes with the curl transport's messages", function()
      for _, c in ipairs(CAPPED) do
        -- the stand-in reads no trailers and no 1xx caps of its own: the builtin engine's part
        if engine == "builtin" or not ({ trailers = 1, bigtrailer = 1, longstatus = 1, continues = 1 })[c[1]] then
          local r = via(c[1], c[2])
          local label = c[1] .. " " .. c[2]
          assert.equal("transport", r.kind, label)
          assert.equal(c[3], r.message, label)
        end
      end
    end)

    it("takes what is under the caps", function()
      local r = via("lines", MAX_HEADER_LINES)
      assert.equal(200, r.status)
      assert.equal(MAX_HEADER_LINES - 2, #r.headers["x-h"]:gsub("[^v]", ""))
      r = via("big", 60000)
      assert.equal(60000, #r.headers["x-big"])
      r = via("join", 150)
      local want = {}
      for i = 1, 150 do want[i] = tostring(i) end
      assert.equal(table.concat(want, ", "), r.headers["x-rep"])
      if engine == "builtin" then
        assert.equal("a b c", r.headers["x-fold"])
        assert.equal("Bound", cjson.decode(via("trailers", 100).body).payload.status)
        assert.equal("Bound", cjson.decode(via("bigtrailer", 4000).body).payload.status)
      end
    end)

    it("holds the body cap while the body arrives", function()
      local cap, offered = 1024 * 1024, 64 * 1024 * 1024
      for _, what in ipairs({ "body", "length", "chunks" }) do
        if engine == "builtin" or what ~= "chunks" then
          local tag = engine .. what
          local r = via(what, offered, { cap = cap, tag = tag })
          assert.same({ "transport", "response larger than " .. cap .. " bytes" }, { r.kind, r.message })
          local n = sent(tag)
          assert.is_true(n < offered / 4, what .. " sent " .. n)
        end
      end
    end)

    -- The builtin engine only: lua-resty-http reads with cosocket receive(n) and "*l", whose
    -- timer nginx re-arms at each byte that arrives, so no adapter can bound a drip there.
    if engine == "builtin" then it("gives up on an answer that drips in past the timeout", function()
      for _, what in ipairs({ "drip", "drip_head" }) do
        local tag = engine .. what
        local r = via(what, 100, { timeout = 0.4, tag = tag })
        assert.equal("timeout", r.kind, what)
        local n = sent(tag)
        assert.is_true(n < 110, what .. " sent " .. n)
      end
    end) end

    if engine == "builtin" then
      it("takes its caps as options", function()
        local r = via("lines", 6, { hl = 5 })
        assert.same({ "transport", "more than 5 response header lines" }, { r.kind, r.message })
        assert.equal(200, via("lines", 5, { hl = 5 }).status)
        r = via("big", 1000, { hb = 1000 })
        assert.same({ "transport", "response headers larger than 1000 bytes" }, { r.kind, r.message })
      end)

      it("gives a client the same answers: 302, response codes, floods", function()
        local function call(what)
          tried = tried + 1
          local r = app.get_json(srv.url .. "/c?what=" .. what)
          assert.equal("ngx", r.transport)
          return r
        end
        local r = call("redirect")
        assert.same({ "http", 302, "HTTP 302 with a success envelope" }, { r.kind, r.http_status, r.message })
        for i, code in ipairs(CODES) do
          r = call("code" .. i)
          local value = cjson.decode(code)
          if i <= 2 then
            assert.equal("Bound", r.status, code)
          elseif type(value) == "number" and value == math.floor(value) and value < 1e300 then
            assert.same({ "api", value }, { r.kind, r.response_code }, code)
          elseif code == '"1"' or code == '"412"' then
            assert.same({ "api", tonumber(value) }, { r.kind, r.response_code }, code)
          else
            assert.same({ "http", "response is not an Enkash envelope" }, { r.kind, r.message }, code)
          end
        end
        for _, what in ipairs({ "big1000000", "trailers800000", "lines10000" }) do
          r = call(what)
          assert.equal("transport", r.kind, what)
          assert.is_nil(r.message:lower():find("memory", 1, true))
        end
      end)
    end
  end
end

describe("hostile answers through the ngx transport (builtin engine)", suite("builtin"))
describe("hostile answers through the ngx transport (lua-resty-http adapter)", suite("resty"))

describe("hostile answers inside nginx, counted", function()
  it("tried every case", function()
    assert.is_true(tried > 0)
    print(("\n  ngx_nginx_hostile: %d hostile cases tried through the ngx transport"):format(tried))
  end)
end)
