use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A closed planar polygon in a plane of constant z; the closing edge from the last
/// point back to the first is implicit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Polygon {
    /// `[x, y]` patient coordinates, mm.
    pub points: Vec<[f64; 2]>,
}

impl Polygon {
    /// Signed area (shoelace), positive for counter-clockwise in (x, y).
    pub fn signed_area(&self) -> f64 {
        let p = &self.points;
        let n = p.len();
        if n < 3 {
            return 0.0;
        }
        let mut s = 0.0;
        for i in 0..n {
            let a = p[i];
            let b = p[(i + 1) % n];
            s += a[0] * b[1] - b[0] * a[1];
        }
        0.5 * s
    }
}

/// All CLOSED_PLANAR contours of one structure lying in one plane z. Several polygons
/// combine with the even-odd rule: a polygon inside another is a hole, one inside a hole
/// an island.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContourPlane {
    pub z: f64,
    pub polygons: Vec<Polygon>,
}

/// Contours that describe no volume (POINT, OPEN_PLANAR, OPEN_NONPLANAR), kept so the
/// report can say they were seen and not used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IgnoredContour {
    pub geometric_type: String,
    pub count: usize,
}

/// One ROI of an RT Structure Set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Structure {
    /// ROINumber (3006,0022), the key that links StructureSetROISequence,
    /// ROIContourSequence, RTROIObservationsSequence and DVH items.
    pub roi_number: i32,
    pub name: String,
    /// RTROIInterpretedType (ORGAN, PTV, GTV, EXTERNAL, ...), if given.
    pub interpreted_type: Option<String>,
    pub color: Option<[u8; 3]>,
    /// Planes sorted by increasing z, each z once.
    pub planes: Vec<ContourPlane>,
    pub ignored: Vec<IgnoredContour>,
    /// `Some(t)`: every plane stands for exactly the slab `[z − t/2, z + t/2]`, with no
    /// gap inference and no end caps. Structures traced from voxel masks set it (each
    /// plane is one voxel slice `t` thick), because the slab model's guesses from the
    /// neighbouring planes would be wrong for them: a lone slice would get the dose
    /// grid's z spacing, two slices across a gap would be joined, and `--end-caps flat`
    /// would cut half a voxel off each end. `None` (drawn contours): the slab model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slab_thickness_mm: Option<f64>,
}

impl Structure {
    /// True when the structure has no closed planar contour (it is reported as empty).
    pub fn is_empty(&self) -> bool {
        self.planes.iter().all(|p| p.polygons.is_empty())
    }
}

/// An RT Structure Set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructureSet {
    pub source: PathBuf,
    pub sop_instance_uid: Option<String>,
    pub frame_of_reference_uid: Option<String>,
    pub label: Option<String>,
    pub structures: Vec<Structure>,
    /// Things the reader skipped or repaired, each naming ROI and plane.
    pub warnings: Vec<String>,
}

/// DVHType (3004,0001).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TpsDvhType {
    Cumulative,
    Differential,
    Natural,
}

/// DVHVolumeUnits (3004,0054).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TpsVolumeUnits {
    Cm3,
    Percent,
    PerU,
}

/// One item of the RT Dose DVH Sequence (3004,0050): the planning system's DVH of one ROI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TpsDvh {
    /// ReferencedROINumber from DVHReferencedROISequence.
    pub roi_number: i32,
    pub dvh_type: TpsDvhType,
    pub volume_units: TpsVolumeUnits,
    /// Bin widths in Gy (DVHData odd entries × DVHDoseScaling, converted from cGy if
    /// DoseUnits says so).
    pub bin_widths_gy: Vec<f64>,
    /// Volume per bin (DVHData even entries), in `volume_units`.
    pub volumes: Vec<f64>,
}
