//! Finding the files of one plan export in a directory, by content (not extension).

use crate::error::DicomError;
use crate::object::Kind;
use std::path::{Path, PathBuf};

/// The files that make up one plan export.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanExport {
    pub doses: Vec<PathBuf>,
    pub structure_set: PathBuf,
    pub plan: Option<PathBuf>,
    pub ct: Vec<PathBuf>,
    /// Choices made and files skipped, in plain words.
    pub notes: Vec<String>,
}

/// What one DICOM file is and what it refers to.
#[derive(Debug)]
struct Found {
    path: PathBuf,
    kind: Kind,
    sop_uid: Option<String>,
    frame: Option<String>,
    /// Dose → plan UID; plan → structure set UID.
    reference: Option<String>,
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DicomError> {
    let io = |source| DicomError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        // file_type() does not follow symlinks, so a link cycle cannot recurse forever.
        if entry.file_type().map_err(io)?.is_dir() {
            files_under(&path, out)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

fn identify(path: &Path) -> Result<Found, DicomError> {
    let h = crate::header::read_header(path)?;
    Ok(Found {
        path: path.to_path_buf(),
        kind: h.kind,
        sop_uid: h.sop_instance_uid,
        frame: h.frame_of_reference_uid,
        reference: h.reference,
    })
}

fn short(p: &Path) -> String {
    p.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

fn describe(found: &[&Found]) -> String {
    found
        .iter()
        .map(|f| {
            format!(
                "{} (frame of reference {})",
                short(&f.path),
                f.frame.as_deref().unwrap_or("unknown")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Find the RT Dose, RT Struct, RT Plan and CT files of one export under `dir`
/// (recursively). Files are recognised by content; non-DICOM files are skipped. With
/// several structure sets or plans, the references (plan → structure set, dose → plan)
/// decide and a note says so; when they cannot, the error lists what was found.
pub fn scan_directory(dir: &Path) -> Result<PlanExport, DicomError> {
    let mut paths = Vec::new();
    files_under(dir, &mut paths)?;
    paths.sort();
    let mut notes = Vec::new();
    let mut found = Vec::new();
    let mut skipped = 0usize;
    for p in &paths {
        match identify(p) {
            Ok(f) => found.push(f),
            Err(DicomError::NotDicom { .. }) => skipped += 1,
            Err(e) => notes.push(format!("skipped {}: {e}", short(p))),
        }
    }
    if skipped > 0 {
        notes.push(format!("{skipped} non-DICOM file(s) skipped"));
    }
    let err = |message: String| DicomError::Export {
        path: dir.to_path_buf(),
        message,
    };
    let of = |k: Kind| found.iter().filter(|f| f.kind == k).collect::<Vec<_>>();
    let (structs, plans, doses, cts) = (
        of(Kind::Struct),
        of(Kind::Plan),
        of(Kind::Dose),
        of(Kind::Ct),
    );
    let others = found
        .iter()
        .filter(|f| matches!(f.kind, Kind::Other | Kind::Unknown))
        .count();
    if others > 0 {
        notes.push(format!("{others} DICOM file(s) of other kinds ignored"));
    }
    let inventory = format!(
        "found {} RT Struct, {} RT Plan, {} RT Dose, {} CT",
        structs.len(),
        plans.len(),
        doses.len(),
        cts.len()
    );

    // The structure set.
    let structure = match structs.as_slice() {
        [] => return Err(err(format!("no RT Structure Set ({inventory})"))),
        [only] => *only,
        many => {
            let referenced: Vec<&&Found> = many
                .iter()
                .filter(|s| s.sop_uid.is_some() && plans.iter().any(|p| p.reference == s.sop_uid))
                .collect();
            match referenced.as_slice() {
                [one] => {
                    notes.push(format!(
                        "{} structure sets; chose {} because the RT Plan references it",
                        many.len(),
                        short(&one.path)
                    ));
                    **one
                }
                _ => {
                    return Err(err(format!(
                        "{} RT Structure Sets and no RT Plan reference decides between them: {}",
                        many.len(),
                        describe(many)
                    )));
                }
            }
        }
    };
    let frame = structure.frame.clone();
    let same_frame = |f: &Found| frame.is_none() || f.frame.is_none() || f.frame == frame;

    // The plan (optional).
    let candidates: Vec<&Found> = plans
        .iter()
        .copied()
        .filter(|p| {
            (p.reference.is_some() && p.reference == structure.sop_uid)
                || (p.reference.is_none() && same_frame(p))
        })
        .collect();
    let plan = match candidates.as_slice() {
        [] => {
            if !plans.is_empty() {
                notes.push(format!(
                    "RT Plan(s) ignored, they belong to another structure set or frame of reference: {}",
                    describe(&plans)
                ));
            }
            None
        }
        [one] => Some(*one),
        many => {
            let by_dose: Vec<&&Found> = many
                .iter()
                .filter(|p| p.sop_uid.is_some() && doses.iter().any(|d| d.reference == p.sop_uid))
                .collect();
            match by_dose.as_slice() {
                [one] => {
                    notes.push(format!(
                        "{} RT Plans; chose {} because the RT Dose references it",
                        many.len(),
                        short(&one.path)
                    ));
                    Some(**one)
                }
                _ => {
                    return Err(err(format!(
                        "{} RT Plans for structure set {} and no RT Dose reference decides: {}",
                        many.len(),
                        short(&structure.path),
                        describe(many)
                    )));
                }
            }
        }
    };

    // Doses in the structure set's frame of reference.
    let (kept, other_frame): (Vec<&Found>, Vec<&Found>) =
        doses.iter().copied().partition(|d| same_frame(d));
    if kept.is_empty() {
        return Err(err(if other_frame.is_empty() {
            format!("no RT Dose ({inventory})")
        } else {
            format!(
                "no RT Dose in the frame of reference {} of structure set {}; doses found: {}",
                frame.as_deref().unwrap_or("unknown"),
                short(&structure.path),
                describe(&other_frame)
            )
        }));
    }
    if !other_frame.is_empty() {
        notes.push(format!(
            "RT Dose(s) in another frame of reference ignored: {}",
            describe(&other_frame)
        ));
    }
    let ct: Vec<PathBuf> = cts
        .iter()
        .filter(|c| same_frame(c))
        .map(|c| c.path.clone())
        .collect();
    if ct.len() < cts.len() {
        notes.push(format!(
            "{} CT slice(s) in another frame of reference ignored",
            cts.len() - ct.len()
        ));
    }
    Ok(PlanExport {
        doses: kept.iter().map(|d| d.path.clone()).collect(),
        structure_set: structure.path.clone(),
        plan: plan.map(|p| p.path.clone()),
        ct,
        notes,
    })
}
