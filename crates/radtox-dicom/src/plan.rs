//! RT Plan: label, fractions, prescriptions, references.

use crate::error::DicomError;
use crate::object::{Kind, Mode, expect_kind, open};
use dicom_dictionary_std::tags;
use radtox_model::{PlanInfo, Prescription};
use std::path::Path;

/// Read an RT Plan (or RT Ion Plan). A truncated file is read up to its BeamSequence,
/// which keeps the fraction group and dose reference data (with a warning).
pub fn read_rt_plan(path: &Path) -> Result<PlanInfo, DicomError> {
    // Beams come after fraction groups and dose references in tag order: a file damaged
    // in its beams still has what dosimetry needs, so damage keeps what precedes it.
    let opened = open(path, Mode::Salvage)?;
    let a = opened.attrs(path);
    expect_kind(&a, Kind::Plan, "an RT Plan")?;
    let mut warnings = opened.warnings.clone();
    if let Some(message) = &opened.damage {
        let has = |t| a.element(t).is_some();
        if !has(tags::FRACTION_GROUP_SEQUENCE) && !has(tags::DOSE_REFERENCE_SEQUENCE) {
            return Err(DicomError::Unreadable {
                path: path.to_path_buf(),
                message: message.clone(),
            });
        }
        warnings.push(format!(
            "the file is truncated or damaged ({message}); read up to the damage only"
        ));
    }

    let fraction_groups = a.items(tags::FRACTION_GROUP_SEQUENCE);
    let mut fractions = None;
    if let Some(fg) = fraction_groups.first() {
        let f = a.with_context(fg, "FractionGroupSequence item 1");
        fractions =
            match f.int_opt(tags::NUMBER_OF_FRACTIONS_PLANNED)? {
                Some(n) => Some(u32::try_from(n).map_err(|_| {
                    f.bad(tags::NUMBER_OF_FRACTIONS_PLANNED, format!("{n} fractions"))
                })?),
                None => None,
            };
    }
    if fraction_groups.len() > 1 {
        warnings.push(format!(
            "{} fraction groups: fractions taken from the first",
            fraction_groups.len()
        ));
    }

    let mut prescriptions = Vec::new();
    for (n, item) in a.items(tags::DOSE_REFERENCE_SEQUENCE).iter().enumerate() {
        let ctx = format!("DoseReferenceSequence item {}", n + 1);
        let d = a.with_context(item, &ctx);
        prescriptions.push(Prescription {
            description: d.str_opt(tags::DOSE_REFERENCE_DESCRIPTION),
            structure_type: d.str_opt(tags::DOSE_REFERENCE_STRUCTURE_TYPE),
            reference_type: d.str_opt(tags::DOSE_REFERENCE_TYPE),
            roi_number: d.i32_opt(tags::REFERENCED_ROI_NUMBER)?,
            dose_gy: d.f64_opt(tags::TARGET_PRESCRIPTION_DOSE)?,
        });
    }

    // Fallback: no TargetPrescriptionDose anywhere → Σ BeamDose × fractions, but only
    // when every beam states its dose at one and the same BeamDoseSpecificationPoint.
    // Beams aimed at different points (multi-isocentre radiosurgery: the RayStation
    // example sums to 70 Gy with a 62 Gy maximum) do not add up to a prescription.
    if prescriptions.iter().all(|p| p.dose_gy.is_none())
        && let (Some(fg), Some(nfx)) = (fraction_groups.first(), fractions)
    {
        let f = a.with_context(fg, "FractionGroupSequence item 1");
        let mut per_fraction = 0.0;
        let mut any = false;
        let mut points: Vec<Option<Vec<f64>>> = Vec::new();
        for b in f.items(tags::REFERENCED_BEAM_SEQUENCE) {
            let item = a.with_context(b, "FractionGroupSequence item 1");
            if let Some(d) = item.f64_opt(tags::BEAM_DOSE)? {
                per_fraction += d;
                any = true;
                // Retired in the current standard but written by the planning systems
                // whose plans lack TargetPrescriptionDose; absent means "unstated".
                #[allow(deprecated)]
                let point = tags::BEAM_DOSE_SPECIFICATION_POINT;
                points.push(item.f64s_opt(point)?);
            }
        }
        let one_point = points.first().is_some_and(|p0| {
            p0.is_some()
                && points.iter().all(|p| {
                    matches!((p, p0), (Some(p), Some(q)) if p.len() == q.len()
                        && p.iter().zip(q).all(|(x, y)| (x - y).abs() < 0.5))
                })
        });
        if any && !one_point {
            warnings.push(format!(
                "no TargetPrescriptionDose in DoseReferenceSequence; the beams' BeamDose values \
                 (Σ × {nfx} fx = {:.4} Gy) refer to different or unstated dose specification \
                 points, so they give no prescription: prescription unknown",
                per_fraction * nfx as f64
            ));
        }
        if any && one_point {
            let total = per_fraction * nfx as f64;
            warnings.push(format!(
                "no TargetPrescriptionDose in DoseReferenceSequence: prescription taken as the sum of \
                 BeamDose over the first fraction group × {nfx} fractions = {total:.4} Gy"
            ));
            prescriptions.push(Prescription {
                description: Some("sum of BeamDose × fractions".into()),
                structure_type: None,
                reference_type: Some("TARGET".into()),
                roi_number: None,
                dose_gy: Some(total),
            });
        }
    }

    let referenced_structure_set_uid = a
        .items(tags::REFERENCED_STRUCTURE_SET_SEQUENCE)
        .first()
        .and_then(|i| {
            a.with_context(i, "")
                .str_opt(tags::REFERENCED_SOP_INSTANCE_UID)
        });
    Ok(PlanInfo {
        source: path.to_path_buf(),
        sop_instance_uid: a.str_opt(tags::SOP_INSTANCE_UID),
        frame_of_reference_uid: a.str_opt(tags::FRAME_OF_REFERENCE_UID),
        referenced_structure_set_uid,
        label: a.str_opt(tags::RT_PLAN_LABEL),
        name: a.str_opt(tags::RT_PLAN_NAME),
        fractions,
        prescriptions,
        warnings,
    })
}
