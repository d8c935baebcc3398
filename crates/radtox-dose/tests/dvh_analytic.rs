//! DVH quantities against distributions whose DVH is known in closed form.

mod common;
use common::{close, shuffle, uniform};
use radtox_dose::{Dvh, DvhError, MetricContext, MetricError, MetricRequest, evaluate};

fn metric(text: &str, dvh: &Dvh) -> Result<f64, MetricError> {
    let req: MetricRequest = text.parse().expect("valid metric");
    evaluate(&req, dvh, &MetricContext::default())
}

#[test]
fn uniform_distribution_quantiles_volumes_and_mean() {
    let (a, b) = (20.0, 60.0);
    let n = 100_000;
    let (dose, weight) = uniform(a, b, n, 0.001);
    let dvh = Dvh::from_samples(&dose, &weight);
    let total = 100.0;
    // f32 weights: 0.001f32 is 0.001 to ~5e-8 relative.
    close(dvh.volume_cc(), total, 1e-5, "volume");
    close(dvh.mean(), (a + b) / 2.0, 1e-4, "mean");
    // Min/max are the extreme cell midpoints, half a cell inside [a, b].
    let half_cell = 0.5 * (b - a) / n as f64;
    close(dvh.max(), b - half_cell, 1e-5, "max");
    close(dvh.min(), a + half_cell, 1e-5, "min");
    for x in [1.0, 2.0, 5.0, 25.0, 50.0, 73.3, 95.0, 98.0, 99.0] {
        let want = b - x / 100.0 * (b - a);
        close(dvh.dose_at_volume_percent(x), want, 1e-4, &format!("D{x}%"));
        close(
            dvh.dose_at_volume_cc(x / 100.0 * total),
            want,
            1e-4,
            &format!("D at {x} cc"),
        );
    }
    for d in [21.0, 25.0, 33.3, 40.0, 59.0] {
        let want = (b - d) / (b - a) * total;
        close(dvh.volume_at_dose_cc(d), want, 1e-4, &format!("V{d}Gy[cc]"));
        close(
            dvh.volume_at_dose_percent(d),
            want / total * 100.0,
            1e-4,
            &format!("V{d}Gy[%]"),
        );
        // CV is the complement.
        close(
            metric(&format!("CV{d}Gy[cc]"), &dvh).unwrap(),
            total - want,
            1e-4,
            &format!("CV{d}Gy[cc]"),
        );
    }
    close(metric("D50%[Gy]", &dvh).unwrap(), 40.0, 1e-4, "D50%[Gy]");
    close(
        metric("D50%[cGy]", &dvh).unwrap(),
        4000.0,
        1e-2,
        "D50%[cGy]",
    );
    close(
        metric("DC10cc[Gy]", &dvh).unwrap(),
        a + 0.1 * (b - a),
        1e-4,
        "DC10cc",
    );
    // Outside the dose range.
    assert_eq!(dvh.volume_at_dose_cc(60.5), 0.0);
    assert_eq!(dvh.volume_at_dose_cc(10.0), dvh.volume_cc());
}

#[test]
fn d_and_v_are_inverse_functions() {
    let (dose, weight) = uniform(5.0, 15.0, 1000, 0.01);
    // Unequal weights: scale every third sample.
    let weight: Vec<f32> = weight
        .iter()
        .enumerate()
        .map(|(i, w)| if i % 3 == 0 { w * 2.5 } else { *w })
        .collect();
    let dvh = Dvh::from_samples(&dose, &weight);
    for k in 1..200 {
        let v = dvh.volume_cc() * k as f64 / 200.0;
        let d = dvh.dose_at_volume_cc(v);
        close(
            dvh.volume_at_dose_cc(d),
            v,
            1e-6 * dvh.volume_cc(),
            "V(D(v))",
        );
    }
}

/// Volume of the cap of height `h` of a sphere of radius `r`.
fn cap(r: f64, h: f64) -> f64 {
    let h = h.clamp(0.0, 2.0 * r);
    std::f64::consts::PI * h * h * (3.0 * r - h) / 3.0
}

/// Height h of the cap holding `frac` of the sphere, by bisection on the closed form.
fn cap_height_for_fraction(r: f64, frac: f64) -> f64 {
    let full = 4.0 / 3.0 * std::f64::consts::PI * r.powi(3);
    let (mut lo, mut hi) = (0.0, 2.0 * r);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if cap(r, mid) < frac * full {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[test]
fn sphere_in_linear_gradient_matches_cap_volumes() {
    // Sphere of radius 15 mm centred at z = 0; dose 50 Gy + 0.8 Gy/mm · z.
    let r_cm = 1.5;
    let (d0, g_per_cm) = (50.0, 8.0);
    let dose_at = |z: f64| d0 + g_per_cm * z;
    // Midpoint quadrature in thin slabs perpendicular to the gradient: slab k at z_k
    // has volume π(r² − z_k²)·dz, all at dose(z_k).
    let n = 200_000;
    let dz = 2.0 * r_cm / n as f64;
    let mut samples: Vec<(f32, f32)> = (0..n)
        .map(|k| {
            let z = -r_cm + (k as f64 + 0.5) * dz;
            (
                dose_at(z) as f32,
                (std::f64::consts::PI * (r_cm * r_cm - z * z) * dz) as f32,
            )
        })
        .collect();
    shuffle(&mut samples, 42);
    let (dose, weight): (Vec<f32>, Vec<f32>) = samples.into_iter().unzip();
    let dvh = Dvh::from_samples(&dose, &weight);
    let full = 4.0 / 3.0 * std::f64::consts::PI * r_cm.powi(3);
    close(dvh.volume_cc(), full, 1e-6 * full, "sphere volume");
    // By symmetry the mean dose is the dose at the centre.
    close(dvh.mean(), d0, 1e-4, "mean");
    // V(D ≥ d): the cap above z = (d − d0)/g, height r − z.
    for d in [40.0, 45.0, 50.0, 55.5, 61.0] {
        let z = (d - d0) / g_per_cm;
        let want = cap(r_cm, r_cm - z);
        close(
            dvh.volume_at_dose_cc(d),
            want,
            2e-5 * full,
            &format!("V{d}Gy"),
        );
    }
    // Dx%: the dose at the bottom of the cap holding x % of the volume.
    for x in [2.0, 50.0, 95.0, 98.0] {
        let h = cap_height_for_fraction(r_cm, x / 100.0);
        let want = dose_at(r_cm - h);
        close(
            metric(&format!("D{x}%[Gy]"), &dvh).unwrap(),
            want,
            1e-3,
            &format!("D{x}%"),
        );
    }
    // D0.03cc: the cap of 0.03 cc.
    let h = {
        let (mut lo, mut hi) = (0.0, 2.0 * r_cm);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if cap(r_cm, mid) < 0.03 {
                lo = mid
            } else {
                hi = mid
            }
        }
        lo
    };
    close(
        metric("D0.03cc[Gy]", &dvh).unwrap(),
        dose_at(r_cm - h),
        2e-3,
        "D0.03cc",
    );
}

#[test]
fn weights_are_equivalent_to_duplicated_samples() {
    // Distinct doses 0.01 Gy apart with weights 1–3 (× 1 mm³), against the same samples
    // duplicated weight-many times with unit weight.
    let n = 3000;
    let doses: Vec<f32> = (0..n).map(|i| 10.0 + 0.01 * i as f32).collect();
    // More weight on the cold third, so weighting moves the quantiles.
    let mult: Vec<usize> = (0..n)
        .map(|i| if i < n / 3 { 3 } else { 1 + i % 2 })
        .collect();
    let unit = 0.001f32;
    let weighted_w: Vec<f32> = mult.iter().map(|&m| m as f32 * unit).collect();
    let mut dup_d = Vec::new();
    for (&d, &m) in doses.iter().zip(&mult) {
        dup_d.extend(std::iter::repeat_n(d, m));
    }
    shuffle(&mut dup_d, 7);
    let dup_w = vec![unit; dup_d.len()];
    let a = Dvh::from_samples(&doses, &weighted_w);
    let b = Dvh::from_samples(&dup_d, &dup_w);
    // Equal up to the f32 rounding of m × 0.001.
    close(a.volume_cc(), b.volume_cc(), 1e-6, "volume");
    close(a.mean(), b.mean(), 1e-5, "mean");
    assert_eq!(a.max(), b.max());
    assert_eq!(a.min(), b.min());
    // Quantiles agree to within the dose step between neighbouring samples (the two
    // sample sets differ only by how one weight is split); volumes to within one weight.
    for x in [1.0, 5.0, 33.0, 50.0, 90.0, 99.0] {
        close(
            a.dose_at_volume_percent(x),
            b.dose_at_volume_percent(x),
            0.0101,
            &format!("D{x}%"),
        );
    }
    for d in [10.5, 20.005, 30.0, 39.0] {
        close(
            a.volume_at_dose_cc(d),
            b.volume_at_dose_cc(d),
            3.0 * unit as f64,
            &format!("V{d}"),
        );
    }
    // If weights were ignored, D50% would be off by far more than the tolerance.
    let unweighted = Dvh::from_samples(&doses, &vec![unit; n]);
    assert!((unweighted.dose_at_volume_percent(50.0) - a.dose_at_volume_percent(50.0)).abs() > 0.1);
}

#[test]
fn small_volume_d003cc_and_undefined_volumes() {
    // 0.1 cc structure (100 samples of 0.001 cc) uniform on [10, 20] Gy.
    let (dose, weight) = uniform(10.0, 20.0, 100, 0.001);
    let dvh = Dvh::from_samples(&dose, &weight);
    close(
        metric("D0.03cc[Gy]", &dvh).unwrap(),
        20.0 - 0.3 * 10.0,
        1e-4,
        "D0.03cc",
    );
    close(
        metric("D0.1cc[Gy]", &dvh).unwrap(),
        dvh.min(),
        1e-6,
        "D over whole volume",
    );
    // A 0.02 cc GTV has no D0.03cc.
    let (dose, weight) = uniform(10.0, 20.0, 20, 0.001);
    let tiny = Dvh::from_samples(&dose, &weight);
    match metric("D0.03cc[Gy]", &tiny) {
        Err(MetricError::VolumeExceedsStructure {
            requested_cc,
            structure_cc,
            ..
        }) => {
            close(requested_cc, 0.03, 1e-12, "requested");
            close(structure_cc, 0.02, 1e-6, "structure");
        }
        other => panic!("expected VolumeExceedsStructure, got {other:?}"),
    }
    // D100% is defined (the minimum), despite rounding of 100/100 × V.
    close(
        metric("D100%[Gy]", &tiny).unwrap(),
        tiny.min(),
        1e-6,
        "D100%",
    );
    // The plain method clamps to the minimum.
    close(tiny.dose_at_volume_cc(1.0), tiny.min(), 0.0, "clamped");
    // One coarse voxel: every D_v below its volume is its dose.
    let one = Dvh::from_samples(&[42.0], &[0.5]);
    assert_eq!(one.dose_at_volume_cc(0.03), 42.0);
    assert_eq!(one.volume_at_dose_cc(42.0), 0.5);
    assert_eq!(one.volume_at_dose_cc(42.001), 0.0);
}

#[test]
fn empty_and_bad_samples() {
    let empty = Dvh::from_samples(&[], &[]);
    assert_eq!(empty.volume_cc(), 0.0);
    assert!(empty.mean().is_nan() && empty.max().is_nan() && empty.dose_at_volume_cc(1.0).is_nan());
    assert_eq!(empty.volume_at_dose_cc(1.0), 0.0);
    assert!(matches!(
        metric("Mean[Gy]", &empty),
        Err(MetricError::EmptyStructure { .. })
    ));

    let dose = [1.0, f32::NAN, 3.0, 4.0, 5.0, 6.0];
    let weight = [1.0, 1.0, -1.0, 0.0, f32::INFINITY];
    let dvh = Dvh::from_samples(&dose, &weight);
    // Kept: only the first. Rejected: NaN dose, negative weight, infinite weight,
    // the unmatched sixth dose; the zero-weight sample is dropped silently.
    assert_eq!(dvh.sample_count(), 1);
    assert_eq!(dvh.rejected_samples(), 4);
    assert_eq!(
        Dvh::try_from_samples(&dose, &weight).unwrap_err(),
        DvhError::LengthMismatch {
            doses: 6,
            weights: 5
        }
    );
    assert_eq!(
        Dvh::try_from_samples(&dose[..5], &weight)
            .unwrap_err()
            .to_string(),
        "sample 1: dose NaN is not finite"
    );
    assert!(matches!(
        Dvh::try_from_samples(&[1.0, 2.0], &[1.0, -0.5]),
        Err(DvhError::BadWeight { index: 1, .. })
    ));
}

#[test]
fn binned_curves_follow_the_exact_dvh() {
    let (dose, weight) = uniform(10.0, 30.0, 20_000, 0.0005); // 10 cc
    let dvh = Dvh::from_samples(&dose, &weight);
    let c = dvh.cumulative(0.5);
    assert_eq!(c.dose_gy.first(), Some(&0.0));
    // Edges 0 … 30.0 (the first edge above the max 29.9995).
    assert_eq!(c.dose_gy.len(), 61);
    close(c.volume_cc[0], 10.0, 1e-6, "V(0)");
    close(*c.volume_cc.last().unwrap(), 0.0, 1e-9, "V(last edge)");
    close(c.volume_cc[40], 5.0, 1e-4, "V(20 Gy)"); // edge 20 Gy
    let d = dvh.differential(0.5);
    assert_eq!(d.volume_cc.len(), 60);
    close(
        d.volume_cc.iter().sum::<f64>(),
        10.0,
        1e-6,
        "differential sum",
    );
    close(d.dose_gy[20], 10.25, 1e-12, "bin centre");
    close(d.volume_cc[20], 0.25, 1e-4, "bin [10, 10.5)");
    close(d.volume_cc[5], 0.0, 1e-12, "empty bin");
    // Invalid widths: strict versions say why, lenient ones stay bounded.
    assert!(matches!(
        dvh.try_cumulative(0.0),
        Err(DvhError::BadBinWidth { .. })
    ));
    assert!(matches!(
        dvh.try_cumulative(1e-9),
        Err(DvhError::TooManyBins { .. })
    ));
    assert!(dvh.cumulative(f64::NAN).dose_gy.is_empty());
    assert!(dvh.cumulative(1e-9).dose_gy.len() <= radtox_dose::MAX_BINS + 1);
}

#[test]
fn curves_are_monotone_and_continuous_on_irregular_samples() {
    // Irregular doses (clusters, ties, a negative value) and weights over three decades.
    let mut s = 0x1234_5678_9abc_def1u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let n = 5000;
    let dose: Vec<f32> = (0..n)
        .map(|i| match i % 4 {
            0 => 30.0,
            1 => (60.0 * next()) as f32,
            2 => (20.0 + 0.01 * next()) as f32,
            _ => (70.0 * next() * next() - 0.5) as f32,
        })
        .collect();
    let weight: Vec<f32> = (0..n)
        .map(|_| (0.0005 + 0.5 * next().powi(3)) as f32)
        .collect();
    let dvh = Dvh::from_samples(&dose, &weight);
    let total = dvh.volume_cc();
    let steps = 20_000;
    let mut prev = f64::INFINITY;
    for k in 0..=steps {
        let v = total * k as f64 / steps as f64;
        let d = dvh.dose_at_volume_cc(v);
        assert!(d <= prev + 1e-9, "D(v) increases at v = {v}");
        prev = d;
    }
    let (lo, hi) = (dvh.min(), dvh.max());
    let mut prev = f64::INFINITY;
    for k in 0..=steps {
        let d = lo - 1.0 + (hi - lo + 2.0) * k as f64 / steps as f64;
        let v = dvh.volume_at_dose_cc(d);
        assert!(v <= prev + 1e-9, "V(d) increases at d = {d}");
        assert!((0.0..=total).contains(&v));
        prev = v;
    }
    // Continuity of D(v): a small volume step never jumps by more than the dose gap
    // between the samples around it.
    let sorted = dvh.sorted_doses();
    let largest_gap = sorted
        .windows(2)
        .map(|w| (w[0] - w[1]) as f64)
        .fold(0.0, f64::max);
    for k in 0..steps {
        let v = total * k as f64 / steps as f64;
        let jump =
            dvh.dose_at_volume_cc(v) - dvh.dose_at_volume_cc(v + total / steps as f64 / 100.0);
        assert!(jump <= largest_gap + 1e-9, "jump {jump} at v = {v}");
    }
    // The mean is the weighted mean of the input, whatever the order.
    let want: f64 = dose
        .iter()
        .zip(&weight)
        .map(|(&d, &w)| d as f64 * w as f64)
        .sum::<f64>()
        / weight.iter().map(|&w| w as f64).sum::<f64>();
    close(dvh.mean(), want, 1e-9 * want.abs().max(1.0), "mean");
}
