/*
 * crypto.c - SHA-256, HMAC-SHA-256, strict Base64, Enkash's AES-128-ECB payload scheme,
 * random bytes, constant-time compare. OpenSSL EVP only (the AES_* API is deprecated).
 *
 * Enkash's scheme: key = first 16 bytes of SHA-256(client secret); AES-128-ECB with
 * PKCS#5/7 padding; ciphertext travels as standard padded Base64. ECB is Enkash's choice,
 * not ours; we implement it exactly so requests interoperate.
 *
 * Secret hygiene: the derived key lives on the C stack and is scrubbed on every path; its
 * expanded schedule lives in the cached keyed contexts of the secret (see `keyed`), freed
 * and scrubbed by OpenSSL when the cache moves to another secret or is collected.
 * Plaintext and decoded temporaries live in "scratch" userdata that is scrubbed right
 * after use and, should a Lua error unwind first, by its __gc. Ciphertext and its Base64
 * are not secret and use plain buffers.
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
#define KEYED_MT "enkash.keyed"
#define AES_KEY_LEN 16
#define AES_BLOCK 16
#define RANDOM_MAX 4096
#define STACK_BUF 4096 /* bytes of non-secret temporaries kept on the C stack */
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
  s->len = 0; /* already clean: nothing left for __gc */
}

/* A temporary buffer for bytes that are not secret (ciphertext, Base64): a plain userdata,
 * nothing to scrub. */
static unsigned char *plain_new(lua_State *L, size_t n) {
  return (unsigned char *)lua_newuserdata(L, n > 0 ? n : 1);
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

/* The same values pre-shifted to their place in a quad's 24 bits, one table per position,
 * with B64_BAD (bit 24) for an invalid byte: a quad is the OR of four lookups. Built by the
 * compiler from the table above. */
#define B64_BAD 0x01000000u
#define B64E(i, sh) (B64_VALUE_OF(i) == 0xFF ? B64_BAD : (uint32_t)B64_VALUE_OF(i) << (sh))
#define B64_VALUE_OF(i)                                                                     \
  ((i) >= 'A' && (i) <= 'Z'   ? (i) - 'A'                                                   \
   : (i) >= 'a' && (i) <= 'z' ? (i) - 'a' + 26                                              \
   : (i) >= '0' && (i) <= '9' ? (i) - '0' + 52                                              \
   : (i) == '+'               ? 62                                                          \
   : (i) == '/'               ? 63                                                          \
                              : 0xFF)
#define B64R4(i, sh) B64E(i, sh), B64E((i) + 1, sh), B64E((i) + 2, sh), B64E((i) + 3, sh)
#define B64R16(i, sh) B64R4(i, sh), B64R4((i) + 4, sh), B64R4((i) + 8, sh), B64R4((i) + 12, sh)
#define B64R64(i, sh) B64R16(i, sh), B64R16((i) + 16, sh), B64R16((i) + 32, sh), B64R16((i) + 48, sh)
#define B64R256(sh) B64R64(0, sh), B64R64(64, sh), B64R64(128, sh), B64R64(192, sh)
static const uint32_t B64_Q0[256] = {B64R256(18)};
static const uint32_t B64_Q1[256] = {B64R256(12)};
static const uint32_t B64_Q2[256] = {B64R256(6)};
static const uint32_t B64_Q3[256] = {B64R256(0)};

/* Strict decoder (EVP_DecodeBlock would accept whitespace and keep padding bytes): only
 * the standard alphabet, length % 4 == 0, '=' only as the last one or two characters.
 * Table-driven, one validity test per quad. out must hold n / 4 * 3 bytes. Returns 0 on
 * invalid input. */
static int b64_decode(const char *s, size_t n, unsigned char *out, size_t *outlen) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i, o = 0, pad = 0, full;
  if (n % 4 != 0) return 0;
  if (n > 0 && u[n - 1] == '=') pad = (u[n - 2] == '=') ? 2 : 1;
  full = pad ? n - 4 : n; /* the quads without padding */
  for (i = 0; i < full; i += 4) {
    uint32_t v = B64_Q0[u[i]] | B64_Q1[u[i + 1]] | B64_Q2[u[i + 2]] | B64_Q3[u[i + 3]];
    if (v & B64_BAD) return 0;
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

/* Pushes the Base64 of in[0..n); `secret`: the input may be a secret (the temporary is
 * then a scratch, scrubbed), else (ciphertext) a plain buffer. */
static void push_b64(lua_State *L, const unsigned char *in, size_t n, int secret) {
  size_t outlen;
  unsigned char *out;
  if (n > ((size_t)-1 / 4 - 1) * 3) luaL_error(L, "not enough memory");
  outlen = b64_encoded_len(n);
  out = secret ? scratch_new(L, outlen + 1) : plain_new(L, outlen + 1);
  b64_encode(in, n, out);
  lua_pushlstring(L, (const char *)out, outlen);
  lua_remove(L, -2); /* the scratch */
}

static int l_b64encode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  push_b64(L, (const unsigned char *)s, n, 1); /* may be Basic credentials */
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

/* The keyed contexts of one secret: an encryption and a decryption EVP_CIPHER_CTX, keyed
 * once and reset per message (as a C caller of EVP would do), so a message costs no key
 * derivation, no cipher fetch and no key expansion. They live in a userdata cached (with
 * the secret string it was made from) in an upvalue of encrypt and decrypt; replacing the
 * cache entry or collecting it frees both contexts (EVP_CIPHER_CTX_free scrubs the key
 * schedule). The derived key itself lives only on the C stack, scrubbed right after. */
typedef struct {
  EVP_CIPHER_CTX *enc, *dec;
  /* Plaintext of a small decryption: scrubbed right after use and, should a Lua error
   * unwind first, by __gc (as a scratch would be), without an allocation per message. */
  unsigned char plain[STACK_BUF];
} keyed;

static int keyed_gc(lua_State *L) {
  keyed *k = (keyed *)luaL_checkudata(L, 1, KEYED_MT);
  OPENSSL_cleanse(k->plain, sizeof(k->plain));
  EVP_CIPHER_CTX_free(k->enc); /* NULL-safe */
  EVP_CIPHER_CTX_free(k->dec);
  k->enc = k->dec = NULL;
  return 0;
}

static int derive_key(const char *secret, size_t n, unsigned char key[AES_KEY_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  int ok = EVP_Digest(secret, n, md, &mdlen, EVP_sha256(), NULL);
  if (ok) memcpy(key, md, AES_KEY_LEN);
  OPENSSL_cleanse(md, sizeof(md));
  return ok;
}

/* The keyed contexts for the secret at index `arg` (a string), from the cache in upvalue 1
 * ({secret, keyed userdata}) or made and cached. The userdata stays referenced by the cache
 * for the rest of the call. Raises on failure. */
static keyed *get_keyed(lua_State *L, int arg) {
  size_t slen;
  const char *secret = lua_tolstring(L, arg, &slen);
  unsigned char key[AES_KEY_LEN];
  keyed *k;
  int ok;
  lua_rawgeti(L, lua_upvalueindex(1), 1);
  if (lua_rawequal(L, -1, arg)) { /* same string object, or equal contents */
    lua_pop(L, 1);
    lua_rawgeti(L, lua_upvalueindex(1), 2);
    k = (keyed *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return k;
  }
  lua_pop(L, 1);
  k = (keyed *)lua_newuserdata(L, sizeof(*k));
  k->enc = k->dec = NULL; /* collectable before anything is allocated */
  luaL_setmetatable(L, KEYED_MT);
  k->enc = EVP_CIPHER_CTX_new();
  k->dec = EVP_CIPHER_CTX_new();
  if (k->enc == NULL || k->dec == NULL) {
    luaL_error(L, "not enough memory");
    return NULL;
  }
  ok = derive_key(secret, slen, key) &&
       EVP_CipherInit_ex(k->enc, EVP_aes_128_ecb(), NULL, key, NULL, 1) &&
       EVP_CipherInit_ex(k->dec, EVP_aes_128_ecb(), NULL, key, NULL, 0);
  OPENSSL_cleanse(key, sizeof(key));
  if (!ok) {
    ERR_clear_error();
    luaL_error(L, "key derivation failed");
    return NULL;
  }
  lua_rawseti(L, lua_upvalueindex(1), 2); /* the userdata: the old one is now garbage */
  lua_pushvalue(L, arg);
  lua_rawseti(L, lua_upvalueindex(1), 1);
  return k;
}

enum { AES_OK = 0, AES_FAILED = 1 };

/* One message through a keyed context (reset first), PKCS#7 padding. out must hold
 * inlen + AES_BLOCK bytes. On decryption AES_FAILED means the final block's padding did
 * not check out. */
static int aes_ecb(EVP_CIPHER_CTX *ctx, const unsigned char *in, size_t inlen,
                   unsigned char *out, size_t *outlen) {
  size_t o = 0;
  int len = 0;
  if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, NULL, -1)) goto fail;
  while (inlen > 0) {
    size_t take = inlen < CHUNK ? inlen : CHUNK;
    if (!EVP_CipherUpdate(ctx, out + o, &len, in, (int)take)) goto fail;
    o += (size_t)len;
    in += take;
    inlen -= take;
  }
  if (!EVP_CipherFinal_ex(ctx, out + o, &len)) goto fail;
  *outlen = o + (size_t)len;
  return AES_OK;
fail:
  *outlen = o;
  ERR_clear_error(); /* leave no stale errors for libcurl's OpenSSL backend */
  return AES_FAILED;
}

static int l_encrypt(lua_State *L) {
  size_t n, ctlen = 0;
  const char *pt = luaL_checklstring(L, 1, &n);
  unsigned char stack[STACK_BUF];
  unsigned char *ct;
  keyed *k;
  luaL_checklstring(L, 2, NULL); /* a number becomes a string in place */
  if (n > (size_t)-1 - 2 * AES_BLOCK) return luaL_error(L, "not enough memory");
  k = get_keyed(L, 2);
  /* Ciphertext then its Base64: on the C stack when both fit (no allocation), else on the
   * Lua heap. Neither is secret. */
  if (n + AES_BLOCK + b64_encoded_len(n + AES_BLOCK) + 1 <= sizeof(stack)) {
    unsigned char *b64 = stack + n + AES_BLOCK;
    size_t outlen;
    if (aes_ecb(k->enc, (const unsigned char *)pt, n, stack, &ctlen) != AES_OK)
      return luaL_error(L, "encryption failed");
    outlen = b64_encoded_len(ctlen);
    b64_encode(stack, ctlen, b64);
    lua_pushlstring(L, (const char *)b64, outlen);
    return 1;
  }
  ct = plain_new(L, n + AES_BLOCK);
  if (aes_ecb(k->enc, (const unsigned char *)pt, n, ct, &ctlen) != AES_OK)
    return luaL_error(L, "encryption failed");
  push_b64(L, ct, ctlen, 0);
  return 1;
}

static int l_decrypt(lua_State *L) {
  size_t n, ctlen = 0, ptlen = 0;
  const char *b64 = luaL_checklstring(L, 1, &n);
  unsigned char stack[STACK_BUF];
  unsigned char *ct, *pt;
  keyed *k;
  int rc;
  luaL_checklstring(L, 2, NULL); /* a number becomes a string in place */
  k = get_keyed(L, 2);
  ct = n / 4 * 3 <= sizeof(stack) ? stack : plain_new(L, n / 4 * 3); /* not secret */
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
  if (ctlen + AES_BLOCK <= sizeof(k->plain)) {
    pt = k->plain;
    rc = aes_ecb(k->dec, ct, ctlen, pt, &ptlen);
    if (rc == AES_OK) lua_pushlstring(L, (const char *)pt, ptlen);
    OPENSSL_cleanse(pt, ctlen + AES_BLOCK); /* also what a bad padding left */
  } else {
    pt = scratch_new(L, ctlen + AES_BLOCK);
    rc = aes_ecb(k->dec, ct, ctlen, pt, &ptlen);
    if (rc == AES_OK) lua_pushlstring(L, (const char *)pt, ptlen);
    scratch_wipe(L, rc == AES_OK ? -2 : -1);
  }
  if (rc != AES_OK) {
    lua_pushnil(L);
    lua_pushstring(L, MSG_PAD);
    return 2;
  }
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
  if (luaL_newmetatable(L, KEYED_MT)) {
    lua_pushcfunction(L, keyed_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, funcs, 0);
  lua_createtable(L, 2, 0); /* the keyed-context cache, shared by encrypt and decrypt */
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, l_encrypt, 1);
  lua_setfield(L, -3, "encrypt");
  lua_pushcclosure(L, l_decrypt, 1);
  lua_setfield(L, -2, "decrypt");
}
