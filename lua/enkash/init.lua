--- enkash: the Enkash Wallet partner APIs from Lua.
-- `local enkash = require "enkash"`; `local client, err = enkash.new{...}`.
-- @module enkash

local client = require "enkash.client"
local core = require "enkash.core"
local errors = require "enkash.errors"
local onboarding = require "enkash.flows.onboarding"

--- Is the wallet usable, and what comes next? The T&C and KYC guides as code
-- (enkash.onboarding, a flow above the client: this façade, the top layer, attaches it).
-- @tparam table params Get Wallet Details params (enKashCardId; ids default from config)
-- @treturn table|nil {usable, next = "accept_tnc" | "min_kyc" | "vkyc" | nil, kyc, kyc_level,
-- tnc_accepted, wallet}
-- @treturn table|nil err
function client.Client:onboarding_state(params)
  return onboarding.state(self, params)
end

local M = {
  _VERSION = "enkash " .. require("enkash.defaults").version,
  catalogue = require "enkash.catalogue",
  errors = require "enkash.errors",
  webhook = require "enkash.webhook",
  statuses = require "enkash.statuses",
}

--- Create a client (see the README for the options).
-- @tparam[opt] table config
-- @treturn table|nil client
-- @treturn table|nil err
function M.new(config)
  return client.new(config)
end

--- Enkash payload encryption (AES-128-ECB, PKCS5, key = SHA-256(secret)[0:16], Base64).
-- Like every public entry point, these answer `nil, err` for any input they cannot take,
-- and never raise.
M.crypto = {}

-- nil when both arguments are usable, else the validation error naming the bad one.
local function bad_args(what, text, secret)
  if type(text) ~= "string" then
    return errors.new("validation", what .. " must be a string", { field = what })
  end
  if type(secret) ~= "string" or secret == "" then
    return errors.new("validation", "secret must be a non-empty string", { field = "secret" })
  end
end

--- Encrypt `plaintext` with the key derived from `secret`.
-- @tparam string plaintext
-- @tparam string secret the client secret
-- @treturn string|nil Base64 ciphertext
-- @treturn[opt] table err kind validation
function M.crypto.encrypt(plaintext, secret)
  local err = bad_args("plaintext", plaintext, secret)
  if err then return nil, err end
  return core.encrypt(plaintext, secret)
end

--- Decrypt a Base64 ciphertext made with the key derived from `secret`.
-- @tparam string b64
-- @tparam string secret
-- @treturn string|nil plaintext
-- @treturn[opt] table err kind validation (bad arguments) or crypto, whose `reason` is
-- "invalid base64" | "invalid ciphertext length" | "bad padding"
function M.crypto.decrypt(b64, secret)
  local err = bad_args("ciphertext", b64, secret)
  if err then return nil, err end
  local plain, why = core.decrypt(b64, secret)
  if not plain then
    return nil, errors.new("crypto", "cannot decrypt: " .. tostring(why), { reason = why })
  end
  return plain
end

return M
