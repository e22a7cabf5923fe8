/*
 * core.c - luaopen_enkash_core: builds the module table from its parts.
 *
 * The module keeps no global Lua state: per-object configuration lives in the userdata
 * (http handle, token store), so several clients with different settings coexist.
 */
#include "core.h"

typedef void (*enkash_part)(lua_State *L);

/* The parts, in registration order. Adding a part = one file + one line here. */
static const enkash_part parts[] = {
  enkash_open_crypto,
  enkash_open_clock,
  enkash_open_http,
  enkash_open_multi,
  enkash_open_token,
  enkash_open_journal,
  enkash_open_json,
  enkash_open_url,
  enkash_open_fast_fields,
};

void enkash_open_class(lua_State *L, const char *mt, const luaL_Reg *meta, const luaL_Reg *methods,
                       const luaL_Reg *funcs) {
  luaL_newmetatable(L, mt);
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L); /* not luaL_newlib: it sizes the table from an array, not a pointer */
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_setfuncs(L, funcs, 0);
}

int enkash_push_fail(lua_State *L, const char *message, const char *kind) {
  lua_pushnil(L);
  lua_pushstring(L, message);
  if (kind == NULL) return 2;
  lua_pushstring(L, kind);
  return 3;
}

void enkash_push_counters(lua_State *L, lua_Integer requests, lua_Integer connects) {
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, requests);
  lua_setfield(L, -2, "requests");
  lua_pushinteger(L, connects);
  lua_setfield(L, -2, "connects");
}

/* Exported for both builds: LuaJIT's loader looks for the same symbol name. */
int luaopen_enkash_core(lua_State *L) {
  size_t i;
  lua_newtable(L);
  for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) parts[i](L);
  lua_pushliteral(L, ENKASH_CORE_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
