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

#define DEFAULT_MAX_RESPONSE ((size_t)8 * 1024 * 1024)
#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_USER_AGENT "enkash-lua"
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

/* ---- growable byte buffer ---- */

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

void enkash_http_opts_read(lua_State *L, int t, int arg, enkash_http_opts *o) {
  o->ca_file = opt_cstring_copy(L, t, arg, "ca_file", NULL);
  o->proxy = opt_cstring_copy(L, t, arg, "proxy", NULL);
  o->user_agent = opt_cstring_copy(L, t, arg, "user_agent", DEFAULT_USER_AGENT);
  lua_getfield(L, t, "verify");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TBOOLEAN)
    luaL_argerror(L, arg, "field 'verify' must be a boolean");
  o->verify = lua_isnil(L, -1) || lua_toboolean(L, -1);
  lua_getfield(L, t, "max_response_bytes");
  if (lua_isnil(L, -1)) {
    o->max_response = DEFAULT_MAX_RESPONSE;
  } else {
    lua_Number n = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !(n >= 1 && n <= 1e15) || n != floor(n))
      luaL_argerror(L, arg, "field 'max_response_bytes' must be a positive integer");
    o->max_response = (size_t)n;
  }
  o->connect_timeout_ms = opt_timeout_ms(L, t, arg, "connect_timeout", DEFAULT_CONNECT_TIMEOUT_MS);
  o->timeout_ms = opt_timeout_ms(L, t, arg, "timeout", DEFAULT_TIMEOUT_MS);
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

/* RFC 9110 token characters: method and header names. */
static int is_token(const char *s, size_t n) {
  size_t i;
  if (n == 0) return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL)))
      return 0;
  }
  return 1;
}

/* Header values may not smuggle in another header line. */
static int is_header_value(const char *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') return 0;
  return 1;
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
  struct curl_slist *s;
  for (s = x->req_headers; s != NULL; s = s->next) OPENSSL_cleanse(s->data, strlen(s->data));
  curl_slist_free_all(x->req_headers);
  x->req_headers = NULL;
  enkash_buf_free(&x->req_body);
}

/* Empties a buffer for reuse: the used bytes are scrubbed, the block is kept when small
 * (bytes past len are always clean: never written, or scrubbed by an earlier recycle). */
static void buf_recycle(enkash_buf *b) {
  if (b->cap > RECYCLE_MAX) {
    enkash_buf_free(b);
    return;
  }
  if (b->len > 0) OPENSSL_cleanse(b->data, b->len);
  b->len = 0;
}

void enkash_xfer_recycle(enkash_xfer *x) {
  enkash_xfer_free_request(x);
  buf_recycle(&x->body);
  buf_recycle(&x->head);
  x->too_large = x->no_memory = 0;
  x->attempts = x->resent = 0;
  x->errbuf[0] = '\0';
}

void enkash_xfer_reset(enkash_xfer *x) {
  enkash_xfer_free_request(x);
  enkash_buf_free(&x->body);
  enkash_buf_free(&x->head);
  x->too_large = x->no_memory = 0;
  x->attempts = x->resent = 0;
  x->errbuf[0] = '\0';
}

static void add_header(lua_State *L, enkash_xfer *x, const char *name, size_t nlen,
                       const char *value, size_t vlen) {
  size_t size = nlen + vlen + 3;
  char *line = (char *)OPENSSL_malloc(size);
  struct curl_slist *l;
  if (line == NULL) luaL_error(L, "not enough memory");
  memcpy(line, name, nlen);
  if (vlen == 0) {
    line[nlen] = ';'; /* libcurl's way to send a header with an empty value */
    line[nlen + 1] = '\0';
  } else {
    memcpy(line + nlen, ": ", 2);
    memcpy(line + nlen + 2, value, vlen);
    line[nlen + 2 + vlen] = '\0';
  }
  l = curl_slist_append(x->req_headers, line); /* copies the line */
  OPENSSL_clear_free(line, size);
  if (l == NULL) luaL_error(L, "not enough memory");
  x->req_headers = l;
}

void enkash_xfer_headers(lua_State *L, enkash_xfer *x, int t, int arg) {
  int has_expect = 0;
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
      if (ascii_ieq(name, nlen, "expect")) has_expect = 1;
      add_header(L, x, name, nlen, value, vlen);
      lua_pop(L, 1);
    }
  }
  if (!has_expect) {
    struct curl_slist *l = curl_slist_append(x->req_headers, "Expect:");
    if (l == NULL) luaL_error(L, "not enough memory");
    x->req_headers = l;
  }
}

/* ---- libcurl callbacks: C only ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  enkash_xfer *x = (enkash_xfer *)ud;
  size_t len = size * n;
  if (len > x->max_response - x->body.len) {
    x->too_large = 1;
    return 0; /* CURLE_WRITE_ERROR: stop now, do not buffer the rest */
  }
  if (!enkash_buf_append(&x->body, p, len)) {
    x->no_memory = 1;
    return 0;
  }
  return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  enkash_xfer *x = (enkash_xfer *)ud;
  size_t len = size * n, keep = len;
  /* A new status line starts a new header block (after 100 Continue, proxy CONNECT):
   * only the final response's headers are reported. */
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    x->head.len = 0;
    return len;
  }
  while (keep > 0 && (p[keep - 1] == '\n' || p[keep - 1] == '\r')) keep--;
  if (keep == 0) return len; /* the blank line ending the block */
  if (keep + 1 > x->max_response - x->head.len) {
    x->too_large = 1;
    return 0;
  }
  if (!enkash_buf_append(&x->head, p, keep) || !enkash_buf_append(&x->head, "\n", 1)) {
    x->no_memory = 1;
    return 0;
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
  SET(CURLOPT_USERAGENT, o->user_agent);
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

CURLcode enkash_xfer_setup_request(CURL *c, const enkash_http_opts *o, enkash_xfer *x,
                                   const enkash_req *r, const char *body) {
  const char *method = r->method;
  size_t mlen = r->mlen;
  CURLcode rc = CURLE_OK;
  x->max_response = o->max_response;
  x->errbuf[0] = '\0';
  SET(CURLOPT_URL, r->url);
  SET(CURLOPT_TIMEOUT_MS, r->timeout_ms);
  SET(CURLOPT_CONNECTTIMEOUT_MS, r->connect_ms);
  SET(CURLOPT_HTTPHEADER, x->req_headers);
  /* The method from a clean slate: nothing of the previous request's method carries over. */
  SET(CURLOPT_CUSTOMREQUEST, (char *)NULL);
  SET(CURLOPT_NOBODY, 0L);
  if (body != NULL) {
    /* Size first, then the pointer: binary safe, no strlen(). The caller keeps the bytes
     * alive until the transfer ends. */
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->blen);
    SET(CURLOPT_POSTFIELDS, body);
    if (!(mlen == 4 && memcmp(method, "POST", 4) == 0)) SET(CURLOPT_CUSTOMREQUEST, method);
  } else if (mlen == 3 && memcmp(method, "GET", 3) == 0) {
    SET(CURLOPT_HTTPGET, 1L);
  } else if (mlen == 4 && memcmp(method, "HEAD", 4) == 0) {
    SET(CURLOPT_NOBODY, 1L);
  } else if (mlen == 4 && memcmp(method, "POST", 4) == 0) {
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0); /* sends Content-Length: 0 */
    SET(CURLOPT_POSTFIELDS, "");
  } else {
    SET(CURLOPT_HTTPGET, 1L); /* a bodiless request, as after a reset */
    SET(CURLOPT_CUSTOMREQUEST, method);
  }
  return rc;
}

CURLcode enkash_xfer_setup(CURL *c, const enkash_http_opts *o, enkash_xfer *x,
                           const enkash_req *r, const char *body) {
  CURLcode rc = enkash_xfer_setup_static(c, o, x);
  if (rc == CURLE_OK) rc = enkash_xfer_setup_request(c, o, x, r, body);
  return rc;
}

#undef SET

/* ---- building the results ---- */

static int is_space(char c) { return c == ' ' || c == '\t'; }

static void push_headers(lua_State *L, enkash_xfer *x) {
  char *p = x->head.data, *end = p + x->head.len;
  const char *last = NULL; /* name of the previous header, for folded lines */
  size_t lastlen = 0;
  int t;
  lua_createtable(L, 0, 8); /* room for a usual response's headers: no rehash */
  t = lua_gettop(L);
  while (p < end) {
    char *eol = (char *)memchr(p, '\n', (size_t)(end - p));
    char *colon, *v, *ve, *ne;
    if (eol == NULL) eol = end;
    ve = eol;
    while (ve > p && is_space(ve[-1])) ve--;
    if (is_space(*p)) { /* obsolete line folding: continues the previous value */
      for (v = p; v < ve && is_space(*v); v++) {}
      if (last != NULL && v < ve) {
        lua_pushlstring(L, last, lastlen);
        lua_pushvalue(L, -1);
        lua_rawget(L, t);
        lua_pushliteral(L, " ");
        lua_pushlstring(L, v, (size_t)(ve - v));
        lua_concat(L, 3);
        lua_rawset(L, t);
      }
    } else if ((colon = (char *)memchr(p, ':', (size_t)(ve - p))) != NULL) {
      char *q;
      for (ne = colon; ne > p && is_space(ne[-1]); ne--) {}
      for (q = p; q < ne; q++)
        if (*q >= 'A' && *q <= 'Z') *q = (char)(*q - 'A' + 'a');
      for (v = colon + 1; v < ve && is_space(*v); v++) {}
      if (ne > p) {
        last = p;
        lastlen = (size_t)(ne - p);
        lua_pushlstring(L, p, lastlen);
        lua_pushvalue(L, -1);
        lua_rawget(L, t);
        if (lua_isnil(L, -1)) {
          lua_pop(L, 1);
          lua_pushlstring(L, v, (size_t)(ve - v));
        } else { /* repeated header: join as RFC 9110 allows */
          lua_pushliteral(L, ", ");
          lua_pushlstring(L, v, (size_t)(ve - v));
          lua_concat(L, 3);
        }
        lua_rawset(L, t);
      }
    }
    p = eol + 1;
  }
}

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

void enkash_push_failure(lua_State *L, const enkash_xfer *x, CURLcode rc) {
  if (rc == CURLE_WRITE_ERROR && x->too_large) {
    char msg[64];
    snprintf(msg, sizeof(msg), "response larger than %zu bytes", x->max_response);
    lua_pushstring(L, "transport");
    lua_pushstring(L, msg);
  } else if (rc == CURLE_ABORTED_BY_CALLBACK && x->resent) {
    lua_pushstring(L, "transport");
    lua_pushstring(L, "connection closed before a response; the request may have been received");
  } else if (rc == CURLE_WRITE_ERROR && x->no_memory) {
    lua_pushstring(L, "transport");
    lua_pushstring(L, "not enough memory for the response");
  } else {
    size_t n = strlen(x->errbuf);
    while (n > 0 && (x->errbuf[n - 1] == '\n' || x->errbuf[n - 1] == '\r')) n--;
    lua_pushstring(L, curl_kind(rc));
    if (n > 0)
      lua_pushlstring(L, x->errbuf, n);
    else
      lua_pushstring(L, curl_easy_strerror(rc));
  }
}
