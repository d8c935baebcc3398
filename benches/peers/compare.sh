#!/usr/bin/env bash
# Time radtox against its peers on one plan export, and compare their DVH figures.
#
#   benches/peers/compare.sh [PLAN_DIR]
#   env: RUNS=5 (radtox, plastimatch)  DP_RUNS=3 (dicompyler-core, ~7 s a run)
#        RADTOX=/path/to/radtox (default: $CARGO_TARGET_DIR, /work/target-bench, ./target release)
#        RADTOX_ARGS="..." extra arguments for `radtox analyze`
#        SKIP_PEERS=1 reuse the peers' last timings (benches/out/compare/PLAN/times.tsv)
#
# Each tool is timed as a whole process (start-up, reading, rasterising, histograms, writing),
# which is what a user waits for: wall time from bash's EPOCHREALTIME (microseconds; GNU time's %e
# has only 10 ms resolution) and peak RSS from `/usr/bin/time -f %M` (KiB; for plastimatch the
# max over its two processes, convert and dvh). CPU time (user + sys, 10 ms resolution) is kept too:
# it moves less than wall time when other jobs share the machine.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
plan="$(cd "${1:-$repo/../shared/data/dicompyler-example}" && pwd)"
name="$(basename "$plan")"
out="$repo/benches/out/compare/$name"
runs="${RUNS:-5}"
dp_runs="${DP_RUNS:-3}"
py="$repo/benches/.venv/bin/python"

# shellcheck source=lib.sh
. "$here/lib.sh"
find_plan_files "$plan"
[ -x "$py" ] || { echo "compare: no venv at benches/.venv: run benches/peers/install.sh" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "compare: /usr/bin/time missing: run benches/peers/install.sh" >&2; exit 2; }
mkdir -p "$out"

radtox="${RADTOX:-}"
if [ -z "$radtox" ]; then
    for cand in "${CARGO_TARGET_DIR:-/nonexistent}/release/radtox" /work/target-bench/release/radtox \
        "$repo/target/release/radtox"; do
        [ -x "$cand" ] && { radtox="$cand"; break; }
    done
fi

# measure LABEL N CMD...: appends "LABEL<TAB>wall_s<TAB>peak_kib<TAB>cpu_s" per run to $times.
measure() {
    local label="$1" n="$2" i t0 t1 rss usr sys
    shift 2
    for ((i = 1; i <= n; i++)); do
        t0=$EPOCHREALTIME
        if ! /usr/bin/time -f "%M %U %S" -o "$out/time.$label" "$@" >"$out/stdout.$label" 2>"$out/stderr.$label"; then
            echo "compare: $label failed (run $i), see $out/stderr.$label" >&2
            return 1
        fi
        t1=$EPOCHREALTIME
        read -r rss usr sys < <(tail -n 1 "$out/time.$label")
        printf '%s\t%s\t%s\t%s\n' "$label" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')" "$rss" \
            "$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')" >>"$times"
        printf '  %-12s run %d/%d: %s s, %s KiB\n' "$label" "$i" "$n" \
            "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" "$rss" >&2
    done
}

times="$out/times.tsv"
if [ "${SKIP_PEERS:-0}" = 1 ] && [ -f "$times" ]; then
    grep -v '^radtox' "$times" >"$times.tmp" || true
    mv "$times.tmp" "$times"
else
    : >"$times"
    echo "compare: plastimatch (convert + dvh) x $runs" >&2
    measure plastimatch "$runs" bash -c '
        plastimatch convert --input "$1" --fixed "$2" --output-ss-img "$3/ss.nrrd" --output-ss-list "$3/ss.txt" &&
        plastimatch dvh --input-ss-img "$3/ss.nrrd" --input-ss-list "$3/ss.txt" --input-dose "$2" \
            --normalization vox --bin-width 0.01 --num-bins 10000 --output-csv "$3/dvh.csv"' \
        _ "$RTSS" "$RTDOSE" "$out"
    echo "compare: dicompyler-core (all ROIs) x $dp_runs" >&2
    measure dicompyler "$dp_runs" "$py" "$here/dicompyler_dvh.py" "$plan" --no-tps -o "$out/dicompyler.json"
fi

radtox_json=""
if [ -n "$radtox" ]; then
    echo "compare: radtox ($radtox) x $runs" >&2
    plan_arg=()
    [ -n "$RTPLAN" ] && plan_arg=(--rtplan "$RTPLAN")
    # shellcheck disable=SC2086
    measure radtox "$runs" "$radtox" analyze --rtdose "$RTDOSE" --rtstruct "$RTSS" "${plan_arg[@]}" \
        --format json -o "$out/radtox.json" ${RADTOX_ARGS:-}
    radtox_json="$out/radtox.json"
else
    echo "compare: no radtox binary (build it: CARGO_TARGET_DIR=/work/target-bench cargo build --release -p radtox," >&2
    echo "         or set RADTOX=); timing the peers only" >&2
fi

"$py" "$here/compare_report.py" --times "$times" --rtdose "$RTDOSE" \
    --reference "$repo/tests/reference/$name.json" ${radtox_json:+--radtox "$radtox_json"} \
    | tee "$out/report.txt"
