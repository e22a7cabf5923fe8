--- The client a CLI verb works with: the chosen environment, the bundled sandbox started
-- (and stopped) when needed, or the in-process sandbox behind a dry-run transport.
-- @module enkash.cli.session

local enkash = require "enkash"

local M = {}

--- Sandbox timings for runs on the bundled sandbox: quick enough to watch, slow enough to see.
M.sandbox_opts = { bind_delay = 2, vkyc_step = 1, tnc_accept_delay = 1, settlement_step = 5 }

local function has_credentials()
  for _, v in ipairs({ "ENKASH_CLIENT_SECRET", "ENKASH_PASSWORD", "ENKASH_BASE_URL" }) do
    if os.getenv(v) then return true end
  end
  return false
end

--- Open a client for a verb.
-- @tparam table o parsed options: env, ["dry-run"]
-- @tparam function say prints a line
-- @treturn table|nil client
-- @treturn function|string stop (call when done), or the error
function M.open(o, say)
  -- A dry run sends nothing and needs no host: it reads no ENKASH_* host or credential, so
  -- real ones in the environment neither stop it nor reach its output (dry_run.client).
  if o["dry-run"] then
    return require("enkash.transport.dry_run").client(say, { sandbox_opts = M.sandbox_opts })
  end
  local env = o.env or os.getenv("ENKASH_ENV") or (not has_credentials() and "sandbox" or nil)
  if not env then return nil, "credentials are set but no --env (or ENKASH_ENV) is given" end
  if env == "sandbox" and not os.getenv("ENKASH_BASE_URL") then
    local srv, err = require("enkash.sandbox.nginx").start{ sandbox_opts = M.sandbox_opts }
    if not srv then return nil, "cannot start the sandbox: " .. tostring(err) end
    say("sandbox: started on " .. srv.url)
    local client, cerr = enkash.new{ env = "sandbox", base_url = srv.url }
    if not client then
      srv:stop()
      return nil, tostring(cerr)
    end
    return client, function()
      client:close()
      srv:stop()
      say("sandbox: stopped")
    end
  end
  local client, err = enkash.new{ env = env }
  if not client then return nil, tostring(err) end
  return client, function() client:close() end
end

return M
