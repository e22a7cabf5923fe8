-- The old name of enkash.flows.onboarding (the T&C and KYC guides as code), kept so code
-- that required it keeps working.
return require "enkash.flows.onboarding"
