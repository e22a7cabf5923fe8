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
#     LD_PRELOADed into the busted runs; child lua processes inherit them (they may load the
#     ASan core too).
#   * nginx must not get them: the specs start it through PATH, and build-asan/bin/nginx is a
#     wrapper that drops LD_PRELOAD before it execs the real nginx (which loads the normal
#     build/luajit core, as in `make test`). No spec is excluded.
#   * ASAN_OPTIONS detect_leaks=0: the uninstrumented interpreters do not free everything at
#     exit (the C core's own leaks are valgrind's job in `make test`); halt_on_error=1.
#   * Every report is also written to build-asan/reports/ (log_path), so that one raised in a
#     child process whose failure a spec tolerates still fails this run.
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

real_nginx=$(command -v nginx) || { echo "test-asan: nginx not installed (make deps)"; exit 1; }
mkdir -p build-asan/bin
cat >build-asan/bin/nginx <<EOF
#!/bin/sh
# written by tools/test_asan.sh: nginx without the sanitizer runtimes of the busted run
unset LD_PRELOAD
exec $real_nginx "\$@"
EOF
chmod +x build-asan/bin/nginx

reports=$top/build-asan/reports
rm -rf "$reports" && mkdir -p "$reports"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "test-asan: preloading $preload"
PATH="$top/build-asan/bin:$PATH" \
  ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:log_path=$reports/asan" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan" \
  ENKASH_CORE_DIR=build-asan ENKASH_PRELOAD="$preload" sh tools/test.sh 2>&1 | tee "$out"

last=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -E '^tests: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
passed=$(echo "$last" | awk '{print $2}')
failed=$(echo "$last" | awk '{print $4}')
if [ -z "$last" ]; then passed=0; failed=1; fi
n=$(ls "$reports" | wc -l)
if [ "$n" -gt 0 ]; then
  echo "== sanitizer reports ($n, in $reports)"
  for f in "$reports"/*; do echo "-- $f"; head -n 40 "$f"; done
  failed=$((failed + n))
else
  echo "== sanitizer reports: none"
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
