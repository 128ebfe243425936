#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# README command 2 (and CI): installs what is missing, builds into build/, and
# runs the whole suite three ways -- plain, ASan+UBSan, TSan (the concurrent
# code) -- then the fuzz targets for a bounded time each. Any failure fails
# the run. Ends with one line "N passed, N failed, N skipped"; each skip is
# printed with its reason, and under CI=true as root a skip counts as failed.
#   FUZZ_SECONDS  seconds per fuzz target (default 60; 0 skips fuzzing)
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh || exit 1

passed=0
failed=0
skipped=0
failures=()
jobs=$(nproc)

# runs ctest in $1 with a label and adds its counts; every skip is printed
# with its reason, and under CI (CI=true) as root a skip is a failure: on CI's
# fresh machine a skip means a missing install step or a missing kernel feature.
run_ctest() {
  local dir=$1 what=$2 junit
  junit=$(mktemp --suffix=.xml)
  echo "=== $what: ctest in $dir"
  (cd "$dir" && ctest --output-on-failure --timeout 900 -j1 --output-junit "$junit") 2>&1
  local summary counts
  if ! summary=$(python3 scripts/ctest_summary.py "$junit" "$what"); then
    echo "$summary"
    failed=$((failed + 1)); failures+=("$what: no test summary")
    rm -f "$junit"
    return
  fi
  rm -f "$junit"
  echo "$summary" | grep -v '^COUNTS ' || true
  counts=$(echo "$summary" | sed -n 's/^COUNTS //p')
  local np nf ns
  read -r np nf ns <<<"$counts"
  passed=$((passed + np))
  failed=$((failed + nf))
  [ "$nf" -gt 0 ] && failures+=("$what: $nf failed")
  if [ "$ns" -gt 0 ] && [ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ]; then
    failed=$((failed + ns))
    failures+=("$what: $ns skipped under CI as root (a skip there is a failure)")
  else
    skipped=$((skipped + ns))
  fi
}

build() {
  local dir=$1 what=$2; shift 2
  echo "=== $what: building $dir"
  if ! { cmake -S . -B "$dir" "$@" >/dev/null && cmake --build "$dir" -j"$jobs" >/dev/null; }; then
    # show the errors, then count the build as a failure
    cmake --build "$dir" -j1 2>&1 | grep -E 'error|Error' -A3 | head -60
    failed=$((failed + 1)); failures+=("$what: build failed")
    return 1
  fi
}

# 1. plain (this is build/mizan, the binary the README runs)
if build build plain -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
  run_ctest build plain
fi

# 2. ASan + UBSan, everything but the benchmarks
if build build-asan asan+ubsan -DCMAKE_BUILD_TYPE=Debug -DMIZAN_SANITIZE=address,undefined \
     -DMIZAN_BENCH=OFF; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_ctest build-asan asan+ubsan
fi

# 3. TSan: the queues, the stage runner and the other concurrent code
if build build-tsan tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIZAN_SANITIZE=thread \
     -DMIZAN_CONCURRENCY_ONLY=ON; then
  TSAN_OPTIONS=halt_on_error=1 run_ctest build-tsan tsan
fi

# 4. fuzz targets (libFuzzer needs clang), bounded in time
fuzz_seconds=${FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" -gt 0 ] && ls fuzz/*.c >/dev/null 2>&1; then
  if CC=clang build build-fuzz fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIZAN_FUZZ=ON \
       -DMIZAN_TESTS=OFF -DMIZAN_BENCH=OFF; then
    for t in build-fuzz/fuzz/*; do
      [ -x "$t" ] && [ -f "$t" ] || continue
      name=$(basename "$t")
      corpus=fuzz/corpus/$name
      work=$(mktemp -d)
      [ -d "$corpus" ] && cp -r "$corpus/." "$work/"
      echo "=== fuzz: $name for ${fuzz_seconds}s"
      if ASAN_OPTIONS=detect_leaks=1 "$t" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
           -artifact_prefix="build-fuzz/$name-" "$work" >"build-fuzz/$name.log" 2>&1; then
        tail -2 "build-fuzz/$name.log"
        passed=$((passed + 1))
      else
        tail -40 "build-fuzz/$name.log"
        failed=$((failed + 1)); failures+=("fuzz $name")
      fi
      rm -rf "$work"
    done
  fi
fi

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
