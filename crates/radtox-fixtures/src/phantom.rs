//! The phantom description and the truth it implies (dose grid and structures).

use ndarray::Array3;
use radtox_model::{DoseGrid, Structure, StructureSet};
use std::path::PathBuf;

use crate::layout::{GridSpec, OffsetStyle};
use crate::text::{ds_round, ds_sig};
use crate::{DoseModel, FixtureError, ShapeSpec, WriteOptions};

/// A synthetic plan: grid, analytic dose, analytic structures and prescription.
#[derive(Debug, Clone, PartialEq)]
pub struct Phantom {
    /// Short name (also the fixture folder name); seeds every UID.
    pub name: String,
    /// PatientName (0010,0010), synthetic, e.g. `PHANTOM^BREAST`.
    pub patient_name: String,
    /// PatientID (0010,0020), synthetic.
    pub patient_id: String,
    pub grid: GridSpec,
    pub dose: DoseModel,
    pub structures: Vec<ShapeSpec>,
    /// TargetPrescriptionDose of the plan's TARGET dose reference (Gy).
    pub prescription_gy: f64,
    /// NumberOfFractionsPlanned.
    pub fractions: u32,
    /// RTPlanLabel (SH, ≤ 16 characters).
    pub plan_label: String,
    /// RTPlanName (LO).
    pub plan_name: String,
    /// ROI the prescription refers to (DoseReferenceStructureType VOLUME), or `None`
    /// for a SITE reference.
    pub target_roi: Option<i32>,
}

/// The dose grid quantised for storage: pixel values and the DoseGridScaling that turns
/// them into Gy.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantisedDose {
    /// DoseGridScaling exactly as written (the parsed DS value).
    pub scaling: f64,
    /// DoseGridScaling text as written.
    pub scaling_ds: String,
    /// Pixel values in canonical `[iz, iy, ix]` order.
    pub pixels: Array3<u32>,
    /// Grid axes (x, y, z increasing).
    pub axes: [Vec<f64>; 3],
}

impl Phantom {
    /// Checks every parameter, naming the faulty ROI.
    pub fn check(&self) -> Result<(), FixtureError> {
        let bad = |reason: String| FixtureError::InvalidPhantom {
            phantom: self.name.clone(),
            reason,
        };
        if self.name.is_empty() {
            return Err(bad("empty name".into()));
        }
        self.grid.check().map_err(bad)?;
        self.dose.check().map_err(bad)?;
        if !(self.prescription_gy > 0.0 && self.prescription_gy.is_finite()) {
            return Err(bad("prescription must be a positive dose".into()));
        }
        if self.fractions == 0 {
            return Err(bad("at least one fraction is needed".into()));
        }
        if self.plan_label.is_empty() || self.plan_label.len() > 16 {
            return Err(bad("RTPlanLabel must have 1 to 16 characters (SH)".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.structures {
            if !seen.insert(s.roi_number) {
                return Err(bad(format!("ROI number {} is used twice", s.roi_number)));
            }
            s.check().map_err(|reason| FixtureError::InvalidShape {
                phantom: self.name.clone(),
                roi_number: s.roi_number,
                name: s.name.clone(),
                reason,
            })?;
        }
        if let Some(t) = self.target_roi
            && !seen.contains(&t)
        {
            return Err(bad(format!("target ROI {t} is not among the structures")));
        }
        Ok(())
    }

    /// The structure with ROI number `roi`.
    pub fn structure(&self, roi: i32) -> Option<&ShapeSpec> {
        self.structures.iter().find(|s| s.roi_number == roi)
    }

    /// The analytic dose sampled at the voxel centres (no quantisation), `[iz, iy, ix]`.
    pub fn sampled_dose(&self, style: &OffsetStyle) -> Result<DoseGrid, FixtureError> {
        let (axes, d) = self.sample(style)?;
        let [x, y, z] = axes;
        DoseGrid::new(x, y, z, d.mapv(|v| v as f32)).map_err(|e| FixtureError::InvalidPhantom {
            phantom: self.name.clone(),
            reason: e.to_string(),
        })
    }

    fn sample(&self, style: &OffsetStyle) -> Result<([Vec<f64>; 3], Array3<f64>), FixtureError> {
        self.check()?;
        let x = self.grid.axis(0);
        let y = self.grid.axis(1);
        let z = self.grid.z_positions(style)?;
        let d = Array3::from_shape_fn((z.len(), y.len(), x.len()), |(k, j, i)| {
            self.dose.dose_at([x[i], y[j], z[k]])
        });
        Ok(([x, y, z], d))
    }

    /// The dose as stored for `bits` (16 or 32) bits per pixel. The scaling is chosen so
    /// the maximum dose maps near the top of the range (65000 of 65535; 4·10⁹ of
    /// 2³²−1), rounded to 6 significant digits; pixels are computed with the *rounded*
    /// scaling so that pixel × DoseGridScaling is the dose to within half a step.
    pub fn quantised_dose(
        &self,
        bits: u16,
        style: &OffsetStyle,
    ) -> Result<QuantisedDose, FixtureError> {
        let (axes, d) = self.sample(style)?;
        let top = match bits {
            16 => 65_000.0,
            32 => 4.0e9,
            other => {
                return Err(FixtureError::InvalidOptions {
                    reason: format!("BitsAllocated must be 16 or 32, not {other}"),
                });
            }
        };
        let max = d.iter().copied().fold(0.0f64, f64::max);
        // An all-zero dose still needs a valid, positive scaling.
        let raw = if max > 0.0 { max / top } else { 1.0 / top };
        let scaling_ds = ds_sig(raw, 6);
        let scaling: f64 = scaling_ds.parse().unwrap_or(raw);
        let limit = if bits == 16 {
            f64::from(u16::MAX)
        } else {
            f64::from(u32::MAX)
        };
        let pixels = d.mapv(|v| (v / scaling).round().clamp(0.0, limit) as u32);
        Ok(QuantisedDose {
            scaling,
            scaling_ds,
            pixels,
            axes,
        })
    }

    /// The dose grid a reader should return for a file written with `opts`: quantised
    /// pixels × DoseGridScaling (computed in f64, stored as f32), canonical layout.
    pub fn expected_dose_grid(&self, opts: &WriteOptions) -> Result<DoseGrid, FixtureError> {
        let q = self.quantised_dose(opts.bits, &opts.offsets)?;
        let [x, y, z] = q.axes;
        let d = q.pixels.mapv(|p| (f64::from(p) * q.scaling) as f32);
        DoseGrid::new(x, y, z, d).map_err(|e| FixtureError::InvalidPhantom {
            phantom: self.name.clone(),
            reason: e.to_string(),
        })
    }

    /// The structures as a reader should return them (coordinates as written).
    pub fn expected_structures(&self) -> Vec<Structure> {
        self.structures
            .iter()
            .map(ShapeSpec::to_structure)
            .collect()
    }

    /// The structure set a reader should return for `rtstruct` (its source path).
    pub fn expected_structure_set(&self, rtstruct: PathBuf) -> StructureSet {
        StructureSet {
            source: rtstruct,
            sop_instance_uid: Some(self.uid("rtstruct-sop")),
            frame_of_reference_uid: Some(self.uid("frame-of-reference")),
            label: Some(self.structure_set_label()),
            structures: self.expected_structures(),
            warnings: vec![],
        }
    }

    pub(crate) fn structure_set_label(&self) -> String {
        // SH: at most 16 characters.
        let mut l: String = self.name.chars().take(16).collect();
        if l.is_empty() {
            l.push_str("PHANTOM");
        }
        l
    }

    /// The deterministic UID of `role` (e.g. `"study"`, `"frame-of-reference"`,
    /// `"rtplan-sop"`, `"rtstruct-sop"`) for this phantom.
    pub fn uid(&self, role: &str) -> String {
        crate::text::derived_uid(&[&self.name, role])
    }

    /// Prescription dose as written (DS).
    pub(crate) fn prescription_ds(&self) -> f64 {
        ds_round(self.prescription_gy, 6)
    }

    /// A Markdown table of the ROIs (number, name, type, shape, analytic and slab
    /// volumes), as used in `fixtures/README.md`.
    pub fn describe_markdown(&self) -> String {
        let mut out = String::from(
            "| ROI | name | type | shape | volume (cm³, analytic) | volume (cm³, contour slabs) | planes, spacing |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for s in &self.structures {
            let kind = match &s.shape {
                crate::Shape::Sphere { .. } => "sphere",
                crate::Shape::Ellipsoid { .. } => "ellipsoid",
                crate::Shape::Cylinder { .. } => "elliptic cylinder",
                crate::Shape::Cone { .. } => "cone",
                crate::Shape::Box { .. } => "box",
                crate::Shape::Shell { .. } => "shell (outline + hole)",
                crate::Shape::Union(_) => "union",
            };
            out.push_str(&format!(
                "| {} | `{}` | {} | {} | {:.3} | {:.3} | {} × {} mm |\n",
                s.roi_number,
                s.name,
                s.interpreted_type,
                kind,
                s.shape.volume_mm3() / 1000.0,
                s.slab_volume_mm3() / 1000.0,
                s.contour_planes().len(),
                s.contour.spacing_mm
            ));
        }
        out
    }
}
