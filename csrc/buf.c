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

int enkash_buf_append(enkash_buf *b, const char *p, size_t n) {
  if (n > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 4096;
    char *data;
    while (cap - b->len < n) {
      if (cap > (size_t)-1 / 2) return 0;
      cap *= 2;
    }
    data = (char *)OPENSSL_malloc(cap);
    if (data == NULL) return 0;
    if (b->len > 0) memcpy(data, b->data, b->len);
    if (b->data != NULL) OPENSSL_clear_free(b->data, b->cap);
    b->data = data;
    b->cap = cap;
  }
  if (n > 0) memcpy(b->data + b->len, p, n);
  b->len += n;
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
