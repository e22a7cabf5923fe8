-- Calls the sandbox control API of a server started by enkash.sandbox.nginx, over HTTP.
local cjson = require "cjson"
local core = require "enkash.core"

local calls = require("enkash.sandbox.control").calls

--- control(srv, name, args) -> decoded JSON answer (raises on failure: tests want to stop)
return function(srv, name, args)
  local h = core.http{ ca_file = srv.ca_file }
  local method = assert(calls[name], "no control call " .. name).method
  local res, msg, kind = h:request{
    method = method, url = srv.url .. "/_sandbox/" .. name,
    headers = { ["Content-Type"] = "application/json" },
    body = method == "POST" and cjson.encode(args or {}) or nil,
  }
  h:close()
  assert(res, tostring(kind) .. ": " .. tostring(msg))
  assert(res.status == 200, "control " .. name .. ": HTTP " .. res.status .. " " .. res.body)
  return cjson.decode(res.body)
end
