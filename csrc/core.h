/*
 * core.h - internal declarations shared by the parts of enkash.core.
 *
 * Each part (crypto, clock, http, token) lives in its own file and exposes one
 * enkash_open_<part>() that adds its functions to the module table on top of the stack,
 * so core.c stays a list of parts and no part knows about another except via this header.
 */
#ifndef ENKASH_CORE_H
#define ENKASH_CORE_H

#include <stddef.h>
#include "compat.h"

#define ENKASH_CORE_VERSION "enkash.core 0.1.0"

/* Metatable names (registry keys) of the userdata types. */
#define ENKASH_HTTP_MT "enkash.http"
#define ENKASH_MULTI_MT "enkash.multi"
#define ENKASH_TOKEN_MT "enkash.token"

/* Each adds its functions to the table at the top of the stack (and may register
 * metatables); none leaves anything else on the stack. */
void enkash_open_crypto(lua_State *L);
void enkash_open_clock(lua_State *L);
void enkash_open_http(lua_State *L);
void enkash_open_multi(lua_State *L);
void enkash_open_token(lua_State *L);
void enkash_open_journal(lua_State *L);
void enkash_open_json(lua_State *L);
void enkash_open_url(lua_State *L);

/* Register a userdata class: metatable `mt` with the metamethods `meta` and an __index table
 * of `methods`; then add `funcs` to the module table on top of the stack. The one shape every
 * part with a handle type uses. */
void enkash_open_class(lua_State *L, const char *mt, const luaL_Reg *meta, const luaL_Reg *methods,
                       const luaL_Reg *funcs);

/* Push {requests = n, connects = n}: the counters of the http and multi handles. */
void enkash_push_counters(lua_State *L, lua_Integer requests, lua_Integer connects);

/* Seconds on the monotonic clock (CLOCK_MONOTONIC): immune to wall-clock jumps, which is
 * what expiries and deadlines need. Used by clock.c and token.c. */
double enkash_monotime(void);

#endif /* ENKASH_CORE_H */
