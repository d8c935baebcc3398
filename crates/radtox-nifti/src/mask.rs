//! Structures given as voxel masks: reading binary/fractional masks and label maps, and
//! turning a mask into weighted dose samples on any dose grid.

use crate::affine::{apply, column_norm, det3};
use crate::names::LabelNames;
use crate::read::read_volume;
use crate::{Affine, NiftiError};
use radtox_model::DoseGrid;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// A structure given as a (fractional) voxel mask on its own grid.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskStructure {
    pub name: String,
    /// The label value in a label map; `None` for a single mask file.
    pub label: Option<i64>,
    /// Voxel → patient (LPS mm), voxel indices in file order; may be oblique.
    pub affine: Affine,
    /// Voxels along the file's voxel axes `[ni, nj, nk]` (fastest first).
    pub dims: [usize; 3],
    /// The voxels inside, sparse and sorted: (linear index `i + ni·(j + nj·k)`, fraction
    /// of the voxel inside, in (0, 1]).
    pub fraction: Vec<(usize, f32)>,
    pub warnings: Vec<String>,
}

impl MaskStructure {
    /// Volume of one voxel (mm³).
    pub fn voxel_volume_mm3(&self) -> f64 {
        det3(&self.affine).abs()
    }

    /// Σ fraction × voxel volume (cc): exact for the mask.
    pub fn volume_cc(&self) -> f64 {
        let sum: f64 = self.fraction.iter().map(|&(_, f)| f64::from(f)).sum();
        sum * self.voxel_volume_mm3() / 1000.0
    }

    /// `[i, j, k]` of a linear index.
    pub fn voxel_index(&self, linear: usize) -> [usize; 3] {
        let [ni, nj, _] = self.dims;
        let (ni, nj) = (ni.max(1), nj.max(1));
        [linear % ni, (linear / ni) % nj, linear / (ni * nj)]
    }

    /// True when no voxel is inside.
    pub fn is_empty(&self) -> bool {
        self.fraction.is_empty()
    }
}

/// Read a mask: binary (0/1, or 0/one other value such as 255) or fractional (0..1
/// floats, the fraction of each voxel inside the structure).
///
/// Negative values, or several distinct values above 1 (a label map), are errors.
/// Non-finite voxels count as outside (warned).
pub fn read_mask(path: &Path, name: &str) -> Result<MaskStructure, NiftiError> {
    let vol = read_volume(path)?;
    let mut warnings = vol.warnings;
    let not_mask = |reason: String| NiftiError::NotAMask {
        path: path.to_path_buf(),
        reason,
    };
    let mut non_finite = 0usize;
    let mut above_one: Option<f64> = None;
    let mut several_above_one = false;
    for (idx, &v) in vol.values.iter().enumerate() {
        if !v.is_finite() {
            non_finite += 1;
        } else if v < 0.0 {
            return Err(not_mask(format!("negative value {v} at voxel index {idx}")));
        } else if v > 1.0 + 1e-6 {
            match above_one {
                None => above_one = Some(v),
                Some(a) if a != v => several_above_one = true,
                _ => {}
            }
        }
    }
    if several_above_one {
        return Err(not_mask(
            "several distinct values above 1: this looks like a label map (read it with read_label_map)"
                .into(),
        ));
    }
    if non_finite > 0 {
        warnings.push(format!("{non_finite} non-finite voxels taken as outside"));
    }
    let fraction: Vec<(usize, f32)> = match above_one {
        // One value above 1 (255, or a lone label): a binary mask. Values strictly
        // between 0 and 1 as well would mix conventions.
        Some(on) => {
            if vol
                .values
                .iter()
                .any(|&v| v > 0.0 && v != on && v.is_finite())
            {
                return Err(not_mask(format!(
                    "mixes the value {on} with fractional values: neither binary nor fractional"
                )));
            }
            warnings.push(format!(
                "binary mask with value {on}: voxels with it are inside"
            ));
            vol.values
                .iter()
                .enumerate()
                .filter(|&(_, &v)| v == on)
                .map(|(i, _)| (i, 1.0))
                .collect()
        }
        None => vol
            .values
            .iter()
            .enumerate()
            .filter(|&(_, &v)| v.is_finite() && v > 0.0)
            .map(|(i, &v)| (i, v.min(1.0) as f32))
            .filter(|&(_, f)| f > 0.0)
            .collect(),
    };
    if fraction.is_empty() {
        warnings.push("the mask is empty".into());
    }
    Ok(MaskStructure {
        name: name.to_string(),
        label: None,
        affine: vol.lps,
        dims: vol.dims,
        fraction,
        warnings,
    })
}

/// Read a label map: each non-zero integer value is one structure (binary), named from
/// `names`. Values without a name become `label_<n>` (warned); names whose value is
/// absent from the map give an empty structure (warned), so a report still lists them.
/// Non-integer values are an error. Structures come sorted by label value.
pub fn read_label_map(path: &Path, names: &LabelNames) -> Result<Vec<MaskStructure>, NiftiError> {
    let vol = read_volume(path)?;
    let mut voxels: BTreeMap<i64, Vec<(usize, f32)>> = BTreeMap::new();
    for (idx, &v) in vol.values.iter().enumerate() {
        if v == 0.0 {
            continue;
        }
        let r = v.round();
        if !v.is_finite() || (v - r).abs() > 1e-3 || r.abs() > 9.0e15 {
            return Err(NiftiError::NotALabelMap {
                path: path.to_path_buf(),
                reason: format!("value {v} at voxel index {idx} is not an integer label"),
            });
        }
        voxels.entry(r as i64).or_default().push((idx, 1.0));
    }
    let mut out = Vec::new();
    let make =
        |label: i64, name: String, fraction: Vec<(usize, f32)>, mut warnings: Vec<String>| {
            let mut w = vol.warnings.clone();
            w.append(&mut warnings);
            MaskStructure {
                name,
                label: Some(label),
                affine: vol.lps,
                dims: vol.dims,
                fraction,
                warnings: w,
            }
        };
    let mut labels: Vec<i64> = voxels.keys().copied().collect();
    labels.extend(
        names
            .names
            .keys()
            .copied()
            .filter(|l| *l != 0 && !voxels.contains_key(l)),
    );
    labels.sort_unstable();
    for label in labels {
        let fraction = voxels.remove(&label).unwrap_or_default();
        let (name, warnings) = match (names.get(label), fraction.is_empty()) {
            (Some(n), false) => (n.to_string(), vec![]),
            (Some(n), true) => (
                n.to_string(),
                vec![format!(
                    "label {label} ({n}) is named but absent from the label map: empty"
                )],
            ),
            (None, _) => (
                format!("label_{label}"),
                vec![format!(
                    "label value {label} has no name in the sidecar: named label_{label}"
                )],
            ),
        };
        out.push(make(label, name, fraction, warnings));
    }
    Ok(out)
}

/// How [`mask_samples`] places sample points in the mask voxels.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MaskSamplingOptions {
    /// Sub-points per mask voxel along each of its voxel axes. `None` (default): the
    /// fewest that keep the sub-point spacing at or below half the dose grid's finest
    /// spacing (1 to 8 per axis), the same resolution rule the contour sampler uses.
    pub subdivisions: Option<[usize; 3]>,
}

/// Weighted dose samples of a mask structure: the shape of radtox-geometry's
/// `StructureSamples`, so the same DVH code applies.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskSamples {
    pub label: Option<i64>,
    pub name: String,
    /// Dose (Gy) at each sample point, trilinear between dose voxel centres.
    pub dose_gy: Vec<f32>,
    /// Volume (cc) each sample stands for.
    pub weight_cc: Vec<f32>,
    /// Σ fraction × voxel volume of the mask (cc).
    pub volume_cc: f64,
    /// Σ `weight_cc`: the part of the structure inside the box of dose voxel centres.
    pub volume_in_grid_cc: f64,
    pub warnings: Vec<String>,
}

fn auto_subdivisions(mask: &MaskStructure, dose: &DoseGrid) -> [usize; 3] {
    let finest = dose
        .mean_spacing()
        .into_iter()
        .filter(|s| *s > 0.0)
        .fold(f64::INFINITY, f64::min);
    let mut n = [1usize; 3];
    if finest.is_finite() {
        for (v, n) in n.iter_mut().enumerate() {
            let len = column_norm(&mask.affine, v);
            *n = ((len / (finest / 2.0) - 1e-9).ceil() as usize).clamp(1, 8);
        }
    }
    n
}

/// Weighted dose samples of a mask on a dose grid, with partial volumes.
///
/// Each mask voxel is a box (a parallelepiped for oblique masks) split into
/// `n_i × n_j × n_k` equal sub-boxes; each sub-box centre gets the dose by
/// [`DoseGrid::interpolate`] and the weight fraction × voxel volume / (n_i n_j n_k). So
/// masks on any grid (finer, coarser, shifted, rotated) are resampled by volume, not by
/// nearest neighbour. Sub-points outside the box of dose voxel centres are dropped and
/// reported, as the contour sampler does.
pub fn mask_samples(
    mask: &MaskStructure,
    dose: &DoseGrid,
    opts: &MaskSamplingOptions,
) -> MaskSamples {
    let n = opts
        .subdivisions
        .map(|s| s.map(|v| v.max(1)))
        .unwrap_or_else(|| auto_subdivisions(mask, dose));
    let per_voxel = n[0] * n[1] * n[2];
    let voxel_mm3 = mask.voxel_volume_mm3();
    let sub_cc = voxel_mm3 / per_voxel as f64 / 1000.0;
    // Sub-box centre offsets in voxel units, symmetric about the voxel centre.
    let offsets =
        |m: usize| -> Vec<f64> { (0..m).map(|s| (s as f64 + 0.5) / m as f64 - 0.5).collect() };
    let (ou, ov, ow) = (offsets(n[0]), offsets(n[1]), offsets(n[2]));
    let a = mask.affine;
    let chunks: Vec<(Vec<f32>, Vec<f32>, f64)> = mask
        .fraction
        .par_chunks(2048)
        .map(|chunk| {
            let mut d = Vec::with_capacity(chunk.len() * per_voxel);
            let mut w = Vec::with_capacity(chunk.len() * per_voxel);
            let mut inside = 0.0f64;
            for &(lin, f) in chunk {
                let [i, j, k] = mask.voxel_index(lin);
                let weight = f64::from(f) * sub_cc;
                for &dw in &ow {
                    for &dv in &ov {
                        for &du in &ou {
                            let p = apply(&a, [i as f64 + du, j as f64 + dv, k as f64 + dw]);
                            if let Some(g) = dose.interpolate(p) {
                                d.push(g);
                                w.push(weight as f32);
                                inside += weight;
                            }
                        }
                    }
                }
            }
            (d, w, inside)
        })
        .collect();
    let total: usize = chunks.iter().map(|c| c.0.len()).sum();
    let mut dose_gy = Vec::with_capacity(total);
    let mut weight_cc = Vec::with_capacity(total);
    let mut volume_in_grid_cc = 0.0;
    for (d, w, v) in chunks {
        dose_gy.extend(d);
        weight_cc.extend(w);
        volume_in_grid_cc += v;
    }
    let volume_cc = mask.volume_cc();
    let mut warnings = mask.warnings.clone();
    let outside = volume_cc - volume_in_grid_cc;
    if outside > 1e-9 * volume_cc.max(1e-12) && outside > 1e-9 {
        warnings.push(format!(
            "{:.3} cc ({:.2} %) of {} lies outside the dose grid and is not in its DVH",
            outside,
            100.0 * outside / volume_cc,
            mask.name
        ));
    }
    MaskSamples {
        label: mask.label,
        name: mask.name.clone(),
        dose_gy,
        weight_cc,
        volume_cc,
        volume_in_grid_cc,
        warnings,
    }
}
