-- Values the specs use, in one place: the secrets scan (tools/scan_secrets.lua) reads the
-- `secrets` list and fails when any of them appears in a log line or an error message.
local M = {}

M.device = {
  deviceId = "0D5249C7-5D42-48AC-A8C2-79EE90D2560D", appVersion = "6.2",
  osVersion = "Android 14", model = "Pixel 7", manufracture = "Google", platform = "android",
  simProvider = "airtel", mobileNumber = "9674603714", deviceIp = "192.168.1.10",
  deviceImei = "356789123456780", -- the portal's example with its Luhn check digit corrected
}

M.creds = {
  partner_id = "CRTEST0001", client_id = "CEKTEST001",
  client_secret = "spec-client-secret-7f3a9c", username = "6000000099", password = "Spec@Pass#4417",
}

M.card_account_id = "CACTEST01"
M.otp_code = "123456"

-- Options for sandbox.new that accept M.creds, with one prefunded partner account.
M.sandbox_opts = {
  partner_id = M.creds.partner_id, client_id = M.creds.client_id,
  client_secret = M.creds.client_secret, users = { [M.creds.username] = M.creds.password },
  bind_delay = 0, accounts = { [M.card_account_id] = 100000000 }, otp_code = M.otp_code, control = true,
}

local seq = 0
--- Params for Create Wallet with a mobile number and PAN no other wallet of the run has.
function M.wallet_params(extra)
  seq = seq + 1
  local p = {
    email = "user" .. seq .. "@example.com", mobile = string.format("98%08d", seq), title = "Ms",
    firstName = "Asha", lastName = "Rao", gender = "F",
    documents = { { docType = "PAN", docNo = string.format("ABCDE%04dF", seq % 10000) } },
    specialDate = "02-09-1990", address = "12 MG Road", city = "Pune", state = "Maharashtra",
    pincode = "411001", country = "India",
  }
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

--- Two usable wallets (T&C accepted, verified), a beneficiary of the first and ₹5,000 in it.
--- control(srv, name, args) drives the sandbox. Returns {a, b, beneficiary}.
function M.onboard(client, control, srv)
  local ids = {}
  for _, k in ipairs({ "a", "b" }) do
    local w = assert(client.wallet:create(M.wallet_params()))
    ids[k] = w.enKashCardId
    control(srv, "wallet", { enKashCardId = w.enKashCardId, latestTncVersionAccepted = true, verified = true })
  end
  local b = assert(client.transfers:add_beneficiary({ enKashCardId = ids.a, beneficiaryName = "Ravi Kumar",
    accountNumber = "123456789012", ifsc = "HDFC0001234" }))
  ids.beneficiary = b.beneficiaryId
  assert(client.wallet:top_up({ enKashCardId = ids.a, amount = "5000.00" }))
  return ids
end

--- A fresh copy of the device params with `changes` applied.
function M.device_with(changes)
  local d = {}
  for k, v in pairs(M.device) do d[k] = v end
  for k, v in pairs(changes or {}) do d[k] = v end
  return d
end

--- Client config for a server at `url` (nil: in-process sandbox), with `extra` merged in.
function M.config(url, extra)
  local cfg = { env = "sandbox", base_url = url or "http://sandbox.invalid" }
  for k, v in pairs(M.creds) do cfg[k] = v end
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return cfg
end

-- Secrets and full PII the suite uses: none may appear in any error message or log line.
M.secrets = {
  M.creds.client_secret, M.creds.password, M.device.mobileNumber, M.device.deviceImei,
  "sandbox-client-secret", "Sandbox@123",
  "CPNPN9971R", "123456789012", "6000091111", -- PAN, account number, mobile of the examples
  M.creds.username,
  -- what spec/leaks_spec.lua's hostile server echoes: token, JWT, OTPs, account numbers, PAN,
  -- mobile, card (the scan compares in any case and without spaces or dashes)
  "tokZ9x8Y7w6V5u4T3s2R1q0p", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWFrcy1zcGVjIn0.c2lnbmF0dXJlLTQ4MzkyMQ",
  "483921", "583920", "918273645", "qwert5678y", "9812345670", "4111111111111111",
}

return M
