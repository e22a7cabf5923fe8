/*
 * buf.c - enkash_buf (see buf.h): a growable byte buffer that scrubs what it held.
 *
 * OpenSSL's allocator and cleanse: OPENSSL_cleanse is not optimised away, unlike memset.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"

void enkash_buf_free(enkash_buf *b) {
  if (b->data != NULL) OPENSSL_clear_free(b->data, b->cap);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *enkash_buf_extend(enkash_buf *b, size_t n) {
  char *at;
  if (n > b->cap - b->len || b->data == NULL) { /* a block even for n == 0: never NULL + 0 */
    size_t cap = b->cap ? b->cap : 4096;
    char *data;
    while (cap - b->len < n) {
      if (cap > (size_t)-1 / 2) return NULL;
      cap *= 2;
    }
    data = (char *)OPENSSL_malloc(cap);
    if (data == NULL) return NULL;
    if (b->len > 0) memcpy(data, b->data, b->len);
    if (b->data != NULL) OPENSSL_clear_free(b->data, b->cap);
    b->data = data;
    b->cap = cap;
  }
  at = b->data + b->len;
  b->len += n;
  return at;
}

int enkash_buf_append(enkash_buf *b, const char *p, size_t n) {
  char *at;
  if (n == 0) return 1; /* nothing to add: no block either */
  at = enkash_buf_extend(b, n);
  if (at == NULL) return 0;
  memcpy(at, p, n);
  return 1;
}

/* Bytes past len are always clean (never written, or scrubbed by an earlier recycle), so
 * scrubbing the used ones is enough. */
void enkash_buf_recycle(enkash_buf *b, size_t keep) {
  if (b->cap > keep) {
    enkash_buf_free(b);
    return;
  }
  if (b->len > 0) OPENSSL_cleanse(b->data, b->len);
  b->len = 0;
}
