/*
 * fast_fields.c - one C pass over a call's params table where Lua would make a call per field
 * (type(), find(), next and a table constructor each cost as much as a dozen table reads):
 *
 * core.fields_fast(plan, params, cfg, row, strict) -> fields | nil: enkash.validate's compiled
 * fields list (see validate.lua, `compile`) run over params, when every field is fine. It
 * answers nil, and the caller runs the Lua steps, which then name the first fault exactly as
 * before, when params has a metatable (pairs or indexing could run code), holds a key the
 * list does not know, or any step fails: it never decides a failure itself. The plan is a
 * table made once per fields list:
 *     plan.known    name -> field (the documented names)
 *     plan.object   enkash.json's Object metatable (set on the result)
 *     plan[i]       step i: {name, flags, default, value, enum, check, step, digits}
 * with flags REQUIRED | DEFAULT | VALUE | ENUM | CHECK | GENERAL | DIGITS. DIGITS stands for
 * a named check that is exactly "`digits` ASCII digits" (validate's own mobile, and imei
 * when not strict), done here instead of calling it. A GENERAL step (an amount,
 * a list, required_when, a type other than string) is the Lua step closure itself, called
 * as step(params, cfg, out, n, row, "", known, strict) -> n | nil. A plain step does what
 * validate.lua's plain_step does: the value (params, else cfg[default], else value), nil ->
 * fine only when not required, type string, the enum by raw equality, check(v, strict) ->
 * nil, not blank when required (isspace(), as Lua's %S reads it), then {name, v} appended.
 *
 * core.secret_fields(t, keys, maxdepth) -> list | nil | false: the values enkash.redact.hold
 * would look at, in the order it would meet them: a depth-first walk with next (depth 1 is
 * t; tables deeper than maxdepth are not entered) collecting each string or number under a
 * key that is in the set `keys`. nil when there is none (the usual call), false past
 * SECRET_MAX candidates (the caller then walks the table in Lua). t not a table: nil.
 */
#include <ctype.h>

#include "core.h"

void enkash_open_fast_fields(lua_State *L);

enum { F_REQUIRED = 1, F_DEFAULT = 2, F_VALUE = 4, F_ENUM = 8, F_CHECK = 16, F_GENERAL = 32, F_DIGITS = 64 };

/* Stack slots of fields_fast. */
enum { A_PLAN = 1, A_PARAMS, A_CFG, A_ROW, A_STRICT, S_KNOWN, S_OUT, S_STEP };

/* Lua's %s: isspace() in Lua 5.4 (the C library's, in the process's locale); LuaJIT's own
 * ASCII table otherwise. */
static int is_space(unsigned char c) {
#if LUA_VERSION_NUM >= 502
  return isspace(c) != 0;
#else
  return c == ' ' || (c >= '\t' && c <= '\r');
#endif
}

static int blank(const char *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (!is_space((unsigned char)s[i])) return 0;
  return 1;
}

/* Is the string at the top of the stack in the list at index `list`, read as ipairs reads
 * it (up to the first nil), by raw equality? */
static int in_list(lua_State *L, int list) {
  int i, found = 0;
  for (i = 1; !found; i++) {
    lua_rawgeti(L, list, i);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    found = lua_rawequal(L, -1, -2);
    lua_pop(L, 1);
  }
  return found;
}

/* One plain step (its table at S_STEP): appends {name, v} to out as item n + 1. 0 when the
 * value is missing and required, or any check fails; 1 when done (appended, or nothing to
 * send); the count through *n. */
static int plain_step(lua_State *L, int flags, int *n) {
  size_t len;
  const char *s;
  lua_rawgeti(L, S_STEP, 1); /* name */
  lua_pushvalue(L, -1);
  lua_rawget(L, A_PARAMS); /* name, v */
  if (lua_isnil(L, -1) && (flags & F_DEFAULT) && lua_toboolean(L, A_CFG)) {
    lua_pop(L, 1);
    lua_rawgeti(L, S_STEP, 3);
    lua_gettable(L, A_CFG); /* cfg[default], as Lua indexes it */
  }
  if (lua_isnil(L, -1) && (flags & F_VALUE)) {
    lua_pop(L, 1);
    lua_rawgeti(L, S_STEP, 4);
  }
  if (lua_isnil(L, -1)) {
    lua_pop(L, 2);
    return !(flags & F_REQUIRED);
  }
  if (lua_type(L, -1) != LUA_TSTRING) return 0;
  if (flags & F_ENUM) {
    int ok;
    lua_rawgeti(L, S_STEP, 5);
    lua_pushvalue(L, -2);
    ok = in_list(L, lua_gettop(L) - 1);
    lua_pop(L, 2);
    if (!ok) return 0;
  }
  if (flags & F_DIGITS) {
    lua_Integer want;
    size_t i;
    lua_rawgeti(L, S_STEP, 8);
    want = lua_tointeger(L, -1);
    lua_pop(L, 1);
    s = lua_tolstring(L, -1, &len);
    if ((lua_Integer)len != want) return 0;
    for (i = 0; i < len; i++)
      if (s[i] < '0' || s[i] > '9') return 0;
  }
  if (flags & F_CHECK) {
    int fine;
    lua_rawgeti(L, S_STEP, 6);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, A_STRICT);
    lua_call(L, 2, 1); /* a check raises only on a bug: as in Lua, the error goes up */
    fine = !lua_toboolean(L, -1); /* a reason fails the field */
    lua_pop(L, 1);
    if (!fine) return 0;
  }
  s = lua_tolstring(L, -1, &len);
  if ((flags & F_REQUIRED) && blank(s, len)) return 0;
  lua_createtable(L, 2, 0); /* name, v, pair */
  lua_insert(L, -3);        /* pair, name, v */
  lua_rawseti(L, -3, 2);
  lua_rawseti(L, -2, 1);
  lua_rawseti(L, S_OUT, ++*n);
  return 1;
}

/* A general step: its Lua closure, step(params, cfg, out, n, row, "", known, strict). */
static int general_step(lua_State *L, int *n) {
  lua_rawgeti(L, S_STEP, 7);
  lua_pushvalue(L, A_PARAMS);
  lua_pushvalue(L, A_CFG);
  lua_pushvalue(L, S_OUT);
  lua_pushinteger(L, *n);
  lua_pushvalue(L, A_ROW);
  lua_pushliteral(L, "");
  lua_pushvalue(L, S_KNOWN);
  lua_pushvalue(L, A_STRICT);
  lua_call(L, 8, 1);
  if (!lua_isnumber(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  *n = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return 1;
}

static int l_fields_fast(lua_State *L) {
  int i, steps, n = 0;
  luaL_checktype(L, A_PLAN, LUA_TTABLE);
  lua_settop(L, A_STRICT);
  if (!lua_istable(L, A_PARAMS) || lua_getmetatable(L, A_PARAMS)) return 0;
  lua_getfield(L, A_PLAN, "known"); /* S_KNOWN */
  if (!lua_istable(L, S_KNOWN)) return 0;
  /* every key documented (validate.lua reports the first unknown one) */
  lua_pushnil(L);
  while (lua_next(L, A_PARAMS)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawget(L, S_KNOWN);
    if (lua_isnil(L, -1)) return 0;
    lua_pop(L, 1);
  }
  steps = (int)lua_rawlen(L, A_PLAN);
  lua_createtable(L, steps, 0); /* S_OUT */
  lua_pushnil(L);               /* S_STEP */
  for (i = 1; i <= steps; i++) {
    int flags, ok;
    lua_rawgeti(L, A_PLAN, i);
    lua_replace(L, S_STEP);
    lua_rawgeti(L, S_STEP, 2);
    flags = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    ok = (flags & F_GENERAL) ? general_step(L, &n) : plain_step(L, flags, &n);
    if (!ok) return 0;
    lua_settop(L, S_STEP);
  }
  lua_getfield(L, A_PLAN, "object");
  lua_setmetatable(L, S_OUT);
  lua_settop(L, S_OUT);
  return 1;
}

/* ---- the secret-field walk of redact.hold ---- */

#define SECRET_MAX 256 /* candidates collected before leaving the walk to Lua */

/* Walks the table at t (depth `depth`), appending candidates to the list at `list`; 0 past
 * SECRET_MAX. */
static int walk(lua_State *L, int t, int keys, int list, int depth, int maxdepth, int *count) {
  if (depth > maxdepth) return 1;
  luaL_checkstack(L, 4, "secret_fields: nesting");
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int tv = lua_type(L, -1);
    if (tv == LUA_TTABLE) {
      if (!walk(L, lua_gettop(L), keys, list, depth + 1, maxdepth, count)) return 0;
    } else if (tv == LUA_TSTRING || tv == LUA_TNUMBER) {
      int secret;
      lua_pushvalue(L, -2);
      lua_rawget(L, keys);
      secret = lua_toboolean(L, -1);
      lua_pop(L, 1);
      if (secret) {
        if (*count >= SECRET_MAX) return 0;
        lua_pushvalue(L, -1);
        lua_rawseti(L, list, ++*count);
      }
    }
    lua_pop(L, 1);
  }
  return 1;
}

static int l_secret_fields(lua_State *L) {
  int count = 0, maxdepth;
  if (!lua_istable(L, 1)) return 0; /* params that are no table hold nothing */
  luaL_checktype(L, 2, LUA_TTABLE);
  maxdepth = (int)luaL_checkinteger(L, 3);
  lua_settop(L, 3);
  lua_newtable(L); /* 4: the list */
  if (!walk(L, 1, 2, 4, 1, maxdepth, &count)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (count == 0) return 0;
  lua_settop(L, 4);
  return 1;
}

static const luaL_Reg funcs[] = {
  {"fields_fast", l_fields_fast},
  {"secret_fields", l_secret_fields},
  {NULL, NULL},
};

void enkash_open_fast_fields(lua_State *L) { luaL_setfuncs(L, funcs, 0); }
