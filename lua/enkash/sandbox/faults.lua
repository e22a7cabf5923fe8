--- Failures injected on request (control call `fault`), matched by endpoint row name or "*".
-- Each fault has a count consumed by matching requests; the first pending match in the order
-- the faults were added fires. Any fault may also carry `delay` (seconds before answering).
-- By default a fault answers instead of the call: nothing was processed ("failed before
-- commit"). With `after_commit = true` the call is processed and committed first and the
-- fault replaces its answer; `commit_timeout` is that with the real answer held back for
-- `delay` seconds (default 5), so a client with a shorter timeout never sees it.
-- @module enkash.sandbox.faults

local http = require "enkash.sandbox.http"

local type, tostring, format, floor = type, tostring, string.format, math.floor

local M = {}

-- What nginx itself answers when its upstream fails.
local BAD_GATEWAY = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
  .. "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

-- Bytes that are not HTTP at all (a TLS alert, a NUL, invalid UTF-8, a stray banner).
local GARBAGE = "\21\3\3\0\2\2\80\0\255\254SSH-2.0-not-http\r\n\0\1\2\3garbage\r\n"

--- Fault kinds: each builds the response, given the fault and a context
-- `{endpoint =, api_error = function(msg) -> response}`; nil means "answer normally".
M.kinds = {
  http_502_html = function()
    return http.text(502, "text/html", BAD_GATEWAY)
  end,
  non_json = function()
    return http.text(200, "text/plain", "OK")
  end,
  truncated = function()
    local res = http.json(200, http.ok({ status = "Pending", note = "this body is cut short" }))
    res.body = res.body:sub(1, 20)
    res.headers["content-length"] = "1000"
    res.raw = "truncate"
    return res
  end,
  reset = function()
    return { status = 0, headers = {}, body = "", raw = "reset" }
  end,
  garbage = function()
    return { status = 0, headers = {}, body = GARBAGE, raw = "garbage" }
  end,
  api_error = function(f, ctx)
    return ctx.api_error(f.message or "Sandbox injected failure")
  end,
  unauthorized = function(_, ctx)
    return ctx.unauthorized()
  end,
  delay = function()
    return nil
  end,
  commit_timeout = function()
    return nil -- the real answer, late: see M.after_commit and the default delay
  end,
  http_status = function(f)
    local body = f.body
    if body == nil then
      body = format('{"status":%d,"error":"%s"}', f.status, http.reasons[f.status] or "Error")
    end
    local ctype = f.content_type
    if not ctype then
      ctype = body:match("^%s*[{%[]") and "application/json" or "text/plain"
    end
    local res = http.text(f.status, ctype, body)
    if f.retry_after ~= nil then res.headers["retry-after"] = tostring(f.retry_after) end
    return res
  end,
}

local function is_number(v) return type(v) == "number" and v == v end

--- Seconds a commit_timeout holds the answer back when no delay is given.
M.COMMIT_TIMEOUT_DELAY = 5

--- Does this fault let the call be processed (and committed) before it answers?
-- @tparam table f fault
-- @treturn boolean
function M.after_commit(f)
  return f.after_commit == true or f.kind == "commit_timeout"
end

--- Check and normalise the arguments of the `fault` control call.
-- @tparam table args {endpoint, kind, count, delay, message, status, body, content_type,
-- retry_after, after_commit}
-- @tparam function known_endpoint predicate: is this a row name the sandbox routes?
-- @treturn table|nil fault
-- @treturn[opt] string error message
function M.check(args, known_endpoint)
  local ep, kind = args.endpoint or "*", args.kind
  if type(ep) ~= "string" or (ep ~= "*" and not known_endpoint(ep)) then
    return nil, "unknown endpoint: " .. tostring(ep)
  end
  if type(kind) ~= "string" or not M.kinds[kind] then
    return nil, "unknown fault kind: " .. tostring(kind)
  end
  local count = args.count
  if count == nil then count = 1 end
  if not is_number(count) or (count ~= -1 and (count < 1 or floor(count) ~= count)) then
    return nil, "count must be a positive integer, or -1 for always"
  end
  local delay = args.delay
  if kind == "delay" and delay == nil then delay = 1 end
  if kind == "commit_timeout" and delay == nil then delay = M.COMMIT_TIMEOUT_DELAY end
  if delay ~= nil and (not is_number(delay) or delay < 0) then
    return nil, "delay must be a number of seconds >= 0"
  end
  if args.after_commit ~= nil and type(args.after_commit) ~= "boolean" then
    return nil, "after_commit must be a boolean"
  end
  local f = { endpoint = ep, kind = kind, count = count, delay = delay,
              after_commit = args.after_commit or nil }
  if args.message ~= nil then
    if type(args.message) ~= "string" then return nil, "message must be a string" end
    f.message = args.message
  end
  if kind == "http_status" then
    local s = args.status
    if not is_number(s) or s < 100 or s > 599 or floor(s) ~= s then
      return nil, "status must be an HTTP status (100-599)"
    end
    f.status = s
    if args.body ~= nil and type(args.body) ~= "string" then return nil, "body must be a string" end
    if args.content_type ~= nil and type(args.content_type) ~= "string" then
      return nil, "content_type must be a string"
    end
    if args.retry_after ~= nil and not is_number(args.retry_after) and type(args.retry_after) ~= "string" then
      return nil, "retry_after must be a number or a string"
    end
    f.body, f.content_type, f.retry_after = args.body, args.content_type, args.retry_after
  end
  return f
end

--- Take the first pending fault matching `endpoint`, consuming one of its count.
-- @tparam table list the state's fault list
-- @tparam string endpoint row name
-- @treturn table|nil fault
function M.take(list, endpoint)
  for i = 1, #list do
    local f = list[i]
    if f.endpoint == "*" or f.endpoint == endpoint then
      if f.count ~= -1 then
        f.count = f.count - 1
        if f.count <= 0 then table.remove(list, i) end
      end
      return f
    end
  end
  return nil
end

--- The response a fault makes, or nil to answer normally (after `fault.delay`).
-- @tparam table f fault
-- @tparam table ctx {endpoint, api_error(msg), unauthorized()}
-- @treturn table|nil response
function M.response(f, ctx)
  return M.kinds[f.kind](f, ctx)
end

return M
