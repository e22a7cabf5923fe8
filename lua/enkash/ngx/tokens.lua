-- The old name of enkash.auth.shared_dict (the token in a lua_shared_dict), kept so code
-- that required it keeps working.
return require "enkash.auth.shared_dict"
