/*
 * json.c - core.json_plain(s): true when the string s can be written between quotes in
 * JSON as it is (printable ASCII without '"' and '\\'). enkash.json asks it for every string
 * it writes; only the rare string that fails goes through the escaping gsub in Lua. A scan
 * in C costs a few instructions a byte, Lua's pattern matcher hundreds a string.
 */
#include "core.h"

static int l_json_plain(lua_State *L) {
  size_t n, i;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  for (i = 0; i < n; i++) {
    unsigned char c = s[i];
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
      lua_pushboolean(L, 0);
      return 1;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg funcs[] = {
  {"json_plain", l_json_plain},
  {NULL, NULL},
};

void enkash_open_json(lua_State *L) { luaL_setfuncs(L, funcs, 0); }
