//! Finding every plan in an archive, by content.
//!
//! Every file under the root is opened just far enough to read its identifying header
//! (never the PixelData, and for RT Structure Sets never the contours); files that are not
//! DICOM are counted and skipped. RT Doses are then grouped into plans by the references
//! DICOM-RT provides: RT Dose → RT Plan (ReferencedRTPlanSequence) → RT Structure Set
//! (ReferencedStructureSetSequence). When the plan or its reference is missing, the
//! structure set sharing the dose's FrameOfReferenceUID (and patient) is used, and a note
//! says so. Anything that cannot be grouped without guessing becomes a
//! [`DiscoveryProblem`] with the reason: duplicate SOP instances with different content,
//! several candidate structure sets, a frame-of-reference mismatch, files of different
//! patients, or a plan/structure set with no dose.
//!
//! Reasons never contain patient IDs or names.

use crate::error::BatchError;
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::entries::{
    EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN,
};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a DICOM file is, as far as plan grouping cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Dose,
    StructureSet,
    Plan,
    Image,
    Other,
}

/// The identifying header of one DICOM file.
#[derive(Debug, Clone)]
pub struct Header {
    pub path: PathBuf,
    pub role: Role,
    pub sop_instance_uid: Option<String>,
    pub frame_of_reference_uid: Option<String>,
    /// RT Dose → RT Plan, RT Plan → RT Structure Set.
    pub referenced_uid: Option<String>,
    pub patient_id: Option<String>,
    pub patient_name: Option<String>,
}

/// One plan ready for analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveredPlan {
    /// Stable identifier from the SOP Instance UIDs of its files (`p` + 16 hex digits):
    /// safe as a file name and free of patient data.
    pub key: String,
    pub doses: Vec<PathBuf>,
    pub structure_set: PathBuf,
    pub plan: Option<PathBuf>,
    /// PatientID (0010,0020), for the patient key and pseudonymisation; never log it.
    pub patient_id: Option<String>,
    /// PatientName (0010,0010), only to scrub it from outputs; never log it.
    pub patient_name: Option<String>,
    /// How the files were grouped, in plain words.
    pub notes: Vec<String>,
}

impl DiscoveredPlan {
    /// Every input file: doses, structure set, plan.
    pub fn files(&self) -> Vec<&Path> {
        let mut f: Vec<&Path> = self.doses.iter().map(PathBuf::as_path).collect();
        f.push(&self.structure_set);
        f.extend(self.plan.as_deref());
        f
    }
}

/// Files that could not be made into a plan, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryProblem {
    /// Stable identifier from the file paths (`d` + 16 hex digits), used for sharding.
    pub key: String,
    pub files: Vec<PathBuf>,
    pub reason: String,
}

/// Everything found under a root.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Sorted by key.
    pub plans: Vec<DiscoveredPlan>,
    /// Sorted by key.
    pub problems: Vec<DiscoveryProblem>,
    pub files_scanned: usize,
    /// Files that are not DICOM (skipped silently unless named `*.dcm`).
    pub non_dicom_files: usize,
    /// DICOM files that play no part in dose analysis (images, other objects).
    pub other_dicom_files: usize,
}

/// Every regular file under `root`, sorted; symbolic links to directories are not
/// followed (a link cycle would recurse forever), `skip` is left out entirely.
pub fn files_under(root: &Path, skip: Option<&Path>) -> Result<Vec<PathBuf>, BatchError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if skip.is_some_and(|s| s == dir) {
            continue;
        }
        for entry in std::fs::read_dir(&dir).map_err(BatchError::io(&dir))? {
            let entry = entry.map_err(BatchError::io(&dir))?;
            let ft = entry.file_type().map_err(BatchError::io(entry.path()))?;
            if ft.is_dir() {
                stack.push(entry.path());
            } else if ft.is_file() || (ft.is_symlink() && entry.path().is_file()) {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// What reading a header gave.
enum Read1 {
    Dicom(Box<Header>),
    NotDicom,
    Unreadable(String),
}

fn trimmed(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = s.trim_matches([' ', '\0']);
    (!s.is_empty()).then(|| s.to_string())
}

fn first_item(obj: &InMemDicomObject, seq: Tag, tag: Tag) -> Option<String> {
    obj.get(seq)?
        .items()?
        .first()
        .and_then(|item| trimmed(item, tag))
}

const RT_DOSE_CLASS: &str = "1.2.840.10008.5.1.4.1.1.481.2";
const RT_STRUCT_CLASS: &str = "1.2.840.10008.5.1.4.1.1.481.3";
const RT_PLAN_CLASS: &str = "1.2.840.10008.5.1.4.1.1.481.5";
const RT_ION_PLAN_CLASS: &str = "1.2.840.10008.5.1.4.1.1.481.8";

fn role_of(obj: &InMemDicomObject) -> Role {
    match trimmed(obj, tags::SOP_CLASS_UID).as_deref() {
        Some(RT_DOSE_CLASS) => return Role::Dose,
        Some(RT_STRUCT_CLASS) => return Role::StructureSet,
        Some(RT_PLAN_CLASS) | Some(RT_ION_PLAN_CLASS) => return Role::Plan,
        _ => {}
    }
    match trimmed(obj, tags::MODALITY).as_deref() {
        Some("RTDOSE") => Role::Dose,
        Some("RTSTRUCT") => Role::StructureSet,
        Some("RTPLAN") | Some("RTIONPLAN") => Role::Plan,
        Some("CT") | Some("MR") | Some("PT") => Role::Image,
        _ => Role::Other,
    }
}

fn header_from(obj: &InMemDicomObject, path: &Path) -> Header {
    let role = role_of(obj);
    let frame = match role {
        Role::StructureSet => first_item(
            obj,
            tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE,
            tags::FRAME_OF_REFERENCE_UID,
        )
        .or_else(|| {
            first_item(
                obj,
                tags::STRUCTURE_SET_ROI_SEQUENCE,
                tags::REFERENCED_FRAME_OF_REFERENCE_UID,
            )
        }),
        _ => trimmed(obj, tags::FRAME_OF_REFERENCE_UID),
    };
    let referenced_uid = match role {
        Role::Dose => first_item(
            obj,
            tags::REFERENCED_RT_PLAN_SEQUENCE,
            tags::REFERENCED_SOP_INSTANCE_UID,
        ),
        Role::Plan => first_item(
            obj,
            tags::REFERENCED_STRUCTURE_SET_SEQUENCE,
            tags::REFERENCED_SOP_INSTANCE_UID,
        ),
        _ => None,
    };
    Header {
        path: path.to_path_buf(),
        role,
        sop_instance_uid: trimmed(obj, tags::SOP_INSTANCE_UID),
        frame_of_reference_uid: frame,
        referenced_uid,
        patient_id: trimmed(obj, tags::PATIENT_ID),
        patient_name: trimmed(obj, tags::PATIENT_NAME),
    }
}

fn open_until(path: &Path, until: Tag) -> Result<InMemDicomObject, String> {
    OpenFileOptions::new()
        .read_until(until)
        .open_file(path)
        .map(|f| f.into_inner())
        // Display only: the Debug form of dicom-rs errors holds a backtrace.
        .map_err(|e| e.to_string())
}

/// Read the identifying header of one file.
fn read_header(path: &Path) -> Read1 {
    let mut head = Vec::with_capacity(132);
    let opened = std::fs::File::open(path).and_then(|f| f.take(132).read_to_end(&mut head));
    if let Err(e) = opened {
        return Read1::Unreadable(format!("could not read: {e}"));
    }
    let has_meta = head.get(128..132) == Some(b"DICM") || head.get(0..4) == Some(b"DICM");
    if has_meta {
        // First pass stops before the ROI contours (the bulk of a structure set); doses
        // and plans keep their references after that point, so they get a second pass
        // that stops before the PixelData.
        let first = match open_until(path, tags::ROI_CONTOUR_SEQUENCE) {
            Ok(o) => o,
            Err(e) => return Read1::Unreadable(e),
        };
        let role = role_of(&first);
        if matches!(role, Role::Dose | Role::Plan) {
            return match open_until(path, tags::PIXEL_DATA) {
                Ok(o) => Read1::Dicom(Box::new(header_from(&o, path))),
                Err(e) => Read1::Unreadable(e),
            };
        }
        return Read1::Dicom(Box::new(header_from(&first, path)));
    }
    // No "DICM": a bare data set (Monaco doses, old structure sets) starts with an even
    // group between 0002 and 0020; anything else is taken for another format.
    let (Some(g), Some(rest)) = (head.get(0..2), head.get(4..6)) else {
        return Read1::NotDicom;
    };
    let group = u16::from_le_bytes([g[0], g[1]]);
    if !(0x0002..=0x0020).contains(&group) || group % 2 != 0 {
        return Read1::NotDicom;
    }
    let explicit = rest[0].is_ascii_uppercase() && rest[1].is_ascii_uppercase();
    let ts = if explicit {
        EXPLICIT_VR_LITTLE_ENDIAN.erased()
    } else {
        IMPLICIT_VR_LITTLE_ENDIAN.erased()
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return Read1::Unreadable(format!("could not read: {e}")),
    };
    match InMemDicomObject::read_dataset_with_ts(std::io::BufReader::new(file), &ts) {
        Ok(o) => Read1::Dicom(Box::new(header_from(&o, path))),
        // A file that merely started like a data set is most likely something else.
        Err(_) => Read1::NotDicom,
    }
}

/// `p`/`d` + 16 hex digits of BLAKE3 over the sorted parts.
fn key_of(prefix: &str, parts: &[String]) -> String {
    let mut sorted: Vec<&String> = parts.iter().collect();
    sorted.sort();
    let mut h = blake3::Hasher::new();
    for p in sorted {
        h.update(p.as_bytes());
        h.update(&[0]);
    }
    format!("{prefix}{}", &h.finalize().to_hex()[..16])
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn problem(root: &Path, files: Vec<PathBuf>, reason: String) -> DiscoveryProblem {
    let mut files = files;
    files.sort();
    files.dedup();
    let parts: Vec<String> = files.iter().map(|f| rel(root, f)).collect();
    DiscoveryProblem {
        key: key_of("d", &parts),
        files,
        reason,
    }
}

fn hash_file(path: &Path) -> Option<blake3::Hash> {
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(path).ok()?).ok()?;
    Some(h.finalize())
}

/// Find and group every plan under `root`. `skip` (the output directory, when it lies
/// under the root) is not scanned.
pub fn discover(root: &Path, skip: Option<&Path>) -> Result<Discovery, BatchError> {
    if !root.is_dir() {
        return Err(BatchError::NotADirectory(root.to_path_buf()));
    }
    let paths = files_under(root, skip)?;
    let read: Vec<(PathBuf, Read1)> = paths
        .par_iter()
        .map(|p| (p.clone(), read_header(p)))
        .collect();
    let mut d = Discovery {
        files_scanned: paths.len(),
        ..Discovery::default()
    };
    let mut headers = Vec::new();
    for (path, r) in read {
        let named_dcm = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("dcm"));
        match r {
            Read1::Dicom(h) => headers.push(*h),
            Read1::NotDicom if named_dcm => {
                d.non_dicom_files += 1;
                d.problems.push(problem(
                    root,
                    vec![path],
                    "named .dcm but not a DICOM file (no \"DICM\" marker, no data set)".into(),
                ));
            }
            Read1::NotDicom => d.non_dicom_files += 1,
            Read1::Unreadable(e) => d.problems.push(problem(
                root,
                vec![path],
                format!("unreadable DICOM file: {e}"),
            )),
        }
    }
    group(root, headers, &mut d);
    d.plans.sort_by(|a, b| a.key.cmp(&b.key));
    d.problems.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(d)
}

/// The grouping proper (see the module documentation).
fn group(root: &Path, headers: Vec<Header>, d: &mut Discovery) {
    // 1. One file per SOP instance. Byte-identical copies (a plan exported twice) keep the
    //    first path and are reported; copies that differ make the UID unusable.
    let mut by_uid: BTreeMap<(Role, String), Vec<Header>> = BTreeMap::new();
    for h in headers {
        if matches!(h.role, Role::Image | Role::Other) {
            d.other_dicom_files += 1;
            continue;
        }
        // Without a SOP Instance UID, the path stands in as a unique identifier.
        let uid = h
            .sop_instance_uid
            .clone()
            .unwrap_or_else(|| format!("path:{}", h.path.display()));
        by_uid.entry((h.role, uid)).or_default().push(h);
    }
    let mut conflicting: BTreeSet<String> = BTreeSet::new();
    let mut unique: Vec<Header> = Vec::new();
    for ((role, uid), mut copies) in by_uid {
        copies.sort_by(|a, b| a.path.cmp(&b.path));
        if copies.len() > 1 {
            let hashes: Vec<Option<blake3::Hash>> =
                copies.iter().map(|c| hash_file(&c.path)).collect();
            let files: Vec<PathBuf> = copies.iter().map(|c| c.path.clone()).collect();
            let identical = hashes[0].is_some() && hashes.iter().all(|h| *h == hashes[0]);
            if identical {
                d.problems.push(problem(
                    root,
                    files.clone(),
                    format!(
                        "duplicate: {} byte-identical copies of one {} (SOP Instance UID {uid}); \
                         only {} is analysed",
                        copies.len(),
                        role_name(role),
                        rel(root, &files[0])
                    ),
                ));
            } else {
                conflicting.insert(uid.clone());
                d.problems.push(problem(
                    root,
                    files,
                    format!(
                        "ambiguous: {} different files claim to be the same {} \
                         (SOP Instance UID {uid}); none is used",
                        copies.len(),
                        role_name(role)
                    ),
                ));
                continue;
            }
        }
        if let Some(first) = copies.into_iter().next() {
            unique.push(first);
        }
    }
    let uid_of = |h: &Header| {
        h.sop_instance_uid
            .clone()
            .unwrap_or_else(|| format!("path:{}", h.path.display()))
    };
    let plans: BTreeMap<String, &Header> = unique
        .iter()
        .filter(|h| h.role == Role::Plan)
        .map(|h| (uid_of(h), h))
        .collect();
    let structs: BTreeMap<String, &Header> = unique
        .iter()
        .filter(|h| h.role == Role::StructureSet)
        .map(|h| (uid_of(h), h))
        .collect();
    // 2. Doses grouped by the plan they reference (BEAM doses of one plan go together);
    //    doses that reference no plan stand alone.
    let mut dose_groups: BTreeMap<String, Vec<&Header>> = BTreeMap::new();
    for h in unique.iter().filter(|h| h.role == Role::Dose) {
        let group = match &h.referenced_uid {
            Some(plan) => format!("plan:{plan}"),
            None => format!("dose:{}", uid_of(h)),
        };
        dose_groups.entry(group).or_default().push(h);
    }
    let mut used: BTreeSet<String> = BTreeSet::new();
    for doses in dose_groups.values() {
        let mut notes = Vec::new();
        let dose_files: Vec<PathBuf> = doses.iter().map(|h| h.path.clone()).collect();
        let plan_ref = doses.first().and_then(|h| h.referenced_uid.clone());
        if let Some(r) = &plan_ref
            && conflicting.contains(r)
        {
            d.problems.push(problem(
                root,
                dose_files,
                format!("the referenced RT Plan {r} exists in conflicting copies"),
            ));
            continue;
        }
        let plan = plan_ref.as_ref().and_then(|r| plans.get(r).copied());
        if let Some(r) = &plan_ref
            && plan.is_none()
        {
            notes.push(format!(
                "the referenced RT Plan {r} is not in the archive: no fractions or prescription"
            ));
        }
        let frames: BTreeSet<&str> = doses
            .iter()
            .filter_map(|h| h.frame_of_reference_uid.as_deref())
            .collect();
        if frames.len() > 1 {
            d.problems.push(problem(
                root,
                dose_files,
                "the RT Doses of one plan have different frames of reference".into(),
            ));
            continue;
        }
        let dose_frame = frames.into_iter().next();
        let dose_patient = doses.iter().find_map(|h| h.patient_id.as_deref());
        // 3. The structure set: by reference from the plan, else by frame of reference.
        let referenced_ss = plan.and_then(|p| p.referenced_uid.clone());
        let mut ss = referenced_ss.as_ref().and_then(|u| structs.get(u).copied());
        if let Some(u) = &referenced_ss
            && conflicting.contains(u)
        {
            let mut files = dose_files.clone();
            files.extend(plan.map(|p| p.path.clone()));
            d.problems.push(problem(
                root,
                files,
                format!("the referenced RT Structure Set {u} exists in conflicting copies"),
            ));
            continue;
        }
        if ss.is_none() {
            let candidates: Vec<&Header> = structs
                .values()
                .filter(|s| {
                    dose_frame.is_some()
                        && s.frame_of_reference_uid.as_deref() == dose_frame
                        && (dose_patient.is_none()
                            || s.patient_id.is_none()
                            || s.patient_id.as_deref() == dose_patient)
                })
                .copied()
                .collect();
            let why = match (&referenced_ss, plan) {
                (Some(u), _) => format!("the plan's RT Structure Set {u} is not in the archive"),
                (None, Some(_)) => "the plan references no RT Structure Set".to_string(),
                (None, None) => "there is no RT Plan to reference one".to_string(),
            };
            let mut files = dose_files.clone();
            files.extend(plan.map(|p| p.path.clone()));
            match candidates.as_slice() {
                [one] => {
                    notes.push(format!(
                        "{why}; the structure set {} was chosen because it alone shares the \
                         dose's frame of reference",
                        rel(root, &one.path)
                    ));
                    ss = Some(one);
                }
                [] => {
                    d.problems.push(problem(
                        root,
                        files,
                        format!(
                            "incomplete: no RT Structure Set ({why}, and none shares the \
                             dose's frame of reference {})",
                            dose_frame.unwrap_or("(unknown)")
                        ),
                    ));
                    if let Some(p) = plan {
                        used.insert(uid_of(p));
                    }
                    continue;
                }
                many => {
                    files.extend(many.iter().map(|s| s.path.clone()));
                    d.problems.push(problem(
                        root,
                        files,
                        format!(
                            "ambiguous: {why}, and {} structure sets share the dose's frame \
                             of reference",
                            many.len()
                        ),
                    ));
                    if let Some(p) = plan {
                        used.insert(uid_of(p));
                    }
                    continue;
                }
            }
        }
        let Some(ss) = ss else { continue };
        used.insert(uid_of(ss));
        if let Some(p) = plan {
            used.insert(uid_of(p));
        }
        let mut files = dose_files.clone();
        files.push(ss.path.clone());
        files.extend(plan.map(|p| p.path.clone()));
        // 4. Consistency: one frame of reference, one patient.
        if let (Some(df), Some(sf)) = (dose_frame, ss.frame_of_reference_uid.as_deref())
            && df != sf
        {
            d.problems.push(problem(
                root,
                files,
                format!(
                    "frame of reference mismatch: the dose is in {df}, the structure set in {sf}"
                ),
            ));
            continue;
        }
        let mut all: Vec<&Header> = doses.clone();
        all.push(ss);
        all.extend(plan);
        let patients: BTreeSet<&str> = all.iter().filter_map(|h| h.patient_id.as_deref()).collect();
        if patients.len() > 1 {
            d.problems.push(problem(
                root,
                files,
                "the files of this plan carry different patient IDs".into(),
            ));
            continue;
        }
        let uids: Vec<String> = all.iter().map(|h| uid_of(h)).collect();
        d.plans.push(DiscoveredPlan {
            key: key_of("p", &uids),
            doses: dose_files,
            structure_set: ss.path.clone(),
            plan: plan.map(|p| p.path.clone()),
            patient_id: patients.into_iter().next().map(str::to_string),
            patient_name: all.iter().find_map(|h| h.patient_name.clone()),
            notes,
        });
    }
    // 5. Plans and structure sets that no dose used: incomplete exports, one problem per
    //    frame of reference.
    let mut leftovers: BTreeMap<String, Vec<&Header>> = BTreeMap::new();
    for h in plans.values().chain(structs.values()) {
        if !used.contains(&uid_of(h)) {
            let frame = h
                .frame_of_reference_uid
                .clone()
                .unwrap_or_else(|| "(unknown)".into());
            leftovers.entry(frame).or_default().push(h);
        }
    }
    for (frame, hs) in leftovers {
        let kinds: BTreeSet<&str> = hs.iter().map(|h| role_name(h.role)).collect();
        d.problems.push(problem(
            root,
            hs.iter().map(|h| h.path.clone()).collect(),
            format!(
                "incomplete: {} with no RT Dose (frame of reference {frame})",
                kinds.into_iter().collect::<Vec<_>>().join(" and ")
            ),
        ));
    }
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Dose => "RT Dose",
        Role::StructureSet => "RT Structure Set",
        Role::Plan => "RT Plan",
        Role::Image => "image",
        Role::Other => "DICOM object",
    }
}
