--- The nginx content handler of the sandbox (LuaJIT, inside nginx with the lua module).
--
--     init_worker_by_lua_block { require("enkash.sandbox.ngx_handler").init("/path/opts.json") }
--     location / { content_by_lua_block { require("enkash.sandbox.ngx_handler").handle() } }
--
-- Each worker holds its own emulator in this module, so state is consistent only with one
-- worker (the runner's default). Raw faults write bytes on the raw request socket. Webhooks
-- go out from timers (enkash.sandbox.ngx_sender), so no request waits for a partner.
-- @module enkash.sandbox.ngx_handler

local sandbox = require "enkash.sandbox"
local cjson = require "cjson.safe"

-- ngx.status and ngx.header are meant to be written; luacheck knows ngx only as read-only.
-- luacheck: ignore 122
local ngx = ngx
local type, pairs, pcall, tostring, tonumber = type, pairs, pcall, tostring, tonumber
local concat, format = table.concat, string.format
local lower, upper, gsub = string.lower, string.upper, string.gsub

local M = {}

local sb

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("*a")
  f:close()
  return s
end

--- Create this worker's sandbox, then mark the worker ready for the runner
-- (file `ready-<worker id>` in the nginx prefix).
-- @param opts a table of sandbox options, or the path of a JSON file holding them
function M.init(opts)
  if type(opts) == "string" then
    local text = assert(read_file(opts))
    opts = assert(cjson.decode(text), "sandbox options file is not JSON: " .. opts)
  end
  opts = opts or {}
  if opts.sender == nil then opts.sender = require("enkash.sandbox.ngx_sender").sender end
  sb = sandbox.new(opts)
  local marker = ngx.config.prefix() .. "ready-" .. tostring(ngx.worker.id() or 0)
  local f = io.open(marker, "w")
  if f then
    f:write(tostring(ngx.worker.pid()), "\n")
    f:close()
  end
end

--- This worker's sandbox (created with default options on first use when `init` was not run).
-- @treturn table sandbox
function M.sandbox()
  if not sb then sb = sandbox.new{ sender = require("enkash.sandbox.ngx_sender").sender } end
  return sb
end

-- "www-authenticate" -> "Www-Authenticate" (names are case-insensitive; this reads better).
local function canonical(name)
  return (gsub(name, "(%w)(%w*)", function(a, b) return upper(a) .. b end))
end

local function request_body()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then return body end
  local file = ngx.req.get_body_file()
  if file then return read_file(file) or "" end
  return ""
end

-- Write a raw fault's bytes on the raw socket and close the connection.
local function raw(res)
  if res.raw == "reset" then return ngx.exit(444) end -- close without a response
  local sock, err = ngx.req.socket(true)
  if not sock then
    ngx.log(ngx.ERR, "sandbox: no raw socket for fault ", res.raw, ": ", err)
    return ngx.exit(444)
  end
  local data = res.body or ""
  if res.raw == "truncate" then
    local head = { format("HTTP/1.1 %d OK", res.status) }
    for k, v in pairs(res.headers or {}) do head[#head + 1] = canonical(k) .. ": " .. tostring(v) end
    head[#head + 1] = "Connection: close"
    data = concat(head, "\r\n") .. "\r\n\r\n" .. data
  end
  sock:send(data)
  return ngx.exit(444)
end

--- The content handler: read the request, let the sandbox answer, write the answer.
function M.handle()
  local s = M.sandbox()
  local headers = {}
  for k, v in pairs(ngx.req.get_headers(200)) do
    if type(v) == "table" then v = concat(v, ", ") end
    headers[lower(k)] = v
  end
  local ok, res = pcall(s.handle, s, {
    method = ngx.req.get_method(), path = ngx.var.uri, query = ngx.var.args, headers = headers,
    body = request_body(), conn = tonumber(ngx.var.connection) or ngx.var.connection,
  })
  if not ok then
    ngx.log(ngx.ERR, "sandbox error: ", res)
    res = { status = 500, headers = { ["content-type"] = "application/json" },
            body = '{"status":500,"error":"Internal Server Error"}' }
  end
  if res.delay and res.delay > 0 then ngx.sleep(res.delay) end
  if res.raw then return raw(res) end
  ngx.status = res.status
  for k, v in pairs(res.headers or {}) do
    if k ~= "content-length" then ngx.header[canonical(k)] = v end
  end
  local body = res.body or ""
  ngx.header["Content-Length"] = #body
  ngx.print(body)
  return ngx.exit(ngx.OK)
end

return M
