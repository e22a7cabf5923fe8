/*
 * clock.c - core.monotime() and core.sleep(seconds).
 *
 * The blocking sleep is for plain Lua; inside nginx the Lua transport uses ngx.sleep,
 * which yields instead of stalling the worker.
 */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "core.h"

double enkash_monotime(void) {
  struct timespec ts;
  /* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer; 0 keeps callers sane. */
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0.0;
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int l_monotime(lua_State *L) {
  lua_pushnumber(L, enkash_monotime());
  return 1;
}

/* core.sleep(seconds): negative values sleep 0 (callers compute "deadline - now", which
 * may already be past); NaN and infinity are misuse. */
static int l_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  struct timespec req, rem;
  luaL_argcheck(L, s == s && s != HUGE_VAL, 1, "finite number expected");
  if (s <= 0) return 0;
  if (s > 1e9) s = 1e9; /* ~31 years: "forever", and keeps the time_t conversion defined */
  req.tv_sec = (time_t)s;
  req.tv_nsec = (long)((s - (lua_Number)req.tv_sec) * 1e9);
  if (req.tv_nsec >= 1000000000L) req.tv_nsec = 999999999L;
  /* A signal handler may cut the sleep short; resume with what is left. */
  while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
  return 0;
}

static const luaL_Reg funcs[] = {
  {"monotime", l_monotime},
  {"sleep", l_sleep},
  {NULL, NULL},
};

void enkash_open_clock(lua_State *L) {
  luaL_setfuncs(L, funcs, 0);
}
