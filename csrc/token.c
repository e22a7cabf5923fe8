/*
 * token.c - core.token_store(): the access token lives in C memory, not in a Lua table.
 *
 * Lua strings are interned and never scrubbed, so the store keeps its own malloc'd copy,
 * scrubs it (OPENSSL_clear_free) when replaced, invalidated or collected, and never shows
 * it in __tostring or info(). get() hands out a Lua string only while the token is fresh
 * enough; how much margin is "enough" is Lua policy, passed in by the caller.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core.h"

typedef struct {
  char *token;     /* NULL when empty */
  size_t len;
  double expiry;   /* monotonic seconds */
  double lifetime; /* the expires_in given to set() */
} token_store;

static token_store *check_store(lua_State *L) {
  return (token_store *)luaL_checkudata(L, 1, ENKASH_TOKEN_MT);
}

static void store_clear(token_store *ts) {
  if (ts->token != NULL) OPENSSL_clear_free(ts->token, ts->len + 1);
  ts->token = NULL;
  ts->len = 0;
  ts->expiry = 0;
  ts->lifetime = 0;
}

static int l_token_store(lua_State *L) {
  token_store *ts = (token_store *)lua_newuserdata(L, sizeof(*ts));
  ts->token = NULL;
  store_clear(ts);
  luaL_setmetatable(L, ENKASH_TOKEN_MT);
  return 1;
}

/* ts:set(token, expires_in) */
static int l_set(lua_State *L) {
  token_store *ts = check_store(L);
  size_t len;
  const char *tok = luaL_checklstring(L, 2, &len);
  lua_Number expires_in = luaL_checknumber(L, 3);
  char *copy;
  luaL_argcheck(L, len > 0, 2, "token must not be empty");
  /* NaN fails the first test; an infinite lifetime would never expire. */
  luaL_argcheck(L, expires_in > 0 && expires_in < HUGE_VAL, 3, "expires_in must be > 0");
  copy = (char *)OPENSSL_malloc(len + 1);
  if (copy == NULL) return luaL_error(L, "not enough memory");
  memcpy(copy, tok, len);
  copy[len] = '\0';
  store_clear(ts); /* scrub the previous token */
  ts->token = copy;
  ts->len = len;
  ts->lifetime = expires_in;
  ts->expiry = enkash_monotime() + expires_in;
  return 0;
}

/* ts:get([margin]) -> token only if monotime() + margin < expiry */
static int l_get(lua_State *L) {
  token_store *ts = check_store(L);
  lua_Number margin = luaL_optnumber(L, 2, 0);
  luaL_argcheck(L, margin == margin, 2, "number expected, got nan");
  if (ts->token != NULL && enkash_monotime() + margin < ts->expiry)
    lua_pushlstring(L, ts->token, ts->len);
  else
    lua_pushnil(L);
  return 1;
}

static int l_remaining(lua_State *L) {
  token_store *ts = check_store(L);
  if (ts->token == NULL)
    lua_pushnil(L);
  else
    lua_pushnumber(L, ts->expiry - enkash_monotime());
  return 1;
}

static int l_invalidate(lua_State *L) {
  store_clear(check_store(L));
  return 0;
}

static int l_info(lua_State *L) {
  token_store *ts = check_store(L);
  lua_createtable(L, 0, 3);
  lua_pushboolean(L, ts->token != NULL);
  lua_setfield(L, -2, "present");
  if (ts->token != NULL) {
    lua_pushnumber(L, ts->expiry - enkash_monotime());
    lua_setfield(L, -2, "expires_in");
    lua_pushnumber(L, ts->lifetime);
    lua_setfield(L, -2, "lifetime");
  }
  return 1;
}

/* Shows presence and expiry only: this string ends up in logs. */
static int l_tostring(lua_State *L) {
  token_store *ts = check_store(L);
  char buf[96];
  if (ts->token == NULL) {
    lua_pushliteral(L, "enkash.token(empty)");
    return 1;
  }
  double left = ts->expiry - enkash_monotime();
  if (left > 0)
    snprintf(buf, sizeof(buf), "enkash.token(present, expires in %.0fs)", ceil(left));
  else
    snprintf(buf, sizeof(buf), "enkash.token(present, expired)");
  lua_pushstring(L, buf);
  return 1;
}

static int l_gc(lua_State *L) {
  store_clear(check_store(L));
  return 0;
}

static const luaL_Reg methods[] = {
  {"set", l_set},
  {"get", l_get},
  {"remaining", l_remaining},
  {"invalidate", l_invalidate},
  {"info", l_info},
  {NULL, NULL},
};

static const luaL_Reg meta[] = {
  {"__tostring", l_tostring},
  {"__gc", l_gc},
  {NULL, NULL},
};

static const luaL_Reg funcs[] = {
  {"token_store", l_token_store},
  {NULL, NULL},
};

void enkash_open_token(lua_State *L) {
  enkash_open_class(L, ENKASH_TOKEN_MT, meta, methods, funcs);
}
