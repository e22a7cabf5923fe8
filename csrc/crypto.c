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
 * Plaintext and decoded temporaries live in "scratch" userdata, or for decryption in the
 * keyed buffers (a 4 KiB one inside the keyed userdata, a reused heap one up to 1 MiB), all
 * scrubbed right after use and, should a Lua error unwind first, by their __gc. Ciphertext
 * and its Base64 are not secret and use plain buffers. Messages go to and from Base64 in
 * pieces through the C stack, so none is held whole twice; the Base64 is our own
 * table-driven code (faster than EVP_EncodeBlock/DecodeBlock, and strict on decoding).
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
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
/* Ciphertext goes to and from Base64 in pieces of this many bytes (a multiple of 3 and of
 * the AES block), on the C stack: a message is never held whole in both forms. */
#define PIECE 3072
#define WORK_MAX ((size_t)1 << 20) /* largest output buffer kept between messages */

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

/* Little-endian with GCC/Clang builtins: Base64 moves through 8-byte words (several groups
 * per load and store); elsewhere byte by byte, the same result. */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define B64_WIDE 1
#else
#define B64_WIDE 0
#endif

/* Two Base64 characters for every 12-bit value: a group of 3 bytes is 2 lookups and 2
 * two-byte copies (EVP_EncodeBlock spends about four times that). Built by the compiler. */
#define B64_CHAR(x)                                                                         \
  ((x) < 26 ? 'A' + (x) : (x) < 52 ? 'a' + (x) - 26 : (x) < 62 ? '0' + (x) - 52 : (x) == 62 ? '+' : '/')
#define B64P1(i) {B64_CHAR((i) >> 6), B64_CHAR((i) & 63)}
#define B64P4(i) B64P1(i), B64P1((i) + 1), B64P1((i) + 2), B64P1((i) + 3)
#define B64P16(i) B64P4(i), B64P4((i) + 4), B64P4((i) + 8), B64P4((i) + 12)
#define B64P64(i) B64P16(i), B64P16((i) + 16), B64P16((i) + 32), B64P16((i) + 48)
#define B64P256(i) B64P64(i), B64P64((i) + 64), B64P64((i) + 128), B64P64((i) + 192)
#define B64P1024(i) B64P256(i), B64P256((i) + 256), B64P256((i) + 512), B64P256((i) + 768)
static const char B64_PAIR[4096][2] = {B64P1024(0), B64P1024(1024), B64P1024(2048), B64P1024(3072)};

/* Standard padded Base64 of in[0..n) into out (b64_encoded_len(n) bytes, no NUL); returns
 * that length. n need not be a multiple of 3: only the end is padded. */
static size_t b64_encode(const unsigned char *in, size_t n, unsigned char *out) {
  size_t i = 0, o = 0;
#if B64_WIDE
  for (; i + 6 <= n; i += 6, o += 8) { /* two groups, one 8-byte store */
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    uint32_t w = (uint32_t)in[i + 3] << 16 | (uint32_t)in[i + 4] << 8 | in[i + 5];
    uint16_t p0, p1, p2, p3;
    uint64_t x;
    memcpy(&p0, B64_PAIR[v >> 12], 2);
    memcpy(&p1, B64_PAIR[v & 0xfff], 2);
    memcpy(&p2, B64_PAIR[w >> 12], 2);
    memcpy(&p3, B64_PAIR[w & 0xfff], 2);
    x = (uint64_t)p0 | (uint64_t)p1 << 16 | (uint64_t)p2 << 32 | (uint64_t)p3 << 48;
    memcpy(out + o, &x, 8);
  }
#endif
  for (; i + 3 <= n; i += 3, o += 4) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    memcpy(out + o, B64_PAIR[v >> 12], 2);
    memcpy(out + o + 2, B64_PAIR[v & 0xfff], 2);
  }
  if (i < n) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
    memcpy(out + o, B64_PAIR[v >> 12], 2);
    out[o + 2] = i + 1 < n ? (unsigned char)B64_PAIR[v & 0xfff][0] : '=';
    out[o + 3] = '=';
    o += 4;
  }
  return o;
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

/* Strict decoding (EVP_DecodeBlock would accept whitespace and keep padding bytes): only
 * the standard alphabet, length % 4 == 0, '=' only as the last one or two characters.
 * Table-driven, one validity test per quad. In pieces, so a decryption can go chunk by
 * chunk: the quads without padding, then the last quad when it has some. */

/* How many '=' end s[0..n) (n % 4 == 0): 0, 1 or 2. */
static size_t b64_pad(const unsigned char *u, size_t n) {
  if (n == 0 || u[n - 1] != '=') return 0;
  return u[n - 2] == '=' ? 2 : 1;
}

/* nq quads with no padding -> nq * 3 bytes; 0 on a character outside the alphabet. */
static int b64_quads(const unsigned char *u, size_t nq, unsigned char *out) {
  size_t i = 0;
#if B64_WIDE
  for (; i + 4 <= nq; i += 4, u += 16, out += 12) { /* four quads, one test, two stores */
    uint32_t a = B64_Q0[u[0]] | B64_Q1[u[1]] | B64_Q2[u[2]] | B64_Q3[u[3]];
    uint32_t b = B64_Q0[u[4]] | B64_Q1[u[5]] | B64_Q2[u[6]] | B64_Q3[u[7]];
    uint32_t c = B64_Q0[u[8]] | B64_Q1[u[9]] | B64_Q2[u[10]] | B64_Q3[u[11]];
    uint32_t d = B64_Q0[u[12]] | B64_Q1[u[13]] | B64_Q2[u[14]] | B64_Q3[u[15]];
    uint64_t x;
    uint32_t y;
    if ((a | b | c | d) & B64_BAD) return 0;
    x = __builtin_bswap64((uint64_t)a << 40 | (uint64_t)b << 16 | c >> 8); /* bytes of a, b, c's top two */
    y = __builtin_bswap32((c & 0xff) << 24 | d);
    memcpy(out, &x, 8);
    memcpy(out + 8, &y, 4);
  }
#endif
  for (; i < nq; i++, u += 4, out += 3) {
    uint32_t v = B64_Q0[u[0]] | B64_Q1[u[1]] | B64_Q2[u[2]] | B64_Q3[u[3]];
    if (v & B64_BAD) return 0;
    out[0] = (unsigned char)(v >> 16);
    out[1] = (unsigned char)(v >> 8);
    out[2] = (unsigned char)v;
  }
  return 1;
}

/* The last quad with `pad` '=': 2 (pad 2) or 3 (pad 1) real characters -> 1 or 2 bytes. */
static int b64_tail(const unsigned char *u, size_t pad, unsigned char *out) {
  unsigned a = B64_VALUE[u[0]], b = B64_VALUE[u[1]], c = pad == 1 ? B64_VALUE[u[2]] : 0;
  if ((a | b | c) & 0x80) return 0; /* includes a '=' anywhere but the tail */
  out[0] = (unsigned char)((a << 2) | (b >> 4));
  if (pad == 1) out[1] = (unsigned char)(((b & 0x0f) << 4) | (c >> 2));
  return 1;
}

/* The whole of s[0..n); out must hold n / 4 * 3 bytes. 0 on invalid input. */
static int b64_decode(const char *s, size_t n, unsigned char *out, size_t *outlen) {
  const unsigned char *u = (const unsigned char *)s;
  size_t pad, full;
  if (n % 4 != 0) return 0;
  pad = b64_pad(u, n);
  full = (pad ? n - 4 : n) / 4;
  if (!b64_quads(u, full, out)) return 0;
  if (pad && !b64_tail(u + full * 4, pad, out + full * 3)) return 0;
  *outlen = full * 3 + (pad ? 3 - pad : 0);
  return 1;
}

/* Pushes the Base64 of in[0..n); `secret`: the input may be a secret (the temporary is
 * then a scratch, scrubbed), else (ciphertext) a plain buffer. */
static void push_b64(lua_State *L, const unsigned char *in, size_t n, int secret) {
  size_t outlen;
  unsigned char *out;
  if (n > ((size_t)-1 / 4 - 1) * 3) luaL_error(L, "not enough memory");
  outlen = b64_encoded_len(n);
  out = secret ? scratch_new(L, outlen) : plain_new(L, outlen);
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
  /* The output of a larger message (up to WORK_MAX bytes), reused from one message to the
   * next so a big one costs no allocation (and no fresh pages) each time: Base64 of an
   * encryption, plaintext of a decryption, scrubbed right after use; freed and scrubbed
   * with the contexts. */
  unsigned char *work;
  size_t work_cap;
  /* Plaintext of a small decryption: scrubbed right after use and, should a Lua error
   * unwind first, by __gc (as a scratch would be), without an allocation per message. */
  unsigned char plain[STACK_BUF];
} keyed;

static int keyed_gc(lua_State *L) {
  keyed *k = (keyed *)luaL_checkudata(L, 1, KEYED_MT);
  OPENSSL_cleanse(k->plain, sizeof(k->plain));
  if (k->work) {
    OPENSSL_cleanse(k->work, k->work_cap);
    free(k->work);
  }
  k->work = NULL, k->work_cap = 0;
  EVP_CIPHER_CTX_free(k->enc); /* NULL-safe */
  EVP_CIPHER_CTX_free(k->dec);
  k->enc = k->dec = NULL;
  return 0;
}

/* The work buffer with at least n bytes, or NULL (larger than WORK_MAX, or no memory: the
 * caller then uses a userdata for this message). */
static unsigned char *work_of(keyed *k, size_t n) {
  unsigned char *w;
  if (n <= k->work_cap) return k->work;
  if (n > WORK_MAX) return NULL;
  w = (unsigned char *)malloc(n);
  if (w == NULL) return NULL;
  if (k->work) {
    OPENSSL_cleanse(k->work, k->work_cap);
    free(k->work);
  }
  k->work = w, k->work_cap = n;
  return w;
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
  k->work = NULL, k->work_cap = 0;
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

enum { AES_OK = 0, AES_FAILED = 1, AES_BAD_B64 = 2 };

/* Encrypts in[0..n) with the keyed context (reset first, PKCS#7 padding) and writes the
 * ciphertext's Base64 to out (b64_encoded_len of the padded length): PIECE bytes of
 * ciphertext at a time through the C stack. */
static int encrypt_b64(EVP_CIPHER_CTX *ctx, const unsigned char *in, size_t n, unsigned char *out,
                       size_t *outlen) {
  unsigned char ct[PIECE + 2 * AES_BLOCK + 3];
  size_t have = 0, o = 0;
  int len = 0;
  if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, NULL, -1)) goto fail;
  while (n > 0) {
    size_t take = n < PIECE ? n : PIECE, whole;
    if (!EVP_CipherUpdate(ctx, ct + have, &len, in, (int)take)) goto fail;
    in += take, n -= take, have += (size_t)len;
    whole = have / 3 * 3; /* Base64 of whole groups only until the end: no padding midway */
    o += b64_encode(ct, whole, out + o);
    memmove(ct, ct + whole, have - whole);
    have -= whole;
  }
  if (!EVP_CipherFinal_ex(ctx, ct + have, &len)) goto fail;
  have += (size_t)len;
  o += b64_encode(ct, have, out + o);
  *outlen = o;
  return AES_OK;
fail:
  ERR_clear_error(); /* leave no stale errors for libcurl's OpenSSL backend */
  return AES_FAILED;
}

/* Decodes the Base64 b64[0..n) (n % 4 == 0) and decrypts it with the keyed context (reset
 * first) into out (n / 4 * 3 + AES_BLOCK bytes), PIECE bytes at a time through the C
 * stack. AES_BAD_B64: a character outside Base64 (the whole text is read before padding is
 * judged, so that error comes first, as it would reading the text whole); AES_FAILED: the
 * padding did not check out. */
static int decrypt_b64(EVP_CIPHER_CTX *ctx, const unsigned char *b64, size_t n, unsigned char *out,
                       size_t *outlen) {
  unsigned char ct[PIECE];
  size_t pad = b64_pad(b64, n), quads = (pad ? n - 4 : n) / 4, o = 0;
  int len = 0;
  if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, NULL, -1)) goto fail;
  while (quads > 0) {
    size_t q = quads < PIECE / 3 ? quads : PIECE / 3;
    if (!b64_quads(b64, q, ct)) goto bad_b64;
    if (!EVP_CipherUpdate(ctx, out + o, &len, ct, (int)(q * 3))) goto fail;
    o += (size_t)len, b64 += q * 4, quads -= q;
  }
  if (pad) {
    if (!b64_tail(b64, pad, ct)) goto bad_b64;
    if (!EVP_CipherUpdate(ctx, out + o, &len, ct, (int)(3 - pad))) goto fail;
    o += (size_t)len;
  }
  if (!EVP_CipherFinal_ex(ctx, out + o, &len)) goto fail;
  *outlen = o + (size_t)len;
  return AES_OK;
bad_b64:
  *outlen = o;
  ERR_clear_error();
  return AES_BAD_B64;
fail:
  *outlen = o;
  ERR_clear_error();
  return AES_FAILED;
}

static int l_encrypt(lua_State *L) {
  size_t n, ctlen, outlen = 0, b64len;
  const char *pt = luaL_checklstring(L, 1, &n);
  unsigned char stack[STACK_BUF];
  unsigned char *out;
  keyed *k;
  luaL_checklstring(L, 2, NULL); /* a number becomes a string in place */
  if (n > ((size_t)-1 / 4 - AES_BLOCK) / 4 * 3) return luaL_error(L, "not enough memory");
  k = get_keyed(L, 2);
  ctlen = (n / AES_BLOCK + 1) * AES_BLOCK; /* PKCS#7 adds 1 to 16 bytes */
  b64len = b64_encoded_len(ctlen);
  /* The Base64 (not secret): on the C stack, in the reused work buffer, or for a message
   * past WORK_MAX on the Lua heap. */
  out = b64len <= sizeof(stack) ? stack : work_of(k, b64len);
  if (out == NULL) out = plain_new(L, b64len);
  if (encrypt_b64(k->enc, (const unsigned char *)pt, n, out, &outlen) != AES_OK || outlen != b64len)
    return luaL_error(L, "encryption failed");
  lua_pushlstring(L, (const char *)out, outlen);
  return 1;
}

/* Is s[0..n) Base64 throughout (for the error a bad length gives)? */
static int b64_valid(const unsigned char *s, size_t n) {
  unsigned char tmp[PIECE];
  size_t pad = b64_pad(s, n), quads = (pad ? n - 4 : n) / 4;
  while (quads > 0) {
    size_t q = quads < PIECE / 3 ? quads : PIECE / 3;
    if (!b64_quads(s, q, tmp)) return 0;
    s += q * 4, quads -= q;
  }
  return !pad || b64_tail(s, pad, tmp);
}

static int l_decrypt(lua_State *L) {
  size_t n, ctlen, ptlen = 0;
  const unsigned char *b64 = (const unsigned char *)luaL_checklstring(L, 1, &n);
  unsigned char *pt;
  keyed *k;
  int rc, scratch = 0;
  luaL_checklstring(L, 2, NULL); /* a number becomes a string in place */
  k = get_keyed(L, 2);
  if (n % 4 != 0) return enkash_push_fail(L, MSG_B64, NULL);
  ctlen = n / 4 * 3 - b64_pad(b64, n);
  if (ctlen == 0 || ctlen % AES_BLOCK != 0)
    return enkash_push_fail(L, b64_valid(b64, n) ? MSG_LEN : MSG_B64, NULL);
  /* The plaintext (secret): in the keyed buffers, or for a message past WORK_MAX in a
   * scratch; scrubbed right after it became a string, or after a failure. */
  if (ctlen + AES_BLOCK <= sizeof(k->plain)) {
    pt = k->plain;
  } else if ((pt = work_of(k, ctlen + AES_BLOCK)) == NULL) {
    pt = scratch_new(L, ctlen + AES_BLOCK);
    scratch = 1;
  }
  rc = decrypt_b64(k->dec, b64, n, pt, &ptlen);
  if (rc == AES_OK) lua_pushlstring(L, (const char *)pt, ptlen);
  if (scratch) scratch_wipe(L, rc == AES_OK ? -2 : -1);
  else OPENSSL_cleanse(pt, ctlen + AES_BLOCK); /* also what a failure left */
  if (rc != AES_OK) return enkash_push_fail(L, rc == AES_BAD_B64 ? MSG_B64 : MSG_PAD, NULL);
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
