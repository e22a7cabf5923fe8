/*
 * url.c - url_parse: a URL split by libcurl's own URL parser, exactly as a transfer will.
 *
 * The URL policy (lua/enkash/url_policy.lua) decides where credentials may go from the
 * host, port and userinfo that libcurl will use, not from a second parser of its own: two
 * parsers disagree on the odd cases ("http://localhost:80@evil.example", "127.1", encoded
 * or bracketed hosts), and each disagreement is a way past the policy. So the parts come
 * from curl_url_set with the flags libcurl's transfer code uses for CURLOPT_URL
 * (CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME, lib/url.c), read back with curl_url_get.
 *
 *   core.url_parse(url) -> {url =, scheme =, host =, port =, user =, password =, options =,
 *                           zoneid =, path =, query =, fragment =, addr =}
 *                        | nil, why
 * Parts the URL does not have are absent. `host` is as libcurl normalises it (IPv4 numbers
 * in any base become dotted decimal, IPv6 keeps its brackets); `port` is the number the
 * transfer connects to (the scheme's default when none is given); `addr` is the host's
 * address in network byte order (4 or 16 bytes) when the host is an IP literal. A URL with
 * a NUL byte is refused before libcurl sees it (libcurl reads a C string: it would judge
 * only the part before the NUL).
 *
 * Memory: the CURLU handle and the part being pushed live in a userdata whose __gc frees
 * them, so a Lua error (out of memory while pushing) leaks nothing; on the normal path they
 * are freed before returning.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core.h"
#include "http_common.h"

#define URL_BOX_MT "enkash.urlbox"

typedef struct {
  CURLU *h;
  char *part; /* the part being pushed, owned here until it is on the Lua stack */
} url_box;

/* Idempotent: called when done, and again by __gc. */
static void box_release(url_box *b) {
  curl_free(b->part);
  b->part = NULL;
  curl_url_cleanup(b->h); /* NULL-safe */
  b->h = NULL;
}

static int box_gc(lua_State *L) {
  box_release((url_box *)luaL_checkudata(L, 1, URL_BOX_MT));
  return 0;
}

/* The string parts, by field name. CURLUPART_PORT and the address are done apart. */
static const struct {
  const char *name;
  CURLUPart part;
} PARTS[] = {
  {"url", CURLUPART_URL},       {"scheme", CURLUPART_SCHEME},     {"host", CURLUPART_HOST},
  {"user", CURLUPART_USER},     {"password", CURLUPART_PASSWORD}, {"options", CURLUPART_OPTIONS},
  {"zoneid", CURLUPART_ZONEID}, {"path", CURLUPART_PATH},         {"query", CURLUPART_QUERY},
  {"fragment", CURLUPART_FRAGMENT},
};

/* Sets t[name] (t on top of the stack) to the part, when the URL has it. A missing part
 * (CURLUE_NO_USER, ...) is simply left out. */
static void push_part(lua_State *L, url_box *b, const char *name, CURLUPart part, unsigned flags) {
  if (curl_url_get(b->h, part, &b->part, flags) != CURLUE_OK || b->part == NULL) return;
  lua_pushstring(L, b->part);
  curl_free(b->part);
  b->part = NULL;
  lua_setfield(L, -2, name);
}

/* t.port: the port the transfer connects to (CURLU_DEFAULT_PORT: the scheme's when none is
 * given; a scheme libcurl does not know has none). */
static void push_port(lua_State *L, url_box *b) {
  if (curl_url_get(b->h, CURLUPART_PORT, &b->part, CURLU_DEFAULT_PORT) != CURLUE_OK) return;
  lua_pushinteger(L, (lua_Integer)strtol(b->part, NULL, 10)); /* libcurl checked: 0..65535 */
  curl_free(b->part);
  b->part = NULL;
  lua_setfield(L, -2, "port");
}

/* t.addr: the bytes of an IP literal host ("[::1]" without its brackets and zone). */
static void push_addr(lua_State *L) {
  char buf[64];
  unsigned char addr[16];
  const char *host;
  size_t n;
  lua_getfield(L, -1, "host");
  host = lua_tolstring(L, -1, &n);
  if (host != NULL && n >= 2 && n < sizeof(buf) && host[0] == '[' && host[n - 1] == ']') {
    memcpy(buf, host + 1, n - 2);
    buf[n - 2] = '\0';
    buf[strcspn(buf, "%")] = '\0';
    if (inet_pton(AF_INET6, buf, addr) == 1) {
      lua_pushlstring(L, (const char *)addr, 16);
      lua_setfield(L, -3, "addr");
    }
  } else if (host != NULL && inet_pton(AF_INET, host, addr) == 1) {
    lua_pushlstring(L, (const char *)addr, 4);
    lua_setfield(L, -3, "addr");
  }
  lua_pop(L, 1);
}

static int l_url_parse(lua_State *L) {
  size_t len, i;
  const char *url = luaL_checklstring(L, 1, &len);
  url_box *b;
  CURLUcode rc;
  if (strlen(url) != len) return enkash_push_fail(L, "URL contains a NUL byte", NULL);
  enkash_curl_global_init(L);
  b = (url_box *)lua_newuserdata(L, sizeof(*b));
  b->h = NULL;
  b->part = NULL;
  luaL_setmetatable(L, URL_BOX_MT);
  b->h = curl_url();
  if (b->h == NULL) return luaL_error(L, "not enough memory");
  rc = curl_url_set(b->h, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    box_release(b);
    return enkash_push_fail(L, curl_url_strerror(rc), NULL);
  }
  lua_createtable(L, 0, 12);
  for (i = 0; i < sizeof(PARTS) / sizeof(PARTS[0]); i++) push_part(L, b, PARTS[i].name, PARTS[i].part, 0);
  push_port(L, b);
  push_addr(L);
  box_release(b); /* now, rather than at the next collection */
  return 1;
}

/* The box is private (no methods): it only frees the CURLU if a push raises. */
static const luaL_Reg box_meta[] = {
  {"__gc", box_gc},
  {NULL, NULL},
};

static const luaL_Reg no_methods[] = {
  {NULL, NULL},
};

static const luaL_Reg funcs[] = {
  {"url_parse", l_url_parse},
  {NULL, NULL},
};

void enkash_open_url(lua_State *L) {
  enkash_open_class(L, URL_BOX_MT, box_meta, no_methods, funcs);
}
