/*
 * buf.h - enkash_buf, the growable byte buffer of the C core.
 *
 * Its bytes may be tokens, passwords or request/response bodies, so it never leaves a copy
 * behind: it grows by copy (the old block is scrubbed, never realloc'd in place where the
 * allocator could keep it), and free and recycle scrub what it held. Its own file so that
 * any part may use it without taking in the HTTP code.
 */
#ifndef ENKASH_BUF_H
#define ENKASH_BUF_H

#include <stddef.h>

typedef struct {
  char *data;
  size_t len, cap;
} enkash_buf;

/* Scrubs and frees the block; the buffer is then empty and reusable. */
void enkash_buf_free(enkash_buf *b);
/* Appends n bytes; 0 when out of memory (the buffer is then unchanged). */
int enkash_buf_append(enkash_buf *b, const char *p, size_t n);
/* Appends n bytes for the caller to write and returns where they start (the next append may
 * move the block); NULL when out of memory (the buffer is then unchanged). One capacity check
 * for a record written in several pieces. */
char *enkash_buf_extend(enkash_buf *b, size_t n);
/* Empties the buffer for reuse: the used bytes are scrubbed and the block is kept when its
 * capacity is at most keep (the next use allocates nothing), else freed. */
void enkash_buf_recycle(enkash_buf *b, size_t keep);

#endif /* ENKASH_BUF_H */
