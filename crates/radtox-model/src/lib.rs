//! # radtox-model
//!
//! Plain data types that every stage of radtox passes along: a [`DoseGrid`], a
//! [`StructureSet`] of contoured [`Structure`]s, the [`PlanInfo`] of an RT Plan and the
//! planning system's own DVHs ([`TpsDvh`]). The types hold no file handles and no DICOM
//! objects, so each stage (reading, geometry, dose, clinic, report) can be tested alone.
//!
//! Coordinates are DICOM patient coordinates (LPS) in millimetres. Readers normalise
//! every axis-aligned grid orientation into one canonical layout: the dose array is
//! indexed `[iz, iy, ix]` and the axis positions `x`, `y`, `z` are strictly increasing,
//! so nothing downstream ever has to think about ImageOrientationPatient.
//!
//! ```
//! use radtox_model::DoseGrid;
//! use ndarray::Array3;
//!
//! // A 3×3×3 grid, 2 mm voxels, dose increasing along x.
//! let axis = vec![0.0, 2.0, 4.0];
//! let dose = Array3::from_shape_fn((3, 3, 3), |(_, _, ix)| ix as f32);
//! let grid = DoseGrid::new(axis.clone(), axis.clone(), axis, dose).unwrap();
//! assert_eq!(grid.interpolate([1.0, 2.0, 2.0]), Some(0.5));
//! assert_eq!(grid.interpolate([5.0, 2.0, 2.0]), None); // outside the grid
//! ```

mod dose;
mod plan;
mod structure;

pub use dose::{DoseGrid, DoseInfo, DoseSummationType, DoseUnits, GridError};
pub use plan::{PlanInfo, Prescription};
pub use structure::{
    ContourPlane, IgnoredContour, Polygon, Structure, StructureSet, TpsDvh, TpsDvhType,
    TpsVolumeUnits,
};
