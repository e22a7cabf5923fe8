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
 *
 * core.json_decoder(null): dec(text, names) -> doc, found: cjson's decode of `text` and
 * json_numbers(text, names) in one pass, for enkash.amounts. It takes strict JSON without
 * \u escapes, raw control characters in strings or nesting past JSON_DEPTH, builds every
 * table with the same calls in the same order as cjson (so `pairs` walks them alike) and
 * numbers as cjson does (strtod, a float); on anything else it answers nil and the caller
 * uses cjson and json_numbers, which then decide (and word the error).
 *
 * core.json_sealed(text): the Base64 of Enkash's encrypted envelope when text is exactly
 * {"request":"<Base64 characters>"} (white space allowed where JSON allows it), else nil:
 * the one value a decoder would find there, without building the table.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ---- the decoder ---- */

typedef struct {
  lua_State *L;
  const char *p, *end;
  int names; /* stack index of the set of money names */
  int found; /* stack index of `found`, 0 until a money key occurs */
} jdec;

static void skip_ws(jdec *d) {
  while (d->p < d->end && is_space((unsigned char)*d->p)) d->p++;
}

/* A string at d->p (its opening quote): pushed; *escaped says whether it held an escape.
 * 0 (nothing pushed) for what cjson is left to read: a \u escape, a control character, no
 * closing quote. */
static int dec_string(jdec *d, int *escaped) {
  const char *start = ++d->p, *q = start;
  luaL_Buffer b;
  *escaped = 0;
  while (q < d->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) q++;
  if (q >= d->end || (unsigned char)*q < 0x20) return 0;
  if (*q == '"') {
    lua_pushlstring(d->L, start, (size_t)(q - start));
    d->p = q + 1;
    return 1;
  }
  *escaped = 1;
  luaL_buffinit(d->L, &b);
  luaL_addlstring(&b, start, (size_t)(q - start));
  while (q < d->end && *q != '"') {
    char c = *q;
    if ((unsigned char)c < 0x20) break;
    if (c == '\\') {
      if (++q >= d->end) break;
      switch (*q) {
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case '/': c = '/'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        default: q = d->end; continue; /* \u or an invalid escape: cjson's */
      }
    }
    luaL_addchar(&b, c);
    q++;
  }
  luaL_pushresult(&b); /* balanced: popped below when giving up */
  if (q >= d->end || *q != '"') {
    lua_pop(d->L, 1);
    return 0;
  }
  d->p = q + 1;
  return 1;
}

/* A number token of the JSON grammar at d->p: pushed as cjson pushes it (strtod, a float);
 * its text in *text, *len. 0 for anything else (cjson's strtod reads more forms, "1." or
 * hex: it decides on those). */
static int dec_number(jdec *d, const char **text, size_t *len) {
  const char *p = d->p, *e = d->end, *start = p;
  char tmp[64], *stop;
  double v;
  if (p < e && *p == '-') p++;
  if (p >= e) return 0;
  if (*p == '0') p++;
  else if (*p >= '1' && *p <= '9') while (p < e && *p >= '0' && *p <= '9') p++;
  else return 0;
  if (p < e && *p == '.') {
    if (++p >= e || *p < '0' || *p > '9') return 0;
    while (p < e && *p >= '0' && *p <= '9') p++;
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < e && (*p == '+' || *p == '-')) p++;
    if (p >= e || *p < '0' || *p > '9') return 0;
    while (p < e && *p >= '0' && *p <= '9') p++;
  }
  if ((size_t)(p - start) >= sizeof(tmp)) return 0;
  memcpy(tmp, start, (size_t)(p - start));
  tmp[p - start] = '\0';
  v = strtod(tmp, &stop);
  if (stop != tmp + (p - start)) return 0; /* a locale whose decimal point is not '.' */
  lua_pushnumber(d->L, (lua_Number)v);
  *text = start, *len = (size_t)(p - start);
  d->p = p;
  return 1;
}

static int dec_value(jdec *d, int depth);

/* Is the key at the top of the stack a money name (json_numbers' rule: read as written,
 * without an escape)? Then its list in `found` exists (made on first sight), as
 * json_numbers makes one even when the value is no number. Leaves the stack as it was. */
static int note_key(jdec *d, int escaped) {
  lua_State *L = d->L;
  int money;
  if (escaped) return 0;
  lua_pushvalue(L, -1);
  lua_rawget(L, d->names);
  money = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (!money) return 0;
  if (!d->found) {
    lua_newtable(L);
    lua_replace(L, 4); /* the slot l_json_decode keeps for it */
    d->found = 4;
  }
  lua_pushvalue(L, -1);
  lua_rawget(L, d->found);
  money = lua_isnil(L, -1); /* (reused: no list yet) */
  lua_pop(L, 1);
  if (money) {
    lua_pushvalue(L, -1);
    lua_newtable(L);
    lua_rawset(L, d->found);
  }
  return 1;
}

/* Appends the number text to the key's list; the stack holds ..., key, number. */
static void note_number(jdec *d, const char *text, size_t len) {
  lua_State *L = d->L;
  lua_pushvalue(L, -2); /* the key, under the number just pushed */
  lua_rawget(L, d->found);
  lua_pushlstring(L, text, len);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 1);
}

static int dec_object(jdec *d, int depth) {
  lua_State *L = d->L;
  d->p++;
  lua_newtable(L);
  skip_ws(d);
  if (d->p < d->end && *d->p == '}') {
    d->p++;
    return 1;
  }
  for (;;) {
    int escaped, money;
    skip_ws(d);
    if (d->p >= d->end || *d->p != '"' || !dec_string(d, &escaped)) return 0;
    skip_ws(d);
    if (d->p >= d->end || *d->p != ':') return 0;
    d->p++;
    skip_ws(d);
    money = note_key(d, escaped);
    if (money && d->p < d->end && (*d->p == '-' || (*d->p >= '0' && *d->p <= '9'))) {
      const char *text;
      size_t len;
      if (!dec_number(d, &text, &len)) return 0;
      note_number(d, text, len);
    } else if (!dec_value(d, depth + 1)) {
      return 0;
    }
    lua_rawset(L, -3);
    skip_ws(d);
    if (d->p >= d->end) return 0;
    if (*d->p == ',') {
      d->p++;
      continue;
    }
    if (*d->p != '}') return 0;
    d->p++;
    return 1;
  }
}

static int dec_array(jdec *d, int depth) {
  lua_State *L = d->L;
  lua_Integer i = 1;
  d->p++;
  lua_newtable(L);
  skip_ws(d);
  if (d->p < d->end && *d->p == ']') {
    d->p++;
    return 1;
  }
  for (;; i++) {
    if (!dec_value(d, depth + 1)) return 0;
    lua_rawseti(L, -2, i);
    skip_ws(d);
    if (d->p >= d->end) return 0;
    if (*d->p == ',') {
      d->p++;
      continue;
    }
    if (*d->p != ']') return 0;
    d->p++;
    return 1;
  }
}

static int word(jdec *d, const char *w, size_t n) {
  if ((size_t)(d->end - d->p) < n || memcmp(d->p, w, n) != 0) return 0;
  d->p += n;
  return 1;
}

/* Pushes the value at d->p (after white space); 0 when it leaves the text to cjson. */
static int dec_value(jdec *d, int depth) {
  const char *text;
  size_t len;
  int escaped;
  skip_ws(d);
  if (d->p >= d->end || depth > JSON_DEPTH) return 0;
  luaL_checkstack(d->L, 6, "json: nesting");
  switch (*d->p) {
    case '{': return dec_object(d, depth);
    case '[': return dec_array(d, depth);
    case '"': return dec_string(d, &escaped);
    case 't':
      if (!word(d, "true", 4)) return 0;
      lua_pushboolean(d->L, 1);
      return 1;
    case 'f':
      if (!word(d, "false", 5)) return 0;
      lua_pushboolean(d->L, 0);
      return 1;
    case 'n':
      if (!word(d, "null", 4)) return 0;
      lua_pushvalue(d->L, lua_upvalueindex(1));
      return 1;
    default:
      return dec_number(d, &text, &len);
  }
}

static int l_json_decode(lua_State *L) {
  size_t n;
  const char *s;
  jdec d;
  /* not a string, or names not a table: the caller's path decides what that means */
  if (lua_type(L, 1) != LUA_TSTRING || !lua_istable(L, 2)) return 0;
  s = lua_tolstring(L, 1, &n);
  lua_settop(L, 2);
  lua_pushnil(L); /* 3: the document */
  lua_pushnil(L); /* 4: found */
  d.L = L, d.p = s, d.end = s + n, d.names = 2, d.found = 0;
  if (!dec_value(&d, 0)) return 0;
  skip_ws(&d);
  if (d.p != d.end) return 0; /* trailing text: cjson's error */
  lua_replace(L, 3);
  lua_settop(L, 4);
  return 2;
}

static int l_json_sealed(lua_State *L) {
  size_t n;
  const char *s, *p, *e, *start;
  if (lua_type(L, 1) != LUA_TSTRING) return 0;
  s = lua_tolstring(L, 1, &n);
  p = s, e = s + n;
#define WS() while (p < e && is_space((unsigned char)*p)) p++
  WS();
  if (p >= e || *p++ != '{') return 0;
  WS();
  if ((size_t)(e - p) < 9 || memcmp(p, "\"request\"", 9) != 0) return 0;
  p += 9;
  WS();
  if (p >= e || *p++ != ':') return 0;
  WS();
  if (p >= e || *p++ != '"') return 0;
  start = p;
  while (p < e && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                   *p == '+' || *p == '/' || *p == '='))
    p++;
  if (p >= e || *p != '"') return 0;
  lua_pushlstring(L, start, (size_t)(p - start));
  p++;
  WS();
  if (p >= e || *p++ != '}') return 0;
  WS();
#undef WS
  if (p != e) return 0;
  return 1;
}

/* core.json_decoder(null) -> dec */
static int l_json_decoder(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  lua_pushcclosure(L, l_json_decode, 1);
  return 1;
}

static const luaL_Reg funcs[] = {
  {"json_plain", l_json_plain},
  {"json_numbers", l_json_numbers},
  {"json_encoder", l_json_encoder},
  {"json_decoder", l_json_decoder},
  {"json_sealed", l_json_sealed},
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
