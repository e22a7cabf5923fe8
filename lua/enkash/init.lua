--- enkash: the Enkash Wallet partner APIs from Lua.
-- `local enkash = require "enkash"`; `local client, err = enkash.new{...}`.
-- @module enkash

local client = require "enkash.client"
local core = require "enkash.core"

local M = {
  _VERSION = "enkash 0.1.0",
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
M.crypto = {}

--- Encrypt `plaintext` with the key derived from `secret`.
-- @tparam string plaintext
-- @tparam string secret the client secret
-- @treturn string Base64 ciphertext
function M.crypto.encrypt(plaintext, secret)
  return core.encrypt(plaintext, secret)
end

--- Decrypt a Base64 ciphertext made with the key derived from `secret`.
-- @tparam string b64
-- @tparam string secret
-- @treturn string|nil plaintext
-- @treturn string|nil err "invalid base64" | "invalid ciphertext length" | "bad padding"
function M.crypto.decrypt(b64, secret)
  return core.decrypt(b64, secret)
end

return M
