//! Heart, lung, skin band and marrow on box/cylinder phantoms in linear or radial dose,
//! whose DVH figures have closed forms.

mod common;
use common::*;
use radtox_sites::*;
use std::f64::consts::PI;

#[test]
fn heart_substructures_and_darby() {
    // D = 0.5 (x + 30) Gy: 5 Gy at x = −20, 25 Gy at x = 20.
    let (ax, ay) = (axis(-30.0, 30.0, 2.0), axis(-30.0, 30.0, 2.0));
    let g = grid(ax, ay.clone(), ay, |x, _, _| 0.5 * (x + 30.0));
    let structures = vec![
        (cuboid(1, "Heart", [-20.0; 3], [20.0; 3], 2.0), None),
        (
            cuboid(2, "LV", [0.0, -10.0, -10.0], [20.0, 10.0, 10.0], 2.0),
            Some("Ventricle_L".to_string()),
        ),
        (
            cuboid(3, "LAD", [-10.0, 14.0, 0.0], [10.0, 16.0, 4.0], 1.0),
            Some("A_LAD".to_string()),
        ),
        (
            cuboid(4, "Atrium_L", [-20.0, -20.0, 10.0], [0.0, 0.0, 20.0], 2.0),
            None,
        ),
        (cuboid(5, "Spleen", [-5.0; 3], [5.0; 3], 2.0), None),
    ];
    let h = analyse_heart(&g, &structures, &SiteContext::default()).unwrap();
    assert_eq!(h.structures.len(), 4, "Spleen is not cardiac");
    let by = |r: CardiacRole| h.structures.iter().find(|c| c.role == r).unwrap();
    let heart = by(CardiacRole::Heart);
    assert!((heart.volume_cc - 64.0).abs() < 1e-6);
    assert!((heart.mean_gy - 15.0).abs() < 1e-3, "{}", heart.mean_gy);
    // 25 Gy on the face x = 20 (each cell's dose spread reaches the face; a point
    // sample at the last cell's centre would give 24.75).
    assert!((heart.max_gy - 25.0).abs() < 0.01, "{}", heart.max_gy);
    assert!(heart.v5_percent.is_none());
    let lv = by(CardiacRole::LeftVentricle);
    assert!((lv.mean_gy - 20.0).abs() < 1e-3);
    assert!((lv.v5_percent.unwrap() - 100.0).abs() < 1e-6);
    // x ≥ 16 of [0, 20]: 20 % (the isodose plane x = 16 lies on lattice cell centres:
    // up to half a cell, 1 % of the 20 mm, is counted in).
    assert!(
        (lv.v23_percent.unwrap() - 20.0).abs() < 1.0,
        "{:?}",
        lv.v23_percent
    );
    let lad = by(CardiacRole::Lad);
    assert!((lad.mean_gy - 15.0).abs() < 1e-3);
    assert!(
        (lad.v15_percent.unwrap() - 50.0).abs() < 0.5,
        "{:?}",
        lad.v15_percent
    );
    assert_eq!(lad.v30_percent, Some(0.0));
    assert_eq!(lad.v40_percent, Some(0.0));
    assert_eq!(by(CardiacRole::OtherChamber).v23_percent, None);
    let d = h.darby.as_ref().unwrap();
    assert!((d.relative_risk - (1.0 + 0.074 * heart.mean_gy)).abs() < 1e-12);
    assert!((d.ci95_low - (1.0 + 0.029 * heart.mean_gy)).abs() < 1e-12);
    assert!((d.ci95_high - (1.0 + 0.145 * heart.mean_gy)).abs() < 1e-12);
    let t = h.to_site_table();
    assert!(
        t.notes
            .iter()
            .any(|n| n.contains("Darby") && n.contains("Estimate"))
    );
    assert!(t.rows.iter().all(|r| r.len() == t.columns.len()));
    assert!(analyse_heart(&g, &structures[4..], &SiteContext::default()).is_none());
}

#[test]
fn lungs_total_union_and_ipsilateral() {
    // D = 0.4 (x + 65): right lung (x < 0 in LPS) 0–24 Gy, left lung 28–52 Gy.
    let g = grid(
        axis(-70.0, 70.0, 2.0),
        axis(-25.0, 25.0, 2.0),
        axis(-5.0, 45.0, 2.0),
        |x, _, _| 0.4 * (x + 65.0),
    );
    let structures = vec![
        (
            cuboid(1, "Lung_R", [-65.0, -20.0, 0.0], [-5.0, 20.0, 40.0], 2.0),
            None,
        ),
        (
            cuboid(2, "Lung_L", [5.0, -20.0, 0.0], [65.0, 20.0, 40.0], 2.0),
            None,
        ),
    ];
    let a = analyse_lung(
        &g,
        &structures,
        &SiteContext::default(),
        Some(Laterality::Left),
    )
    .unwrap()
    .unwrap();
    let t = a.total.as_ref().unwrap();
    assert!((t.volume_cc - 192.0).abs() < 0.01, "{}", t.volume_cc);
    assert!(
        (t.v20_percent - (100.0 + 100.0 * 4.0 / 24.0) / 2.0).abs() < 0.3,
        "{}",
        t.v20_percent
    );
    assert!(
        (t.v5_percent - (100.0 + 100.0 * 19.0 / 24.0) / 2.0).abs() < 0.3,
        "{}",
        t.v5_percent
    );
    assert!((t.mean_gy - 26.0).abs() < 0.01, "{}", t.mean_gy);
    let i = a.ipsilateral.as_ref().unwrap();
    assert_eq!(i.name, "Lung_L");
    assert!((i.v20_percent - 100.0).abs() < 1e-6 && (i.mean_gy - 40.0).abs() < 0.01);
    let r = analyse_lung(
        &g,
        &structures,
        &SiteContext::default(),
        Some(Laterality::Right),
    )
    .unwrap()
    .unwrap();
    let i = r.ipsilateral.unwrap();
    assert!((i.v20_percent - 100.0 * 4.0 / 24.0).abs() < 0.3 && (i.mean_gy - 12.0).abs() < 0.01);
    assert_eq!(a.to_site_table().rows.len(), 2);
    assert!(
        analyse_lung(&g, &[], &SiteContext::default(), None)
            .unwrap()
            .is_none()
    );
}

/// Volume of the 5 mm band of a cylinder (radius R, height H) beyond radius ρ₀.
fn band_beyond(rho0: f64) -> f64 {
    let (r, h, d) = (50.0f64, 100.0f64, 5.0f64);
    let outer = PI * (r * r - rho0 * rho0).max(0.0) * h;
    let inner = PI * ((r - d).powi(2) - rho0 * rho0).max(0.0) * (h - 2.0 * d);
    (outer - inner) / 1000.0
}

#[test]
fn skin_band_hot_spots() {
    let rx = 40.0;
    // D = Rx (1 + 0.12 ρ/R): 105 % at ρ = 20.8, 107 % at 29.2, 110 % at 41.7 mm.
    let xy = axis(-56.0, 56.0, 2.0);
    let g = grid(xy.clone(), xy, axis(-4.0, 104.0, 2.0), |x, y, _| {
        rx * (1.0 + 0.12 * (x * x + y * y).sqrt() / 50.0)
    });
    let structures = vec![(
        cylinder(1, "BODY", [0.0, 0.0], 50.0, 0.0, 100.0, 2.0),
        Some("External".to_string()),
    )];
    let ctx = SiteContext {
        prescription_gy: Some(rx),
        ..Default::default()
    };
    let b = analyse_skin_band(&g, &structures, &ctx, 5.0)
        .unwrap()
        .unwrap();
    assert!(
        rel(b.volume_cc, band_beyond(0.0)) < 0.02,
        "{} vs {}",
        b.volume_cc,
        band_beyond(0.0)
    );
    let rho = |f: f64| (f - 1.0) / 0.12 * 50.0;
    for (got, f) in [(b.v105_cc, 1.05), (b.v107_cc, 1.07), (b.v110_cc, 1.10)] {
        let want = band_beyond(rho(f));
        assert!(rel(got.unwrap(), want) < 0.03, "V{f}: {got:?} vs {want}");
    }
    assert!(rel(b.max_gy, 1.12 * rx) < 0.005, "{}", b.max_gy);
    assert_eq!(b.to_site_table().rows[0].len(), 6);
    // Without a prescription the relative volumes are absent, the band is not.
    let b = analyse_skin_band(&g, &structures, &SiteContext::default(), 5.0)
        .unwrap()
        .unwrap();
    assert!(b.v107_cc.is_none() && b.volume_cc > 0.0);
    assert!(analyse_skin_band(&g, &structures, &ctx, -1.0).is_err());
}

#[test]
fn marrow_bones_union_and_weighting() {
    // D = 0.5 z Gy.
    let g = grid(
        axis(-20.0, 70.0, 2.0),
        axis(-70.0, 0.0, 2.0),
        axis(-6.0, 106.0, 2.0),
        |_, _, z| 0.5 * z,
    );
    let structures = vec![
        (
            cuboid(1, "STERNUM", [-10.0, -60.0, 0.0], [10.0, -50.0, 100.0], 2.0),
            Some("Bone_Sternum".to_string()),
        ),
        (
            cuboid(2, "Rib01_L", [20.0, -40.0, 42.0], [60.0, -30.0, 52.0], 2.0),
            None,
        ),
        (
            cuboid(3, "Rib02_L", [20.0, -40.0, 82.0], [60.0, -30.0, 92.0], 2.0),
            None,
        ),
        (
            cuboid(4, "VB_T05", [-10.0, -20.0, 10.0], [10.0, 0.0, 30.0], 2.0),
            None,
        ),
        (
            cuboid(5, "Liver", [30.0, -20.0, 0.0], [50.0, 0.0, 20.0], 2.0),
            None,
        ),
    ];
    let m = analyse_marrow(&g, &structures, &SiteContext::default())
        .unwrap()
        .unwrap();
    assert_eq!(m.bones.len(), 4);
    let st = &m.bones[0];
    assert_eq!(st.group, "sternum");
    assert_eq!(st.active_marrow_percent, Some(3.0));
    for (k, want) in [90.0, 80.0, 60.0, 40.0, 20.0].into_iter().enumerate() {
        assert!(
            (st.v_percent[k] - want).abs() < 0.2,
            "sternum V{}: {}",
            MARROW_LEVELS_GY[k],
            st.v_percent[k]
        );
        assert!((st.v_cc[k] - want / 100.0 * 20.0).abs() < 0.05);
    }
    assert!((m.bones[1].active_marrow_percent.unwrap() - 16.0 / 24.0).abs() < 1e-12);
    assert!((m.bones[3].active_marrow_percent.unwrap() - 16.0 / 12.0).abs() < 1e-12);
    assert!((m.bones[3].v_percent[1] - 50.0).abs() < 0.5);
    let u = m.union.as_ref().unwrap();
    assert!((u.volume_cc - 36.0).abs() < 0.01, "{}", u.volume_cc);
    // ≥ 20 Gy: 60 % of the sternum (12 cc) + both ribs (4 + 4 cc).
    assert!((u.v_cc[2] - 20.0).abs() < 0.1, "{}", u.v_cc[2]);
    let w = |lvl: f64| m.weighted_percent.iter().find(|p| p.0 == lvl).unwrap().1;
    let r = 16.0 / 24.0;
    assert!(
        (w(10.0) - (3.0 * 0.8 + 2.0 * r + 16.0 / 12.0 * 0.5)).abs() < 0.02,
        "{}",
        w(10.0)
    );
    assert!(
        (w(20.0) - (3.0 * 0.6 + 2.0 * r)).abs() < 0.02,
        "{}",
        w(20.0)
    );
    let t = m.to_site_table();
    assert_eq!(t.rows.len(), 5);
    assert!(t.rows.iter().all(|r| r.len() == t.columns.len()));
    assert!(
        analyse_marrow(&g, &structures[4..], &SiteContext::default())
            .unwrap()
            .is_none()
    );
}

#[test]
fn marrow_ct_surrogate_cylinder() {
    // CT 1 mm: a 700 HU cylinder (r = 10 mm) in water inside a body cylinder (r = 40 mm).
    let xy = axis(-50.0, 50.0, 1.0);
    let z = axis(0.0, 40.0, 1.0);
    let ct = grid(xy.clone(), xy.clone(), z, |x, y, _| {
        let rho2 = x * x + y * y;
        if rho2 <= 100.0 {
            700.0
        } else if rho2 <= 1600.0 {
            0.0
        } else {
            -1000.0
        }
    });
    let body = cylinder(1, "BODY", [0.0, 0.0], 40.0, 0.0, 40.0, 1.0);
    // Dose D = z Gy on a coarser grid.
    let dose = grid(
        axis(-52.0, 52.0, 2.0),
        axis(-52.0, 52.0, 2.0),
        axis(-2.0, 42.0, 2.0),
        |_, _, z| z,
    );
    let m = analyse_marrow_ct(
        &dose,
        &ct,
        Some(&body),
        &SiteContext::default(),
        &CtBoneOptions::default(),
    )
    .unwrap();
    assert!(m.ct_surrogate);
    let b = &m.bones[0];
    // Whole CT voxels: lattice points within r = 10 per plane, times the body's
    // z extent [0, 40] (the end planes are half inside).
    let per_plane = (-10i32..=10)
        .flat_map(|x| (-10i32..=10).map(move |y| (x, y)))
        .filter(|(x, y)| x * x + y * y <= 100)
        .count();
    let want = per_plane as f64 * 40.0 / 1000.0;
    assert!(
        (b.volume_cc - want).abs() < 1e-3,
        "{} vs {want}",
        b.volume_cc
    );
    assert!(rel(b.volume_cc, PI * 100.0 * 40.0 / 1000.0) < 0.02);
    // D = z over z ∈ [0, 40]: V_d = (40 − d)/40.
    for (k, d) in MARROW_LEVELS_GY.into_iter().enumerate() {
        let want = 100.0 * (40.0 - d).max(0.0) / 40.0;
        assert!(
            (b.v_percent[k] - want).abs() < 2.0,
            "V{d}: {} vs {want}",
            b.v_percent[k]
        );
    }
    // A threshold above the bone: nothing.
    let hi = CtBoneOptions {
        hu_threshold: 800.0,
    };
    let m = analyse_marrow_ct(&dose, &ct, Some(&body), &SiteContext::default(), &hi).unwrap();
    assert_eq!(m.bones[0].volume_cc, 0.0);
    // A non-uniform CT axis is refused with a clear message.
    let mut bad = ct.clone();
    bad.z[40] += 0.5;
    let e = analyse_marrow_ct(
        &dose,
        &bad,
        Some(&body),
        &SiteContext::default(),
        &CtBoneOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(e, SiteError::InvalidCt(_)) && e.to_string().contains("axis z"),
        "{e}"
    );
}

/// A breast-like phantom through `analyse_sites`: no brain analysis for a breast PTV,
/// tables in a fixed order, the CT surrogate when no bone is contoured.
#[test]
fn all_sites_on_a_thorax_phantom() {
    let xy = axis(-60.0, 60.0, 2.0);
    let g = grid(xy.clone(), xy.clone(), axis(-4.0, 84.0, 2.0), |x, _, _| {
        0.4 * (x + 60.0)
    });
    let mut structures = vec![
        (
            cylinder(1, "BODY", [0.0, 0.0], 55.0, 0.0, 80.0, 2.0),
            Some("External".to_string()),
        ),
        (
            cuboid(2, "Heart", [0.0, -10.0, 10.0], [20.0, 10.0, 30.0], 2.0),
            None,
        ),
        (
            cuboid(3, "Lung_L", [25.0, -20.0, 10.0], [45.0, 20.0, 70.0], 2.0),
            None,
        ),
        (
            cuboid(4, "Lung_R", [-45.0, -20.0, 10.0], [-25.0, 20.0, 70.0], 2.0),
            None,
        ),
        (
            cuboid(
                5,
                "PTV_Boost",
                [30.0, -40.0, 30.0],
                [40.0, -30.0, 40.0],
                2.0,
            ),
            None,
        ),
    ];
    let ctx = SiteContext {
        prescription_gy: Some(40.0),
        fractions: Some(15),
        ..Default::default()
    };
    let opts = SiteOptions {
        laterality: Some(Laterality::Left),
        ..Default::default()
    };
    let r = analyse_sites(&g, &structures, &ctx, &opts, None).unwrap();
    assert!(r.brain.is_none(), "a breast PTV is not a brain lesion");
    assert!(r.marrow.is_none());
    let ids: Vec<String> = r.to_site_tables().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["heart", "lung", "skin"]);
    // The heart spans x ∈ [0, 20]: mean 0.4 × 70 = 28 Gy.
    assert!(
        (r.heart
            .as_ref()
            .unwrap()
            .darby
            .as_ref()
            .unwrap()
            .mean_heart_dose_gy
            - 28.0)
            .abs()
            < 0.01
    );

    // With a CT and no bone contoured: the surrogate, inside the External.
    let ct = grid(xy.clone(), xy, axis(0.0, 80.0, 2.0), |x, y, _| {
        if x * x + y * y <= 25.0 { 1000.0 } else { 0.0 }
    });
    let r = analyse_sites(&g, &structures, &ctx, &opts, Some(&ct)).unwrap();
    let m = r.marrow.as_ref().unwrap();
    assert!(m.ct_surrogate && m.bones[0].volume_cc > 0.0);
    // A contoured bone takes precedence over the CT.
    structures.push((
        cuboid(6, "Sternum", [-5.0, -50.0, 20.0], [5.0, -40.0, 60.0], 2.0),
        None,
    ));
    let r = analyse_sites(&g, &structures, &ctx, &opts, Some(&ct)).unwrap();
    assert!(!r.marrow.as_ref().unwrap().ct_surrogate);
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["marrow"]["bones"][0]["v_cc"].is_array());
}
