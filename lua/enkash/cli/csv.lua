--- A small RFC 4180 CSV reader and writer for bulk runs (header row, quoted fields).
-- @module enkash.cli.csv

local M = {}

-- Split one record; `line` may hold several physical lines when a quoted field spans them.
local function fields(line)
  local out, i, n = {}, 1, #line
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then return nil end -- unterminated quote
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      out[#out + 1] = table.concat(buf)
      if i <= n and line:sub(i, i) ~= "," then return nil end
      i = i + 1
    else
      local c = line:find(",", i, true) or (n + 1)
      out[#out + 1] = line:sub(i, c - 1)
      i = c + 1
    end
  end
  return out
end

--- Read a CSV file with a header row into a list of rows (tables keyed by header).
-- @tparam string path
-- @treturn table|nil rows, each with `_line` (its line number in the file)
-- @treturn[opt] string err
function M.read(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("*a"):gsub("\r\n", "\n")
  f:close()
  local header, rows, pending, line_no, start = nil, {}, nil, 0, 0
  for line in (text .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do
    line_no = line_no + 1
    local record = pending and (pending .. "\n" .. line) or line
    local _, quotes = record:gsub('"', "")
    if quotes % 2 == 1 then
      pending, start = record, start > 0 and start or line_no
    else
      pending = nil
      local at = start > 0 and start or line_no
      start = 0
      if record ~= "" then
        local cols = fields(record)
        if not cols then return nil, path .. ":" .. at .. ": malformed CSV" end
        if not header then
          header = cols
        else
          local row = { _line = at }
          for k, name in ipairs(header) do
            if cols[k] ~= nil and cols[k] ~= "" then row[name] = cols[k] end
          end
          rows[#rows + 1] = row
        end
      end
    end
  end
  if pending then return nil, path .. ": unterminated quoted field" end
  if not header then return nil, path .. ": empty CSV" end
  return rows, nil, header
end

--- One CSV line from a list of values (quoted when needed).
-- @tparam table values
-- @treturn string
function M.line(values)
  local out = {}
  for i, v in ipairs(values) do
    v = tostring(v == nil and "" or v)
    if v:find('[,"\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
    out[i] = v
  end
  return table.concat(out, ",")
end

return M
