//! Analytic shapes and dose grids for the tests.
#![allow(dead_code)]

use ndarray::Array3;
use radtox_geometry::StructureSamples;
use radtox_model::{ContourPlane, DoseGrid, Polygon, Structure};
use std::f64::consts::PI;

/// Vertices of the contour circles. An inscribed regular n-gon of circumradius ρ has
/// area (n/2) ρ² sin(2π/n) = πρ² (1 − (2π/n)²/6 + …): for n = 256 the relative
/// deficit is 1.0e-4, negligible against every tolerance below.
pub const N: usize = 256;

pub fn circle(cx: f64, cy: f64, r: f64) -> Polygon {
    circle_n(cx, cy, r, N)
}

pub fn circle_n(cx: f64, cy: f64, r: f64, n: usize) -> Polygon {
    Polygon {
        points: (0..n)
            .map(|i| {
                // A fixed phase so no vertex sits exactly on a lattice line.
                let a = 2.0 * PI * (i as f64 + 0.3) / n as f64;
                [cx + r * a.cos(), cy + r * a.sin()]
            })
            .collect(),
    }
}

pub fn structure(name: &str, planes: Vec<ContourPlane>) -> Structure {
    Structure {
        roi_number: 7,
        name: name.into(),
        interpreted_type: None,
        color: None,
        planes,
        ignored: vec![],
        slab_thickness_mm: None,
    }
}

/// Contour planes at `z0 + k·dz` (all k with the plane strictly inside the sphere).
pub fn sphere(c: [f64; 3], r: f64, dz: f64, z0: f64) -> Structure {
    let k0 = ((c[2] - r - z0) / dz).floor() as i64;
    let k1 = ((c[2] + r - z0) / dz).ceil() as i64;
    let planes = (k0..=k1)
        .filter_map(|k| {
            let z = z0 + k as f64 * dz;
            let h = z - c[2];
            let rho2 = r * r - h * h;
            (rho2 > 1e-6 * r * r).then(|| ContourPlane {
                z,
                polygons: vec![circle(c[0], c[1], rho2.sqrt())],
            })
        })
        .collect();
    structure("sphere", planes)
}

pub fn sphere_volume(r: f64) -> f64 {
    4.0 / 3.0 * PI * r.powi(3)
}

/// Volume of a spherical cap of height h.
pub fn cap_volume(r: f64, h: f64) -> f64 {
    PI * h * h * (3.0 * r - h) / 3.0
}

/// A cylinder of radius r along z with contour planes at the given z values.
pub fn cylinder(cx: f64, cy: f64, r: f64, zs: &[f64]) -> Structure {
    structure(
        "cylinder",
        zs.iter()
            .map(|&z| ContourPlane {
                z,
                polygons: vec![circle(cx, cy, r)],
            })
            .collect(),
    )
}

/// Inscribed 256-gon area of a circle of radius r.
pub fn ngon_area(r: f64) -> f64 {
    N as f64 / 2.0 * r * r * (2.0 * PI / N as f64).sin()
}

/// A dose grid with spacing `s` covering `[lo, hi]` (per axis), dose = f(x, y, z).
pub fn grid(lo: [f64; 3], hi: [f64; 3], s: f64, f: impl Fn(f64, f64, f64) -> f64) -> DoseGrid {
    let axis = |a: usize| -> Vec<f64> {
        let n = ((hi[a] - lo[a]) / s).ceil() as usize + 1;
        (0..n).map(|i| lo[a] + i as f64 * s).collect()
    };
    let (x, y, z) = (axis(0), axis(1), axis(2));
    let dose = Array3::from_shape_fn((z.len(), y.len(), x.len()), |(k, j, i)| {
        f(x[i], y[j], z[k]) as f32
    });
    DoseGrid::new(x, y, z, dose).unwrap()
}

/// A grid covering a cube of half-width `half` around `c`, starting at a fixed odd
/// offset so that grid and shape are not aligned.
pub fn grid_around(c: [f64; 3], half: f64, s: f64, f: impl Fn(f64, f64, f64) -> f64) -> DoseGrid {
    let lo = [
        c[0] - half - 0.37 * s,
        c[1] - half - 0.71 * s,
        c[2] - half - 0.13 * s,
    ];
    let hi = [c[0] + half, c[1] + half, c[2] + half];
    grid(lo, hi, s, f)
}

pub fn weighted_mean(s: &StructureSamples) -> f64 {
    let num: f64 = s
        .dose_gy
        .iter()
        .zip(&s.weight_cc)
        .map(|(&d, &w)| d as f64 * w as f64)
        .sum();
    num / s.volume_in_grid_cc
}

/// Volume (cc) of samples with dose ≥ t.
/// Volume receiving at least `t`, each sample's dose spread uniformly over
/// `dose ± spread` (the cell model `radtox_dose::Dvh::from_cells` uses).
pub fn volume_at_least(s: &StructureSamples, t: f64) -> f64 {
    s.dose_gy
        .iter()
        .zip(&s.spread_gy)
        .zip(&s.weight_cc)
        .map(|((&d, &r), &w)| {
            let (d, r, w) = (d as f64, r as f64, w as f64);
            if r > 0.0 {
                w * ((d + r - t) / (2.0 * r)).clamp(0.0, 1.0)
            } else if d >= t {
                w
            } else {
                0.0
            }
        })
        .sum()
}

pub fn rel(a: f64, b: f64) -> f64 {
    (a - b) / b
}
