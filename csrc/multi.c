/*
 * multi.c - core.multi(opts) -> m: many HTTP requests in flight on one thread.
 *   m:add(req) -> id            starts a request (req exactly as h:request's)
 *   m:wait([seconds]) -> list   drives transfers until one or more complete or time is up
 *   m:pending() -> n, m:stats() -> {requests, connects}, m:close()
 *
 * One CURLM with a pool of easy handles ("slots"): a slot carries one request at a time
 * and goes back to the pool once its result was handed to Lua; curl_easy_reset() per
 * request, so connections stay in the multi's connection cache and are shared by every
 * slot (keep-alive across waves). Options, validation, callbacks, buffers, the error-kind
 * table, the result tables and the guard against libcurl's silent resend are http.c's,
 * from http_common.c: a completion is parsed exactly as h:request's answer.
 *
 * A slot is FREE (in the free list), ACTIVE (added to the CURLM) or DONE (removed from the
 * CURLM, its result in the done queue until m:wait hands it to Lua). No Lua API in libcurl
 * callbacks; Lua values are built in m:wait from the slots' C buffers. A slot is released
 * only after its result table is in the list being returned, so a Lua error (out of
 * memory) while building loses no completion: the next wait reports it, close frees it.
 *
 * Lifecycle as http.c's: created closed-safe, close idempotent (aborts transfers in
 * flight and frees everything), __gc and __close (5.4) close.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http_common.h"

static const char CLOSED_MSG[] = "attempt to use a closed enkash multi handle";

enum { SLOT_FREE, SLOT_ACTIVE, SLOT_DONE };

typedef struct slot {
  CURL *curl;
  enkash_xfer x;
  lua_Integer id;
  int state;
  CURLcode rc;       /* the transfer's result (DONE) */
  CURLMcode mrc;     /* curl_multi_add_handle's failure, if that is why it is DONE */
  struct slot *next; /* in the free list or the done queue */
} slot;

typedef struct {
  CURLM *multi; /* NULL once closed */
  enkash_http_opts opts;
  slot **slots; /* every slot, to free them all on close */
  size_t nslots, cap;
  slot *free_list, *done_head, *done_tail;
  lua_Integer next_id, requests, connects, pending; /* pending: ACTIVE + DONE */
  int active;
} multi_handle;

static void multi_close(multi_handle *m) {
  size_t i;
  for (i = 0; i < m->nslots; i++) {
    slot *s = m->slots[i];
    if (s->state == SLOT_ACTIVE && m->multi != NULL) curl_multi_remove_handle(m->multi, s->curl);
    if (s->curl != NULL) curl_easy_cleanup(s->curl);
    enkash_xfer_reset(&s->x); /* scrubs headers, body copy and any unreported response */
    free(s);
  }
  free(m->slots);
  m->slots = NULL;
  m->nslots = m->cap = 0;
  m->free_list = m->done_head = m->done_tail = NULL;
  m->pending = m->active = 0;
  if (m->multi != NULL) curl_multi_cleanup(m->multi); /* closes the cached connections */
  m->multi = NULL;
  enkash_http_opts_free(&m->opts);
}

static multi_handle *check_multi(lua_State *L) {
  return (multi_handle *)luaL_checkudata(L, 1, ENKASH_MULTI_MT);
}

static multi_handle *check_open(lua_State *L) {
  multi_handle *m = check_multi(L);
  if (m->multi == NULL) luaL_error(L, "%s", CLOSED_MSG);
  return m;
}

/* ---- core.multi(opts) ---- */

static int l_multi(lua_State *L) {
  multi_handle *m;
  long max_total = ENKASH_FALLBACK_MAX_TOTAL_CONNECTIONS;
  lua_settop(L, 1);
  if (lua_isnil(L, 1)) {
    lua_newtable(L);
    lua_replace(L, 1);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  enkash_curl_global_init(L);
  m = (multi_handle *)lua_newuserdata(L, sizeof(*m));
  memset(m, 0, sizeof(*m)); /* closed-safe before anything can raise */
  luaL_setmetatable(L, ENKASH_MULTI_MT);
  enkash_http_opts_read(L, 1, 1, &m->opts);
  lua_getfield(L, 1, "max_total_connections");
  if (!lua_isnil(L, -1)) {
    lua_Number n = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !(n >= 1 && n <= 100000) || n != floor(n))
      luaL_argerror(L, 1, "field 'max_total_connections' must be an integer in 1..100000");
    max_total = (long)n;
  }
  m->multi = curl_multi_init();
  if (m->multi == NULL) return luaL_error(L, "curl_multi_init failed");
  /* At most max_total connections at once (more requests wait for one), and a cache as
   * large, so a whole wave's connections are kept alive for the next. */
  if (curl_multi_setopt(m->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_total) != CURLM_OK ||
      curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, max_total) != CURLM_OK)
    return luaL_error(L, "curl_multi_setopt failed");
  lua_pushvalue(L, 2); /* the handle */
  return 1;
}

/* ---- the slot pool ---- */

/* A free slot, left at the head of the free list (taken off only once the request was
 * built: a raise while building leaves it free, its partial state reset at the next use).
 * Raises when out of memory. */
static slot *peek_free_slot(lua_State *L, multi_handle *m) {
  slot *s;
  if (m->free_list != NULL) return m->free_list;
  if (m->nslots == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 16;
    slot **slots = (slot **)realloc(m->slots, cap * sizeof(*slots));
    if (slots == NULL) luaL_error(L, "not enough memory");
    m->slots = slots;
    m->cap = cap;
  }
  s = (slot *)calloc(1, sizeof(*s));
  if (s == NULL) luaL_error(L, "not enough memory");
  s->curl = curl_easy_init();
  if (s->curl == NULL) {
    free(s);
    luaL_error(L, "curl_easy_init failed");
  }
  s->state = SLOT_FREE;
  m->slots[m->nslots++] = s;
  m->free_list = s;
  return s;
}

/* ACTIVE (or a request that never started) -> DONE, at the tail of the done queue. The
 * request's headers and body copy are scrubbed now, not when the slot is reused. */
static void slot_done(multi_handle *m, slot *s) {
  s->state = SLOT_DONE;
  s->next = NULL;
  if (m->done_tail != NULL)
    m->done_tail->next = s;
  else
    m->done_head = s;
  m->done_tail = s;
  enkash_xfer_free_request(&s->x);
}

/* DONE -> FREE, once its result was handed to Lua. */
static void slot_release(multi_handle *m, slot *s) {
  m->done_head = s->next;
  if (m->done_head == NULL) m->done_tail = NULL;
  enkash_xfer_reset(&s->x);
  s->state = SLOT_FREE;
  s->id = 0;
  s->rc = CURLE_OK;
  s->mrc = CURLM_OK;
  s->next = m->free_list;
  m->free_list = s;
  m->pending--;
}

/* Moves every finished transfer from the CURLM to the done queue. */
static void collect(multi_handle *m) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
    CURL *e;
    CURLcode rc;
    char *priv = NULL;
    long nconn = 0;
    if (msg->msg != CURLMSG_DONE) continue;
    e = msg->easy_handle; /* msg is invalid once the handle is removed */
    rc = msg->data.result;
    if (curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv) != CURLE_OK || priv == NULL) continue;
    curl_multi_remove_handle(m->multi, e); /* its connection goes back to the cache */
    if (curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK)
      m->connects += (lua_Integer)nconn;
    ((slot *)priv)->rc = rc;
    m->active--;
    slot_done(m, (slot *)priv);
  }
}

static void perform(lua_State *L, multi_handle *m) {
  int running = 0;
  CURLMcode mc = curl_multi_perform(m->multi, &running);
  if (mc != CURLM_OK) luaL_error(L, "curl_multi_perform: %s", curl_multi_strerror(mc));
}

/* ---- methods ---- */

/* m:add{method=, url=, headers=, body=, timeout=, connect_timeout=} -> id */
static int l_add(lua_State *L) {
  multi_handle *m = check_open(L);
  enkash_req r;
  slot *s;
  CURLcode rc;
  const char *body = NULL;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  enkash_req_read(L, 2, 2, &m->opts, &r); /* raises before anything is allocated */
  s = peek_free_slot(L, m);
  enkash_xfer_reset(&s->x);
  lua_getfield(L, 2, "headers");
  enkash_xfer_headers(L, &s->x, lua_gettop(L), 2);
  if (r.body != NULL) {
    /* The transfer outlives this call (and the Lua string): send a copy, scrubbed later. */
    if (!enkash_buf_append(&s->x.req_body, r.body, r.blen)) luaL_error(L, "not enough memory");
    body = s->x.req_body.data != NULL ? s->x.req_body.data : "";
  }
  /* Built: take the slot. From here on nothing raises. */
  m->free_list = s->next;
  s->next = NULL;
  s->id = ++m->next_id;
  m->pending++;
  if (!enkash_xfer_check_request(&s->x, &m->opts, &r)) {
    s->rc = CURLE_SEND_ERROR; /* never sent: the next wait reports x.refused */
    slot_done(m, s);
    lua_pushinteger(L, s->id);
    return 1;
  }
  rc = enkash_xfer_setup(s->curl, &m->opts, &s->x, &r, body);
  if (rc == CURLE_OK) rc = curl_easy_setopt(s->curl, CURLOPT_PRIVATE, (void *)s);
  if (rc != CURLE_OK) {
    s->rc = rc; /* reported by the next wait, as h:request reports it */
    slot_done(m, s);
  } else {
    m->requests++;
    s->mrc = curl_multi_add_handle(m->multi, s->curl);
    if (s->mrc != CURLM_OK) {
      slot_done(m, s);
    } else {
      int running = 0;
      s->state = SLOT_ACTIVE;
      m->active++;
      curl_multi_perform(m->multi, &running); /* start it now: resolve, connect, send */
    }
  }
  lua_pushinteger(L, s->id);
  return 1;
}

/* {id=, res={status, headers, body}} or {id=, message=, kind=} for a DONE slot: the
 * failure's two values of core.h's convention, by name. */
static void push_completion(lua_State *L, slot *s) {
  char buf[ENKASH_FAIL_SIZE];
  const char *kind = "transport", *message;
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, s->id);
  lua_setfield(L, -2, "id");
  if (s->mrc != CURLM_OK) {
    message = curl_multi_strerror(s->mrc);
  } else if (s->rc == CURLE_OK) {
    enkash_push_response(L, s->curl, &s->x);
    lua_setfield(L, -2, "res");
    return;
  } else {
    message = enkash_failure(s->curl, &s->x, s->rc, buf, &kind);
  }
  lua_pushstring(L, message);
  lua_setfield(L, -2, "message");
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
}

/* m:wait([seconds]) -> list of completions, in the order they completed. Without seconds:
 * until at least one completes (at once, with {}, when nothing is pending). With seconds
 * (>= 0): at most that long; with nothing pending it simply waits that long. */
static int l_wait(lua_State *L) {
  multi_handle *m = check_open(L);
  double timeout = -1, deadline = 0;
  lua_Integer n = 0;
  int list;
  if (!lua_isnoneornil(L, 2)) {
    timeout = luaL_checknumber(L, 2);
    luaL_argcheck(L, timeout >= 0 && timeout <= 1e9, 2, "seconds must be a number >= 0");
    deadline = enkash_monotime() + timeout;
  }
  for (;;) {
    int ms;
    CURLMcode mc;
    if (m->active > 0) {
      perform(L, m);
      collect(m);
    }
    if (m->done_head != NULL) break;
    if (timeout < 0) {
      if (m->active == 0) break; /* nothing could ever complete */
      ms = 1000;
    } else {
      double left = deadline - enkash_monotime();
      if (left <= 0) break;
      ms = left * 1000.0 >= INT_MAX ? INT_MAX : (int)ceil(left * 1000.0);
    }
    /* Waits on the transfers' sockets, at most until libcurl's next timeout; with no
     * transfer at all, curl_multi_poll (unlike curl_multi_wait) still waits ms. */
    mc = curl_multi_poll(m->multi, NULL, 0, ms, NULL);
    if (mc != CURLM_OK) return luaL_error(L, "curl_multi_poll: %s", curl_multi_strerror(mc));
  }
  lua_newtable(L);
  list = lua_gettop(L);
  while (m->done_head != NULL) {
    slot *s = m->done_head;
    push_completion(L, s);
    lua_rawseti(L, list, (int)++n);
    slot_release(m, s);
  }
  return 1;
}

static int l_pending(lua_State *L) {
  multi_handle *m = check_open(L);
  lua_pushinteger(L, m->pending);
  return 1;
}

static int l_stats(lua_State *L) {
  multi_handle *m = check_open(L);
  enkash_push_counters(L, m->requests, m->connects);
  return 1;
}

static int l_close(lua_State *L) {
  multi_close(check_multi(L));
  return 0;
}

static int l_tostring(lua_State *L) {
  multi_handle *m = check_multi(L);
  if (m->multi == NULL)
    lua_pushliteral(L, "enkash.multi (closed)");
  else
    lua_pushfstring(L, "enkash.multi (%p)", (void *)m);
  return 1;
}

static const luaL_Reg methods[] = {
  {"add", l_add},
  {"wait", l_wait},
  {"pending", l_pending},
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
  {"multi", l_multi},
  {NULL, NULL},
};

void enkash_open_multi(lua_State *L) {
  enkash_open_class(L, ENKASH_MULTI_MT, meta, methods, funcs);
}
