--- `enkash encrypt` / `enkash decrypt`: Enkash payload encryption on stdin and stdout, with
-- the secret from ENKASH_CLIENT_SECRET (never from the command line, where `ps` would show it).
-- @module enkash.cli.crypt

local enkash = require "enkash"

local M = {}

local function make(direction)
  local verb = {
    help = ([[
usage: ENKASH_CLIENT_SECRET=... enkash %s < input > output

%s stdin with Enkash's payload encryption (AES-128-ECB, PKCS5, key = the first 16 bytes
of SHA-256(secret)%s) and writes the result to stdout.]]):format(direction,
      direction == "encrypt" and "Encrypts" or "Decrypts",
      direction == "encrypt" and ", Base64 out" or ", Base64 in"),
  }
  --- Run the verb.
  -- @tparam table args (none)
  -- @treturn number exit status
  function verb.run(args)
    if #args > 0 then
      io.stderr:write("enkash ", direction, ": no arguments expected",
        " (the secret comes from ENKASH_CLIENT_SECRET)\n")
      return 2
    end
    local secret = os.getenv("ENKASH_CLIENT_SECRET")
    if not secret or secret == "" then
      io.stderr:write("enkash ", direction, ": set ENKASH_CLIENT_SECRET\n")
      return 2
    end
    local input = io.stdin:read("*a")
    if direction == "encrypt" then
      io.stdout:write(enkash.crypto.encrypt(input, secret), "\n")
      return 0
    end
    local plain, err = enkash.crypto.decrypt((input:gsub("%s+$", "")), secret)
    if not plain then
      io.stderr:write("enkash decrypt: ", err.message, "\n")
      return 1
    end
    io.stdout:write(plain)
    return 0
  end
  return verb
end

--- The encrypt verb.
M.encrypt = make("encrypt")
--- The decrypt verb.
M.decrypt = make("decrypt")

return M
