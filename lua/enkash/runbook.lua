-- The old name of enkash.flows.runbook (the public runbook API), kept so code that
-- required it keeps working.
return require "enkash.flows.runbook"
