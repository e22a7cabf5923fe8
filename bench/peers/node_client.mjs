// bench/peers/node_client.mjs - the vs_node peer: the device-status workload as an integrator
// writes it in Node.js 20 without enkash: the portal's encryption sample (key = first 16
// bytes of SHA-256(secret), AES-128-ECB, Base64) and the built-in fetch (undici's default
// agent keeps the connection alive). Sequential calls, like the enkash side.
//
// usage: node node_client.mjs BASE_URL SECRET N PARTNER_ID CLIENT_ID USERNAME PASSWORD
// prints: calls=N ok=N seconds=S   (S: the N calls only, after a token fetch and warm-up)
import crypto from "node:crypto";

const [base, secret, nArg, partnerId, clientId, username, password] = process.argv.slice(2);
const n = Number(nArg);

// The portal's sample, as documented.
function encrypt(data, key) {
  const hash = crypto.createHash("sha256").update(key).digest();
  const cipher = crypto.createCipheriv("aes-128-ecb", hash.slice(0, 16), null);
  let encrypted = cipher.update(data, "utf8", "base64");
  encrypted += cipher.final("base64");
  return encrypted;
}

function decrypt(data, key) {
  const hash = crypto.createHash("sha256").update(key).digest();
  const decipher = crypto.createDecipheriv("aes-128-ecb", hash.slice(0, 16), null);
  let decrypted = decipher.update(data, "base64", "utf8");
  decrypted += decipher.final("utf8");
  return decrypted;
}

const device = {
  deviceId: "0D5249C7-5D42-48AC-A8C2-79EE90D2560D", appVersion: "6.2", osVersion: "Android 14",
  model: "Pixel 7", manufracture: "Google", platform: "android", simProvider: "airtel",
  mobileNumber: "9674603714", deviceIp: "192.168.1.10", deviceImei: "356789123456780",
};

async function token() {
  const res = await fetch(`${base}/oauth/token`, {
    method: "POST",
    headers: {
      Authorization: "Basic " + Buffer.from(`${clientId}:${secret}`).toString("base64"),
      "Content-Type": "application/x-www-form-urlencoded",
      Accept: "application/json",
    },
    body: new URLSearchParams({ username, password, grant_type: "password", clientId }).toString(),
  });
  const doc = await res.json();
  return doc.access_token;
}

async function status(accessToken) {
  const res = await fetch(`${base}/api/v1/partner/device-bind/status`, {
    method: "POST",
    headers: {
      partnerId, Authorization: `Bearer ${accessToken}`,
      "Content-Type": "application/json", Accept: "application/json",
    },
    body: JSON.stringify({ request: encrypt(JSON.stringify(device), secret) }),
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  const doc = await res.json();
  const env = JSON.parse(decrypt(doc.request, secret));
  if (env.response_code !== 0) throw new Error(env.response_message);
  return env.payload;
}

const accessToken = await token();
for (let i = 0; i < 300; i++) await status(accessToken); // warm-up (JIT, connection)
let ok = 0;
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  const p = await status(accessToken);
  if (p.status === "Bound") ok++;
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`calls=${n} ok=${ok} seconds=${seconds.toFixed(6)}`);
process.exit(ok === n ? 0 : 1);
