//! Summing the RT Dose files of one export without double counting, and frame of
//! reference checks.

use crate::dose::RtDose;
use crate::error::DicomError;
use radtox_model::{DoseGrid, DoseInfo, DoseSummationType, DoseUnits, StructureSet, TpsDvh};
use std::path::PathBuf;

/// The dose to evaluate, built from one or more RT Dose files.
#[derive(Debug, Clone, PartialEq)]
pub struct CombinedDose {
    /// Sum of the used doses on the grid of the first used dose.
    pub grid: DoseGrid,
    /// Info of the first used dose.
    pub info: DoseInfo,
    /// The planning system's DVHs, kept only when a single dose is used (a sum has none).
    pub tps_dvhs: Vec<TpsDvh>,
    /// Plain words: what was summed, what was ignored and why.
    pub summary: String,
    pub used: Vec<PathBuf>,
    pub ignored: Vec<(PathBuf, String)>,
    pub warnings: Vec<String>,
}

/// Fail when both sides name a FrameOfReferenceUID and they differ. Missing on either
/// side is Ok: the caller should warn that the registration could not be checked.
pub fn check_same_frame(dose: &DoseInfo, ss: &StructureSet) -> Result<(), DicomError> {
    match (&dose.frame_of_reference_uid, &ss.frame_of_reference_uid) {
        (Some(d), Some(s)) if d != s => Err(DicomError::FrameOfReferenceMismatch {
            first_path: dose.source.clone(),
            first_uid: d.clone(),
            second_path: ss.source.clone(),
            second_uid: s.clone(),
        }),
        _ => Ok(()),
    }
}

fn is_beam_level(s: &DoseSummationType) -> bool {
    matches!(
        s,
        DoseSummationType::Beam | DoseSummationType::BeamSession | DoseSummationType::ControlPoint
    )
}

fn label(s: &DoseSummationType) -> String {
    match s {
        DoseSummationType::Other(v) if v.is_empty() => "unknown-summation".into(),
        DoseSummationType::Other(v) => v.clone(),
        other => format!("{other:?}").to_ascii_uppercase(),
    }
}

fn name(info: &DoseInfo) -> String {
    info.source
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| info.source.display().to_string())
}

/// Combine the RT Dose files of one export into the dose to evaluate.
///
/// Rules: plan-level doses (PLAN, MULTI_PLAN and any non-beam type) are used, one per
/// plan (a second dose for the same plan UID, or a repeated SOP instance, is ignored);
/// BEAM doses are summed only when no plan-level dose covers them (same referenced plan
/// UID, or an unknown reference on either side, all files being one export); a BEAM dose
/// repeating the beams of another is ignored. Doses for different plans are summed.
/// Grids that differ are resampled (trilinear) onto the first used grid. Different
/// FrameOfReferenceUIDs are an error; mixing RELATIVE with absolute units too.
pub fn combine_doses(doses: Vec<RtDose>) -> Result<CombinedDose, DicomError> {
    if doses.is_empty() {
        return Err(DicomError::Export {
            path: PathBuf::from("."),
            message: "no RT Dose to combine".into(),
        });
    }
    let mut framed: Option<&DoseInfo> = None;
    for d in &doses {
        if let Some(uid) = &d.info.frame_of_reference_uid {
            match framed {
                Some(f) if f.frame_of_reference_uid.as_deref() != Some(uid) => {
                    return Err(DicomError::FrameOfReferenceMismatch {
                        first_path: f.source.clone(),
                        first_uid: f.frame_of_reference_uid.clone().unwrap_or_default(),
                        second_path: d.info.source.clone(),
                        second_uid: uid.clone(),
                    });
                }
                Some(_) => {}
                None => framed = Some(&d.info),
            }
        }
    }

    let mut use_it = vec![false; doses.len()];
    let mut ignored: Vec<(PathBuf, String)> = Vec::new();
    let mut warnings = Vec::new();
    // 1. Plan-level doses, one per plan.
    for (i, d) in doses.iter().enumerate() {
        if is_beam_level(&d.info.summation) {
            continue;
        }
        let duplicate = doses[..i].iter().enumerate().find(|(j, e)| {
            use_it[*j]
                && (e.info.sop_instance_uid.is_some()
                    && e.info.sop_instance_uid == d.info.sop_instance_uid
                    || e.info.referenced_plan_uid.is_some()
                        && e.info.referenced_plan_uid == d.info.referenced_plan_uid)
        });
        if let Some((_, e)) = duplicate {
            ignored.push((
                d.info.source.clone(),
                format!(
                    "same plan (or same SOP instance) as {}, already used",
                    name(&e.info)
                ),
            ));
            continue;
        }
        use_it[i] = true;
    }
    // 2. Beam doses not covered by a used plan-level dose.
    for (i, d) in doses.iter().enumerate() {
        if !is_beam_level(&d.info.summation) {
            continue;
        }
        let plan_uid = &d.info.referenced_plan_uid;
        let cover = doses.iter().enumerate().find(|(j, e)| {
            use_it[*j]
                && !is_beam_level(&e.info.summation)
                && (plan_uid.is_none()
                    || e.info.referenced_plan_uid.is_none()
                    || e.info.referenced_plan_uid == *plan_uid)
        });
        if let Some((_, e)) = cover {
            ignored.push((
                d.info.source.clone(),
                format!(
                    "{} dose already included in {} dose {}",
                    label(&d.info.summation),
                    label(&e.info.summation),
                    name(&e.info)
                ),
            ));
            continue;
        }
        let repeat = doses[..i].iter().enumerate().find(|(j, e)| {
            use_it[*j]
                && is_beam_level(&e.info.summation)
                && (e.info.sop_instance_uid.is_some()
                    && e.info.sop_instance_uid == d.info.sop_instance_uid
                    || e.info.referenced_plan_uid == *plan_uid
                        && !d.info.referenced_beams.is_empty()
                        && e.info.referenced_beams == d.info.referenced_beams)
        });
        if let Some((_, e)) = repeat {
            ignored.push((
                d.info.source.clone(),
                format!(
                    "same beams {:?} as {}, already summed",
                    d.info.referenced_beams,
                    name(&e.info)
                ),
            ));
            continue;
        }
        use_it[i] = true;
    }

    let used_idx: Vec<usize> = (0..doses.len()).filter(|&i| use_it[i]).collect();
    let relative = |d: &RtDose| d.info.units == DoseUnits::Relative;
    if used_idx.len() > 1 {
        let n_rel = used_idx.iter().filter(|&&i| relative(&doses[i])).count();
        if n_rel > 0 {
            let path = doses[used_idx[0]].info.source.clone();
            return Err(DicomError::Export {
                path,
                message: format!(
                    "{n_rel} of the {} doses to sum are RELATIVE: relative doses cannot be summed",
                    used_idx.len()
                ),
            });
        }
    }

    let mut plan_uids: Vec<Option<String>> = Vec::new();
    for &i in &used_idx {
        let u = doses[i].info.referenced_plan_uid.clone();
        if !plan_uids.contains(&u) {
            plan_uids.push(u);
        }
    }
    let n_used = used_idx.len();
    let mut parts: Vec<String> = Vec::new();
    let mut used = Vec::new();
    let mut grid: Option<DoseGrid> = None;
    let mut info: Option<DoseInfo> = None;
    let mut tps_dvhs = Vec::new();
    let mut resampled = Vec::new();
    let mut doses: Vec<Option<RtDose>> = doses.into_iter().map(Some).collect();
    for &i in &used_idx {
        let Some(d) = doses.get_mut(i).and_then(Option::take) else {
            continue;
        };
        used.push(d.info.source.clone());
        parts.push(format!("{} {}", label(&d.info.summation), name(&d.info)));
        warnings.extend(d.warnings.iter().map(|w| format!("{}: {w}", name(&d.info))));
        match &mut grid {
            None => {
                if n_used == 1 {
                    tps_dvhs = d.tps_dvhs;
                }
                grid = Some(d.grid);
                info = Some(d.info);
            }
            Some(g) => {
                if g.same_geometry(&d.grid) {
                    g.dose += &d.grid.dose;
                } else {
                    let r = g.resample_from(&d.grid);
                    g.dose += &r;
                    resampled.push(name(&d.info));
                }
            }
        }
    }
    let (Some(grid), Some(info)) = (grid, info) else {
        // Unreachable in practice: a non-empty list always yields a used dose.
        return Err(DicomError::Export {
            path: PathBuf::from("."),
            message: "no usable RT Dose".into(),
        });
    };

    let mut summary = if n_used == 1 {
        format!("used {}", parts.join(""))
    } else {
        format!("summed {} doses: {}", n_used, parts.join(" + "))
    };
    if n_used > 1 && plan_uids.len() > 1 {
        summary.push_str(&format!(
            "; these belong to {} different plans (or unknown plans) and were added together",
            plan_uids.len()
        ));
    }
    if !resampled.is_empty() {
        summary.push_str(&format!(
            "; {} resampled (trilinear) onto the grid of {}",
            resampled.join(", "),
            name(&info)
        ));
    }
    for (p, why) in &ignored {
        let f = p
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        summary.push_str(&format!("; ignored {f}: {why}"));
    }
    if n_used > 1 {
        summary
            .push_str("; planning-system DVHs dropped (they describe single files, not the sum)");
    }
    Ok(CombinedDose {
        grid,
        info,
        tps_dvhs,
        summary,
        used,
        ignored,
        warnings,
    })
}
