-- Calls the sandbox control API: of a server started by enkash.sandbox.nginx (over HTTP), or
-- of a target from helpers.targets (in-process or nginx, each its own way).
local targets = require "helpers.targets"

--- control(srv, name, args) -> decoded JSON answer (raises on failure: tests want to stop)
return function(srv, name, args)
  if type(srv.control) == "function" then return srv:control(name, args) end
  return targets.http_control(srv.url, srv.ca_file, name, args)
end
