/*
 * http_common.h - what core.http (http.c) and core.multi (multi.c) share: handle options,
 * request validation, the libcurl options of one exchange, the C-only callbacks and their
 * buffers (scrubbed), the no-silent-resend guard, the error-kind table and the Lua results.
 *
 * The C state of one exchange is an enkash_xfer. libcurl callbacks only touch the xfer
 * (never Lua); Lua values are built from it after the transfer ended. The owner of an
 * xfer (the http handle, or a pooled multi slot) must have a stable address for it while
 * libcurl holds the pointer.
 */
#ifndef ENKASH_HTTP_COMMON_H
#define ENKASH_HTTP_COMMON_H

#include <curl/curl.h>

#include "buf.h"
#include "core.h"

/* Options of a handle (core.http's or core.multi's opts table). Strings are malloc'd.
 * max_response caps the body; max_header_bytes and max_header_lines cap the response's
 * header lines (every block: 1xx, final, trailers) and max_header_bytes the request's URL
 * and headers too. */
typedef struct {
  char *ca_file, *proxy, *user_agent;
  int verify;
  size_t max_response, max_header_bytes, max_header_lines;
  long connect_timeout_ms, timeout_ms;
} enkash_http_opts;

/* ---- fallbacks of the handle options: the only place the C core defines them ----
 *
 * The policy lives in Lua (lua/enkash/defaults.lua, via the resolved config): the SDK's
 * transports always pass timeout, connect_timeout, max_response_bytes and user_agent, so these
 * are used only by a bare core.http{} / core.multi{} (specs, tools, the sandbox's webhook
 * sender). They mirror enkash.defaults; the user agent carries no version, so the version
 * is not written down twice. */
#define ENKASH_FALLBACK_TIMEOUT_MS 30000L         /* enkash.defaults.timeout, 30 s */
#define ENKASH_FALLBACK_CONNECT_TIMEOUT_MS 5000L  /* enkash.defaults.connect_timeout, 5 s */
#define ENKASH_FALLBACK_MAX_RESPONSE ((size_t)8 * 1024 * 1024) /* .max_response_bytes */
#define ENKASH_FALLBACK_USER_AGENT "enkash-lua"   /* enkash.defaults.user_agent, unversioned */
#define ENKASH_FALLBACK_MAX_TOTAL_CONNECTIONS 64L /* core.multi's pool; no Lua default */

/* Caps on response headers, no Lua default either (the SDK passes none): no real gateway comes
 * near them (nginx as a proxy passes 4-8 KiB of upstream headers by default; an Enkash answer
 * has about 15 lines), and they bound the work a hostile answer can cause after libcurl is done
 * with it. ENKASH_MAX_HEADER_BYTES is also the largest value the option takes. */
#define ENKASH_MAX_HEADER_BYTES ((size_t)64 * 1024)
#define ENKASH_MAX_HEADER_LINES ((size_t)200)

/* Reads the options table at index t (argument number arg, for messages) into *o, which
 * must be zeroed and owned by something __gc frees (the reading raises on bad options
 * after some strings were copied). Leaves values on the stack. */
void enkash_http_opts_read(lua_State *L, int t, int arg, enkash_http_opts *o);
void enkash_http_opts_free(enkash_http_opts *o);

/* A validated request table: pointers into Lua strings left on the stack by
 * enkash_req_read (valid until the C function returns). body is NULL when absent. */
typedef struct {
  const char *method, *url, *body;
  size_t mlen, blen;
  long timeout_ms, connect_ms;
} enkash_req;

/* Validates {method, url, body, timeout, connect_timeout} of the table at index t
 * (argument arg); defaults from o. Raises on misuse; allocates nothing. */
void enkash_req_read(lua_State *L, int t, int arg, const enkash_http_opts *o, enkash_req *r);

/* Which cap stopped an exchange (enkash_xfer.refused). */
enum {
  ENKASH_OK, ENKASH_BODY_CAP, ENKASH_HEAD_BYTES, ENKASH_HEAD_LINES, ENKASH_TRAILER_LINE,
  ENKASH_REQUEST_HEAD
};

/* Longest chunked trailer line taken (CRLF included): libcurl 7.88's own limit (DYN_TRAILERS),
 * applied by us too so that every libcurl version and the ngx transport agree. */
#define ENKASH_MAX_TRAILER_LINE ((size_t)4096)

/* The C state of one exchange. */
typedef struct {
  size_t max_response, max_header_bytes, max_header_lines;
  /* The request's header list: its nodes (req_nodes) and lines (req_lines, NUL-terminated,
   * back to back) live in two buffers the xfer keeps from one request to the next, so a
   * request allocates nothing for them; libcurl only reads the list. The lines may carry
   * Authorization: scrubbed as soon as the request was sent (enkash_xfer_free_request). */
  struct curl_slist *req_headers; /* into req_nodes; NULL when there is none */
  enkash_buf req_lines, req_nodes;
  size_t req_head_bytes;          /* bytes of the request's header lines */
  enkash_buf req_body;            /* a copy of the body, when the exchange outlives the call */
  enkash_buf body, head;          /* head: response header lines, '\n'-separated */
  size_t head_bytes, head_lines;  /* every header line received, for the caps */
  int head_status;                /* status of the header block being read */
  int in_trailers;                /* the final block ended: header lines now are trailers */
  int refused;                    /* ENKASH_BODY_CAP ...: the cap that stopped the exchange */
  int no_memory;
  int attempts, resent; /* the no-silent-resend guard (see http_common.c) */
  char errbuf[CURL_ERROR_SIZE];
} enkash_xfer;

/* Scrubs the request part (header lines, body copy) as soon as it was sent; the header
 * buffers' blocks (up to 64 KiB) are kept for the next request. */
void enkash_xfer_free_request(enkash_xfer *x);
/* Scrubs and frees everything and clears the flags; the xfer is then ready for reuse. */
void enkash_xfer_reset(enkash_xfer *x);
/* The same, but keeps the response buffers' blocks (up to 64 KiB) after scrubbing what
 * they held: a handle's next request allocates nothing for them. */
void enkash_xfer_recycle(enkash_xfer *x);

/* Request headers from the value at index t (nil or a table; argument arg), validated,
 * into x->req_headers, plus an empty "Expect:" unless the caller set one. Raises on misuse
 * or out of memory; what was added is scrubbed by the next free_request, recycle or reset. */
void enkash_xfer_headers(lua_State *L, enkash_xfer *x, int t, int arg);

/* Checks the request's URL and headers against max_header_bytes before anything is sent
 * (libcurl would refuse a head over 1 MiB as "Out of memory"). 0, with x->refused set,
 * when they are too large. */
int enkash_xfer_check_request(enkash_xfer *x, const enkash_http_opts *o, const enkash_req *r);

/* What enkash_xfer_setup_request last set on one easy handle, for a handle that carries
 * request after request (core.http's): the URL, the timeouts and how the method was set are
 * given to libcurl again only when they differ, and are otherwise still in effect, since
 * libcurl changes no option by itself. Valid only since the handle's last curl_easy_reset:
 * whoever calls enkash_xfer_setup_static on the handle then calls enkash_set_cache_forget.
 *
 * The URL is handed over parsed (CURLOPT_CURLU), once for as long as it stays the same: given
 * as a string, libcurl parses it and writes it back out on every transfer (about 14,000
 * instructions of a pipeline's request, callgrind). The parse is libcurl's own with the flags
 * libcurl uses for a string URL, so the request, the effective URL and every failure stay the
 * same; a URL that does not parse is given as a string, and fails in libcurl as before. */
typedef struct {
  enkash_buf url; /* the URL set, NUL included; empty: none */
  CURLU *uh;      /* its parsed form when it was set so; the handle points at it */
  long timeout_ms, connect_ms;
  int mode; /* how the method was set (http_common.c); 0: nothing known */
} enkash_set_cache;

/* Forgets what was set: scrubs the URL (keeping its block) and frees the parsed form, so
 * call it only once the handle no longer points at that (after curl_easy_reset or
 * curl_easy_cleanup). _free also frees the block. */
void enkash_set_cache_forget(enkash_set_cache *sc);
void enkash_set_cache_free(enkash_set_cache *sc);

/* curl_easy_reset(c), then every option of the exchange: handle options o, request r,
 * callbacks into x. body is the body to send (r->body, or a copy that outlives the call),
 * kept by pointer: it must stay valid until the transfer ends. */
CURLcode enkash_xfer_setup(CURL *c, const enkash_http_opts *o, enkash_xfer *x,
                           const enkash_req *r, const char *body);
/* The two halves of enkash_xfer_setup. _static: curl_easy_reset(c) and the options that
 * depend only on the handle options and x (TLS, proxy, callbacks, guards): the same for
 * every request of a handle. _request: URL, timeouts, headers and the method with its body,
 * so that nothing of a previous request carries over: with sc NULL every one of them is set;
 * with a cache, those equal to what sc says is in effect are not set again (the headers and
 * the body, which live in buffers of this request, always are). sc is updated. */
CURLcode enkash_xfer_setup_static(CURL *c, const enkash_http_opts *o, enkash_xfer *x);
CURLcode enkash_xfer_setup_request(CURL *c, const enkash_http_opts *o, enkash_xfer *x,
                                   const enkash_req *r, const char *body, enkash_set_cache *sc);

/* Pushes {status, headers, body}: headers lower-cased, repeated ones joined with ", ".
 * Linear in the size of the headers (each value is copied once). */
void enkash_push_response(lua_State *L, CURL *c, enkash_xfer *x);
/* The failure of an exchange: returns its message and sets *kind ("timeout" | "connect" |
 * "tls" | "transport" | "validation"), for a failed rc or for a request refused by
 * enkash_xfer_check_request (rc then unused). buf (ENKASH_FAIL_SIZE bytes) may hold the
 * message; the caller pushes both (enkash_push_fail, or a multi completion's fields). */
#define ENKASH_FAIL_SIZE CURL_ERROR_SIZE
const char *enkash_failure(CURL *c, const enkash_xfer *x, CURLcode rc, char *buf,
                           const char **kind);

/* curl_global_init once per process (raises on failure). */
void enkash_curl_global_init(lua_State *L);

#endif /* ENKASH_HTTP_COMMON_H */
