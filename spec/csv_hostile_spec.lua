-- enkash.cli.csv against hostile files: one bad record fails alone, with the number of its
-- first line, and every other row comes out whole with its own line number. The walk: every
-- kind of bad record (stray quote, unterminated quote mid-file and at the end, text after a
-- closing quote, NUL, overlong line, too many / too few fields, a quote left open past
-- MAX_RECORD_LINES) at the first, a middle and the last row, under LF, CRLF and CR line ends,
-- with and without a BOM and a final line end; then the file-level cases (empty, header only,
-- BOM only, a bad header). Runs under Lua 5.4 and LuaJIT.
local csv = require "enkash.cli.csv"

local HEADER = { "firstName", "lastName", "address", "note" }

-- Good rows whose values need quoting: commas, doubled quotes, a line break (multi-line record).
local GOOD = {
  { "Asha", "Rao", "12 MG Road", "plain" },
  { "Ravi", "Iyer", "Flat 3, Lake View", 'says "hi"' },
  { "Meera", "Nair", "Line one\nLine two", "" },
  { "Kiran", "Das", '"Quoted" House', "a,b,c" },
  { "Zoya", "Khan", "", "last, but not least" },
}

-- Hostile records: the physical text of the record and whether it is meant to fail.
local HOSTILE = {
  { name = "stray quote in an unquoted field", text = 'Om,Ra"o,1 Main St,x' },
  { name = "stray opening quote, never closed", text = '"Om,Rao,1 Main St,x' },
  { name = "text after a closing quote", text = '"Om"x,Rao,1 Main St,x' },
  { name = "NUL byte", text = "Om,Rao,1 Main\0St,x" },
  { name = "overlong line", text = "Om,Rao," .. string.rep("a", csv.MAX_RECORD_BYTES) .. ",x" },
  { name = "too many fields", text = "Om,Rao,1 Main St,x,extra" },
  { name = "too few fields", text = "Om,Rao" },
  { name = "one field", text = "Om" },
}

local ENDINGS = { LF = "\n", CRLF = "\r\n", CR = "\r" }
local ENDING_NAMES = { "LF", "CRLF", "CR" }

-- The file's text and what must come out: rows in order with their first line numbers, and
-- the line of the bad record (nil when there is none).
local function build(bad_at, hostile, eol, bom, final_eol)
  local lines, expect, bad_line = { csv.line(HEADER) }, {}, nil
  local n = 1 -- physical lines so far
  local function add(text)
    lines[#lines + 1] = text
    local at = n + 1
    local _, breaks = text:gsub("\n", "")
    n = n + 1 + breaks
    return at
  end
  for i = 1, #GOOD + 1 do
    if i == bad_at then bad_line = add(hostile.text) end
    if GOOD[i] then
      local at = add(csv.line(GOOD[i]))
      expect[#expect + 1] = { line = at, values = GOOD[i] }
    end
  end
  local text = table.concat(lines, "\n"):gsub("\n", eol)
  if final_eol then text = text .. eol end
  if bom then text = "\239\187\191" .. text end
  return text, expect, bad_line
end

-- Rows match `expect` exactly (values and line numbers); `bad` holds exactly `bad_line`.
local function check(rows, bad, expect, bad_line, what)
  assert.equals(#expect, #rows, what .. ": rows")
  for i, e in ipairs(expect) do
    local row = rows[i]
    assert.equals(e.line, row._line, what .. ": line of row " .. i)
    for k, name in ipairs(HEADER) do
      local want = e.values[k] ~= "" and e.values[k] or nil
      assert.equals(want, row[name], what .. ": row " .. i .. " " .. name)
    end
  end
  if bad_line then
    assert.equals(1, #bad, what .. ": bad records")
    assert.equals(bad_line, bad[1].line, what .. ": line of the bad record")
    assert.is_string(bad[1].error)
  else
    assert.same({}, bad, what)
  end
end

describe("csv: hostile files", function()
  it("walks every bad record at every position, under every line end, BOM and final newline", function()
    local cases = 0
    for _, h in ipairs(HOSTILE) do
      for _, pos in ipairs({ 1, 3, #GOOD + 1 }) do
        for _, e in ipairs(ENDING_NAMES) do
          for _, bom in ipairs({ false, true }) do
            for _, final in ipairs({ true, false }) do
              local what = ("%s at row %d, %s%s%s"):format(h.name, pos, e, bom and ", BOM" or "",
                final and "" or ", no final line end")
              local text, expect, bad_line = build(pos, h, ENDINGS[e], bom, final)
              local rows, err, header, bad = csv.parse(text)
              assert.is_nil(err, what)
              assert.same(HEADER, header, what)
              check(rows, bad, expect, bad_line, what)
              cases = cases + 1
            end
          end
        end
      end
    end
    assert.equals(#HOSTILE * 3 * 3 * 2 * 2, cases)
    print(("  csv walk: %d hostile-record cases"):format(cases))
  end)

  it("reads the good file whole under every line end (multi-line record at its first line)", function()
    for _, e in ipairs(ENDING_NAMES) do
      local text, expect = build(nil, nil, ENDINGS[e], false, true)
      local rows, err, _, bad = csv.parse(text)
      assert.is_nil(err)
      check(rows, bad, expect, nil, e)
      assert.equals("Line one\nLine two", rows[3].address) -- a line break comes back as "\n"
      assert.equals(4, rows[3]._line)
      assert.equals(6, rows[4]._line) -- after the two-line record
    end
  end)

  it("a quote left open past MAX_RECORD_LINES fails alone; every later row runs", function()
    local lines = { "a,b", '"x,1' }
    for i = 1, csv.MAX_RECORD_LINES + 10 do lines[#lines + 1] = "r" .. i .. "," .. i end
    local rows, err, _, bad = csv.parse(table.concat(lines, "\n"))
    assert.is_nil(err)
    assert.equals(1, #bad)
    assert.equals(2, bad[1].line)
    assert.matches("not closed within", bad[1].error)
    assert.equals(csv.MAX_RECORD_LINES + 10, #rows)
    assert.equals(3, rows[1]._line)
  end)

  it("many stray quotes: each fails alone, the reader stays linear (bounded lines per attempt)", function()
    local n = 3000
    local lines = { "a,b" }
    for i = 1, n do lines[#lines + 1] = (i % 2 == 0 and '"' or "") .. "v" .. i .. "," .. i end
    local rows, err, _, bad = csv.parse(table.concat(lines, "\n"))
    assert.is_nil(err)
    -- an even row's quote opens; it closes at the next even row's quote, followed by "v": bad.
    -- So every even row is bad on its own, every odd row is read.
    assert.equals(n / 2, #bad)
    assert.equals(n / 2, #rows)
    for i, b in ipairs(bad) do assert.equals(2 * i + 1, b.line) end
    for i, r in ipairs(rows) do assert.equals(2 * i, r._line) end
  end)

  it("blank lines are skipped, and counted", function()
    local rows, _, _, bad = csv.parse("\n\na,b\n\n1,2\r\n\r\n3,4\n")
    assert.same({}, bad)
    assert.equals(5, rows[1]._line)
    assert.equals(7, rows[2]._line)
  end)

  describe("file-level cases", function()
    local function refused(text, pattern)
      local rows, err = csv.parse(text)
      assert.is_nil(rows)
      assert.matches(pattern, err)
    end

    it("an empty file, blank lines only or a BOM only: no header row", function()
      refused("", "empty CSV")
      refused("\n\r\n\r", "empty CSV")
      refused("\239\187\191", "empty CSV")
    end)

    it("a header-only file is no rows and no bad records", function()
      for _, text in ipairs({ "a,b", "a,b\n", "\239\187\191a,b\r\n", "a,b\r" }) do
        local rows, err, header, bad = csv.parse(text)
        assert.is_nil(err)
        assert.same({}, rows)
        assert.same({ "a", "b" }, header)
        assert.same({}, bad)
      end
    end)

    it("a malformed header refuses the file, naming its line", function()
      refused('\na,"b\n1,2\n', "^line 2: unterminated quoted field %(in the header row%)")
      refused('a,b"c\n1,2\n', "^line 1: stray quote")
      refused("a,b\0\n1,2\n", "^line 1: NUL byte")
      refused("a,b,a\n1,2,3\n", 'column "a" appears twice')
      refused("_line,b\n1,2\n", "reserved")
    end)

    it("an unreadable file is an error, not a raise", function()
      local rows, err = csv.read("/nonexistent/enkash-spec.csv")
      assert.is_nil(rows)
      assert.is_string(err)
    end)
  end)

  it("csv.line quotes CR too, so what it writes reads back under any line end", function()
    local values = { "a\rb", "c\r\nd", 'e"f', "g,h", "plain" }
    local rows, err, _, bad = csv.parse("1,2,3,4,5\n" .. csv.line(values) .. "\n")
    assert.is_nil(err)
    assert.same({}, bad)
    -- line ends inside a quoted field come back as "\n"
    assert.same({ _line = 2, ["1"] = "a\nb", ["2"] = "c\nd", ["3"] = 'e"f', ["4"] = "g,h", ["5"] = "plain" },
      rows[1])
  end)
end)
