-- Bind a device: token -> Generate Device Binding -> poll Device Binding Status until bound.
-- Run it against the bundled sandbox with `make demo`, or yourself:
--   eval "$(make -s env)"; enkash sandbox &   # then
--   lua5.4 examples/bind_device.lua
-- With ENKASH_ENV=uat and the ENKASH_* credentials set, the same script talks to Enkash UAT.
local enkash = require "enkash"

local client = assert(enkash.new())

local monotime = require("enkash.core").monotime

-- One progress line per step: [k/n] name, result, elapsed time.
local function step(k, n, name, fn)
  io.write(("[%d/%d] %-9s "):format(k, n, name))
  io.flush()
  local t0 = monotime()
  local result, err = fn()
  local ms = (monotime() - t0) * 1000
  if not result then
    print(("FAILED after %.0f ms: %s"):format(ms, tostring(err)))
    os.exit(1)
  end
  print(("%s  (%.0f ms)"):format(result, ms))
  return result
end

-- The portal's example device, verbatim. Its deviceImei (356789123456789) fails the IMEI
-- Luhn check, which Enkash never states (and apps on Android 10+ and iOS cannot read an IMEI
-- at all), so enkash checks only its 15 digits unless the client is made with strict = true.
local device = {
  deviceId = "0D5249C7-5D42-48AC-A8C2-79EE90D2560D", appVersion = "6.2",
  osVersion = "Android 14", model = "Pixel 7", manufracture = "Google", platform = "android",
  simProvider = "airtel", mobileNumber = "9674603714", deviceIp = "192.168.1.10",
  deviceImei = "356789123456789",
}

print("enkash " .. enkash._VERSION:match("[%d.]+") .. " -> " .. client.config.base_url)
step(1, 3, "token", function()
  local info, err = client:token()
  return info and ("ok, " .. tostring(info)), err
end)
step(2, 3, "generate", function()
  local payload, err = client.device:generate(device)
  return payload and ("status " .. tostring(payload.status)), err
end)
step(3, 3, "status", function()
  local polls, delay, waited = 0, 0.5, 0
  while true do
    polls = polls + 1
    local payload, err = client.device:status(device)
    if not payload then return nil, err end
    local status = payload.status
    if status ~= "Pending" then
      if client.config.device_failed_statuses[status] then
        return nil, "device binding " .. status
      end
      return ("%s after %d polls"):format(status, polls)
    end
    io.write(".")
    io.flush()
    if waited > 120 then return nil, "still Pending after 120 s" end
    client.transport:sleep(delay)
    waited = waited + delay
    delay = math.min(delay * 1.5, 5)
  end
end)
print(("device %s is bound to mobile %s"):format(device.deviceId,
  require("enkash.redact").mobile(device.mobileNumber)))
local stats = client.transport:stats()
print(("%d HTTP requests over %d TCP connection(s)"):format(stats.requests, stats.connects))
client:close()
