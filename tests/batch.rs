//! End-to-end tests of `radtox batch` / `radtox merge` on a generated archive: dozens of
//! synthetic plans in nested folders (some several to a folder, without extensions),
//! non-DICOM files, and injected faults. Most runs call the library with light sampling
//! settings to keep the suite fast; the kill/restart test drives the real binary.

use radtox_analysis::AnalysisOptions;
use radtox_batch::{BatchOptions, Pseudonymizer, Shard, Silent, merge, run_batch};
use radtox_fixtures::{Fault, Phantom, WriteOptions, brain_srs, write_faulty, write_plan};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Plans that must be analysed successfully.
const GOOD: usize = 24;

struct Archive {
    base: PathBuf,
    root: PathBuf,
    /// Patient IDs and names written into the archive (for the pseudonymisation test).
    patient_ids: Vec<String>,
    patient_names: Vec<String>,
}

fn phantom(i: usize, patient: &str) -> Phantom {
    let mut ph = brain_srs();
    // The fixture UIDs derive from the name: every plan gets its own.
    ph.name = format!("batch-plan-{i}");
    ph.patient_id = patient.to_string();
    ph.patient_name = format!("Smith^Alice{i}");
    ph
}

/// Move the three files of a written plan into `dir` under extension-less names.
fn flatten_into(written: &radtox_fixtures::WrittenPlan, dir: &Path, tag: &str) {
    std::fs::create_dir_all(dir).unwrap();
    for (src, role) in [
        (&written.rtdose, "RD"),
        (&written.rtstruct, "RS"),
        (&written.rtplan, "RP"),
    ] {
        std::fs::rename(src, dir.join(format!("{role}{tag}"))).unwrap();
    }
    std::fs::remove_dir(&written.dir).ok();
}

fn sanitise(id: &str) -> String {
    id.replace(['/', '.'], "")
}

fn build_archive(base: &Path) -> Archive {
    let root = base.join("archive");
    let opts = WriteOptions::default();
    let mut patient_ids = Vec::new();
    let mut patient_names = Vec::new();
    for i in 0..GOOD {
        // Several plans per patient, patients in nested site folders.
        let patient = if i == 5 {
            "../../etc".to_string()
        } else {
            format!("MRN7731{}", i % 9)
        };
        let ph = phantom(i, &patient);
        patient_ids.push(patient.clone());
        patient_names.push(ph.patient_name.clone());
        let site = ["brain", "breast", "misc"][i % 3];
        // Folders named after the patient, as many exports are.
        let folder = root.join(site).join(sanitise(&patient));
        if i % 4 == 0 {
            // Several plans in one folder, files without extensions.
            let tmp = base.join(format!("tmp-{i}"));
            let w = write_plan(&ph, &tmp, &opts).unwrap();
            flatten_into(&w, &folder.join("mixed"), &format!(".{i}"));
        } else {
            write_plan(&ph, &folder.join(format!("plan-{i}")), &opts).unwrap();
        }
    }
    // Non-DICOM files here and there.
    std::fs::write(root.join("README.txt"), "exported 2026-11-01\n").unwrap();
    std::fs::write(root.join("brain").join("notes.csv"), "a,b\n1,2\n").unwrap();
    std::fs::write(root.join("misc").join("blob"), vec![0xA5u8; 4096]).unwrap();
    std::fs::write(
        root.join("misc").join("DICOMDIR.bak"),
        b"DICM but not really",
    )
    .unwrap();
    // Faults.
    let faults = root.join("faults");
    write_faulty(
        &phantom(100, "MRN-F1"),
        &faults.join("truncated"),
        Fault::TruncatedDose,
    )
    .unwrap();
    let w = write_plan(&phantom(101, "MRN-F2"), &faults.join("no-struct"), &opts).unwrap();
    std::fs::remove_file(&w.rtstruct).unwrap();
    write_faulty(
        &phantom(102, "MRN-F3"),
        &faults.join("frame-mismatch"),
        Fault::MismatchedFrameOfReference,
    )
    .unwrap();
    write_faulty(
        &phantom(103, "MRN-F4"),
        &faults.join("not-dicom"),
        Fault::NotDicom,
    )
    .unwrap();
    // A duplicate: plan 1 exported a second time elsewhere.
    let src = root.join("breast").join("MRN77311").join("plan-1");
    assert!(src.is_dir());
    let dup = faults.join("duplicate-of-plan-1");
    std::fs::create_dir_all(&dup).unwrap();
    for f in std::fs::read_dir(&src).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dup.join(f.file_name().unwrap())).unwrap();
    }
    Archive {
        base: base.to_path_buf(),
        root,
        patient_ids,
        patient_names,
    }
}

fn archive() -> &'static Archive {
    static A: OnceLock<Archive> = OnceLock::new();
    A.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("radtox-batch-archive");
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        build_archive(&base)
    })
}

fn fast_options() -> BatchOptions {
    let mut analysis = AnalysisOptions {
        metrics: ["Mean[Gy]", "Max[Gy]", "V12Gy[cc]", "D95%[Gy]"]
            .iter()
            .map(|m| m.parse().unwrap())
            .collect(),
        include_dvh: false,
        ..AnalysisOptions::default()
    };
    analysis.sampling.min_samples = 20_000;
    BatchOptions {
        analysis,
        jobs: 2,
        ..BatchOptions::default()
    }
}

fn fresh_out(name: &str) -> PathBuf {
    let out = archive().base.join("out").join(name);
    let _ = std::fs::remove_dir_all(&out);
    out
}

/// Every file under `dir` (relative path → bytes).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for f in radtox_batch::files_under(dir).unwrap() {
        let rel = f.strip_prefix(dir).unwrap().display().to_string();
        out.insert(rel, std::fs::read(&f).unwrap());
    }
    out
}

/// The snapshot with the manifest's run-dependent parts (timing, shard) removed.
fn comparable(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut s = snapshot(dir);
    let mut m: Value = serde_json::from_slice(&s["manifest.json"]).unwrap();
    for k in ["run", "shard", "merged_from"] {
        m.as_object_mut().unwrap().remove(k);
    }
    s.insert(
        "manifest.json".into(),
        serde_json::to_vec_pretty(&m).unwrap(),
    );
    s
}

/// Equal snapshots, or a readable list of what differs.
fn assert_same(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let differ: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => format!(
                "{k}: differs\n--- left\n{}\n--- right\n{}",
                String::from_utf8_lossy(x),
                String::from_utf8_lossy(y)
            ),
            (Some(_), None) => format!("{k}: only left"),
            _ => format!("{k}: only right"),
        })
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn baseline() -> &'static PathBuf {
    static B: OnceLock<PathBuf> = OnceLock::new();
    B.get_or_init(|| {
        let out = fresh_out("baseline");
        let s = run_batch(&archive().root, &out, &fast_options(), &Silent).unwrap();
        // + the truncated dose and the frame-of-reference mismatch, which fail.
        assert_eq!(s.plans, GOOD + 2, "{s:?}");
        out
    })
}

#[test]
fn every_good_plan_processed_every_bad_one_reported() {
    let out = baseline();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["ok"], GOOD);
    assert_eq!(manifest["counts"]["failed"], 2);
    let plans = std::fs::read_dir(out.join("plans")).unwrap().count();
    assert_eq!(plans, GOOD);
    // Each good plan has its metric rows: 4 metrics for the structures inside the grid.
    let metrics = csv_rows(&out.join("metrics.csv"));
    let mut per_plan: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &metrics {
        *per_plan.entry(r[0].as_str()).or_default() += 1;
    }
    assert_eq!(per_plan.len(), GOOD);
    // The analytic peak of brain_srs is above 20 Gy in every plan.
    assert!(
        metrics
            .iter()
            .any(|r| r[4] == "Max[Gy]" && r[6].parse::<f64>().unwrap() > 20.0)
    );
    let errors = csv_rows(&out.join("errors.csv"));
    let text = |needle: &str| {
        errors
            .iter()
            .filter(|r| r[1].contains(needle))
            .map(|r| r[2].clone())
            .collect::<Vec<_>>()
    };
    let truncated = text("faults/truncated");
    assert!(!truncated.is_empty(), "{errors:?}");
    let no_struct = text("faults/no-struct");
    assert!(
        no_struct
            .iter()
            .any(|e| e.contains("without a structure set")),
        "{no_struct:?}"
    );
    let mismatch = text("faults/frame-mismatch");
    assert!(
        mismatch
            .iter()
            .any(|e| e.contains("frame of reference mismatch")),
        "{mismatch:?}"
    );
    // The not-DICOM "dose" leaves a plan and a structure set without a dose.
    let not_dicom = text("faults/not-dicom");
    assert_eq!(not_dicom.len(), 2, "{not_dicom:?}");
    assert!(
        not_dicom.iter().all(|e| e.contains("with no RT Dose")),
        "{not_dicom:?}"
    );
    // A file that claims to be DICOM ("DICM") but is not is reported.
    assert_eq!(text("DICOMDIR.bak").len(), 1, "{errors:?}");
    // Plain non-DICOM files are counted, not reported.
    assert!(errors.iter().all(|r| !r[1].contains("README.txt")));
    assert_eq!(manifest["discovery"]["non_dicom_files"], 4); // 3 + the fault's text dose
    assert_eq!(errors.len(), 6, "{errors:?}");
    // The duplicate export is analysed once; the ignored copies are named in the plan's
    // notes.
    let notes: Vec<String> = manifest["plans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["notes"].as_array().unwrap().clone())
        .map(|n| n.as_str().unwrap().to_string())
        .filter(|n| n.contains("duplicate-of-plan-1"))
        .collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes.iter().all(|n| n.contains("identical copies")));
}

#[test]
fn nothing_escapes_out_and_names_are_sanitised() {
    let a = archive();
    let out = baseline();
    // Only archive/ and out/ (and the build's temporaries) exist beside each other.
    let names: Vec<String> = std::fs::read_dir(&a.base)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("tmp-"))
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, ["archive", "out"]);
    for f in radtox_batch::files_under(out).unwrap() {
        let rel = f.strip_prefix(out).unwrap();
        assert!(
            rel.components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
        );
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "{name}"
        );
        assert!(!name.starts_with(".radtox-tmp-"), "temporary left: {name}");
    }
    // The plan of patient "../../etc" is in plans/ under a sanitised name.
    let etc: Vec<_> = std::fs::read_dir(out.join("plans"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("______etc_"))
        .collect();
    assert_eq!(etc.len(), 1, "{etc:?}");
}

#[test]
fn rerun_recomputes_nothing_and_redoes_only_what_was_removed() {
    let out = fresh_out("resume");
    let opts = fast_options();
    let first = run_batch(&archive().root, &out, &opts, &Silent).unwrap();
    assert_eq!(first.analysed, GOOD + 2);
    let before = comparable(&out);
    let second = run_batch(&archive().root, &out, &opts, &Silent).unwrap();
    assert_eq!(
        (second.analysed, second.reused),
        (0, GOOD + 2),
        "{second:?}"
    );
    assert_same(&comparable(&out), &before);
    // Remove one plan's document: only that plan is redone, and comes out the same.
    let victim = std::fs::read_dir(out.join("plans"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    std::fs::remove_file(&victim).unwrap();
    let third = run_batch(&archive().root, &out, &opts, &Silent).unwrap();
    assert_eq!((third.analysed, third.reused), (1, GOOD + 1), "{third:?}");
    assert_same(&comparable(&out), &before);
    // Changed settings redo everything.
    let mut changed = fast_options();
    changed.analysis.metrics.push("D2%[Gy]".parse().unwrap());
    let fourth = run_batch(&archive().root, &out, &changed, &Silent).unwrap();
    assert_eq!(fourth.reused, 0);
    let fifth = run_batch(&archive().root, &out, &changed, &Silent).unwrap();
    assert_eq!(fifth.analysed, 0);
}

#[test]
fn union_of_shards_equals_the_unsharded_run() {
    let whole = baseline();
    let mut dirs = Vec::new();
    let mut total = 0;
    for k in 1..=3 {
        let out = fresh_out(&format!("shard-{k}"));
        let opts = BatchOptions {
            shard: format!("{k}/3").parse::<Shard>().unwrap(),
            ..fast_options()
        };
        let s = run_batch(&archive().root, &out, &opts, &Silent).unwrap();
        assert!(
            s.plans > 0,
            "shard {k} is empty: the split is badly unbalanced"
        );
        total += s.plans;
        dirs.push(out);
    }
    assert_eq!(total, GOOD + 2);
    let merged = fresh_out("merged");
    let m = merge(&dirs, &merged, false).unwrap();
    assert_eq!(m.plans, GOOD + 2);
    assert_same(&comparable(&merged), &comparable(whole));
    // A shard made with other settings is refused.
    let other = fresh_out("shard-other");
    let mut opts = BatchOptions {
        shard: "1/3".parse().unwrap(),
        ..fast_options()
    };
    opts.analysis.include_dvh = true;
    run_batch(&archive().root, &other, &opts, &Silent).unwrap();
    let err = merge(
        &[dirs[1].clone(), dirs[2].clone(), other],
        &fresh_out("bad-merge"),
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("different settings") && err.contains("include_dvh"),
        "{err}"
    );
    // An incomplete set of shards is refused unless asked for.
    let err = merge(&dirs[..2], &fresh_out("partial"), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("3/3 missing"), "{err}");
    let partial = merge(&dirs[..2], &fresh_out("partial"), true).unwrap();
    assert!(partial.plans < GOOD + 2);
}

#[test]
fn pseudonymised_outputs_hold_no_patient_ids_or_names() {
    let a = archive();
    let out = fresh_out("pseudo");
    let opts = BatchOptions {
        pseudonymizer: Some(Pseudonymizer::from_secret(b"test key: 0123456789abcdef").unwrap()),
        // HTML reports too: they must be as free of identifiers as everything else.
        html_report: true,
        ..fast_options()
    };
    run_batch(&a.root, &out, &opts, &Silent).unwrap();
    let files = snapshot(&out);
    let count = |ext: &str| {
        files
            .keys()
            .filter(|k| k.starts_with("plans/") && k.ends_with(ext))
            .count()
    };
    assert_eq!(
        count(".html"),
        count(".json"),
        "one HTML report per plan document"
    );
    assert!(count(".html") >= GOOD);
    assert!(files.len() > GOOD);
    for (name, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        for id in a.patient_ids.iter().filter(|id| id.starts_with("MRN")) {
            assert!(
                !text.contains(id.as_str()) && !name.contains(id.as_str()),
                "{id} in {name}"
            );
        }
        for n in &a.patient_names {
            let given = n.split('^').nth(1).unwrap();
            assert!(
                !text.contains("Smith") && !text.contains(given),
                "patient name in {name}"
            );
        }
        assert!(
            !text.contains(a.root.to_str().unwrap()),
            "archive path in {name}"
        );
        assert!(!text.contains("MRN-F"), "fault patient ID in {name}");
    }
    let metrics = csv_rows(&out.join("metrics.csv"));
    assert!(metrics.iter().all(|r| r[1].starts_with("anon-")));
}

/// The binary: killed part-way and restarted, it ends with the outputs of an
/// uninterrupted run (byte for byte, apart from the manifest's run timing).
#[test]
fn killed_run_restarted_equals_uninterrupted_run() {
    let a = archive();
    let exe = env!("CARGO_BIN_EXE_radtox");
    let args = |out: &Path| {
        let mut c = std::process::Command::new(exe);
        c.arg("batch")
            .arg(&a.root)
            .arg("--out")
            .arg(out)
            .args(["-j", "1", "--no-dvh", "-m", "Mean[Gy]", "-m", "V12Gy[cc]"])
            .stderr(std::process::Stdio::null());
        c
    };
    let full = fresh_out("bin-full");
    let run = args(&full)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(run.status.success());
    // The log (not a terminal here: plain lines) holds counts, never IDs, names or paths.
    let log = String::from_utf8(run.stderr).unwrap();
    assert!(log.contains("plans done"), "{log}");
    assert!(log.contains("2 failed"), "{log}");
    for secret in ["MRN", "Smith", "Alice", "etc", a.root.to_str().unwrap()] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
    let killed = fresh_out("bin-killed");
    let mut child = args(&killed).spawn().unwrap();
    let records = killed.join("records");
    let start = std::time::Instant::now();
    loop {
        let n = std::fs::read_dir(&records).map(|d| d.count()).unwrap_or(0);
        if n >= 3 || start.elapsed().as_secs() > 120 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = std::fs::read_dir(&records).unwrap().count();
    assert!(
        partial < GOOD + 2,
        "the run finished before it could be killed"
    );
    assert!(args(&killed).status().unwrap().success());
    assert_same(&comparable(&killed), &comparable(&full));
}

/// A pipeline for every plan and a patient file for one patient: that patient's plans
/// carry the T-DM1 risk flags into flags.csv; the others have none.
#[test]
fn pipeline_and_patient_files_reach_flags_csv() {
    let a = archive();
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = fresh_out("flags");
    let mut opts = fast_options();
    opts.analysis.pipeline =
        Some(radtox_analysis::load_pipeline(&ws.join("pipelines/brain-srs.toml")).unwrap());
    opts.patients.insert(
        "MRN77310".into(),
        ws.join("examples/patients/brain-srs.toml"),
    );
    let s = run_batch(&a.root, &out, &opts, &Silent).unwrap();
    assert_eq!(s.failed, 2, "{s:?}");
    let flags = csv_rows(&out.join("flags.csv"));
    // Every analysed plan gets the pipeline's rules (plan column + header = 24 plans).
    let plans: std::collections::BTreeSet<&str> = flags.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(plans.len(), GOOD, "{plans:?}");
    // Timing rules (B6: T-DM1 within days of SRS) need the patient file: raised for the
    // three plans of MRN77310 (plans 0, 9, 18), not evaluated for everyone else.
    let b6 = |patient_has_file: bool| {
        flags
            .iter()
            .filter(|r| r[2] == "B6" && (r[1] == "MRN77310") == patient_has_file)
            .map(|r| r[3].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(b6(true), ["raised"; 3]);
    assert!(!b6(false).is_empty() && b6(false).iter().all(|s| s != "raised"));
    // The patient file is an input of those plans: the manifest lists it.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let with_patient = manifest["plans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["role"] == "patient")
        })
        .count();
    assert_eq!(with_patient, 3);
}

#[test]
fn pseudonymize_without_a_key_is_refused() {
    let out = fresh_out("no-key");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_radtox"))
        .arg("batch")
        .arg(&archive().root)
        .arg("--out")
        .arg(&out)
        .arg("--pseudonymize")
        .env_remove("RADTOX_PSEUDONYM_KEY")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8(run.stderr).unwrap();
    assert!(err.contains("RADTOX_PSEUDONYM_KEY"), "{err}");
    assert!(!out.join("manifest.json").exists());
}
