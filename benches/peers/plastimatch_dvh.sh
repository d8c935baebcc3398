#!/usr/bin/env bash
# plastimatch DVHs of every ROI of one DICOM-RT plan export.
#
#   benches/peers/plastimatch_dvh.sh [PLAN_DIR] [OUT_DIR]
#   RTSS=... RTDOSE=... benches/peers/plastimatch_dvh.sh        # explicit files
#   SUMMARY=0 ...                                               # skip the JSON summary
#
# Two plastimatch steps (both are what compare.sh times):
#   1. plastimatch convert --input RTSS --fixed RTDOSE --output-ss-img ss.nrrd --output-ss-list ss.txt
#      rasterises the contours (plastimatch rasterises on the structure set's own geometry, then
#      resamples the label image onto --fixed, the dose grid; one bit per ROI, no partial volumes);
#   2. plastimatch dvh --input-ss-img ss.nrrd --input-ss-list ss.txt --input-dose RTDOSE
#      --normalization vox --bin-width 0.01 --num-bins N --output-csv dvh.csv
#      cumulative voxel counts per ROI in 0.01 Gy bins (the same width as dicompyler-core's).
# Then (untimed) plastimatch_summary.py turns dvh.csv into JSON figures with dvhstats.curve_stats.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
plan="${1:-$repo/../shared/data/dicompyler-example}"
out="${2:-$repo/benches/out/plastimatch/$(basename "$plan")}"
# 0.01 Gy bins up to NUM_BINS x 0.01 Gy; plastimatch puts any dose past the end in the last bin,
# so this must exceed the plan's maximum dose (summary checks it).
num_bins="${NUM_BINS:-10000}"

# shellcheck source=lib.sh
. "$here/lib.sh"
find_plan_files "$plan" || exit 2
rtss="$RTSS"
rtdose="$RTDOSE"
command -v plastimatch >/dev/null || { echo "plastimatch_dvh: plastimatch not installed (run install.sh)" >&2; exit 2; }

mkdir -p "$out"
plastimatch convert --input "$rtss" --fixed "$rtdose" \
    --output-ss-img "$out/ss.nrrd" --output-ss-list "$out/ss.txt" >"$out/convert.log" 2>&1 \
    || { echo "plastimatch_dvh: convert failed, see $out/convert.log" >&2; exit 1; }
plastimatch dvh --input-ss-img "$out/ss.nrrd" --input-ss-list "$out/ss.txt" --input-dose "$rtdose" \
    --normalization vox --bin-width 0.01 --num-bins "$num_bins" --output-csv "$out/dvh.csv" \
    >"$out/dvh.log" 2>&1 \
    || { echo "plastimatch_dvh: dvh failed, see $out/dvh.log" >&2; exit 1; }

if [ "${SUMMARY:-1}" != 0 ]; then
    py="$repo/benches/.venv/bin/python"
    [ -x "$py" ] || py=python3
    "$py" "$here/plastimatch_summary.py" "$out" --rtss "$rtss" --rtdose "$rtdose" --bin-width 0.01
fi
