--- `enkash demo`: the full onboarding runbook (examples/onboarding.lua) against the bundled
-- sandbox under nginx on 127.0.0.1, over real HTTP through libcurl; the sandbox is started
-- for the run and stopped afterwards. The journal stays in .enkash/runs for a look.
-- @module enkash.cli.demo

local M = {}

M.help = [[
usage: enkash demo

Starts the bundled sandbox (nginx on 127.0.0.1, a free port), runs the full onboarding
runbook (examples/onboarding.lua with examples/onboarding.json: device bind, T&C gate,
wallet, activation, top-up, OTP, VKYC, KYC status) against it, and stops the sandbox.
Exits with the run's status.]]

--- Run the demo.
-- @tparam table _ arguments (none)
-- @tparam table ctx {root = checkout directory}
-- @treturn number exit status
function M.run(_, ctx)
  return require("enkash.cli.run").run({
    ctx.root .. "/examples/onboarding.lua", "--input", ctx.root .. "/examples/onboarding.json",
    "--env", "sandbox",
  })
end

return M
