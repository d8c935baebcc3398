//! TPS DVH check against analytic curves, LQ worked examples, whole-grid volumes.

mod common;
use common::{close, uniform};
use ndarray::Array3;
use radtox_dose::{
    Domain, Dvh, LqError, LqModel, LqParams, bed, compare_with_tps, eqd2, isodose_volume_cc,
    to_domain, voxel_extents,
};
use radtox_model::{DoseGrid, TpsDvh, TpsDvhType, TpsVolumeUnits};

/// TPS cumulative DVH of a structure of `volume` cc uniform in dose on [a, b], bins of
/// `w` Gy from 0 to `top` Gy: V(≥ e) = volume · clamp((b − e)/(b − a), 0, 1).
fn analytic_tps(a: f64, b: f64, volume: f64, w: f64, top: f64) -> TpsDvh {
    let n = (top / w).round() as usize;
    let volumes = (0..n)
        .map(|k| volume * ((b - k as f64 * w) / (b - a)).clamp(0.0, 1.0))
        .collect();
    TpsDvh {
        roi_number: 7,
        dvh_type: TpsDvhType::Cumulative,
        volume_units: TpsVolumeUnits::Cm3,
        bin_widths_gy: vec![w; n],
        volumes,
    }
}

fn to_differential(t: &TpsDvh) -> TpsDvh {
    let mut d = t.clone();
    d.dvh_type = TpsDvhType::Differential;
    d.volumes = t
        .volumes
        .iter()
        .zip(t.volumes.iter().skip(1).chain(std::iter::once(&0.0)))
        .map(|(a, b)| a - b)
        .collect();
    d
}

fn our_uniform() -> Dvh {
    // 10 cc uniform on [10, 30] Gy.
    let (dose, weight) = uniform(10.0, 30.0, 200_000, 0.00005);
    Dvh::from_samples(&dose, &weight)
}

#[test]
fn tps_check_on_the_same_analytic_curve_finds_no_deviation() {
    let ours = our_uniform();
    let tps = analytic_tps(10.0, 30.0, 10.0, 0.1, 35.0);
    for t in [tps.clone(), to_differential(&tps)] {
        let c = compare_with_tps(&ours, &t).unwrap();
        assert_eq!(c.roi_number, 7);
        assert!(c.tps_volume_known);
        close(c.tps_volume_cc, 10.0, 1e-9, "TPS volume");
        close(c.volume_diff_percent, 0.0, 1e-3, "volume diff");
        close(c.tps_mean_gy, 20.0, 1e-9, "TPS mean");
        close(c.mean_diff_percent, 0.0, 1e-3, "mean diff");
        close(
            c.max_cumulative_deviation_percent,
            0.0,
            1e-3,
            "max deviation",
        );
    }
    // Percent volumes: same curve, TPS volume unknown.
    let mut pct = tps.clone();
    pct.volume_units = TpsVolumeUnits::Percent;
    pct.volumes.iter_mut().for_each(|v| *v *= 10.0);
    let c = compare_with_tps(&ours, &pct).unwrap();
    assert!(!c.tps_volume_known);
    close(c.tps_volume_cc, ours.volume_cc(), 1e-12, "stand-in volume");
    close(
        c.max_cumulative_deviation_percent,
        0.0,
        1e-3,
        "max deviation (%)",
    );
}

#[test]
fn tps_check_on_a_shifted_curve_finds_the_shift() {
    let ours = our_uniform();
    // TPS: same shape shifted up by 0.5 Gy, 10.5 cc. In the linear part the normalised
    // curves differ by 0.5/20 = 2.5 percentage points.
    let tps = analytic_tps(10.5, 30.5, 10.5, 0.1, 35.0);
    let c = compare_with_tps(&ours, &tps).unwrap();
    close(
        c.max_cumulative_deviation_percent,
        2.5,
        1e-3,
        "max deviation",
    );
    assert!(
        (10.5..=30.0).contains(&c.dose_at_max_deviation_gy),
        "at {}",
        c.dose_at_max_deviation_gy
    );
    close(c.tps_mean_gy, 20.5, 1e-9, "TPS mean");
    close(
        c.mean_diff_percent,
        100.0 * (20.0 - 20.5) / 20.5,
        1e-3,
        "mean diff",
    );
    close(
        c.volume_diff_percent,
        100.0 * (10.0 - 10.5) / 10.5,
        1e-3,
        "volume diff",
    );
}

#[test]
fn tps_check_refuses_bad_input() {
    let ours = our_uniform();
    let mut t = analytic_tps(10.0, 30.0, 10.0, 0.1, 35.0);
    t.volumes.pop();
    assert_eq!(
        compare_with_tps(&ours, &t).unwrap_err().to_string(),
        "TPS DVH of ROI 7: 350 bin widths but 349 volumes"
    );
    let mut t = analytic_tps(10.0, 30.0, 10.0, 0.1, 35.0);
    t.bin_widths_gy[3] = 0.0;
    assert_eq!(
        compare_with_tps(&ours, &t).unwrap_err().to_string(),
        "TPS DVH of ROI 7: bin 3 has width 0 Gy"
    );
    let mut t = analytic_tps(10.0, 30.0, 10.0, 0.1, 35.0);
    t.dvh_type = TpsDvhType::Natural;
    assert!(compare_with_tps(&ours, &t).is_err());
    let empty = Dvh::from_samples(&[], &[]);
    let t = analytic_tps(10.0, 30.0, 10.0, 0.1, 35.0);
    assert!(compare_with_tps(&empty, &t).is_err());
}

#[test]
fn lq_worked_examples() {
    let lql = LqModel::Lql {
        transition_dose_per_fraction_gy: 6.0,
    };
    close(
        eqd2(20.0, 1, 2.0, LqModel::Lq).unwrap(),
        110.0,
        1e-9,
        "20 Gy x1 LQ",
    );
    close(
        eqd2(20.0, 1, 2.0, lql).unwrap(),
        61.0,
        1e-9,
        "20 Gy x1 LQ-L",
    );
    close(
        eqd2(50.0, 25, 3.0, LqModel::Lq).unwrap(),
        50.0,
        1e-9,
        "50/25 at 3",
    );
    close(
        bed(30.0, 10, 2.0, LqModel::Lq).unwrap(),
        75.0,
        1e-9,
        "BED 30/10",
    );
    close(
        eqd2(30.0, 10, 2.0, LqModel::Lq).unwrap(),
        37.5,
        1e-9,
        "EQD2 30/10",
    );
    // LQ-L equals LQ at and below d_T, and is continuous there.
    close(
        bed(30.0, 5, 3.0, lql).unwrap(),
        bed(30.0, 5, 3.0, LqModel::Lq).unwrap(),
        1e-9,
        "at d_T",
    );
    let below = bed(30.0 - 1e-7, 5, 3.0, lql).unwrap();
    let above = bed(30.0 + 1e-7, 5, 3.0, lql).unwrap();
    assert!((above - below).abs() < 1e-5);
    // Errors.
    assert_eq!(eqd2(20.0, 0, 2.0, LqModel::Lq), Err(LqError::ZeroFractions));
    assert_eq!(
        bed(20.0, 1, 0.0, LqModel::Lq),
        Err(LqError::BadAlphaBeta(0.0))
    );
    assert_eq!(
        bed(20.0, 1, -3.0, LqModel::Lq),
        Err(LqError::BadAlphaBeta(-3.0))
    );
    assert!(matches!(
        bed(
            20.0,
            1,
            3.0,
            LqModel::Lql {
                transition_dose_per_fraction_gy: 0.0
            }
        ),
        Err(LqError::BadTransitionDose(_))
    ));
    assert_eq!(bed(-1.0, 1, 3.0, LqModel::Lq), Err(LqError::BadDose(-1.0)));
    assert_eq!(
        LqError::ZeroFractions.to_string(),
        "number of fractions must be at least 1 (got 0)"
    );
}

#[test]
fn eqd2_dvh_of_a_uniform_dose_is_one_value() {
    // 40 Gy in 5 fractions at α/β = 3: d = 8, BED = 40·(1 + 8/3) = 146.67, EQD2 = 88.
    let dose = vec![40.0f32; 5000];
    let weight = vec![0.002f32; 5000];
    let e = to_domain(&dose, 5, 3.0, LqModel::Lq, Domain::Eqd2).unwrap();
    assert!(e.iter().all(|&x| (x - 88.0).abs() < 1e-4));
    let dvh = Dvh::from_samples_in(&e, &weight, Domain::Eqd2);
    for v in [0.01, 5.0, 9.99] {
        close(dvh.dose_at_volume_cc(v), 88.0, 1e-4, "EQD2 D_v");
    }
    close(dvh.mean(), 88.0, 1e-4, "EQD2 mean");
    // The same through the DVH conversion, which needs no re-sort.
    let lq = LqParams::new(5, 3.0, LqModel::Lq).unwrap();
    let conv = lq
        .convert_dvh(&Dvh::from_samples(&dose, &weight), Domain::Bed)
        .unwrap();
    close(conv.max(), 40.0 * (1.0 + 8.0 / 3.0), 1e-4, "BED");
    assert_eq!(conv.domain(), Domain::Bed);
    assert!(matches!(
        lq.convert_dvh(&conv, Domain::Eqd2),
        Err(LqError::NotPhysical(Domain::Bed))
    ));
    // Large input goes through the parallel path; same answer.
    let big = vec![40.0f32; 200_000];
    assert!(
        to_domain(&big, 5, 3.0, LqModel::Lq, Domain::Eqd2)
            .unwrap()
            .iter()
            .all(|&x| (x - 88.0).abs() < 1e-4)
    );
    assert_eq!(
        to_domain(&big, 0, 3.0, LqModel::Lq, Domain::Eqd2),
        Err(LqError::ZeroFractions)
    );
}

#[test]
fn converted_dvh_matches_converting_samples_then_sorting() {
    let (dose, weight) = uniform(1.0, 70.0, 50_000, 0.001);
    let lql = LqModel::Lql {
        transition_dose_per_fraction_gy: 6.0,
    };
    let lq = LqParams::new(3, 2.5, lql).unwrap();
    let a = lq
        .convert_dvh(&Dvh::from_samples(&dose, &weight), Domain::Eqd2)
        .unwrap();
    let e = to_domain(&dose, 3, 2.5, lql, Domain::Eqd2).unwrap();
    let b = Dvh::from_samples_in(&e, &weight, Domain::Eqd2);
    close(a.mean(), b.mean(), 1e-6 * b.mean(), "mean");
    for x in [2.0, 50.0, 98.0] {
        close(
            a.dose_at_volume_percent(x),
            b.dose_at_volume_percent(x),
            1e-6,
            "Dx%",
        );
    }
}

#[test]
fn voxel_extents_and_isodose_volume() {
    assert_eq!(voxel_extents(&[0.0, 2.0, 4.0]), vec![2.0, 2.0, 2.0]);
    // Non-uniform: cells bounded by midpoints, end cells half a spacing outwards.
    assert_eq!(
        voxel_extents(&[0.0, 1.0, 3.0, 6.0]),
        vec![1.0, 1.5, 2.5, 3.0]
    );
    assert_eq!(voxel_extents(&[5.0]), vec![0.0]);
    // 10 × 10 × 10 voxels of 2 mm (8 cc), dose = ix Gy.
    let axis: Vec<f64> = (0..10).map(|i| 2.0 * i as f64).collect();
    let dose = Array3::from_shape_fn((10, 10, 10), |(_, _, ix)| ix as f32);
    let grid = DoseGrid::new(axis.clone(), axis.clone(), axis.clone(), dose).unwrap();
    close(isodose_volume_cc(&grid, 5.0), 4.0, 1e-9, "V5Gy");
    close(isodose_volume_cc(&grid, 0.0), 8.0, 1e-9, "whole grid");
    close(isodose_volume_cc(&grid, 9.5), 0.0, 0.0, "above max");
    close(isodose_volume_cc(&grid, f64::NAN), 0.0, 0.0, "NaN level");
    // Non-uniform z: extents 1, 1.5, 2.5, 3 mm; dose = iz, so V(≥2 Gy) = 100·4·(2.5+3) mm³.
    let z = vec![0.0, 1.0, 3.0, 6.0];
    let dose = Array3::from_shape_fn((4, 10, 10), |(iz, _, _)| iz as f32);
    let grid = DoseGrid::new(axis.clone(), axis, z, dose).unwrap();
    close(
        isodose_volume_cc(&grid, 2.0),
        100.0 * 4.0 * 5.5 / 1000.0,
        1e-9,
        "non-uniform z",
    );
    // The grid DVH agrees with the isodose volume at the voxel dose levels.
    let g = Dvh::from_grid(&grid);
    close(
        g.volume_cc(),
        100.0 * 4.0 * 8.0 / 1000.0,
        1e-6,
        "grid DVH volume",
    );
    close(g.volume_at_dose_cc(0.0), g.volume_cc(), 1e-9, "V(0)");
    close(g.max(), 3.0, 0.0, "grid max");
    close(
        g.mean(),
        (1.0 * 0.0 + 1.5 * 1.0 + 2.5 * 2.0 + 3.0 * 3.0) / 8.0,
        1e-6,
        "grid mean",
    );
}
