//! End-to-end tests of pipelines, derived structures, EQD2/BED and courses, driving the
//! `radtox` binary: shipped pipelines on the shipped fixtures, uniform-dose phantoms
//! with closed-form EQD2, overlapping and concentric spheres with closed-form volumes.

mod common;

use common::{json_of, metric, radtox, repo, run, structure};
use radtox_fixtures::{
    ContourSpec, DoseModel, GridSpec, Phantom, Shape, ShapeSpec, WriteOptions, WrittenPlan,
    write_plan,
};
use std::f64::consts::PI;
use std::path::Path;

fn pipeline_json(fixture: &str, pipeline: &str, extra: &[&str]) -> serde_json::Value {
    json_of(run(radtox()
        .arg("analyze")
        .arg(repo(fixture))
        .arg("--pipeline")
        .arg(repo(pipeline))
        .args(["--format", "json", "--no-dvh"])
        .args(extra)))
}

fn by_tg263<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["structures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["tg263_name"] == name)
        .unwrap_or_else(|| panic!("no structure mapped to {name}"))
}

fn warnings(doc: &serde_json::Value) -> Vec<String> {
    doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn brain_pipeline_maps_names_builds_brain_minus_gtvs_and_computes_its_metrics() {
    let doc = pipeline_json("fixtures/brain-srs", "pipelines/brain-srs.toml", &[]);
    assert!(doc["pipeline"].as_str().unwrap().starts_with("Brain SRS"));
    // Every structure has a mapping decision with its rule.
    let decisions = doc["name_mapping"]["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 10);
    assert!(
        decisions
            .iter()
            .all(|d| !d["rule"].as_str().unwrap().is_empty())
    );
    // Brain minus the union of the GTVs: disjoint lesions inside the brain, so its
    // volume is the brain's minus the sum of the GTVs' (partial volumes kept).
    let brain = structure(&doc, "Brain")["volume_cc"].as_f64().unwrap();
    let gtvs: f64 = ["GTV_1", "GTV_2", "GTV_3"]
        .iter()
        .map(|g| structure(&doc, g)["volume_cc"].as_f64().unwrap())
        .sum();
    let d = structure(&doc, "Brain-GTV_All");
    assert_eq!(d["derived"], true);
    let v = d["volume_cc"].as_f64().unwrap();
    assert!(
        (v - (brain - gtvs)).abs() < 1e-3 * brain,
        "{v} vs {brain} - {gtvs}"
    );
    // Single-fraction HyTEC metrics apply (the plan has 1 fraction); 3-fraction ones not.
    let v12 = metric(d, "V12Gy[cc]");
    let v10 = metric(d, "V10Gy[cc]");
    assert!(v10 >= v12 && v12 > 0.0);
    assert!(d["metrics"].get("V20Gy[cc]").is_none());
    // V12 of brain minus GTVs = V12 of the brain minus the GTVs' (all GTV tissue gets
    // ≥ 12 Gy in this fixture).
    let brain_v12 = metric(structure(&doc, "Brain"), "V12Gy[cc]");
    assert!((brain_v12 - gtvs - v12).abs() < 0.02 * brain_v12);
    // EQD2 with α/β = 2 Gy (brain) in 1 fraction.
    assert!(metric(d, "Mean[EQD2Gy]") > metric(d, "Mean[Gy]"));
    assert_eq!(d["eqd2_model"], "EQD2 LQ α/β=2 Gy, 1 fx (plan)");
    // Structures the plan lacks are warnings, not failures.
    assert!(warnings(&doc).iter().any(|w| w.contains("OpticNrv_L")));
    // Dose-volume rules are evaluated without a patient file; timing rules need one.
    let flags = doc["flags"].as_array().unwrap();
    let b1 = flags.iter().find(|f| f["rule_id"] == "B1").unwrap();
    assert_eq!(b1["metric"], "V12Gy[cc]");
    assert!((b1["value"].as_f64().unwrap() - v12).abs() < 1e-9);
    assert!(
        doc["disclaimer"]
            .as_str()
            .unwrap()
            .contains("decision support")
    );
}

#[test]
fn lesion_eqd2_quantiles_are_the_eqd2_of_the_physical_quantiles() {
    // LQ is monotone in dose, so a dose-at-volume metric converts exactly (up to the
    // interpolation between two samples) and the mean of EQD2 lies between EQD2 of the
    // mean (convexity) and EQD2 of the maximum.
    let doc = pipeline_json(
        "fixtures/brain-srs",
        "pipelines/brain-srs.toml",
        &[
            "-m",
            "D98%[Gy]",
            "-m",
            "D98%[EQD2Gy]",
            "-m",
            "Mean[Gy]",
            "-m",
            "Mean[EQD2Gy]",
            "-m",
            "Max[Gy]",
        ],
    );
    let eqd2 = |d: f64, ab: f64| d * (1.0 + d / ab) / (1.0 + 2.0 / ab);
    for g in ["GTV_1", "GTV_2", "GTV_3"] {
        let s = structure(&doc, g);
        assert_eq!(s["eqd2_model"], "EQD2 LQ α/β=10 Gy, 1 fx (plan)");
        let d98 = metric(s, "D98%[Gy]");
        let e98 = metric(s, "D98%[EQD2Gy]");
        assert!(
            (e98 - eqd2(d98, 10.0)).abs() < 0.005 * e98,
            "{g}: {e98} vs {d98}"
        );
        let mean = metric(s, "Mean[EQD2Gy]");
        assert!(mean >= eqd2(metric(s, "Mean[Gy]"), 10.0) - 1e-6);
        assert!(mean <= eqd2(metric(s, "Max[Gy]"), 10.0));
    }
}

/// A phantom with a uniform dose over its whole grid and the given spheres.
fn uniform_phantom(
    name: &str,
    dose_gy: f64,
    fractions: u32,
    spheres: &[(&str, [f64; 3], f64)],
) -> Phantom {
    let contour = ContourSpec {
        spacing_mm: 0.5,
        z_offset_mm: 0.25,
        vertices_per_circle: 180,
    };
    Phantom {
        name: name.into(),
        patient_name: "PHANTOM^UNIFORM".into(),
        patient_id: "UNIFORM".into(),
        grid: GridSpec {
            origin: [-30.0, -30.0, -30.0],
            spacing: [2.0, 2.0, 2.0],
            dims: [31, 31, 31],
        },
        dose: DoseModel::Linear {
            d0: dose_gy,
            gradient: [0.0, 0.0, 0.0],
        },
        structures: spheres
            .iter()
            .enumerate()
            .map(|(i, (n, c, r))| ShapeSpec {
                roi_number: i as i32 + 1,
                name: n.to_string(),
                interpreted_type: "ORGAN".into(),
                color: [255, 0, 0],
                shape: Shape::Sphere {
                    centre: *c,
                    radius: *r,
                },
                contour: contour.clone(),
            })
            .collect(),
        prescription_gy: dose_gy,
        fractions,
        plan_label: "UNIFORM".into(),
        plan_name: "uniform".into(),
        target_roi: None,
    }
}

fn write(ph: &Phantom, dir: &Path) -> WrittenPlan {
    write_plan(ph, dir, &WriteOptions::default()).unwrap()
}

fn plan_args(p: &WrittenPlan) -> Vec<std::ffi::OsString> {
    vec![
        "--rtstruct".into(),
        p.rtstruct.clone().into(),
        "--rtplan".into(),
        p.rtplan.clone().into(),
    ]
}

#[test]
fn uniform_20_gy_in_one_fraction_is_110_gy_eqd2_at_alpha_beta_2() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = write(
        &uniform_phantom(
            "uniform-20x1",
            20.0,
            1,
            &[("Region", [0.0, 0.0, 0.0], 10.0)],
        ),
        tmp.path(),
    );
    let analyse = |extra: &[&str]| {
        json_of(run(radtox()
            .arg("analyze")
            .arg("--rtdose")
            .arg(&plan.rtdose)
            .args(plan_args(&plan))
            .args(["--format", "json", "--no-dvh", "--alpha-beta", "2"])
            .args([
                "-m",
                "Mean[Gy]",
                "-m",
                "Mean[EQD2Gy]",
                "-m",
                "Mean[BEDGy]",
                "-m",
                "D95%[EQD2Gy]",
            ])
            .args(extra)))
    };
    let doc = analyse(&[]);
    let s = structure(&doc, "Region");
    assert!((metric(s, "Mean[Gy]") - 20.0).abs() < 1e-4);
    // EQD2 = n d (d + α/β)/(2 + α/β) = 20 (22/4) = 110 Gy; BED = 20 (1 + 10) = 220 Gy.
    assert!((metric(s, "Mean[EQD2Gy]") - 110.0).abs() < 1e-3);
    assert!((metric(s, "D95%[EQD2Gy]") - 110.0).abs() < 1e-3);
    assert!((metric(s, "Mean[BEDGy]") - 220.0).abs() < 2e-3);
    assert!(
        doc["dose_models"][0]
            .as_str()
            .unwrap()
            .contains("α/β=2 Gy, 1 fx")
    );
    // LQ-L with d_T = 6 Gy: BED = 6·(1+6/2)... = n[d(1 + 2 d_T/(α/β)) − d_T²/(α/β)]
    // = 20·7 − 18 = 122 Gy, EQD2 = 61 Gy.
    let doc = analyse(&["--lq-l", "6"]);
    let s = structure(&doc, "Region");
    assert!((metric(s, "Mean[EQD2Gy]") - 61.0).abs() < 1e-3);
    assert!(s["eqd2_model"].as_str().unwrap().contains("LQ-L d_T=6 Gy"));
    // The same 20 Gy in 5 fractions (override): d = 4 Gy, EQD2 = 20·6/4 = 30 Gy.
    let doc = analyse(&["--fractions", "5"]);
    assert!((metric(structure(&doc, "Region"), "Mean[EQD2Gy]") - 30.0).abs() < 1e-3);
    // α/β unknown: a clear metric error, physical metrics unaffected.
    let doc = json_of(run(radtox()
        .arg("analyze")
        .arg("--rtdose")
        .arg(&plan.rtdose)
        .args(plan_args(&plan))
        .args([
            "--format",
            "json",
            "--no-dvh",
            "-m",
            "Mean[Gy]",
            "-m",
            "Mean[EQD2Gy]",
        ])));
    let s = structure(&doc, "Region");
    assert!((metric(s, "Mean[Gy]") - 20.0).abs() < 1e-4);
    assert!(
        s["metric_errors"]["Mean[EQD2Gy]"]
            .as_str()
            .unwrap()
            .contains("α/β")
    );
}

#[test]
fn unknown_fractionation_gives_a_metric_error_naming_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = write(
        &uniform_phantom(
            "uniform-nofx",
            20.0,
            1,
            &[("Region", [0.0, 0.0, 0.0], 10.0)],
        ),
        tmp.path(),
    );
    // No RT Plan: the number of fractions is unknown.
    let doc = json_of(run(radtox()
        .arg("analyze")
        .arg("--rtdose")
        .arg(&plan.rtdose)
        .arg("--rtstruct")
        .arg(&plan.rtstruct)
        .args([
            "--format",
            "json",
            "--no-dvh",
            "--alpha-beta",
            "2",
            "-m",
            "Mean[EQD2Gy]",
        ])));
    let e = structure(&doc, "Region")["metric_errors"]["Mean[EQD2Gy]"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(e.contains("fractions") && e.contains("--fractions"), "{e}");
}

#[test]
fn courses_are_summed_in_eqd2_voxel_by_voxel_each_with_its_fractions() {
    let tmp = tempfile::tempdir().unwrap();
    let ph = uniform_phantom(
        "uniform-courses",
        20.0,
        1,
        &[("Region", [0.0, 0.0, 0.0], 10.0)],
    );
    let plan = write(&ph, &tmp.path().join("c1"));
    // Course 2: the same frame of reference (same phantom name), another grid (offset by
    // half a voxel, 2.5 mm spacing): resampled onto course 1's grid.
    let mut ph2 = ph.clone();
    ph2.grid = GridSpec {
        origin: [-31.0, -29.0, -31.25],
        spacing: [2.5, 2.5, 2.5],
        dims: [26, 26, 26],
    };
    let plan2 = write(&ph2, &tmp.path().join("c2"));
    let c1 = format!("{}:1", plan.rtdose.display());
    let c2 = format!("{}:5", plan2.rtdose.display());
    let doc = json_of(run(radtox()
        .arg("analyze")
        .args(["--course", &c1, "--course", &c2])
        .args(plan_args(&plan))
        .args(["--format", "json", "--no-dvh", "--alpha-beta", "2"])
        .args(["-m", "Mean[Gy]", "-m", "Mean[EQD2Gy]", "-m", "Min[EQD2Gy]"])));
    let s = structure(&doc, "Region");
    // Physical: 20 + 20 Gy. EQD2: 110 (20 Gy × 1) + 30 (20 Gy in 5) = 140 Gy, not the
    // EQD2 of 40 Gy in either fractionation.
    assert!((metric(s, "Mean[Gy]") - 40.0).abs() < 1e-3);
    assert!((metric(s, "Mean[EQD2Gy]") - 140.0).abs() < 1e-2);
    assert!((metric(s, "Min[EQD2Gy]") - 140.0).abs() < 1e-2);
    assert!(
        doc["inputs"]["dose_summation"]
            .as_str()
            .unwrap()
            .contains("voxel-wise")
    );

    // A course in another frame of reference is refused.
    let mut other = ph.clone();
    other.name = "uniform-other-frame".into();
    let plan3 = write(&other, &tmp.path().join("c3"));
    let c3 = format!("{}:5", plan3.rtdose.display());
    let out = run(radtox()
        .arg("analyze")
        .args(["--course", &c1, "--course", &c3])
        .args(plan_args(&plan)));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("frame of reference"), "{err}");
    // A malformed course argument.
    let out = run(radtox()
        .arg("analyze")
        .args(["--course", "dose.dcm"])
        .args(plan_args(&plan)));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DOSE_FILE:FRACTIONS"));
}

#[test]
fn derived_lens_union_and_shell_volumes_match_the_analytic_solids() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, d) = (10.0, 10.0);
    let ph = uniform_phantom(
        "uniform-spheres",
        2.0,
        1,
        &[
            ("Sphere A", [-d / 2.0, 0.0, 0.0], r),
            ("Sphere B", [d / 2.0, 0.0, 0.0], r),
            ("Outer", [0.0, 0.0, 0.0], 18.0),
            ("Inner", [0.0, 0.0, 0.0], 9.0),
        ],
    );
    let plan = write(&ph, tmp.path());
    let doc = json_of(run(radtox()
        .arg("analyze")
        .arg("--rtdose")
        .arg(&plan.rtdose)
        .args(plan_args(&plan))
        .args(["--format", "json", "--no-dvh", "-m", "Mean[Gy]"])
        .args(["--derive", "Lens = 'Sphere A' & 'Sphere B'"])
        .args(["--derive", "Both = union('Sphere A', 'Sphere B')"])
        .args(["--derive", "Shell = Outer - Inner"])
        .args(["--derive", "Grown = Inner expand 5"])));
    let vol = |n: &str| structure(&doc, n)["volume_cc"].as_f64().unwrap();
    let sphere = |r: f64| 4.0 / 3.0 * PI * r.powi(3) / 1000.0;
    // Lens of two spheres of radius r at distance d: π (4r + d)(2r − d)² / 12.
    let lens = PI * (4.0 * r + d) * (2.0 * r - d).powi(2) / 12.0 / 1000.0;
    let checks = [
        ("Lens", lens, 0.01),
        ("Both", 2.0 * sphere(r) - lens, 0.01),
        ("Shell", sphere(18.0) - sphere(9.0), 0.01),
        // A sphere grown by 5 mm is a sphere of 14 mm (margin accuracy ~1-2 %).
        ("Grown", sphere(14.0), 0.02),
    ];
    for (n, truth, tol) in checks {
        let got = vol(n);
        assert!(
            (got - truth).abs() <= tol * truth,
            "{n}: {got} cc vs analytic {truth} cc"
        );
        assert_eq!(structure(&doc, n)["derived"], true);
        // Uniform dose: every derived sample reads 2 Gy.
        assert!((metric(structure(&doc, n), "Mean[Gy]") - 2.0).abs() < 1e-4);
    }
    // An expression naming a structure the plan lacks is an error naming it.
    let out = run(radtox()
        .arg("analyze")
        .arg("--rtdose")
        .arg(&plan.rtdose)
        .args(plan_args(&plan))
        .args(["--derive", "X = Brain - Inner"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'Brain'"));
    // A syntax error is reported with its column.
    let out = run(radtox()
        .arg("analyze")
        .arg("--rtdose")
        .arg(&plan.rtdose)
        .args(plan_args(&plan))
        .args(["--derive", "X = Outer - "]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("column"));
}

#[test]
fn breast_left_pipeline_on_the_breast_fixture() {
    let doc = pipeline_json("fixtures/breast-left", "pipelines/breast-left.toml", &[]);
    // "Lt Lung" maps to Lung_L; the derived marrow and skin band are built.
    assert_eq!(structure(&doc, "Lt Lung")["tg263_name"], "Lung_L");
    for d in ["Marrow_Thoracic", "Skin_Band_5mm"] {
        let s = structure(&doc, d);
        assert_eq!(s["derived"], true, "{d}");
        assert!(s["volume_cc"].as_f64().unwrap() > 0.0, "{d}");
    }
    let heart = by_tg263(&doc, "Heart");
    assert!(metric(heart, "Mean[Gy]") >= 0.0);
    assert!(!doc["dose_models"].as_array().unwrap().is_empty());
    let flags = doc["flags"].as_array().unwrap();
    assert!(flags.iter().any(|f| f["rule_id"] == "C1"));
}

#[test]
fn bone_metastases_pipeline_runs_on_the_breast_fixture() {
    let doc = pipeline_json(
        "fixtures/breast-left",
        "pipelines/bone-metastases.toml",
        &[],
    );
    assert!(
        doc["pipeline"]
            .as_str()
            .unwrap()
            .contains("bone-metastases.toml")
    );
    assert!(doc["name_mapping"]["decisions"].as_array().unwrap().len() >= 19);
    assert!(!doc["flags"].as_array().unwrap().is_empty());
}

#[test]
fn breast_right_pipeline_on_a_left_plan_warns_instead_of_failing() {
    let doc = pipeline_json("fixtures/breast-left", "pipelines/breast-right.toml", &[]);
    let w = warnings(&doc);
    assert!(!w.is_empty());
    // Every structure is still reported with its physical metrics.
    assert_eq!(
        doc["structures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["derived"] == false)
            .count(),
        19
    );
    assert!(metric(structure(&doc, "Breast_L"), "Mean[Gy]") > 40.0);
}

#[test]
fn malformed_pipeline_exits_2_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bad.toml");
    std::fs::write(
        &path,
        "schema = \"radtox-pipeline/1\"\nname = \"bad\"\n\n[alpha_beta]\ndefault = 3.0\n\n[[metrics]]\nstructures = [\"Brain\"]\nmetrics = [\"V12Gy[cc]\"]\nalpha_bta = 2.0\n",
    )
    .unwrap();
    let out = run(radtox()
        .arg("analyze")
        .arg(repo("fixtures/brain-srs"))
        .arg("--pipeline")
        .arg(&path));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:10:"), "{err}");
    assert!(err.contains("alpha_bta"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn without_a_pipeline_nothing_changes() {
    let doc = json_of(run(radtox()
        .arg("analyze")
        .arg(repo("fixtures/brain-srs"))
        .args(["--format", "json", "--no-dvh"])));
    assert!(doc["pipeline"].is_null());
    assert!(doc["name_mapping"].is_null());
    assert!(doc["flags"].as_array().unwrap().is_empty());
    assert!(
        doc["structures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["derived"] == false && s["tg263_name"].is_null())
    );
}

#[test]
fn command_line_derived_structures_use_tg263_names_beside_a_pipeline() {
    // "Lt Lung" is Lung_L after mapping; the lungs are disjoint, so the union's volume
    // is the sum of theirs.
    let doc = pipeline_json(
        "fixtures/breast-left",
        "pipelines/breast-left.toml",
        &[
            "--derive",
            "BothLungs = Lung_L | Lung_R",
            "--lq-model",
            "lql:6",
        ],
    );
    let sum = structure(&doc, "Lt Lung")["volume_cc"].as_f64().unwrap()
        + structure(&doc, "Lung_R")["volume_cc"].as_f64().unwrap();
    let got = structure(&doc, "BothLungs")["volume_cc"].as_f64().unwrap();
    assert!((got - sum).abs() < 1e-3 * sum, "{got} vs {sum}");
    assert!(
        doc["dose_models"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m.as_str().unwrap().contains("LQ-L d_T=6 Gy"))
    );
    // A bad model is refused before anything is read.
    let out = run(radtox()
        .arg("analyze")
        .arg(repo("fixtures/breast-left"))
        .args(["--lq-model", "lqx"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lql:D_T"));
}

#[test]
fn pipeline_fractionation_stands_in_when_the_plan_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = write(
        &uniform_phantom(
            "uniform-pipeline-fx",
            20.0,
            1,
            &[("Region", [0.0, 0.0, 0.0], 10.0)],
        ),
        &tmp.path().join("plan"),
    );
    let pipeline = tmp.path().join("p.toml");
    std::fs::write(
        &pipeline,
        r#"schema = "radtox-pipeline/1"
name = "fallback"
[names]
standard = ["Region"]
[fractionation]
fractions = 5
prescription_gy = 20.0
[alpha_beta]
default = 2.0
[[metrics]]
structures = ["Region"]
metrics = ["Mean[EQD2Gy]", "V95%[%]"]
"#,
    )
    .unwrap();
    // No RT Plan: fractions and prescription come from the pipeline.
    let doc = json_of(run(radtox()
        .arg("analyze")
        .arg("--rtdose")
        .arg(&plan.rtdose)
        .arg("--rtstruct")
        .arg(&plan.rtstruct)
        .arg("--pipeline")
        .arg(&pipeline)
        .args(["--format", "json", "--no-dvh"])));
    let s = structure(&doc, "Region");
    // 20 Gy in 5 fractions at α/β = 2 Gy: 20 (4 + 2)/4 = 30 Gy.
    assert!((metric(s, "Mean[EQD2Gy]") - 30.0).abs() < 1e-3);
    assert!((metric(s, "V95%[%]") - 100.0).abs() < 1e-6);
    assert_eq!(
        s["eqd2_model"],
        "EQD2 LQ α/β=2 Gy, 5 fx (pipeline (plan lacks it))"
    );
    assert!(
        warnings(&doc)
            .iter()
            .any(|w| w.contains("prescription 20 Gy taken from the pipeline"))
    );
}

#[test]
fn eqd2_dvh_curves_accompany_the_physical_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = write(
        &uniform_phantom(
            "uniform-curves",
            20.0,
            1,
            &[("Region", [0.0, 0.0, 0.0], 10.0)],
        ),
        tmp.path(),
    );
    let doc = json_of(run(radtox()
        .arg("analyze")
        .arg("--rtdose")
        .arg(&plan.rtdose)
        .args(plan_args(&plan))
        .args(["--format", "json", "--alpha-beta", "2", "--dvh-bin", "1"])));
    let s = structure(&doc, "Region");
    let last = |c: &serde_json::Value, k: &str| {
        c[k].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect::<Vec<_>>()
    };
    // Uniform 20 Gy → every sample at 110 Gy EQD2: the cumulative EQD2 curve holds the
    // whole volume up to 110 Gy and nothing beyond, as the physical one does at 20 Gy.
    let volume = s["volume_cc"].as_f64().unwrap();
    let (d, v) = (
        last(&s["eqd2_dvh"], "dose_gy"),
        last(&s["eqd2_dvh"], "volume_cc"),
    );
    let at = |dose: f64| {
        d.iter()
            .zip(&v)
            .find(|(x, _)| (**x - dose).abs() < 1e-9)
            .map(|(_, y)| *y)
    };
    assert!((at(109.0).unwrap() - volume).abs() < 1e-3 * volume);
    assert!(at(111.0).unwrap_or(0.0) < 1e-9);
    assert_eq!(s["eqd2_model"], "EQD2 LQ α/β=2 Gy, 1 fx (plan)");
}

/// Derived structures carry DVHs as exact as drawn ones: in a linear gradient
/// (20 Gy + 0.4 Gy/mm along x) a concentric shell has its mean and median at the centre
/// dose, and a sphere contracted by 6 mm is the sphere of r − 6 with its analytic
/// quantiles (cap volume πh²(3r − h)/3).
#[test]
fn derived_shell_and_contracted_sphere_dvhs_match_the_analytic_ones() {
    use radtox_fixtures::DoseModel;
    let tmp = tempfile::tempdir().unwrap();
    let mut ph = uniform_phantom(
        "gradient-spheres",
        20.0,
        1,
        &[
            ("Outer", [0.3, -0.2, 0.1], 18.0),
            ("Inner", [0.3, -0.2, 0.1], 9.0),
        ],
    );
    ph.dose = DoseModel::Linear {
        d0: 20.0 - 0.4 * 0.3,
        gradient: [0.4, 0.0, 0.0],
    };
    let plan = write(&ph, tmp.path());
    let doc = json_of(run(radtox()
        .arg("analyze")
        .arg("--rtdose")
        .arg(&plan.rtdose)
        .args(plan_args(&plan))
        .args(["--format", "json", "--no-dvh"])
        .args([
            "-m", "Mean[Gy]", "-m", "D50%[Gy]", "-m", "D95%[Gy]", "-m", "D5%[Gy]",
        ])
        .args(["-m", "V20Gy[%]"])
        .args(["--derive", "Shell = Outer - Inner"])
        .args(["--derive", "Core = Outer contract 6"])));
    let sphere = |r: f64| 4.0 / 3.0 * PI * r.powi(3) / 1000.0;
    let shell = structure(&doc, "Shell");
    let v = shell["volume_cc"].as_f64().unwrap();
    let truth = sphere(18.0) - sphere(9.0);
    assert!((v - truth).abs() <= 0.01 * truth, "shell {v} vs {truth}");
    for m in ["Mean[Gy]", "D50%[Gy]"] {
        let got = metric(shell, m);
        assert!((got - 20.0).abs() <= 0.05, "shell {m} = {got}, want 20");
    }
    assert!((metric(shell, "V20Gy[%]") - 50.0).abs() <= 1.0);

    let core = structure(&doc, "Core");
    let r = 12.0;
    let v = core["volume_cc"].as_f64().unwrap();
    assert!(
        (v - sphere(r)).abs() <= 0.02 * sphere(r),
        "core {v} vs {}",
        sphere(r)
    );
    assert!((metric(core, "Mean[Gy]") - 20.0).abs() <= 0.1);
    // D_x%: the hottest x of the sphere is a cap of height h with cap(h)/V = x.
    let cap = |h: f64| PI * h * h * (3.0 * r - h) / 3.0;
    let dx = |frac: f64| {
        let (mut lo, mut hi) = (0.0, 2.0 * r);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if cap(mid) / (4.0 / 3.0 * PI * r.powi(3)) < frac {
                lo = mid
            } else {
                hi = mid
            }
        }
        20.0 + 0.4 * (r - 0.5 * (lo + hi))
    };
    for (m, f) in [("D95%[Gy]", 0.95), ("D5%[Gy]", 0.05)] {
        let (got, want) = (metric(core, m), dx(f));
        assert!(
            (got - want).abs() <= (0.01 * want).max(0.05),
            "core {m} = {got}, want {want}"
        );
    }
}

/// The dicompyler export has a Heart but no bones and ships one CT slice: the heart, lung
/// and skin tables are computed, and the lone slice is reported, not used as a volume.
#[test]
fn real_breast_export_gets_site_tables_and_the_lone_ct_slice_is_reported() {
    let doc = json_of(run(radtox()
        .arg("analyze")
        .arg(common::shared("dicompyler-example"))
        .arg("--pipeline")
        .arg(common::repo("pipelines/breast-left.toml"))
        .args(["--format", "json", "--no-dvh"])));
    let ids: Vec<&str> = doc["site_tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert!(ids.contains(&"heart"), "{ids:?}");
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains("single slice"), "{warnings}");
}
