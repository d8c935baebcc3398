#!/usr/bin/env bash
# Throughput and peak memory of `radtox batch` on a generated archive, with 1 and 2
# worker threads, plus a rerun with nothing to do (resume). Usage:
#   benches/batch/run.sh            # N=200 plans
#   N=400 benches/batch/run.sh
# Prints one line per run; copy them into benches/batch/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-200}
WORK=${WORK:-/tmp/radtox-batch-bench}
TARGET=${CARGO_TARGET_DIR:-target}

# Two commands: a target selection (--example) would leave the radtox binary unbuilt.
cargo build --release -q -p radtox --bin radtox
cargo build --release -q -p radtox-batch --example make_archive
if [ -z "${KEEP_ARCHIVE:-}" ] || [ ! -d "$WORK/archive" ]; then
  rm -rf "$WORK"
  mkdir -p "$WORK"
  "$TARGET/release/examples/make_archive" "$WORK/archive" "$N"
fi
rm -rf "$WORK"/out-*
echo "archive: $(du -sh "$WORK/archive" | cut -f1), $(find "$WORK/archive" -type f | wc -l) files"

run() { # label jobs out [extra args]
  local label=$1 jobs=$2 out=$3
  shift 3
  /usr/bin/time -f "%e %M %U %S" -o "$WORK/time" \
    "$TARGET/release/radtox" batch "$WORK/archive" --out "$out" -j "$jobs" --log-interval 60 "$@" 2>"$WORK/log-$label"
  read -r wall rss user sys <"$WORK/time"
  awk -v l="$label" -v j="$jobs" -v n="$N" -v w="$wall" -v r="$rss" -v u="$user" -v s="$sys" 'BEGIN {
    printf "%-14s jobs=%d plans=%d wall=%.1fs plans/s=%.2f cpu=%.1fs peak_rss=%.0fMB\n", l, j, n, w, n / w, u + s, r / 1024 }'
}

run "dvh-off j1" 1 "$WORK/out-1" --no-dvh
run "dvh-off j2" 2 "$WORK/out-2" --no-dvh
run "resume j2" 2 "$WORK/out-2" --no-dvh
run "dvh-on j2" 2 "$WORK/out-3"
cmp "$WORK/out-1/metrics.csv" "$WORK/out-2/metrics.csv" && echo "metrics.csv identical for 1 and 2 threads"
