/*
 * http_common.c - the parts of an HTTP exchange that core.http and core.multi share
 * (see http_common.h): listed and written once.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "http_common.h"

#define MAX_TIMEOUT_S (7.0 * 24 * 3600) /* a week: keeps the ms value inside a long */
#define RECYCLE_MAX ((size_t)64 * 1024) /* response buffers up to this size are kept */

/* ---- error kinds: every libcurl code we classify, listed once ---- */

static const struct {
  CURLcode code;
  const char *kind;
} curl_kinds[] = {
  {CURLE_OPERATION_TIMEDOUT, "timeout"},
  {CURLE_COULDNT_CONNECT, "connect"},
  {CURLE_COULDNT_RESOLVE_HOST, "connect"},
  {CURLE_COULDNT_RESOLVE_PROXY, "connect"},
  {CURLE_SSL_CONNECT_ERROR, "tls"},
  {CURLE_PEER_FAILED_VERIFICATION, "tls"}, /* also CURLE_SSL_CACERT, its old alias */
  {CURLE_SSL_CERTPROBLEM, "tls"},
  {CURLE_SSL_CIPHER, "tls"},
  {CURLE_SSL_CACERT_BADFILE, "tls"},
  {CURLE_SSL_ISSUER_ERROR, "tls"},
  {CURLE_SSL_CRL_BADFILE, "tls"},
  {CURLE_SSL_PINNEDPUBKEYNOTMATCH, "tls"},
  {CURLE_SSL_INVALIDCERTSTATUS, "tls"},
  {CURLE_SSL_ENGINE_NOTFOUND, "tls"},
  {CURLE_SSL_ENGINE_SETFAILED, "tls"},
  {CURLE_SSL_ENGINE_INITFAILED, "tls"},
  {CURLE_SSL_SHUTDOWN_FAILED, "tls"},
  {CURLE_USE_SSL_FAILED, "tls"},
#if LIBCURL_VERSION_NUM >= 0x074d00 /* 7.77.0 */
  {CURLE_SSL_CLIENTCERT, "tls"},
#endif
};

static const char *curl_kind(CURLcode code) {
  size_t i;
  for (i = 0; i < sizeof(curl_kinds) / sizeof(curl_kinds[0]); i++)
    if (curl_kinds[i].code == code) return curl_kinds[i].kind;
  return "transport";
}

/* ---- reading option tables (value left on the stack: keeps strings alive) ---- */

/* Pushes t[name]; returns its string or NULL when nil; raises on another type. */
static const char *opt_string(lua_State *L, int t, int arg, const char *name, size_t *len) {
  lua_getfield(L, t, name);
  if (lua_isnil(L, -1)) return NULL;
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_argerror(L, arg, lua_pushfstring(L, "field '%s' must be a string", name));
  return lua_tolstring(L, -1, len);
}

/* A C string option (no embedded NUL), copied with malloc; def (or NULL) when absent. */
static char *opt_cstring_copy(lua_State *L, int t, int arg, const char *name, const char *def) {
  size_t len = 0;
  const char *s = opt_string(L, t, arg, name, &len);
  char *copy;
  if (s == NULL) {
    if (def == NULL) return NULL;
    s = def;
    len = strlen(def);
  } else if (strlen(s) != len) {
    luaL_argerror(L, arg, lua_pushfstring(L, "field '%s' contains a NUL", name));
  }
  copy = (char *)malloc(len + 1);
  if (copy == NULL) luaL_error(L, "not enough memory");
  memcpy(copy, s, len + 1);
  return copy;
}

/* Seconds (a positive number) -> milliseconds, rounded up so 0.0001 s is not "no limit". */
static long opt_timeout_ms(lua_State *L, int t, int arg, const char *name, long def) {
  lua_Number s;
  lua_getfield(L, t, name);
  if (lua_isnil(L, -1)) return def;
  if (lua_type(L, -1) != LUA_TNUMBER)
    luaL_argerror(L, arg, lua_pushfstring(L, "field '%s' must be a number of seconds", name));
  s = lua_tonumber(L, -1);
  if (!(s > 0 && s <= MAX_TIMEOUT_S)) /* also rejects NaN */
    luaL_argerror(L, arg, lua_pushfstring(L, "field '%s' must be > 0 seconds", name));
  return (long)ceil(s * 1000.0);
}

/* An integer option in lo..hi, or def when absent. */
static size_t opt_size(lua_State *L, int t, int arg, const char *name, size_t def, double lo,
                       double hi) {
  lua_Number n;
  lua_getfield(L, t, name);
  if (lua_isnil(L, -1)) return def;
  n = lua_tonumber(L, -1);
  if (lua_type(L, -1) != LUA_TNUMBER || !(n >= lo && n <= hi) || n != floor(n)) /* and NaN */
    luaL_argerror(L, arg, lua_pushfstring(L, "field '%s' must be an integer in %d..%d", name,
                                          (int)lo, (int)hi));
  return (size_t)n;
}

void enkash_http_opts_read(lua_State *L, int t, int arg, enkash_http_opts *o) {
  o->ca_file = opt_cstring_copy(L, t, arg, "ca_file", NULL);
  o->proxy = opt_cstring_copy(L, t, arg, "proxy", NULL);
  o->user_agent = opt_cstring_copy(L, t, arg, "user_agent", ENKASH_FALLBACK_USER_AGENT);
  lua_getfield(L, t, "verify");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TBOOLEAN)
    luaL_argerror(L, arg, "field 'verify' must be a boolean");
  o->verify = lua_isnil(L, -1) || lua_toboolean(L, -1);
  lua_getfield(L, t, "max_response_bytes");
  if (lua_isnil(L, -1)) {
    o->max_response = ENKASH_FALLBACK_MAX_RESPONSE;
  } else {
    lua_Number n = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !(n >= 1 && n <= 1e15) || n != floor(n))
      luaL_argerror(L, arg, "field 'max_response_bytes' must be a positive integer");
    o->max_response = (size_t)n;
  }
  /* At most 64 KiB: libcurl refuses a header line over 100 KiB itself, as "Out of memory";
   * under this bound such a line is over our cap as well, so it is reported as our cap,
   * truthfully. (Trailer lines have their own limit: ENKASH_MAX_TRAILER_LINE.) */
  o->max_header_bytes = opt_size(L, t, arg, "max_header_bytes", ENKASH_MAX_HEADER_BYTES, 1,
                                 (double)ENKASH_MAX_HEADER_BYTES);
  o->max_header_lines = opt_size(L, t, arg, "max_header_lines", ENKASH_MAX_HEADER_LINES, 1, 10000);
  o->connect_timeout_ms =
      opt_timeout_ms(L, t, arg, "connect_timeout", ENKASH_FALLBACK_CONNECT_TIMEOUT_MS);
  o->timeout_ms = opt_timeout_ms(L, t, arg, "timeout", ENKASH_FALLBACK_TIMEOUT_MS);
}

void enkash_http_opts_free(enkash_http_opts *o) {
  free(o->ca_file);
  free(o->proxy);
  free(o->user_agent);
  o->ca_file = o->proxy = o->user_agent = NULL;
}

void enkash_curl_global_init(lua_State *L) {
  static int done = 0;
  if (!done) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) luaL_error(L, "curl_global_init failed");
    done = 1;
  }
}

/* ---- validating a request ---- */

/* RFC 9110 token characters (method and header names): ALPHA, DIGIT and !#$%&'*+-.^_`|~,
 * one bit per byte value. A table rather than comparisons and strchr: every request checks
 * every header name. */
static const unsigned int TCHAR[8] = {
  0x00000000u, 0x03ff6cfau, 0xc7fffffeu, 0x57ffffffu, 0, 0, 0, 0,
};

static int is_token(const char *s, size_t n) {
  size_t i;
  if (n == 0) return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!((TCHAR[c >> 5] >> (c & 31)) & 1u)) return 0;
  }
  return 1;
}

/* Header values may not smuggle in another header line. s is a Lua string, NUL-terminated
 * at n: libc's word-at-a-time scans instead of a test per byte. */
static int is_header_value(const char *s, size_t n) {
  return strlen(s) == n && memchr(s, '\r', n) == NULL && memchr(s, '\n', n) == NULL;
}

static int ascii_ieq(const char *a, size_t n, const char *b) {
  size_t i;
  if (strlen(b) != n) return 0;
  for (i = 0; i < n; i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
    if (x != y) return 0;
  }
  return 1;
}

void enkash_req_read(lua_State *L, int t, int arg, const enkash_http_opts *o, enkash_req *r) {
  size_t ulen = 0;
  r->mlen = r->blen = 0;
  r->method = opt_string(L, t, arg, "method", &r->mlen);
  if (r->method == NULL) {
    r->method = "GET";
    r->mlen = 3;
  }
  if (!is_token(r->method, r->mlen)) luaL_argerror(L, arg, "invalid method");
  r->url = opt_string(L, t, arg, "url", &ulen);
  if (r->url == NULL || ulen == 0 || strlen(r->url) != ulen)
    luaL_argerror(L, arg, "field 'url' must be a non-empty string");
  r->body = opt_string(L, t, arg, "body", &r->blen);
  r->timeout_ms = opt_timeout_ms(L, t, arg, "timeout", o->timeout_ms);
  r->connect_ms = opt_timeout_ms(L, t, arg, "connect_timeout", o->connect_timeout_ms);
}

/* ---- the exchange's C state ---- */

void enkash_xfer_free_request(enkash_xfer *x) {
  enkash_buf_recycle(&x->req_lines, RECYCLE_MAX); /* scrubs every line: Authorization */
  enkash_buf_recycle(&x->req_nodes, RECYCLE_MAX);
  x->req_headers = NULL;
  enkash_buf_free(&x->req_body);
}

/* The counters and flags of one exchange, back to zero. */
static void xfer_clear_state(enkash_xfer *x) {
  x->req_head_bytes = x->head_bytes = x->head_lines = 0;
  x->head_status = x->in_trailers = 0;
  x->refused = x->no_memory = 0;
  x->attempts = x->resent = 0;
  x->errbuf[0] = '\0';
}

void enkash_xfer_recycle(enkash_xfer *x) {
  enkash_xfer_free_request(x);
  enkash_buf_recycle(&x->body, RECYCLE_MAX);
  enkash_buf_recycle(&x->head, RECYCLE_MAX);
  xfer_clear_state(x);
}

void enkash_xfer_reset(enkash_xfer *x) {
  enkash_xfer_free_request(x);
  enkash_buf_free(&x->req_lines);
  enkash_buf_free(&x->req_nodes);
  enkash_buf_free(&x->body);
  enkash_buf_free(&x->head);
  xfer_clear_state(x);
}

/* Appends the line "name: value" (or "name;", libcurl's way to send an empty value) with its
 * NUL to x->req_lines: one capacity check, no allocation once the block is there. */
static void add_header(lua_State *L, enkash_xfer *x, const char *name, size_t nlen,
                       const char *value, size_t vlen) {
  size_t size = nlen + vlen + 3;
  char *line = enkash_buf_extend(&x->req_lines, vlen == 0 ? nlen + 2 : size);
  if (line == NULL) luaL_error(L, "not enough memory");
  memcpy(line, name, nlen);
  if (vlen == 0) {
    line[nlen] = ';';
    line[nlen + 1] = '\0';
  } else {
    line[nlen] = ':';
    line[nlen + 1] = ' ';
    memcpy(line + nlen + 2, value, vlen);
    line[nlen + 2 + vlen] = '\0';
  }
  x->req_head_bytes += size + 1; /* name, ": ", value, CRLF */
}

/* The list over the n lines of x->req_lines, once they are all there (the block no longer
 * moves): node i points at line i. */
static void link_headers(lua_State *L, enkash_xfer *x, size_t n) {
  struct curl_slist *nodes;
  const char *line = x->req_lines.data;
  size_t i;
  if (n == 0) return; /* the list stays NULL */
  if (n > ((size_t)-1) / sizeof(*nodes)) luaL_error(L, "not enough memory");
  nodes = (struct curl_slist *)(void *)enkash_buf_extend(&x->req_nodes, n * sizeof(*nodes));
  if (nodes == NULL) luaL_error(L, "not enough memory");
  for (i = 0; i < n; i++) {
    nodes[i].data = (char *)line;
    nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
    line += strlen(line) + 1; /* lines hold no NUL: names are tokens, values are checked */
  }
  x->req_headers = nodes;
}

void enkash_xfer_headers(lua_State *L, enkash_xfer *x, int t, int arg) {
  int has_expect = 0;
  size_t n = 0;
  if (!lua_isnil(L, t)) {
    if (!lua_istable(L, t)) luaL_argerror(L, arg, "field 'headers' must be a table");
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
      size_t nlen, vlen;
      const char *name, *value;
      int vt = lua_type(L, -1);
      if (lua_type(L, -2) != LUA_TSTRING || (vt != LUA_TSTRING && vt != LUA_TNUMBER))
        luaL_argerror(L, arg, "headers must map names (strings) to strings");
      name = lua_tolstring(L, -2, &nlen);
      value = lua_tolstring(L, -1, &vlen); /* converts the stack copy, not the table entry */
      if (!is_token(name, nlen)) luaL_argerror(L, arg, "invalid header name");
      if (!is_header_value(value, vlen)) luaL_argerror(L, arg, "invalid header value");
      if (nlen == 6 && ascii_ieq(name, nlen, "expect")) has_expect = 1;
      add_header(L, x, name, nlen, value, vlen);
      n++;
      lua_pop(L, 1);
    }
  }
  if (!has_expect) {
    if (!enkash_buf_append(&x->req_lines, "Expect:", 8)) luaL_error(L, "not enough memory");
    n++;
  }
  link_headers(L, x, n);
}

int enkash_xfer_check_request(enkash_xfer *x, const enkash_http_opts *o, const enkash_req *r) {
  /* The request line and every header line; the few libcurl adds (Host, Accept) are small. */
  size_t n = r->mlen + strlen(r->url) + x->req_head_bytes + strlen(o->user_agent) + 40;
  if (n <= o->max_header_bytes) return 1;
  x->max_header_bytes = o->max_header_bytes; /* for the message */
  x->refused = ENKASH_REQUEST_HEAD;
  return 0;
}

/* ---- libcurl callbacks: C only ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  enkash_xfer *x = (enkash_xfer *)ud;
  size_t len = size * n;
  if (len > x->max_response - x->body.len) {
    x->refused = ENKASH_BODY_CAP;
    return 0; /* CURLE_WRITE_ERROR: stop now, do not buffer the rest */
  }
  if (!enkash_buf_append(&x->body, p, len)) {
    x->no_memory = 1;
    return 0;
  }
  return len;
}

/* The status code of a status line ("HTTP/1.1 200 OK", "HTTP/2 200"), 0 when unreadable. */
static int status_of(const char *p, size_t len) {
  const char *sp = (const char *)memchr(p, ' ', len);
  size_t i;
  int code = 0;
  if (sp == NULL || (size_t)(sp - p) + 4 > len) return 0;
  for (i = 1; i <= 3; i++) {
    if (sp[i] < '0' || sp[i] > '9') return 0;
    code = code * 10 + (sp[i] - '0');
  }
  return code;
}

/* Every header line of the exchange counts against the caps: 1xx blocks, the final one and
 * chunked trailers alike (a flood of trailer lines is work too), and the transfer stops at
 * once when one is exceeded, while libcurl's timeout still applies. */
static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  enkash_xfer *x = (enkash_xfer *)ud;
  size_t len = size * n, keep = len;
  if (len > x->max_header_bytes - x->head_bytes) {
    x->refused = ENKASH_HEAD_BYTES;
    return 0; /* CURLE_WRITE_ERROR */
  }
  x->head_bytes += len;
  /* A new status line starts a new header block (after 100 Continue, proxy CONNECT):
   * only the final response's headers are reported. */
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    x->head.len = 0;
    x->head_status = status_of(p, len);
    x->in_trailers = 0; /* no field line starts so: a new response, whatever came before */
    return len;
  }
  while (keep > 0 && (p[keep - 1] == '\n' || p[keep - 1] == '\r')) keep--;
  if (keep == 0) { /* the blank line ending a block: after the final one, trailers follow */
    if (x->head_status >= 200) x->in_trailers = 1;
    return len;
  }
  if (x->in_trailers && len > ENKASH_MAX_TRAILER_LINE) {
    x->refused = ENKASH_TRAILER_LINE;
    return 0;
  }
  if (++x->head_lines > x->max_header_lines) {
    x->refused = ENKASH_HEAD_LINES;
    return 0;
  }
  {
    char *at = enkash_buf_extend(&x->head, keep + 1);
    if (at == NULL) {
      x->no_memory = 1;
      return 0;
    }
    memcpy(at, p, keep);
    at[keep] = '\n';
  }
  return len;
}

/* libcurl silently re-sends a request when a reused connection dies before any response
 * byte arrives ("Connection died, retrying a fresh connect"), POST bodies included. The
 * server may well have acted on the first copy (a transfer committed, then the connection
 * reset), so a hidden second send could move money twice. Retries are Lua policy (status
 * check first for money-moving calls): refuse the second attempt and report a transport
 * error instead. The pre-request callback runs once per attempt to send. */
#if LIBCURL_VERSION_NUM >= 0x075000 /* 7.80.0 */
#define HAVE_PREREQ 1
static int on_prereq(void *ud, char *primary_ip, char *local_ip, int primary_port,
                     int local_port) {
  enkash_xfer *x = (enkash_xfer *)ud;
  (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
  if (x->attempts++ == 0) return CURL_PREREQFUNC_OK;
  x->resent = 1;
  return CURL_PREREQFUNC_ABORT;
}
#else
#define HAVE_PREREQ 0
#endif

/* ---- the options of one exchange ---- */

#define SET(opt, val) \
  do { \
    if (rc == CURLE_OK) rc = curl_easy_setopt(c, (opt), (val)); \
  } while (0)

CURLcode enkash_xfer_setup_static(CURL *c, const enkash_http_opts *o, enkash_xfer *x) {
  CURLcode rc = CURLE_OK;
  curl_easy_reset(c); /* keeps live connections, the TLS session and DNS caches */
  SET(CURLOPT_ERRORBUFFER, x->errbuf);
  SET(CURLOPT_NOSIGNAL, 1L); /* no SIGALRM for DNS timeouts: safe in threaded hosts */
  SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2); /* minimum */
  SET(CURLOPT_SSL_VERIFYPEER, o->verify ? 1L : 0L);
  SET(CURLOPT_SSL_VERIFYHOST, o->verify ? 2L : 0L);
  if (o->ca_file != NULL) {
    /* An explicit CA file is the whole trust: do not also trust the system CA dir. */
    SET(CURLOPT_CAINFO, o->ca_file);
    SET(CURLOPT_CAPATH, (char *)NULL);
  }
  if (o->proxy != NULL) SET(CURLOPT_PROXY, o->proxy); /* else http(s)_proxy env applies */
  SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L); /* a proxy's CONNECT answer is not the response */
  SET(CURLOPT_USERAGENT, o->user_agent);
  /* A Content-Length over the cap is refused before any of the body is read; a body
   * without one is stopped by on_body as soon as it passes the cap. */
  SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_response);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, (void *)x);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, (void *)x);
#if HAVE_PREREQ
  SET(CURLOPT_PREREQFUNCTION, on_prereq);
  SET(CURLOPT_PREREQDATA, (void *)x);
#endif
  return rc;
}

/* How the method was set (enkash_set_cache.mode). Only the two a pipeline repeats are worth
 * remembering: any other request sets the method from a clean slate every time. */
enum { MODE_UNKNOWN, MODE_POST_BODY, MODE_GET, MODE_OTHER };

void enkash_set_cache_forget(enkash_set_cache *sc) {
  enkash_buf_recycle(&sc->url, RECYCLE_MAX);
  curl_url_cleanup(sc->uh); /* NULL is fine */
  sc->uh = NULL;
  sc->timeout_ms = sc->connect_ms = 0;
  sc->mode = MODE_UNKNOWN;
}

void enkash_set_cache_free(enkash_set_cache *sc) {
  enkash_set_cache_forget(sc);
  enkash_buf_free(&sc->url);
}

/* How libcurl parses a URL given as a string (url.c, parseurlandfillconn, without the flags
 * of options this core never sets: CURLOPT_DISALLOW_USERNAME_IN_URL, CURLOPT_PATH_AS_IS). */
#define URL_FLAGS (CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME)

/* Sets the URL unless sc says it is in effect: parsed once into sc->uh when it parses (the
 * string option cleared, so libcurl writes the effective URL from the parsed one), else as
 * the string. */
static CURLcode set_url(CURL *c, const char *url, enkash_set_cache *sc) {
  size_t n;
  CURLU *u;
  CURLcode rc;
  if (sc == NULL) return curl_easy_setopt(c, CURLOPT_URL, url);
  n = strlen(url) + 1;
  if (sc->url.len == n && memcmp(sc->url.data, url, n) == 0) return CURLE_OK;
  enkash_buf_recycle(&sc->url, RECYCLE_MAX); /* unknown until it is set */
  u = curl_url();
  if (u != NULL && curl_url_set(u, CURLUPART_URL, url, URL_FLAGS) == CURLUE_OK) {
    rc = curl_easy_setopt(c, CURLOPT_URL, (char *)NULL);
    if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_CURLU, u);
  } else {
    curl_url_cleanup(u);
    u = NULL;
    rc = curl_easy_setopt(c, CURLOPT_URL, url); /* libcurl parses it, and fails on it */
    if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_CURLU, (CURLU *)NULL);
  }
  if (rc != CURLE_OK) {
    /* The handle may still point at sc->uh: it stays until the reset that follows a failed
     * setup (enkash_set_cache_forget). */
    curl_url_cleanup(u);
    return rc;
  }
  curl_url_cleanup(sc->uh); /* the handle points at u (or no parsed URL) now */
  sc->uh = u;
  if (!enkash_buf_append(&sc->url, url, n)) sc->url.len = 0; /* unknown: set again next time */
  return CURLE_OK;
}

CURLcode enkash_xfer_setup_request(CURL *c, const enkash_http_opts *o, enkash_xfer *x,
                                   const enkash_req *r, const char *body, enkash_set_cache *sc) {
  const char *method = r->method;
  size_t mlen = r->mlen;
  int is_post = mlen == 4 && memcmp(method, "POST", 4) == 0;
  int mode = body != NULL && is_post ? MODE_POST_BODY
             : body == NULL && mlen == 3 && memcmp(method, "GET", 3) == 0 ? MODE_GET
                                                                          : MODE_OTHER;
  int same_mode = sc != NULL && sc->mode == mode && mode != MODE_OTHER;
  CURLcode rc = CURLE_OK;
  x->max_response = o->max_response;
  x->max_header_bytes = o->max_header_bytes;
  x->max_header_lines = o->max_header_lines;
  x->errbuf[0] = '\0';
  if (sc != NULL) sc->mode = MODE_UNKNOWN; /* until every option below is set */
  rc = set_url(c, r->url, sc);
  if (sc == NULL || sc->timeout_ms != r->timeout_ms) SET(CURLOPT_TIMEOUT_MS, r->timeout_ms);
  if (sc == NULL || sc->connect_ms != r->connect_ms) SET(CURLOPT_CONNECTTIMEOUT_MS, r->connect_ms);
  if (sc != NULL && rc == CURLE_OK) {
    sc->timeout_ms = r->timeout_ms;
    sc->connect_ms = r->connect_ms;
  }
  SET(CURLOPT_HTTPHEADER, x->req_headers);
  /* The method from a clean slate: nothing of the previous request's method carries over
   * (unless it was set the same way, and still is). */
  if (!same_mode) {
    SET(CURLOPT_CUSTOMREQUEST, (char *)NULL);
    SET(CURLOPT_NOBODY, 0L);
  }
  if (body != NULL) {
    /* Size first, then the pointer: binary safe, no strlen(). The caller keeps the bytes
     * alive until the transfer ends. */
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->blen);
    SET(CURLOPT_POSTFIELDS, body);
    if (!is_post) SET(CURLOPT_CUSTOMREQUEST, method);
  } else if (mode == MODE_GET) {
    if (!same_mode) SET(CURLOPT_HTTPGET, 1L);
  } else if (mlen == 4 && memcmp(method, "HEAD", 4) == 0) {
    SET(CURLOPT_NOBODY, 1L);
  } else if (is_post) {
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0); /* sends Content-Length: 0 */
    SET(CURLOPT_POSTFIELDS, "");
  } else {
    SET(CURLOPT_HTTPGET, 1L); /* a bodiless request, as after a reset */
    SET(CURLOPT_CUSTOMREQUEST, method);
  }
  if (sc != NULL && rc == CURLE_OK) sc->mode = mode;
  return rc;
}

CURLcode enkash_xfer_setup(CURL *c, const enkash_http_opts *o, enkash_xfer *x,
                           const enkash_req *r, const char *body) {
  CURLcode rc = enkash_xfer_setup_static(c, o, x);
  if (rc == CURLE_OK) rc = enkash_xfer_setup_request(c, o, x, r, body, NULL);
  return rc;
}

#undef SET

/* ---- building the results ---- */

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* One parsed header line: a value segment of the group (one name) it belongs to. */
typedef struct {
  const char *value;
  size_t vlen;
  size_t next; /* the next segment of the same group, or NONE */
  int folded;  /* an obsolete folded line: continues the previous segment after a space */
} hseg;

typedef struct {
  const char *name;
  size_t nlen, first, last; /* segments, in order */
} hgroup;

#define NONE ((size_t)-1)

/* Appends segment i to group g. */
static void group_add(hgroup *g, hseg *segs, size_t i) {
  if (g->first == NONE)
    g->first = i;
  else
    segs[g->last].next = i;
  g->last = i;
}

/* Splits x->head into segments and groups (names lower-cased in place); returns the number
 * of groups. `idx` (stack index) maps each name to its group number: one hash look-up per
 * line, so grouping is linear however often a name repeats. */
static size_t parse_head(lua_State *L, enkash_xfer *x, int idx, hseg *segs, hgroup *groups) {
  char *p = x->head.data, *end = p + x->head.len;
  size_t nseg = 0, ngroup = 0, cur = NONE; /* cur: the group of the last named line */
  while (p < end) {
    char *eol = (char *)memchr(p, '\n', (size_t)(end - p));
    char *colon, *v, *ve, *ne, *q;
    size_t g;
    if (eol == NULL) eol = end;
    ve = eol;
    while (ve > p && is_space(ve[-1])) ve--;
    if (is_space(*p)) { /* obsolete line folding: continues the previous value */
      for (v = p; v < ve && is_space(*v); v++) {}
      if (cur != NONE && v < ve) {
        segs[nseg].value = v;
        segs[nseg].vlen = (size_t)(ve - v);
        segs[nseg].next = NONE;
        segs[nseg].folded = 1;
        group_add(&groups[cur], segs, nseg++);
      }
    } else if ((colon = (char *)memchr(p, ':', (size_t)(ve - p))) != NULL) {
      for (ne = colon; ne > p && is_space(ne[-1]); ne--) {}
      for (q = p; q < ne; q++)
        if (*q >= 'A' && *q <= 'Z') *q = (char)(*q - 'A' + 'a');
      for (v = colon + 1; v < ve && is_space(*v); v++) {}
      if (ne > p) {
        lua_pushlstring(L, p, (size_t)(ne - p));
        lua_rawget(L, idx);
        if (lua_isnil(L, -1)) {
          g = ngroup++;
          groups[g].name = p;
          groups[g].nlen = (size_t)(ne - p);
          groups[g].first = groups[g].last = NONE;
          lua_pushlstring(L, p, (size_t)(ne - p));
          lua_pushinteger(L, (lua_Integer)g);
          lua_rawset(L, idx);
        } else {
          g = (size_t)lua_tointeger(L, -1);
        }
        lua_pop(L, 1);
        segs[nseg].value = v;
        segs[nseg].vlen = (size_t)(ve - v);
        segs[nseg].next = NONE;
        segs[nseg].folded = 0;
        group_add(&groups[g], segs, nseg++);
        cur = g;
      }
    }
    p = eol + 1;
  }
  return ngroup;
}

/* Pushes the headers table of any head. Lines are at most max_header_lines (on_header's
 * cap), and every value is copied once into its name's buffer: repeated headers joined with
 * ", " (RFC 9110), folded lines with " ". */
static void push_grouped(lua_State *L, enkash_xfer *x) {
  size_t lines = 1, i, ngroup;
  const char *c;
  hseg *segs;
  hgroup *groups;
  int t, idx;
  for (c = x->head.data; c != NULL && c < x->head.data + x->head.len; c++)
    if (*c == '\n') lines++;
  lua_createtable(L, 0, 8); /* room for a usual response's headers: no rehash */
  t = lua_gettop(L);
  lua_newtable(L);
  idx = lua_gettop(L);
  /* Lua-owned scratch memory: nothing leaks if a Lua allocation below raises. */
  segs = (hseg *)lua_newuserdata(L, lines * (sizeof(hseg) + sizeof(hgroup)));
  groups = (hgroup *)(void *)(segs + lines);
  ngroup = parse_head(L, x, idx, segs, groups);
  for (i = 0; i < ngroup; i++) {
    luaL_Buffer b;
    size_t s;
    lua_pushlstring(L, groups[i].name, groups[i].nlen);
    luaL_buffinit(L, &b);
    for (s = groups[i].first; s != NONE; s = segs[s].next) {
      if (s != groups[i].first) luaL_addlstring(&b, segs[s].folded ? " " : ", ", segs[s].folded ? 1 : 2);
      luaL_addlstring(&b, segs[s].value, segs[s].vlen);
    }
    luaL_pushresult(&b);
    lua_rawset(L, t);
  }
  lua_settop(L, t);
}

/* The usual answer has a dozen lines at most, each name once, none folded: it needs none
 * of push_grouped's grouping (an index table, scratch memory, a buffer per name), only one
 * string per name and per value. */
#define SIMPLE_LINES 16

typedef struct {
  const char *name, *value;
  size_t nlen, vlen;
} hline;

/* Splits x->head (not empty) into name/value pairs exactly as parse_head does (names
 * lower-cased in place, the same lines skipped); NONE when the head is not a simple one:
 * more than SIMPLE_LINES named lines, a folded line, a name seen twice. */
static size_t parse_simple(enkash_xfer *x, hline *out) {
  char *p = x->head.data, *end = p + x->head.len;
  size_t n = 0, i;
  while (p < end) {
    char *eol = (char *)memchr(p, '\n', (size_t)(end - p));
    char *colon, *v, *ve, *ne, *q;
    if (eol == NULL) eol = end;
    if (is_space(*p)) return NONE; /* folding: push_grouped joins (or drops) it */
    ve = eol;
    while (ve > p && is_space(ve[-1])) ve--;
    if ((colon = (char *)memchr(p, ':', (size_t)(ve - p))) != NULL) {
      for (ne = colon; ne > p && is_space(ne[-1]); ne--) {}
      if (ne > p) {
        size_t nlen = (size_t)(ne - p);
        if (n == SIMPLE_LINES) return NONE;
        for (q = p; q < ne; q++)
          if (*q >= 'A' && *q <= 'Z') *q = (char)(*q - 'A' + 'a');
        for (i = 0; i < n; i++) /* at most 120 comparisons, most ended by the length */
          if (out[i].nlen == nlen && memcmp(out[i].name, p, nlen) == 0) return NONE;
        for (v = colon + 1; v < ve && is_space(*v); v++) {}
        out[n].name = p;
        out[n].nlen = nlen;
        out[n].value = v;
        out[n].vlen = (size_t)(ve - v);
        n++;
      }
    }
    p = eol + 1;
  }
  return n;
}

/* Pushes the headers table: names lower-cased, repeated ones joined with ", ", folded lines
 * with " ". */
static void push_headers(lua_State *L, enkash_xfer *x) {
  hline lines[SIMPLE_LINES];
  size_t n = x->head.len == 0 ? 0 : parse_simple(x, lines), i;
  if (n == NONE) {
    push_grouped(L, x);
    return;
  }
  lua_createtable(L, 0, (int)n);
  for (i = 0; i < n; i++) {
    lua_pushlstring(L, lines[i].name, lines[i].nlen);
    lua_pushlstring(L, lines[i].value, lines[i].vlen);
    lua_rawset(L, -3);
  }
}

#undef NONE

void enkash_push_response(lua_State *L, CURL *c, enkash_xfer *x) {
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)status);
  lua_setfield(L, -2, "status");
  push_headers(L, x);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, x->body.data != NULL ? x->body.data : "", x->body.len);
  lua_setfield(L, -2, "body");
}

/* libcurl refuses a response header line over its own limit (CURL_MAX_HTTP_HEADER, 100 KiB)
 * with CURLE_OUT_OF_MEMORY, once the request was sent: max_header_bytes is at most 64 KiB,
 * so that line is over our cap too, and is reported as our cap. */
static int libcurl_header_cap(CURL *c, const enkash_xfer *x, CURLcode rc) {
  long sent = 0;
  if (rc != CURLE_OUT_OF_MEMORY || x->no_memory || c == NULL) return 0;
  return curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent > 0;
}

/* It refuses a chunked trailer line over its limit (4 KiB in 7.88, DYN_TRAILERS) with
 * CURLE_RECV_ERROR "Out of memory in chunked-encoding": no memory was short, the line was too
 * long (on_header refuses one over the same limit where libcurl takes longer ones). */
static int libcurl_trailer_cap(const enkash_xfer *x, CURLcode rc) {
  return rc == CURLE_RECV_ERROR && strncmp(x->errbuf, "Out of memory in chunked", 24) == 0;
}

/* Writes the message of an exchange stopped by a cap (ours or libcurl's); 0 when none did. */
static int cap_message(CURL *c, const enkash_xfer *x, CURLcode rc, char *msg, size_t size) {
  int refused = x->refused;
  if (refused == ENKASH_OK && rc == CURLE_FILESIZE_EXCEEDED) refused = ENKASH_BODY_CAP;
  if (refused == ENKASH_OK && libcurl_header_cap(c, x, rc)) refused = ENKASH_HEAD_BYTES;
  if (refused == ENKASH_OK && libcurl_trailer_cap(x, rc)) refused = ENKASH_TRAILER_LINE;
  switch (refused) {
  case ENKASH_BODY_CAP:
    snprintf(msg, size, "response larger than %zu bytes", x->max_response);
    return 1;
  case ENKASH_HEAD_BYTES:
    snprintf(msg, size, "response headers larger than %zu bytes", x->max_header_bytes);
    return 1;
  case ENKASH_TRAILER_LINE:
    snprintf(msg, size, "response trailer line longer than %zu bytes", ENKASH_MAX_TRAILER_LINE);
    return 1;
  case ENKASH_HEAD_LINES:
    snprintf(msg, size, "more than %zu response header lines", x->max_header_lines);
    return 1;
  case ENKASH_REQUEST_HEAD:
    snprintf(msg, size, "request URL and headers larger than %zu bytes", x->max_header_bytes);
    return 1;
  default:
    return 0;
  }
}

const char *enkash_failure(CURL *c, const enkash_xfer *x, CURLcode rc, char *buf,
                           const char **kind) {
  if (cap_message(c, x, rc, buf, ENKASH_FAIL_SIZE)) {
    /* A request refused before sending is the caller's to fix: nothing went out. */
    *kind = x->refused == ENKASH_REQUEST_HEAD ? "validation" : "transport";
    return buf;
  }
  if (rc == CURLE_ABORTED_BY_CALLBACK && x->resent) {
    *kind = "transport";
    return "connection closed before a response; the request may have been received";
  }
  if (rc == CURLE_WRITE_ERROR && x->no_memory) {
    *kind = "transport";
    return "not enough memory for the response";
  }
  *kind = curl_kind(rc);
  {
    size_t n = strlen(x->errbuf);
    while (n > 0 && (x->errbuf[n - 1] == '\n' || x->errbuf[n - 1] == '\r')) n--;
    if (n == 0) return curl_easy_strerror(rc);
    memcpy(buf, x->errbuf, n); /* errbuf and buf are both CURL_ERROR_SIZE: it fits */
    buf[n] = '\0';
    return buf;
  }
}
