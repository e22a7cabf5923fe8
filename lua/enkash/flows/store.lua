--- Checkpoint stores for runbook journals.
-- A store keeps one append-only journal per run id. The interface, for anyone adding a
-- shared store for a fleet (README, "Runbooks"):
--   store:open(run_id)   -> journal | nil, err   (creates it when new)
--   store:exists(run_id) -> boolean
--   journal:append(rec)  -> true | nil, err      durable (on disk, replicated) before it returns
--   journal:records()    -> list | nil, err      every record in append order, each as appended;
--                                                nil, "journal damaged at line N: <why>" when a
--                                                record is damaged or the first is not the run's
--                                                input (`t = "run"`): never a guess
--   journal:close()
-- Records are plain tables of strings, numbers, booleans and nested tables (JSON-able).
-- The embedded default writes one line per record to `<dir>/<run_id>.journal`, fsync'd per
-- record, with a checksum as its first field:
--   {"_sum":"<16 hex digits>",<the fields of the record's JSON text J>}
-- where the checksum is the first 16 hex digits of SHA-256(J). The line stays JSON (jq and
-- other readers see the record plus `_sum`), and the checksum turns damage into an error.
--
-- A journal written by the previous version (plain JSON lines, no checksum) is still read
-- when EVERY line of it is in that form, and is continued in that form; a mix of the two
-- forms is damage. Only the last line may fail (a crash mid-write: its append never
-- returned, so nothing it announced was sent); it is ignored, and cut off before the next
-- append so that it cannot end up in the middle of the journal.
-- @module enkash.flows.store

local cjson = require "cjson.safe"
local core = require "enkash.core"
local json = require "enkash.json"

local setmetatable, io_open, ipairs, type = setmetatable, io.open, ipairs, type
local byte, find, format, sub = string.byte, string.find, string.format, string.sub
local sha256 = core.sha256

local M = {}

-- A checksummed line starts with PREFIX; bytes 10..25 are the checksum, byte 26 its quote.
local PREFIX = '{"_sum":"'

-- First 16 hex digits of SHA-256: 64 bits catch any damage, and one digest per record is
-- cheap next to its fsync.
local function checksum(text)
  return format("%02x%02x%02x%02x%02x%02x%02x%02x", byte(sha256(text), 1, 8))
end

-- The line for the record text `j` (a JSON object): `_sum` first, then j's own fields.
local function seal(j)
  return PREFIX .. checksum(j) .. (j == "{}" and '"' or '",') .. sub(j, 2) .. "\n"
end

-- The record text of a checksummed line, or nil and why the line is damaged.
local function unseal(line)
  local rest = sub(line, 27)
  if sub(line, 26, 26) ~= '"' or (rest ~= "}" and sub(rest, 1, 1) ~= ",") then
    return nil, "malformed checksum"
  end
  local j = rest == "}" and "{}" or "{" .. sub(rest, 2)
  if checksum(j) ~= sub(line, 10, 25) then return nil, "checksum mismatch" end
  return j
end

local function is_sealed(line)
  return sub(line, 1, #PREFIX) == PREFIX
end

-- One line, in the journal's form, as a record; or nil and why it is damaged. The reasons
-- never quote the line: records hold PII.
local function parse(line, sealed)
  local j = line
  if sealed then
    if not is_sealed(line) then return nil, "no checksum (the other lines have one)" end
    local why
    j, why = unseal(line)
    if not j then return nil, why end
  end
  local rec = cjson.decode(j)
  if type(rec) ~= "table" then return nil, "not a JSON object" end
  return rec
end

-- The newline-terminated lines of `text` and the byte offset of each one's newline; bytes
-- after the last newline are a torn write and are not returned.
local function split(text)
  local lines, ends, pos = {}, {}, 1
  while true do
    local nl = find(text, "\n", pos, true)
    if not nl then return lines, ends end
    lines[#lines + 1] = sub(text, pos, nl - 1)
    ends[#lines] = nl
    pos = nl + 1
  end
end

-- Written by the previous version: lines, none of them checksummed.
local function is_legacy(lines)
  for _, line in ipairs(lines) do
    if is_sealed(line) then return false end
  end
  return #lines > 0
end

local function damaged(n, why)
  return "journal damaged at line " .. n .. ": " .. why
end

-- Read a journal's text: {records, legacy, keep = length of the trusted prefix,
-- torn = bytes after it} or nil, "journal damaged at line N: <why>".
local function scan(text)
  local lines, ends = split(text)
  local legacy = is_legacy(lines)
  local recs, keep = {}, 0
  for i, line in ipairs(lines) do
    local rec, why = parse(line, not legacy)
    if not rec then
      if i < #lines then return nil, damaged(i, why) end
      break -- the last line: torn by a crash, ignored
    end
    recs[i], keep = rec, ends[i]
  end
  -- Without its input a resume would run the steps on nothing: the run record comes first.
  if recs[1] and recs[1].t ~= "run" then
    return nil, damaged(1, "the first record is not the run's input")
  end
  return { records = recs, legacy = legacy, keep = keep, torn = keep < #text }
end

local function read(path)
  local f = io_open(path, "rb")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  return text
end

-- core.journal fsyncs the directory only when it creates a file: creating (and removing) a
-- marker makes a rename done just before durable.
local function sync_dir(path)
  local marker = path .. ".sync"
  os.remove(marker)
  local fd, err = core.journal(marker)
  if not fd then return nil, err end
  fd:close()
  os.remove(marker)
  return true
end

-- Cut a torn tail off `path`, leaving `prefix`: written whole to a fresh file (fsync'd by
-- the core), which replaces the journal in one rename. A crash at any point leaves either
-- the old journal (still torn, still readable) or the trimmed one.
local function trim(path, prefix)
  local tmp = path .. ".trim"
  os.remove(tmp)
  local fd, err = core.journal(tmp)
  if not fd then return nil, err end
  local ok = true
  if prefix ~= "" then ok, err = fd:append(prefix) end
  fd:close()
  if ok then ok, err = os.rename(tmp, path) end
  if not ok then
    os.remove(tmp)
    return nil, err
  end
  return sync_dir(path)
end

local File = {}
File.__index = File

local Journal = {}
Journal.__index = Journal

--- Append one record, durably (write + fsync), checksummed (or as plain JSON when the
-- journal was started by the previous version).
-- @tparam table rec
-- @treturn true|nil
-- @treturn[opt] string err
function Journal:append(rec)
  local j = json.encode(rec)
  if self.legacy then return self.fd:append(j .. "\n") end
  if sub(j, 1, 1) ~= "{" then return nil, "a journal record must be a JSON object" end
  return self.fd:append(seal(j))
end

--- Every record, in append order. A torn last line (a crash mid-write) is ignored; any
-- other damage, or a first record that is not the run's input, is an error.
-- @treturn table|nil list
-- @treturn[opt] string err "journal damaged at line N: <why>"
function Journal:records()
  local text = read(self.path)
  if not text then return {} end
  local s, err = scan(text)
  if not s then return nil, err end
  return s.records
end

--- Close the journal.
function Journal:close()
  self.fd:close()
end

--- A store of journal files in `dir` (created when missing).
-- @tparam string dir
-- @treturn table store
function M.file(dir)
  os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'")
  return setmetatable({ dir = dir }, File)
end

local function path_of(self, run_id)
  if not run_id:match("^[%w_.%-]+$") then error("bad run id: " .. run_id, 3) end
  return self.dir .. "/" .. run_id .. ".journal"
end

--- Open (or create) the journal of `run_id`. An existing journal's torn last line is cut
-- off first; a damaged one is left untouched (its records() says where).
-- @tparam string run_id letters, digits, '.', '_' or '-'
-- @treturn table|nil journal
-- @treturn[opt] string err
function File:open(run_id)
  local path = path_of(self, run_id)
  local text, legacy = read(path), false
  local s = text and scan(text)
  if s then
    legacy = s.legacy
    if s.torn then
      local ok, err = trim(path, sub(text, 1, s.keep))
      if not ok then return nil, err end
    end
  end
  local fd, err = core.journal(path)
  if not fd then return nil, err end
  return setmetatable({ fd = fd, path = path, legacy = legacy }, Journal)
end

--- Does a journal exist for `run_id`?
-- @tparam string run_id
-- @treturn boolean
function File:exists(run_id)
  local f = io_open(path_of(self, run_id), "rb")
  if f then f:close() end
  return f ~= nil
end

local Memory = {}
Memory.__index = Memory

local MemJournal = {}
MemJournal.__index = MemJournal

--- Append a record (kept in memory).
-- @tparam table rec
-- @treturn true
function MemJournal:append(rec)
  self.list[#self.list + 1] = rec
  return true
end

--- Every record, in append order (memory is never damaged).
-- @treturn table
function MemJournal:records()
  return self.list
end

--- Nothing to close.
function MemJournal.close() end

--- A store that keeps journals in memory: for dry runs and tests, not for resuming.
-- @treturn table store
function M.memory()
  return setmetatable({ runs = {} }, Memory)
end

--- Open (or create) the in-memory journal of `run_id`.
-- @tparam string run_id
-- @treturn table journal
function Memory:open(run_id)
  self.runs[run_id] = self.runs[run_id] or setmetatable({ list = {} }, MemJournal)
  return self.runs[run_id]
end

--- Does a journal exist for `run_id`?
-- @tparam string run_id
-- @treturn boolean
function Memory:exists(run_id)
  return self.runs[run_id] ~= nil
end

return M
