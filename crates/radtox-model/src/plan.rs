use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A prescription from DoseReferenceSequence (300A,0010).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prescription {
    pub description: Option<String>,
    /// DoseReferenceStructureType: POINT, VOLUME, COORDINATES, SITE.
    pub structure_type: Option<String>,
    /// DoseReferenceType: TARGET or ORGAN_AT_RISK.
    pub reference_type: Option<String>,
    /// ReferencedROINumber, when the reference is a volume.
    pub roi_number: Option<i32>,
    /// TargetPrescriptionDose (300A,0026) in Gy.
    pub dose_gy: Option<f64>,
}

/// What an RT Plan says about fractionation and prescription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInfo {
    pub source: PathBuf,
    pub sop_instance_uid: Option<String>,
    pub frame_of_reference_uid: Option<String>,
    pub referenced_structure_set_uid: Option<String>,
    pub label: Option<String>,
    pub name: Option<String>,
    /// NumberOfFractionsPlanned of the first fraction group.
    pub fractions: Option<u32>,
    pub prescriptions: Vec<Prescription>,
    /// Non-fatal problems (e.g. a truncated file read up to the beam sequence).
    pub warnings: Vec<String>,
}

impl PlanInfo {
    /// The prescription dose (Gy) to use for prescription-relative metrics: the largest
    /// TargetPrescriptionDose of a TARGET reference, else of any reference.
    pub fn prescription_gy(&self) -> Option<f64> {
        let max = |it: &mut dyn Iterator<Item = f64>| {
            it.fold(None, |m: Option<f64>, d| Some(m.map_or(d, |m| m.max(d))))
        };
        let targets = max(&mut self
            .prescriptions
            .iter()
            .filter(|p| p.reference_type.as_deref() == Some("TARGET"))
            .filter_map(|p| p.dose_gy));
        targets.or_else(|| max(&mut self.prescriptions.iter().filter_map(|p| p.dose_gy)))
    }
}
