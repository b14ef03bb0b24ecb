#!/usr/bin/env bash
# Fuzz SwiftReg's file readers with libFuzzer and AddressSanitizer (the Fuzz/ package).
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]     each target for SECONDS (default 60); all targets by default
#   FUZZ_RUNS=1000000 scripts/fuzz.sh       each target for that many executions instead
#   FUZZ_TIMEOUT=5 scripts/fuzz.sh 20       an input slower than this many seconds is a finding (default 1)
#
# Every target starts from seed corpora that the library's own writers make (swiftreg-fuzz seeds)
# plus what earlier runs found (Fuzz/.build/fuzz/corpus/TARGET). A finding is a crash, an input
# taking over 1 s (FUZZ_TIMEOUT), or an allocation or RSS over 1 GiB; its input is kept in
# Fuzz/.build/fuzz/findings/TARGET/ and the script exits 1. Where the toolchain cannot build with
# -sanitize=fuzzer (no libFuzzer runtime), it says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds=${1:-60}
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS] [TARGET…] (SECONDS first, a whole number)"; exit 2; }
shift || true
work=.build/fuzz
# A trap is a finding as it is: the Swift runtime's backtracer would read memory ASan watches.
export SWIFT_BACKTRACE=enable=no
# Leaks are not findings here (the bars are crashes, hangs and allocations); short allocation
# stacks keep ASan's bookkeeping from dominating the run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:malloc_context_size=4}
mkdir -p "$work"
flags=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)

probe="$work/probe"
mkdir -p "$probe"
printf '@_cdecl("LLVMFuzzerTestOneInput") public func f(_ d: UnsafePointer<UInt8>, _ n: Int) -> Int32 { 0 }\n' > "$probe/probe.swift"
if ! swiftc -sanitize=fuzzer,address -use-ld=lld -parse-as-library "$probe/probe.swift" -o "$probe/probe" >"$probe/log" 2>&1; then
    if grep -qiE "fuzzer|sanitizer|libclang_rt" "$probe/log"; then
        echo "fuzzing skipped: this Swift toolchain has no libFuzzer/ASan runtime ($(grep -m1 -iE "fuzzer|sanitizer|libclang_rt" "$probe/log"))"
        exit 0
    fi
    echo "the fuzzing probe failed for another reason:"; cat "$probe/log"; exit 1
fi

echo "building the fuzz targets (all modules instrumented)…"
if ! swift build "${flags[@]}" >"$work/build.log" 2>&1; then
    grep -E "error" "$work/build.log" | head -20; echo "fuzz build failed (log: Fuzz/$work/build.log)"; exit 1
fi
bin=$(swift build "${flags[@]}" --show-bin-path)/swiftreg-fuzz

seeds="$work/seeds-$$"   # this run's own, so that runs side by side do not share one
trap 'rm -rf "$seeds"' EXIT
"$bin" seeds "$seeds"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <("$bin" list)
if [ -n "${FUZZ_RUNS:-}" ]; then limit=(-runs="$FUZZ_RUNS"); else limit=(-max_total_time="$seconds"); fi
# FUZZ_SEED fixes libFuzzer's random seed (CI: the same exploration every run); unset, each run differs.
[ -z "${FUZZ_SEED:-}" ] || limit+=(-seed="$FUZZ_SEED")

failed=0
printf '%-20s %12s %8s %10s  %s\n' target executions seconds "exec/s" result
for t in "${targets[@]}"; do
    mkdir -p "$work/corpus/$t" "$work/findings/$t"
    log="$work/$t-$$.log"
    start=$(date +%s%N)
    status=0
    "$bin" "$t" "${limit[@]}" -timeout="${FUZZ_TIMEOUT:-1}" -rss_limit_mb=1024 -malloc_limit_mb=1024 -max_len=8192 \
        -artifact_prefix="$work/findings/$t/" -print_final_stats=1 "$work/corpus/$t" "$seeds/$t" >"$log" 2>&1 || status=$?
    elapsed=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    if [ "$status" -eq 0 ]; then result=ok; else result="FINDING (exit $status): $(grep -m1 -E 'ERROR|SUMMARY|Test unit written' "$log" || tail -1 "$log")"; failed=1; fi
    rate=$(awk -v n="${runs:-0}" -v s="$elapsed" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    printf '%-20s %12s %8s %10s  %s\n' "$t" "${runs:-0}" "$elapsed" "$rate" "$result"
done
exit $failed
