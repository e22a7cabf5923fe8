-- The old name of enkash.flows.store (a run's journal), kept so code that required it
-- keeps working.
return require "enkash.flows.store"
