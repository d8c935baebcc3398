//! Brain lesion analyses on analytic phantoms: spheres in spherical exponential dose
//! fall-offs, whose isodose surfaces are spheres of known radius.

mod common;
use common::*;
use radtox_sites::*;

/// Dose of a lesion of radius `r0` centred at `c`: Rx at its surface, falling off
/// exponentially with length `lambda`: the level-L isodose is the sphere of radius
/// r0 + λ·ln(Rx/L).
fn falloff(c: [f64; 3], r0: f64, rx: f64, lambda: f64) -> impl Fn(f64, f64, f64) -> f64 {
    move |x, y, z| {
        let r = ((x - c[0]).powi(2) + (y - c[1]).powi(2) + (z - c[2]).powi(2)).sqrt();
        rx * (-(r - r0) / lambda).exp()
    }
}

fn ctx(rx: f64, fractions: u32) -> SiteContext {
    SiteContext {
        fractions: Some(fractions),
        prescription_gy: Some(rx),
        ..Default::default()
    }
}

#[test]
fn rtog_9005_bands() {
    assert_eq!(rtog_9005_max_dose_gy(5.0), Some(24.0));
    assert_eq!(rtog_9005_max_dose_gy(20.0), Some(24.0));
    assert_eq!(rtog_9005_max_dose_gy(20.5), Some(18.0));
    assert_eq!(rtog_9005_max_dose_gy(30.0), Some(18.0));
    assert_eq!(rtog_9005_max_dose_gy(35.0), Some(15.0));
    assert_eq!(rtog_9005_max_dose_gy(40.0), Some(15.0));
    assert_eq!(rtog_9005_max_dose_gy(40.1), None);
}

#[test]
fn max_diameter_of_sphere_and_box() {
    // Planes at ±dz/2 about the equator hold antipodal vertices: 2R exactly.
    let s = sphere(1, "GTV", [3.0, -2.0, 7.0], 10.0, 0.5);
    assert!(
        (max_diameter_mm(&s) - 20.0).abs() < 1e-6,
        "{}",
        max_diameter_mm(&s)
    );
    // With coarse 2 mm planes still 2R (the planes are symmetric about the centre).
    let s = sphere(1, "GTV", [0.0; 3], 7.0, 2.0);
    assert!((max_diameter_mm(&s) - 14.0).abs() < 1e-6);
    // A 20 × 10 mm rectangle on planes 0.5 … 29.5: the space diagonal across planes.
    let b = cuboid(2, "GTV", [0.0, 0.0, 0.0], [20.0, 10.0, 30.0], 1.0);
    let want = (20f64.powi(2) + 10f64.powi(2) + 29f64.powi(2)).sqrt();
    assert!((max_diameter_mm(&b) - want).abs() < 1e-9);
}

/// One lesion, dose conformal to it: CI = 1, GI = ((R + λ ln 2)/R)³, D98/D2 and the
/// 12 Gy island volume from the sphere radii.
#[test]
fn single_lesion_conformal_dose() {
    let (r0, rx, lambda) = (10.0, 20.0, 5.0);
    let ax = axis(-40.0, 40.0, 1.0);
    let g = grid(
        ax.clone(),
        ax.clone(),
        ax,
        falloff([0.0; 3], r0, rx, lambda),
    );
    let structures = vec![
        (sphere(1, "GTV_1", [0.0; 3], r0, 0.5), None),
        (sphere(2, "Brain", [0.0; 3], 36.0, 1.0), None),
        (
            cuboid(3, "BODY", [-39.0; 3], [39.0; 3], 1.0),
            Some("External".to_string()),
        ),
    ];
    let a = analyse_brain(&g, &structures, &ctx(rx, 1), &BrainOptions::default())
        .unwrap()
        .unwrap();
    assert_eq!(a.target_kind, "GTV");
    assert_eq!(a.lesions.len(), 1);
    let l = &a.lesions[0];
    assert!(
        rel(l.volume_cc, sphere_cc(r0)) < 0.005,
        "volume {}",
        l.volume_cc
    );
    assert!((l.max_diameter_mm - 20.0).abs() < 1e-6);
    assert_eq!(l.prescription_source, PrescriptionSource::Plan);
    let ci = l.paddick_ci.unwrap();
    assert!((ci - 1.0).abs() < 0.03, "CI {ci}");
    let gi_want = ((r0 + lambda * 2f64.ln()) / r0).powi(3);
    let gi = l.gradient_index.unwrap();
    assert!(rel(gi, gi_want) < 0.02, "GI {gi} vs {gi_want}");
    // D98%: the coldest 2 % is the shell r > R·0.98^(1/3); D2%: the core r < R·0.02^(1/3).
    let d98 = rx * ((r0 - r0 * 0.98f64.cbrt()) / lambda).exp();
    let d2 = rx * ((r0 - r0 * 0.02f64.cbrt()) / lambda).exp();
    assert!(rel(l.d98_gy, d98) < 0.01, "D98 {} vs {d98}", l.d98_gy);
    assert!(rel(l.d2_gy, d2) < 0.02, "D2 {} vs {d2}", l.d2_gy);
    // 12 Gy island: the sphere of radius R + λ ln(20/12), inside the brain.
    let r12 = r0 + lambda * (rx / 12.0).ln();
    assert!(
        rel(l.v_island_cc, sphere_cc(r12)) < 0.01,
        "V12 {} vs {}",
        l.v_island_cc,
        sphere_cc(r12)
    );
    assert!(!l.v_island_merged && !l.rx_island_merged);
    assert!(a.v_island_unattributed_cc < 1e-9);
    // 20 mm, single fraction, 20 Gy ≤ 24 Gy.
    assert_eq!(l.rtog_9005_max_gy, Some(24.0));
    assert_eq!(l.rtog_9005_exceeded, Some(false));
    assert!(!l.large_lesion);
    // Brain − GTV: the 12 Gy shell between R and r12, and V10 likewise.
    let b = a.brain.as_ref().unwrap();
    assert!(
        rel(b.v12_cc, sphere_cc(r12) - sphere_cc(r0)) < 0.02,
        "{}",
        b.v12_cc
    );
    let r10 = r0 + lambda * 2f64.ln();
    assert!(
        rel(b.v10_cc, sphere_cc(r10) - sphere_cc(r0)) < 0.02,
        "{}",
        b.v10_cc
    );
    assert!(rel(b.volume_cc, sphere_cc(36.0) - sphere_cc(r0)) < 0.01);
    let tables = a.to_site_tables();
    assert_eq!(tables.len(), 2);
    assert_eq!(tables[0].rows[0].len(), tables[0].columns.len());
    assert_eq!(tables[1].rows.len(), 4);
}

/// Two lesions: separate 12 Gy islands, and a low level at which the islands merge
/// and are split at the bisecting plane (equal spheres): each lesion gets half the
/// union of two spheres.
#[test]
fn two_lesions_separate_and_merged_islands() {
    let (r0, rx, lambda, s) = (5.0, 24.0, 4.0, 30.0);
    let (c1, c2) = ([-s / 2.0, 0.0, 0.0], [s / 2.0, 0.0, 0.0]);
    let (f1, f2) = (falloff(c1, r0, rx, lambda), falloff(c2, r0, rx, lambda));
    let ax = axis(-50.0, 50.0, 1.0);
    // The larger of the two fall-offs: every isodose is a union of two spheres.
    let g = grid(ax.clone(), ax.clone(), ax, |x, y, z| {
        f1(x, y, z).max(f2(x, y, z))
    });
    let structures = vec![
        (sphere(1, "GTV_1", c1, r0, 0.5), None),
        (sphere(2, "GTV_2", c2, r0, 0.5), None),
        (sphere(3, "PTV_1", c1, r0 + 1.0, 0.5), None),
        (sphere(4, "Brain", [0.0; 3], 45.0, 1.0), None),
    ];
    let c = ctx(rx, 1);
    let a = analyse_brain(&g, &structures, &c, &BrainOptions::default())
        .unwrap()
        .unwrap();
    assert_eq!(a.target_kind, "GTV", "GTVs preferred to PTVs");
    assert_eq!(a.lesions.len(), 2);
    let r12 = r0 + lambda * (rx / 12.0).ln();
    for l in &a.lesions {
        assert!(!l.v_island_merged);
        assert!(
            rel(l.v_island_cc, sphere_cc(r12)) < 0.015,
            "{} {}",
            l.v_island_cc,
            sphere_cc(r12)
        );
        // PIV50 = the 12 Gy sphere: GI = (r12/R)³; CI = 1 (no External: whole voxels).
        let gi = l.gradient_index.unwrap();
        assert!(rel(gi, (r12 / r0).powi(3)) < 0.04, "GI {gi}");
        assert!(
            (l.paddick_ci.unwrap() - 1.0).abs() < 0.06,
            "CI {:?}",
            l.paddick_ci
        );
        assert_eq!(l.rtog_9005_exceeded, Some(false));
    }
    // Brain − (GTV_1 ∪ GTV_2): two 12 Gy shells; nothing of the brain reaches 24 Gy
    // outside the lesions but the partial-volume rim.
    let b = a.brain.as_ref().unwrap();
    let shells = 2.0 * (sphere_cc(r12) - sphere_cc(r0));
    assert!(rel(b.v12_cc, shells) < 0.03, "{} vs {shells}", b.v12_cc);
    // (trilinear interpolation of the convex fall-off overestimates just outside R, and
    // each cell's dose spread reaches a little beyond its centre's: a rim ~0.1 mm thick)
    let rim_mm = b.v24_cc * 1000.0 / (2.0 * 4.0 * std::f64::consts::PI * r0 * r0);
    assert!(rim_mm < 0.2, "V24 {} cc: a {rim_mm} mm rim", b.v24_cc);

    // At 1.5 Gy the isodose spheres (radius a = R + λ ln 16 > s/2) overlap: one island.
    let opts = BrainOptions {
        island_level_gy: 1.5,
        ..Default::default()
    };
    let m = analyse_brain(&g, &structures, &c, &opts).unwrap().unwrap();
    let a_r = r0 + lambda * (rx / 1.5f64).ln();
    let lens_mm3 = std::f64::consts::PI * (4.0 * a_r + s) * (2.0 * a_r - s).powi(2) / 12.0;
    let half_union = sphere_cc(a_r) - lens_mm3 / 2000.0;
    for l in &m.lesions {
        assert!(l.v_island_merged);
        assert!(
            rel(l.v_island_cc, half_union) < 0.01,
            "{} vs {half_union}",
            l.v_island_cc
        );
    }
    assert!(m.notes.iter().any(|n| n.contains("split")));

    // Rx above the RTOG 90-05 limit for a 10 mm lesion in one fraction.
    let hot = SiteContext {
        prescription_gy: Some(25.0),
        ..c.clone()
    };
    let h = analyse_brain(&g, &structures, &hot, &BrainOptions::default())
        .unwrap()
        .unwrap();
    assert!(h.lesions.iter().all(|l| l.rtog_9005_exceeded == Some(true)));
    // Fractionated: the single-fraction check does not apply.
    let fx5 = SiteContext {
        fractions: Some(5),
        ..hot
    };
    let h = analyse_brain(&g, &structures, &fx5, &BrainOptions::default())
        .unwrap()
        .unwrap();
    assert!(h.lesions.iter().all(|l| l.rtog_9005_exceeded.is_none()));
}

/// Without a prescription, each lesion's D98% stands in; a per-ROI prescription wins
/// over the plan's.
#[test]
fn prescription_sources() {
    let (r0, rx, lambda) = (6.0, 18.0, 4.0);
    let ax = axis(-25.0, 25.0, 1.0);
    let g = grid(
        ax.clone(),
        ax.clone(),
        ax,
        falloff([0.0; 3], r0, rx, lambda),
    );
    let structures = vec![(sphere(7, "gtv lesion", [0.0; 3], r0, 0.5), None)];
    let none = SiteContext::default();
    let a = analyse_brain(&g, &structures, &none, &BrainOptions::default())
        .unwrap()
        .unwrap();
    let l = &a.lesions[0];
    assert_eq!(l.prescription_source, PrescriptionSource::NearMinimumD98);
    assert!((l.prescription_gy - l.d98_gy).abs() < 1e-12);
    assert_eq!(l.rtog_9005_exceeded, None);
    assert!(a.brain.is_none());
    let roi = SiteContext {
        prescription_gy: Some(30.0),
        roi_prescriptions_gy: vec![(7, rx)],
        ..Default::default()
    };
    let a = analyse_brain(&g, &structures, &roi, &BrainOptions::default())
        .unwrap()
        .unwrap();
    assert_eq!(a.lesions[0].prescription_source, PrescriptionSource::Roi);
    assert_eq!(a.lesions[0].prescription_gy, rx);
}

#[test]
fn no_targets_and_bad_options() {
    let ax = axis(-5.0, 5.0, 1.0);
    let g = grid(ax.clone(), ax.clone(), ax, |_, _, _| 1.0);
    let structures = vec![
        (sphere(1, "Brain", [0.0; 3], 4.0, 1.0), None),
        (sphere(2, "GTV_all", [0.0; 3], 2.0, 1.0), None),
    ];
    assert!(
        analyse_brain(
            &g,
            &structures,
            &SiteContext::default(),
            &BrainOptions::default()
        )
        .unwrap()
        .is_none()
    );
    let bad = BrainOptions {
        island_level_gy: f64::NAN,
        ..Default::default()
    };
    let e = analyse_brain(&g, &structures, &SiteContext::default(), &bad).unwrap_err();
    assert!(e.to_string().contains("island_level_gy"), "{e}");
}

/// Bad input gives warnings and empty figures, never a panic: a lesion outside the
/// dose grid, a degenerate contour, NaN doses.
#[test]
fn degenerate_inputs() {
    let ax = axis(-20.0, 20.0, 1.0);
    let mut g = grid(
        ax.clone(),
        ax.clone(),
        ax,
        falloff([0.0; 3], 5.0, 20.0, 4.0),
    );
    g.dose[[3, 3, 3]] = f32::NAN;
    let mut degenerate = sphere(3, "GTV_3", [0.0; 3], 2.0, 1.0);
    for p in &mut degenerate.planes {
        p.polygons[0].points.truncate(2);
    }
    let structures = vec![
        (sphere(1, "GTV_1", [0.0; 3], 5.0, 0.5), None),
        (sphere(2, "GTV_2", [200.0, 0.0, 0.0], 5.0, 0.5), None),
        (degenerate, None),
        (sphere(4, "Brain", [0.0; 3], 60.0, 2.0), None),
    ];
    let a = analyse_brain(&g, &structures, &ctx(20.0, 1), &BrainOptions::default())
        .unwrap()
        .unwrap();
    assert_eq!(a.lesions.len(), 1, "{:?}", a.warnings);
    assert!(
        a.warnings.iter().any(|w| w.contains("GTV_2")),
        "{:?}",
        a.warnings
    );
    let l = &a.lesions[0];
    assert!(l.paddick_ci.is_some_and(|c| c.is_finite()));
    assert!(l.v_island_cc.is_finite());
    // The brain extends beyond the grid: a warning, figures for the part inside.
    assert!(
        a.warnings
            .iter()
            .any(|w| w.contains("outside the dose grid")),
        "{:?}",
        a.warnings
    );
    let t = a.to_site_tables();
    assert!(serde_json::to_string(&t).is_ok());
}
