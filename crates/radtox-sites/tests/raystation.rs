//! The RayStation brain SRS export (5 metastases, 5 fractions, 3 mm dose grid).

use radtox_sites::*;
use std::path::{Path, PathBuf};

fn data(prefix: &str) -> Option<PathBuf> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/raystation-brain-srs"
    ));
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".dcm"))
        })
}

#[test]
fn raystation_brain_srs() {
    let (Some(rd), Some(rs), Some(rp)) = (data("RD"), data("RS"), data("RP")) else {
        eprintln!("raystation-brain-srs not present; skipped");
        return;
    };
    let dose = radtox_dicom::read_rt_dose(&rd).unwrap();
    let ss = radtox_dicom::read_rt_struct(&rs).unwrap();
    let plan = radtox_dicom::read_rt_plan(&rp).unwrap();
    let ctx = SiteContext::from_plan(&plan);
    assert_eq!(ctx.fractions, Some(5));
    let named: Vec<NamedStructure> = ss.structures.iter().cloned().map(|s| (s, None)).collect();
    let t0 = std::time::Instant::now();
    let a = analyse_brain(&dose.grid, &named, &ctx, &BrainOptions::default())
        .unwrap()
        .unwrap();
    let elapsed = t0.elapsed();
    eprintln!(
        "analyse_brain: {elapsed:?}; Rx {:?} Gy, fractions {:?}",
        ctx.prescription_gy, ctx.fractions
    );
    for l in &a.lesions {
        eprintln!(
            "{:8} {:6.3} cc  diam {:5.1} mm  Rx {:5.2} ({:?})  D98 {:5.2}  D2 {:5.2}  CI {:?}  GI {:?}  merged {}  V12 {:6.3} cc merged {}",
            l.name,
            l.volume_cc,
            l.max_diameter_mm,
            l.prescription_gy,
            l.prescription_source,
            l.d98_gy,
            l.d2_gy,
            l.paddick_ci.map(|v| (v * 1000.0).round() / 1000.0),
            l.gradient_index.map(|v| (v * 100.0).round() / 100.0),
            l.rx_island_merged,
            l.v_island_cc,
            l.v_island_merged
        );
    }
    eprintln!("brain: {:?}", a.brain);
    eprintln!("unattributed V12 {:.3} cc", a.v_island_unattributed_cc);
    for n in &a.notes {
        eprintln!("note: {n}");
    }
    assert_eq!(a.target_kind, "GTV");
    let mut names: Vec<&str> = a.lesions.iter().map(|l| l.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["GTV_1", "GTV_2", "GTV_3", "GTV_4", "GTV_5"]);
    for l in &a.lesions {
        assert!(
            l.volume_cc > 0.03 && l.volume_cc < 2.5,
            "{} {}",
            l.name,
            l.volume_cc
        );
        // A lesion's diameter is at least that of the sphere of its volume.
        let d_eq = 2.0 * (3.0 * l.volume_cc * 1000.0 / (4.0 * std::f64::consts::PI)).cbrt();
        assert!(
            l.max_diameter_mm >= 0.95 * d_eq && l.max_diameter_mm < 40.0,
            "{} {}",
            l.name,
            l.max_diameter_mm
        );
        assert!(l.d98_gy <= l.d2_gy);
        if let Some(ci) = l.paddick_ci {
            assert!(ci > 0.0 && ci <= 1.0 + 1e-9, "{} CI {ci}", l.name);
        }
        if let Some(gi) = l.gradient_index {
            assert!(gi >= 1.0, "{} GI {gi}", l.name);
        }
        // Five fractions: the single-fraction RTOG check does not apply.
        assert_eq!(l.rtog_9005_exceeded, None);
        assert!(l.v_island_cc >= 0.0);
    }
    // "BRAIN - PTV" stands in for the brain.
    let b = a.brain.as_ref().unwrap();
    assert_eq!(b.brain, "BRAIN - PTV");
    assert!(b.v10_cc >= b.v12_cc && b.v12_cc >= b.v20_cc && b.v20_cc >= b.v24_cc);
    // The island volumes plus unattributed islands are the region's 12 Gy volume (the
    // whole brain − PTV here), which the DVH gives independently (to sample rounding).
    let total: f64 =
        a.lesions.iter().map(|l| l.v_island_cc).sum::<f64>() + a.v_island_unattributed_cc;
    assert!(
        (total - b.v12_cc).abs() < 0.02 * b.v12_cc.max(0.05),
        "{total} vs {}",
        b.v12_cc
    );
    let tables = a.to_site_tables();
    let json = serde_json::to_string(&tables).unwrap();
    assert!(json.contains("brain_lesions"));
}

#[test]
#[ignore]
fn dump_plan() {
    let plan = radtox_dicom::read_rt_plan(&data("RP").unwrap()).unwrap();
    eprintln!("{:#?}", plan.prescriptions);
    let ss = radtox_dicom::read_rt_struct(&data("RS").unwrap()).unwrap();
    for s in &ss.structures {
        eprintln!(
            "{} {} {:?} planes {}",
            s.roi_number,
            s.name,
            s.interpreted_type,
            s.planes.len()
        );
    }
    let dose = radtox_dicom::read_rt_dose(&data("RD").unwrap()).unwrap();
    eprintln!(
        "max {} dims {:?} spacing {:?}",
        dose.grid.max_dose(),
        dose.grid.dims(),
        dose.grid.mean_spacing()
    );
}

/// Without GTVs the PTVs are the lesions; derived structures (PTV_ALL, PTV1_WALL typed
/// ORGAN, "ptv 4 AND 5") are not.
#[test]
fn raystation_ptvs_when_no_gtv() {
    let (Some(rd), Some(rs), Some(rp)) = (data("RD"), data("RS"), data("RP")) else {
        return;
    };
    let dose = radtox_dicom::read_rt_dose(&rd).unwrap();
    let ss = radtox_dicom::read_rt_struct(&rs).unwrap();
    let ctx = SiteContext::from_plan(&radtox_dicom::read_rt_plan(&rp).unwrap());
    let named: Vec<NamedStructure> = ss
        .structures
        .iter()
        .filter(|s| !s.name.starts_with("GTV"))
        .cloned()
        .map(|s| (s, None))
        .collect();
    let a = analyse_brain(&dose.grid, &named, &ctx, &BrainOptions::default())
        .unwrap()
        .unwrap();
    assert_eq!(a.target_kind, "PTV");
    let mut names: Vec<&str> = a.lesions.iter().map(|l| l.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["PTV_1", "PTV_2", "PTV_3", "PTV_4", "PTV_5"]);
    for l in &a.lesions {
        eprintln!(
            "{:6} {:6.3} cc diam {:5.1} mm Rx {:5.2} D98 {:5.2} D2 {:5.2} CI {:?} GI {:?} V12 {:6.3} merged {}",
            l.name,
            l.volume_cc,
            l.max_diameter_mm,
            l.prescription_gy,
            l.d98_gy,
            l.d2_gy,
            l.paddick_ci,
            l.gradient_index,
            l.v_island_cc,
            l.v_island_merged
        );
        let ci = l.paddick_ci.unwrap();
        assert!(ci > 0.0 && ci <= 1.0 + 1e-9);
    }
}

/// Timing breakdown (run with --ignored --nocapture).
#[test]
#[ignore]
fn timing() {
    let (Some(rd), Some(rs), Some(rp)) = (data("RD"), data("RS"), data("RP")) else {
        return;
    };
    let dose = radtox_dicom::read_rt_dose(&rd).unwrap();
    let ss = radtox_dicom::read_rt_struct(&rs).unwrap();
    let ctx = SiteContext::from_plan(&radtox_dicom::read_rt_plan(&rp).unwrap());
    let all: Vec<NamedStructure> = ss.structures.iter().cloned().map(|s| (s, None)).collect();
    let keep = |f: &dyn Fn(&str) -> bool| -> Vec<NamedStructure> {
        all.iter().filter(|s| f(&s.0.name)).cloned().collect()
    };
    let o = BrainOptions::default();
    for (label, set) in [
        ("all", all.clone()),
        ("GTVs only", keep(&|n| n.starts_with("GTV"))),
        (
            "GTVs + BODY",
            keep(&|n| n.starts_with("GTV") || n == "BODY"),
        ),
        (
            "GTVs + BRAIN - PTV",
            keep(&|n| n.starts_with("GTV") || n == "BRAIN - PTV"),
        ),
    ] {
        let t = std::time::Instant::now();
        analyse_brain(&dose.grid, &set, &ctx, &o).unwrap();
        eprintln!("{label}: {:?}", t.elapsed());
    }
}
