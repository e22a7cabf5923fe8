-- The old name: the scheduler (enkash.transport.scheduler) with the catalogue call batch's
-- `calls` (enkash.client.batch), so code that required enkash.batch keeps working.
return setmetatable({ calls = require("enkash.client.batch").calls },
  { __index = require "enkash.transport.scheduler" })
