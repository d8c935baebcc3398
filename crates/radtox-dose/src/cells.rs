//! The DVH of *cell* samples: each sample stands for a small cell of the structure in
//! which the dose is not one value but spreads over `[d − r, d + r]`.
//!
//! ## Why
//!
//! A point sample classifies its whole cell by the dose at its centre. Where an isodose
//! surface runs parallel to the sampling lattice (a linear dose gradient along an axis,
//! the worst case and the one analytic tests use) a whole layer of cells crosses a
//! threshold at once, so `V(d)` is a staircase whose steps are a layer of cells: ±1 % of
//! a sphere's volume needs ~200 000 samples. Inside a cell the trilinear dose is almost
//! linear, `d + g·(x − c)`, and over a box of edges `(sx, sy, sz)` a linear dose is
//! distributed as the sum of three uniform variables of half-widths `|gᵢ|·sᵢ/2`. Giving
//! each sample that spread instead of a point turns the staircase into the exact ramp
//! (exactly for a gradient along a lattice axis), so a tenth of the samples give the same
//! accuracy.
//!
//! The spread is represented by one uniform distribution with the same mean and
//! variance, half-width `r = √(a² + b² + c²)` for half-widths `a, b, c`: exact when the
//! gradient is along one axis (the staircase case) and a second-order approximation
//! otherwise, where lattice and isodoses are not aligned and the point staircase
//! averages out anyway.
//!
//! ## How
//!
//! The cumulative volume below dose `e`, `C(e) = Σ wᵢ·clamp((e − loᵢ)/(hiᵢ − loᵢ), 0, 1)`,
//! is piecewise linear in `e`. It is evaluated exactly at `EDGES` equally spaced doses
//! spanning the structure's `[min lo, max hi]`: each sample adds four terms to a second
//! difference array (O(1) per sample, no sort) and two prefix sums give `C` at every
//! edge. Between edges the curve is linear; the only approximation is that kinks (sample
//! end points) inside one edge interval are smoothed over it, i.e. metrics are exact to
//! within one edge interval of dose, `range / 32 768` (2 mGy for a 65 Gy range).
//! Edges where the curve has no kink are dropped.

/// Edge intervals over a structure's dose range.
const INTERVALS: usize = 1 << 15;

/// Samples per parallel task when a structure is large (each task sums into its own
/// 256 KiB array, so tasks must be much larger than that to pay off).
const PARALLEL_CHUNK: usize = 1 << 17;

use rayon::prelude::*;

/// The knots of a cell DVH: doses descending and the volume receiving at least each.
pub(crate) struct CellCurve {
    pub dose: Vec<f32>,
    pub at_cc: Vec<f64>,
    pub total_cc: f64,
    pub mean: f64,
    pub samples: usize,
    pub rejected: usize,
    /// Lowest and highest dose at a sample point (the cells' centres).
    pub point_min: f64,
    pub point_max: f64,
}

/// What the histogram needs before the first deposit: the dose range of the usable
/// samples, whether there are any, and the largest weight.
#[derive(Clone, Copy)]
struct Extent {
    lo: f64,
    hi: f64,
    any: bool,
    /// Largest weight: a whole cell's volume when the structure has a whole cell.
    wmax: f32,
}

impl Extent {
    const EMPTY: Extent = Extent {
        lo: f64::INFINITY,
        hi: f64::NEG_INFINITY,
        any: false,
        wmax: 0.0,
    };

    fn merge(self, o: Extent) -> Extent {
        Extent {
            lo: self.lo.min(o.lo),
            hi: self.hi.max(o.hi),
            any: self.any || o.any,
            wmax: self.wmax.max(o.wmax),
        }
    }
}

/// The samples `(dose, spread, weight)` of `range`; the spread is 0 where `spread` is
/// shorter than `dose` (point samples) or not a finite positive number.
fn cells<'s>(
    dose: &'s [f32],
    spread: &'s [f32],
    weight: &'s [f32],
    range: std::ops::Range<usize>,
) -> impl Iterator<Item = (f32, f32, f32)> + 's {
    let d = dose.get(range.clone()).unwrap_or(&[]);
    let w = weight.get(range.clone()).unwrap_or(&[]);
    let r = spread.get(range).unwrap_or(&[]);
    d.iter().zip(w).enumerate().map(move |(i, (&d, &w))| {
        let r = r.get(i).copied().unwrap_or(0.0);
        (d, if r.is_finite() && r > 0.0 { r } else { 0.0 }, w)
    })
}

/// A sample is used when its dose is finite and its weight finite and positive.
#[inline]
fn usable(d: f32, w: f32) -> bool {
    d.is_finite() && w.is_finite() && w > 0.0
}

/// Splits `0..n` into the ranges of parallel tasks (one range when `n` is small).
fn ranges(n: usize) -> Vec<std::ops::Range<usize>> {
    if n < 2 * PARALLEL_CHUNK {
        return std::iter::once(0..n).collect();
    }
    (0..n)
        .step_by(PARALLEL_CHUNK)
        .map(|a| a..(a + PARALLEL_CHUNK).min(n))
        .collect()
}

/// Builds the curve of `(dose ± spread, weight)` cell samples. Samples with a non-finite
/// dose or a weight that is not finite and positive are left out and counted; a spread
/// that is not finite or negative counts as 0 (a point sample).
pub(crate) fn cell_curve(dose: &[f32], spread: &[f32], weight: &[f32]) -> CellCurve {
    let n = dose.len().min(weight.len());
    let unmatched = dose.len().max(weight.len()) - n;
    let tasks = ranges(n);
    // First pass: the range of the spreads (the histogram's edges) and the largest
    // weight. Second: the deposits, in parallel chunks for large structures, each into
    // its own histogram, which also counts, sums and rejects.
    let extent = |range: std::ops::Range<usize>| {
        let mut e = Extent::EMPTY;
        for (d, r, w) in cells(dose, spread, weight, range) {
            if usable(d, w) {
                e.lo = e.lo.min(f64::from(d - r));
                e.hi = e.hi.max(f64::from(d + r));
                e.any = true;
                e.wmax = e.wmax.max(w);
            }
        }
        e
    };
    let Extent { lo, hi, any, wmax } = tasks
        .par_iter()
        .map(|r| extent(r.clone()))
        .reduce(|| Extent::EMPTY, Extent::merge);
    let (lo, hi) = if any { (lo, hi) } else { (0.0, 0.0) };
    let fill = |range: std::ops::Range<usize>| {
        let mut h = CellHistogram::new(lo, hi);
        // Cells of at least half a whole cell's volume have their centre inside (for
        // Min and Max; see `add_cell`).
        for (d, r, w) in cells(dose, spread, weight, range) {
            h.add_cell(d, r, w, w >= 0.5 * wmax);
        }
        h
    };
    // Joined in order after the parallel part: the same sums whatever the scheduling.
    let mut h = tasks
        .into_par_iter()
        .map(fill)
        .collect::<Vec<_>>()
        .into_iter()
        .reduce(CellHistogram::merged)
        .unwrap_or_else(|| CellHistogram::new(lo, hi));
    h.rejected += unmatched;
    h.curve()
}

/// Accumulates cell samples into the second-difference array of their cumulative
/// curve over a dose range fixed in advance (`[lo, hi]`, split into 32 768 intervals);
/// spreads reaching beyond the range are clamped to it. Lets a caller build a DVH while
/// sampling, without holding the samples: one histogram per parallel task, then
/// [`CellHistogram::merge`]. [`crate::Dvh::from_cell_histogram`] turns it into a DVH.
#[derive(Debug, Clone)]
pub struct CellHistogram {
    lo: f64,
    lo32: f32,
    inv32: f32,
    step: f64,
    /// d2[k]: second difference of C at edge k (k = 0..=INTERVALS, plus two guards).
    d2: Vec<f64>,
    total: f64,
    dose_volume: f64,
    samples: usize,
    rejected: usize,
    /// Extreme doses of the cells mostly inside, and of the others.
    point_min: f32,
    point_max: f32,
    edge_min: f32,
    edge_max: f32,
}

impl CellHistogram {
    /// An empty histogram over `[lo, hi]` Gy (swapped if reversed; a degenerate range
    /// holds a uniform dose).
    pub fn new(lo: f64, hi: f64) -> CellHistogram {
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        let (lo, hi) = if lo.is_finite() && hi.is_finite() {
            (lo, hi)
        } else {
            (0.0, 0.0)
        };
        // (lo, hi are finite here.)
        let uniform = hi - lo <= 1e-9 * hi.abs().max(1.0);
        let step = if uniform {
            0.0
        } else {
            (hi - lo) / INTERVALS as f64
        };
        CellHistogram {
            lo,
            lo32: lo as f32,
            inv32: if uniform { 0.0 } else { (1.0 / step) as f32 },
            step,

            d2: if uniform {
                Vec::new()
            } else {
                pool::zeroed(INTERVALS + 3)
            },
            total: 0.0,
            dose_volume: 0.0,
            samples: 0,
            rejected: 0,
            point_min: f32::INFINITY,
            point_max: f32::NEG_INFINITY,
            edge_min: f32::INFINITY,
            edge_max: f32::NEG_INFINITY,
        }
    }

    /// Adds a cell of `w` cc whose dose spreads over `d ± r` (`r` not finite or
    /// negative: 0). A sample with a non-finite dose or a weight that is not finite and
    /// positive is left out (and counted unless its weight is exactly 0).
    #[inline]
    pub fn add(&mut self, d: f32, r: f32, w: f32) {
        self.add_cell(d, r, w, true);
    }

    /// [`CellHistogram::add`] for a cell whose centre may lie outside the structure
    /// (`centre_inside` false: a boundary cell mostly outside it). Such a cell counts in
    /// the curve with its volume but not in Min and Max, which would otherwise take the
    /// dose just outside the structure (steep at a field edge); if no cell is inside,
    /// all count.
    #[inline]
    pub fn add_cell(&mut self, d: f32, r: f32, w: f32, centre_inside: bool) {
        if !usable(d, w) {
            self.rejected += usize::from(!(d.is_finite() && w == 0.0));
            return;
        }
        let w64 = self.count(d, w, centre_inside);
        let r = if r.is_finite() && r > 0.0 { r } else { 0.0 };
        if self.d2.is_empty() {
            return;
        }
        let top = INTERVALS as f32;
        let u = (d - self.lo32) * self.inv32;
        let half = r * self.inv32;
        deposit(
            &mut self.d2,
            (u - half).clamp(0.0, top),
            (u + half).clamp(0.0, top),
            w64,
        );
    }

    /// Counts a usable sample of dose `d` and weight `w` in the extremes, the total and
    /// the mean (not in the curve); returns its weight in f64.
    #[inline(always)]
    fn count(&mut self, d: f32, w: f32, centre_inside: bool) -> f64 {
        if centre_inside {
            self.point_min = self.point_min.min(d);
            self.point_max = self.point_max.max(d);
        } else {
            self.edge_min = self.edge_min.min(d);
            self.edge_max = self.edge_max.max(d);
        }
        let w64 = f64::from(w);
        self.total += w64;
        self.dose_volume += f64::from(d) * w64;
        self.samples += 1;
        w64
    }

    /// Adds a run of cells: cell `k` has dose `dose[k]` ± `spread[k]` and `fraction[k]`
    /// of a cell of `cell_cc` cc inside the structure (its centre inside when the
    /// fraction is at least ½). The same, bit for bit, as [`CellHistogram::add_cell`]
    /// for each cell in order (weight `fraction · cell_cc`), faster: the edge positions
    /// of a block of cells are computed first in a loop without branches, which the
    /// compiler vectorises, then the deposits.
    pub fn add_run(&mut self, dose: &[f32], spread: &[f32], fraction: &[f32], cell_cc: f32) {
        const BLOCK: usize = 64;
        let n = dose.len().min(spread.len()).min(fraction.len());
        let mut edges = EdgeBlock::<BLOCK>::default();
        for start in (0..n).step_by(BLOCK) {
            let end = (start + BLOCK).min(n);
            let (Some(d), Some(r), Some(f)) = (
                dose.get(start..end),
                spread.get(start..end),
                fraction.get(start..end),
            ) else {
                return;
            };
            if self.d2.is_empty() {
                for ((&d, &r), &f) in d.iter().zip(r).zip(f) {
                    self.add_cell(d, r, f * cell_cc, f >= 0.5);
                }
                continue;
            }
            edges.fill(d, r, self.lo32, self.inv32);
            for (k, (&d, &f)) in d.iter().zip(f).enumerate() {
                let w = f * cell_cc;
                if !usable(d, w) {
                    self.add_cell(d, r.get(k).copied().unwrap_or(0.0), w, f >= 0.5);
                    continue;
                }
                let w64 = self.count(d, w, f >= 0.5);
                edges.deposit(k, &mut self.d2, w64);
            }
        }
    }

    /// Adds the samples of another histogram over the same range.
    pub fn merge(&mut self, o: &CellHistogram) {
        for (x, y) in self.d2.iter_mut().zip(&o.d2) {
            *x += y;
        }
        self.total += o.total;
        self.dose_volume += o.dose_volume;
        self.samples += o.samples;
        self.rejected += o.rejected;
        self.point_min = self.point_min.min(o.point_min);
        self.point_max = self.point_max.max(o.point_max);
        self.edge_min = self.edge_min.min(o.edge_min);
        self.edge_max = self.edge_max.max(o.edge_max);
    }

    /// [`CellHistogram::merge`] by value, for reductions.
    pub fn merged(mut self, o: CellHistogram) -> CellHistogram {
        self.merge(&o);
        self
    }

    /// Number of samples added (with positive weight).
    pub fn sample_count(&self) -> usize {
        self.samples
    }

    /// The knots of the curve: an edge is kept where the curve bends; the edges above
    /// the hottest sample and below the coldest are dropped but for one each.
    pub(crate) fn curve(self) -> CellCurve {
        let total = self.total;
        let mut curve = CellCurve {
            dose: Vec::new(),
            at_cc: Vec::new(),
            total_cc: total,
            mean: if total > 0.0 {
                self.dose_volume / total
            } else {
                f64::NAN
            },
            samples: self.samples,
            rejected: self.rejected,
            point_min: f64::from(self.point_min),
            point_max: f64::from(self.point_max),
        };
        if self.point_min > self.point_max {
            // No cell mostly inside (a sliver): all cells count.
            curve.point_min = f64::from(self.edge_min);
            curve.point_max = f64::from(self.edge_max);
        }
        if self.samples == 0 {
            return curve;
        }
        if self.d2.is_empty() {
            // One dose everywhere (a uniform field): a single knot holding the volume.
            curve.dose.push(self.lo as f32);
            curve.at_cc.push(total);
            return curve;
        }
        // C(k) = Σ_{j≤k} Σ_{i≤j} d2[i]; V(≥ e_k) = total − C(k).
        let mut slope = 0.0;
        let mut c = 0.0;
        let mut below = pool::zeroed(INTERVALS + 1);
        for (b, &v) in below.iter_mut().zip(&self.d2) {
            slope += v;
            c += slope;
            *b = c;
        }
        // Hottest first. Above the highest bend the curve is 0 and below the lowest
        // deposit it is `total`: keep one knot of each flat end.
        let bends = |k: usize| self.d2.get(k + 1).is_some_and(|v| *v != 0.0);
        let first = (0..=INTERVALS)
            .rev()
            .find(|&k| bends(k))
            .unwrap_or(INTERVALS);
        let last = (0..=INTERVALS)
            .find(|&k| self.d2.get(k).is_some_and(|v| *v != 0.0))
            .map_or(0, |k| k.saturating_sub(1));
        let mut prev_at = 0.0f64;
        for k in (last..=first).rev() {
            if !(k == last || k == first || bends(k)) {
                continue;
            }
            // Rounding may leave the sums a hair outside [0, total] or non-monotone.
            let at = (total - below.get(k).copied().unwrap_or(0.0)).clamp(prev_at, total);
            prev_at = at;
            curve.dose.push((self.lo + k as f64 * self.step) as f32);
            curve.at_cc.push(at);
        }
        if let Some(last) = curve.at_cc.last_mut() {
            // Everything lies at or above the bottom knot.
            *last = total;
        }
        pool::give_back(below);
        curve
    }
}

impl Drop for CellHistogram {
    fn drop(&mut self) {
        pool::give_back(std::mem::take(&mut self.d2));
    }
}

/// Arrays of finished histograms kept for the next ones. An analysis makes a few dozen
/// 256 KiB arrays (one per structure and parallel task, and one per curve): fresh, each
/// costs 64 page faults (≈ 0.2 ms of system time on a virtual machine) and its release
/// a TLB shoot-down on every core, while zeroing a kept one takes ≈ 15 µs.
mod pool {
    use std::sync::Mutex;

    /// Arrays kept at most (4 MiB of 256 KiB arrays).
    const KEPT: usize = 16;

    static KEPT_ARRAYS: Mutex<Vec<Vec<f64>>> = Mutex::new(Vec::new());

    /// An array of `len` zeros, reusing a kept one when there is one.
    pub(super) fn zeroed(len: usize) -> Vec<f64> {
        let kept = KEPT_ARRAYS.lock().ok().and_then(|mut k| k.pop());
        match kept {
            Some(mut v) => {
                v.clear();
                v.resize(len, 0.0);
                v
            }
            None => vec![0.0; len],
        }
    }

    /// Keep `v` for a later [`zeroed`] (large arrays only, at most [`KEPT`]).
    pub(super) fn give_back(v: Vec<f64>) {
        if v.capacity() < 1 << 12 {
            return;
        }
        if let Ok(mut k) = KEPT_ARRAYS.lock()
            && k.len() < KEPT
        {
            k.push(v);
        }
    }
}

/// Adds the cumulative-below function of one sample spread uniformly over the edge
/// coordinates `[ulo, uhi]` (weight `w`) to the second-difference array `d2`.
///
/// `C(k)` is 0 for `k ≤ ulo`, `w` for `k ≥ uhi` and linear between. With `k0` the first
/// edge above `ulo` and `k1` the first at or above `uhi`, the first difference of `C` is
/// `α` at `k0`, `β` up to `k1 − 1`, the remainder `γ` at `k1`, 0 after.
#[inline]
fn deposit(d2: &mut [f64], ulo: f32, uhi: f32, w: f64) {
    edge_positions(ulo, uhi).add_to(d2, w);
}

/// Where a sample spread over the edge coordinates `[ulo, uhi]` falls: `k0` the first
/// edge above `ulo`, `k1` the first at or above `uhi`, `per_edge` = 1 / (uhi − ulo) and
/// `first_part` = (k0 − ulo) / (uhi − ulo), the share of the sample below edge `k0`.
#[derive(Debug, Clone, Copy, Default)]
struct Edges {
    k0: i32,
    k1: i32,
    per_edge: f32,
    first_part: f32,
}

/// [`Edges`] of `[ulo, uhi]`, both ≥ 0.
#[inline(always)]
fn edge_positions(ulo: f32, uhi: f32) -> Edges {
    // Positions in f32 (edge coordinates below 2^15: better than 1/256 of an edge
    // interval) and signed indices: the conversions are single instructions, which
    // matters at one call per sample. ulo, uhi ≥ 0, so truncation is floor.
    let k0 = ulo as i32 + 1;
    let t = uhi as i32;
    let k1 = if (t as f32) < uhi { t + 1 } else { t };
    // Infinite when no edge lies inside the spread: then not used.
    let per_edge = 1.0 / (uhi - ulo);
    Edges {
        k0,
        k1,
        per_edge,
        first_part: (k0 as f32 - ulo) * per_edge,
    }
}

impl Edges {
    /// The additions of a sample of weight `w` at these positions (see [`deposit`]).
    #[inline(always)]
    fn add_to(self, d2: &mut [f64], w: f64) {
        let Edges {
            k0,
            k1,
            per_edge,
            first_part,
        } = self;
        let mut add = |k: i32, v: f64| {
            if let Some(s) = d2.get_mut(k as usize) {
                *s += v;
            }
        };
        if k1 <= k0 {
            // No edge strictly inside (a point sample, or a spread within one edge
            // interval): a step of w at k0.
            add(k0, w);
            add(k0 + 1, -w);
            return;
        }
        let alpha = w * f64::from(first_part);
        if k1 == k0 + 1 {
            // One edge inside: no slope term (it could be huge for a tiny spread and
            // would cancel badly).
            add(k0, alpha);
            add(k0 + 1, w - 2.0 * alpha);
            add(k0 + 2, alpha - w);
            return;
        }
        // k1 ≥ k0 + 2 means uhi − ulo > 1: beta < w, no cancellation problem.
        let beta = w * f64::from(per_edge);
        let gamma = w - alpha - beta * f64::from(k1 - 1 - k0);
        add(k0, alpha);
        add(k0 + 1, beta - alpha);
        add(k1, gamma - beta);
        add(k1 + 1, -gamma);
    }
}

/// [`Edges`] of a block of up to `B` samples, computed together in one loop without
/// branches (the cells are independent, so the processor overlaps them), then
/// deposited one by one. One array per field: the loop vectorises better than over an
/// array of [`Edges`].
struct EdgeBlock<const B: usize> {
    k0: [i32; B],
    k1: [i32; B],
    per_edge: [f32; B],
    first_part: [f32; B],
}

impl<const B: usize> Default for EdgeBlock<B> {
    fn default() -> Self {
        EdgeBlock {
            k0: [0; B],
            k1: [0; B],
            per_edge: [0.0; B],
            first_part: [0.0; B],
        }
    }
}

impl<const B: usize> EdgeBlock<B> {
    /// The positions of samples `dose ± spread` on edges `lo32 + k / inv32`. Samples
    /// that are not usable get meaningless positions (the caller skips them).
    fn fill(&mut self, dose: &[f32], spread: &[f32], lo32: f32, inv32: f32) {
        let top = INTERVALS as f32;
        let cells = dose.iter().zip(spread).take(B);
        let out = self
            .k0
            .iter_mut()
            .zip(&mut self.k1)
            .zip(&mut self.per_edge)
            .zip(&mut self.first_part);
        for ((&d, &r), (((k0, k1), pe), fp)) in cells.zip(out) {
            let r = if r.is_finite() && r > 0.0 { r } else { 0.0 };
            let u = (d - lo32) * inv32;
            let half = r * inv32;
            let e = edge_positions((u - half).clamp(0.0, top), (u + half).clamp(0.0, top));
            (*k0, *k1, *pe, *fp) = (e.k0, e.k1, e.per_edge, e.first_part);
        }
    }

    /// [`deposit`] of sample `k` with weight `w`, from its positions.
    #[inline]
    fn deposit(&self, k: usize, d2: &mut [f64], w: f64) {
        let (Some(&k0), Some(&k1), Some(&per_edge), Some(&first_part)) = (
            self.k0.get(k),
            self.k1.get(k),
            self.per_edge.get(k),
            self.first_part.get(k),
        ) else {
            return;
        };
        let e = Edges {
            k0,
            k1,
            per_edge,
            first_part,
        };
        e.add_to(d2, w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// V(≥ d) of the curve by linear interpolation between knots.
    fn v_at(c: &CellCurve, d: f64) -> f64 {
        let n = c.dose.len();
        if d > c.dose[0] as f64 {
            return 0.0;
        }
        if d <= c.dose[n - 1] as f64 {
            return c.total_cc;
        }
        let j = c.dose.partition_point(|&x| x as f64 >= d) - 1;
        let (d0, d1) = (c.dose[j] as f64, c.dose[j + 1] as f64);
        c.at_cc[j] + (d0 - d) / (d0 - d1) * (c.at_cc[j + 1] - c.at_cc[j])
    }

    #[test]
    fn one_uniform_cell_is_a_ramp() {
        let c = cell_curve(&[10.0], &[2.0], &[3.0]);
        assert!((c.total_cc - 3.0).abs() < 1e-12);
        assert!((c.dose[0] - 12.0).abs() < 1e-5 && (c.dose.last().unwrap() - 8.0).abs() < 1e-5);
        for (d, v) in [
            (8.0, 3.0),
            (9.0, 2.25),
            (10.0, 1.5),
            (11.5, 0.375),
            (12.0, 0.0),
        ] {
            assert!((v_at(&c, d) - v).abs() < 1e-6, "V({d}) = {}", v_at(&c, d));
        }
    }

    #[test]
    fn layers_in_a_linear_gradient_give_the_exact_linear_curve() {
        // 10 layers of cells 1 mm thick in a 1 Gy/mm gradient: the dose is uniform on
        // [0, 10] Gy; point samples would give a 10-step staircase.
        let dose: Vec<f32> = (0..10).map(|k| k as f32 + 0.5).collect();
        let c = cell_curve(&dose, &[0.5; 10], &[1.0; 10]);
        for k in 0..=100 {
            let d = 0.1 * k as f64;
            assert!(
                (v_at(&c, d) - (10.0 - d)).abs() < 1e-6,
                "V({d}) = {}",
                v_at(&c, d)
            );
        }
    }

    #[test]
    fn points_tiny_spreads_and_bad_samples() {
        let c = cell_curve(
            &[1.0, 2.0, f32::NAN, 3.0, 3.0],
            &[0.0, 1e-9, 0.0, f32::NAN, -1.0],
            &[1.0, 1.0, 1.0, 0.0, 1.0],
        );
        assert_eq!(c.samples, 3);
        assert_eq!(c.rejected, 1);
        assert!((c.total_cc - 3.0).abs() < 1e-12);
        assert!((c.mean - 2.0).abs() < 1e-12);
        // Steps within one edge interval (range 2 Gy / 32768) of each dose.
        let tol = 2.0 / INTERVALS as f64;
        assert!((v_at(&c, 1.0 - tol) - 3.0).abs() < 1e-9);
        assert!((v_at(&c, 1.5) - 2.0).abs() < 1e-9);
        assert!((v_at(&c, 2.5) - 1.0).abs() < 1e-9);
        assert!(v_at(&c, 3.0 + tol) == 0.0);
        // Monotone non-increasing knots and volumes.
        assert!(c.dose.windows(2).all(|w| w[0] > w[1]));
        assert!(c.at_cc.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn cell_dvh_metrics_in_a_linear_gradient() {
        // 100 layers of 0.1 cc, 0.1 Gy thick, centres 20.05 … 29.95 Gy: the dose is
        // uniform on [20, 30] Gy over 10 cc.
        let dose: Vec<f32> = (0..100).map(|k| 20.05 + 0.1 * k as f32).collect();
        let dvh = crate::Dvh::from_cells(&dose, &[0.05; 100], &[0.1; 100]);
        assert!((dvh.volume_cc() - 10.0).abs() < 1e-5);
        assert!((dvh.mean() - 25.0).abs() < 1e-5);
        let tol = 10.0 / INTERVALS as f64 + 1e-5;
        for (pct, want) in [(95.0, 20.5), (50.0, 25.0), (5.0, 29.5)] {
            let got = dvh.dose_at_volume_percent(pct);
            assert!((got - want).abs() < tol, "D{pct}% = {got}");
        }
        // V at 24.97 Gy (inside a layer): 5.03 cc, not a whole layer's 5.0 or 5.1.
        assert!((dvh.volume_at_dose_cc(24.97) - 5.03).abs() < 1e-3);
        // Max/Min are the extreme cell centres; D near the ends stays within them.
        assert!((dvh.max() - 29.95).abs() < 1e-5 && (dvh.min() - 20.05).abs() < 1e-5);
        assert!(dvh.dose_at_volume_cc(0.001) <= dvh.max());
        assert!(dvh.dose_at_volume_cc(9.999) >= dvh.min());
    }

    #[test]
    fn a_run_of_cells_adds_exactly_what_single_cells_add() {
        // 300 cells (several blocks): doses over 0–20 Gy with point, sub-interval,
        // one-edge and wide spreads, partial fractions, and samples `add_cell` rejects
        // or repairs (NaN dose, NaN and negative spreads, zero fraction).
        let n = 300;
        let dose: Vec<f32> = (0..n)
            .map(|k| {
                if k == 17 {
                    f32::NAN
                } else {
                    (k as f32 * 0.37) % 20.0
                }
            })
            .collect();
        let spread: Vec<f32> = (0..n)
            .map(|k| match k % 5 {
                0 => 0.0,
                1 => 1e-5,
                2 => 6e-4,
                3 => 0.3 * (k % 7) as f32,
                _ if k == 44 => f32::NAN,
                _ => -1.0,
            })
            .collect();
        let fraction: Vec<f32> = (0..n)
            .map(|k| {
                if k == 99 {
                    0.0
                } else {
                    0.2 + 0.8 * ((k * 13) % 10) as f32 / 10.0
                }
            })
            .collect();
        let cc = 0.027;
        let mut one = CellHistogram::new(-0.5, 20.5);
        for k in 0..n {
            one.add_cell(dose[k], spread[k], fraction[k] * cc, fraction[k] >= 0.5);
        }
        let mut run = CellHistogram::new(-0.5, 20.5);
        run.add_run(&dose[..100], &spread[..100], &fraction[..100], cc);
        run.add_run(&dose[100..], &spread[100..], &fraction[100..], cc);
        assert_eq!((run.samples, run.rejected), (one.samples, one.rejected));
        assert_eq!(run.samples, 298);
        assert_eq!(run.d2, one.d2);
        assert_eq!((run.total, run.dose_volume), (one.total, one.dose_volume));
        assert_eq!(
            (run.point_min, run.point_max),
            (one.point_min, one.point_max)
        );
        assert_eq!((run.edge_min, run.edge_max), (one.edge_min, one.edge_max));
    }

    #[test]
    fn a_uniform_field_is_one_knot() {
        let c = cell_curve(&[5.0; 4], &[0.0; 4], &[0.5; 4]);
        assert_eq!(c.dose, vec![5.0]);
        assert_eq!(c.at_cc, vec![2.0]);
    }
}
