--- Every value enkash had to choose because the Enkash portal is silent, in one place.
-- Each entry says why. All of them can be overridden through `enkash.new{...}` config
-- (the config key is named beside each entry); catalogue rows marked `documented = false`
-- are overridden with `routes = {...}`. The README's "Assumptions" section mirrors this file.
-- @module enkash.assumptions

return {
  --- Hosts per environment. Only UAT is documented (REFERENCE.md §2). No production Wallet
  -- host is documented, so production has none: sending live credentials to a guessed host
  -- would be worse than an error. Config: base_url, auth_url.
  envs = {
    sandbox = { base_url = "http://127.0.0.1:8780", auth_url = "http://127.0.0.1:8780/oauth/token" },
    uat = {
      base_url = "https://pay-en-uat.enkash.in",
      auth_url = "https://ekpayout-uat.enkash.in/oauth/token",
    },
    production = {},
  },

  --- Credentials of the bundled sandbox (public test values), used with env = "sandbox"
  -- when neither config nor ENKASH_* variables give them.
  sandbox_credentials = {
    partner_id = "CRSANDBOX1", client_id = "CEKSANDBOX", client_secret = "sandbox-client-secret",
    username = "6000000001", password = "Sandbox@123", card_account_id = "CACSANDBOX1",
  },

  --- Token refresh margin: the portal says both "5 minutes" and expires_in = 86399, so enkash
  -- trusts expires_in and refreshes this fraction of the lifetime ahead of expiry, bounded.
  -- Config: token_refresh_fraction, token_refresh_min, token_refresh_max (seconds).
  token_refresh_fraction = 0.1,
  token_refresh_min = 1,
  token_refresh_max = 300,

  --- Device binding: only "Pending" is documented. Any other status ends a poll; these mean
  -- failure. Config: device_failed_statuses.
  device_failed_statuses = { Failed = true, FAILED = true, Rejected = true, REJECTED = true, Expired = true },

  --- Encryption: the Wallet pages show plain JSON, the platform's Payouts guide shows the
  -- {"request": "<base64>"} envelope. "auto" sends plain JSON and decrypts a response that
  -- arrives in the envelope. Config: encryption.
  encryption = "auto",

  --- Response size cap for one HTTP response. Config: max_response_bytes.
  max_response_bytes = 8 * 1024 * 1024,

  --- Reconciliation of money-moving calls (DESIGN.md). Enkash documents no Wallet status
  -- values or error texts, so these are the readings enkash applies to the status endpoints'
  -- answers. Config: reconcile_delay, status_failed, not_found_pattern, duplicate_pattern.
  -- Seconds to wait after an ambiguous failure before asking the status endpoint (Enkash's
  -- Bill Payments guide says 2-3 minutes for its own product; a wallet call settles faster).
  reconcile_delay = 1,
  -- A status answer whose payload.status is one of these means the call failed.
  status_failed = { FAILED = true, REJECTED = true, REVERSED = true, DECLINED = true, FAILURE = true },
  -- A response_code 1 from a status endpoint matching this means "no such reference".
  not_found_pattern = "[Nn]ot [Ff]ound",
  -- A response_code 1 on a money call matching this means the reference was already used.
  duplicate_pattern = "[Aa]lready [Ee]xists",
  -- How many times one money call may be sent in all (a resend only after the status
  -- endpoint said the reference is unknown). Config: max_sends.
  max_sends = 2,

  --- The KYC level field of Get Wallet Details and its values: the card variant documents
  -- `kycStatus`; the values are assumed. Config: kyc_field.
  kyc_field = "kycStatus",
}
