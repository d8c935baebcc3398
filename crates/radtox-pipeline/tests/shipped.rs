//! The shipped pipelines load, with the real TG-263 metric parser, and mean what they say.

use radtox_pipeline::{Level, Pipeline, TierTest, map_names};
use std::path::PathBuf;

fn pipelines_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../pipelines"))
}

/// radtox-dose's parser, as the CLI passes it.
fn tg263(m: &str) -> Result<(), String> {
    m.parse::<radtox_dose::MetricRequest>()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn load(name: &str) -> Pipeline {
    let path = pipelines_dir().join(name);
    Pipeline::load(&path, &tg263).unwrap_or_else(|e| panic!("{name}:\n{e}"))
}

#[test]
fn every_shipped_pipeline_loads() {
    let mut n = 0;
    for entry in std::fs::read_dir(pipelines_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            Pipeline::load(&path, &tg263).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()));
            n += 1;
        }
    }
    assert_eq!(
        n, 4,
        "brain-srs, breast-left, breast-right, bone-metastases"
    );
}

#[test]
fn brain_srs_b1_tiers_match_the_evidence_file() {
    let p = load("brain-srs.toml");
    let b1 = p.rules.iter().find(|r| r.id == "B1").unwrap();
    assert_eq!(b1.structure.as_deref(), Some("Brain-GTV_All"));
    assert_eq!(b1.metric.as_deref(), Some("V12Gy[cc]"));
    assert_eq!(b1.when.as_ref().unwrap().fractions, Some(1));
    let tiers: Vec<(Level, String, f64)> = b1
        .tiers
        .iter()
        .map(|t| match &t.test {
            TierTest::Threshold { op, value } => (t.level, op.to_string(), *value),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        tiers,
        [
            (Level::Caution, ">=".into(), 5.0),
            (Level::High, ">=".into(), 10.0),
            (Level::VeryHigh, ">".into(), 15.0)
        ]
    );
    assert!(b1.provisional, ">15 cc is recalled [R]");
    assert_eq!(b1.grade, "B");
    let ids: Vec<&str> = p.rules.iter().map(|r| r.id.as_str()).collect();
    for id in ["B1", "B2", "B3.3fx", "B3.5fx", "B4", "B5"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert_eq!(p.alpha_beta_for("Brain-GTV_All").unwrap().value, 2.0);
    assert_eq!(p.alpha_beta_for("GTV_3").unwrap().value, 10.0);
}

#[test]
fn breast_pipelines_are_mirror_images() {
    let l = load("breast-left.toml");
    let r = load("breast-right.toml");
    let ids = |p: &Pipeline| p.rules.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&l),
        [
            "C1", "C2", "C3", "C4", "C5", "P1", "P2", "H7", "H8", "S1", "S2"
        ]
    );
    assert_eq!(ids(&l), ids(&r));
    let p2 = |p: &Pipeline| {
        p.rules
            .iter()
            .find(|r| r.id == "P2")
            .unwrap()
            .structure
            .clone()
    };
    assert_eq!(p2(&l).as_deref(), Some("Lung_L"));
    assert_eq!(p2(&r).as_deref(), Some("Lung_R"));
    // α/β: heart 2, lung 3, marrow 10, skin late 3; acute skin 10 via the metrics set.
    assert_eq!(l.alpha_beta_for("Heart").unwrap().value, 2.0);
    assert_eq!(l.alpha_beta_for("Ventricle_L").unwrap().value, 2.0);
    assert_eq!(l.alpha_beta_for("Lungs").unwrap().value, 3.0);
    assert_eq!(l.alpha_beta_for("Rib04_L").unwrap().value, 10.0);
    assert_eq!(l.alpha_beta_for("Skin_Band_5mm").unwrap().value, 3.0);
}

/// The dicompyler left-breast plan through breast-left.toml: what is computable and what
/// the plan lacks.
#[test]
fn breast_left_on_the_dicompyler_names() {
    let p = load("breast-left.toml");
    let names = [
        "BODY",
        "Areola",
        "Borders",
        "Breast",
        "Heart",
        "Lt Lung",
        "Nodes",
        "Scar",
        "Tumor Bed",
        "Tumor Bed Block",
    ];
    let report = map_names(&names, &p.names);
    assert_eq!(
        report.tg263_names(),
        ["External", "Breast_L", "Heart", "Lung_L"]
    );
    let plan = p.resolve(&report.tg263_names()).unwrap();
    let built: Vec<&str> = plan.derived.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        built,
        ["Skin_Band_5mm"],
        "no right lung, no bones in this plan"
    );
    let rules_ok: Vec<&str> = plan
        .rules
        .iter()
        .filter(|r| r.evaluable())
        .map(|r| r.rule.id.as_str())
        .collect();
    // C2/C3 need the left ventricle / LAD, P1 both lungs, H8 the sternum: not contoured.
    assert_eq!(rules_ok, ["C1", "C4", "P2", "H7", "S1", "S2"]);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("rule P1") && w.contains("Lungs"))
    );
    let acute: Vec<_> = plan
        .metrics
        .iter()
        .filter(|m| m.endpoint.as_deref() == Some("acute"))
        .collect();
    assert_eq!(acute.len(), 1);
    assert_eq!(acute[0].alpha_beta.as_ref().unwrap().value, 10.0);
}

/// The RayStation brain plan has no Brain, only "BRAIN - PTV": the pipeline rebuilds
/// Brain from it and then Brain-GTV_All.
#[test]
fn brain_srs_on_the_raystation_names() {
    let p = load("brain-srs.toml");
    let names = [
        "PTV_1",
        "BODY",
        "BRAIN - PTV",
        "OPTIC STRUCTURES",
        "GTV_1",
        "GTV_2",
        "GTV_3",
        "GTV_4",
        "GTV_5",
        "GTV_ALL",
        "BRAIN STEM",
        "PTV_2",
        "PTV_3",
        "PTV_4",
        "PTV_5",
        "PTV_ALL",
        "Low Dose Region",
        "PTV1_WALL",
    ];
    let report = map_names(&names, &p.names);
    let plan = p.resolve(&report.tg263_names()).unwrap();
    let built: Vec<(&str, String)> = plan
        .derived
        .iter()
        .map(|d| (d.name.as_str(), d.expr.to_string()))
        .collect();
    assert_eq!(
        built,
        [
            (
                "Brain",
                "union(\"Brain-PTV\", PTV_1, PTV_2, PTV_3, PTV_4, PTV_5, PTV_All)".to_string()
            ),
            ("Brain-GTV_All", "(Brain - GTV_All)".to_string()),
        ]
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("GTV_All") && w.contains("as contoured"))
    );
    let b1 = plan.rules.iter().find(|r| r.rule.id == "B1").unwrap();
    assert!(b1.evaluable());
    let b5 = plan.rules.iter().find(|r| r.rule.id == "B5").unwrap();
    assert_eq!(
        b5.structures["GTV_*"],
        ["GTV_1", "GTV_2", "GTV_3", "GTV_4", "GTV_5", "GTV_All"]
    );
    let v24: Vec<_> = plan
        .metrics
        .iter()
        .filter(|m| m.metric == "V24Gy[cc]")
        .collect();
    assert_eq!(v24.len(), 1);
    assert!(v24[0].when.as_ref().unwrap().applies(Some(5), None));
    assert!(!v24[0].when.as_ref().unwrap().applies(Some(1), None));
}
