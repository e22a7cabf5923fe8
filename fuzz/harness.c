/*
 * harness.c - one libFuzzer harness for every target, picked at build time with
 * -DFUZZ_TARGET="\"decrypt\"" (or "envelope", "webhook"); see the Makefile's `fuzz` target.
 *
 * It embeds Lua 5.4 with the C core linked in (compiled from csrc/ with the same sanitizer
 * flags, registered in package.preload["enkash.core"]), loads fuzz/targets.lua from the
 * repository (-DENKASH_ROOT), and calls targets[FUZZ_TARGET](input) under lua_pcall for
 * every input. The Lua side returns normally when the module under test returned a value or
 * `nil, err`; it raises when a call raised or an invariant broke, and that is a bug: the
 * harness prints the error and aborts, so libFuzzer saves the input. Out of memory
 * (LUA_ERRMEM) is not a bug of the module and is ignored.
 *
 * Memory errors and undefined behaviour in the C core are caught by ASan/UBSan directly.
 *
 * Coverage: the C core is instrumented by -fsanitize=fuzzer, the Lua code is not. So that
 * libFuzzer also learns from the paths taken through the Lua modules, a line hook hashes
 * each (previous line, line) pair of Lua code into an extra-counters array, which libFuzzer
 * reads as coverage (the __libfuzzer_extra_counters section).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#ifndef FUZZ_TARGET
#error "build with -DFUZZ_TARGET=\"\\\"decrypt\\\"\" (or envelope, webhook)"
#endif
#ifndef ENKASH_ROOT
#error "build with -DENKASH_ROOT=\"\\\"/path/to/repo\\\"\""
#endif

int luaopen_enkash_core(lua_State *L);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;
static int target_ref = LUA_NOREF;

#define LUA_COV_SIZE ((size_t)1 << 16)
__attribute__((section("__libfuzzer_extra_counters"), used)) static uint8_t lua_cov[LUA_COV_SIZE];
static uintptr_t prev_loc;

/* A line event: hash the chunk (its source string, stable while the chunk lives) and line
 * with the previous location, so that branches, not only lines, count. */
static void line_hook(lua_State *l, lua_Debug *ar) {
  uintptr_t loc;
  if (!lua_getinfo(l, "S", ar)) return;
  loc = ((uintptr_t)ar->source >> 3) * 2654435761u ^ (uintptr_t)ar->currentline * 40503u;
  lua_cov[(loc ^ prev_loc) & (LUA_COV_SIZE - 1)]++;
  prev_loc = loc >> 1;
}

static void die(const char *what) {
  fprintf(stderr, "fuzz harness (%s): %s: %s\n", FUZZ_TARGET, what,
          L && lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
  abort();
}

/* Set once: the repository's lua/ first, so the module under test is the working tree's. */
static const char SETUP[] =
    "local root = ...\n"
    "package.path = root .. '/lua/?.lua;' .. root .. '/lua/?/init.lua;' .. package.path\n"
    "local t = dofile(root .. '/fuzz/targets.lua')\n"
    "return assert(t['" FUZZ_TARGET "'], 'no such fuzz target')\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  L = luaL_newstate();
  if (L == NULL) die("luaL_newstate");
  luaL_openlibs(L);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_enkash_core);
  lua_setfield(L, -2, "enkash.core");
  lua_pop(L, 2);
  if (luaL_loadbuffer(L, SETUP, sizeof(SETUP) - 1, "=fuzz_setup") != LUA_OK) die("setup");
  lua_pushstring(L, ENKASH_ROOT);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) die("loading fuzz/targets.lua");
  target_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static int traceback(lua_State *l) {
  const char *msg = lua_tostring(l, 1);
  luaL_traceback(l, l, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int rc, base = lua_gettop(L);
  lua_pushcfunction(L, traceback);
  lua_rawgeti(L, LUA_REGISTRYINDEX, target_ref);
  lua_pushlstring(L, (const char *)data, size);
  prev_loc = 0;
  lua_sethook(L, line_hook, LUA_MASKLINE, 0);
  rc = lua_pcall(L, 1, 0, base + 1);
  lua_sethook(L, NULL, 0, 0);
  if (rc != LUA_OK && rc != LUA_ERRMEM) die("target raised");
  lua_settop(L, base);
  /* Free this input's garbage now: libFuzzer runs LeakSanitizer after any input that did
   * more mallocs than frees, and Lua's deferred frees would make that every input (slow). */
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
