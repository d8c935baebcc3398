//! End-to-end tests of `radtox analyze`: real exports, orientation invariance, bad input.

mod common;

use common::{analyze_json, json_of, metric, radtox, repo, run, shared, structure};
use radtox_fixtures::{Fault, Orientation, Ts, WriteOptions, brain_srs, write_faulty, write_plan};

#[test]
fn shipped_fixture_analyses_with_defaults_as_in_the_readme() {
    let out = run(radtox().arg("analyze").arg(repo("fixtures/breast-left")));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    for name in ["Breast_L", "Heart", "Lt Lung", "LAD", "Bone_Sternum"] {
        assert!(table.contains(name), "table lacks {name}:\n{table}");
    }
    assert!(table.contains("Mean[Gy]") && table.contains("D95%[Gy]"));
}

#[test]
fn brain_fixture_volumes_match_the_analytic_lesions() {
    let ph = brain_srs();
    let doc = json_of(run(radtox()
        .arg("analyze")
        .arg(repo("fixtures/brain-srs"))
        .args(["--format", "json", "--no-dvh"])));
    assert_eq!(doc["schema_version"], 1);
    for s in ph.structures.iter().filter(|s| s.name.starts_with("GTV")) {
        let st = structure(&doc, &s.name);
        let truth = s.shape.volume_mm3() / 1000.0;
        let got = st["volume_cc"].as_f64().unwrap();
        let tol = if truth < 1.0 { 0.03 } else { 0.01 };
        assert!(
            (got - truth).abs() <= tol * truth,
            "{}: {got} cc vs analytic {truth} cc",
            s.name
        );
    }
    // The fixture's PTVs are prescribed to the 20 Gy isodose surface.
    let st = structure(&doc, "PTV_1");
    assert!(metric(st, "D98%[Gy]") > 19.0 && metric(st, "Max[Gy]") < 40.0);
}

#[test]
fn json_document_has_the_documented_shape() {
    let doc = json_of(run(radtox()
        .arg("analyze")
        .arg(repo("fixtures/brain-srs"))
        .args(["--format", "json", "-m", "V12Gy[cc]", "-m", "D0.03cc[Gy]"])));
    for key in [
        "schema_version",
        "radtox_version",
        "inputs",
        "plan",
        "dose_grid",
        "structures",
        "warnings",
    ] {
        assert!(doc.get(key).is_some(), "missing {key}");
    }
    let s = &doc["structures"][0];
    for key in [
        "roi_number",
        "name",
        "volume_cc",
        "volume_in_dose_grid_cc",
        "metrics",
        "dvh",
        "tps_dvh_check",
    ] {
        assert!(s.get(key).is_some(), "structure lacks {key}");
    }
    let dvh = &s["dvh"];
    let (d, v) = (
        dvh["dose_gy"].as_array().unwrap(),
        dvh["volume_cc"].as_array().unwrap(),
    );
    assert_eq!(d.len(), v.len());
    assert!(
        v.windows(2).all(|w| w[1].as_f64() <= w[0].as_f64()),
        "cumulative DVH must not increase"
    );
    assert_eq!(doc["plan"]["fractions"], 1);
}

#[test]
fn csv_output_is_long_format() {
    let out = run(radtox()
        .arg("analyze")
        .arg(repo("fixtures/brain-srs"))
        .args(["--format", "csv", "-m", "Mean[Gy]"]));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "roi_number,structure,volume_cc,volume_in_dose_grid_cc,metric,value,error"
    );
    assert!(lines.all(|l| l.contains(",Mean[Gy],")));
}

#[test]
fn output_file_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let out = run(radtox()
        .arg("analyze")
        .arg(repo("fixtures/brain-srs"))
        .args(["--format", "json", "-o"])
        .arg(&path));
    assert!(out.status.success());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("plan.json")],
        "no temporary file left behind"
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(doc["schema_version"], 1);
}

#[test]
fn output_does_not_depend_on_the_number_of_threads() {
    // Parallel work is split into fixed shares joined in a fixed order, so a rerun on
    // another machine gives the same bytes, DVH sums included (QA diffs results).
    let run_with = |threads: &str, plan: &std::path::Path, pipeline: Option<&str>| {
        let mut cmd = radtox();
        cmd.env("RAYON_NUM_THREADS", threads)
            .arg("analyze")
            .arg(plan)
            .args(["--format", "json"]);
        if let Some(p) = pipeline {
            cmd.arg("--pipeline").arg(repo(p));
        }
        let out = run(&mut cmd);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let plans = [
        (shared("dicompyler-example"), None),
        (repo("fixtures/brain-srs"), Some("pipelines/brain-srs.toml")),
    ];
    for (plan, pipeline) in plans {
        let one = run_with("1", &plan, pipeline);
        assert!(one.len() > 10_000);
        for threads in ["2", "3"] {
            assert!(
                one == run_with(threads, &plan, pipeline),
                "{}: 1 and {threads} threads differ",
                plan.display()
            );
        }
    }
}

/// The planning system's own DVHs of the dicompyler example are the reference: every ROI
/// of 10 cc or more within 2 % in volume and 1 % in mean dose.
///
/// This planning system ends structures at their outermost contours, so the check runs
/// with `--end-caps flat` (with the default half-slab caps, Tumor Bed (12.8 cc) is 2.7 %
/// larger: exactly its two half-slab caps). BODY is excluded: the planning system's BODY
/// DVH holds 13 944 cc, 5.7 % less than the part of the contours inside the dose grid
/// (14 736 cc), while radtox, dicompyler-core and plastimatch agree on the contours'
/// volume (14 880 cc); the TPS evidently restricted BODY to a region it does not export.
#[test]
fn dicompyler_example_matches_the_planning_system_dvhs() {
    let doc = json_of(run(radtox()
        .arg("analyze")
        .arg(shared("dicompyler-example"))
        .args(["--format", "json", "--no-dvh", "--end-caps", "flat"])));
    let mut checked = 0;
    for s in doc["structures"].as_array().unwrap() {
        let Some(check) = s["tps_dvh_check"].as_object() else {
            continue;
        };
        let tps_volume = check["tps_volume_cc"].as_f64().unwrap();
        if tps_volume < 10.0 || s["name"] == "BODY" {
            continue;
        }
        let dv = check["volume_diff_percent"].as_f64().unwrap();
        let dm = check["mean_diff_percent"].as_f64().unwrap();
        assert!(
            dv.abs() <= 2.0,
            "{}: volume differs by {dv:.2} %",
            s["name"]
        );
        assert!(
            dm.abs() <= 1.0,
            "{}: mean dose differs by {dm:.2} %",
            s["name"]
        );
        checked += 1;
    }
    // Breast, Heart, Lt Lung, Tumor Bed, Tumor Bed Block.
    assert_eq!(checked, 5);
}

#[test]
fn every_real_export_analyses() {
    for dir in ["dicompyler-example", "raystation-brain-srs"] {
        let doc = json_of(run(radtox()
            .arg("analyze")
            .arg(shared(dir))
            .args(["--format", "json", "--no-dvh"])));
        assert!(doc["structures"].as_array().unwrap().len() >= 10, "{dir}");
    }
}

/// The same phantom written in every supported patient orientation, transfer syntax and
/// frame-offset style must give the same DVH metrics.
#[test]
fn same_phantom_in_every_orientation_gives_the_same_dvh() {
    let ph = brain_srs();
    let metrics = ["Mean[Gy]", "D2%[Gy]", "D98%[Gy]", "V12Gy[cc]"];
    let dir = tempfile::tempdir().unwrap();
    let reference = {
        let plan = write_plan(&ph, &dir.path().join("ref"), &WriteOptions::default()).unwrap();
        analyze_json(&plan, &metrics, &[])
    };
    let orientations = [
        Orientation::Ffs,
        Orientation::Hfp,
        Orientation::Ffp,
        Orientation::Hfdl,
        Orientation::Hfdr,
        Orientation::Ffdl,
        Orientation::Ffdr,
    ];
    let mut variants: Vec<(String, WriteOptions)> = orientations
        .iter()
        .map(|o| {
            (
                format!("{o:?}"),
                WriteOptions {
                    orientation: *o,
                    ..WriteOptions::default()
                },
            )
        })
        .collect();
    variants.push((
        "implicit LE".into(),
        WriteOptions {
            transfer_syntax: Ts::ImplicitLe,
            ..WriteOptions::default()
        },
    ));
    variants.push((
        "explicit BE".into(),
        WriteOptions {
            transfer_syntax: Ts::ExplicitBe,
            ..WriteOptions::default()
        },
    ));
    variants.push((
        "decreasing offsets".into(),
        WriteOptions {
            offsets: radtox_fixtures::OffsetStyle::Decreasing,
            ..WriteOptions::default()
        },
    ));
    for (label, opts) in variants {
        let plan = write_plan(&ph, &dir.path().join(&label), &opts).unwrap();
        let doc = analyze_json(&plan, &metrics, &[]);
        for (a, b) in reference["structures"]
            .as_array()
            .unwrap()
            .iter()
            .zip(doc["structures"].as_array().unwrap())
        {
            assert_eq!(a["name"], b["name"]);
            for m in metrics {
                let (x, y) = (a["metrics"][m].as_f64(), b["metrics"][m].as_f64());
                let (Some(x), Some(y)) = (x, y) else {
                    assert_eq!(x, y, "{label}: {} {m}", a["name"]);
                    continue;
                };
                assert!(
                    (x - y).abs() <= 1e-4 * x.abs().max(1.0),
                    "{label}: {} {m} = {y} vs {x} in HFS",
                    a["name"]
                );
            }
        }
    }
}

/// Each kind of bad input: exit code 2 and a message naming the file and the problem.
#[test]
fn bad_inputs_fail_cleanly_with_exit_2() {
    let ph = brain_srs();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (Fault::EmptyFile, "rtdose.dcm", "empty"),
        (Fault::NotDicom, "rtdose.dcm", "DICOM"),
        (Fault::TruncatedDose, "rtdose.dcm", ""),
        (Fault::ShortPixelData, "rtdose.dcm", "PixelData"),
        (
            Fault::MissingDoseGridScaling,
            "rtdose.dcm",
            "DoseGridScaling",
        ),
        (Fault::NonNumericContourData, "rtstruct.dcm", "ContourData"),
        (
            Fault::MismatchedFrameOfReference,
            "rtdose.dcm",
            "FrameOfReference",
        ),
    ];
    for (fault, file, words) in cases {
        let plan = write_faulty(&ph, &dir.path().join(format!("{fault:?}")), fault).unwrap();
        let out = run(radtox()
            .arg("analyze")
            .arg("--rtdose")
            .arg(&plan.rtdose)
            .arg("--rtstruct")
            .arg(&plan.rtstruct));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{fault:?}: {err}");
        assert!(
            err.contains(file),
            "{fault:?}: message does not name {file}: {err}"
        );
        assert!(
            err.to_lowercase().contains(&words.to_lowercase()),
            "{fault:?}: message lacks {words:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{fault:?} panicked: {err}");
    }
}

#[test]
fn degenerate_contour_is_skipped_with_a_warning_naming_roi_and_plane() {
    let ph = brain_srs();
    let dir = tempfile::tempdir().unwrap();
    let plan = write_faulty(&ph, dir.path(), Fault::DegenerateContour).unwrap();
    let doc = analyze_json(&plan, &["Mean[Gy]"], &[]);
    let warnings = doc["warnings"].to_string();
    let first = &ph.structures[0];
    assert!(
        warnings.contains(&first.name),
        "warning does not name the ROI: {warnings}"
    );
    assert!(
        warnings.contains("z ="),
        "warning does not name the plane: {warnings}"
    );
}

#[test]
fn malformed_metric_and_usage_errors_exit_2() {
    let out = run(radtox()
        .arg("analyze")
        .arg(repo("fixtures/brain-srs"))
        .args(["-m", "D95%[Gyy]"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Gyy"));
    let out = run(radtox().arg("analyze"));
    assert_eq!(out.status.code(), Some(2));
    let out = run(radtox().arg("analyze").arg("/nonexistent/plan"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/plan"));
}
