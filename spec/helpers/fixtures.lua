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

-- Options for sandbox.new that accept M.creds.
M.sandbox_opts = {
  partner_id = M.creds.partner_id, client_id = M.creds.client_id,
  client_secret = M.creds.client_secret, users = { [M.creds.username] = M.creds.password },
  bind_delay = 0,
}

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

M.secrets = {
  M.creds.client_secret, M.creds.password, M.device.mobileNumber, M.device.deviceImei,
  "sandbox-client-secret", "Sandbox@123",
}

return M
