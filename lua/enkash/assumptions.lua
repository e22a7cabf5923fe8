--- Every value enkash had to choose because the Enkash portal is silent, in one place.
-- Each entry says why. All of them can be overridden through `enkash.new{...}` config
-- (the config key is named beside each entry); catalogue rows marked `documented = false`
-- are overridden with `routes = {...}`. The README's "Assumptions" section mirrors this file.
-- @module enkash.assumptions

return {
  --- Hosts per environment. Only UAT is documented (docs/enkash-api.md §2). No production Wallet
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

  --- Response size cap for one HTTP response (enkash.defaults). Config: max_response_bytes.
  max_response_bytes = require("enkash.defaults").max_response_bytes,

  --- Reconciliation of money-moving calls (README, "Money-moving calls"). Enkash documents no Wallet status
  -- values or error texts, so these are the readings enkash applies to the status endpoints'
  -- answers. Config: reconcile_delay, status_words, error_patterns, max_sends,
  -- pending_interval, pending_wait.
  -- Seconds to wait after an ambiguous failure before asking the status endpoint (Enkash's
  -- Bill Payments guide says 2-3 minutes for its own product; a wallet call settles faster).
  reconcile_delay = 1,
  -- A status record's word (`status`, compared upper-cased) in one of these sets says the
  -- call succeeded, is still pending or failed; any other word is unknown: the caller gets
  -- unknown_outcome, never success. One vocabulary per kind of status endpoint (the catalogue
  -- row's `status.words`); config `status_words = {transaction = {pending = {...}}}` replaces
  -- the sets it names. `transaction`: the card product's Get Transaction Details shows
  -- "CREATED" (https://docs.enkash.com/api-13551023), Payouts PENDING / PROCESSING / REJECTED
  -- (https://docs.enkash.com/folder-1769255); the rest are the usual words of payment APIs.
  -- `settlement`: the documented settlement enum (docs/enkash-api.md §4.17): every value but a
  -- refund says the debit happened; PENDING_WITH_BANK ("refund is not yet success") may still
  -- turn into a refund, REFUND gave the money back.
  status_words = {
    transaction = {
      succeeded = { "SUCCESS", "SUCCEEDED", "SUCCESSFUL", "COMPLETED", "COMPLETE", "SETTLED", "PAID",
                    "APPROVED", "CAPTURED" },
      pending = { "CREATED", "PENDING", "PROCESSING", "INITIATED", "IN_PROGRESS", "INPROGRESS",
                  "SUBMITTED", "QUEUED", "ACCEPTED", "ON_HOLD" },
      failed = { "FAILED", "FAILURE", "REJECTED", "REVERSED", "DECLINED", "CANCELLED", "CANCELED",
                 "EXPIRED", "REFUNDED", "REFUND" },
    },
    settlement = {
      succeeded = { "PENDING", "APPROVED", "SETTLEMENT_IN_PROCESS", "DISPUTED", "SETTLED", "ON_HOLD" },
      pending = { "PENDING_WITH_BANK" },
      failed = { "REFUND" },
    },
  },
  -- A pending record is asked again every pending_interval seconds (growing by half each
  -- time), within the call's deadline, or pending_wait seconds when the call has none.
  pending_interval = 1,
  pending_wait = 10,
  -- Business failures by message text (lower-cased, Lua patterns), first match wins: the
  -- code becomes err.code (enkash.error_codes). Enkash documents no Wallet error texts; these
  -- are the sandbox's texts, the portal's few ("Insufficient balance in card account",
  -- "Transaction ID already exists", "Velocity limit breached") and common wordings.
  -- Config: error_patterns (a list of {code, pattern}, tried first); the older
  -- not_found_pattern and duplicate_pattern add one pattern each.
  error_patterns = {
    { "otp_expired", "otp[%w%s]*expired" }, { "otp_expired", "expired otp" },
    { "invalid_otp", "invalid otp" }, { "invalid_otp", "incorrect otp" }, { "invalid_otp", "wrong otp" },
    { "invalid_otp", "otp[%w%s]*invalid" }, { "invalid_otp", "otp[%w%s]*mismatch" },
    { "not_found", "not found" }, { "not_found", "does not exist" }, { "not_found", "no such" },
    { "not_found", "no record" },
    { "duplicate_reference", "already exists" }, { "duplicate_reference", "duplicate" },
    { "duplicate_reference", "already used" },
    { "insufficient_balance", "insufficient" },
    { "limit_exceeded", "limit" },
    { "tnc_pending", "t&c" }, { "tnc_pending", "terms and conditions" }, { "tnc_pending", "tnc" },
    { "kyc_required", "kyc" },
    { "locked", "locked" }, { "locked", "blocked" },
    { "forbidden", "not enabled" },
    { "invalid_request", "is required" }, { "invalid_request", "is invalid" },
    { "invalid_request", "invalid" }, { "invalid_request", "missing" }, { "invalid_request", "must be" },
  },
  -- How many times one money call may be sent in all (a resend only after the status
  -- endpoint said the reference is unknown). Config: max_sends.
  max_sends = 2,

  --- The KYC level field of Get Wallet Details and its values: the card variant documents
  -- `kycStatus`; the values are assumed. Config: kyc_field.
  kyc_field = "kycStatus",
}
