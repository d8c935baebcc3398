#!/usr/bin/env python3
"""Write tests/reference/<plan>.json: independent reference DVH figures for one plan export.

Runs both peers on the plan and merges their figures per ROI (matched by ROI number):
  - "tps":         the planning system's own cumulative DVH from the RT Dose DVH Sequence
                   (figures from DVHData; null where the export has no DVH for the ROI);
  - "dicompyler":  dicompyler-core dvhcalc.get_dvh with defaults (+ its own rounding in "native");
  - "plastimatch": plastimatch convert (rasterise on the dose grid) + plastimatch dvh, 0.01 Gy bins.
Every curve's figures come from dvhstats.curve_stats, so the three columns share conventions.

    benches/.venv/bin/python benches/peers/make_reference.py [PLAN_DIR] [--name NAME]
"""

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def rounded(value):
    """Round floats for a readable file: 6 decimals is far below any tool's bin (0.01 Gy)."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def plastimatch_version():
    out = subprocess.run(["plastimatch", "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plan_dir", nargs="?", default=str(REPO / ".." / "shared" / "data" / "dicompyler-example"))
    ap.add_argument("--name", help="output name (default: the plan folder's name)")
    args = ap.parse_args()
    plan = Path(args.plan_dir).resolve()
    name = args.name or plan.name
    out_path = REPO / "tests" / "reference" / f"{name}.json"

    with tempfile.TemporaryDirectory() as tmp:
        dp_json = Path(tmp) / "dicompyler.json"
        subprocess.run(
            [sys.executable, str(HERE / "dicompyler_dvh.py"), str(plan), "-o", str(dp_json)], check=True
        )
        dp = json.loads(dp_json.read_text())
        pm_dir = Path(tmp) / "plastimatch"
        pm = subprocess.run(
            ["bash", str(HERE / "plastimatch_dvh.sh"), str(plan), str(pm_dir)],
            capture_output=True, text=True, check=False,
        )
        if pm.returncode == 0:
            pm_structs = {s["roi_number"]: s for s in json.loads((pm_dir / "summary.json").read_text())["structures"]}
            pm_error = None
        else:
            pm_structs = {}
            pm_error = (pm.stderr or "").strip()[-500:]

    structures = []
    for s in dp["structures"]:
        entry = {
            "roi_number": s["roi_number"],
            "name": s["name"],
            "contour_types": s["contour_types"],
            "tps": s.get("tps"),
            "dicompyler": s["dicompyler"],
        }
        p = pm_structs.get(s["roi_number"])
        if p is not None:
            p = {k: v for k, v in p.items() if k not in ("roi_number", "name")}
        elif pm_error:
            p = {"error": f"plastimatch failed: {pm_error}"}
        else:
            p = {"error": "not in plastimatch's structure list"}
        entry["plastimatch"] = p
        structures.append(entry)

    doc = {
        "_header": {
            "what": "Independent reference DVH figures (not radtox output) for the plan export "
            f"{dp['plan_dir']}. Produced by peers, kept fixed for radtox's end-to-end tests.",
            "command": f"benches/peers/install.sh && benches/.venv/bin/python benches/peers/make_reference.py "
            f"{dp['plan_dir']}",
            "date": datetime.date.today().isoformat(),
            "versions": dict(dp["versions"], plastimatch=plastimatch_version()),
            "conventions": {
                "units": "volumes in cc (cm3), doses in Gy",
                "figures": "every curve goes through benches/peers/dvhstats.py curve_stats: volume = "
                "cumulative volume at the first edge; mean from the differential histogram at bin "
                "centres; min/max = lower/upper edge of the first/last non-empty bin (exact to one bin, "
                "0.01 Gy); Dx% = dose where the cumulative volume falls to x% of volume, linear between edges",
                "tps": "from DVHData (bin widths x DVHDoseScaling, cumulative volumes) read as volume "
                "receiving >= the bin's lower edge, first edge 0 Gy (dicompyler-core's reading). The "
                "summary tags DVHMinimum/Maximum/MeanDose are kept as written; in dicompyler-example they "
                "are percent of the prescription although DoseUnits is GY",
                "dicompyler": "dvhcalc.get_dvh(rtss, rtdose, roi) defaults: dose-grid voxel centres inside "
                "each plane's polygons, no interpolation, calculate_full_volume=True (volume includes "
                "contour parts outside the dose grid), plane thickness from contour spacing. 'native' "
                "holds dicompyler's own statistics (nearest bin, no interpolation)",
                "plastimatch": "plastimatch convert --input RTSS --fixed RTDOSE (binary label image on the "
                "dose grid) + plastimatch dvh --normalization vox --bin-width 0.01; its bins are centred "
                "on multiples of 0.01 Gy (it rounds), converted to edges; volume = voxels x voxel volume",
            },
            "tolerance_advice": "bins are 0.01 Gy: no figure is better than +-0.01 Gy. Differences between "
            "peers come from contour rasterisation (voxel centres vs partial volumes, end caps), which "
            "matters most for structures of a few cc or less; compare those with a relative tolerance "
            "or note them rather than fail.",
        },
        "plan_dir": dp["plan_dir"],
        "files": dp["files"],
        "prescription_gy": dp["prescription_gy"],
        "dose_grid": dp["dose_grid"],
        "structures": structures,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(rounded(doc), indent=2) + "\n")
    print(f"make_reference: wrote {out_path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
