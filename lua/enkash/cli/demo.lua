--- `enkash demo`: the bundled sandbox under nginx on loopback, then examples/bind_device.lua
-- run against it as a separate process through the libcurl transport, then the sandbox stops.
-- @module enkash.cli.demo

local nginx = require "enkash.sandbox.nginx"

local M = {}

M.help = [[
usage: enkash demo

Starts the bundled sandbox (nginx on 127.0.0.1, a free port), runs
examples/bind_device.lua against it (token -> generate -> poll status until bound),
and stops the sandbox. Exits with the example's status.]]

--- Run the demo.
-- @tparam table _ arguments (none)
-- @tparam table ctx {root = checkout directory}
-- @treturn number exit status
function M.run(_, ctx)
  local srv, err = nginx.start{ sandbox_opts = { bind_delay = 2 } }
  if not srv then
    io.stderr:write("enkash demo: cannot start the sandbox: ", tostring(err), "\n")
    return 1
  end
  print("sandbox: nginx on " .. srv.url .. " (pid " .. tostring(srv.pid) .. ")")
  local root = ctx.root
  local cmd = table.concat({
    "ENKASH_ENV=sandbox", "ENKASH_BASE_URL=" .. srv.url,
    "LUA_PATH='" .. root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;;'",
    "LUA_CPATH='" .. root .. "/build/lua5.4/?.so;;'",
    "lua5.4", root .. "/examples/bind_device.lua",
  }, " ")
  local ok, _, code = os.execute(cmd)
  srv:stop()
  print("sandbox: stopped")
  if ok then return 0 end
  return code or 1
end

return M
