#!/bin/sh
# Runs spec/c/valgrind_check.lua under valgrind with the Lua 5.4 build of the C core.
# Exits 0 only with 0 errors and 0 definite/indirect leaks (libcurl/OpenSSL "still
# reachable" globals are fine). Prints one line: "valgrind: ok" or the failure.
cd "$(dirname "$0")/../.." || exit 1

fail() { echo "valgrind: FAILED ($1)"; exit 1; }

command -v valgrind >/dev/null 2>&1 || fail "valgrind not installed"
[ -f build/lua5.4/enkash/core.so ] || fail "build/lua5.4/enkash/core.so missing: run make core"

log=$(mktemp)
out=$(mktemp)
trap 'rm -f "$log" "$out"' EXIT

valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
  --show-leak-kinds=definite,indirect --error-exitcode=1 --num-callers=30 \
  --log-file="$log" lua5.4 spec/c/valgrind_check.lua >"$out" 2>&1
rc=$?

summary=$(grep -E 'ERROR SUMMARY' "$log" | tail -n 1 | sed 's/^==[0-9]*== //')
if [ "$rc" -ne 0 ] || ! grep -q '^valgrind_check: ok' "$out"; then
  cat "$out" >&2
  grep -E -A 40 'Invalid|uninitialised|definitely lost in|indirectly lost in|Mismatched' "$log" \
    | head -n 120 >&2
  fail "exit $rc; ${summary:-no summary}"
fi
echo "valgrind: ok"
