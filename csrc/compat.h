/*
 * compat.h - the ONE place where Lua 5.1/LuaJIT and Lua 5.4 API differences are bridged.
 *
 * Every other C file includes this instead of lua.h/lauxlib.h and is written against the
 * 5.2+ API. The shims are static inline functions with an enkash_ prefix (inline: no
 * unused-function warnings where a file needs none of them) and the 5.2+ names become
 * macros onto them, so they never clash with LuaJIT builds (OpenResty's luajit2) that
 * already export some of these functions, whichever ones those are.
 */
#ifndef ENKASH_COMPAT_H
#define ENKASH_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#ifndef LUA_OK
#define LUA_OK 0
#endif

#if LUA_VERSION_NUM < 502

/* Lua 5.1 calls the raw length "objlen". */
#define lua_rawlen(L, i) lua_objlen((L), (i))

static inline void enkash_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup + 1, "too many upvalues");
  for (; l->name != NULL; l++) {
    int i;
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup); /* copy the upvalues on top */
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}
#undef luaL_setfuncs
#define luaL_setfuncs enkash_compat_setfuncs

static inline void *enkash_compat_testudata(lua_State *L, int ud, const char *tname) {
  void *p = lua_touserdata(L, ud);
  if (p == NULL || !lua_getmetatable(L, ud)) return NULL;
  luaL_getmetatable(L, tname);
  if (!lua_rawequal(L, -1, -2)) p = NULL;
  lua_pop(L, 2);
  return p;
}
#undef luaL_testudata
#define luaL_testudata enkash_compat_testudata

static inline void enkash_compat_setmetatable(lua_State *L, const char *tname) {
  luaL_getmetatable(L, tname);
  lua_setmetatable(L, -2);
}
#undef luaL_setmetatable
#define luaL_setmetatable enkash_compat_setmetatable

#undef luaL_newlibtable
#define luaL_newlibtable(L, l) lua_createtable((L), 0, (int)(sizeof(l) / sizeof((l)[0]) - 1))
#undef luaL_newlib
#define luaL_newlib(L, l) (luaL_newlibtable((L), (l)), luaL_setfuncs((L), (l), 0))

#endif /* LUA_VERSION_NUM < 502 */

/* The __close entry of a metamethod list (luaL_Reg), for a handle usable as a to-be-closed
 * variable (`local h <close> = ...`). Only Lua 5.4 has them; before, the entry is simply
 * absent, so the lists stay free of version tests:
 *     static const luaL_Reg meta[] = {{"__gc", l_close}, ENKASH_CLOSE_REG(l_close) {NULL, NULL}}; */
#if LUA_VERSION_NUM >= 504
#define ENKASH_CLOSE_REG(f) {"__close", (f)},
#else
#define ENKASH_CLOSE_REG(f)
#endif

#endif /* ENKASH_COMPAT_H */
