//! The NIfTI input path: a dose volume plus structures given as voxel masks (one label
//! map with a names sidecar, or one mask file per structure), analysed by the same code
//! as a DICOM plan ([`crate::analyze_plan`]) into the same [`Analysis`] document.
//!
//! Each mask is traced into a contour [`Structure`](radtox_model::Structure) by
//! [`radtox_nifti::trace_mask`]: its inside voxels (fraction ≥ ½) outlined along voxel
//! edges in the patient frame, one plane per voxel slice, each plane standing for
//! exactly its slice's z extent. For a binary mask aligned with the patient axes (any
//! flip or permutation, any grid) the contours enclose exactly the mask's voxels, so
//! the NIfTI plan gets everything the DICOM path computes from contours: volumes, DVHs,
//! metrics, EQD2/BED, derived structures on the refined lattice, the site analyses
//! (brain lesions, heart, marrow, lung, skin) and the risk rules with their sampling
//! uncertainty. What differs, said in the document's warnings:
//!
//! * **Fractional masks** are thresholded at ½ (the warning gives both volumes);
//!   **oblique masks** are resampled by volume onto an axis-aligned lattice first.
//! * **No RT Plan**: no prescription from a plan (the pipeline's `[fractionation]` may
//!   give one), fractions from `--fractions` or the pipeline; no TPS DVHs, no CT for a
//!   bone surrogate, and no `--course` (ignored with a warning).
//! * The mask structures' slabs are their voxels: `--end-caps` does not apply to them.

use crate::{AnalysisError, AnalysisOptions, PlanData};
use ndarray::Array3;
use radtox_geometry::{EndCaps, Lattice};
use radtox_model::{DoseGrid, DoseInfo, DoseSummationType, DoseUnits, StructureSet};
use radtox_nifti::{MaskStructure, NiftiDose, NiftiError};
use radtox_report::{Analysis, Inputs};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The files of one NIfTI "plan": a dose volume and structure masks.
#[derive(Debug, Clone, Default)]
pub struct NiftiInputs {
    /// Dose volume in Gy (`.nii` / `.nii.gz`, any datatype, scl_slope/scl_inter applied).
    pub dose: PathBuf,
    /// One label map (integer labels, 0 = background).
    pub labels: Option<PathBuf>,
    /// Names of the label values (JSON, `value name` text lines, colour tables, ITK-SNAP).
    /// Without it, structures are named `label_<value>`.
    pub label_names: Option<PathBuf>,
    /// One mask per structure: (name, file), binary or fractional.
    pub masks: Vec<(String, PathBuf)>,
}

/// Why the NIfTI input could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum NiftiInputError {
    #[error(transparent)]
    Nifti(#[from] NiftiError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(
        "no structures: give --nifti-labels FILE (with --label-names FILE) or --nifti-mask NAME=FILE"
    )]
    NoStructures,
    #[error("--label-names {0} given without --nifti-labels")]
    NamesWithoutLabels(PathBuf),
    #[error("--nifti-mask {arg:?}: {reason}")]
    BadMaskArg { arg: String, reason: String },
    #[error("structure name '{name}' is given twice ({first} and {second})")]
    DuplicateName {
        name: String,
        first: String,
        second: String,
    },
}

/// Parse `NAME=FILE` (the name may not be empty; the first `=` separates).
pub fn parse_mask_arg(arg: &str) -> Result<(String, PathBuf), NiftiInputError> {
    let bad = |reason: &str| NiftiInputError::BadMaskArg {
        arg: arg.to_string(),
        reason: reason.to_string(),
    };
    let (name, file) = arg
        .split_once('=')
        .ok_or_else(|| bad("expected NAME=FILE"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(bad("the structure name before '=' is empty"));
    }
    if file.trim().is_empty() {
        return Err(bad("the file after '=' is empty"));
    }
    Ok((name.to_string(), PathBuf::from(file.trim())))
}

/// A NIfTI plan read into memory: the dose and every structure's mask.
#[derive(Debug, Clone)]
pub struct NiftiPlan {
    pub dose: NiftiDose,
    /// Label-map structures (label order) first, then the single masks (argument order).
    pub masks: Vec<MaskStructure>,
    /// Where each mask came from (`label 3 of labels.nii.gz`, or the mask's file), for
    /// messages; parallel to `masks`.
    pub sources: Vec<String>,
}

impl NiftiInputs {
    /// Read the dose and every mask; names must be unique.
    pub fn read(&self) -> Result<NiftiPlan, NiftiInputError> {
        if self.labels.is_none() && self.masks.is_empty() {
            return Err(NiftiInputError::NoStructures);
        }
        if let (None, Some(n)) = (&self.labels, &self.label_names) {
            return Err(NiftiInputError::NamesWithoutLabels(n.clone()));
        }
        let dose = radtox_nifti::read_dose(&self.dose)?;
        let mut masks: Vec<MaskStructure> = Vec::new();
        let mut origin: Vec<String> = Vec::new();
        if let Some(l) = &self.labels {
            let names = match &self.label_names {
                Some(n) => radtox_nifti::read_label_names(n)?,
                None => radtox_nifti::LabelNames::default(),
            };
            for m in radtox_nifti::read_label_map(l, &names)? {
                origin.push(format!("label {} of {}", m.label.unwrap_or(0), l.display()));
                masks.push(m);
            }
        }
        let singles: Vec<Result<MaskStructure, NiftiError>> = self
            .masks
            .par_iter()
            .map(|(name, path)| radtox_nifti::read_mask(path, name))
            .collect();
        for (m, (_, path)) in singles.into_iter().zip(&self.masks) {
            masks.push(m?);
            origin.push(path.display().to_string());
        }
        for (i, m) in masks.iter().enumerate() {
            if let Some(j) = masks.iter().take(i).position(|o| o.name == m.name) {
                return Err(NiftiInputError::DuplicateName {
                    name: m.name.clone(),
                    first: origin.get(j).cloned().unwrap_or_default(),
                    second: origin.get(i).cloned().unwrap_or_default(),
                });
            }
        }
        Ok(NiftiPlan {
            dose,
            masks,
            sources: origin,
        })
    }
}

/// Analyse a NIfTI plan: its masks traced into contours and analysed by
/// [`crate::analyze_plan`], as a DICOM plan is.
///
/// Fractions for EQD2/BED: `opts.fractions_override`, else the pipeline's
/// `[fractionation]` policy (there is no RT Plan). `opts.courses` is DICOM-only and
/// ignored with a warning.
pub fn analyze_nifti(
    inputs: &NiftiInputs,
    opts: &AnalysisOptions,
) -> Result<Analysis, NiftiInputError> {
    let plan = inputs.read()?;
    Ok(analyze_nifti_plan(&plan, inputs, opts)?)
}

/// [`analyze_nifti`] on a plan already read (e.g. to reuse the masks for export).
pub fn analyze_nifti_plan(
    plan: &NiftiPlan,
    inputs: &NiftiInputs,
    opts: &AnalysisOptions,
) -> Result<Analysis, AnalysisError> {
    let data = nifti_plan_data(plan, inputs);
    let mut opts = opts.clone();
    let mut notes = Vec::new();
    if !opts.courses.is_empty() {
        notes.push("--course is not supported with NIfTI input: ignored".to_string());
        opts.courses.clear();
    }
    if opts.sampling.end_caps != EndCaps::HalfSlab {
        notes.push(format!(
            "--end-caps {:?} does not apply to NIfTI masks: each contour plane is one voxel slice and stands for exactly its voxels",
            opts.sampling.end_caps
        ));
    }
    // Mask edges lie on voxel boundaries, which are the centre lines of the sampling
    // lattice's rows whenever its in-plane refinement factor is even; a row sampled on
    // its centre line would then count a boundary row as wholly in or out. An even
    // number of lines per row keeps every line off the voxel edges of a mask aligned
    // with the dose grid (lines at ¼ and ¾ of a row), so its cells' fractions are exact.
    if opts.sampling.subrows % 2 == 1 {
        opts.sampling.subrows += 1;
    }
    let mut analysis = crate::analyze_plan(&data, &opts)?;
    analysis.settings.end_caps =
        "none (NIfTI masks: each contour plane is one voxel slice)".to_string();
    analysis.warnings.extend(notes);
    Ok(analysis)
}

/// The NIfTI plan as [`PlanData`]: the dose volume as the plan's dose, and every mask
/// traced into a contour structure (in parallel; ROI number = label value, or the
/// mask's position for single masks).
pub fn nifti_plan_data(plan: &NiftiPlan, inputs: &NiftiInputs) -> PlanData {
    let traced: Vec<radtox_nifti::TracedMask> = plan
        .masks
        .par_iter()
        .enumerate()
        .map(|(i, m)| {
            let roi = m
                .label
                .and_then(|l| i32::try_from(l).ok())
                .unwrap_or(i as i32 + 1);
            radtox_nifti::trace_mask(m, roi)
        })
        .collect();
    let mut warnings = plan.dose.warnings.clone();
    let mut structures = Vec::with_capacity(traced.len());
    for (i, t) in traced.into_iter().enumerate() {
        let source = plan.sources.get(i).map_or("", String::as_str);
        warnings.extend(
            t.warnings
                .iter()
                .map(|w| format!("structure '{}' ({source}): {w}", t.structure.name)),
        );
        structures.push(t.structure);
    }
    let structure_files: Vec<String> = inputs
        .labels
        .iter()
        .map(|p| p.display().to_string())
        .chain(
            inputs
                .masks
                .iter()
                .map(|(n, p)| format!("{n}={}", p.display())),
        )
        .collect();
    let summary = format!(
        "NIfTI dose volume (affine from the {:?})",
        plan.dose.affine_source
    );
    let described = Inputs {
        rtdose: vec![inputs.dose.display().to_string()],
        rtstruct: Some(structure_files.join(", ")),
        rtplan: None,
        dose_summation: summary.clone(),
        discovery_notes: vec![
            "NIfTI masks traced along voxel edges into contours: one plane per voxel slice, \
             voxels with a fraction ≥ 0.5 inside"
                .to_string(),
        ],
    };
    let dose = radtox_dicom::CombinedDose {
        grid: plan.dose.grid.clone(),
        info: DoseInfo {
            source: inputs.dose.clone(),
            sop_instance_uid: None,
            frame_of_reference_uid: None,
            units: DoseUnits::Gy,
            dose_type: None,
            summation: DoseSummationType::Other("NIfTI".into()),
            referenced_plan_uid: None,
            referenced_beams: Vec::new(),
            orientation: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        },
        tps_dvhs: Vec::new(),
        summary,
        used: vec![inputs.dose.clone()],
        ignored: Vec::new(),
        warnings: Vec::new(),
    };
    let set = StructureSet {
        source: inputs
            .labels
            .clone()
            .or_else(|| inputs.masks.first().map(|m| m.1.clone()))
            .unwrap_or_default(),
        sop_instance_uid: None,
        frame_of_reference_uid: None,
        label: None,
        structures,
        warnings: Vec::new(),
    };
    PlanData::new(described, dose, set, None, warnings)
}

/// The lattice whose cells are the voxels of a uniform dose grid.
pub fn grid_lattice(grid: &DoseGrid) -> Result<Lattice, String> {
    let step = |v: &[f64], axis: char| -> Result<f64, String> {
        let (Some(first), Some(last)) = (v.first(), v.last()) else {
            return Err(format!("the dose grid has no {axis} positions"));
        };
        if v.len() < 2 {
            return Ok(1.0);
        }
        let s = (last - first) / (v.len() - 1) as f64;
        if v.windows(2).any(|w| ((w[1] - w[0]) - s).abs() > 1e-3) {
            return Err(format!(
                "the dose grid's {axis} spacing is not uniform: its voxels are no lattice"
            ));
        }
        Ok(s)
    };
    let first = |v: &[f64]| v.first().copied().unwrap_or(0.0);
    Lattice::new(
        [first(&grid.x), first(&grid.y), first(&grid.z)],
        [
            step(&grid.x, 'x')?,
            step(&grid.y, 'y')?,
            step(&grid.z, 'z')?,
        ],
        [grid.z.len(), grid.y.len(), grid.x.len()],
    )
    .map_err(|e| e.to_string())
}

/// A mask's fractions on a lattice (`[nz, ny, nx]`): every mask voxel is split into
/// sub-boxes (at most half a lattice cell wide, at most 8 per axis), each adds its share
/// of volume to the cell holding its centre. The total volume inside the lattice is
/// conserved exactly; its split between neighbouring cells is exact when cell faces fall
/// on sub-box faces (same grid, or shifts by half a voxel) and otherwise right to within
/// one sub-box per cell face.
pub fn mask_fractions_on_lattice(mask: &MaskStructure, lattice: &Lattice) -> Array3<f32> {
    let [nz, ny, nx] = lattice.dims;
    let mut acc = Array3::<f64>::zeros((nz, ny, nx));
    let a = mask.affine;
    let col = |c: usize| (a[0][c].powi(2) + a[1][c].powi(2) + a[2][c].powi(2)).sqrt();
    let finest = lattice
        .spacing
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let n: [usize; 3] =
        [0, 1, 2].map(|c| ((col(c) / (finest / 2.0) - 1e-9).ceil() as usize).clamp(1, 8));
    let offsets =
        |m: usize| -> Vec<f64> { (0..m).map(|s| (s as f64 + 0.5) / m as f64 - 0.5).collect() };
    let (ou, ov, ow) = (offsets(n[0]), offsets(n[1]), offsets(n[2]));
    let share = 1.0 / (n[0] * n[1] * n[2]) as f64;
    let voxel_ratio = mask.voxel_volume_mm3() / lattice.spacing.iter().product::<f64>();
    let cell = |p: f64, axis: usize, len: usize| -> Option<usize> {
        let i = ((p - lattice.origin[axis]) / lattice.spacing[axis]).round();
        (i >= 0.0 && (i as usize) < len).then_some(i as usize)
    };
    for &(lin, f) in &mask.fraction {
        let [i, j, k] = mask.voxel_index(lin);
        let w = f64::from(f) * share * voxel_ratio;
        for &dw in &ow {
            for &dv in &ov {
                for &du in &ou {
                    let v = [i as f64 + du, j as f64 + dv, k as f64 + dw];
                    let p: [f64; 3] = [0, 1, 2]
                        .map(|r| a[r][0] * v[0] + a[r][1] * v[1] + a[r][2] * v[2] + a[r][3]);
                    if let (Some(ix), Some(iy), Some(iz)) =
                        (cell(p[0], 0, nx), cell(p[1], 1, ny), cell(p[2], 2, nz))
                        && let Some(c) = acc.get_mut((iz, iy, ix))
                    {
                        *c += w;
                    }
                }
            }
        }
    }
    // Rounding can push a fully covered cell a hair above 1.
    acc.mapv(|v| v.clamp(0.0, 1.0) as f32)
}

/// True when `path` looks like a NIfTI file by name (`.nii`, `.nii.gz`).
pub fn is_nifti_path(path: &Path) -> bool {
    let n = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    n.ends_with(".nii") || n.ends_with(".nii.gz")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(x: Vec<f64>) -> DoseGrid {
        let n = x.len();
        DoseGrid::new(x, vec![0.0], vec![0.0], Array3::zeros((1, 1, n))).unwrap()
    }

    #[test]
    fn mask_arguments() {
        let (n, p) = parse_mask_arg("PTV 1=/a/b=c.nii").unwrap();
        assert_eq!((n.as_str(), p), ("PTV 1", PathBuf::from("/a/b=c.nii")));
        for bad in ["ptv.nii", "=ptv.nii", "PTV="] {
            let e = parse_mask_arg(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn inputs_need_structures_and_names_need_labels() {
        let none = NiftiInputs {
            dose: "d.nii".into(),
            ..NiftiInputs::default()
        };
        assert!(matches!(none.read(), Err(NiftiInputError::NoStructures)));
        let names_only = NiftiInputs {
            label_names: Some("n.json".into()),
            masks: vec![("A".into(), "a.nii".into())],
            ..none
        };
        assert!(matches!(
            names_only.read(),
            Err(NiftiInputError::NamesWithoutLabels(_))
        ));
    }

    #[test]
    fn grid_lattice_is_the_voxel_grid_and_refuses_uneven_spacing() {
        let l = grid_lattice(&grid(vec![-4.0, -2.0, 0.0, 2.0])).unwrap();
        assert_eq!(l.origin, [-4.0, 0.0, 0.0]);
        assert_eq!(l.spacing[0], 2.0);
        assert_eq!(l.dims, [1, 1, 4]);
        let e = grid_lattice(&grid(vec![0.0, 2.0, 5.0])).unwrap_err();
        assert!(e.contains("not uniform"), "{e}");
    }

    #[test]
    fn mask_fractions_on_a_lattice_keep_the_volume() {
        // One 2 mm voxel centred at x = 9 spans 8..10, on a lattice of 2 mm cells at
        // x = 0, 2, …, 10: half in the cell at 8 (7..9), half in the cell at 10 (9..11).
        let l = Lattice::new([0.0, 0.0, 0.0], [2.0, 2.0, 2.0], [2, 2, 6]).unwrap();
        let m = MaskStructure {
            name: "m".into(),
            label: None,
            affine: [
                [2.0, 0.0, 0.0, 9.0],
                [0.0, 2.0, 0.0, 0.0],
                [0.0, 0.0, 2.0, 0.0],
                [0.0, 0.0, 0.0, 1.0],
            ],
            dims: [1, 1, 1],
            fraction: vec![(0, 1.0)],
            warnings: Vec::new(),
        };
        let f = mask_fractions_on_lattice(&m, &l);
        let row: Vec<f32> = f.slice(ndarray::s![0, 0, ..]).to_vec();
        assert_eq!(row, [0.0, 0.0, 0.0, 0.0, 0.5, 0.5]);
        assert_eq!(f.sum(), 1.0);
    }
}
