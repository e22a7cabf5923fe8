/*
 * json.c - two scans of JSON text that Lua's pattern matcher would make slow.
 *
 * core.json_plain(s): true when the string s can be written between quotes in JSON as it is
 * (printable ASCII without '"' and '\\'). enkash.json asks it for every string it writes;
 * only the rare string that fails goes through the escaping gsub in Lua.
 *
 * core.json_numbers(text, names): the number tokens of the keys named in the set `names`, as
 * Enkash wrote them ("100.10", never a float's rendering), for enkash.amounts: a table
 * name -> list of texts in document order, or nil when no such key occurs. A key of the set
 * whose value is not a number (a string "100") gets an empty list, so the caller knows it is
 * there. Strings are skipped whole, escapes included, so text inside a string is never read
 * as a key. Meant for text cjson has accepted: on broken JSON it reads what it can and stops,
 * never past the end.
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

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int in_number(unsigned char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* out[key] (created when missing) at the top of the stack; `out` is at index 3. */
static void push_list(lua_State *L, const char *key, size_t len) {
  lua_pushlstring(L, key, len);
  lua_rawget(L, 3);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushlstring(L, key, len);
    lua_pushvalue(L, -2);
    lua_rawset(L, 3);
  }
}

static int l_json_numbers(lua_State *L) {
  size_t n, i = 0;
  const char *s = luaL_checklstring(L, 1, &n);
  int found = 0;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  while (i < n) {
    size_t start, end, j;
    int escaped = 0;
    if (s[i] != '"') {
      i++;
      continue;
    }
    start = ++i; /* a string: find its closing quote, stepping over escapes */
    while (i < n && s[i] != '"') {
      if (s[i] == '\\') {
        escaped = 1;
        i++;
      }
      i++;
    }
    if (i >= n) break;
    end = i++;
    j = i; /* a key is a string followed by ':' */
    while (j < n && is_space((unsigned char)s[j])) j++;
    if (j >= n || s[j] != ':' || escaped) continue; /* names hold no escapes */
    j++;
    while (j < n && is_space((unsigned char)s[j])) j++;
    lua_pushlstring(L, s + start, end - start);
    lua_rawget(L, 2);
    if (!lua_toboolean(L, -1)) {
      lua_pop(L, 1);
      continue;
    }
    lua_pop(L, 1);
    if (!found) {
      lua_newtable(L); /* index 3 */
      found = 1;
    }
    push_list(L, s + start, end - start);
    if (j < n && (s[j] == '-' || (s[j] >= '0' && s[j] <= '9'))) {
      size_t k = j;
      while (k < n && in_number((unsigned char)s[k])) k++;
      lua_pushlstring(L, s + j, k - j);
      lua_rawseti(L, -2, (int)lua_rawlen(L, -2) + 1);
      i = k;
    }
    lua_pop(L, 1);
  }
  if (!found) lua_pushnil(L);
  return 1;
}

static const luaL_Reg funcs[] = {
  {"json_plain", l_json_plain},
  {"json_numbers", l_json_numbers},
  {NULL, NULL},
};

void enkash_open_json(lua_State *L) { luaL_setfuncs(L, funcs, 0); }
