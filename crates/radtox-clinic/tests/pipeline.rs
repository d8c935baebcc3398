//! Rules of the shipped pipelines (`pipelines/*.toml`, radtox-pipeline's schema) convert
//! and behave like the built-in ones on the vignettes.
#![cfg(feature = "pipeline")]

mod common;

use common::*;
use radtox_clinic::*;
use radtox_pipeline::Pipeline;
use std::path::Path;

fn pipeline(name: &str) -> Pipeline {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../pipelines")).join(name);
    // Metric syntax is radtox-dose's business; accept every metric here.
    let accept = |_: &str| Ok(());
    Pipeline::load(&path, &accept).unwrap_or_else(|e| panic!("{e}"))
}

fn converted(name: &str) -> Vec<Rule> {
    let cat = Catalogue::builtin().unwrap();
    pipeline(name)
        .rules
        .iter()
        .flat_map(|r| rule_from_pipeline(r, &cat).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn every_shipped_pipeline_rule_converts() {
    for name in [
        "brain-srs.toml",
        "breast-left.toml",
        "breast-right.toml",
        "bone-metastases.toml",
    ] {
        let rules = converted(name);
        assert!(!rules.is_empty(), "{name}");
        for r in &rules {
            r.check().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                !r.citation.is_empty() && !r.grade.is_empty(),
                "{name}: {}",
                r.id
            );
        }
    }
}

#[test]
fn brain_pipeline_rules_on_the_srs_vignette() {
    let rules = converted("brain-srs.toml");
    // SRS on 2026-02-23, T-DM1 started 8 days later; V12 of normal brain 6.2 cc.
    let case =
        Case::new()
            .srs("2026-02-23")
            .dose("2026-03-03")
            .m("Brain-GTV_All", "V12Gy[cc]", 6.2);
    let flags = case.run_rules(&rules);
    let get = |id: &str| {
        flags
            .iter()
            .find(|f| f.rule_id == id)
            .unwrap_or_else(|| panic!("no {id}"))
    };
    assert_eq!(
        (get("B1").status, get("B1").level),
        (Status::Triggered, Some(Level::Caution))
    );
    assert_eq!(
        (get("B6").status, get("B6").level),
        (Status::Triggered, Some(Level::High))
    );
    assert_eq!(
        (get("B7").status, get("B7").level),
        (Status::Triggered, Some(Level::High))
    );
    assert_eq!(get("B8").status, Status::Pass); // +8 d is past Lebow's +7
    // Same patient, dose on day +7: B8 fires.
    let flags = Case::new()
        .srs("2026-02-23")
        .dose("2026-03-02")
        .run_rules(&rules);
    let b8 = flags.iter().find(|f| f.rule_id == "B8").unwrap();
    assert_eq!(
        (b8.status, b8.level),
        (Status::Triggered, Some(Level::High))
    );
    // The brain windows are measured from brain courses only, as in the built-in rules.
    let breast = Case::new()
        .breast("2026-03-02", "2026-04-03")
        .dose("2026-03-09")
        .run_rules(&rules);
    let b6 = breast.iter().find(|f| f.rule_id == "B6").unwrap();
    assert_eq!(b6.status, Status::NotApplicable);
}

#[test]
fn rtog_limits_table_becomes_one_rule_per_row() {
    let rules = converted("brain-srs.toml");
    let ids: Vec<&str> = rules
        .iter()
        .filter(|r| r.id.starts_with("B4"))
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(ids, ["B4.row1", "B4.row2", "B4.row3"]);
    let case = |d: f64, rx: f64| {
        Case::new().srs("2026-02-23").cov(|c| {
            c.lesion_max_diameter_mm = Some(d);
            c.prescription_gy_per_fraction = Some(rx);
        })
    };
    let status = |c: Case, id: &str| {
        c.run_rules(&rules)
            .into_iter()
            .find(|f| f.rule_id == id)
            .unwrap()
            .status
    };
    assert_eq!(status(case(25.0, 18.5), "B4.row2"), Status::Triggered);
    assert_eq!(status(case(25.0, 18.0), "B4.row2"), Status::Pass);
    assert_eq!(status(case(20.0, 20.0), "B4.row2"), Status::Pass); // 20 mm is row 1 (24 Gy)
}

#[test]
fn breast_pipeline_quantec_is_one_rule_with_two_levels() {
    let rules = converted("breast-left.toml");
    let p1: Vec<&Rule> = rules.iter().filter(|r| r.id.starts_with("P1")).collect();
    assert_eq!(p1.len(), 1);
    let flags = Case::new()
        .breast("2026-03-02", "2026-04-03")
        .m("Lungs", "V20Gy[%]", 36.0)
        .m("Lungs", "Mean[Gy]", 12.0)
        .run_rules(&rules);
    let f = flags.iter().find(|f| f.rule_id == "P1").unwrap();
    assert_eq!((f.status, f.level), (Status::Triggered, Some(Level::High)));
    assert!(f.provisional); // QUANTEC numbers are recalled [R]
    // S1 from the pipeline: measured from breast RT start only.
    let flags = Case::new()
        .breast("2026-03-02", "2026-04-03")
        .dose("2026-03-16")
        .run_rules(&rules);
    let s1 = flags.iter().find(|f| f.rule_id == "S1").unwrap();
    assert_eq!(
        (s1.status, s1.level),
        (Status::Triggered, Some(Level::Caution))
    );
    // C1 (Darby) from the pipeline's continuous model gives the same estimate.
    let flags = Case::new()
        .breast("2026-03-02", "2026-04-03")
        .m("Heart", "Mean[Gy]", 4.0)
        .run_rules(&rules);
    let c1 = flags.iter().find(|f| f.rule_id == "C1").unwrap();
    let e = c1.estimate.as_ref().unwrap();
    assert!((e.value - 1.296).abs() < 1e-12);
    let (lo, hi) = e.ci95.unwrap();
    assert!((lo - 1.116).abs() < 1e-12 && (hi - 1.58).abs() < 1e-12);
}

#[test]
fn resolved_rules_convert_for_a_plan() {
    let p = pipeline("brain-srs.toml");
    let resolved = p.resolve(&["Brain", "GTV_1", "GTV_2", "External"]).unwrap();
    let cat = Catalogue::builtin().unwrap();
    let rules: Vec<Rule> = resolved
        .rules
        .iter()
        .flat_map(|r| rules_from_resolved(r, &cat).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    for id in ["B1", "B2", "B6", "B7", "B8"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    // Every converted rule names concrete structures, never a glob.
    for r in &rules {
        assert!(
            r.structure.as_deref().is_none_or(|s| !s.contains('*')),
            "{}",
            r.id
        );
    }
}
