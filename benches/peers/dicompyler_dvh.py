#!/usr/bin/env python3
"""Peer DVHs of one DICOM-RT plan export: dicompyler-core and the planning system's own DVHs.

For every ROI of the RT Struct this computes, with dicompyler-core's
``dvhcalc.get_dvh(rtss, rtdose, roi)`` (default settings: no interpolation, full structure
volume), a cumulative DVH, and prints per ROI: ROI number, name, volume (cc), mean, min, max,
D98/D95/D50/D2 (Gy).

It also reads the planning system's (TPS) cumulative DVHs from the RT Dose DVH Sequence
(3004,0050). Their figures are computed here from DVHData (pairs of bin width x DVHDoseScaling,
volume), *not* from DVHMinimumDose/DVHMaximumDose/DVHMeanDose, because some exports (e.g.
dicompyler-example) write those summary tags in percent while DoseUnits says GY. DVHs are matched
to ROIs by ReferencedROINumber, never by position.

Both curves go through one documented function (``curve_stats``) so that the two columns use
identical conventions; dicompyler-core's own statistics (nearest bin, no interpolation) are kept
too under ``native``.

Run with the venv made by install.sh:
    benches/.venv/bin/python benches/peers/dicompyler_dvh.py [PLAN_DIR] [-o OUT.json]
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pydicom

# Only dicompyler-core's warnings, whatever logging configuration the caller has.
import logging

logging.getLogger("dicompylercore").setLevel(logging.WARNING)

from dicompylercore import dvhcalc  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dvhstats import DOSE_LEVELS, curve_stats  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PLAN = REPO_ROOT / ".." / "shared" / "data" / "dicompyler-example"


def find_files(plan_dir):
    """Classify the DICOM files of an export by Modality (headers only, no pixel data)."""
    found = {}
    for path in sorted(Path(plan_dir).iterdir()):
        if not path.is_file():
            continue
        try:
            ds = pydicom.dcmread(str(path), stop_before_pixels=True, force=True)
        except Exception:  # not DICOM (licence files, ...)
            continue
        modality = str(getattr(ds, "Modality", ""))
        if modality in ("RTDOSE", "RTSTRUCT", "RTPLAN") and modality not in found:
            found[modality] = path
    return found


def tps_dvhs(rtdose, prescription_gy):
    """The planning system's DVHs from the RT Dose DVH Sequence, keyed by ReferencedROINumber."""
    out = {}
    for item in rtdose.get("DVHSequence", []):
        refs = item.get("DVHReferencedROISequence", [])
        if not refs or "ReferencedROINumber" not in refs[0]:
            continue
        roi = int(refs[0].ReferencedROINumber)
        dvh_type = str(item.get("DVHType", ""))
        units = str(item.get("DoseUnits", ""))
        vol_units = str(item.get("DVHVolumeUnits", ""))
        entry = {"dvh_type": dvh_type, "dose_units": units, "volume_units": vol_units}
        if dvh_type != "CUMULATIVE" or units != "GY" or vol_units != "CM3":
            entry["error"] = "only CUMULATIVE DVHs in GY and CM3 are handled"
            out[roi] = entry
            continue
        data = np.asarray(item.DVHData, dtype=float)
        scaling = float(item.get("DVHDoseScaling", 1.0))
        widths = data[0::2] * scaling
        volumes = data[1::2]
        edges = np.concatenate([[0.0], np.cumsum(widths)])
        stats = curve_stats(edges, volumes)
        if stats is None:
            entry["error"] = "empty DVH"
        else:
            entry.update(stats)
        entry["n_bins"] = int(volumes.size)
        # Keep the summary tags as written, and what they mean if read as percent of the
        # prescription, to document the unit problem rather than hide it.
        tags = {}
        for tag in ("DVHMinimumDose", "DVHMaximumDose", "DVHMeanDose"):
            if tag in item:
                tags[tag] = float(item.get(tag))
        if tags:
            entry["summary_tags_as_written"] = tags
            if prescription_gy:
                entry["summary_tags_as_percent_of_prescription_gy"] = {
                    k: v * prescription_gy / 100.0 for k, v in tags.items()
                }
        out[roi] = entry
    return out


def prescription(rtplan):
    """First TargetPrescriptionDose of the RT Plan's Dose Reference Sequence (Gy), if any."""
    if rtplan is None:
        return None
    for ref in rtplan.get("DoseReferenceSequence", []):
        if "TargetPrescriptionDose" in ref:
            return float(ref.TargetPrescriptionDose)
    return None


def dicompyler_roi(rtss, rtdose, roi):
    """One ROI through dicompyler-core's get_dvh, with its own and our conventions.

    rtss and rtdose are pydicom Datasets read once for all ROIs (get_dvh also takes file names,
    but would then re-read both files for every ROI: the peer at its fastest is the fair baseline).
    """
    dvh = dvhcalc.get_dvh(rtss, rtdose, roi)
    # dvh is cumulative, absolute volume (cm3), bins of 0.01 Gy starting at 0.
    counts = np.asarray(dvh.counts, dtype=float)
    bins = np.asarray(dvh.bins, dtype=float)
    if counts.size == 0 or counts.max() <= 0.0:
        return {"error": "empty DVH (no dose grid voxel inside the contours)"}
    stats = curve_stats(bins, counts)
    native = {
        "volume_cc": float(dvh.volume),
        "mean_gy": float(dvh.mean),
        "min_gy": float(dvh.min),
        "max_gy": float(dvh.max),
    }
    for pct in DOSE_LEVELS:
        native[f"D{pct}%_gy"] = float(dvh.statistic(f"D{pct}").value)
    stats["native"] = native
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("plan_dir", nargs="?", default=str(DEFAULT_PLAN))
    ap.add_argument("-o", "--output", help="write JSON here (default: stdout)")
    ap.add_argument("--no-tps", action="store_true", help="skip the planning system's DVHs")
    ap.add_argument("--rois", help="comma-separated ROI numbers (default: all)")
    args = ap.parse_args()

    files = find_files(args.plan_dir)
    for needed in ("RTDOSE", "RTSTRUCT"):
        if needed not in files:
            sys.exit(f"dicompyler_dvh: no {needed} file in {args.plan_dir}")
    rtss = pydicom.dcmread(str(files["RTSTRUCT"]), force=True)
    rtdose = pydicom.dcmread(str(files["RTDOSE"]), stop_before_pixels=True, force=True)
    rtplan = (
        pydicom.dcmread(str(files["RTPLAN"]), stop_before_pixels=True, force=True)
        if "RTPLAN" in files
        else None
    )
    rx = prescription(rtplan)

    contour_types = {}
    for rc in rtss.get("ROIContourSequence", []):
        types = sorted({str(c.get("ContourGeometricType", "")) for c in rc.get("ContourSequence", [])})
        contour_types[int(rc.ReferencedROINumber)] = types

    wanted = None
    if args.rois:
        wanted = {int(x) for x in args.rois.split(",") if x.strip()}

    tps = {} if args.no_tps else tps_dvhs(rtdose, rx)

    structures = []
    t0 = time.perf_counter()
    rtdose_full = pydicom.dcmread(str(files["RTDOSE"]), force=True)
    for roi in rtss.StructureSetROISequence:
        number = int(roi.ROINumber)
        if wanted is not None and number not in wanted:
            continue
        entry = {
            "roi_number": number,
            "name": str(roi.get("ROIName", "")),
            "contour_types": contour_types.get(number, []),
        }
        types = entry["contour_types"]
        if not types:
            entry["dicompyler"] = {"error": "no contours"}
        elif "CLOSED_PLANAR" not in types:
            entry["dicompyler"] = {"error": f"no closed planar contours ({', '.join(types)})"}
        else:
            try:
                entry["dicompyler"] = dicompyler_roi(rtss, rtdose_full, number)
            except Exception as exc:  # record the peer's failure, keep going
                entry["dicompyler"] = {"error": f"{type(exc).__name__}: {exc}"}
        if not args.no_tps:
            entry["tps"] = tps.get(number)
        structures.append(entry)
    elapsed = time.perf_counter() - t0

    import importlib.metadata as md

    out = {
        "plan_dir": os.path.relpath(os.path.abspath(args.plan_dir), REPO_ROOT),
        "files": {k: v.name for k, v in files.items()},
        "prescription_gy": rx,
        "dose_grid": {
            "columns": int(rtdose.Columns),
            "rows": int(rtdose.Rows),
            "frames": int(getattr(rtdose, "NumberOfFrames", 1)),
            "pixel_spacing_mm": [float(v) for v in rtdose.PixelSpacing],
            "dose_units": str(rtdose.get("DoseUnits", "")),
        },
        "versions": {p: md.version(p) for p in ("dicompyler-core", "pydicom", "numpy", "matplotlib")},
        "dicompyler_settings": "dvhcalc.get_dvh(rtss, rtdose, roi) with defaults: no interpolation, "
        "calculate_full_volume=True, 0.01 Gy bins",
        "dicompyler_seconds_all_rois": elapsed,
        "structures": structures,
    }
    text = json.dumps(out, indent=2, allow_nan=False, default=_nan_guard)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)


def _nan_guard(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    main()
