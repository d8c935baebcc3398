//! Lattice choice per structure and dose sampling of occupancies.

use crate::error::GeometryError;
use crate::lattice::{Lattice, MAX_LATTICE_CELLS};
use crate::occupancy::{Occupancy, rasterize_stack};
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
    let occ_volume = occ.volume_cc();
    out.volume_cc = occ.contour_volume_cc.unwrap_or(occ_volume);
    let label = match occ.roi_number {
        Some(n) => format!("ROI {n} '{}'", occ.name),
        None => format!("'{}'", occ.name),
    };
    let (nz, ny, nx) = (grid.z.len(), grid.y.len(), grid.x.len());
    if grid.dose.shape() != [nz, ny, nx] {
        out.warnings.push(format!(
            "{label}: dose array shape {:?} does not match its axes ({nz}×{ny}×{nx}); not sampled",
            grid.dose.shape()
        ));
        return out;
    }
    if occ.is_empty() {
        return out;
    }
    let lattice = occ.lattice();
    let dose: Cow<[f32]> = match grid.dose.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(grid.dose.iter().copied().collect()),
    };
    // The lattice is axis-aligned with the grid, so interpolation weights separate by
    // axis: locate each lattice coordinate once, not once per sample.
    let tx: Vec<_> = lattice
        .axis(0)
        .iter()
        .map(|&p| locate(&grid.x, p))
        .collect();
    let ty: Vec<_> = lattice
        .axis(1)
        .iter()
        .map(|&p| locate(&grid.y, p))
        .collect();
    let tz: Vec<_> = lattice
        .axis(2)
        .iter()
        .map(|&p| locate(&grid.z, p))
        .collect();
    let cell_cc = lattice.cell_volume_cc();
    let runs = occ.runs();
    let fractions = occ.fractions();
    let d = &dose[..];
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let parts: Vec<(Vec<f32>, Vec<f32>)> = runs
        .par_chunks(64)
        .map(|chunk| {
            let n: usize = chunk.iter().map(|r| r.len as usize).sum();
            let (mut dv, mut wv) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for r in chunk {
                let (Some(Some((z0, z1, wz))), Some(Some((y0, y1, wy)))) =
                    (tz.get(r.iz as usize), ty.get(r.iy as usize))
                else {
                    continue;
                };
                let base = |z: usize, y: usize| (z * ny + y) * nx;
                let (b00, b01, b10, b11) = (
                    base(*z0, *y0),
                    base(*z0, *y1),
                    base(*z1, *y0),
                    base(*z1, *y1),
                );
                let fr = fractions
                    .get(r.offset..r.offset + r.len as usize)
                    .unwrap_or(&[]);
                for (k, &f) in fr.iter().enumerate() {
                    let Some(Some((x0, x1, wx))) = tx.get(r.ix0 as usize + k) else {
                        continue;
                    };
                    let g = |i: usize| d.get(i).copied().unwrap_or(0.0);
                    // Same operation order as DoseGrid::trilinear.
                    let c00 = lerp(g(b00 + x0), g(b00 + x1), *wx);
                    let c01 = lerp(g(b01 + x0), g(b01 + x1), *wx);
                    let c10 = lerp(g(b10 + x0), g(b10 + x1), *wx);
                    let c11 = lerp(g(b11 + x0), g(b11 + x1), *wx);
                    dv.push(lerp(lerp(c00, c01, *wy), lerp(c10, c11, *wy), *wz));
                    wv.push((f as f64 * cell_cc) as f32);
                }
            }
            (dv, wv)
        })
        .collect();
    let total: usize = parts.iter().map(|p| p.0.len()).sum();
    out.dose_gy.reserve(total);
    out.weight_cc.reserve(total);
    for (dv, wv) in parts {
        out.dose_gy.extend(dv);
        out.weight_cc.extend(wv);
    }
    out.volume_in_grid_cc = out.weight_cc.iter().map(|&w| w as f64).sum();
    let outside = occ_volume - out.volume_in_grid_cc;
    if outside > 1e-6 * occ_volume.max(1e-9) && outside > 1e-9 {
        out.warnings.push(format!(
            "{label}: {outside:.3} cc ({:.1}%) lies outside the dose grid and was not sampled",
            100.0 * outside / occ_volume
        ));
    }
    out
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
///   `min(Δ, dose z spacing)/2`, `Δ` the smallest contour spacing, with cell boundaries
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
    let (mut sx, mut sy) = (pixel(0), pixel(1));
    let dz = if gs[2].is_finite() && gs[2] > 0.0 {
        gs[2]
    } else {
        spacing_z
    };
    let target = spacing_z.min(dz) / 2.0;
    let mut n = (spacing_z / target - 1e-9).ceil().max(1.0);
    let est_cells = volume * n / (sx * sy * spacing_z);
    if est_cells < opts.min_samples as f64 && volume > 0.0 {
        // Refine towards cubic cells of edge e holding `min_samples` cells: a threshold
        // isodose parallel to a lattice plane is resolved to half a cell along every
        // axis, so no axis is left coarse. In-plane by an integer factor (alignment with
        // the dose voxel centres is kept), along z by subdividing the contour spacing.
        let e = (volume / opts.min_samples as f64).cbrt();
        let max_r = opts.max_refinement.max(1) as f64;
        let r = (sx.max(sy) / e - 1e-9).ceil().clamp(1.0, max_r);
        sx /= r;
        sy /= r;
        n = n.max((spacing_z / e - 1e-9).ceil().min(n * max_r));
    }
    let sz = spacing_z / n;
    // In-plane alignment with the dose voxel centres (refined cells subdivide them).
    let gx0 = grid.x.first().copied().unwrap_or(0.0);
    let gy0 = grid.y.first().copied().unwrap_or(0.0);
    let first = |lo: f64, g0: f64, s: f64| ((lo - g0) / s + 0.5).floor();
    let (ix0, ix1) = (first(min[0], gx0, sx), first(max[0], gx0, sx));
    let (iy0, iy1) = (first(min[1], gy0, sy), first(max[1], gy0, sy));
    let nz = ((max[2] - min[2]) / sz - 1e-9).ceil().max(1.0);
    let dims_f = [nz, iy1 - iy0 + 1.0, ix1 - ix0 + 1.0];
    if dims_f.iter().product::<f64>() > MAX_LATTICE_CELLS as f64 {
        return Err(GeometryError::InvalidLattice(format!(
            "a lattice of {dims_f:?} cells at {sx:.3}×{sy:.3}×{sz:.3} mm would be needed"
        )));
    }
    let lattice = Lattice::new(
        [gx0 + ix0 * sx, gy0 + iy0 * sy, min[2] + 0.5 * sz],
        [sx, sy, sz],
        [dims_f[0] as usize, dims_f[1] as usize, dims_f[2] as usize],
    )?;
    Ok(Some(lattice))
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
            let mut occ = rasterize_stack(&stack, &lattice, opts.subrows, &structure.name);
            occ.roi_number = Some(structure.roi_number);
            sample_dose(&occ, grid)
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
