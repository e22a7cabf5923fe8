#!/bin/sh
# make fuzz: run each libFuzzer harness build/fuzz/<target> for a bounded time on a working
# copy of its corpus, print one line per target, exit non-zero when any target crashed.
#
# Usage: sh fuzz/run.sh SECONDS TARGET...   (the Makefile builds build/fuzz/<target> first)
#
# The working copy build/fuzz/corpus-run/<target> is made afresh from fuzz/corpus/<target>/
# on every run, so the committed corpus stays small: it holds hand-made seeds and the
# regression inputs of fixed crashes (spec/fuzz_corpus_spec.lua replays them in `make test`).
# A crash, leak, timeout or out-of-memory input is saved as build/fuzz/<target>-<kind>-<sha1>;
# replay it with `build/fuzz/<target> <file>`, fix the bug, then copy the file into
# fuzz/corpus/<target>/.
cd "$(dirname "$0")/.." || exit 1
seconds=${1:?seconds}
shift
status=0
for t in "$@"; do
  bin=build/fuzz/$t
  run=build/fuzz/corpus-run/$t
  log=build/fuzz/$t.log
  [ -x "$bin" ] || { echo "fuzz $t: $bin missing (make fuzz builds it)"; status=1; continue; }
  rm -rf "$run" && mkdir -p "$run" && cp fuzz/corpus/"$t"/* "$run"/ 2>/dev/null
  rm -f build/fuzz/"$t"-crash-* build/fuzz/"$t"-leak-* build/fuzz/"$t"-timeout-* build/fuzz/"$t"-oom-*
  # -timeout: one input taking 10 s is a hang; -max_len: bodies up to 64 KiB (the default
  # would be derived from the seeds). stderr (libFuzzer's progress) goes to the log.
  "$bin" -max_total_time="$seconds" -timeout=10 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix=build/fuzz/"$t"- "$run" >"$log" 2>&1
  rc=$?
  runs=$(grep -E 'stat::number_of_executed_units' "$log" | tail -n 1 | awk '{print $2}')
  crashes=$(ls build/fuzz/"$t"-crash-* build/fuzz/"$t"-leak-* build/fuzz/"$t"-timeout-* \
    build/fuzz/"$t"-oom-* 2>/dev/null | wc -l)
  corpus=$(ls "$run" | wc -l)
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  echo "fuzz $t: ${runs:-?} runs, $crashes crashes, corpus $corpus, ${seconds}s (log $log)"
  if [ "$crashes" -ne 0 ]; then
    status=1
    grep -E -m 3 'ERROR|fuzz harness|runtime error|SUMMARY' "$log" | sed 's/^/  /'
    ls build/fuzz/"$t"-crash-* build/fuzz/"$t"-leak-* build/fuzz/"$t"-timeout-* \
      build/fuzz/"$t"-oom-* 2>/dev/null | sed 's/^/  input: /'
  fi
done
exit $status
