--- `enkash sandbox`: the bundled sandbox under nginx on 127.0.0.1, in the foreground until
-- Ctrl-C. Prints the URL, the (public) sandbox credentials and the control API.
-- @module enkash.cli.sandbox

local nginx = require "enkash.sandbox.nginx"
local money = require "enkash.money"
local dialect = require "enkash.sandbox.dialect"

local type, tonumber, tostring, format, concat = type, tonumber, tostring, string.format, table.concat

local M = {}

--- The port used when --port is not given.
M.DEFAULT_PORT = 8780

M.help = [[
usage: enkash sandbox [--port N] [--tls] [--bind-delay S] [--control] [--dialect D]

Runs the bundled Enkash sandbox (nginx with the lua module) on 127.0.0.1 in the
foreground until Ctrl-C.

  --port N        listen on port N (default 8780)
  --tls           serve HTTPS with a throwaway CA (its file is printed; give it to
                  your client as the CA bundle)
  --bind-delay S  seconds from Generate Device Binding until the status turns Bound
                  (default 3; 0 = at once; "never" = only the control call binds)
  --control       serve the control API under /_sandbox/ (off by default: it has no
                  auth, and anyone who reaches it can move the sandbox's money)
  --dialect D     the response shapes Enkash's products use: a preset,
                  ]] .. concat(dialect.names, ", ") .. [[ (default enkash),
                  or dimensions, e.g. envelope=code,lookups=page,pending=1,errors=spring
                  (the control call config changes it at run time)

The credentials printed are public test values of the sandbox, not Enkash's.
Control API (plain JSON, no auth, only with --control): POST /_sandbox/reset,
/_sandbox/config, /_sandbox/fault, /_sandbox/device, /_sandbox/advance,
/_sandbox/wallet, /_sandbox/transfer, /_sandbox/settlement, /_sandbox/vkyc,
/_sandbox/webhook, /_sandbox/report; GET /_sandbox/stats, /_sandbox/log,
/_sandbox/ledger, /_sandbox/notifications.]]

-- "paged" -> "paged"; "envelope=code,pending=1" -> {envelope = "code", pending = 1}; nil and
-- a message when the result is not a dialect.
local function parse_dialect(v)
  local d = v
  if v and v:find("=", 1, true) then
    d = {}
    for k, x in v:gmatch("([^,=]+)=([^,]*)") do d[k] = k == "pending" and tonumber(x) or x end
  end
  if type(d) ~= "string" and type(d) ~= "table" then return nil, "--dialect needs a preset or dimensions" end
  local ok, why = dialect.check(d)
  if not ok then return nil, "--dialect must be " .. why end
  return d
end

--- Parse the arguments after the verb into options for `enkash.sandbox.nginx.start`.
-- @tparam table args e.g. {"--port", "9000", "--tls", "--bind-delay", "0"}
-- @treturn table|nil {port, tls, sandbox_opts}
-- @treturn[opt] string usage error
local function parse(args)
  local o = { port = M.DEFAULT_PORT, tls = false, sandbox_opts = { control = false } }
  local i = 1
  while i <= #args do
    local a = args[i]
    local v = args[i + 1]
    if a == "--tls" then
      o.tls = true
    elseif a == "--control" then
      o.sandbox_opts.control = true
    elseif a == "--port" then
      local n = tonumber(v)
      if not n or n < 1 or n > 65535 or n % 1 ~= 0 then return nil, "--port needs a port number" end
      o.port = n
      i = i + 1
    elseif a == "--dialect" then
      local d, err = parse_dialect(v)
      if not d then return nil, err end
      o.sandbox_opts.dialect = d
      i = i + 1
    elseif a == "--bind-delay" then
      local n = tonumber(v)
      if v == "never" or v == "false" then
        o.sandbox_opts.bind_delay = false
      elseif n and n >= 0 then
        o.sandbox_opts.bind_delay = n
      else
        return nil, "--bind-delay needs seconds >= 0 or \"never\""
      end
      i = i + 1
    else
      return nil, "unknown argument: " .. tostring(a)
    end
    i = i + 1
  end
  return o
end

--- The banner printed once the server is about to run.
-- @tparam table srv the server (url, port, ca_file)
-- @tparam[opt] boolean control whether the control API is on
-- @param[opt] given the dialect given with --dialect (a preset name or a table)
-- @treturn string
function M.banner(srv, control, given)
  local d = require("enkash.sandbox").defaults
  local user, pass = next(d.users)
  local lines = {
    "enkash sandbox on " .. srv.url,
    "",
    "  base_url       " .. srv.url,
    "  auth_url       " .. srv.url .. "/oauth/token",
    "  partner_id     " .. d.partner_id,
    "  client_id      " .. d.client_id,
    "  client_secret  " .. d.client_secret,
    "  username       " .. user,
    "  password       " .. pass,
  }
  for id, paise in pairs(d.accounts) do
    lines[#lines + 1] = format("  card_account   %s (prefunded: Rs %s)", id, money.text(paise))
  end
  if srv.ca_file then lines[#lines + 1] = "  ca_file        " .. srv.ca_file end
  if given then
    local r = dialect.resolve(given)
    lines[#lines + 1] = format("  dialect        %s (envelope=%s lookups=%s pending=%d errors=%s)",
      type(given) == "string" and given or "custom", r.envelope, r.lookups, r.pending, r.errors)
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "  (public sandbox test values, not Enkash credentials)"
  if control then
    lines[#lines + 1] = "  control API    " .. srv.url .. "/_sandbox/{reset,config,fault,device,advance,"
      .. "wallet,transfer,settlement,vkyc,webhook,report,stats,log,ledger,notifications}"
  else
    lines[#lines + 1] = "  control API    off (start with --control to steer the sandbox over HTTP)"
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Press Ctrl-C to stop."
  return table.concat(lines, "\n")
end

--- Run the sandbox in the foreground.
-- @tparam table args the arguments after the verb
-- @treturn number exit status (0 after Ctrl-C, 1 when nginx fails, 2 on a usage error)
function M.run(args)
  local o, err = parse(args or {})
  if not o then
    io.stderr:write("enkash sandbox: ", err, "\n\n", M.help, "\n")
    return 2
  end
  o.foreground = true
  o.on_start = function(srv)
    print(M.banner(srv, o.sandbox_opts.control, o.sandbox_opts.dialect))
    io.stdout:flush()
  end
  local srv
  srv, err = nginx.start(o)
  if not srv then
    io.stderr:write("enkash sandbox: ", tostring(err), "\n")
    return 1
  end
  print(format("\nenkash sandbox: stopped (%s)", srv.url))
  return 0
end

M.parse = parse -- exposed for the specs

return M
