--- The webhook sender used inside nginx: the request handler never waits for the partner.
-- `sender(msg, done)` schedules a zero-delay timer; the timer POSTs over a cosocket (raw
-- HTTP/1.1, Connection: close) and retries with ngx.sleep backoff (enkash.sandbox.notify),
-- then calls `done`. http:// URLs only: the sandbox's webhooks go to a partner's test
-- receiver on loopback. A host name needs a `resolver` directive in nginx.conf; an IP
-- address does not.
-- @module enkash.sandbox.ngx_sender

-- luacheck: read globals ngx

local notify = require "enkash.sandbox.notify"

local tonumber, tostring, match, format = tonumber, tostring, string.match, string.format

local M = {}

--- Split an http:// URL into host, port and path (with its query).
-- @tparam string url
-- @treturn string|nil host
-- @treturn number|string port, or the error when host is nil
-- @treturn string path
function M.parse_url(url)
  local rest = match(url or "", "^[Hh][Tt][Tt][Pp]://(.+)$")
  if not rest then return nil, "only http:// webhook URLs are supported in nginx" end
  local authority, path = match(rest, "^([^/?#]+)([^#]*)")
  if not authority then return nil, "no host in the URL" end
  if path == "" then path = "/" elseif path:sub(1, 1) == "?" then path = "/" .. path end
  local host, port = match(authority, "^%[(.+)%]:?(%d*)$") -- [::1]:8080
  if not host then host, port = match(authority, "^([^:]+):?(%d*)$") end
  if not host then return nil, "bad host in the URL" end
  return host, tonumber(port) or 80, path
end

--- One POST over a cosocket; the status of the reply, or nil and an error.
-- @tparam table msg {url, headers, body}
-- @treturn number|nil HTTP status
-- @treturn[opt] string error
function M.post(msg)
  local host, port, path = M.parse_url(msg.url)
  if not host then return nil, port end
  local sock = ngx.socket.tcp()
  sock:settimeout(notify.TIMEOUT * 1000)
  local ok, err = sock:connect(host, port)
  if not ok then return nil, "connect: " .. tostring(err) end
  local head = { format("POST %s HTTP/1.1", path), format("Host: %s:%d", host, port),
                 "Content-Length: " .. #msg.body, "Connection: close", "User-Agent: enkash-sandbox" }
  for k, v in pairs(msg.headers or {}) do head[#head + 1] = k .. ": " .. v end
  ok, err = sock:send(table.concat(head, "\r\n") .. "\r\n\r\n" .. msg.body)
  if not ok then
    sock:close()
    return nil, "send: " .. tostring(err)
  end
  local line
  line, err = sock:receive("*l")
  sock:close()
  if not line then return nil, "receive: " .. tostring(err) end
  local status = tonumber(match(line, "^HTTP/%d%.%d (%d%d%d)"))
  if not status then return nil, "not an HTTP response" end
  return status, status >= 300 and ("HTTP " .. status) or nil
end

--- The sender: deliver from a timer, so the request handler returns at once.
-- @tparam table msg {url, headers, body}
-- @tparam function done completion callback (see enkash.sandbox.notify)
function M.sender(msg, done)
  local ok, err = ngx.timer.at(0, function(premature)
    if premature then return end -- nginx is exiting
    notify.deliver(msg, done, M.post, ngx.sleep)
  end)
  if not ok then done{ delivered = false, attempts = 0, error = "timer: " .. tostring(err) } end
end

return M
