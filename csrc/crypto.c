/*
 * crypto.c - SHA-256, HMAC-SHA-256, strict Base64, Enkash's AES-128-ECB payload scheme,
 * random bytes, constant-time compare. OpenSSL EVP only (the AES_* API is deprecated).
 *
 * Enkash's scheme: key = first 16 bytes of SHA-256(client secret); AES-128-ECB with
 * PKCS#5/7 padding; ciphertext travels as standard padded Base64. ECB is Enkash's choice,
 * not ours; we implement it exactly so requests interoperate.
 *
 * Secret hygiene: the derived key lives on the C stack and is scrubbed on every path;
 * plaintext and decoded temporaries live in "scratch" userdata that is scrubbed right
 * after use and, should a Lua error unwind first, scrubbed again by its __gc.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core.h"

#define SCRATCH_MT "enkash.scratch"
#define AES_KEY_LEN 16
#define AES_BLOCK 16
#define RANDOM_MAX 4096
/* EVP calls take int lengths: feed big inputs in chunks that fit (multiple of 3 and 16). */
#define CHUNK ((size_t)3 * 16 * 1024 * 1024)

static const char MSG_B64[] = "invalid base64";
static const char MSG_LEN[] = "invalid ciphertext length";
static const char MSG_PAD[] = "bad padding";

/* ---- scratch buffers: Lua-owned memory that is scrubbed when done or collected ---- */

typedef struct {
  size_t len;
  unsigned char data[1];
} scratch;

static int scratch_gc(lua_State *L) {
  scratch *s = (scratch *)luaL_checkudata(L, 1, SCRATCH_MT);
  OPENSSL_cleanse(s->data, s->len);
  s->len = 0;
  return 0;
}

/* Pushes a scratch userdata of n bytes (n may be 0) and returns its data. */
static unsigned char *scratch_new(lua_State *L, size_t n) {
  scratch *s;
  if (n > (size_t)-1 - sizeof(scratch)) luaL_error(L, "not enough memory");
  s = (scratch *)lua_newuserdata(L, sizeof(scratch) + n);
  s->len = n;
  luaL_setmetatable(L, SCRATCH_MT);
  return s->data;
}

static void scratch_wipe(lua_State *L, int idx) {
  scratch *s = (scratch *)lua_touserdata(L, idx);
  OPENSSL_cleanse(s->data, s->len);
}

/* ---- Base64 ---- */

static size_t b64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }

/* out must hold b64_encoded_len(n) + 1 bytes (EVP_EncodeBlock writes a NUL). */
static void b64_encode(const unsigned char *in, size_t n, unsigned char *out) {
  while (n > 0) {
    size_t take = n < CHUNK ? n : CHUNK; /* CHUNK % 3 == 0: no padding mid-stream */
    out += EVP_EncodeBlock(out, in, (int)take);
    in += take;
    n -= take;
  }
  *out = '\0';
}

/* Standard alphabet -> 6-bit value; X (0xFF) for every other byte, '=' included. */
#define X 0xFF
static const unsigned char B64_VALUE[256] = {
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, 62, X, X, X, 63,
  52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, X, X, X,
  X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
  15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, X,
  X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
  41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
#undef X

/* Strict decoder (EVP_DecodeBlock would accept whitespace and keep padding bytes): only
 * the standard alphabet, length % 4 == 0, '=' only as the last one or two characters.
 * Table-driven, one validity test per quad (an invalid byte maps to 0xFF, so its high bit
 * shows in the OR of the quad). out must hold n / 4 * 3 bytes. Returns 0 on invalid input. */
static int b64_decode(const char *s, size_t n, unsigned char *out, size_t *outlen) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i, o = 0, pad = 0, full;
  if (n % 4 != 0) return 0;
  if (n > 0 && u[n - 1] == '=') pad = (u[n - 2] == '=') ? 2 : 1;
  full = pad ? n - 4 : n; /* the quads without padding */
  for (i = 0; i < full; i += 4) {
    unsigned a = B64_VALUE[u[i]], b = B64_VALUE[u[i + 1]], c = B64_VALUE[u[i + 2]],
             d = B64_VALUE[u[i + 3]];
    uint32_t v;
    if ((a | b | c | d) & 0x80) return 0;
    v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
    out[o] = (unsigned char)(v >> 16);
    out[o + 1] = (unsigned char)(v >> 8);
    out[o + 2] = (unsigned char)v;
    o += 3;
  }
  if (pad) { /* the last quad: 2 (pad 2) or 3 (pad 1) real characters */
    unsigned a = B64_VALUE[u[i]], b = B64_VALUE[u[i + 1]], c = pad == 1 ? B64_VALUE[u[i + 2]] : 0;
    if ((a | b | c) & 0x80) return 0; /* includes a '=' anywhere but the tail */
    out[o++] = (unsigned char)((a << 2) | (b >> 4));
    if (pad == 1) out[o++] = (unsigned char)(((b & 0x0f) << 4) | (c >> 2));
  }
  *outlen = o;
  return 1;
}

static void push_b64(lua_State *L, const unsigned char *in, size_t n) {
  size_t outlen;
  unsigned char *out;
  if (n > ((size_t)-1 / 4 - 1) * 3) luaL_error(L, "not enough memory");
  outlen = b64_encoded_len(n);
  out = scratch_new(L, outlen + 1);
  b64_encode(in, n, out);
  lua_pushlstring(L, (const char *)out, outlen);
  lua_remove(L, -2); /* the scratch */
}

static int l_b64encode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  push_b64(L, (const unsigned char *)s, n);
  return 1;
}

static int l_b64decode(lua_State *L) {
  size_t n, outlen = 0;
  const char *s = luaL_checklstring(L, 1, &n);
  unsigned char *out = scratch_new(L, n / 4 * 3);
  if (!b64_decode(s, n, out, &outlen)) {
    scratch_wipe(L, -1);
    lua_pushnil(L);
    lua_pushstring(L, MSG_B64);
    return 2;
  }
  lua_pushlstring(L, (const char *)out, outlen);
  scratch_wipe(L, -2); /* decoded data may be a secret (a key, a token) */
  return 1;
}

/* ---- digests ---- */

static int l_sha256(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL)) {
    ERR_clear_error();
    return luaL_error(L, "sha256 failed");
  }
  lua_pushlstring(L, (const char *)md, mdlen);
  return 1;
}

static int l_hmac_sha256(lua_State *L) {
  size_t klen, n;
  const char *key = luaL_checklstring(L, 1, &klen);
  const char *data = luaL_checklstring(L, 2, &n);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  luaL_argcheck(L, klen <= INT_MAX, 1, "key too long");
  /* HMAC() is the one-shot EVP-based call (not deprecated in 3.0, unlike HMAC_CTX). */
  if (HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)data, n, md, &mdlen) == NULL) {
    ERR_clear_error();
    return luaL_error(L, "hmac_sha256 failed");
  }
  lua_pushlstring(L, (const char *)md, mdlen);
  OPENSSL_cleanse(md, sizeof(md)); /* a MAC over a secret-derived key: do not leave it */
  return 1;
}

/* ---- AES-128-ECB, Enkash's scheme ---- */

static int derive_key(const char *secret, size_t n, unsigned char key[AES_KEY_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  int ok = EVP_Digest(secret, n, md, &mdlen, EVP_sha256(), NULL);
  if (ok) memcpy(key, md, AES_KEY_LEN);
  OPENSSL_cleanse(md, sizeof(md));
  return ok;
}

enum { AES_OK = 0, AES_FAILED = 1, AES_NOMEM = 2 };

/* One pass of AES-128-ECB with PKCS#7 padding. out must hold inlen + AES_BLOCK bytes.
 * On decryption AES_FAILED means the final block's padding did not check out. */
static int aes_ecb(int enc, const unsigned char *key, const unsigned char *in, size_t inlen,
                   unsigned char *out, size_t *outlen) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  size_t o = 0;
  int len = 0, rc = AES_FAILED;
  if (ctx == NULL) return AES_NOMEM;
  if (!EVP_CipherInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL, enc)) goto done;
  while (inlen > 0) {
    size_t take = inlen < CHUNK ? inlen : CHUNK;
    if (!EVP_CipherUpdate(ctx, out + o, &len, in, (int)take)) goto done;
    o += (size_t)len;
    in += take;
    inlen -= take;
  }
  if (!EVP_CipherFinal_ex(ctx, out + o, &len)) goto done;
  o += (size_t)len;
  rc = AES_OK;
done:
  *outlen = o;
  EVP_CIPHER_CTX_free(ctx); /* also scrubs the expanded key schedule */
  ERR_clear_error();        /* leave no stale errors for libcurl's OpenSSL backend */
  return rc;
}

static int l_encrypt(lua_State *L) {
  size_t n, slen, ctlen = 0;
  const char *pt = luaL_checklstring(L, 1, &n);
  const char *secret = luaL_checklstring(L, 2, &slen);
  unsigned char key[AES_KEY_LEN];
  unsigned char *ct;
  int rc;
  if (n > (size_t)-1 - 2 * AES_BLOCK) return luaL_error(L, "not enough memory");
  ct = scratch_new(L, n + AES_BLOCK); /* allocate before the key exists: may raise */
  if (!derive_key(secret, slen, key)) {
    OPENSSL_cleanse(key, sizeof(key));
    return luaL_error(L, "key derivation failed");
  }
  rc = aes_ecb(1, key, (const unsigned char *)pt, n, ct, &ctlen);
  OPENSSL_cleanse(key, sizeof(key));
  if (rc != AES_OK)
    return luaL_error(L, "%s", rc == AES_NOMEM ? "not enough memory" : "encryption failed");
  push_b64(L, ct, ctlen);
  return 1;
}

static int l_decrypt(lua_State *L) {
  size_t n, slen, ctlen = 0, ptlen = 0;
  const char *b64 = luaL_checklstring(L, 1, &n);
  const char *secret = luaL_checklstring(L, 2, &slen);
  unsigned char key[AES_KEY_LEN];
  unsigned char *ct, *pt;
  int rc;
  ct = scratch_new(L, n / 4 * 3);
  if (!b64_decode(b64, n, ct, &ctlen)) {
    lua_pushnil(L);
    lua_pushstring(L, MSG_B64);
    return 2;
  }
  if (ctlen == 0 || ctlen % AES_BLOCK != 0) {
    lua_pushnil(L);
    lua_pushstring(L, MSG_LEN);
    return 2;
  }
  pt = scratch_new(L, ctlen + AES_BLOCK); /* before the key exists: may raise */
  if (!derive_key(secret, slen, key)) {
    OPENSSL_cleanse(key, sizeof(key));
    return luaL_error(L, "key derivation failed");
  }
  rc = aes_ecb(0, key, ct, ctlen, pt, &ptlen);
  OPENSSL_cleanse(key, sizeof(key));
  if (rc == AES_NOMEM) {
    scratch_wipe(L, -1);
    return luaL_error(L, "not enough memory");
  }
  if (rc != AES_OK) {
    scratch_wipe(L, -1); /* the blocks decrypted before the bad padding was found */
    lua_pushnil(L);
    lua_pushstring(L, MSG_PAD);
    return 2;
  }
  lua_pushlstring(L, (const char *)pt, ptlen);
  scratch_wipe(L, -2);
  return 1;
}

/* ---- random bytes, comparison ---- */

static int l_random_bytes(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  unsigned char buf[RANDOM_MAX];
  luaL_argcheck(L, n >= 1 && n <= RANDOM_MAX, 1, "must be between 1 and 4096");
  if (RAND_bytes(buf, (int)n) != 1) {
    ERR_clear_error();
    lua_pushnil(L);
    lua_pushstring(L, "random generator failure");
    return 2;
  }
  lua_pushlstring(L, (const char *)buf, (size_t)n);
  OPENSSL_cleanse(buf, (size_t)n); /* may become a key or nonce */
  return 1;
}

/* core.secure_equal(a, b): compare MACs/signatures without leaking the position of the
 * first difference through timing (the length is not secret). */
static int l_secure_equal(lua_State *L) {
  size_t na, nb;
  const char *a = luaL_checklstring(L, 1, &na);
  const char *b = luaL_checklstring(L, 2, &nb);
  lua_pushboolean(L, na == nb && CRYPTO_memcmp(a, b, na) == 0);
  return 1;
}

static const luaL_Reg funcs[] = {
  {"sha256", l_sha256},
  {"hmac_sha256", l_hmac_sha256},
  {"b64encode", l_b64encode},
  {"b64decode", l_b64decode},
  {"encrypt", l_encrypt},
  {"decrypt", l_decrypt},
  {"random_bytes", l_random_bytes},
  {"secure_equal", l_secure_equal},
  {NULL, NULL},
};

void enkash_open_crypto(lua_State *L) {
  if (luaL_newmetatable(L, SCRATCH_MT)) {
    lua_pushcfunction(L, scratch_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, funcs, 0);
}
