--- A small RFC 4180 CSV reader and writer for bulk runs (header row, quoted fields).
-- A bad record never spoils the file: it is set aside with its line number and the reason,
-- and reading goes on at the next line. Only a file without a usable header row is refused.
-- @module enkash.cli.csv

local concat = table.concat

local M = {}

--- Longest record accepted, in bytes: a user's row is a few hundred bytes; this bounds the
-- work one hostile record can cause.
M.MAX_RECORD_BYTES = 65536
--- Most physical lines one record may span (a quoted field with line breaks, an address).
-- Past it the opening quote is taken for a stray one: the record fails alone and reading
-- goes on at its next line. It keeps the reader linear however many stray quotes a file holds.
M.MAX_RECORD_LINES = 64

local BOM = "\239\187\191"

local function too_long()
  return "record longer than " .. M.MAX_RECORD_BYTES .. " bytes"
end

-- Physical lines: LF, CRLF and a lone CR each end one (Excel on a Mac still writes CR).
local function split_lines(text)
  local lines, i, n = {}, 1, #text
  while i <= n do
    local j = text:find("[\r\n]", i)
    if not j then
      lines[#lines + 1] = text:sub(i)
      break
    end
    lines[#lines + 1] = text:sub(i, j - 1)
    if text:byte(j) == 13 and text:byte(j + 1) == 10 then j = j + 1 end
    i = j + 1
  end
  return lines
end

-- The rest of a quoted field that starts at byte `i` of lines[k] (just past its quote),
-- running on over the next lines when it holds line breaks (kept as "\n"). `st.size` counts
-- the record's bytes so far, over all its fields.
-- Returns the value, the line index and byte just past the closing quote; or nil, why.
local function quoted(lines, first, k, i, st)
  local buf, line = {}, lines[k]
  while true do
    local q = line:find('"', i, true)
    if q and line:byte(q + 1) == 34 then -- "" is one quote
      buf[#buf + 1] = line:sub(i, q)
      i = q + 2
    elseif q then
      buf[#buf + 1] = line:sub(i, q - 1)
      return concat(buf), k, q + 1
    else
      buf[#buf + 1] = line:sub(i)
      buf[#buf + 1] = "\n"
      k, i = k + 1, 1
      line = lines[k]
      if not line then return nil, "unterminated quoted field" end
      if k - first >= M.MAX_RECORD_LINES then
        return nil, "quoted field not closed within " .. M.MAX_RECORD_LINES .. " lines"
      end
      st.size = st.size + #line + 1
      if st.size > M.MAX_RECORD_BYTES then return nil, too_long() end
      if line:find("\0", 1, true) then return nil, "NUL byte in the record" end
    end
  end
end

-- The fields of the record that starts at lines[first].
-- Returns the fields and the index of the record's last line, or nil and why.
local function record(lines, first)
  local line = lines[first]
  if #line > M.MAX_RECORD_BYTES then return nil, too_long() end
  if line:find("\0", 1, true) then return nil, "NUL byte in the record" end
  local out, k, i, st = {}, first, 1, { size = #line }
  while true do
    local column = #out + 1
    if line:byte(i) == 34 then
      local value, nk, ni = quoted(lines, first, k, i + 1, st)
      if not value then return nil, nk end
      out[column], k, i, line = value, nk, ni, lines[nk]
      if i > #line then return out, k end
      if line:byte(i) ~= 44 then
        return nil, "text after the closing quote of field " .. column
      end
      i = i + 1
    else
      local c = line:find('[,"]', i)
      if c and line:byte(c) == 34 then return nil, "stray quote in unquoted field " .. column end
      out[column] = line:sub(i, (c or #line + 1) - 1)
      if not c then return out, k end
      i = c + 1
    end
  end
end

-- Column names: distinct, and never "_line" (the field that carries a row's line number).
local function check_header(cols)
  local seen = {}
  for _, name in ipairs(cols) do
    if name == "_line" then return nil, 'column name "_line" is reserved' end
    if name ~= "" and seen[name] then return nil, 'column "' .. name .. '" appears twice' end
    seen[name] = true
  end
  return true
end

-- A row keyed by header name; empty values and unnamed columns are left out.
local function make_row(header, cols, line)
  local row = { _line = line }
  for k, name in ipairs(header) do
    if name ~= "" and cols[k] ~= "" then row[name] = cols[k] end
  end
  return row
end

--- Parse CSV text with a header row. Blank lines are skipped; a UTF-8 BOM is dropped; LF,
-- CRLF and CR all end a line. A record that is malformed (a stray or unterminated quote, text
-- after a closing quote, a NUL byte, longer than `M.MAX_RECORD_BYTES`, a quoted field open for
-- more than `M.MAX_RECORD_LINES` lines) or whose field count differs from the header's is set
-- aside in `bad` with its first line's number, and reading goes on at the next line.
-- @tparam string text
-- @treturn table|nil rows, each with `_line` (the line number of its first line)
-- @treturn[opt] string err when there is no usable header row (the text is empty, or the
--   header row itself is malformed)
-- @treturn[opt] table header the column names
-- @treturn[opt] table bad `{line = n, error = why}` for every record set aside, in line order
function M.parse(text)
  if type(text) ~= "string" then error("csv.parse: text must be a string", 2) end
  if text:sub(1, 3) == BOM then text = text:sub(4) end
  local lines = split_lines(text)
  local header, rows, bad, k = nil, {}, {}, 1
  while k <= #lines do
    if lines[k] == "" then
      k = k + 1
    else
      local cols, last = record(lines, k)
      if not header then
        local ok, why = cols, last
        if cols then ok, why = check_header(cols) end
        if not ok then return nil, "line " .. k .. ": " .. why .. " (in the header row)" end
        header, k = cols, last + 1
      elseif not cols then
        bad[#bad + 1] = { line = k, error = last }
        k = k + 1 -- the quote may be a stray one: the next line may well be a good row
      elseif #cols ~= #header then
        bad[#bad + 1] = { line = k, error = ("%d field%s, the header has %d"):format(#cols,
          #cols == 1 and "" or "s", #header) }
        k = last + 1
      else
        rows[#rows + 1] = make_row(header, cols, k)
        k = last + 1
      end
    end
  end
  if not header then return nil, "empty CSV: no header row" end
  return rows, nil, header, bad
end

--- Read a CSV file with a header row (see `parse`: bad records are set aside, not fatal).
-- @tparam string path
-- @treturn table|nil rows, each with `_line` (its line number in the file)
-- @treturn[opt] string err the file cannot be read or has no usable header row
-- @treturn[opt] table header
-- @treturn[opt] table bad `{line = n, error = why}` per record set aside
function M.read(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("*a")
  f:close()
  if not text then return nil, path .. ": cannot be read" end
  local rows, perr, header, bad = M.parse(text)
  if not rows then return nil, path .. ": " .. perr end
  return rows, nil, header, bad
end

--- One CSV line from a list of values (quoted when needed).
-- @tparam table values
-- @treturn string
function M.line(values)
  local out = {}
  for i, v in ipairs(values) do
    v = tostring(v == nil and "" or v)
    if v:find('[,"\r\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
    out[i] = v
  end
  return table.concat(out, ",")
end

return M
