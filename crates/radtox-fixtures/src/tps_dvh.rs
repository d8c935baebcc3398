//! A planning-system-like DVH for the optional DVH Sequence of the RT Dose: computed from
//! the written contours (slab model, like a TPS) and the *analytic* dose, so it is an
//! independent reference for a DVH computed from the stored grid.

use crate::{Phantom, ShapeSpec};

/// A cumulative DVH in cm³.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticDvh {
    pub bin_gy: f64,
    /// `volumes_cc[i]`: volume receiving at least `i · bin_gy` (the first is the total).
    pub volumes_cc: Vec<f64>,
    pub min_gy: f64,
    pub max_gy: f64,
    pub mean_gy: f64,
    pub total_cc: f64,
}

/// Even-odd point-in-polygon test (crossing number).
fn inside(polys: &[Vec<[f64; 2]>], x: f64, y: f64) -> bool {
    let mut odd = false;
    for p in polys {
        let n = p.len();
        let mut j = n.wrapping_sub(1);
        for i in 0..n {
            let (a, b) = (p[i], p[j % n]);
            if (a[1] > y) != (b[1] > y) {
                let xc = a[0] + (y - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
                if x < xc {
                    odd = !odd;
                }
            }
            j = i;
        }
    }
    odd
}

/// The cumulative DVH of structure `s` under the phantom's analytic dose: each contour
/// plane stands for a slab one contour spacing thick; within a plane the polygons are
/// sampled on a square lattice (step adapted to the polygon size, 0.1–1 mm). Like a
/// planning system, it covers only the part of the structure inside the dose grid (the
/// box spanned by the voxel centres).
pub fn cumulative_dvh(ph: &Phantom, s: &ShapeSpec, bin_gy: f64) -> AnalyticDvh {
    let axes = [ph.grid.axis(0), ph.grid.axis(1), ph.grid.axis(2)];
    let span = |a: &Vec<f64>| {
        (
            a.first().copied().unwrap_or(0.0),
            a.last().copied().unwrap_or(0.0),
        )
    };
    let (bx, by, bz) = (span(&axes[0]), span(&axes[1]), span(&axes[2]));
    let in_grid = |x: f64, y: f64, z: f64| {
        (bx.0..=bx.1).contains(&x) && (by.0..=by.1).contains(&y) && (bz.0..=bz.1).contains(&z)
    };
    let mut samples: Vec<(f64, f64)> = Vec::new(); // (dose, weight mm³)
    for plane in s.contour_planes() {
        let polys: Vec<Vec<[f64; 2]>> = plane.polygons.iter().map(|p| p.points.clone()).collect();
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in polys.iter().flatten() {
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        if !(hi[0] > lo[0] && hi[1] > lo[1]) {
            continue;
        }
        let h = (((hi[0] - lo[0]) * (hi[1] - lo[1])).sqrt() / 40.0).clamp(0.1, 1.0);
        let nx = ((hi[0] - lo[0]) / h).ceil() as usize;
        let ny = ((hi[1] - lo[1]) / h).ceil() as usize;
        let w = h * h * s.contour.spacing_mm;
        for j in 0..ny {
            let y = lo[1] + (j as f64 + 0.5) * h;
            for i in 0..nx {
                let x = lo[0] + (i as f64 + 0.5) * h;
                if inside(&polys, x, y) && in_grid(x, y, plane.z) {
                    samples.push((ph.dose.dose_at([x, y, plane.z]), w));
                }
            }
        }
    }
    let total: f64 = samples.iter().map(|s| s.1).sum();
    let max = samples.iter().map(|s| s.0).fold(0.0f64, f64::max);
    let min = samples.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let mean = if total > 0.0 {
        samples.iter().map(|s| s.0 * s.1).sum::<f64>() / total
    } else {
        0.0
    };
    let nbins = (max / bin_gy).floor() as usize + 1;
    let mut hist = vec![0.0; nbins];
    for (d, w) in &samples {
        let i = ((d / bin_gy).floor() as usize).min(nbins - 1);
        hist[i] += w;
    }
    let mut acc = 0.0;
    let mut cum = vec![0.0; nbins];
    for i in (0..nbins).rev() {
        acc += hist[i];
        cum[i] = acc / 1000.0;
    }
    AnalyticDvh {
        bin_gy,
        volumes_cc: cum,
        min_gy: if min.is_finite() { min } else { 0.0 },
        max_gy: max,
        mean_gy: mean,
        total_cc: total / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ContourSpec, DoseModel, GridSpec, Shape};

    #[test]
    fn linear_dose_through_a_box_gives_a_linear_cumulative_dvh() {
        // Dose = z (Gy/mm) in a 10×10×10 mm box from z = 0 to 10, planes mid-slab at
        // 0.5, 1.5, …: V(≥D) = 100 mm² × (10 − D) mm for D on the plane lattice.
        let s = ShapeSpec {
            roi_number: 1,
            name: "B".into(),
            interpreted_type: "ORGAN".into(),
            color: [0, 0, 255],
            shape: Shape::Box {
                min: [0.0, 0.0, 0.0],
                max: [10.0, 10.0, 10.0],
            },
            contour: ContourSpec {
                spacing_mm: 1.0,
                z_offset_mm: 0.5,
                vertices_per_circle: 4,
            },
        };
        let ph = Phantom {
            name: "t".into(),
            patient_name: "PHANTOM^TEST".into(),
            patient_id: "T".into(),
            // The grid covers the box (the DVH counts only what lies inside the grid).
            grid: GridSpec {
                origin: [-1.0; 3],
                spacing: [1.0; 3],
                dims: [13, 13, 13],
            },
            dose: DoseModel::Linear {
                d0: 0.0,
                gradient: [0.0, 0.0, 1.0],
            },
            structures: vec![s.clone()],
            prescription_gy: 1.0,
            fractions: 1,
            plan_label: "T".into(),
            plan_name: "T".into(),
            target_roi: None,
        };
        let dvh = cumulative_dvh(&ph, &s, 1.0);
        assert!((dvh.total_cc - 1.0).abs() < 1e-9);
        assert_eq!(dvh.volumes_cc.len(), 10);
        for (i, v) in dvh.volumes_cc.iter().enumerate() {
            // Bin i starts at i Gy; planes at i+0.5 and above receive ≥ i Gy.
            assert!((v - 0.1 * (10 - i) as f64).abs() < 1e-9, "{i}: {v}");
        }
        assert!((dvh.mean_gy - 5.0).abs() < 1e-9);
    }
}
