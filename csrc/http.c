/*
 * http.c - core.http(opts) -> handle; h:request{...}, h:stats(), h:close().
 *
 * One libcurl easy handle per client, reused for every request: curl_easy_reset() clears
 * the options but keeps the live connection cache, so sequential calls to the same host
 * share one TCP/TLS connection. Options are set afresh per request, so nothing from one
 * request (a body, a header) can leak into the next.
 *
 * No Lua API is called from libcurl callbacks (a Lua error there would longjmp across
 * libcurl). The callbacks fill C buffers owned by the handle; Lua values are built after
 * curl_easy_perform() returns. Because the buffers belong to the handle, a Lua error
 * while building a request or a result leaks nothing: the next request or close frees them.
 *
 * Lifecycle as in liolib.c: the userdata is created closed-safe (curl == NULL) and gets
 * its metatable before anything is allocated, close() is idempotent, __gc (and __close in
 * Lua 5.4) close what is still open.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "core.h"

#define DEFAULT_MAX_RESPONSE ((size_t)8 * 1024 * 1024)
#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_USER_AGENT "enkash-lua"
#define MAX_TIMEOUT_S (7.0 * 24 * 3600) /* a week: keeps the ms value inside a long */

static const char CLOSED_MSG[] = "attempt to use a closed enkash http handle";

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

/* ---- growable byte buffer; may hold tokens (auth responses), so scrubbed on free ---- */

typedef struct {
  char *data;
  size_t len, cap;
} buffer;

static void buf_free(buffer *b) {
  if (b->data != NULL) OPENSSL_clear_free(b->data, b->cap);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* Grows by copy rather than realloc, so no unscrubbed old block is left behind. */
static int buf_append(buffer *b, const char *p, size_t n) {
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
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 1;
}

/* ---- the handle ---- */

typedef struct {
  CURL *curl; /* NULL once closed */
  char *ca_file, *proxy, *user_agent;
  int verify;
  size_t max_response;
  long connect_timeout_ms, timeout_ms;
  lua_Integer requests, connects;
  /* per-request state */
  struct curl_slist *req_headers; /* may carry Authorization: scrubbed when freed */
  buffer body, head;              /* head: response header lines, '\n'-separated */
  int too_large, no_memory;
  int attempts, resent; /* see on_prereq */
  char errbuf[CURL_ERROR_SIZE];
} http_handle;

static void free_req_headers(http_handle *h) {
  struct curl_slist *s;
  for (s = h->req_headers; s != NULL; s = s->next) OPENSSL_cleanse(s->data, strlen(s->data));
  curl_slist_free_all(h->req_headers);
  h->req_headers = NULL;
}

static void reset_request_state(http_handle *h) {
  free_req_headers(h);
  buf_free(&h->body);
  buf_free(&h->head);
  h->too_large = h->no_memory = 0;
  h->attempts = h->resent = 0;
  h->errbuf[0] = '\0';
}

static void handle_close(http_handle *h) {
  if (h->curl != NULL) curl_easy_cleanup(h->curl); /* closes its cached connections */
  h->curl = NULL;
  reset_request_state(h);
  free(h->ca_file);
  free(h->proxy);
  free(h->user_agent);
  h->ca_file = h->proxy = h->user_agent = NULL;
}

static http_handle *check_handle(lua_State *L) {
  return (http_handle *)luaL_checkudata(L, 1, ENKASH_HTTP_MT);
}

static http_handle *check_open(lua_State *L) {
  http_handle *h = check_handle(L);
  if (h->curl == NULL) luaL_error(L, "%s", CLOSED_MSG);
  return h;
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

/* ---- core.http(opts) ---- */

static void curl_global_once(lua_State *L) {
  static int done = 0;
  if (!done) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) luaL_error(L, "curl_global_init failed");
    done = 1;
  }
}

static int l_http(lua_State *L) {
  http_handle *h;
  lua_settop(L, 1);
  if (lua_isnil(L, 1)) {
    lua_newtable(L); /* read the defaults from an empty table: one code path */
    lua_replace(L, 1);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  curl_global_once(L);
  h = (http_handle *)lua_newuserdata(L, sizeof(*h));
  memset(h, 0, sizeof(*h)); /* closed-safe before anything can raise */
  luaL_setmetatable(L, ENKASH_HTTP_MT);

  h->ca_file = opt_cstring_copy(L, 1, 1, "ca_file", NULL);
  h->proxy = opt_cstring_copy(L, 1, 1, "proxy", NULL);
  h->user_agent = opt_cstring_copy(L, 1, 1, "user_agent", DEFAULT_USER_AGENT);
  lua_getfield(L, 1, "verify");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TBOOLEAN)
    luaL_argerror(L, 1, "field 'verify' must be a boolean");
  h->verify = lua_isnil(L, -1) || lua_toboolean(L, -1);
  lua_getfield(L, 1, "max_response_bytes");
  if (lua_isnil(L, -1)) {
    h->max_response = DEFAULT_MAX_RESPONSE;
  } else {
    lua_Number n = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !(n >= 1 && n <= 1e15) || n != floor(n))
      luaL_argerror(L, 1, "field 'max_response_bytes' must be a positive integer");
    h->max_response = (size_t)n;
  }
  h->connect_timeout_ms = opt_timeout_ms(L, 1, 1, "connect_timeout", DEFAULT_CONNECT_TIMEOUT_MS);
  h->timeout_ms = opt_timeout_ms(L, 1, 1, "timeout", DEFAULT_TIMEOUT_MS);

  h->curl = curl_easy_init();
  if (h->curl == NULL) return luaL_error(L, "curl_easy_init failed");
  lua_pushvalue(L, 2); /* the handle */
  return 1;
}

/* ---- libcurl callbacks: C only ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  http_handle *h = (http_handle *)ud;
  size_t len = size * n;
  if (len > h->max_response - h->body.len) {
    h->too_large = 1;
    return 0; /* CURLE_WRITE_ERROR: stop now, do not buffer the rest */
  }
  if (!buf_append(&h->body, p, len)) {
    h->no_memory = 1;
    return 0;
  }
  return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  http_handle *h = (http_handle *)ud;
  size_t len = size * n, keep = len;
  /* A new status line starts a new header block (after 100 Continue, proxy CONNECT):
   * only the final response's headers are reported. */
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    h->head.len = 0;
    return len;
  }
  while (keep > 0 && (p[keep - 1] == '\n' || p[keep - 1] == '\r')) keep--;
  if (keep == 0) return len; /* the blank line ending the block */
  if (keep + 1 > h->max_response - h->head.len) {
    h->too_large = 1;
    return 0;
  }
  if (!buf_append(&h->head, p, keep) || !buf_append(&h->head, "\n", 1)) {
    h->no_memory = 1;
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
  http_handle *h = (http_handle *)ud;
  (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
  if (h->attempts++ == 0) return CURL_PREREQFUNC_OK;
  h->resent = 1;
  return CURL_PREREQFUNC_ABORT;
}
#else
#define HAVE_PREREQ 0
#endif

/* ---- building the request ---- */

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

static void add_header(lua_State *L, http_handle *h, const char *name, size_t nlen,
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
  l = curl_slist_append(h->req_headers, line); /* copies the line */
  OPENSSL_clear_free(line, size);
  if (l == NULL) luaL_error(L, "not enough memory");
  h->req_headers = l;
}

/* Request headers from the table at index t; "Expect:" (empty) unless the caller set one,
 * so libcurl never waits a second for a 100 Continue on larger bodies. */
static void build_headers(lua_State *L, http_handle *h, int t) {
  int has_expect = 0;
  if (!lua_isnil(L, t)) {
    if (!lua_istable(L, t)) luaL_argerror(L, 2, "field 'headers' must be a table");
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
      size_t nlen, vlen;
      const char *name, *value;
      int vt = lua_type(L, -1);
      if (lua_type(L, -2) != LUA_TSTRING || (vt != LUA_TSTRING && vt != LUA_TNUMBER))
        luaL_argerror(L, 2, "headers must map names (strings) to strings");
      name = lua_tolstring(L, -2, &nlen);
      value = lua_tolstring(L, -1, &vlen); /* converts the stack copy, not the table entry */
      if (!is_token(name, nlen)) luaL_argerror(L, 2, "invalid header name");
      if (!is_header_value(value, vlen)) luaL_argerror(L, 2, "invalid header value");
      if (ascii_ieq(name, nlen, "expect")) has_expect = 1;
      add_header(L, h, name, nlen, value, vlen);
      lua_pop(L, 1);
    }
  }
  if (!has_expect) {
    struct curl_slist *l = curl_slist_append(h->req_headers, "Expect:");
    if (l == NULL) luaL_error(L, "not enough memory");
    h->req_headers = l;
  }
}

#define SET(opt, val) \
  do { \
    if (rc == CURLE_OK) rc = curl_easy_setopt(c, (opt), (val)); \
  } while (0)

static CURLcode set_options(http_handle *h, const char *method, size_t mlen, const char *url,
                            const char *body, size_t blen, long timeout_ms, long connect_ms) {
  CURL *c = h->curl;
  CURLcode rc = CURLE_OK;
  curl_easy_reset(c); /* keeps live connections, the TLS session and DNS caches */
  h->errbuf[0] = '\0';
  SET(CURLOPT_ERRORBUFFER, h->errbuf);
  SET(CURLOPT_URL, url);
  SET(CURLOPT_NOSIGNAL, 1L); /* no SIGALRM for DNS timeouts: safe in threaded hosts */
  SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2); /* minimum */
  SET(CURLOPT_SSL_VERIFYPEER, h->verify ? 1L : 0L);
  SET(CURLOPT_SSL_VERIFYHOST, h->verify ? 2L : 0L);
  if (h->ca_file != NULL) {
    /* An explicit CA file is the whole trust: do not also trust the system CA dir. */
    SET(CURLOPT_CAINFO, h->ca_file);
    SET(CURLOPT_CAPATH, (char *)NULL);
  }
  if (h->proxy != NULL) SET(CURLOPT_PROXY, h->proxy); /* else http(s)_proxy env applies */
  SET(CURLOPT_USERAGENT, h->user_agent);
  SET(CURLOPT_TIMEOUT_MS, timeout_ms);
  SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  SET(CURLOPT_HTTPHEADER, h->req_headers);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, (void *)h);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, (void *)h);
#if HAVE_PREREQ
  SET(CURLOPT_PREREQFUNCTION, on_prereq);
  SET(CURLOPT_PREREQDATA, (void *)h);
#endif
  if (body != NULL) {
    /* Size first, then the pointer: binary safe, no strlen(); the Lua string stays
     * alive on the stack for the whole perform. */
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
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
    SET(CURLOPT_CUSTOMREQUEST, method);
  }
  return rc;
}

#undef SET

/* ---- building the result ---- */

static int is_space(char c) { return c == ' ' || c == '\t'; }

static void push_headers(lua_State *L, http_handle *h) {
  char *p = h->head.data, *end = p + h->head.len;
  const char *last = NULL; /* name of the previous header, for folded lines */
  size_t lastlen = 0;
  int t;
  lua_newtable(L);
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

static int push_failure(lua_State *L, http_handle *h, CURLcode rc) {
  const char *kind = curl_kind(rc);
  lua_pushnil(L);
  if (rc == CURLE_WRITE_ERROR && h->too_large) {
    char msg[64];
    snprintf(msg, sizeof(msg), "response larger than %zu bytes", h->max_response);
    lua_pushstring(L, "transport");
    lua_pushstring(L, msg);
  } else if (rc == CURLE_ABORTED_BY_CALLBACK && h->resent) {
    lua_pushstring(L, "transport");
    lua_pushstring(L, "connection closed before a response; the request may have been received");
  } else if (rc == CURLE_WRITE_ERROR && h->no_memory) {
    lua_pushstring(L, "transport");
    lua_pushstring(L, "not enough memory for the response");
  } else {
    size_t n = strlen(h->errbuf);
    while (n > 0 && (h->errbuf[n - 1] == '\n' || h->errbuf[n - 1] == '\r')) n--;
    lua_pushstring(L, kind);
    if (n > 0)
      lua_pushlstring(L, h->errbuf, n);
    else
      lua_pushstring(L, curl_easy_strerror(rc));
  }
  return 3;
}

/* h:request{method=, url=, headers=, body=, timeout=, connect_timeout=} */
static int l_request(lua_State *L) {
  http_handle *h = check_open(L);
  size_t mlen = 0, ulen = 0, blen = 0;
  const char *method, *url, *body;
  long timeout_ms, connect_ms, status = 0, nconn = 0;
  CURLcode rc;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  method = opt_string(L, 2, 2, "method", &mlen); /* index 3 */
  if (method == NULL) {
    method = "GET";
    mlen = 3;
  }
  if (!is_token(method, mlen)) luaL_argerror(L, 2, "invalid method");
  url = opt_string(L, 2, 2, "url", &ulen); /* index 4 */
  if (url == NULL || ulen == 0 || strlen(url) != ulen)
    luaL_argerror(L, 2, "field 'url' must be a non-empty string");
  body = opt_string(L, 2, 2, "body", &blen); /* index 5 */
  timeout_ms = opt_timeout_ms(L, 2, 2, "timeout", h->timeout_ms);
  connect_ms = opt_timeout_ms(L, 2, 2, "connect_timeout", h->connect_timeout_ms);
  reset_request_state(h);
  lua_getfield(L, 2, "headers");
  build_headers(L, h, lua_gettop(L));

  rc = set_options(h, method, mlen, url, body, blen, timeout_ms, connect_ms);
  if (rc == CURLE_OK) {
    h->requests++;
    rc = curl_easy_perform(h->curl);
    if (curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK)
      h->connects += (lua_Integer)nconn;
  }
  free_req_headers(h); /* scrub Authorization now, not at the next request */
  if (rc != CURLE_OK) {
    int n = push_failure(L, h, rc);
    reset_request_state(h);
    return n;
  }
  curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)status);
  lua_setfield(L, -2, "status");
  push_headers(L, h);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, h->body.data != NULL ? h->body.data : "", h->body.len);
  lua_setfield(L, -2, "body");
  reset_request_state(h);
  return 1;
}

static int l_stats(lua_State *L) {
  http_handle *h = check_open(L);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, h->requests);
  lua_setfield(L, -2, "requests");
  lua_pushinteger(L, h->connects);
  lua_setfield(L, -2, "connects");
  return 1;
}

static int l_close(lua_State *L) {
  handle_close(check_handle(L));
  return 0;
}

static int l_tostring(lua_State *L) {
  http_handle *h = check_handle(L);
  if (h->curl == NULL)
    lua_pushliteral(L, "enkash.http (closed)");
  else
    lua_pushfstring(L, "enkash.http (%p)", (void *)h);
  return 1;
}

static const luaL_Reg methods[] = {
  {"request", l_request},
  {"stats", l_stats},
  {"close", l_close},
  {NULL, NULL},
};

static const luaL_Reg meta[] = {
  {"__gc", l_close},
#if ENKASH_HAVE_CLOSE
  {"__close", l_close},
#endif
  {"__tostring", l_tostring},
  {NULL, NULL},
};

static const luaL_Reg funcs[] = {
  {"http", l_http},
  {NULL, NULL},
};

void enkash_open_http(lua_State *L) {
  luaL_newmetatable(L, ENKASH_HTTP_MT);
  luaL_setfuncs(L, meta, 0);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_setfuncs(L, funcs, 0);
}
