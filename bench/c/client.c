/*
 * bench/c/client.c - the plain C baseline of the sdk_vs_c benchmark: what a careful C
 * integrator would write without enkash. One libcurl easy handle reused for every call
 * (keep-alive), the header list built once per token, the AES key derived once.
 *
 * Per call: build the device-status JSON body (escaped), encrypt it (AES-128-ECB/PKCS#7,
 * key = SHA-256(secret)[0:16], EVP), Base64, wrap it as {"request":"..."}, POST it with
 * partnerId, Authorization: Bearer, Content-Type and Accept, then find "request" in the
 * answer, Base64-decode, decrypt, check "response_code":0 and read "status".
 *
 * usage: client BASE_URL SECRET N PARTNER_ID CLIENT_ID USERNAME PASSWORD
 * prints: calls=N ok=N seconds=S   (S: the N calls only, after a token fetch and warm-up)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

typedef struct {
  char *data;
  size_t len, cap;
} buf;

static void buf_add(buf *b, const char *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1) cap *= 2;
    b->data = realloc(b->data, cap);
    if (b->data == NULL) abort();
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void buf_adds(buf *b, const char *s) { buf_add(b, s, strlen(s)); }

/* A JSON string: runs of plain characters copied at once, the others escaped. */
static void buf_json_string(buf *b, const char *s) {
  const char *run = s;
  buf_add(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\' || c < 0x20) {
      char e[8];
      buf_add(b, run, (size_t)(s - run));
      if (c < 0x20)
        snprintf(e, sizeof(e), "\\u%04x", c);
      else
        e[0] = '\\', e[1] = (char)c, e[2] = '\0';
      buf_adds(b, e);
      run = s + 1;
    }
  }
  buf_add(b, run, (size_t)(s - run));
  buf_add(b, "\"", 1);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  buf_add((buf *)ud, p, size * n);
  return size * n;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned char key[16];
static EVP_CIPHER_CTX *ectx, *dctx; /* keyed once; reset per message */

/* AES-128-ECB + Base64 of in[0..n) into out (cleared first). */
static void encrypt_b64(const char *in, size_t n, buf *out) {
  unsigned char *ct = malloc(n + 16);
  char *b64;
  int l1 = 0, l2 = 0;
  EVP_CipherInit_ex(ectx, NULL, NULL, NULL, NULL, -1);
  EVP_CipherUpdate(ectx, ct, &l1, (const unsigned char *)in, (int)n);
  EVP_CipherFinal_ex(ectx, ct + l1, &l2);
  b64 = malloc(((size_t)(l1 + l2) + 2) / 3 * 4 + 1);
  EVP_EncodeBlock((unsigned char *)b64, ct, l1 + l2);
  out->len = 0;
  buf_adds(out, b64);
  free(b64);
  free(ct);
}

/* Base64 + AES-128-ECB decryption; returns a malloc'd NUL-terminated plaintext or NULL. */
static char *decrypt_b64(const char *b64, size_t n) {
  unsigned char *ct = malloc(n / 4 * 3 + 1);
  char *pt;
  int clen = EVP_DecodeBlock(ct, (const unsigned char *)b64, (int)n), l1 = 0, l2 = 0;
  if (clen < 0) { free(ct); return NULL; }
  if (n >= 1 && b64[n - 1] == '=') clen--;
  if (n >= 2 && b64[n - 2] == '=') clen--;
  pt = malloc((size_t)clen + 17);
  EVP_CipherInit_ex(dctx, NULL, NULL, NULL, NULL, -1);
  if (!EVP_CipherUpdate(dctx, (unsigned char *)pt, &l1, ct, clen) ||
      !EVP_CipherFinal_ex(dctx, (unsigned char *)pt + l1, &l2)) {
    free(ct);
    free(pt);
    return NULL;
  }
  pt[l1 + l2] = '\0';
  free(ct);
  return pt;
}

/* The value of "name":"..." in a JSON text (no escapes expected), copied; or NULL. */
static char *json_field(const char *json, const char *name) {
  char pat[64];
  const char *p, *e;
  char *v;
  snprintf(pat, sizeof(pat), "\"%s\":\"", name);
  p = strstr(json, pat);
  if (p == NULL) return NULL;
  p += strlen(pat);
  e = strchr(p, '"');
  if (e == NULL) return NULL;
  v = malloc((size_t)(e - p) + 1);
  memcpy(v, p, (size_t)(e - p));
  v[e - p] = '\0';
  return v;
}

static const char *device[][2] = {
  {"deviceId", "0D5249C7-5D42-48AC-A8C2-79EE90D2560D"}, {"appVersion", "6.2"},
  {"osVersion", "Android 14"}, {"model", "Pixel 7"}, {"manufracture", "Google"},
  {"platform", "android"}, {"simProvider", "airtel"}, {"mobileNumber", "9674603714"},
  {"deviceIp", "192.168.1.10"}, {"deviceImei", "356789123456780"},
};

int main(int argc, char **argv) {
  const char *base, *secret, *partner, *client_id, *user, *pass;
  char url[512], tok_url[512], line[1024];
  long n, i, ok = 0, status = 0;
  unsigned char md[32];
  unsigned int mdlen = 0;
  CURL *c;
  struct curl_slist *hdr = NULL;
  buf resp = {0}, body = {0}, json = {0}, ct = {0};
  char *token;
  double t0 = 0;
  if (argc != 8) {
    fprintf(stderr, "usage: %s BASE_URL SECRET N PARTNER_ID CLIENT_ID USERNAME PASSWORD\n", argv[0]);
    return 2;
  }
  base = argv[1], secret = argv[2], n = atol(argv[3]);
  partner = argv[4], client_id = argv[5], user = argv[6], pass = argv[7];
  snprintf(url, sizeof(url), "%s/api/v1/partner/device-bind/status", base);
  snprintf(tok_url, sizeof(tok_url), "%s/oauth/token", base);

  EVP_Digest(secret, strlen(secret), md, &mdlen, EVP_sha256(), NULL);
  memcpy(key, md, 16);
  ectx = EVP_CIPHER_CTX_new();
  dctx = EVP_CIPHER_CTX_new();
  EVP_CipherInit_ex(ectx, EVP_aes_128_ecb(), NULL, key, NULL, 1);
  EVP_CipherInit_ex(dctx, EVP_aes_128_ecb(), NULL, key, NULL, 0);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  c = curl_easy_init();

  /* the token, once */
  {
    struct curl_slist *th = NULL;
    char basic_in[256], basic[400], form[512];
    snprintf(basic_in, sizeof(basic_in), "%s:%s", client_id, secret);
    EVP_EncodeBlock((unsigned char *)basic, (unsigned char *)basic_in, (int)strlen(basic_in));
    snprintf(line, sizeof(line), "Authorization: Basic %s", basic);
    th = curl_slist_append(th, line);
    th = curl_slist_append(th, "Content-Type: application/x-www-form-urlencoded");
    th = curl_slist_append(th, "Accept: application/json");
    snprintf(form, sizeof(form), "username=%s&password=%s&grant_type=password&clientId=%s", user,
             pass, client_id); /* the fixtures need no escaping */
    curl_easy_setopt(c, CURLOPT_URL, tok_url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, th);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    if (curl_easy_perform(c) != CURLE_OK) return 1;
    token = json_field(resp.data, "access_token");
    if (token == NULL) return 1;
    curl_slist_free_all(th);
  }

  snprintf(line, sizeof(line), "partnerId: %s", partner);
  hdr = curl_slist_append(hdr, line);
  snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
  hdr = curl_slist_append(hdr, line);
  hdr = curl_slist_append(hdr, "Content-Type: application/json");
  hdr = curl_slist_append(hdr, "Accept: application/json");
  hdr = curl_slist_append(hdr, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "bench-c");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);

  for (i = -200; i < n; i++) { /* 200 warm-up calls, then the measured n */
    char *plain, *b64, *st;
    if (i == 0) t0 = now();
    json.len = 0;
    {
      size_t k;
      buf_add(&json, "{", 1);
      for (k = 0; k < sizeof(device) / sizeof(device[0]); k++) {
        if (k > 0) buf_add(&json, ",", 1);
        buf_json_string(&json, device[k][0]);
        buf_add(&json, ":", 1);
        buf_json_string(&json, device[k][1]);
      }
      buf_add(&json, "}", 1);
    }
    encrypt_b64(json.data, json.len, &ct);
    body.len = 0;
    buf_adds(&body, "{\"request\":");
    buf_json_string(&body, ct.data);
    buf_adds(&body, "}");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body.len);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data);
    resp.len = 0;
    if (curl_easy_perform(c) != CURLE_OK) continue;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200 || resp.data == NULL) continue;
    b64 = json_field(resp.data, "request");
    if (b64 == NULL) continue;
    plain = decrypt_b64(b64, strlen(b64));
    free(b64);
    if (plain == NULL) continue;
    st = strstr(plain, "\"response_code\":0") ? json_field(plain, "status") : NULL;
    if (st != NULL && i >= 0) ok++;
    free(st);
    free(plain);
  }
  printf("calls=%ld ok=%ld seconds=%.6f\n", n, ok, now() - t0);
  curl_slist_free_all(hdr);
  curl_easy_cleanup(c);
  EVP_CIPHER_CTX_free(ectx);
  EVP_CIPHER_CTX_free(dctx);
  free(resp.data), free(body.data), free(json.data), free(ct.data), free(token);
  return ok == n ? 0 : 1;
}
