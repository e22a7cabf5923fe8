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
 *
 * core.json_encoder(Object, Array, Raw, null): the encoder of enkash.json in C, for the
 * values request bodies are made of. It returns enc(v) -> JSON text, or nil when v holds
 * anything it leaves to the Lua encoder (which then encodes the whole value, so output and
 * errors stay the Lua encoder's): a plain table, a table with another metatable, a pair or
 * Raw that is not plain, a number that is not finite, a key that is not a string, a userdata
 * other than null, a function, nesting deeper than JSON_DEPTH. Per call a Lua encoder of a
 * ten-field body makes some fifty strings and table slots; this makes one string.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

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

/* ---- the encoder ---- */

#define JSON_DEPTH 64   /* deeper values go to the Lua encoder */
#define JBUF_STACK 2048 /* bytes of output kept on the C stack */
#define JBUF_MT "enkash.jsonbuf"

/* Upvalues of enc: the metatables of enkash.json and its null. */
#define UV_OBJECT lua_upvalueindex(1)
#define UV_ARRAY lua_upvalueindex(2)
#define UV_RAW lua_upvalueindex(3)
#define UV_NULL lua_upvalueindex(4)

/* The output: on the C stack, then in a userdata at stack index `slot` when it outgrows
 * that. A body may hold a secret (an OTP): every copy left behind is scrubbed, and the
 * userdata's __gc scrubs it should an error unwind first. */
typedef struct {
  size_t cap;
  char data[1];
} jbox;

typedef struct {
  lua_State *L;
  char *p;
  size_t len, cap;
  jbox *box; /* NULL while on the stack */
  int slot;
  char stack[JBUF_STACK];
} jbuf;

static int jbox_gc(lua_State *L) {
  jbox *b = (jbox *)luaL_checkudata(L, 1, JBUF_MT);
  OPENSSL_cleanse(b->data, b->cap);
  b->cap = 0;
  return 0;
}

static void jbuf_grow(jbuf *b, size_t need) {
  size_t cap = b->cap * 2;
  jbox *nb;
  if (need > ((size_t)-1 - sizeof(jbox)) / 2) luaL_error(b->L, "not enough memory");
  while (cap < b->len + need) cap *= 2;
  nb = (jbox *)lua_newuserdata(b->L, sizeof(jbox) + cap);
  nb->cap = cap;
  luaL_setmetatable(b->L, JBUF_MT);
  memcpy(nb->data, b->p, b->len);
  OPENSSL_cleanse(b->p, b->len);
  if (b->box) b->box->cap = 0; /* scrubbed: nothing left for its __gc */
  lua_replace(b->L, b->slot);
  b->box = nb;
  b->p = nb->data;
  b->cap = cap;
}

static void put(jbuf *b, const char *s, size_t n) {
  if (b->cap - b->len < n) jbuf_grow(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void put_char(jbuf *b, char c) {
  if (b->len == b->cap) jbuf_grow(b, 1);
  b->p[b->len++] = c;
}

/* How a byte goes into a JSON string: 0 as it is, 1 escaped, 2 as the locale says (a byte
 * >= 0x80: escaped only when iscntrl() says it is a control character). */
#define E1(c) ((c) < 0x20 || (c) == '"' || (c) == '\\' || (c) == 0x7f ? 1 : (c) >= 0x80 ? 2 : 0)
#define E4(c) E1(c), E1((c) + 1), E1((c) + 2), E1((c) + 3)
#define E16(c) E4(c), E4((c) + 4), E4((c) + 8), E4((c) + 12)
#define E64(c) E16(c), E16((c) + 16), E16((c) + 32), E16((c) + 48)
static const unsigned char STR_CLASS[256] = {E64(0), E64(64), E64(128), E64(192)};
#undef E64
#undef E16
#undef E4
#undef E1

/* A JSON string: what enkash.json's gsub('[%c"\\]', escape) writes. Control characters are
 * iscntrl() as Lua's %c reads them (the same C library, the same locale). */
static void put_string(jbuf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  size_t i, run = 0;
  put_char(b, '"');
  for (i = 0; i < n; i++) {
    unsigned char c, cls;
    char esc[6];
    size_t elen = 2;
    /* four plain bytes at a time: names, ids and Base64 are nothing else */
    while (i + 4 <= n && (STR_CLASS[u[i]] | STR_CLASS[u[i + 1]] | STR_CLASS[u[i + 2]] | STR_CLASS[u[i + 3]]) == 0)
      i += 4;
    if (i == n) break;
    c = u[i], cls = STR_CLASS[c];
    if (cls == 0 || (cls == 2 && !iscntrl(c))) continue;
    put(b, s + run, i - run);
    run = i + 1;
    esc[0] = '\\';
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      default:
        esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
        elen = 6;
    }
    put(b, esc, elen);
  }
  put(b, s + run, n - run);
  put_char(b, '"');
}

/* A number as enkash.json writes it: a whole number below 1e15 in magnitude as an integer
 * ("%d"), anything else "%.17g". 0 when it is not finite (the Lua encoder raises for it). */
static int put_number(jbuf *b, lua_State *L, int idx) {
  char tmp[64];
  int n;
  lua_Number d = lua_tonumber(L, idx);
  /* (not floor() and isfinite(): this file needs no libm) */
#if LUA_VERSION_NUM >= 503
  if (lua_isinteger(L, idx)) {
    lua_Integer i = lua_tointeger(L, idx);
    if (i > -1000000000000000LL && i < 1000000000000000LL) {
      n = snprintf(tmp, sizeof(tmp), LUA_INTEGER_FMT, (LUAI_UACINT)i);
      put(b, tmp, (size_t)n);
      return 1;
    }
  }
#endif
  if (d != d || d - d != 0) return 0; /* NaN, or an infinity (inf - inf is NaN) */
  if (d > -1e15 && d < 1e15 && (lua_Number)(long long)d == d)
    n = snprintf(tmp, sizeof(tmp), "%lld", (long long)d);
  else
    n = snprintf(tmp, sizeof(tmp), "%.17g", (double)d);
  put(b, tmp, (size_t)n);
  return 1;
}

/* The metatable of the table at idx as one of 1 Object, 2 Array, 3 Raw; 0 none of them (or
 * none at all). */
static int kind_of(lua_State *L, int idx) {
  int k = 0;
  if (!lua_getmetatable(L, idx)) return 0;
  if (lua_rawequal(L, -1, UV_OBJECT)) k = 1;
  else if (lua_rawequal(L, -1, UV_ARRAY)) k = 2;
  else if (lua_rawequal(L, -1, UV_RAW)) k = 3;
  lua_pop(L, 1);
  return k;
}

/* Writes the value at the top of the stack (absolute index idx); 0: leave it to Lua. */
static int put_value(jbuf *b, int idx, int depth) {
  lua_State *L = b->L;
  size_t n, i, len;
  const char *s;
  switch (lua_type(L, idx)) {
    case LUA_TSTRING:
      s = lua_tolstring(L, idx, &len);
      put_string(b, s, len);
      return 1;
    case LUA_TNUMBER:
      return put_number(b, L, idx);
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) put(b, "true", 4);
      else put(b, "false", 5);
      return 1;
    case LUA_TNIL:
      put(b, "null", 4);
      return 1;
    case LUA_TLIGHTUSERDATA:
      if (!lua_rawequal(L, idx, UV_NULL)) return 0;
      put(b, "null", 4);
      return 1;
    case LUA_TTABLE:
      break;
    default:
      return 0;
  }
  if (depth >= JSON_DEPTH) return 0;
  luaL_checkstack(L, 4, "json: nesting");
  switch (kind_of(L, idx)) {
    case 1: /* Object: {name, value} pairs, plain tables with a string name */
      n = lua_rawlen(L, idx);
      put_char(b, '{');
      for (i = 1; i <= n; i++) {
        int ok;
        lua_rawgeti(L, idx, (lua_Integer)i);
        if (!lua_istable(L, -1) || lua_getmetatable(L, -1)) return 0; /* the Lua path's kv[1] */
        lua_rawgeti(L, -1, 1);
        if (lua_type(L, -1) != LUA_TSTRING) return 0;
        if (i > 1) put_char(b, ',');
        s = lua_tolstring(L, -1, &len);
        put_string(b, s, len);
        put_char(b, ':');
        lua_rawgeti(L, -2, 2);
        ok = put_value(b, lua_gettop(L), depth + 1);
        lua_pop(L, 3);
        if (!ok) return 0;
      }
      put_char(b, '}');
      return 1;
    case 2: /* Array */
      n = lua_rawlen(L, idx);
      put_char(b, '[');
      for (i = 1; i <= n; i++) {
        int ok;
        if (i > 1) put_char(b, ',');
        lua_rawgeti(L, idx, (lua_Integer)i);
        ok = put_value(b, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
        if (!ok) return 0;
      }
      put_char(b, ']');
      return 1;
    case 3: /* Raw: its text verbatim */
      lua_getfield(L, idx, "text");
      if (lua_type(L, -1) != LUA_TSTRING) return 0;
      s = lua_tolstring(L, -1, &len);
      put(b, s, len);
      lua_pop(L, 1);
      return 1;
    default:
      return 0;
  }
}

static int l_json_encode(lua_State *L) {
  jbuf b;
  int ok;
  lua_settop(L, 1);
  lua_pushnil(L); /* index 2: the output's userdata, once it outgrows the stack */
  b.L = L, b.p = b.stack, b.len = 0, b.cap = sizeof(b.stack), b.box = NULL, b.slot = 2;
  ok = put_value(&b, 1, 0);
  if (ok) lua_pushlstring(L, b.p, b.len);
  else lua_pushnil(L);
  OPENSSL_cleanse(b.p, b.len);
  if (b.box) b.box->cap = 0;
  return 1;
}

/* core.json_encoder(Object, Array, Raw, null) -> enc */
static int l_json_encoder(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 4);
  lua_pushcclosure(L, l_json_encode, 4);
  return 1;
}

static const luaL_Reg funcs[] = {
  {"json_plain", l_json_plain},
  {"json_numbers", l_json_numbers},
  {"json_encoder", l_json_encoder},
  {NULL, NULL},
};

void enkash_open_json(lua_State *L) {
  if (luaL_newmetatable(L, JBUF_MT)) {
    lua_pushcfunction(L, jbox_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, funcs, 0);
}
