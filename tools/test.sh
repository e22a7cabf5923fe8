#!/bin/sh
# make test: luacheck, the busted specs under Lua 5.4 and LuaJIT, the C checks under valgrind.
# Prints "tests: N passed, N failed" as its last line; exits non-zero on any failure.
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
# tools/test_asan.sh sets these: the C core's build directory (build-asan: ASan + UBSan) and
# the sanitizer runtimes preloaded into the busted runs only (the interpreter is not
# instrumented, so the runtime must come first).
core_dir=${ENKASH_CORE_DIR:-build}
preload=${ENKASH_PRELOAD:-}
passed=0
failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# One busted run: add its successes and failures+errors to the totals.
run_busted() { # $1 = interpreter, $2 = cpath dir, rest = spec files
  lua=$1; cpath=$2; shift 2
  echo "== busted ($lua)"
  LUA_PATH="$top/lua/?.lua;$top/lua/?/init.lua;$top/spec/?.lua;;" LUA_CPATH="$top/$cpath/?.so;;" \
    ENKASH_TEST_LUA="$lua" ENKASH_AUDIT_DIR="$log" \
    env ${preload:+LD_PRELOAD="$preload"} "$lua" /usr/bin/busted --helper=spec/helpers/audit.lua --output=utfTerminal "$@" 2>&1 | tee "$log/busted"
  summary=$(grep -E '[0-9]+ success' "$log/busted" | tail -n 1 | sed 's/\x1b\[[0-9;]*m//g')
  ok=$(echo "$summary" | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^success/) print $(i-1)}')
  bad=$(echo "$summary" | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^(failure|error)/) n += $(i-1)} END {print n + 0}')
  if [ -z "$ok" ]; then failed=$((failed + 1)); echo "busted ($lua) did not finish"; return; fi
  passed=$((passed + ok)); failed=$((failed + ${bad:-0}))
}

check() { # $1 = name, rest = command; counts as one test
  name=$1; shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

check "luacheck" luacheck --no-color -q lua spec bin/enkash examples
check "LDoc comment on every public function" lua5.4 tools/check_ldoc.lua $(find lua -name '*.lua')
run_busted lua5.4 "$core_dir/lua5.4" spec
# The modules shared with nginx must also work under LuaJIT (the nginx specs already run
# the LuaJIT build inside nginx, so they are not repeated here).
run_busted luajit "$core_dir/luajit" $(ls spec/*_spec.lua | grep -v -e nginx -e rockspec -e cli_)
# The printed lines above hold the scan's own hits, if any; the tokens file is removed on exit.
check "no secret or PII in any error or log line" lua5.4 tools/scan_secrets.lua "$log"
if [ "$core_dir" = build ]; then
  check "valgrind over the C core" sh spec/c/run_valgrind.sh
else
  echo "== valgrind: not run over $core_dir (valgrind and ASan do not mix; make test runs it)"
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
