//! # radtox-nifti
//!
//! NIfTI-1 dose volumes and structure masks in and out of radtox-model types. Research
//! pipelines keep dose and segmentations as NIfTI; this crate knows no DICOM.
//!
//! * [`read_dose`] reads a dose volume (any integer or real datatype, × `scl_slope` +
//!   `scl_inter`) into a canonical [`DoseGrid`](radtox_model::DoseGrid): array
//!   `[iz, iy, ix]`, increasing patient (LPS) axes. The affine comes from the sform
//!   (sform_code > 0), else the qform (built here from quaternion, pixdim and qfac), else
//!   pixdim alone (warned). NIfTI world coordinates are RAS, DICOM patient coordinates
//!   LPS: x and y are negated. Flips and axis permutations are undone; an oblique dose
//!   grid is an error.
//! * Structures arrive as voxel masks rather than contours: [`read_mask`] (binary or
//!   fractional), [`read_label_map`] with names from [`read_label_names`] (JSON, text
//!   lines, colour tables, ITK-SNAP descriptions). A [`MaskStructure`] keeps its own
//!   grid (which may be oblique); [`mask_samples`] resamples it onto any dose grid by
//!   volume: every mask voxel is split into sub-boxes, each sub-box centre carries
//!   fraction × sub-box volume and the trilinear dose there. The result,
//!   [`MaskSamples`], has the shape of radtox-geometry's `StructureSamples`, so the same
//!   DVH code applies.
//! * [`trace_mask`] outlines a mask into a contour
//!   [`Structure`](radtox_model::Structure) in the patient frame, one plane per voxel
//!   slice: exactly the voxels of a binary mask, a volume-preserving level surface of a
//!   fractional one (on a 4× finer lattice), so masks go through the contour-based
//!   analysis (site analyses, derived structures) like DICOM structures.
//! * [`write_dose`] and [`write_mask`] write a grid (float32, or uint8 for thresholded
//!   masks) with sform and qform set. `.nii` and `.nii.gz` both ways.
//!
//! ```
//! use ndarray::Array3;
//! use radtox_model::DoseGrid;
//! use radtox_nifti::{mask_samples, read_dose, read_mask, write_dose, write_mask, MaskSamplingOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! // 2 mm voxels, dose = x/10 Gy (a linear gradient along patient x).
//! let axis: Vec<f64> = (0..21).map(|i| -20.0 + 2.0 * i as f64).collect();
//! let dose = Array3::from_shape_fn((21, 21, 21), |(_, _, ix)| axis[ix] as f32 / 10.0 + 2.0);
//! let grid = DoseGrid::new(axis.clone(), axis.clone(), axis.clone(), dose)?;
//! write_dose(&dir.path().join("dose.nii.gz"), &grid, "example dose")?;
//! let back = read_dose(&dir.path().join("dose.nii.gz"))?;
//! assert!(back.grid.same_geometry(&grid));
//! assert_eq!(back.grid.dose, grid.dose);
//!
//! // A 10×10×10 mm box mask centred on the origin, on the same grid.
//! let inside = |v: f64| v.abs() < 5.0;
//! let fractions = Array3::from_shape_fn((21, 21, 21), |(iz, iy, ix)| {
//!     f32::from(u8::from(inside(axis[ix]) && inside(axis[iy]) && inside(axis[iz])))
//! });
//! write_mask(&dir.path().join("box.nii"), &grid, &fractions, Some(0.5))?;
//! let mask = read_mask(&dir.path().join("box.nii"), "Box")?;
//! let samples = mask_samples(&mask, &back.grid, &MaskSamplingOptions::default());
//! assert!((samples.volume_cc - 1.0).abs() < 1e-9); // 5×5×5 voxels of 8 mm³
//! let total: f64 = samples.weight_cc.iter().map(|&w| f64::from(w)).sum();
//! let mean: f64 = samples.dose_gy.iter().zip(&samples.weight_cc)
//!     .map(|(&d, &w)| f64::from(d) * f64::from(w)).sum::<f64>() / total;
//! assert!((mean - 2.0).abs() < 1e-5); // the dose at the centre
//! # Ok(())
//! # }
//! ```

mod affine;
mod contour;
mod error;
mod mask;
mod names;
mod read;
mod write;

pub use affine::{Affine, AffineSource, Qform, affine_to_qform, qform_to_affine};
pub use contour::{FRACTIONAL_REFINEMENT, INSIDE_FRACTION, TracedMask, trace_mask};
pub use error::NiftiError;
pub use mask::{
    MaskSamples, MaskSamplingOptions, MaskStructure, mask_samples, read_label_map, read_mask,
};
pub use names::{LabelNames, read_label_names};
pub use read::{NiftiDose, read_dose};
pub use write::{grid_affine, write_dose, write_mask};
