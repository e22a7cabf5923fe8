-- The stages of one encrypted device.status call, each runnable on its own, for the per-stage
-- breakdown of bench/sdk_vs_c.lua (a module it loads, not a benchmark: bench/run.lua skips it).
--
-- A stage repeats exactly the work the SDK does for that part of a call, on the inputs a real
-- call has at that point (built once here from one real call):
--   validate   validate.params(row, params, cfg)          (catalogue checks -> ordered fields)
--   encode     json.encode(fields)                         (the request body's JSON text)
--   encrypt    core.encrypt(text, secret)                  (AES-128-ECB + Base64)
--   transport  client.transport:request{...}               (the libcurl round trip, parsed answer)
--   decrypt    core.decrypt(answer's "request", secret)    (Base64 + AES)
--   decode     envelope.decode(res, ...) less the decrypt it does: both cjson decodes, the
--              `_paise` scans (amounts.decode) and the envelope checks
-- "rest", the SDK's own glue (client:call, options, redaction registry, token lookup,
-- headers, response table, retry loop), is the whole call less the sum of these.
local M = {}

--- Stage names in the order a call runs them.
M.names = { "validate", "encode", "encrypt", "transport", "decrypt", "decode" }

--- One function per stage (name -> fn doing the stage once), for `client` talking to the
-- fixed server. One full call is made first (token fetched, connection open, caches warm).
-- `token` is the fixed server's (bench/lib.lua FIXED_TOKEN): the client's own token store is
-- not reached into.
function M.prepare(client, params, token)
  local catalogue = require "enkash.catalogue"
  local core = require "enkash.core"
  local envelope = require "enkash.envelope"
  local json = require "enkash.json"
  local validate = require "enkash.validate"
  local cjson = require "cjson"

  assert(client.device:status(params))
  local cfg = client.config
  local row = assert(catalogue.resolve("device.status", cfg.routes))
  local secret = cfg.client_secret
  local fields = assert(validate.params(row, params, cfg))
  local text = json.encode(fields)
  local body = '{"request":"' .. core.encrypt(text, secret) .. '"}'
  local url = cfg.base_url .. row.path
  local headers = {
    ["partnerId"] = cfg.partner_id, ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json", ["Accept"] = "application/json",
  }
  local transport = client.transport
  local function request()
    return transport:request{
      method = row.method, url = url, body = body,
      timeout = cfg.timeout, connect_timeout = cfg.connect_timeout, headers = headers,
    }
  end
  local res = assert(request())
  local sealed = cjson.decode(res.body).request
  assert(type(sealed) == "string", "the fixed server answers an encrypted envelope")
  local mode = cfg.encryption
  assert(envelope.decode(res, row.name, mode, secret, cfg).status == "Bound")

  return {
    validate = function() return validate.params(row, params, cfg) end,
    encode = function() return json.encode(fields) end,
    encrypt = function() return core.encrypt(text, secret) end,
    transport = request,
    decrypt = function() return core.decrypt(sealed, secret) end,
    -- decode_all includes the decrypt; the breakdown subtracts the decrypt stage from it
    decode_all = function() return envelope.decode(res, row.name, mode, secret, cfg) end,
    call = function() return client.device:status(params) end,
  }
end

return M
