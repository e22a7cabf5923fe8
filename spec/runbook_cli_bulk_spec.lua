-- `enkash run examples/bulk_wallets.lua --csv FILE --concurrency 20`: 1000 rows, 50 of them bad
-- (one field at fault each), against the nginx sandbox. Every good row makes its wallet, every
-- bad row fails alone with the field at fault in the results file, and a bad row never
-- reaches the API (validation before I/O). Lua 5.4 only ("cli_" keeps it out of LuaJIT's pass).
local control = require "helpers.control"
local cli = require "helpers.cli"
local csv = require "enkash.cli.csv"

local COLUMNS = { "title", "firstName", "lastName", "email", "mobile", "gender", "pan", "specialDate", "address",
                  "city", "state", "pincode", "country" }
local ROWS, BAD_EVERY = 1000, 20

-- How a bad row is made bad, and the field the error must name: each breaks a rule the
-- default config checks (PAN, pincode and date formats are not stated by Enkash and are
-- checked only with strict = true, enkash.validate.strict_only).
local BAD = {
  { field = "mobile", set = function(r) r.mobile = r.mobile:sub(1, 8) end },
  { field = "documents[1].docNo", set = function(r) r.pan = " " end },
  { field = "pincode", set = function(r) r.pincode = " " end },
  { field = "city", set = function(r) r.city = " " end },
  { field = "email", set = function(r) r.email = r.email:gsub("@", ".") end },
  { field = "lastName", set = function(r) r.lastName = "" end },
}

local function letters(n, width)
  local out = {}
  for _ = 1, width do
    out[#out + 1] = string.char(65 + n % 26)
    n = n // 26
  end
  return table.concat(out)
end

-- Row i (1-based; at line i + 1 of the file): a valid person with a mobile and a PAN of its own.
local function good_row(i)
  return {
    title = i % 2 == 0 and "Ms" or "Mr", firstName = "User" .. letters(i, 3), lastName = "Rao",
    email = ("user%d@example.com"):format(i), mobile = ("9%09d"):format(700000000 + i),
    gender = i % 2 == 0 and "F" or "M", pan = letters(i, 5) .. ("%04d"):format(i % 10000) .. "Z",
    specialDate = ("%02d-%02d-19%02d"):format(1 + i % 28, 1 + i % 12, 50 + i % 50),
    address = i % 3 == 0 and ("Flat %d, Lake View"):format(i) or ("%d MG Road"):format(i),
    city = "Pune", state = "Maharashtra", pincode = ("%06d"):format(411001 + i % 500), country = "India",
  }
end

-- The CSV text, and the bad rows: line number -> field at fault.
local function make_csv(rows)
  local lines, bad, good_mobiles = { csv.line(COLUMNS) }, {}, {}
  for _, i in ipairs(rows) do
    local r = good_row(i)
    local j = (i - 7) // BAD_EVERY
    if (i - 7) % BAD_EVERY == 0 and j >= 0 and j < ROWS // BAD_EVERY then
      local b = BAD[j % #BAD + 1]
      b.set(r)
      bad[#lines + 1] = b.field
    else
      good_mobiles[#good_mobiles + 1] = r.mobile
    end
    local values = {}
    for k, c in ipairs(COLUMNS) do values[k] = r[c] end
    lines[#lines + 1] = csv.line(values)
  end
  return table.concat(lines, "\n") .. "\n", bad, good_mobiles
end

local function esc(s) return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")) end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("enkash run --csv (bulk)", function()
  local sess = cli.session() -- sess.srv, sess.dir, sess.env; a reset sandbox before each test

  it("creates 950 wallets from 1000 rows; each of the 50 bad rows fails alone, naming its field", function()
    local all = {}
    for i = 1, ROWS do all[i] = i end
    local text, bad, good_mobiles = make_csv(all)
    assert.equals(50, count(bad))
    local seen = {}
    for _, f in pairs(bad) do seen[f] = (seen[f] or 0) + 1 end
    for _, b in ipairs(BAD) do assert.is_true((seen[b.field] or 0) >= 8, b.field .. " bad rows") end
    local path, out = sess.dir .. "/users.csv", sess.dir .. "/results.csv"
    cli.write(path, text)

    local r = cli.run({ "run", "examples/bulk_wallets.lua", "--csv", path, "--concurrency", "20", "--results", out,
                        "--run-id", "bulk", "--runs-dir", sess.dir .. "/runs" }, sess.env)
    print(("  bulk run: %d rows, concurrency 20, %.2f s"):format(ROWS, r.elapsed))
    assert.equals(1, r.code, "exit status 1 when some rows failed\n" .. r.out .. r.err)
    assert.matches("bulk: 1000 rows, 950 ok, 50 failed", r.out)

    local results = assert(csv.read(out))
    assert.equals(ROWS, #results, "one results line per row")
    local by_line = {}
    for _, row in ipairs(results) do
      local line = tonumber(row.row)
      assert.is_nil(by_line[line], "row " .. tostring(row.row) .. " reported twice")
      by_line[line] = row
    end
    for line = 2, ROWS + 1 do
      local row = by_line[line]
      assert.is_table(row, "no result for line " .. line)
      if bad[line] then
        assert.equals("failed", row.status, "line " .. line .. " is bad (" .. bad[line] .. ")")
        assert.equals(bad[line], row.field, "line " .. line .. ": " .. tostring(row.error))
        assert.equals("create wallet", row.failed_step)
      else
        assert.equals("ok", row.status, "line " .. line .. ": " .. tostring(row.error))
      end
    end
    local results_text = cli.read(out)
    for _, m in ipairs(good_mobiles) do
      assert.is_nil(results_text:find(m, 1, true), "a full mobile number in the results file")
    end

    local stats = control(sess.srv, "stats")
    assert.equals(950, stats.wallets)
    local wallets = 0
    for name in pairs(control(sess.srv, "ledger").accounts) do
      if name:match("^wallet:") then wallets = wallets + 1 end
    end
    assert.equals(950, wallets)
    -- Each good row makes two API requests (create wallet, wallet details); a bad row none.
    assert.equals(2 * 950, stats.api_requests)
  end)

  it("a malformed CSV record fails alone, with its line number; the other rows run", function()
    -- CRLF line ends and a BOM (as Excel writes them), a multi-line address, and one record of
    -- every malformed kind between good rows; the unterminated quote is the file's last line.
    local good = function(i)
      local r = good_row(i)
      local values = {}
      for k, c in ipairs(COLUMNS) do values[k] = r[c] end
      return values
    end
    local multi = good(3)
    multi[9] = "Flat 3,\nLake View" -- address: a quoted field over two lines
    local lines = { csv.line(COLUMNS), csv.line(good(1)),
      csv.line(good(2)):gsub("Rao", 'R"ao', 1),            -- line 3: stray quote
      csv.line(multi),                                     -- lines 4-5: one record
      '"' .. csv.line(good(4)),                            -- line 6: opening quote closed on line 8
      csv.line(good(5)),                                   -- line 7
      csv.line(good(6)):gsub(",", ",\0", 1),               -- line 8: NUL
      csv.line(good(7)) .. ",extra",                       -- line 9: too many fields
      "Mr,Short",                                          -- line 10: too few fields
      csv.line(good(8)):gsub("Rao", '"Rao"x', 1),          -- line 11: text after a closing quote
      csv.line(good(9)):gsub("Pune", string.rep("P", csv.MAX_RECORD_BYTES), 1), -- line 12: overlong
      csv.line(good(10)),                                  -- line 13
      '"' .. csv.line(good(11)) }                          -- line 14: unterminated at the end
    local path, out = sess.dir .. "/hostile.csv", sess.dir .. "/hostile-results.csv"
    cli.write(path, "\239\187\191" .. table.concat(lines, "\r\n"))
    local r = cli.run({ "run", "examples/bulk_wallets.lua", "--csv", path, "--results", out,
                        "--run-id", "hostile", "--runs-dir", sess.dir .. "/runs" }, sess.env)
    assert.equals(1, r.code, r.out .. r.err)
    local bad_lines = { 3, 6, 8, 9, 10, 11, 12, 14 }
    local good_lines = { 2, 4, 7, 13 }
    assert.matches(("bulk: %d rows, %d ok, %d failed"):format(#bad_lines + #good_lines, #good_lines, #bad_lines),
      r.out)
    local results = assert(csv.read(out))
    local by_line = {}
    for _, row in ipairs(results) do by_line[tonumber(row.row)] = row end
    for _, line in ipairs(bad_lines) do
      local row = by_line[line]
      assert.is_table(row, "no result for bad line " .. line)
      assert.equals("failed", row.status)
      assert.matches("^malformed CSV record: ", row.error)
      assert.matches(esc(path) .. " line " .. line .. ": ", r.err)
    end
    for _, line in ipairs(good_lines) do
      assert.equals("ok", by_line[line] and by_line[line].status, "line " .. line .. ": "
        .. tostring(by_line[line] and by_line[line].error))
    end
    assert.equals(#bad_lines + #good_lines, #results, "one results line per record")
    assert.equals(#good_lines, control(sess.srv, "stats").wallets)
  end)

  it("refuses a bad --concurrency as a usage error, before any row runs", function()
    local path = sess.dir .. "/one.csv"
    local values = {}
    for k, c in ipairs(COLUMNS) do values[k] = good_row(1)[c] end
    cli.write(path, csv.line(COLUMNS) .. "\n" .. csv.line(values) .. "\n")
    for _, c in ipairs({ "0", "-1", "1.5", "x", "nan", "1e9" }) do
      local r = cli.run({ "run", "examples/bulk_wallets.lua", "--csv", path, "--concurrency", c,
                          "--runs-dir", sess.dir .. "/runs" }, sess.env)
      assert.equals(2, r.code, c .. ": " .. r.out .. r.err)
      assert.matches("%-%-concurrency must be", r.err)
    end
    assert.equals(0, control(sess.srv, "stats").api_requests)
  end)

  it("sends nothing at all for rows that fail validation", function()
    local rows = {}
    for j = 0, ROWS // BAD_EVERY - 1 do rows[#rows + 1] = 7 + j * BAD_EVERY end
    local text, bad = make_csv(rows)
    assert.equals(#rows, count(bad), "every row of this file is bad")
    local path, out = sess.dir .. "/bad.csv", sess.dir .. "/bad-results.csv"
    cli.write(path, text)
    local r = cli.run({ "run", "examples/bulk_wallets.lua", "--csv", path, "--concurrency", "20", "--results", out,
                        "--run-id", "bad", "--runs-dir", sess.dir .. "/runs" }, sess.env)
    assert.equals(1, r.code, r.out .. r.err)
    local results = assert(csv.read(out))
    assert.equals(#rows, #results)
    for _, row in ipairs(results) do
      assert.equals("failed", row.status)
      assert.equals(bad[tonumber(row.row)], row.field)
    end
    local stats = control(sess.srv, "stats")
    assert.equals(0, stats.api_requests)
    assert.equals(0, stats.token_requests)
    assert.equals(0, stats.wallets)
  end)
end)
