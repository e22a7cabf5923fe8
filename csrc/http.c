/*
 * http.c - core.http(opts) -> handle; h:request{...}, h:stats(), h:close().
 *
 * One libcurl easy handle per client, reused for every request (keep-alive: sequential
 * calls to the same host share one TCP/TLS connection). The handle-wide options (TLS,
 * proxy, callbacks, guards) are set once after a curl_easy_reset(); the per-request ones
 * are set for every request, so nothing from one request (a body, a header, a method) can
 * leak into the next: headers and body always, URL, timeouts and the method whenever they
 * differ from what is in effect (enkash_set_cache: a pipeline repeats them, and the URL
 * goes parsed, once). What this shares with core.multi (options, validation, callbacks,
 * buffers, error kinds, results) is in http_common.c.
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
#include <string.h>

#include "http_common.h"

static const char CLOSED_MSG[] = "attempt to use a closed enkash http handle";

typedef struct {
  CURL *curl; /* NULL once closed */
  int configured; /* the handle-wide options are set (enkash_xfer_setup_static) */
  enkash_set_cache set; /* the per-request options in effect since then */
  enkash_http_opts opts;
  lua_Integer requests, connects;
  enkash_xfer x; /* per-request state */
} http_handle;

static void handle_close(http_handle *h) {
  if (h->curl != NULL) curl_easy_cleanup(h->curl); /* closes its cached connections */
  h->curl = NULL;
  h->configured = 0;
  enkash_set_cache_free(&h->set);
  enkash_xfer_reset(&h->x);
  enkash_http_opts_free(&h->opts);
}

static http_handle *check_handle(lua_State *L) {
  return (http_handle *)luaL_checkudata(L, 1, ENKASH_HTTP_MT);
}

static http_handle *check_open(lua_State *L) {
  http_handle *h = check_handle(L);
  if (h->curl == NULL) luaL_error(L, "%s", CLOSED_MSG);
  return h;
}

/* ---- core.http(opts) ---- */

static int l_http(lua_State *L) {
  http_handle *h;
  lua_settop(L, 1);
  if (lua_isnil(L, 1)) {
    lua_newtable(L); /* read the defaults from an empty table: one code path */
    lua_replace(L, 1);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  enkash_curl_global_init(L);
  h = (http_handle *)lua_newuserdata(L, sizeof(*h));
  memset(h, 0, sizeof(*h)); /* closed-safe before anything can raise */
  luaL_setmetatable(L, ENKASH_HTTP_MT);
  enkash_http_opts_read(L, 1, 1, &h->opts);
  h->curl = curl_easy_init();
  if (h->curl == NULL) return luaL_error(L, "curl_easy_init failed");
  lua_pushvalue(L, 2); /* the handle */
  return 1;
}

/* Answers a failed request (nil, message, kind: core.h) and scrubs the exchange. */
static int fail(lua_State *L, http_handle *h, CURL *c, CURLcode rc) {
  char buf[ENKASH_FAIL_SIZE];
  const char *kind, *message = enkash_failure(c, &h->x, rc, buf, &kind);
  int n = enkash_push_fail(L, message, kind);
  enkash_xfer_recycle(&h->x);
  return n;
}

/* h:request{method=, url=, headers=, body=, timeout=, connect_timeout=} */

static int l_request(lua_State *L) {
  http_handle *h = check_open(L);
  enkash_req r;
  long nconn = 0;
  CURLcode rc;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  enkash_req_read(L, 2, 2, &h->opts, &r); /* its strings stay on the stack */
  enkash_xfer_recycle(&h->x);
  lua_getfield(L, 2, "headers");
  enkash_xfer_headers(L, &h->x, lua_gettop(L), 2);

  if (!enkash_xfer_check_request(&h->x, &h->opts, &r)) { /* nothing is sent */
    enkash_xfer_free_request(&h->x);
    return fail(L, h, NULL, CURLE_OK);
  }
  /* The handle-wide options once; URL, timeouts and method when they changed; headers and
   * body on every request. */
  if (!h->configured) {
    rc = enkash_xfer_setup_static(h->curl, &h->opts, &h->x);
    enkash_set_cache_forget(&h->set); /* after the reset: nothing of it is in effect */
  } else {
    rc = CURLE_OK;
  }
  h->configured = rc == CURLE_OK;
  if (rc == CURLE_OK)
    rc = enkash_xfer_setup_request(h->curl, &h->opts, &h->x, &r, r.body, &h->set);
  if (rc != CURLE_OK) h->configured = 0; /* start from a reset next time */
  if (rc == CURLE_OK) {
    h->requests++;
    rc = curl_easy_perform(h->curl);
    if (curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK)
      h->connects += (lua_Integer)nconn;
  }
  enkash_xfer_free_request(&h->x); /* scrub Authorization now, not at the next request */
  if (rc != CURLE_OK) return fail(L, h, h->curl, rc);
  enkash_push_response(L, h->curl, &h->x);
  enkash_xfer_recycle(&h->x); /* scrubs the response now; keeps the blocks for the next */
  return 1;
}

static int l_stats(lua_State *L) {
  http_handle *h = check_open(L);
  enkash_push_counters(L, h->requests, h->connects);
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
  ENKASH_CLOSE_REG(l_close)
  {"__tostring", l_tostring},
  {NULL, NULL},
};

static const luaL_Reg funcs[] = {
  {"http", l_http},
  {NULL, NULL},
};

void enkash_open_http(lua_State *L) {
  enkash_open_class(L, ENKASH_HTTP_MT, meta, methods, funcs);
}
