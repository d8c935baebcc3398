#!/usr/bin/env python3
"""Print compare.sh's results: timings, speed ratios, radtox's memory budget, accuracy table.

Speed ratios use the median whole-process wall time over the runs; peak memory is the largest
peak RSS seen over the runs. The accuracy table puts radtox's figures (from its JSON) beside the
fixed reference figures of tests/reference/<plan>.json (TPS DVH Sequence, dicompyler-core,
plastimatch), matched by ROI number.
"""

import argparse
import json
import os
import statistics
from pathlib import Path

import pydicom

TARGETS = {"plastimatch": 30.0, "dicompyler": 80.0}  # required speed-up of radtox over each peer
MIB = 1024 * 1024


def load_times(path):
    runs = {}
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        cpu = float(fields[3]) if len(fields) > 3 else float("nan")
        runs.setdefault(fields[0], []).append((float(fields[1]), int(fields[2]), cpu))
    return runs


def grid_bytes(rtdose_path):
    """In-memory size of the dose grid as f32: columns x rows x frames x 4 bytes."""
    ds = pydicom.dcmread(rtdose_path, stop_before_pixels=True, force=True)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    return int(ds.Columns), int(ds.Rows), frames, int(ds.Columns) * int(ds.Rows) * frames * 4


def fmt(v, nd=3):
    return "-" if v is None else f"{v:.{nd}f}"


def figures(entry):
    """(volume, mean, max, D95) of a reference column, or Nones."""
    if not entry or "error" in entry:
        return (None, None, None, None)
    return (entry.get("volume_cc"), entry.get("mean_gy"), entry.get("max_gy"), entry.get("D95%_gy"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--times", required=True)
    ap.add_argument("--rtdose", required=True)
    ap.add_argument("--reference")
    ap.add_argument("--radtox")
    args = ap.parse_args()

    runs = load_times(args.times)
    # Whole-process timings on a shared 2-core machine move with its load: print it with them.
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
        print(f"machine: {os.cpu_count()} cores, load average {' '.join(load)} (1/5/15 min)")
    except OSError:
        pass
    print("== whole-process timings (wall: median / best of runs; peak RSS: max over runs)")
    print(f"{'tool':<12} {'runs':>4} {'wall median s':>14} {'wall best s':>12} {'peak RSS MiB':>13} {'CPU median s':>13}")
    summary = {}
    for label in ("radtox", "plastimatch", "dicompyler"):
        if label not in runs:
            continue
        walls = [r[0] for r in runs[label]]
        peak = max(r[1] for r in runs[label]) * 1024
        cpu = statistics.median(r[2] for r in runs[label])
        summary[label] = (statistics.median(walls), min(walls), peak, cpu)
        print(f"{label:<12} {len(walls):>4} {statistics.median(walls):>14.3f} {min(walls):>12.3f} "
              f"{peak / MIB:>13.1f} {cpu:>13.2f}")

    cols, rows, frames, gbytes = grid_bytes(args.rtdose)
    print()
    if "radtox" in summary:
        rt_wall = summary["radtox"][0]
        print("== speed-up of radtox (median wall of peer / median wall of radtox)")
        for peer, target in TARGETS.items():
            if peer in summary:
                ratio = summary[peer][0] / rt_wall
                verdict = "PASS" if ratio >= target else "FAIL"
                print(f"{peer}/radtox = {ratio:.1f}x  (target >= {target:.0f}x: {verdict})")
        budget = 3 * gbytes + 50 * MIB
        peak = summary["radtox"][2]
        verdict = "PASS" if peak <= budget else "FAIL"
        print()
        print("== radtox peak memory")
        print(f"dose grid {cols}x{rows}x{frames}x4 B = {gbytes / MIB:.2f} MiB; radtox peak RSS "
              f"{peak / MIB:.1f} MiB = {peak / gbytes:.1f}x grid; budget 3x grid + 50 MiB = "
              f"{budget / MIB:.1f} MiB: {verdict}")
    else:
        print(f"(no radtox timing; dose grid {cols}x{rows}x{frames}x4 B = {gbytes / MIB:.2f} MiB, "
              f"radtox budget 3x grid + 50 MiB = {(3 * gbytes + 50 * MIB) / MIB:.1f} MiB)")

    if not args.reference or not Path(args.reference).exists():
        return
    ref = json.loads(Path(args.reference).read_text())
    rt = {}
    if args.radtox and Path(args.radtox).exists():
        for s in json.loads(Path(args.radtox).read_text()).get("structures", []):
            m = s.get("metrics") or {}
            rt[s.get("roi_number")] = (s.get("volume_cc"), m.get("Mean[Gy]"), m.get("Max[Gy]"), m.get("D95%[Gy]"))
    print()
    print("== accuracy per ROI (rt = radtox, dp = dicompyler-core, pm = plastimatch, tps = planning system)")
    print("   d% = (radtox - TPS) / TPS; peers differ mostly by rasterisation, see benches/README.md")
    head = (f"{'ROI':>3} {'name':<16} | {'vol rt':>9} {'vol dp':>9} {'vol pm':>9} {'vol tps':>9} {'d%':>6} | "
            f"{'mean rt':>7} {'mean dp':>7} {'mean pm':>7} {'mean tps':>8} {'d%':>6} | "
            f"{'max rt':>6} {'max tps':>7} | {'D95 rt':>6} {'D95 tps':>7}")
    print(head)
    print("-" * len(head))

    def pct(a, b):
        return f"{100.0 * (a - b) / b:6.1f}" if a is not None and b not in (None, 0) else f"{'-':>6}"

    for s in ref["structures"]:
        n = s["roi_number"]
        rv, rm, rx, r95 = rt.get(n, (None, None, None, None))
        dv, dm, _, _ = figures(s.get("dicompyler"))
        pv, pmn, _, _ = figures(s.get("plastimatch"))
        tv, tm, tx, t95 = figures(s.get("tps"))
        print(f"{n:>3} {s['name'][:16]:<16} | {fmt(rv, 2):>9} {fmt(dv, 2):>9} {fmt(pv, 2):>9} {fmt(tv, 2):>9} "
              f"{pct(rv, tv)} | {fmt(rm):>7} {fmt(dm):>7} {fmt(pmn):>7} {fmt(tm):>8} {pct(rm, tm)} | "
              f"{fmt(rx, 2):>6} {fmt(tx, 2):>7} | {fmt(r95, 2):>6} {fmt(t95, 2):>7}")


if __name__ == "__main__":
    main()
