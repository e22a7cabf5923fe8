/*
 * core.h - internal declarations shared by the parts of enkash.core.
 *
 * Each part (crypto, clock, http, multi, token, journal, json, url) lives in its own file and
 * exposes one enkash_open_<part>() that adds its functions to the module table on top of the
 * stack, so core.c stays a list of parts and no part knows about another except via this
 * header (the HTTP parts share http_common.h, and any part may use buf.h).
 *
 * Failures. Misuse (a wrong argument type, a malformed request table, a closed handle) raises:
 * it is a bug in the caller. A runtime failure (the network, the disk, a peer's answer, a
 * capped or refused exchange) returns, and every C function answers it in one shape:
 *     nil, message[, kind]
 * The message is always the second value, so `assert(f(...))` and `local v, err = f(...)`
 * read every function the same way; a kind (a short fixed word such as "timeout", "connect",
 * "tls", "transport", "validation") comes third where the caller branches on it.
 * enkash_push_fail builds it. Completions of core.multi are tables {id, message, kind}
 * carrying the same two values by name.
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
#define ENKASH_JOURNAL_MT "enkash.journal"

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
void enkash_open_fast_fields(lua_State *L);

/* Register a userdata class: metatable `mt` with the metamethods `meta` and an __index table
 * of `methods`; then add `funcs` to the module table on top of the stack. The one shape every
 * part with a handle type uses. */
void enkash_open_class(lua_State *L, const char *mt, const luaL_Reg *meta, const luaL_Reg *methods,
                       const luaL_Reg *funcs);

/* Push the failure `nil, message[, kind]` (kind omitted when NULL); returns how many values
 * it pushed, so a C function ends with `return enkash_push_fail(L, msg, kind);`. */
int enkash_push_fail(lua_State *L, const char *message, const char *kind);

/* Push {requests = n, connects = n}: the counters of the http and multi handles. */
void enkash_push_counters(lua_State *L, lua_Integer requests, lua_Integer connects);

/* Seconds on the monotonic clock (CLOCK_MONOTONIC): immune to wall-clock jumps, which is
 * what expiries and deadlines need. Used by clock.c and token.c. */
double enkash_monotime(void);

#endif /* ENKASH_CORE_H */
