//! Archive discovery for batch mode: every plan under a root folder, by content.
//!
//! Files are classified with header-only reads (in parallel), then grouped:
//! RT Dose → (ReferencedRTPlanSequence) RT Plan → (ReferencedStructureSetSequence)
//! RT Struct, falling back to the FrameOfReferenceUID (and StudyInstanceUID when both
//! sides have one) where references are absent. Nothing here fails as a whole: what
//! cannot be grouped is a [`DiscoveryProblem`] naming the files.

use crate::error::DicomError;
use crate::header::{Header, read_header};
use crate::object::Kind;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Everything found under a root folder.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Discovery {
    /// One entry per plan to analyse, sorted by key.
    pub plans: Vec<DiscoveredPlan>,
    pub problems: Vec<DiscoveryProblem>,
    /// Files that are not DICOM at all (counted, never an error).
    pub skipped_non_dicom: usize,
}

/// The files of one plan: doses that belong together, their structure set, plan and CT.
#[derive(Clone, PartialEq)]
pub struct DiscoveredPlan {
    /// Stable, filesystem-safe identifier derived from SOP Instance UIDs (the RT Plan's,
    /// else the one the doses reference, else the first dose's), passed through
    /// [`sanitize_component`]; unique within one [`Discovery`].
    pub key: String,
    pub doses: Vec<PathBuf>,
    pub structure_set: PathBuf,
    pub plan: Option<PathBuf>,
    /// CT slices in the structure set's frame of reference, sorted by path.
    pub ct: Vec<PathBuf>,
    /// PatientID, only so that a caller can build pseudonymised keys. Never log it:
    /// `Debug` prints it redacted.
    pub patient_id: Option<String>,
    /// Choices made (fallbacks, ignored duplicates), in plain words.
    pub notes: Vec<String>,
}

impl std::fmt::Debug for DiscoveredPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscoveredPlan")
            .field("key", &self.key)
            .field("doses", &self.doses)
            .field("structure_set", &self.structure_set)
            .field("plan", &self.plan)
            .field("ct", &self.ct)
            .field(
                "patient_id",
                &self.patient_id.as_ref().map(|_| "<redacted>"),
            )
            .field("notes", &self.notes)
            .finish()
    }
}

/// Files that could not become (part of) a plan, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DiscoveryProblem {
    pub files: Vec<PathBuf>,
    pub reason: String,
}

/// Longest component [`sanitize_component`] returns.
const MAX_COMPONENT: usize = 100;

/// A file or folder name built from tag values (UIDs, IDs, labels) that is safe on any
/// filesystem: only `[A-Za-z0-9._-]` (anything else becomes `_`), never `..` nor a leading
/// dot, never empty, at most 100 characters (a longer input keeps its first 83 characters
/// plus `-` and a 16-digit hash of the whole input, so distinct inputs stay distinct).
///
/// ```
/// use radtox_dicom::sanitize_component;
/// assert_eq!(sanitize_component("1.2.840.5"), "1.2.840.5");
/// let s = sanitize_component("../../etc");
/// assert!(!s.contains("..") && !s.contains('/') && !s.starts_with('.'));
/// assert_eq!(sanitize_component(""), "_");
/// ```
pub fn sanitize_component(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    while out.contains("..") {
        out = out.replace("..", "_.");
    }
    if out.starts_with('.') {
        out.replace_range(0..1, "_");
    }
    if out.is_empty() {
        out.push('_');
    }
    if out.len() > MAX_COMPONENT {
        // ASCII only by now, so byte slicing is on character boundaries.
        out.truncate(MAX_COMPONENT - 17);
        if out.ends_with('.') {
            out.pop();
            out.push('_');
        }
        out.push_str(&format!("-{:016x}", fnv1a64(s.as_bytes())));
    }
    out
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Every regular file under `dir`, following directory symlinks at most once per real
/// directory (so a link cycle cannot recurse forever).
fn walk(
    dir: &Path,
    seen: &mut HashSet<PathBuf>,
    out: &mut Vec<PathBuf>,
    problems: &mut Vec<DiscoveryProblem>,
) {
    let real = match std::fs::canonicalize(dir) {
        Ok(r) => r,
        Err(e) => {
            problems.push(unreadable_dir(dir, e));
            return;
        }
    };
    if !seen.insert(real) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(unreadable_dir(dir, e));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(unreadable_dir(dir, e));
                continue;
            }
        };
        let path = entry.path();
        // metadata() follows symlinks: a link to a folder is walked (once), a dangling
        // link is reported.
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, seen, out, problems),
            Ok(m) if m.is_file() => out.push(path),
            Ok(_) => {}
            Err(e) => problems.push(DiscoveryProblem {
                files: vec![path],
                reason: format!("cannot read: {e}"),
            }),
        }
    }
}

fn unreadable_dir(dir: &Path, e: std::io::Error) -> DiscoveryProblem {
    DiscoveryProblem {
        files: vec![dir.to_path_buf()],
        reason: format!("cannot read folder: {e}"),
    }
}

struct Entry {
    path: PathBuf,
    h: Header,
}

/// The CT slices of one plan among those in its frame of reference: the series the
/// structure set was drawn on when it names one, else the only series, else the
/// largest (with a note). Several series in one frame (4D CT phases, a re-scan) would
/// otherwise stack into one impossible volume.
fn choose_ct(
    entries: &[Entry],
    candidates: &[usize],
    structure: &Header,
) -> (Vec<PathBuf>, Option<String>) {
    let mut series: BTreeMap<Option<&str>, Vec<usize>> = BTreeMap::new();
    for &i in candidates {
        series
            .entry(entries[i].h.series_instance_uid.as_deref())
            .or_default()
            .push(i);
    }
    let paths = |v: &[usize]| {
        v.iter()
            .map(|&i| entries[i].path.clone())
            .collect::<Vec<_>>()
    };
    if series.len() <= 1 {
        return (paths(candidates), None);
    }
    if let Some(v) = structure
        .referenced_series
        .iter()
        .find_map(|uid| series.get(&Some(uid.as_str())))
    {
        return (
            paths(v),
            Some(format!(
                "{} CT series share the frame of reference; chose the one the structure set references",
                series.len()
            )),
        );
    }
    // Largest series; ties broken by the series UID order (deterministic).
    let best = series
        .iter()
        .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))
        .map(|(_, v)| paths(v))
        .unwrap_or_default();
    (
        best,
        Some(format!(
            "{} CT series share the frame of reference and the structure set names none of them; chose the largest",
            series.len()
        )),
    )
}

/// True when the two files hold the same bytes.
fn same_content(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(ma), Ok(mb)) if ma.len() == mb.len() => {
            matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
        }
        _ => false,
    }
}

/// Both known and different: the only case in which two studies are known not to match.
fn differ(a: &Option<String>, b: &Option<String>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if x != y)
}

/// Find and group every plan under `root` (recursively). Never fails: unreadable
/// folders and files, damaged DICOM and files that cannot be grouped are listed in
/// [`Discovery::problems`]; non-DICOM files are only counted.
///
/// Rules, in order: files with the same SOP Instance UID and the same bytes count once
/// (a note names the copies); with different bytes they are all set aside as a problem.
/// Each RT Dose goes to the RT Plan it references (else, with no reference, the only
/// plan in its frame of reference and study), and to the structure set that plan
/// references (else the only one in the dose's frame of reference and study). Doses of
/// the same plan and structure set form one [`DiscoveredPlan`].
pub fn discover(root: &Path) -> Discovery {
    let mut problems = Vec::new();
    let mut paths = Vec::new();
    if root.is_file() {
        paths.push(root.to_path_buf());
    } else {
        walk(root, &mut HashSet::new(), &mut paths, &mut problems);
    }
    paths.sort();
    let read: Vec<(PathBuf, Result<Header, DicomError>)> = paths
        .into_par_iter()
        .map(|p| {
            let h = read_header(&p);
            (p, h)
        })
        .collect();

    let mut skipped_non_dicom = 0;
    let mut entries = Vec::new();
    for (path, header) in read {
        match header {
            Ok(h) if matches!(h.kind, Kind::Dose | Kind::Struct | Kind::Plan | Kind::Ct) => {
                entries.push(Entry { path, h })
            }
            Ok(_) => {}
            Err(DicomError::NotDicom { .. }) => skipped_non_dicom += 1,
            Err(e) => problems.push(DiscoveryProblem {
                files: vec![path],
                reason: e.to_string(),
            }),
        }
    }

    // Duplicate SOP Instance UIDs (entries are in path order, so the first copy wins).
    let mut by_uid: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(u) = &e.h.sop_instance_uid {
            by_uid.entry(u.as_str()).or_default().push(i);
        }
    }
    let mut dropped = vec![false; entries.len()];
    let mut file_notes: HashMap<usize, Vec<String>> = HashMap::new();
    let mut dup_groups: Vec<&Vec<usize>> = by_uid.values().filter(|v| v.len() > 1).collect();
    dup_groups.sort();
    for group in dup_groups {
        let Some((&first, rest)) = group.split_first() else {
            continue;
        };
        let first_path = &entries[first].path;
        if rest
            .iter()
            .all(|&i| same_content(first_path, &entries[i].path))
        {
            let copies: Vec<String> = rest
                .iter()
                .map(|&i| entries[i].path.display().to_string())
                .collect();
            file_notes.entry(first).or_default().push(format!(
                "identical copies of {} ignored (same SOP Instance UID and bytes): {}",
                first_path.display(),
                copies.join(", ")
            ));
            for &i in rest {
                dropped[i] = true;
            }
        } else {
            problems.push(DiscoveryProblem {
                files: group.iter().map(|&i| entries[i].path.clone()).collect(),
                reason: "files share one SOP Instance UID but differ in content: none is used"
                    .into(),
            });
            for &i in group {
                dropped[i] = true;
            }
        }
    }
    let live = |k: Kind| -> Vec<usize> {
        (0..entries.len())
            .filter(|&i| !dropped[i] && entries[i].h.kind == k)
            .collect()
    };
    let (doses, plans, structs, cts) = (
        live(Kind::Dose),
        live(Kind::Plan),
        live(Kind::Struct),
        live(Kind::Ct),
    );
    let find_uid = |list: &[usize], uid: &str| {
        list.iter()
            .copied()
            .find(|&i| entries[i].h.sop_instance_uid.as_deref() == Some(uid))
    };
    // Candidates sharing `of`'s frame of reference (and not a known different study).
    let same_frame = |list: &[usize], of: &Header| -> Vec<usize> {
        list.iter()
            .copied()
            .filter(|&i| {
                let h = &entries[i].h;
                of.frame_of_reference_uid.is_some()
                    && h.frame_of_reference_uid == of.frame_of_reference_uid
                    && !differ(&h.study_instance_uid, &of.study_instance_uid)
            })
            .collect()
    };
    let names = |list: &[usize]| -> Vec<PathBuf> {
        list.iter().map(|&i| entries[i].path.clone()).collect()
    };

    /// Doses grouped under one (structure set, plan identity).
    struct Group {
        doses: Vec<usize>,
        plan: Option<usize>,
        notes: Vec<String>,
    }
    let mut groups: BTreeMap<(usize, Option<String>), Group> = BTreeMap::new();
    // Plans some dose points to, grouped or not (a plan already named in a dose's
    // problem is not reported again as dose-less).
    let mut claimed_plans: HashSet<usize> = HashSet::new();
    for &d in &doses {
        let dose = &entries[d];
        let mut notes = Vec::new();
        let plan = match &dose.h.reference {
            Some(uid) => {
                let p = find_uid(&plans, uid);
                if p.is_none() {
                    notes.push(format!(
                        "{} references RT Plan {uid}, which is not in the archive",
                        dose.path.display()
                    ));
                }
                p
            }
            None => match same_frame(&plans, &dose.h).as_slice() {
                [one] => {
                    notes.push(format!(
                        "{} has no plan reference; RT Plan {} chosen by frame of reference",
                        dose.path.display(),
                        entries[*one].path.display()
                    ));
                    Some(*one)
                }
                _ => None,
            },
        };
        claimed_plans.extend(plan);
        let referenced_struct = plan
            .and_then(|p| entries[p].h.reference.as_deref())
            .and_then(|uid| find_uid(&structs, uid));
        let structure = match referenced_struct {
            Some(s) => s,
            None => match same_frame(&structs, &dose.h).as_slice() {
                [one] => {
                    if plan.is_some_and(|p| entries[p].h.reference.is_some()) {
                        notes.push(format!(
                            "the referenced structure set is not in the archive; {} chosen by frame of reference",
                            entries[*one].path.display()
                        ));
                    }
                    *one
                }
                [] => {
                    let mut files = vec![dose.path.clone()];
                    files.extend(plan.map(|p| entries[p].path.clone()));
                    problems.push(DiscoveryProblem {
                        files,
                        reason: format!(
                            "RT Dose without a structure set: none is referenced and none shares its frame of reference {}",
                            dose.h.frame_of_reference_uid.as_deref().unwrap_or("(absent)")
                        ),
                    });
                    continue;
                }
                many => {
                    let mut files = vec![dose.path.clone()];
                    files.extend(names(many));
                    problems.push(DiscoveryProblem {
                        files,
                        reason: format!(
                            "{} structure sets share the frame of reference {} of this RT Dose and no reference decides between them",
                            many.len(),
                            dose.h.frame_of_reference_uid.as_deref().unwrap_or("(absent)")
                        ),
                    });
                    continue;
                }
            },
        };
        if differ(
            &entries[structure].h.frame_of_reference_uid,
            &dose.h.frame_of_reference_uid,
        ) {
            notes.push(format!(
                "{} and its structure set {} are in different frames of reference",
                dose.path.display(),
                entries[structure].path.display()
            ));
        }
        let identity = plan
            .and_then(|p| entries[p].h.sop_instance_uid.clone())
            .or_else(|| dose.h.reference.clone());
        let g = groups.entry((structure, identity)).or_insert(Group {
            doses: Vec::new(),
            plan,
            notes: Vec::new(),
        });
        g.doses.push(d);
        g.notes.extend(notes);
    }

    let used_structs: HashSet<usize> = groups.keys().map(|(s, _)| *s).collect();
    for &p in &plans {
        if !claimed_plans.contains(&p) {
            problems.push(DiscoveryProblem {
                files: vec![entries[p].path.clone()],
                reason: "RT Plan with no RT Dose in the archive".into(),
            });
        }
    }
    for &s in &structs {
        if !used_structs.contains(&s) {
            problems.push(DiscoveryProblem {
                files: vec![entries[s].path.clone()],
                reason: "RT Structure Set with no RT Dose in the archive".into(),
            });
        }
    }

    let mut out: Vec<DiscoveredPlan> = Vec::new();
    for ((s, identity), g) in groups {
        let structure = &entries[s];
        let (ct, ct_note) = choose_ct(&entries, &same_frame(&cts, &structure.h), &structure.h);
        let mut notes = g.notes;
        notes.extend(ct_note);
        let base = identity
            .or_else(|| {
                g.doses
                    .first()
                    .and_then(|&d| entries[d].h.sop_instance_uid.clone())
            })
            .unwrap_or_else(|| {
                g.doses
                    .first()
                    .and_then(|&d| entries[d].path.file_stem())
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        let members = g.doses.iter().copied().chain([s]).chain(g.plan);
        for i in members {
            if let Some(n) = file_notes.get(&i) {
                notes.extend(n.iter().cloned());
            }
        }
        out.push(DiscoveredPlan {
            key: sanitize_component(&base),
            doses: names(&g.doses),
            structure_set: structure.path.clone(),
            plan: g.plan.map(|p| entries[p].path.clone()),
            ct,
            patient_id: structure.h.patient_id.clone(),
            notes,
        });
    }
    out.sort_by(|a, b| {
        a.key
            .cmp(&b.key)
            .then(a.structure_set.cmp(&b.structure_set))
    });
    // Keys must be unique (they name output folders): suffix repeats.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for p in &mut out {
        let n = seen.entry(p.key.clone()).or_default();
        *n += 1;
        if *n > 1 {
            p.key = sanitize_component(&format!("{}-{}", p.key, n));
        }
    }
    problems.sort();
    Discovery {
        plans: out,
        problems,
        skipped_non_dicom,
    }
}
