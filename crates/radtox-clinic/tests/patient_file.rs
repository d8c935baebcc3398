//! The patient file: examples load, bad input is refused with a clear message.

use radtox_clinic::*;
use std::path::Path;

const GOOD: &str = r#"
schema = "radtox-patient/1"
pseudonym = "case-7"
[[tdm1]]
date = "2026-03-02"
dose_mg_per_kg = 3.6
[[radiotherapy]]
kind = "srs"
first_fraction = "2026-02-23"
last_fraction = "2026-02-23"
fraction_dates = []
[covariates]
asian_ancestry = true
baseline_platelets_1e9_per_l = 110
bmi = 31.0
breast_cup = "D"
laterality = "left"
prior_wbrt = false
prior_rt_same_lesion = false
known_radiation_necrosis = false
baseline_lvef_percent = 60
"#;

fn parse(text: &str) -> Result<PatientFile, PatientError> {
    PatientFile::from_toml_str(text, Path::new("p.toml"))
}

fn err(text: &str) -> String {
    parse(text).expect_err("should be refused").to_string()
}

#[test]
fn the_brief_example_parses() {
    let p = parse(GOOD).unwrap();
    assert_eq!(p.tdm1[0].date.to_string(), "2026-03-02");
    assert_eq!(p.radiotherapy[0].kind, CourseKind::Srs);
    assert_eq!(p.covariates.breast_cup, BreastCup::parse("D"));
    assert_eq!(p.covariates.laterality, Some(Laterality::Left));
    assert_eq!(p.covariates.baseline_platelets_1e9_per_l, Some(110.0));
}

#[test]
fn shipped_examples_load() {
    // One example per shipped pipeline (brain SRS, left and right breast, bone metastases).
    for name in [
        "brain-srs.toml",
        "left-breast.toml",
        "left-breast.json",
        "right-breast.toml",
        "bone-metastases.toml",
    ] {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/patients"
        ))
        .join(name);
        let p = PatientFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!p.tdm1.is_empty() && !p.radiotherapy.is_empty(), "{name}");
    }
}

#[test]
fn json_and_toml_examples_agree() {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/patients"
    ));
    let t = PatientFile::load(&dir.join("left-breast.toml")).unwrap();
    let j = PatientFile::load(&dir.join("left-breast.json")).unwrap();
    assert_eq!(t, j);
}

#[test]
fn unknown_keys_are_errors_with_line_and_column() {
    let text = GOOD.replace("bmi = 31.0", "bmi = 31.0\npatient_name = \"x\"");
    let e = err(&text);
    assert!(e.contains("unknown field `patient_name`"), "{e}");
    assert!(e.contains("line 16, column 1"), "{e}");
    let e = err(&GOOD.replace(
        "dose_mg_per_kg = 3.6",
        "dose_mg_per_kg = 3.6\ndose_mg = 250",
    ));
    assert!(
        e.contains("unknown field `dose_mg`") && e.contains("line 7"),
        "{e}"
    );
    // JSON: serde_json reports line and column too.
    let e = PatientFile::from_json_str(
        "{\"schema\": \"radtox-patient/1\",\n \"mrn\": \"123\"}",
        Path::new("p.json"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("unknown field `mrn`") && e.contains("line 2"),
        "{e}"
    );
}

#[test]
fn impossible_values_are_refused() {
    let e = err(&GOOD.replace("dose_mg_per_kg = 3.6", "dose_mg_per_kg = -3.6"));
    assert_eq!(
        e,
        "p.toml: tdm1[0].dose_mg_per_kg: -3.6 is not a positive dose"
    );
    let e = err(&GOOD.replace("dose_mg_per_kg = 3.6", "dose_mg_per_kg = 250"));
    assert!(e.contains("total mg instead of mg/kg"), "{e}");
    let e = err(&GOOD.replace(
        "last_fraction = \"2026-02-23\"",
        "last_fraction = \"2026-02-20\"",
    ));
    assert_eq!(
        e,
        "p.toml: radiotherapy[0].last_fraction: 2026-02-20 is before first_fraction 2026-02-23"
    );
    let e = err(&GOOD.replace("fraction_dates = []", "fraction_dates = [\"2026-02-24\"]"));
    assert!(e.contains("radiotherapy[0].fraction_dates"), "{e}");
    let e = err(&GOOD.replace("bmi = 31.0", "bmi = -2"));
    assert!(e.contains("covariates.bmi"), "{e}");
    let e = err(&GOOD.replace(
        "schema = \"radtox-patient/1\"",
        "schema = \"radtox-patient/2\"",
    ));
    assert!(e.contains("expected 'radtox-patient/1'"), "{e}");
}

#[test]
fn bad_dates_are_refused_with_their_location() {
    let e = err(&GOOD.replace("date = \"2026-03-02\"", "date = \"2026-02-30\""));
    assert!(
        e.contains("day 30 does not exist in 2026-02") && e.contains("line 5"),
        "{e}"
    );
    let e = err(&GOOD.replace("date = \"2026-03-02\"", "date = \"02/03/2026\""));
    assert!(e.contains("not a date in the form YYYY-MM-DD"), "{e}");
    // TOML's own unquoted dates are accepted.
    let p = parse(&GOOD.replace("date = \"2026-03-02\"", "date = 2026-03-02")).unwrap();
    assert_eq!(p.tdm1[0].date.to_string(), "2026-03-02");
}

#[test]
fn bad_enumerations_are_refused() {
    let e = err(&GOOD.replace("kind = \"srs\"", "kind = \"gamma\""));
    assert!(e.contains("unknown variant `gamma`"), "{e}");
    let e = err(&GOOD.replace("breast_cup = \"D\"", "breast_cup = \"Z\""));
    assert!(e.contains("breast_cup 'Z'"), "{e}");
}

#[test]
fn missing_file_and_extension() {
    let e = PatientFile::load(Path::new("/nonexistent/p.toml")).unwrap_err();
    assert!(matches!(e, PatientError::Io { .. }));
    let dir = std::env::temp_dir().join(format!("radtox-clinic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("p.yaml");
    std::fs::write(&f, GOOD).unwrap();
    assert!(matches!(
        PatientFile::load(&f),
        Err(PatientError::Extension { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cup_sizes_are_ordered() {
    let cup = |s| BreastCup::parse(s).unwrap();
    assert!(cup("DD") > cup("D") && cup("D") > cup("C") && cup("a") < cup("b"));
    assert_eq!(cup("dd").as_str(), "DD");
    assert!(BreastCup::parse("36C").is_none());
}
