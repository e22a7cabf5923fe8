/*
 * journal.c - core.journal(path): an append-only file whose every record is on disk
 * (write + fsync) before append() returns.
 *
 * The runbook journal records each step's outcome, and the reference of a money-moving call
 * before that call is sent; a process killed at any instant must find on resume every
 * record it was told was written. Lua's io library cannot fsync, hence this part.
 *
 * Lifecycle as in liolib.c: created closed-safe (fd = -1), close idempotent, __gc closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

typedef struct {
  int fd; /* -1 once closed */
} journal;

static journal *check_open(lua_State *L) {
  journal *j = (journal *)luaL_checkudata(L, 1, ENKASH_JOURNAL_MT);
  if (j->fd < 0) luaL_error(L, "attempt to use a closed enkash journal");
  return j;
}

/* fsync the directory holding `path`, so a newly created file's entry survives a crash. */
static void sync_parent(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir;
  int fd;
  if (slash == NULL) {
    dir = strdup(".");
  } else {
    size_t n = (size_t)(slash - path);
    dir = (char *)malloc(n + 2);
    if (dir != NULL) {
      memcpy(dir, path, n ? n : 1); /* "/file" -> "/" */
      dir[n ? n : 1] = '\0';
    }
  }
  if (dir == NULL) return;
  fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    (void)fsync(fd);
    (void)close(fd);
  }
  free(dir);
}

/* core.journal(path) -> journal | nil, message */
static int l_journal(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  journal *j = (journal *)lua_newuserdata(L, sizeof(*j));
  struct stat st;
  int existed = stat(path, &st) == 0;
  j->fd = -1;
  luaL_setmetatable(L, ENKASH_JOURNAL_MT);
  j->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (j->fd < 0) {
    const char *message = lua_pushfstring(L, "%s: %s", path, strerror(errno));
    return enkash_push_fail(L, message, NULL);
  }
  if (!existed) sync_parent(path);
  return 1;
}

/* j:append(record) -> true | nil, message. The record is written whole, then fsync'd. */
static int l_append(lua_State *L) {
  journal *j = check_open(L);
  size_t len, done = 0;
  const char *s = luaL_checklstring(L, 2, &len);
  while (done < len) {
    ssize_t n = write(j->fd, s + done, len - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return enkash_push_fail(L, strerror(errno), NULL);
    }
    done += (size_t)n;
  }
  if (fsync(j->fd) != 0) return enkash_push_fail(L, strerror(errno), NULL);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_close(lua_State *L) {
  journal *j = (journal *)luaL_checkudata(L, 1, ENKASH_JOURNAL_MT);
  if (j->fd >= 0) {
    (void)close(j->fd);
    j->fd = -1;
  }
  return 0;
}

static int l_tostring(lua_State *L) {
  journal *j = (journal *)luaL_checkudata(L, 1, ENKASH_JOURNAL_MT);
  lua_pushstring(L, j->fd >= 0 ? "enkash.journal(open)" : "enkash.journal(closed)");
  return 1;
}

static const luaL_Reg methods[] = {
  {"append", l_append},
  {"close", l_close},
  {NULL, NULL},
};

static const luaL_Reg meta[] = {
  {"__gc", l_close},
  ENKASH_CLOSE_REG(l_close)
  {"__tostring", l_tostring},
  {NULL, NULL},
};

static const luaL_Reg funcs[] = {
  {"journal", l_journal},
  {NULL, NULL},
};

void enkash_open_journal(lua_State *L) {
  enkash_open_class(L, ENKASH_JOURNAL_MT, meta, methods, funcs);
}
