/*
 * bench/c/crypto.c - the raw EVP baseline of the crypto benchmark: Enkash's payload scheme
 * (AES-128-ECB/PKCS#7, key = SHA-256(secret)[0:16], standard Base64) in a tight loop.
 * One op = encrypt + Base64-encode, then Base64-decode + decrypt (and a check that the
 * round trip gave the input back). The key is derived once and both contexts are keyed
 * once, reset per message: the cheapest way EVP allows.
 *
 * usage: crypto SIZE ITERATIONS SECRET     prints: size=SIZE ops=N seconds=S
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  size_t size, i, b64cap;
  long iters, k;
  const char *secret;
  unsigned char md[32], key[16], *pt, *ct, *b64, *dec, *out;
  unsigned int mdlen = 0;
  EVP_CIPHER_CTX *e, *d;
  double t0;
  if (argc != 4) {
    fprintf(stderr, "usage: %s SIZE ITERATIONS SECRET\n", argv[0]);
    return 2;
  }
  size = (size_t)atol(argv[1]), iters = atol(argv[2]), secret = argv[3];
  pt = malloc(size), ct = malloc(size + 16), dec = malloc(size + 16), out = malloc(size + 32);
  b64cap = (size + 16 + 2) / 3 * 4 + 1;
  b64 = malloc(b64cap);
  for (i = 0; i < size; i++) pt[i] = (unsigned char)('a' + i % 26);
  EVP_Digest(secret, strlen(secret), md, &mdlen, EVP_sha256(), NULL);
  memcpy(key, md, 16);
  e = EVP_CIPHER_CTX_new(), d = EVP_CIPHER_CTX_new();
  EVP_CipherInit_ex(e, EVP_aes_128_ecb(), NULL, key, NULL, 1);
  EVP_CipherInit_ex(d, EVP_aes_128_ecb(), NULL, key, NULL, 0);
  t0 = now();
  for (k = 0; k < iters; k++) {
    int l1 = 0, l2 = 0, blen, clen;
    EVP_CipherInit_ex(e, NULL, NULL, NULL, NULL, -1);
    EVP_CipherUpdate(e, ct, &l1, pt, (int)size);
    EVP_CipherFinal_ex(e, ct + l1, &l2);
    blen = EVP_EncodeBlock(b64, ct, l1 + l2);
    clen = EVP_DecodeBlock(dec, b64, blen);
    if (blen >= 1 && b64[blen - 1] == '=') clen--;
    if (blen >= 2 && b64[blen - 2] == '=') clen--;
    EVP_CipherInit_ex(d, NULL, NULL, NULL, NULL, -1);
    if (!EVP_CipherUpdate(d, out, &l1, dec, clen) || !EVP_CipherFinal_ex(d, out + l1, &l2) ||
        (size_t)(l1 + l2) != size || memcmp(out, pt, size) != 0) {
      fprintf(stderr, "round trip failed\n");
      return 1;
    }
  }
  printf("size=%zu ops=%ld seconds=%.6f\n", size, iters, now() - t0);
  EVP_CIPHER_CTX_free(e);
  EVP_CIPHER_CTX_free(d);
  free(pt), free(ct), free(dec), free(out), free(b64);
  return 0;
}
