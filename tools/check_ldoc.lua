-- Every public function under lua/ carries an LDoc `---` comment: a `function M.x`,
-- `function M:x` or `function T.x/T:x` (T a class table) whose comment block above it does not
-- start with `---` is reported. Usage: lua5.4 tools/check_ldoc.lua FILE... ; exits 1 on misses.
local misses = 0
for _, path in ipairs(arg) do
  local lines = {}
  for line in io.lines(path) do lines[#lines + 1] = line end
  for i, line in ipairs(lines) do
    local name = line:match("^function ([%w_]+[.:][%w_]+)%s*%(")
    if name then
      local j = i - 1
      while j > 0 and lines[j]:match("^%-%-") and not lines[j]:match("^%-%-%-") do j = j - 1 end
      if j == 0 or not lines[j]:match("^%-%-%-") then
        misses = misses + 1
        print(("%s:%d: public function %s has no LDoc --- comment"):format(path, i, name))
      end
    end
  end
end
if misses > 0 then os.exit(1) end
