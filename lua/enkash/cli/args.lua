--- Command-line parsing for the CLI verbs: `--name value` options, `--flag` switches and
-- positional arguments, from one table per verb.
-- @module enkash.cli.args

local M = {}

--- Parse `args` against `spec`.
-- @tparam table args the arguments after the verb
-- @tparam table spec option name (without dashes) -> "value" | "flag"
-- @treturn table|nil opts options by name, positionals in opts[1..n]
-- @treturn[opt] string usage error
function M.parse(args, spec)
  local opts, i = {}, 1
  while i <= #args do
    local a = args[i]
    local name = a:match("^%-%-([%w%-]+)$")
    if name then
      local kind = spec[name]
      if not kind then return nil, "unknown option --" .. name end
      if kind == "flag" then
        opts[name] = true
      else
        local v = args[i + 1]
        if v == nil then return nil, "--" .. name .. " needs a value" end
        opts[name] = v
        i = i + 1
      end
    else
      opts[#opts + 1] = a
    end
    i = i + 1
  end
  return opts
end

return M
