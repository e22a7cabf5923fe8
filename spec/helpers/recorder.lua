-- A recording server on 127.0.0.1 (nginx): it answers the token endpoint, answers every
-- other request with a success envelope, and keeps the last request (method, path, query,
-- headers, body) for the spec to read back at /_recorded.
local nginx = require "enkash.sandbox.nginx"
local cjson = require "cjson"
local core = require "enkash.core"

local M = {}

local server_conf = [[
  location = /oauth/token {
    content_by_lua_block {
      ngx.header["Content-Type"] = "application/json"
      ngx.say('{"access_token":"rec-token-0001","token_type":"bearer","expires_in":3600}')
    }
  }
  location = /_recorded {
    content_by_lua_block { ngx.print(ngx.shared.rec:get("last") or "{}") }
  }
  location / {
    content_by_lua_block {
      ngx.req.read_body()
      local cjson = require "cjson.safe"
      ngx.shared.rec:set("last", cjson.encode({
        method = ngx.req.get_method(), path = ngx.var.uri, query = ngx.var.args or "",
        headers = ngx.req.get_headers(), body = ngx.req.get_body_data() or "",
      }))
      -- A money call's answer names its reference, as Enkash's record would (enkash.reconcile
      -- believes no answer that does not).
      local body = cjson.decode(ngx.req.get_body_data() or "") or {}
      local payload = { recorded = true }
      if type(body) == "table" then
        payload.uniqueReferenceNumber = body.uniqueReferenceNumber
        payload.uniqueTransactionId = body.uniqueTransactionId
      end
      ngx.header["Content-Type"] = "application/json"
      ngx.say(cjson.encode({ response_code = 0, response_message = "Success", payload = payload }))
    }
  }
]]

--- Start the recorder; returns the server (srv.url, srv:stop()) and a function giving the
--- last recorded request as a table.
function M.start()
  local srv = assert(nginx.start{ sandbox = false, server_conf = server_conf,
                                  http_conf = "lua_shared_dict rec 1m;" })
  local h = core.http()
  local function last()
    local res = assert(h:request{ method = "GET", url = srv.url .. "/_recorded" })
    return cjson.decode(res.body)
  end
  return srv, last
end

return M
