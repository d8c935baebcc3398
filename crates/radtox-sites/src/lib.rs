//! # radtox-sites
//!
//! The numbers physicists look at per treated site when a patient on T-DM1 is
//! irradiated (issue 4), computed from a [`DoseGrid`](radtox_model::DoseGrid) and
//! contoured structures with their TG-263 names ([`NamedStructure`]). No file formats:
//! readers and the name mapping live elsewhere; each analysis returns typed results and
//! converts them into [`radtox_report::SiteTable`]s.
//!
//! | analysis | figures | table id |
//! |---|---|---|
//! | [`analyse_brain`] | per lesion: volume, max diameter, Rx, D98%, D2%, Paddick CI, GI (island-attributed), RTOG 90-05 limit, > 15 cc, 12 Gy island volume; brain − targets V10/V12/V20/V24 | `brain_lesions`, `brain` |
//! | [`analyse_heart`] | MHD, LV mean/V5/V23, LAD mean/max/V15/V30/V40, other substructures mean/max, Darby relative risk | `heart` |
//! | [`analyse_marrow`], [`analyse_marrow_ct`] | V5–V40 (cc, %) per marrow-bearing bone and their union, active-marrow-weighted fraction at 10/20 Gy; CT HU bone surrogate | `marrow` |
//! | [`analyse_lung`] | total and ipsilateral lung V5, V20, mean | `lung` |
//! | [`analyse_skin_band`] | 5 mm skin band V105/V107/V110 % Rx, max | `skin` |
//!
//! [`analyse_sites`] runs every analysis whose structures are present and
//! [`SiteResults::to_site_tables`] gives the report's tables in a fixed order.
//!
//! Structures are recognised by their TG-263 name when the name mapping gave one, else
//! by their own name, case-insensitively. Every volume uses partial volumes
//! (`radtox-geometry` occupancies); unions and differences are taken on a common lattice.
//!
//! ## Isodose islands (brain)
//!
//! The prescription, half-prescription and 12 Gy isodose volumes are attributed to
//! lesions through *islands*: connected components (26-neighbourhood) of dose-grid
//! voxels at or above the level. Volumes are partial-volume samples of a region
//! (External for PIV/PIV50, Brain for the 12 Gy island; whole dose-grid voxels when the
//! region is not contoured); each sample at or above the level belongs to the island of
//! the hottest corner voxel of its trilinear interpolation cell (that corner is always
//! at or above the level). A lesion owns the islands its own samples reach; an island
//! holding several lesions is split sample by sample by the nearest lesion surface,
//! approximated as distance to the lesion centroid minus its equivalent-sphere radius
//! (exact for spheres), and the lesions are marked merged.
//!
//! ```
//! use ndarray::Array3;
//! use radtox_model::{ContourPlane, DoseGrid, Polygon, Structure};
//! use radtox_sites::{SiteContext, analyse_heart};
//!
//! // A 40 × 40 × 40 mm "Heart" box in a uniform 2 Gy dose.
//! let square = Polygon { points: vec![[-20.0, -20.0], [20.0, -20.0], [20.0, 20.0], [-20.0, 20.0]] };
//! let planes = (0..21)
//!     .map(|k| ContourPlane { z: -20.0 + 2.0 * k as f64, polygons: vec![square.clone()] })
//!     .collect();
//! let heart = Structure {
//!     roi_number: 1, name: "COEUR".into(), interpreted_type: None, color: None,
//!     planes, ignored: vec![], slab_thickness_mm: None,
//! };
//! let axis: Vec<f64> = (0..31).map(|i| -30.0 + 2.0 * i as f64).collect();
//! let grid = DoseGrid::new(axis.clone(), axis.clone(), axis, Array3::from_elem((31, 31, 31), 2.0f32)).unwrap();
//!
//! // The name mapping said "COEUR" is TG-263 "Heart".
//! let structures = vec![(heart, Some("Heart".to_string()))];
//! let h = analyse_heart(&grid, &structures, &SiteContext::default()).unwrap();
//! let darby = h.darby.as_ref().unwrap();
//! assert!((darby.mean_heart_dose_gy - 2.0).abs() < 1e-6);
//! assert!((darby.relative_risk - 1.148).abs() < 1e-6); // 1 + 0.074 × 2
//! assert_eq!(h.to_site_table().id, "heart");
//! ```

mod all;
mod brain;
mod common;
mod error;
mod heart;
mod islands;
mod marrow;
mod thorax;

pub use all::{SiteOptions, SiteResults, analyse_sites};
pub use brain::{
    BrainAnalysis, BrainOptions, BrainVolumes, Lesion, PrescriptionSource, analyse_brain,
    max_diameter_mm, rtog_9005_max_dose_gy,
};
pub use common::{NamedStructure, SiteContext, site_name};
pub use error::SiteError;
pub use heart::{
    CardiacDose, CardiacRole, DARBY_PER_GY, DARBY_PER_GY_HIGH, DARBY_PER_GY_LOW, DARBY_SOURCE,
    DarbyEstimate, HeartAnalysis, analyse_heart, darby_relative_risk,
};
pub use marrow::{
    ACTIVE_MARROW_SHARES, BoneDose, CtBoneOptions, MARROW_LEVELS_GY, MarrowAnalysis, MarrowShare,
    WEIGHTED_LEVELS_GY, analyse_marrow, analyse_marrow_ct, ct_bone_occupancy,
};
pub use thorax::{Laterality, LungAnalysis, LungDose, SkinBand, analyse_lung, analyse_skin_band};
