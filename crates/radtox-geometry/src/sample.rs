//! Lattice choice per structure and dose sampling of occupancies.

use crate::error::GeometryError;
use crate::lattice::{Lattice, MAX_LATTICE_CELLS};
use crate::occupancy::{Occupancy, Run, rasterize_zcells};
use crate::slab::{EndCaps, SlabParams, SlabStack, build_slabs};
use radtox_model::{DoseGrid, Structure, StructureSet};
use rayon::prelude::*;
use std::borrow::Cow;

/// How structures are turned into dose samples.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingOptions {
    pub end_caps: EndCaps,
    /// The lattice of a structure is refined in-plane (by an integer factor of the dose
    /// grid's pixel spacing) until it has at least about this many cells.
    pub min_samples: usize,
    /// Largest in-plane refinement factor.
    pub max_refinement: usize,
    /// Thickness of the slab of a structure that has a single contour plane; `None`: the
    /// dose grid's mean z spacing.
    pub single_plane_thickness_mm: Option<f64>,
    /// A contour spacing larger than this factor × the larger neighbouring spacing is a
    /// gap between separate parts of one ROI.
    pub gap_factor: f64,
    /// Lines per lattice row at which in-plane spans are sampled along y.
    pub subrows: usize,
}

impl Default for SamplingOptions {
    fn default() -> Self {
        SamplingOptions {
            end_caps: EndCaps::HalfSlab,
            min_samples: 20_000,
            max_refinement: 64,
            single_plane_thickness_mm: None,
            gap_factor: 1.5,
            subrows: 1,
        }
    }
}

/// Lattice cells (at least) for structures made *on* the lattice (unions,
/// intersections, differences, margins): their volume comes from the cells' fractions,
/// not from contours, so it follows the lattice's resolution (~1 % of a small
/// structure's volume sits in its boundary cells at this size). Plain structures do
/// with far fewer cells because their volume is the contours' and each cell carries
/// its dose spread.
pub const LATTICE_OPERATION_MIN_SAMPLES: usize = 200_000;

impl SamplingOptions {
    /// These options with at least [`LATTICE_OPERATION_MIN_SAMPLES`] cells, for
    /// structures built by lattice operations.
    pub fn for_lattice_operations(&self) -> SamplingOptions {
        SamplingOptions {
            min_samples: self.min_samples.max(LATTICE_OPERATION_MIN_SAMPLES),
            ..self.clone()
        }
    }

    /// The slab model parameters for structures sampled on `grid`.
    pub fn slab_params(&self, grid: &DoseGrid) -> SlabParams {
        let [sx, sy, sz] = grid.mean_spacing();
        let fallback = [sz, sx.max(sy), 1.0]
            .into_iter()
            .find(|v| v.is_finite() && *v > 0.0)
            .unwrap_or(1.0);
        SlabParams {
            end_caps: self.end_caps,
            single_plane_thickness_mm: self
                .single_plane_thickness_mm
                .filter(|v| v.is_finite() && *v > 0.0)
                .unwrap_or(fallback),
            gap_factor: self.gap_factor,
        }
    }
}

/// Weighted dose samples of one structure: `Σ weight_cc` is its volume inside the dose
/// grid.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StructureSamples {
    pub roi_number: Option<i32>,
    pub name: String,
    /// Dose (Gy) at each sample point, trilinear between dose voxel centres.
    pub dose_gy: Vec<f32>,
    /// Half-width (Gy) of the uniform dose distribution that stands for the dose across
    /// each sample's cell: `½·√((gx·sx)² + (gy·sy)² + (gz·sz)²)` with `g` the local
    /// dose gradient and `s` the cell's edges (same mean and variance as a linear dose
    /// over the cell), narrowed so that `dose ± spread` stays within the dose voxels the
    /// sample is interpolated from. `radtox_dose::Dvh::from_cells` uses it so that a threshold
    /// isodose crossing a layer of cells is placed inside the layer, not on its centre.
    pub spread_gy: Vec<f32>,
    /// Volume (cc) each sample stands for.
    pub weight_cc: Vec<f32>,
    /// Volume of the structure (cc): from the contours (slab model) when rasterised from
    /// contours, else of the occupancy.
    pub volume_cc: f64,
    /// Σ `weight_cc`: the part of the structure inside the dose grid's box.
    pub volume_in_grid_cc: f64,
    pub warnings: Vec<String>,
}

/// Position of a lattice coordinate in a dose axis: the two bracketing indices and the
/// weight of the upper one, with exactly [`DoseGrid::interpolate`]'s rules (tolerance
/// 1e-6 mm at the box faces; an axis with one position accepts only that position).
fn locate(v: &[f64], p: f64) -> Option<(usize, usize, f32)> {
    let n = v.len();
    let eps = 1e-6;
    let first = *v.first()?;
    let last = *v.last()?;
    if n == 1 {
        return ((p - first).abs() <= eps).then_some((0, 0, 0.0));
    }
    if p.is_nan() || p < first - eps || p > last + eps {
        return None;
    }
    let i = v.partition_point(|&a| a <= p).saturating_sub(1).min(n - 2);
    let (a, b) = (*v.get(i)?, *v.get(i + 1)?);
    let t = ((p - a) / (b - a)).clamp(0.0, 1.0);
    Some((i, (i + 1).min(n - 1), t as f32))
}

/// Derivative stencil of a lattice coordinate along a dose axis: the dose at `b` minus
/// the dose at `a`, times `inv` (1 / their distance), is the slope across the cell. A
/// cell that contains a dose voxel centre (where the trilinear dose bends) gets the
/// central difference around it; otherwise the slope of the interval holding the cell.
/// An axis with one position has no slope (`inv` = 0).
#[derive(Debug, Clone, Copy, Default)]
struct Slope {
    a: usize,
    b: usize,
    inv: f32,
}

impl Slope {
    /// The stencil `a → b` with `inv` = 1 / the distance between the two positions.
    fn between(v: &[f64], a: usize, b: usize) -> Slope {
        let inv = match (v.get(a), v.get(b)) {
            (Some(x), Some(y)) if y > x => (1.0 / (y - x)) as f32,
            _ => 0.0,
        };
        Slope { a, b, inv }
    }
}

/// The [`Slope`] stencil of position `p`: the central difference when a dose node lies
/// inside the cell `(p − half_cell, p + half_cell)`.
fn slope_at(v: &[f64], p: f64, half_cell: f64) -> Slope {
    let Some((i, i1, _)) = locate(v, p) else {
        return Slope::default();
    };
    if v.len() < 2 {
        return Slope::default();
    }
    let node = |m: usize| v.get(m).is_some_and(|&x| (x - p).abs() < half_cell - 1e-9);
    let central = |m: usize| Slope::between(v, m.saturating_sub(1), (m + 1).min(v.len() - 1));
    if node(i) {
        central(i)
    } else if node(i1) {
        central(i1)
    } else {
        Slope::between(v, i, i1)
    }
}

/// Which lattice x positions are *plain* (centred exactly on dose column `i`, with the
/// central-difference stencil `i − 1 → i + 1` of one common 1/distance, and the
/// previous position on column `i − 1`), as prefix counts, and that 1/distance: a run of
/// plain cells is sampled by [`Columns::cells_on_voxels`]. A lattice coarser or finer than
/// the dose grid, or offset from it, has no plain positions.
fn plain_positions(tx: &[Option<(usize, usize, f32)>], sx: &[Slope]) -> (Vec<usize>, f32) {
    let inv = sx
        .iter()
        .zip(tx)
        .find_map(|(s, t)| t.filter(|t| t.2 == 0.0 && s.a + 1 == t.0).map(|_| s.inv))
        .unwrap_or(0.0);
    let mut upto = Vec::with_capacity(tx.len() + 1);
    upto.push(0);
    let mut prev: Option<usize> = None;
    for (t, s) in tx.iter().zip(sx) {
        let plain = t.is_some_and(|(i0, i1, w)| {
            w == 0.0
                && i1 == i0 + 1
                && s.a + 1 == i0
                && s.b == i0 + 1
                && s.inv == inv
                && prev.is_none_or(|p| p + 1 == i0)
        });
        prev = t.map(|t| t.0);
        upto.push(upto.last().copied().unwrap_or(0) + usize::from(plain));
    }
    (upto, inv)
}

/// The dose grid seen from a lattice: interpolation indices and weights per lattice
/// axis (the lattice is axis-aligned with the grid, so trilinear weights separate by
/// axis: each lattice coordinate is located once, not once per sample), and the slope
/// stencils that give each sample's dose spread.
struct Sampler<'a> {
    dose: Cow<'a, [f32]>,
    nx: usize,
    ny: usize,
    ty: Vec<Option<(usize, usize, f32)>>,
    tz: Vec<Option<(usize, usize, f32)>>,
    sy: Vec<Slope>,
    sz: Vec<Slope>,
    /// Along x the cells inside the grid form one contiguous range [xa, xb); their
    /// indices and weights as plain arrays keep the inner loop branch-free.
    xa: usize,
    xb: usize,
    xi0: Vec<usize>,
    xi1: Vec<usize>,
    xw: Vec<f32>,
    sx: Vec<Slope>,
    /// `plain_upto[i]`: how many of the lattice x positions before `i` are centred on a
    /// dose column with the same central-difference stencil as their neighbours (see
    /// [`Columns::cells_on_voxels`]); `plain_inv` that stencil's 1/distance.
    plain_upto: Vec<usize>,
    plain_inv: f32,
    /// Lattice cell edges (mm), x, y, z.
    cell: [f32; 3],
    cell_cc: f64,
}

/// Tally of one sampling pass.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    dropped: usize,
    dropped_cc: f64,
    all_cc: f64,
}

impl Tally {
    fn add(self, o: Tally) -> Tally {
        Tally {
            dropped: self.dropped + o.dropped,
            dropped_cc: self.dropped_cc + o.dropped_cc,
            all_cc: self.all_cc + o.all_cc,
        }
    }
}

impl<'a> Sampler<'a> {
    /// `Err` (a message) when the grid's array does not match its axes.
    fn new(grid: &'a DoseGrid, lattice: &Lattice) -> Result<Self, String> {
        let (nz, ny, nx) = (grid.z.len(), grid.y.len(), grid.x.len());
        if grid.dose.shape() != [nz, ny, nx] {
            return Err(format!(
                "dose array shape {:?} does not match its axes ({nz}×{ny}×{nx}); not sampled",
                grid.dose.shape()
            ));
        }
        let dose: Cow<[f32]> = match grid.dose.as_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(grid.dose.iter().copied().collect()),
        };
        let locate_all = |v: &[f64], a: usize| -> Vec<_> {
            lattice.axis(a).iter().map(|&p| locate(v, p)).collect()
        };
        let slopes = |v: &[f64], a: usize| -> Vec<Slope> {
            let h = 0.5 * lattice.spacing[a];
            lattice.axis(a).iter().map(|&p| slope_at(v, p, h)).collect()
        };
        let tx = locate_all(&grid.x, 0);
        let xa = tx.iter().position(|t| t.is_some()).unwrap_or(tx.len());
        let xb = tx.iter().rposition(|t| t.is_some()).map_or(xa, |i| i + 1);
        let sx = slopes(&grid.x, 0);
        let (plain_upto, plain_inv) = plain_positions(&tx, &sx);
        Ok(Sampler {
            dose,
            nx,
            ny,
            ty: locate_all(&grid.y, 1),
            tz: locate_all(&grid.z, 2),
            sy: slopes(&grid.y, 1),
            sz: slopes(&grid.z, 2),
            xa,
            xb,
            xi0: tx.iter().map(|t| t.map_or(0, |t| t.0)).collect(),
            xi1: tx.iter().map(|t| t.map_or(0, |t| t.1)).collect(),
            xw: tx.iter().map(|t| t.map_or(0.0, |t| t.2)).collect(),
            sx,
            plain_upto,
            plain_inv,
            cell: lattice.spacing.map(|v| v as f32),
            cell_cc: lattice.cell_volume_cc(),
        })
    }

    /// Sample the cells of `runs` (fractions at each run's offset in `fractions`) into
    /// `sink`, in run order; cells whose centre is outside the grid are counted in the
    /// tally instead.
    fn sample_runs<S: CellSink>(&self, runs: &[Run], fractions: &[f32], sink: &mut S) -> Tally {
        let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
        let (nx, ny, cell_cc) = (self.nx, self.ny, self.cell_cc);
        let cc = cell_cc as f32;
        let [cx, cy, cz] = self.cell;
        let d = &self.dose[..];
        let mut t = Tally::default();
        // Per dose column of the current run: dose, ∂/∂y and ∂/∂z at the run's (y, z).
        let mut val = vec![0f32; nx];
        let mut gyc = vec![0f32; nx];
        let mut gzc = vec![0f32; nx];
        // Per dose column: lowest and highest of the voxels the run's (y, z) values and
        // slopes read.
        let mut cmin = vec![0f32; nx];
        let mut cmax = vec![0f32; nx];
        // The current run's cells inside the grid: dose and spread.
        let mut dose_run: Vec<f32> = Vec::with_capacity(nx);
        let mut spread_run: Vec<f32> = Vec::with_capacity(nx);
        for r in runs {
            let len = r.len as usize;
            let fr = fractions.get(r.offset..r.offset + len).unwrap_or(&[]);
            let run_cc = sum_f32(fr) * cell_cc;
            t.all_cc += run_cc;
            let ix0 = r.ix0 as usize;
            // Cells [k0, k1) of the run lie inside the grid along x.
            let k0 = self.xa.saturating_sub(ix0).min(len);
            let k1 = self.xb.saturating_sub(ix0).clamp(k0, len);
            let (iy, iz) = (r.iy as usize, r.iz as usize);
            let yz = (self.tz.get(iz), self.ty.get(iy));
            let (Some(Some((z0, z1, wz))), Some(Some((y0, y1, wy)))) = yz else {
                t.dropped += len;
                t.dropped_cc += run_cc;
                continue;
            };
            let (sy, sz) = (
                self.sy.get(iy).copied().unwrap_or_default(),
                self.sz.get(iz).copied().unwrap_or_default(),
            );
            for (_, f) in fr
                .iter()
                .enumerate()
                .filter(|(kk, _)| *kk < k0 || *kk >= k1)
            {
                t.dropped += 1;
                t.dropped_cc += *f as f64 * cell_cc;
            }
            if k1 <= k0 {
                continue;
            }
            let span = ix0 + k0..ix0 + k1;
            let xs0 = self.xi0.get(span.clone()).unwrap_or(&[]);
            let xs1 = self.xi1.get(span.clone()).unwrap_or(&[]);
            let xws = self.xw.get(span.clone()).unwrap_or(&[]);
            let xsl = self.sx.get(span).unwrap_or(&[]);
            // Interpolate along y and z once per dose column the run needs (values and
            // the y/z slopes), then along x per sample: trilinear, in a different
            // (equivalent) order from DoseGrid::interpolate, so results agree to
            // rounding.
            let lo = xs0
                .first()
                .copied()
                .unwrap_or(0)
                .min(xsl.first().map_or(usize::MAX, |s| s.a));
            let hi = xs1
                .last()
                .copied()
                .unwrap_or(0)
                .max(xsl.last().map_or(0, |s| s.b));
            let row = |z: usize, y: usize| {
                let b = (z * ny + y) * nx;
                d.get(b + lo..b + hi + 1).unwrap_or(&[])
            };
            let (v00, v01, v10, v11) = (row(*z0, *y0), row(*z0, *y1), row(*z1, *y0), row(*z1, *y1));
            let (ya0, yb0, ya1, yb1) = (
                row(*z0, sy.a),
                row(*z0, sy.b),
                row(*z1, sy.a),
                row(*z1, sy.b),
            );
            let (za0, za1, zb0, zb1) = (
                row(sz.a, *y0),
                row(sz.a, *y1),
                row(sz.b, *y0),
                row(sz.b, *y1),
            );
            let width = (hi + 1).saturating_sub(lo);
            let rows = [v00, v01, v10, v11, ya0, yb0, ya1, yb1, za0, za1, zb0, zb1];
            if rows.iter().any(|r| r.len() != width) {
                // Unreachable for a consistent grid (checked in `new`); never panic.
                t.dropped += len;
                t.dropped_cc += run_cc;
                continue;
            }
            let (Some(val), Some(gyc), Some(gzc), Some(cmin), Some(cmax)) = (
                val.get_mut(lo..lo + width),
                gyc.get_mut(lo..lo + width),
                gzc.get_mut(lo..lo + width),
                cmin.get_mut(lo..lo + width),
                cmax.get_mut(lo..lo + width),
            ) else {
                continue;
            };
            // Equal lengths, plain indexing: the compiler vectorises this loop.
            let (wy, wz) = (*wy, *wz);
            let (ky, kz) = (sy.inv * cy, sz.inv * cz);
            for i in 0..width {
                let c0 = lerp(v00[i], v01[i], wy);
                let c1 = lerp(v10[i], v11[i], wy);
                val[i] = lerp(c0, c1, wz);
                gyc[i] = (lerp(yb0[i], yb1[i], wz) - lerp(ya0[i], ya1[i], wz)) * ky;
                gzc[i] = (lerp(zb0[i], zb1[i], wy) - lerp(za0[i], za1[i], wy)) * kz;
                // Every voxel the value or a slope reads (a cell around a voxel centre
                // reaches into the neighbouring interval).
                let read = [
                    v00[i], v01[i], v10[i], v11[i], ya0[i], yb0[i], ya1[i], yb1[i], za0[i], za1[i],
                    zb0[i], zb1[i],
                ];
                cmin[i] = read.into_iter().fold(f32::INFINITY, lower);
                cmax[i] = read.into_iter().fold(f32::NEG_INFINITY, higher);
            }
            let fin = fr.get(k0..k1).unwrap_or(&[]);
            let cols = Columns {
                val: &*val,
                gy: &*gyc,
                gz: &*gzc,
                min: &*cmin,
                max: &*cmax,
            };
            let (xs, xe) = (ix0 + k0, ix0 + k1);
            let plain = self.plain_upto.get(xe).zip(self.plain_upto.get(xs));
            if plain.is_some_and(|(e, s)| e - s == xe - xs) {
                // Cell k is centred on dose column lo + k + 1; its neighbours lo + k
                // and lo + k + 2 give its x slope (the stencil starts the range).
                cols.cells_on_voxels(self.plain_inv, cx, &mut dose_run, &mut spread_run);
            } else {
                dose_run.clear();
                spread_run.clear();
                let cells = xs0.iter().zip(xs1).zip(xws).zip(xsl).take(fin.len());
                for (((&x0, &x1), &wx), sl) in cells {
                    let (dose, spread) = cols.cell(lo, x0, x1, wx, sl, cx);
                    dose_run.push(dose);
                    spread_run.push(spread);
                }
            }
            sink.push_run(&dose_run, &spread_run, fin, cc);
        }
        t
    }
}

/// Per dose column of a run's row: the dose, its ∂/∂y and ∂/∂z (already scaled by the
/// cell's edges) at the row's (y, z), and the lowest and highest of the voxels these
/// read. Slices start at dose column `lo` (see [`Sampler::sample_runs`]).
struct Columns<'c> {
    val: &'c [f32],
    gy: &'c [f32],
    gz: &'c [f32],
    min: &'c [f32],
    max: &'c [f32],
}

impl Columns<'_> {
    /// Dose and spread of a cell between dose columns `x0` and `x1` (weight `wx` of
    /// `x1`), its x slope from the stencil `sl`, `cx` the cell's x edge.
    #[inline]
    fn cell(&self, lo: usize, x0: usize, x1: usize, wx: f32, sl: &Slope, cx: f32) -> (f32, f32) {
        let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
        let col = |a: &[f32], i: usize| a.get(i.wrapping_sub(lo)).copied().unwrap_or(0.0);
        let dose = lerp(col(self.val, x0), col(self.val, x1), wx);
        let gx = (col(self.val, sl.b) - col(self.val, sl.a)) * sl.inv * cx;
        let gy = lerp(col(self.gy, x0), col(self.gy, x1), wx);
        let gz = lerp(col(self.gz, x0), col(self.gz, x1), wx);
        // The linearised spread must not reach beyond the voxels the dose is
        // interpolated from (it would where the slope changes at a voxel centre, e.g.
        // at a dose plateau): trilinear dose never does.
        let lowest = [x0, x1, sl.a, sl.b]
            .map(|i| col(self.min, i))
            .into_iter()
            .fold(f32::INFINITY, lower);
        let highest = [x0, x1, sl.a, sl.b]
            .map(|i| col(self.max, i))
            .into_iter()
            .fold(f32::NEG_INFINITY, higher);
        (dose, spread(gx, gy, gz, dose, lowest, highest))
    }

    /// [`Columns::cell`] for a run of cells centred on consecutive dose columns
    /// (lattice x = dose x, so `wx` = 0, `x1` = `x0` + 1, and the central difference
    /// `x0 − 1 → x0 + 1` of 1/distance `inv`; `cx` the cell's x edge), column `lo` being
    /// the left neighbour of the first cell. The same arithmetic without the
    /// per-cell indices, so that it vectorises: most cells of large structures (a body,
    /// lungs) are sampled here.
    fn cells_on_voxels(
        &self,
        inv: f32,
        cx: f32,
        dose_run: &mut Vec<f32>,
        spread_run: &mut Vec<f32>,
    ) {
        let m = self.val.len().saturating_sub(2);
        dose_run.resize(m, 0.0);
        spread_run.resize(m, 0.0);
        // Each array as seen from a cell's left neighbour, itself and right neighbour.
        let parts = |a| shifted_by_0_1_2(a, m);
        let ([vl, vc, vr], [_, gy, _], [_, gz, _]) =
            (parts(self.val), parts(self.gy), parts(self.gz));
        let ([nl, nc, nr], [xl, xc, xr]) = (parts(self.min), parts(self.max));
        let all = [vl, vc, vr, gy, gz, nl, nc, nr, xl, xc, xr];
        if all.iter().any(|a| a.len() != m) {
            return;
        }
        for k in 0..m {
            let dose = vc[k];
            let gx = (vr[k] - vl[k]) * inv * cx;
            let lowest = lower(lower(nc[k], nr[k]), nl[k]);
            let highest = higher(higher(xc[k], xr[k]), xl[k]);
            dose_run[k] = dose;
            spread_run[k] = spread(gx, gy[k], gz[k], dose, lowest, highest);
        }
    }
}

/// The three length-`m` windows of `a` starting at 0, 1 and 2 (empty if `a` is short).
fn shifted_by_0_1_2(a: &[f32], m: usize) -> [&[f32]; 3] {
    [0, 1, 2].map(|o| a.get(o..o + m).unwrap_or(&[]))
}

/// Half-width of the uniform distribution with the variance of a linear dose of
/// slopes (× cell edges) `gx, gy, gz` over a cell, kept within `[lowest, highest]`.
#[inline(always)]
fn spread(gx: f32, gy: f32, gz: f32, dose: f32, lowest: f32, highest: f32) -> f32 {
    let s = lower(0.5 * (gx * gx + gy * gy + gz * gz).sqrt(), highest - dose);
    higher(lower(s, dose - lowest), 0.0)
}

/// The lower of `a` and `b`, ignoring `b` when it is NaN. Unlike `f32::min` (which
/// ignores a NaN on either side) a comparison and a select: one vector instruction
/// instead of four in the sampler's loops. Folds start from ±∞, so a NaN voxel never
/// becomes a bound, as with `f32::min`; results are identical for numbers.
#[inline(always)]
fn lower(a: f32, b: f32) -> f32 {
    if b < a { b } else { a }
}

/// The higher of `a` and `b`, ignoring `b` when it is NaN (see [`lower`]).
#[inline(always)]
fn higher(a: f32, b: f32) -> f32 {
    if b > a { b } else { a }
}

/// Receives the cell samples of a structure as they are made, so that a caller that
/// needs only a summary of them (a DVH) never holds them: sampling runs one sink per
/// parallel task and joins them with the caller's merge function.
pub trait CellSink: Send {
    /// One cell: dose (Gy) at its centre, spread (Gy, see
    /// [`StructureSamples::spread_gy`]), the volume it stands for (cc) and the fraction
    /// of the cell inside the structure (a cell mostly outside has its centre, and so
    /// its dose, outside too: sinks keep it out of Min and Max).
    fn push(&mut self, dose_gy: f32, spread_gy: f32, weight_cc: f32, fraction: f32);

    /// A run of cells of one lattice row, in order: cell `k` has dose `dose_gy[k]`,
    /// spread `spread_gy[k]` and `fraction[k]` of a cell of `cell_cc` cc inside the
    /// structure (weight `fraction[k] · cell_cc`). The default pushes them one by one;
    /// a sink may take the run at once (faster: see `radtox_dose::CellHistogram::add_run`).
    fn push_run(&mut self, dose_gy: &[f32], spread_gy: &[f32], fraction: &[f32], cell_cc: f32) {
        for ((&d, &r), &f) in dose_gy.iter().zip(spread_gy).zip(fraction) {
            self.push(d, r, f * cell_cc, f);
        }
    }
}

/// Samples under construction: dose, spread and weight per cell, in step.
#[derive(Default)]
struct CellSamples {
    dose: Vec<f32>,
    spread: Vec<f32>,
    weight: Vec<f32>,
}

impl CellSink for CellSamples {
    #[inline]
    fn push(&mut self, dose_gy: f32, spread_gy: f32, weight_cc: f32, _fraction: f32) {
        self.dose.push(dose_gy);
        self.spread.push(spread_gy);
        self.weight.push(weight_cc);
    }
}

impl CellSamples {
    fn joined(mut self, mut o: CellSamples) -> CellSamples {
        if self.dose.is_empty() {
            return o;
        }
        self.dose.append(&mut o.dose);
        self.spread.append(&mut o.spread);
        self.weight.append(&mut o.weight);
        self
    }
}

/// Store the volume inside the grid, warning about the rest.
fn finish(out: &mut StructureSamples, sampled: usize, t: Tally, label: &str) {
    let kept_cc = if sampled == 0 {
        0.0
    } else {
        (t.all_cc - t.dropped_cc).max(0.0)
    };
    out.volume_in_grid_cc = kept_cc;
    warn_outside(out, label, t.all_cc - kept_cc, t.all_cc);
}

/// Warn that `outside` cc of a structure of `of` cc was not sampled (if it is more than
/// rounding).
fn warn_outside(out: &mut StructureSamples, label: &str, outside: f64, of: f64) {
    if outside > 1e-6 * of.max(1e-9) && outside > 1e-9 {
        out.warnings.push(format!(
            "{label}: {outside:.3} cc ({:.1}%) lies outside the dose grid and was not sampled",
            100.0 * outside / of
        ));
    }
}

/// Warn about the part of a structure (its contour volume) left out by a lattice cut
/// to the dose grid (`finish` cannot see it: the cut cells were never rasterised).
fn note_outside(out: &mut StructureSamples, label: &str) {
    let (outside, of) = (out.volume_cc - out.volume_in_grid_cc, out.volume_cc);
    warn_outside(out, label, outside, of);
}

/// The part of `lattice` whose cell centres lie in the box of dose voxel centres, with
/// the sampler's tolerance of 1e-6 mm (exactly the cells it keeps), or `None`.
pub fn clip_to_grid(lattice: &Lattice, grid: &DoseGrid) -> Option<Lattice> {
    let mut origin = lattice.origin;
    let mut dims = lattice.dims;
    for (a, v) in [&grid.x, &grid.y, &grid.z].into_iter().enumerate() {
        let (g0, g1) = (*v.first()? - 1e-6, *v.last()? + 1e-6);
        let (o, s, n) = (lattice.origin[a], lattice.spacing[a], lattice.dims[2 - a]);
        // Cell k is centred at o + k·s.
        let k0 = ((g0 - o) / s).ceil().max(0.0);
        let k1 = ((g1 - o) / s).floor().min(n as f64 - 1.0);
        if k1 < k0 || k1.is_nan() || k0.is_nan() {
            return None;
        }
        origin[a] = o + k0 * s;
        dims[2 - a] = (k1 - k0) as usize + 1;
    }
    if dims == lattice.dims {
        return Some(lattice.clone());
    }
    Lattice::new(origin, lattice.spacing, dims).ok()
}

/// Counts the samples pushed through it.
struct Counted<S> {
    sink: S,
    n: usize,
}

impl<S: CellSink> CellSink for Counted<S> {
    #[inline]
    fn push(&mut self, dose_gy: f32, spread_gy: f32, weight_cc: f32, fraction: f32) {
        self.n += 1;
        self.sink.push(dose_gy, spread_gy, weight_cc, fraction);
    }

    #[inline]
    fn push_run(&mut self, dose_gy: &[f32], spread_gy: &[f32], fraction: &[f32], cell_cc: f32) {
        self.n += dose_gy.len().min(spread_gy.len()).min(fraction.len());
        self.sink.push_run(dose_gy, spread_gy, fraction, cell_cc);
    }
}

/// Parallel tasks for sampling `cells` cells into sinks: one per ~100 000 cells, at
/// most eight. A sink may be large (a DVH histogram is 256 KiB, ≈ 30 µs to zero and
/// merge) and structures are sampled in parallel anyway: only large ones are worth
/// splitting, but finely enough that the largest (a body of ~10⁶ cells, sampled last)
/// does not leave one thread working alone at the end. Not a function of the number
/// of threads: the split decides the order of floating-point sums, and the output
/// must not depend on the machine.
fn sink_tasks(cells: usize) -> usize {
    (cells / 100_000).clamp(1, 8)
}

/// Lowest and highest dose (Gy) of the grid voxels around `lattice`'s box (one voxel
/// beyond it along each axis): every trilinear sample of the lattice lies between them.
pub fn dose_range_around(grid: &DoseGrid, lattice: &Lattice) -> (f32, f32) {
    let span = |v: &[f64], a: usize| {
        let lo = lattice.lower_edge(a);
        let hi = lo + lattice.dims[2 - a] as f64 * lattice.spacing[a];
        let i0 = v.partition_point(|&p| p < lo).saturating_sub(1);
        let i1 = v
            .partition_point(|&p| p <= hi)
            .min(v.len().saturating_sub(1));
        (i0, i1.max(i0))
    };
    let ((x0, x1), (y0, y1), (z0, z1)) = (span(&grid.x, 0), span(&grid.y, 1), span(&grid.z, 2));
    let (ny, nx) = (grid.y.len(), grid.x.len());
    let Some(dose) = grid.dose.as_slice() else {
        let sub = grid.dose.slice(ndarray::s![z0..=z1, y0..=y1, x0..=x1]);
        return sub
            .iter()
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
    };
    // Row by row over contiguous slices, eight lanes of `lower`/`higher` (plain vector
    // min/max; a NaN voxel never replaces a bound, so non-finite voxels drop out
    // except ±∞).
    let mut lo = [f32::INFINITY; 8];
    let mut hi = [f32::NEG_INFINITY; 8];
    for z in z0..=z1 {
        for y in y0..=y1 {
            let start = (z * ny + y) * nx;
            let row = dose.get(start + x0..=start + x1).unwrap_or(&[]);
            let mut chunks = row.chunks_exact(8);
            for c in &mut chunks {
                for k in 0..8 {
                    lo[k] = lower(lo[k], c[k]);
                    hi[k] = higher(hi[k], c[k]);
                }
            }
            for &v in chunks.remainder() {
                lo[0] = lower(lo[0], v);
                hi[0] = higher(hi[0], v);
            }
        }
    }
    let lo = lo
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(f32::INFINITY, f32::min);
    let hi = hi
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(f32::NEG_INFINITY, f32::max);
    (lo, hi)
}

fn label(roi_number: Option<i32>, name: &str) -> String {
    match roi_number {
        Some(n) => format!("ROI {n} '{name}'"),
        None => format!("'{name}'"),
    }
}

/// Sample the dose on every occupied cell of `occ`: one sample at the cell centre,
/// weight fraction × cell volume. Cells whose centre lies outside the box spanned by
/// the dose voxel centres are dropped and a warning says how much volume that was.
pub fn sample_dose(occ: &Occupancy, grid: &DoseGrid) -> StructureSamples {
    let mut out = StructureSamples {
        roi_number: occ.roi_number,
        name: occ.name.clone(),
        warnings: occ.warnings.clone(),
        ..Default::default()
    };
    // Derived occupancies have no contour volume: theirs is the occupancy's.
    out.volume_cc = occ.contour_volume_cc.unwrap_or_else(|| occ.volume_cc());
    let label = label(occ.roi_number, &occ.name);
    let sampler = match Sampler::new(grid, occ.lattice()) {
        Ok(s) => s,
        Err(e) => {
            out.warnings.push(format!("{label}: {e}"));
            return out;
        }
    };
    if occ.is_empty() {
        return out;
    }
    let (t, cells) =
        sample_occupancy_into(occ, &sampler, CellSamples::default, CellSamples::joined);
    finish(&mut out, cells.dose.len(), t, &label);
    (out.dose_gy, out.spread_gy, out.weight_cc) = (cells.dose, cells.spread, cells.weight);
    out
}

/// The cells of `occ` through sinks made by `init`, chunks of runs in parallel.
fn sample_occupancy_into<S: CellSink>(
    occ: &Occupancy,
    sampler: &Sampler,
    init: impl Fn() -> S + Sync + Send,
    merge: impl Fn(S, S) -> S + Sync + Send,
) -> (Tally, S) {
    let (runs, fractions) = (occ.runs(), occ.fractions());
    // Fixed shares of the runs joined in order, so that the sums do not depend on the
    // scheduling (see `ZCells::fold`).
    crate::occupancy::fixed_ranges(runs.len(), sink_tasks(occ.cell_count()))
        .into_par_iter()
        .map(|range| {
            let mut sink = init();
            let t = sampler.sample_runs(runs.get(range).unwrap_or(&[]), fractions, &mut sink);
            (t, sink)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .reduce(|(ta, a), (tb, b)| (ta.add(tb), merge(a, b)))
        .unwrap_or_else(|| (Tally::default(), init()))
}

/// [`sample_dose`] into caller-made sinks instead of sample arrays: `init` is given the
/// dose range of the grid around the occupancy ([`dose_range_around`]) and called once
/// per parallel task; `merge` joins two sinks. Returns the samples' description (its
/// sample arrays empty, `volume_in_grid_cc` and warnings filled) and the joined sink
/// (`None` when nothing was sampled).
pub fn sample_dose_into<S: CellSink>(
    occ: &Occupancy,
    grid: &DoseGrid,
    init: impl Fn(f32, f32) -> S + Sync + Send,
    merge: impl Fn(S, S) -> S + Sync + Send,
) -> (StructureSamples, Option<S>) {
    let mut out = StructureSamples {
        roi_number: occ.roi_number,
        name: occ.name.clone(),
        warnings: occ.warnings.clone(),
        volume_cc: occ.contour_volume_cc.unwrap_or_else(|| occ.volume_cc()),
        ..Default::default()
    };
    let label = label(occ.roi_number, &occ.name);
    let sampler = match Sampler::new(grid, occ.lattice()) {
        Ok(s) => s,
        Err(e) => {
            out.warnings.push(format!("{label}: {e}"));
            return (out, None);
        }
    };
    if occ.is_empty() {
        return (out, None);
    }
    let (lo, hi) = dose_range_around(grid, occ.lattice());
    let (t, sink) = sample_occupancy_into(
        occ,
        &sampler,
        || Counted {
            sink: init(lo, hi),
            n: 0,
        },
        |a, b| Counted {
            n: a.n + b.n,
            sink: merge(a.sink, b.sink),
        },
    );
    finish(&mut out, sink.n, t, &label);
    (out, (sink.n > 0).then_some(sink.sink))
}

/// Rasterise and sample in one pass, z cell by z cell, never holding the occupancy:
/// the cells go into sinks made by `init` (one per parallel task), joined by `merge`.
fn sample_stack<S: CellSink>(
    stack: &SlabStack,
    lattice: &Lattice,
    grid: &DoseGrid,
    opts: &SamplingOptions,
    out: &mut StructureSamples,
    init: impl Fn() -> S + Sync + Send,
    merge: impl Fn(S, S) -> S + Sync + Send,
) -> Option<S> {
    let label = label(out.roi_number, &out.name);
    let sampler = match Sampler::new(grid, lattice) {
        Ok(s) => s,
        Err(e) => {
            out.warnings.push(format!("{label}: {e}"));
            return None;
        }
    };
    let cells = stack.volume_mm3() / (lattice.cell_volume_cc() * 1000.0);
    let (t, sink) = rasterize_zcells(stack, lattice, opts.subrows)
        .fold(
            sink_tasks(cells as usize),
            || (Tally::default(), Counted { sink: init(), n: 0 }),
            |(t, sink), runs, fr| *t = t.add(sampler.sample_runs(&runs, &fr, sink)),
            |(ta, a), (tb, b)| {
                (
                    ta.add(tb),
                    Counted {
                        n: a.n + b.n,
                        sink: merge(a.sink, b.sink),
                    },
                )
            },
        )
        .unwrap_or_else(|| (Tally::default(), Counted { sink: init(), n: 0 }));
    finish(out, sink.n, t, &label);
    (sink.n > 0).then_some(sink.sink)
}

/// Σ of `f32` values in f64, with independent lanes so that the additions pipeline.
fn sum_f32(x: &[f32]) -> f64 {
    let mut lanes = [0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for (l, v) in lanes.iter_mut().zip(c) {
            *l += *v;
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|&v| v as f64).sum();
    lanes.iter().map(|&l| l as f64).sum::<f64>() + tail
}

/// Typical contour spacing of a slab stack: the smallest distance between planes whose
/// slabs touch (same part of the structure), else the thinnest slab.
fn contour_spacing(stack: &SlabStack) -> Option<f64> {
    let touching = stack
        .slabs
        .windows(2)
        .filter(|w| (w[0].z_hi - w[1].z_lo).abs() < 1e-9)
        .map(|w| w[1].z - w[0].z);
    touching
        .chain(
            stack
                .slabs
                .iter()
                .map(|s| s.thickness())
                .filter(|_| stack.slabs.len() == 1),
        )
        .filter(|v| *v > 0.0)
        .min_by(f64::total_cmp)
        .or_else(|| {
            stack
                .slabs
                .iter()
                .map(|s| s.thickness())
                .filter(|v| *v > 0.0)
                .min_by(f64::total_cmp)
        })
}

/// Choose a lattice covering all of `structures` (their slab models) on `grid`:
///
/// * in-plane: the dose grid's pixel spacing, aligned with its voxel centres, refined by
///   an integer factor until the largest structure gets about `opts.min_samples` cells;
/// * along z: the largest spacing `Δ/n` (integer `n`) not above
///   `min(Δ, dose z spacing)` (finer for refined structures), `Δ` the smallest contour
///   spacing, with cell boundaries
///   on the lowest slab boundary — so for uniformly spaced contours every slab boundary
///   is a cell boundary.
///
/// Returns `None` when no structure has a contour enclosing area.
pub fn choose_lattice(
    structures: &[&Structure],
    grid: &DoseGrid,
    opts: &SamplingOptions,
) -> Result<Option<Lattice>, GeometryError> {
    let params = opts.slab_params(grid);
    let stacks: Vec<SlabStack> = structures.iter().map(|s| build_slabs(s, &params)).collect();
    let refs: Vec<&SlabStack> = stacks.iter().collect();
    lattice_for_stacks(&refs, grid, opts)
}

pub(crate) fn lattice_for_stacks(
    stacks: &[&SlabStack],
    grid: &DoseGrid,
    opts: &SamplingOptions,
) -> Result<Option<Lattice>, GeometryError> {
    let mut min = [f64::INFINITY; 3];
    let mut max = [f64::NEG_INFINITY; 3];
    let mut volume: f64 = 0.0;
    let mut spacing_z = f64::INFINITY;
    for st in stacks {
        for (s, pe) in st.slabs.iter().zip(&st.edges) {
            for k in 0..2 {
                min[k] = min[k].min(pe.min[k]);
                max[k] = max[k].max(pe.max[k]);
            }
            min[2] = min[2].min(s.z_lo);
            max[2] = max[2].max(s.z_hi);
        }
        volume = volume.max(st.volume_mm3());
        if let Some(d) = contour_spacing(st) {
            spacing_z = spacing_z.min(d);
        }
    }
    if !(min.iter().chain(&max).all(|v| v.is_finite()) && spacing_z.is_finite()) {
        return Ok(None);
    }
    let gs = grid.mean_spacing();
    let pixel = |a: usize| {
        [gs[a], gs[1 - a]]
            .into_iter()
            .find(|v| v.is_finite() && *v > 0.0)
            .unwrap_or(1.0)
    };
    let (sx, sy) = (pixel(0), pixel(1));
    let dz = if gs[2].is_finite() && gs[2] > 0.0 {
        gs[2]
    } else {
        spacing_z
    };
    // z cells: no coarser than the contour spacing and the dose grid, and at least ~40
    // across the structure, so a threshold isodose parallel to the cells misplaces at
    // most ~1/80 of the volume. A large structure (the body) then gets one cell per
    // contour slab instead of two: half the samples, same accuracy. Small structures
    // are refined further below, towards cubic cells. (Cells of several thin contour
    // slabs under a coarse dose grid were tried: fewer samples, but rasterising costs
    // per slab, and mixing slabs in a cell is slower, so no faster.)
    let target = spacing_z.min(dz).min((max[2] - min[2]) / 40.0);
    let n0 = (spacing_z / target - 1e-9).ceil().max(1.0);
    let (mut r, mut n) = (1.0, n0);
    let est_cells = volume * n / (sx * sy * spacing_z);
    if est_cells < opts.min_samples as f64 && volume > 0.0 {
        // Refine towards cubic cells of edge e holding `min_samples` cells: a threshold
        // isodose parallel to a lattice plane is resolved to half a cell along every
        // axis, so no axis is left coarse. In-plane by an integer factor (alignment with
        // the dose voxel centres is kept), along z by subdividing the contour spacing.
        let e = (volume / opts.min_samples as f64).cbrt();
        let max_r = opts.max_refinement.max(1) as f64;
        r = (sx.max(sy) / e - 1e-9).ceil().clamp(1.0, max_r);
        n = n.max((spacing_z / e - 1e-9).ceil().min(n * max_r));
    }
    // In-plane alignment with the dose voxel centres (refined cells subdivide them).
    let gx0 = grid.x.first().copied().unwrap_or(0.0);
    let gy0 = grid.y.first().copied().unwrap_or(0.0);
    let first = |lo: f64, g0: f64, s: f64| ((lo - g0) / s + 0.5).floor();
    loop {
        let (sx, sy, sz) = (sx / r, sy / r, spacing_z / n);
        let (ix0, ix1) = (first(min[0], gx0, sx), first(max[0], gx0, sx));
        let (iy0, iy1) = (first(min[1], gy0, sy), first(max[1], gy0, sy));
        let nz = ((max[2] - min[2]) / sz - 1e-9).ceil().max(1.0);
        let dims_f = [nz, iy1 - iy0 + 1.0, ix1 - ix0 + 1.0];
        if dims_f.iter().product::<f64>() <= MAX_LATTICE_CELLS as f64 {
            let lattice = Lattice::new(
                [gx0 + ix0 * sx, gy0 + iy0 * sy, min[2] + 0.5 * sz],
                [sx, sy, sz],
                [dims_f[0] as usize, dims_f[1] as usize, dims_f[2] as usize],
            )?;
            return Ok(Some(lattice));
        }
        // A small structure spread over a large box (far-apart parts): give up
        // refinement before giving up the structure.
        if r > 1.0 || n > n0 {
            r = (r / 2.0).ceil();
            n = (n / 2.0).ceil().max(n0);
            continue;
        }
        return Err(GeometryError::InvalidLattice(format!(
            "a lattice of {dims_f:?} cells at {sx:.3}×{sy:.3}×{sz:.3} mm would be needed"
        )));
    }
}

/// Rasterise `structure` on its own lattice (see [`choose_lattice`]) and sample `grid`.
/// Never fails: degenerate input gives empty samples and a warning.
pub fn sample_structure(
    structure: &Structure,
    grid: &DoseGrid,
    opts: &SamplingOptions,
) -> StructureSamples {
    let (mut out, cells) = sample_structure_into(
        structure,
        grid,
        opts,
        |_, _| CellSamples::default(),
        CellSamples::joined,
    );
    if let Some(c) = cells {
        (out.dose_gy, out.spread_gy, out.weight_cc) = (c.dose, c.spread, c.weight);
    }
    out
}

/// [`sample_structure`] into caller-made sinks instead of sample arrays (e.g. a DVH
/// accumulated while sampling, so that the samples are never held): `init` is given the
/// dose range of the grid around the structure's lattice ([`dose_range_around`]) and
/// called once per parallel task; `merge` joins two sinks. Returns the samples'
/// description (sample arrays empty; volumes and warnings filled) and the joined sink
/// (`None` when nothing was sampled).
pub fn sample_structure_into<S: CellSink>(
    structure: &Structure,
    grid: &DoseGrid,
    opts: &SamplingOptions,
    init: impl Fn(f32, f32) -> S + Sync + Send,
    merge: impl Fn(S, S) -> S + Sync + Send,
) -> (StructureSamples, Option<S>) {
    let params = opts.slab_params(grid);
    let stack = build_slabs(structure, &params);
    let mut out = StructureSamples {
        roi_number: Some(structure.roi_number),
        name: structure.name.clone(),
        ..Default::default()
    };
    let mut warnings = stack.warnings.clone();
    let label = label(Some(structure.roi_number), &structure.name);
    let sink = match lattice_for_stacks(&[&stack], grid, opts) {
        Ok(Some(whole)) => {
            out.volume_cc = stack.volume_mm3() / 1000.0;
            // Only cells centred inside the dose grid are sampled: the lattice is cut to
            // them, so a body or brain reaching far beyond a small (SRS) dose grid is not
            // rasterised where no dose is.
            let sink = match clip_to_grid(&whole, grid) {
                Some(lattice) => {
                    let (lo, hi) = dose_range_around(grid, &lattice);
                    let init = || init(lo, hi);
                    let s = sample_stack(&stack, &lattice, grid, opts, &mut out, init, &merge);
                    if lattice != whole {
                        note_outside(&mut out, &label);
                    }
                    s
                }
                None => {
                    note_outside(&mut out, &label);
                    None
                }
            };
            // Slab warnings first, as sample_dose orders them.
            warnings.append(&mut out.warnings);
            sink
        }
        Ok(None) => {
            warnings.push(format!(
                "ROI {} '{}': no closed contour encloses any area; no samples",
                structure.roi_number, structure.name
            ));
            None
        }
        Err(e) => {
            warnings.push(format!(
                "ROI {} '{}': {e}",
                structure.roi_number, structure.name
            ));
            None
        }
    };
    out.warnings = warnings;
    (out, sink)
}

/// Rasterise several structures on one common lattice (see [`choose_lattice`]), ready
/// for [`Occupancy::union`], [`Occupancy::intersection`], [`Occupancy::difference`] and
/// margins. `Ok(None)` when none of them encloses any area.
pub fn rasterize_common(
    structures: &[&Structure],
    grid: &DoseGrid,
    opts: &SamplingOptions,
) -> Result<Option<Vec<Occupancy>>, GeometryError> {
    let params = opts.slab_params(grid);
    let stacks: Vec<SlabStack> = structures.iter().map(|s| build_slabs(s, &params)).collect();
    let refs: Vec<&SlabStack> = stacks.iter().collect();
    let Some(lattice) = lattice_for_stacks(&refs, grid, opts)? else {
        return Ok(None);
    };
    Ok(Some(
        structures
            .iter()
            .zip(&stacks)
            .map(|(s, st)| {
                let mut o = crate::occupancy::rasterize_stack(st, &lattice, opts.subrows, &s.name);
                o.roi_number = Some(s.roi_number);
                o
            })
            .collect(),
    ))
}

/// [`sample_structure`] for every structure of `ss`, in parallel, in the same order.
pub fn sample_structures(
    ss: &StructureSet,
    grid: &DoseGrid,
    opts: &SamplingOptions,
) -> Vec<StructureSamples> {
    ss.structures
        .par_iter()
        .map(|s| sample_structure(s, grid, opts))
        .collect()
}
