--- Checkpoint stores for runbook journals.
-- A store keeps one append-only journal per run id. The interface, for anyone adding a
-- shared store for a fleet (README, "Runbooks"):
--   store:open(run_id)   -> journal | nil, err   (creates it when new)
--   store:exists(run_id) -> boolean
--   journal:append(rec)  -> true | nil, err      durable (on disk, replicated) before it returns
--   journal:records()    -> list of records, in append order, each as appended
--   journal:close()
-- Records are plain tables of strings, numbers, booleans and nested tables (JSON-able).
-- The embedded default writes JSON lines to `<dir>/<run_id>.journal`, fsync'd per record.
-- @module enkash.runbook.store

local cjson = require "cjson.safe"
local core = require "enkash.core"
local json = require "enkash.json"

local setmetatable, io_open = setmetatable, io.open

local M = {}

local File = {}
File.__index = File

local Journal = {}
Journal.__index = Journal

--- Append one record, durably (write + fsync).
-- @tparam table rec
-- @treturn true|nil
-- @treturn[opt] string err
function Journal:append(rec)
  return self.fd:append(json.encode(rec) .. "\n")
end

--- Every record, in append order. A torn last line (a crash mid-write) is ignored.
-- @treturn table list
function Journal:records()
  local out = {}
  local f = io_open(self.path, "rb")
  if not f then return out end
  for line in f:lines() do
    local rec = cjson.decode(line)
    if type(rec) == "table" then out[#out + 1] = rec end
  end
  f:close()
  return out
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

--- Open (or create) the journal of `run_id`.
-- @tparam string run_id letters, digits, '.', '_' or '-'
-- @treturn table|nil journal
-- @treturn[opt] string err
function File:open(run_id)
  local path = path_of(self, run_id)
  local fd, err = core.journal(path)
  if not fd then return nil, err end
  return setmetatable({ fd = fd, path = path }, Journal)
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

--- Every record, in append order.
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
