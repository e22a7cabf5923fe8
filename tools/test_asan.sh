#!/bin/sh
# make test-asan: the busted suite (Lua 5.4 and LuaJIT) over the C core built with
# -fsanitize=address,undefined in build-asan/ (the Makefile builds it; build/ is untouched).
# Runs tools/test.sh with ENKASH_CORE_DIR=build-asan, so the counting and the closing
# "tests: N passed, N failed" line are the same as `make test`'s (valgrind is left out: it
# does not run ASan code). Exits non-zero on any failure or any sanitizer report.
#
# How the pieces fit:
#   * lua5.4 and luajit are not instrumented, so the sanitizer runtimes the core links
#     (libasan, libubsan: read from the .so with ldd, so gcc or clang builds both work) are
#     LD_PRELOADed into the busted runs (tools/test.sh, ENKASH_PRELOAD).
#   * Only Lua interpreters get them. Other children (sh, curl, openssl, nginx) must not:
#     curl, for one, hangs in setlocale at start-up with gcc's libasan preloaded, and nginx
#     runs the normal build/luajit core anyway. So the preload list ends with
#     build-asan/unpreload.so, whose constructor removes LD_PRELOAD from the environment of
#     the process it was loaded into (the runtimes are in by then): children inherit nothing.
#     The child Lua processes of the specs (`lua5.4 bin/enkash`, the rockspec probe) drop
#     LUA_CPATH or set it themselves, so they load the normal build/lua5.4 core and need no
#     runtime (one that loaded build-asan's would fail loudly: "ASan runtime does not come
#     first"). No spec is excluded.
#   * ASAN_OPTIONS detect_leaks=0: the uninstrumented interpreters do not free everything at
#     exit (the C core's own leaks are valgrind's job in `make test`); halt_on_error=1.
#   * Reports go to the busted run's stderr (only that process has the runtimes; log_path is
#     not honoured when the runtimes are preloaded), which lands in this script's output: any
#     report found there fails the run, even one that busted somehow survived.
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)

for so in build-asan/lua5.4/enkash/core.so build-asan/luajit/enkash/core.so build/luajit/enkash/core.so; do
  [ -f "$so" ] || { echo "test-asan: $so missing: run make test-asan"; exit 1; }
done

runtimes() { # the sanitizer runtimes a shared object links, libasan first
  ldd "$1" | awk '$1 ~ /asan/ && $3 ~ /^\// {print $3}'
  ldd "$1" | awk '$1 ~ /ubsan/ && $3 ~ /^\// {print $3}'
}
preload=$(runtimes build-asan/lua5.4/enkash/core.so | paste -sd: -)
[ "$preload" = "$(runtimes build-asan/luajit/enkash/core.so | paste -sd: -)" ] \
  || { echo "test-asan: the two builds link different sanitizer runtimes"; exit 1; }
[ -n "$preload" ] || { echo "test-asan: no sanitizer runtime linked by build-asan (static runtime?)"; exit 1; }

cc=${CC:-cc}
printf '%s\n' '#include <stdlib.h>' \
  '__attribute__((constructor)) static void enkash_unpreload(void) { unsetenv("LD_PRELOAD"); }' \
  >build-asan/unpreload.c
"$cc" -shared -fPIC -O1 -o build-asan/unpreload.so build-asan/unpreload.c \
  || { echo "test-asan: cannot build build-asan/unpreload.so"; exit 1; }
preload="$preload:$top/build-asan/unpreload.so"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "test-asan: preloading $preload"
ASAN_OPTIONS="detect_leaks=0:halt_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  ENKASH_CORE_DIR=build-asan ENKASH_PRELOAD="$preload" sh tools/test.sh 2>&1 | tee "$out"

last=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -E '^tests: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
passed=$(echo "$last" | awk '{print $2}')
failed=$(echo "$last" | awk '{print $4}')
if [ -z "$last" ]; then passed=0; failed=1; fi
pattern='ERROR: AddressSanitizer|runtime error:|SUMMARY: [A-Za-z]*Sanitizer'
n=$(grep -c -E "$pattern" "$out")
if [ "$n" -gt 0 ]; then
  echo "== sanitizer reports: $n lines"
  grep -E -A 12 "$pattern" "$out" | head -n 80
  failed=$((failed + 1))
else
  echo "== sanitizer reports: none"
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
