#!/usr/bin/env python3
"""Turn the output of plastimatch_dvh.sh (dvh.csv in voxel counts + ss.txt) into JSON figures.

Volumes: plastimatch's label image is binary on the dose grid, so volume = voxels x voxel volume
(taken from the RT Dose: PixelSpacing x the GridFrameOffsetVector step). ROIs are matched by name
(plastimatch's list keeps names in RT Struct order, and the CSV has no ROI numbers); the ROI
number is read back from the RT Struct by name. plastimatch's rows are bin centres (it rounds
doses to the nearest bin), converted here to the lower-edge convention of dvhstats.curve_stats.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dvhstats import curve_stats  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--rtss", required=True)
    ap.add_argument("--rtdose", required=True)
    ap.add_argument("--bin-width", type=float, default=0.01)
    args = ap.parse_args()
    out = Path(args.out_dir)

    dose = pydicom.dcmread(args.rtdose, stop_before_pixels=True, force=True)
    gfov = [float(v) for v in dose.GridFrameOffsetVector]
    dz = abs(gfov[1] - gfov[0]) if len(gfov) > 1 else float(getattr(dose, "SliceThickness", 0) or 0)
    dy, dx = (float(v) for v in dose.PixelSpacing)
    voxel_cc = dx * dy * dz / 1000.0

    rtss = pydicom.dcmread(args.rtss, stop_before_pixels=True, force=True)
    numbers = {}
    for roi in rtss.StructureSetROISequence:
        numbers.setdefault(str(roi.ROIName), int(roi.ROINumber))

    with open(out / "dvh.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, data = rows[0], np.array([[float(v) for v in r] for r in rows[1:] if r], dtype=float)
    doses = data[:, 0]
    # plastimatch rounds to the nearest bin (bin = floor((d + w/2) / w), util/dvh.cxx), so row i
    # (dose i*w) is a bin *centre*: bin i covers [(i - 1/2) w, (i + 1/2) w), and bin 0 [0, w/2).
    half = 0.5 * args.bin_width
    edges = np.append(np.maximum(doses - half, 0.0), doses[-1] + half)

    structures = []
    for col, name in enumerate(header[1:], start=1):
        counts = data[:, col]
        entry = {"roi_number": numbers.get(name), "name": name}
        stats = curve_stats(edges, counts * voxel_cc)
        if stats is None:
            entry["error"] = "empty (no voxel centre inside the contours, or no contours)"
        else:
            entry.update(stats)
            entry["voxels"] = int(counts[0])
            if counts[-1] > 0:
                entry["warning"] = "dose reaches the last bin: raise NUM_BINS"
        structures.append(entry)

    result = {"voxel_cc": voxel_cc, "bin_width_gy": args.bin_width, "structures": structures}
    (out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
