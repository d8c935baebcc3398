//! Clinical vignettes end to end: a plan, a pipeline and a patient file through the
//! `radtox` binary, checked against the published timing windows and covariate rules
//! (`shared/evidence/tdm1-rt-toxicity.md`).

mod common;

use common::{json_of, radtox, repo, run};

/// The example patient file with its T-DM1 dates replaced.
fn patient(example: &str, tdm1_dates: &[&str], dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo(example)).unwrap();
    // Drop the example's [[tdm1]] tables, keep everything else.
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            skipping = t == "[[tdm1]]";
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    for d in tdm1_dates {
        out.push_str(&format!(
            "\n[[tdm1]]\ndate = \"{d}\"\ndose_mg_per_kg = 3.6\n"
        ));
    }
    let path = dir.join("patient.toml");
    std::fs::write(&path, out).unwrap();
    path
}

fn analyse(fixture: &str, pipeline: &str, patient: &std::path::Path) -> serde_json::Value {
    json_of(run(radtox()
        .arg("analyze")
        .arg(repo(fixture))
        .arg("--pipeline")
        .arg(repo(pipeline))
        .arg("--patient")
        .arg(patient)
        .args(["--format", "json", "--no-dvh"])))
}

fn flag<'a>(doc: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    doc["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == id)
        .unwrap_or_else(|| panic!("no flag {id}"))
}

#[test]
fn brain_srs_with_tdm1_8_days_after_raises_b6_and_b7_high() {
    let tmp = tempfile::tempdir().unwrap();
    // SRS on 2026-02-23 (20 Gy × 1, the fixture's plan), T-DM1 8 days later.
    let p = patient(
        "examples/patients/brain-srs.toml",
        &["2026-03-03"],
        tmp.path(),
    );
    let doc = analyse("fixtures/brain-srs", "pipelines/brain-srs.toml", &p);
    for id in ["B6", "B7"] {
        let f = flag(&doc, id);
        assert_eq!(f["status"], "raised", "{id}: {f}");
        assert_eq!(f["level"], "high", "{id}");
        assert!(!f["citation"].as_str().unwrap().is_empty());
        assert!(!f["evidence_grade"].as_str().unwrap().is_empty());
        assert!(
            f["timing"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t.as_str().unwrap().contains("8 days after")),
            "{id}: {}",
            f["timing"]
        );
    }
    // Lebow's window ends 7 days after: not raised at +8.
    assert_eq!(flag(&doc, "B8")["status"], "not_raised");
    assert!(
        doc["disclaimer"]
            .as_str()
            .unwrap()
            .contains("not a validated prediction model")
    );
    let t = &doc["timeline"];
    assert!(
        t["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "srs" && e["date"] == "2026-02-23")
    );
    assert!(
        t["facts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().contains("8 days after SRS"))
    );
    assert!(!t["exposure"].as_array().unwrap().is_empty());

    // The human table shows the flag with level, rule, grade, citation and disclaimer.
    let out = run(radtox()
        .arg("analyze")
        .arg(repo("fixtures/brain-srs"))
        .arg("--pipeline")
        .arg(repo("pipelines/brain-srs.toml"))
        .arg("--patient")
        .arg(&p));
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("[HIGH] B6"), "{table}");
    assert!(table.contains("Stumpf"));
    assert!(table.contains("grade C"));
    assert!(table.contains("Disclaimer:"));
}

#[test]
fn brain_srs_with_tdm1_400_days_away_raises_no_timing_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let p = patient(
        "examples/patients/brain-srs.toml",
        &["2027-03-30"],
        tmp.path(),
    );
    let doc = analyse("fixtures/brain-srs", "pipelines/brain-srs.toml", &p);
    for id in ["B6", "B7", "B8"] {
        assert_ne!(flag(&doc, id)["status"], "raised", "{id}");
    }
    // The dose-volume rule still reads the plan (brain − GTVs V12Gy of the fixture).
    assert_ne!(flag(&doc, "B1")["status"], "not_evaluated");
}

#[test]
fn breast_50_gy_in_25_with_tdm1_during_rt_and_asian_ancestry_raises_h4_and_s1() {
    // The example: RT 2026-03-02 to 2026-04-03, T-DM1 every 21 days from 2026-02-16
    // (doses on 03-09 and 03-30 fall during RT), Asian ancestry.
    let doc = analyse(
        "fixtures/breast-left",
        "pipelines/breast-left.toml",
        &repo("examples/patients/left-breast.toml"),
    );
    assert_eq!(doc["plan"]["fractions"], 25);
    let h4 = flag(&doc, "H4");
    assert_eq!(h4["status"], "raised");
    assert!(
        h4["covariates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("asian_ancestry"))
    );
    let s1 = flag(&doc, "S1");
    assert_eq!(s1["status"], "raised");
    assert!(!s1["timing"].as_array().unwrap().is_empty());
    // Brain rules do not concern a breast course.
    assert_ne!(flag(&doc, "B6")["status"], "raised");
}

#[test]
fn dose_flags_carry_value_threshold_and_a_sampling_uncertainty() {
    let tmp = tempfile::tempdir().unwrap();
    let p = patient(
        "examples/patients/brain-srs.toml",
        &["2026-03-03"],
        tmp.path(),
    );
    let doc = analyse("fixtures/brain-srs", "pipelines/brain-srs.toml", &p);
    let b1 = flag(&doc, "B1");
    assert_eq!(b1["structure"], "Brain-GTV_All");
    let v = b1["value"].as_f64().unwrap();
    let brain_minus = doc["structures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Brain-GTV_All")
        .unwrap();
    assert_eq!(brain_minus["metrics"]["V12Gy[cc]"].as_f64().unwrap(), v);
    // Raised at the highest tier that holds beyond the uncertainty.
    assert!(b1["threshold"].as_str().is_some());
    assert!(
        b1["covariates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("uncertainty")),
        "{b1}"
    );
}

#[test]
fn malformed_patient_file_exits_2_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("p.toml");
    std::fs::write(
        &p,
        "schema = \"radtox-patient/1\"\n[[tdm1]]\ndate = \"2026-02-30\"\ndose_mg_per_kg = 3.6\n",
    )
    .unwrap();
    let out = run(radtox()
        .arg("analyze")
        .arg(repo("fixtures/brain-srs"))
        .arg("--patient")
        .arg(&p));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("p.toml"));
}

#[test]
fn a_metric_within_its_sampling_uncertainty_of_a_threshold_is_indeterminate() {
    // The uncertainty is the spread between two equally valid sampling lattices, so a
    // threshold placed at the computed value cannot be decided; one well beyond it can.
    let tmp = tempfile::tempdir().unwrap();
    let base = repo("pipelines/names/tg263-base.toml");
    let write = |threshold: f64| {
        let path = tmp.path().join(format!("t{threshold}.toml"));
        std::fs::write(
            &path,
            format!(
                r#"schema = "radtox-pipeline/1"
name = "threshold test"
include = ["{}"]
[[derived]]
name = "Brain-GTV_All"
expr = "Brain - union(GTV_*)"
[[rules]]
id = "T1"
structure = "Brain-GTV_All"
metric = "V12Gy[cc]"
tiers = [ {{ level = "caution", op = ">=", value = {threshold} }} ]
grade = "unrated"
citation = "test threshold"
"#,
                base.display()
            ),
        )
        .unwrap();
        path
    };
    let run_with = |threshold: f64| {
        json_of(run(radtox()
            .arg("analyze")
            .arg(repo("fixtures/brain-srs"))
            .arg("--pipeline")
            .arg(write(threshold))
            .args(["--format", "json", "--no-dvh"])))
    };
    // First run: the value and its uncertainty.
    let doc = run_with(1000.0);
    let t1 = flag(&doc, "T1");
    assert_eq!(t1["status"], "not_raised");
    let v = t1["value"].as_f64().unwrap();
    let u: f64 = t1["covariates"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|c| {
            c.as_str()?
                .strip_prefix("metric uncertainty ±")?
                .parse()
                .ok()
        })
        .expect("an uncertainty is reported");
    assert!(u > 0.0 && u < 0.05 * v, "V12 {v} ± {u}");
    assert_eq!(flag(&run_with(v), "T1")["status"], "indeterminate");
    assert_eq!(flag(&run_with(v - 3.0 * u), "T1")["status"], "raised");
    assert_eq!(flag(&run_with(v + 3.0 * u), "T1")["status"], "not_raised");
}
