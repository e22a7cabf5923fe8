-- The old name of enkash.transport.ngx_http (the cosocket HTTP engine), kept so code that
-- required it keeps working.
return require "enkash.transport.ngx_http"
