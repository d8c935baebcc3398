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
            min_samples: 200_000,
            max_refinement: 64,
            single_plane_thickness_mm: None,
            gap_factor: 1.5,
            subrows: 1,
        }
    }
}

impl SamplingOptions {
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

/// The dose grid seen from a lattice: interpolation indices and weights per lattice
/// axis (the lattice is axis-aligned with the grid, so trilinear weights separate by
/// axis: each lattice coordinate is located once, not once per sample).
struct Sampler<'a> {
    dose: Cow<'a, [f32]>,
    nx: usize,
    ny: usize,
    ty: Vec<Option<(usize, usize, f32)>>,
    tz: Vec<Option<(usize, usize, f32)>>,
    /// Along x the cells inside the grid form one contiguous range [xa, xb); their
    /// indices and weights as plain arrays keep the inner loop branch-free.
    xa: usize,
    xb: usize,
    xi0: Vec<usize>,
    xi1: Vec<usize>,
    xw: Vec<f32>,
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
        let tx = locate_all(&grid.x, 0);
        let xa = tx.iter().position(|t| t.is_some()).unwrap_or(tx.len());
        let xb = tx.iter().rposition(|t| t.is_some()).map_or(xa, |i| i + 1);
        Ok(Sampler {
            dose,
            nx,
            ny,
            ty: locate_all(&grid.y, 1),
            tz: locate_all(&grid.z, 2),
            xa,
            xb,
            xi0: tx.iter().map(|t| t.map_or(0, |t| t.0)).collect(),
            xi1: tx.iter().map(|t| t.map_or(0, |t| t.1)).collect(),
            xw: tx.iter().map(|t| t.map_or(0.0, |t| t.2)).collect(),
            cell_cc: lattice.cell_volume_cc(),
        })
    }

    /// Sample the cells of `runs` (fractions at each run's offset in `fractions`) into
    /// `dd`/`ww`, in run order; a cell whose centre is outside the grid gets weight −1.
    fn sample_runs(
        &self,
        runs: &[Run],
        fractions: &[f32],
        dd: &mut [f32],
        ww: &mut [f32],
    ) -> Tally {
        let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
        let (nx, ny, cell_cc) = (self.nx, self.ny, self.cell_cc);
        let cc = cell_cc as f32;
        let d = &self.dose[..];
        let mut t = Tally::default();
        let mut row = vec![0f32; nx];
        let mut k = 0;
        for r in runs {
            let len = r.len as usize;
            let (dd, ww) = match (dd.get_mut(k..k + len), ww.get_mut(k..k + len)) {
                (Some(a), Some(b)) => (a, b),
                _ => break,
            };
            k += len;
            let fr = fractions.get(r.offset..r.offset + len).unwrap_or(&[]);
            let run_cc = sum_f32(fr) * cell_cc;
            t.all_cc += run_cc;
            let ix0 = r.ix0 as usize;
            // Cells [k0, k1) of the run lie inside the grid along x.
            let k0 = self.xa.saturating_sub(ix0).min(len);
            let k1 = self.xb.saturating_sub(ix0).clamp(k0, len);
            let yz = (self.tz.get(r.iz as usize), self.ty.get(r.iy as usize));
            let (Some(Some((z0, z1, wz))), Some(Some((y0, y1, wy)))) = yz else {
                ww.fill(-1.0);
                t.dropped += len;
                t.dropped_cc += run_cc;
                continue;
            };
            for (kk, f) in fr
                .iter()
                .enumerate()
                .filter(|(kk, _)| *kk < k0 || *kk >= k1)
            {
                if let Some(w) = ww.get_mut(kk) {
                    *w = -1.0;
                }
                t.dropped += 1;
                t.dropped_cc += *f as f64 * cell_cc;
            }
            if k1 <= k0 {
                continue;
            }
            let xs0 = self.xi0.get(ix0 + k0..ix0 + k1).unwrap_or(&[]);
            let xs1 = self.xi1.get(ix0 + k0..ix0 + k1).unwrap_or(&[]);
            let xws = self.xw.get(ix0 + k0..ix0 + k1).unwrap_or(&[]);
            // Interpolate along y and z once per dose column the run needs, then along
            // x per sample: trilinear, in a different (equivalent) order from
            // DoseGrid::interpolate, so results agree to rounding.
            let lo = xs0.first().copied().unwrap_or(0);
            let hi = xs1.last().copied().unwrap_or(0);
            let base = |z: usize, y: usize| (z * ny + y) * nx;
            let rows = [
                base(*z0, *y0),
                base(*z0, *y1),
                base(*z1, *y0),
                base(*z1, *y1),
            ]
            .map(|b| d.get(b + lo..b + hi + 1).unwrap_or(&[]));
            if let Some(dst) = row.get_mut(lo..hi + 1) {
                for (i, v) in dst.iter_mut().enumerate() {
                    let g = |s: &[f32]| s.get(i).copied().unwrap_or(0.0);
                    let c0 = lerp(g(rows[0]), g(rows[1]), *wy);
                    let c1 = lerp(g(rows[2]), g(rows[3]), *wy);
                    *v = lerp(c0, c1, *wz);
                }
            }
            let out = dd.get_mut(k0..k1).unwrap_or(&mut []).iter_mut();
            let wout = ww.get_mut(k0..k1).unwrap_or(&mut []).iter_mut();
            let fin = fr.get(k0..k1).unwrap_or(&[]);
            for ((((dv, wv), &f), (&x0, &x1)), &wx) in
                out.zip(wout).zip(fin).zip(xs0.iter().zip(xs1)).zip(xws)
            {
                let g = |i: usize| row.get(i).copied().unwrap_or(0.0);
                *dv = lerp(g(x0), g(x1), wx);
                *wv = f * cc;
            }
        }
        t
    }
}

/// Remove the samples marked with a negative weight (outside the grid).
fn compact(dose: &mut Vec<f32>, weight: &mut Vec<f32>) {
    let mut j = 0;
    for i in 0..weight.len() {
        if let (Some(&w), Some(&dv)) = (weight.get(i), dose.get(i))
            && w >= 0.0
        {
            if let (Some(a), Some(b)) = (weight.get_mut(j), dose.get_mut(j)) {
                *a = w;
                *b = dv;
            }
            j += 1;
        }
    }
    weight.truncate(j);
    dose.truncate(j);
}

/// Store the samples and the volume inside the grid, warning about the rest.
fn finish(out: &mut StructureSamples, dose: Vec<f32>, weight: Vec<f32>, t: Tally, label: &str) {
    let kept_cc = if weight.is_empty() {
        0.0
    } else {
        (t.all_cc - t.dropped_cc).max(0.0)
    };
    out.dose_gy = dose;
    out.weight_cc = weight;
    out.volume_in_grid_cc = kept_cc;
    let outside = t.all_cc - kept_cc;
    if outside > 1e-6 * t.all_cc.max(1e-9) && outside > 1e-9 {
        out.warnings.push(format!(
            "{label}: {outside:.3} cc ({:.1}%) lies outside the dose grid and was not sampled",
            100.0 * outside / t.all_cc
        ));
    }
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
    // Outputs are written in place, one disjoint slice per chunk of runs.
    let total: usize = occ.runs().iter().map(|r| r.len as usize).sum();
    let mut dose = vec![0f32; total];
    let mut weight = vec![0f32; total];
    let mut jobs = Vec::new();
    {
        let (mut rest_d, mut rest_w) = (&mut dose[..], &mut weight[..]);
        for chunk in occ.runs().chunks(64) {
            let n: usize = chunk.iter().map(|r| r.len as usize).sum();
            let (dd, rd) = std::mem::take(&mut rest_d).split_at_mut(n);
            let (ww, rw) = std::mem::take(&mut rest_w).split_at_mut(n);
            jobs.push((chunk, dd, ww));
            (rest_d, rest_w) = (rd, rw);
        }
    }
    let fractions = occ.fractions();
    let tally = jobs
        .into_par_iter()
        .map(|(chunk, dd, ww)| sampler.sample_runs(chunk, fractions, dd, ww))
        .reduce(Tally::default, Tally::add);
    if tally.dropped > 0 {
        compact(&mut dose, &mut weight);
    }
    finish(&mut out, dose, weight, tally, &label);
    out
}

/// Rasterise and sample in one pass, z cell by z cell, never holding the occupancy.
fn sample_stack(
    stack: &SlabStack,
    lattice: &Lattice,
    grid: &DoseGrid,
    opts: &SamplingOptions,
    out: &mut StructureSamples,
) {
    let label = label(out.roi_number, &out.name);
    let sampler = match Sampler::new(grid, lattice) {
        Ok(s) => s,
        Err(e) => {
            out.warnings.push(format!("{label}: {e}"));
            return;
        }
    };
    let parts = rasterize_zcells(stack, lattice, opts.subrows, |runs, fr| {
        let mut dd = vec![0f32; fr.len()];
        let mut ww = vec![0f32; fr.len()];
        let t = sampler.sample_runs(&runs, &fr, &mut dd, &mut ww);
        if t.dropped > 0 {
            compact(&mut dd, &mut ww);
        }
        (dd, ww, t)
    });
    let total: usize = parts.iter().map(|p| p.0.len()).sum();
    let mut dose = Vec::with_capacity(total);
    let mut weight = Vec::with_capacity(total);
    let mut tally = Tally::default();
    for (dd, ww, t) in parts {
        dose.extend_from_slice(&dd);
        weight.extend_from_slice(&ww);
        tally = tally.add(t);
    }
    finish(out, dose, weight, tally, &label);
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
    // are refined further below, towards cubic cells.
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
    let params = opts.slab_params(grid);
    let stack = build_slabs(structure, &params);
    let empty = |warnings: Vec<String>| StructureSamples {
        roi_number: Some(structure.roi_number),
        name: structure.name.clone(),
        warnings,
        ..Default::default()
    };
    match lattice_for_stacks(&[&stack], grid, opts) {
        Ok(Some(lattice)) => {
            let mut out = StructureSamples {
                roi_number: Some(structure.roi_number),
                name: structure.name.clone(),
                volume_cc: stack.volume_mm3() / 1000.0,
                ..Default::default()
            };
            sample_stack(&stack, &lattice, grid, opts, &mut out);
            // Slab warnings first, as sample_dose orders them.
            let mut w = stack.warnings;
            w.append(&mut out.warnings);
            out.warnings = w;
            out
        }
        Ok(None) => {
            let mut w = stack.warnings;
            w.push(format!(
                "ROI {} '{}': no closed contour encloses any area; no samples",
                structure.roi_number, structure.name
            ));
            empty(w)
        }
        Err(e) => {
            let mut w = stack.warnings;
            w.push(format!(
                "ROI {} '{}': {e}",
                structure.roi_number, structure.name
            ));
            empty(w)
        }
    }
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
