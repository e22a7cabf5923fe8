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
};

/* Exported for both builds: LuaJIT's loader looks for the same symbol name. */
int luaopen_enkash_core(lua_State *L) {
  size_t i;
  lua_newtable(L);
  for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) parts[i](L);
  lua_pushliteral(L, ENKASH_CORE_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
