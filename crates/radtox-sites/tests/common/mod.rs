//! Phantom builders shared by the tests.
#![allow(dead_code)]

use ndarray::Array3;
use radtox_model::{ContourPlane, DoseGrid, Polygon, Structure};
use std::f64::consts::PI;

pub fn circle(cx: f64, cy: f64, r: f64, n: usize) -> Polygon {
    Polygon {
        points: (0..n)
            .map(|j| {
                let t = 2.0 * PI * j as f64 / n as f64;
                [cx + r * t.cos(), cy + r * t.sin()]
            })
            .collect(),
    }
}

pub fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon {
    Polygon {
        points: vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
    }
}

pub fn structure(roi: i32, name: &str, planes: Vec<ContourPlane>) -> Structure {
    Structure {
        roi_number: roi,
        name: name.into(),
        interpreted_type: None,
        color: None,
        planes,
        ignored: vec![],
        slab_thickness_mm: None,
    }
}

/// A sphere contoured on planes `dz` apart, none through the centre (planes at
/// centre ± (k + ½)·dz), so the half-slab model spans exactly [cz − R, cz + R].
pub fn sphere(roi: i32, name: &str, c: [f64; 3], r: f64, dz: f64) -> Structure {
    let n = (2.0 * r / dz).round() as usize;
    let planes = (0..n)
        .map(|k| {
            let z = c[2] - r + (k as f64 + 0.5) * dz;
            let rr = (r * r - (z - c[2]).powi(2)).max(0.0).sqrt();
            ContourPlane {
                z,
                polygons: vec![circle(c[0], c[1], rr, 360)],
            }
        })
        .collect();
    structure(roi, name, planes)
}

/// A box [x0,x1]×[y0,y1]×[z0,z1] contoured every `dz` (half-slab model exact).
pub fn cuboid(roi: i32, name: &str, lo: [f64; 3], hi: [f64; 3], dz: f64) -> Structure {
    let n = ((hi[2] - lo[2]) / dz).round() as usize;
    let planes = (0..n)
        .map(|k| ContourPlane {
            z: lo[2] + (k as f64 + 0.5) * dz,
            polygons: vec![rect(lo[0], lo[1], hi[0], hi[1])],
        })
        .collect();
    structure(roi, name, planes)
}

/// A cylinder along z, radius r, from z0 to z1 (contoured every dz).
pub fn cylinder(
    roi: i32,
    name: &str,
    [cx, cy]: [f64; 2],
    r: f64,
    z0: f64,
    z1: f64,
    dz: f64,
) -> Structure {
    let n = ((z1 - z0) / dz).round() as usize;
    let planes = (0..n)
        .map(|k| ContourPlane {
            z: z0 + (k as f64 + 0.5) * dz,
            polygons: vec![circle(cx, cy, r, 720)],
        })
        .collect();
    structure(roi, name, planes)
}

pub fn axis(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let n = ((hi - lo) / step).round() as usize + 1;
    (0..n).map(|i| lo + step * i as f64).collect()
}

/// A grid with dose f(x, y, z) at the voxel centres.
pub fn grid(x: Vec<f64>, y: Vec<f64>, z: Vec<f64>, f: impl Fn(f64, f64, f64) -> f64) -> DoseGrid {
    let dose = Array3::from_shape_fn((z.len(), y.len(), x.len()), |(iz, iy, ix)| {
        f(x[ix], y[iy], z[iz]) as f32
    });
    DoseGrid::new(x, y, z, dose).unwrap()
}

pub fn sphere_cc(r: f64) -> f64 {
    4.0 / 3.0 * PI * r.powi(3) / 1000.0
}

pub fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}
