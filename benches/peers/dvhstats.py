"""One set of conventions for the figures of a cumulative DVH, shared by every peer script.

Each tool (TPS, dicompyler-core, plastimatch) bins differently and reports min/max/Dx% with its own
rounding; running every curve through ``curve_stats`` makes the columns comparable, so what
remains are differences of geometry (rasterisation, partial volumes, end caps), not of bookkeeping.
"""

import numpy as np

DOSE_LEVELS = (98, 95, 50, 2)  # Dx% reported for every ROI


def curve_stats(edges, cumulative):
    """Figures of a cumulative DVH given at bin lower edges.

    ``edges[i]`` is the lower dose edge (Gy) of bin i, ``edges[-1]`` the upper edge of the last
    bin (so ``len(edges) == len(cumulative) + 1``); ``cumulative[i]`` the volume (cc) receiving
    at least ``edges[i]``.  Conventions (documented because every tool differs):
      - volume = cumulative[0] (volume receiving >= the first edge, normally 0 Gy);
      - differential volume of bin i = cumulative[i] - cumulative[i+1] (0 past the end), clamped
        at 0 (TPS exports carry -1e-13 noise);
      - mean = sum(differential x bin centre) / volume;
      - min = lower edge of the first non-empty bin, max = upper edge of the last non-empty bin
        (so both are exact to one bin width, and max is never under-estimated);
      - Dx% = dose at which the cumulative volume falls to x% of volume, linear between edges.
    """
    edges = np.asarray(edges, dtype=float)
    cum = np.clip(np.asarray(cumulative, dtype=float), 0.0, None)
    if cum.size == 0 or cum[0] <= 0.0:
        return None
    volume = float(cum[0])
    diff = np.clip(cum - np.append(cum[1:], 0.0), 0.0, None)
    centres = 0.5 * (edges[:-1] + edges[1:])
    nonempty = np.nonzero(diff > 0.0)[0]
    out = {
        "volume_cc": volume,
        "mean_gy": float((diff * centres).sum() / diff.sum()),
        "min_gy": float(edges[nonempty[0]]),
        "max_gy": float(edges[nonempty[-1] + 1]),
    }
    # Points (edges[i], cum[i]) plus the end point (edges[-1], 0) define a non-increasing curve.
    xs = edges
    ys = np.append(cum, 0.0)
    for pct in DOSE_LEVELS:
        target = volume * pct / 100.0
        out[f"D{pct}%_gy"] = float(dose_at_volume(xs, ys, target))
    out["bin_width_gy"] = float(np.median(np.diff(edges)))
    return out


def dose_at_volume(xs, ys, target):
    """Largest dose d with V(d) >= target on the piecewise-linear non-increasing curve (xs, ys)."""
    # Last index where the curve is still >= target; interpolate towards the next point.
    above = np.nonzero(ys >= target)[0]
    if above.size == 0:
        return 0.0
    i = int(above[-1])
    if i + 1 >= ys.size:
        return float(xs[i])
    y0, y1 = ys[i], ys[i + 1]
    if y0 == y1:
        return float(xs[i])
    return float(xs[i] + (y0 - target) / (y0 - y1) * (xs[i + 1] - xs[i]))


def _self_test():
    """Analytic checks: 10 cc with dose uniformly spread over [0, 10) Gy in 0.01 Gy bins."""
    edges = np.arange(0, 1001) * 0.01
    cumulative = 10.0 * (1.0 - edges[:-1] / 10.0)  # V(d) = 10 cc x (1 - d/10)
    s = curve_stats(edges, cumulative)
    assert abs(s["volume_cc"] - 10.0) < 1e-12
    assert abs(s["mean_gy"] - 5.0) < 1e-9, s["mean_gy"]
    assert abs(s["D95%_gy"] - 0.5) < 1e-9, s["D95%_gy"]
    assert abs(s["D2%_gy"] - 9.8) < 1e-9, s["D2%_gy"]
    assert s["min_gy"] == 0.0 and abs(s["max_gy"] - 10.0) < 1e-12
    # A point dose: 2 cc all at [3.00, 3.01) Gy.
    edges = np.arange(0, 501) * 0.01
    cumulative = np.where(edges[:-1] <= 3.0 + 1e-9, 2.0, 0.0)
    s = curve_stats(edges, cumulative)
    assert abs(s["mean_gy"] - 3.005) < 1e-9 and abs(s["min_gy"] - 3.0) < 1e-9
    assert abs(s["max_gy"] - 3.01) < 1e-9
    assert curve_stats(edges, np.zeros(500)) is None
    print("dvhstats: self-test passed")


if __name__ == "__main__":
    _self_test()
