//! # radtox-dicom
//!
//! Reads DICOM-RT exports into the plain types of `radtox-model` (no DVHs, no rules), and
//! writes derived dose grids back as RT Dose:
//!
//! * [`read_rt_dose`] → [`RtDose`]: the dose grid normalised to the canonical
//!   [`DoseGrid`](radtox_model::DoseGrid) layout (`[iz, iy, ix]`, increasing axes) from
//!   any axis-aligned orientation, 16/32-bit (un)signed samples × DoseGridScaling, in
//!   implicit/explicit VR little endian, explicit VR big endian, deflated or RLE Lossless
//!   files, plus the planning system's DVH Sequence;
//! * [`read_rt_struct`] → [`StructureSet`](radtox_model::StructureSet): closed planar
//!   contours grouped into axial planes, ROIs matched by ROI number;
//! * [`read_rt_plan`] → [`PlanInfo`](radtox_model::PlanInfo): fractions and prescriptions
//!   (also from a truncated file);
//! * [`read_ct_series`] → [`CtVolume`]: CT slices stacked into a Hounsfield-unit volume
//!   on the same canonical grid;
//! * [`combine_doses`]: sum BEAM/PLAN doses without double counting;
//! * [`scan_directory`]: find and group the files of one export by content;
//! * [`discover`]: every plan of a whole archive (batch mode), with
//!   [`sanitize_component`] for any path built from tag values;
//! * [`check_same_frame`]: dose and structures must share a frame of reference;
//! * [`write_rt_dose`]: a grid (e.g. EQD2) as a new RT Dose in the source's study and
//!   frame of reference.
//!
//! Files are parsed by a small parser of our own (module `raw`): element values stay
//! byte ranges of the file buffer and numbers are parsed only when asked for, so a
//! 1.9 MB RT Struct reads in a few milliseconds and classifying a file reads only its
//! first attributes. Files without preamble or file meta, and attributes stored with
//! VR UN, are handled. Every failure is a [`DicomError`] naming the file and the
//! attribute; damaged files give errors, never panics.
//!
//! ```
//! use radtox_dicom::{DicomError, read_rt_dose};
//! use std::path::Path;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("notes.txt");
//! std::fs::write(&path, "not a dose").unwrap();
//! match read_rt_dose(&path) {
//!     Err(e @ DicomError::NotDicom { .. }) => assert!(e.to_string().contains("notes.txt")),
//!     other => panic!("expected NotDicom, got {other:?}"),
//! }
//!
//! // A real export (present in the radtox workspace).
//! let file = Path::new(env!("CARGO_MANIFEST_DIR"))
//!     .join("../../../shared/data/pydicom-edge/rtdose.dcm");
//! if file.exists() {
//!     let dose = read_rt_dose(&file)?;
//!     assert_eq!(dose.grid.dims(), [15, 10, 10]); // [frames (z), rows (y), columns (x)]
//! }
//! # Ok::<(), DicomError>(())
//! ```

mod combine;
mod ct;
mod discover;
mod dose;
mod error;
mod header;
mod object;
mod pages;
mod plan;
mod raw;
mod rle;
mod rtstruct;
mod scan;
mod write;

pub use combine::{CombinedDose, check_same_frame, combine_doses};
pub use ct::{CtVolume, read_ct_series};
pub use discover::{DiscoveredPlan, Discovery, DiscoveryProblem, discover, sanitize_component};
pub use dose::{RtDose, read_rt_dose};
pub use error::{DicomError, TagName};
pub use plan::read_rt_plan;
pub use rtstruct::{PLANE_TOLERANCE_MM, read_rt_struct};
pub use scan::{PlanExport, scan_directory};
pub use write::{RtDoseWriteSpec, WrittenDose, write_rt_dose};
