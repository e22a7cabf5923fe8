-- Lua shared with nginx must stay LuaJIT-compatible; luacheck checks against both.
std = "lua54+luajit"
max_line_length = 110
codes = true
files["spec"] = { std = "+busted", max_line_length = 120 }
files["lua/enkash/sandbox/ngx_handler.lua"] = { read_globals = { "ngx" } }
files["lua/enkash/transport/ngx.lua"] = { read_globals = { "ngx" } }
files["lua/enkash/ngx.lua"] = { read_globals = { "ngx" } }
files["lua/enkash/ngx"] = { read_globals = { "ngx" } }
exclude_files = { "build/**", "tmp/**" }
