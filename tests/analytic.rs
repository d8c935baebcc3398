//! End-to-end accuracy against closed-form truth: shapes written as real DICOM-RT files
//! (by `radtox-fixtures`) in linear dose gradients, analysed by the `radtox` binary.
//!
//! Truth is the *analytic shape*, not the contours, so the contour discretisation is part
//! of what is tested. Sizes are chosen so that the slab model itself is within tolerance
//! (the midpoint-rule error of a sphere sliced every Δ is about Δ²/(8r²): 0.9 % for
//! r = 15 mm at Δ = 3 mm; small spheres need Δ ≤ 1 mm, 0.03 cc needs Δ = 0.5 mm).
//! Tolerances are the issue's: volume ±1 % (≥ 1 cc) and ±3 % (< 1 cc); Mean ±0.5 %;
//! D-metrics ±1 % or ±0.05 Gy; V-metrics ±1 % of the volume.

mod common;

use common::{analyze_json, metric, structure};
use radtox_fixtures::{
    ContourSpec, DoseModel, GridSpec, Phantom, Shape, ShapeSpec, WriteOptions, write_plan,
};
use std::f64::consts::PI;

const D0: f64 = 20.0; // Gy at the shape centre
const G: f64 = 0.4; // Gy/mm

fn spec(roi: i32, name: &str, shape: Shape, spacing: f64, z_offset: f64) -> ShapeSpec {
    ShapeSpec {
        roi_number: roi,
        name: name.into(),
        interpreted_type: "ORGAN".into(),
        color: [200, 50, 50],
        shape,
        contour: ContourSpec {
            spacing_mm: spacing,
            z_offset_mm: z_offset,
            vertices_per_circle: 360,
        },
    }
}

/// A phantom holding one shape centred at `c`, dose `D0 + G·(p − c)` along `axis`.
fn phantom(
    name: &str,
    shape: ShapeSpec,
    c: [f64; 3],
    axis: usize,
    grid_mm: f64,
    half: f64,
) -> Phantom {
    let mut gradient = [0.0; 3];
    gradient[axis] = G;
    let d0 = D0 - G * c[axis];
    // Grid off the shape's centre by a fraction of a voxel, covering the shape.
    let n = (2.0 * half / grid_mm).ceil() as usize + 3;
    let origin = [
        c[0] - half - 0.37 * grid_mm,
        c[1] - half - 0.61 * grid_mm,
        c[2] - half - 0.23 * grid_mm,
    ];
    Phantom {
        name: name.into(),
        patient_name: "PHANTOM^ANALYTIC".into(),
        patient_id: "ANALYTIC".into(),
        grid: GridSpec {
            origin,
            spacing: [grid_mm; 3],
            dims: [n, n, n],
        },
        dose: DoseModel::Linear { d0, gradient },
        structures: vec![shape],
        prescription_gy: D0,
        fractions: 1,
        plan_label: "ANALYTIC".into(),
        plan_name: name.into(),
        target_roi: None,
    }
}

/// Volume of a sphere cap of height h.
fn cap(r: f64, h: f64) -> f64 {
    let h = h.clamp(0.0, 2.0 * r);
    PI * h * h * (3.0 * r - h) / 3.0
}

/// Height of the cap of a sphere of radius r holding `v_mm3` (bisection).
fn cap_height(r: f64, v_mm3: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 2.0 * r);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if cap(r, mid) < v_mm3 {
            lo = mid
        } else {
            hi = mid
        }
    }
    0.5 * (lo + hi)
}

/// Dose D such that the hottest `frac` of a sphere receives at least D (gradient G):
/// the dose at the base of the cap, on the hot side, holding that fraction.
fn sphere_dx(r: f64, frac: f64) -> f64 {
    let v = 4.0 / 3.0 * PI * r.powi(3);
    D0 + G * (r - cap_height(r, frac * v))
}

fn within(name: &str, got: f64, want: f64, rel: f64, abs: f64) {
    let tol = (rel * want.abs()).max(abs);
    assert!(
        (got - want).abs() <= tol,
        "{name}: got {got:.5}, want {want:.5} (tolerance {tol:.5})"
    );
}

const METRICS: [&str; 6] = [
    "Mean[Gy]",
    "D95%[Gy]",
    "D50%[Gy]",
    "D5%[Gy]",
    "V20Gy[%]",
    "V24Gy[cc]",
];

fn run(ph: &Phantom) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(ph, dir.path(), &WriteOptions::default()).unwrap();
    analyze_json(&plan, &METRICS, &[])
}

#[test]
fn sphere_in_linear_gradients_every_axis_grid_and_contour_spacing() {
    let r: f64 = 15.3;
    let c = [3.3, -4.7, 2.1];
    let v_true = 4.0 / 3.0 * PI * r.powi(3) / 1000.0;
    for axis in 0..3 {
        for grid_mm in [1.0, 2.0, 3.0] {
            for dz in [1.0, 2.0, 3.0] {
                let s = spec(
                    1,
                    "Sphere",
                    Shape::Sphere {
                        centre: c,
                        radius: r,
                    },
                    dz,
                    0.29,
                );
                let ph = phantom("sphere", s, c, axis, grid_mm, r + 2.0 * grid_mm);
                let out = run(&ph);
                let st = structure(&out, "Sphere");
                let case = format!("axis {axis}, grid {grid_mm} mm, contours {dz} mm");
                within(
                    &format!("volume ({case})"),
                    st["volume_cc"].as_f64().unwrap(),
                    v_true,
                    0.01,
                    0.0,
                );
                within(
                    &format!("Mean ({case})"),
                    metric(st, "Mean[Gy]"),
                    D0,
                    0.005,
                    0.0,
                );
                for (m, f) in [("D95%[Gy]", 0.95), ("D50%[Gy]", 0.5), ("D5%[Gy]", 0.05)] {
                    within(
                        &format!("{m} ({case})"),
                        metric(st, m),
                        sphere_dx(r, f),
                        0.01,
                        0.05,
                    );
                }
                within(
                    &format!("V20Gy[%] ({case})"),
                    metric(st, "V20Gy[%]"),
                    50.0,
                    0.0,
                    1.0,
                );
                let v24 = cap(r, r - (24.0 - D0) / G) / 1000.0;
                within(
                    &format!("V24Gy[cc] ({case})"),
                    metric(st, "V24Gy[cc]"),
                    v24,
                    0.0,
                    0.01 * v_true,
                );
            }
        }
    }
}

#[test]
fn cylinder_and_cone_in_linear_gradients() {
    let c = [-2.7, 1.9, 0.0];
    for axis in 0..3 {
        for (grid_mm, dz) in [(1.0, 1.0), (2.0, 3.0), (3.0, 2.0)] {
            let case = format!("axis {axis}, grid {grid_mm} mm, contours {dz} mm");
            // Cylinder r = 12, length 36 (a multiple of every Δ), planes mid-slab.
            let (rc, len): (f64, f64) = (12.0, 36.0);
            let cyl = Shape::Cylinder {
                centre: c,
                radii: [rc, rc],
                length: len,
            };
            let z_off = c[2] - len / 2.0 + dz / 2.0;
            let ph = phantom(
                "cyl",
                spec(1, "Cylinder", cyl, dz, z_off),
                c,
                axis,
                grid_mm,
                len / 2.0 + 2.0 * grid_mm,
            );
            let out = run(&ph);
            let st = structure(&out, "Cylinder");
            let v_true = PI * rc * rc * len / 1000.0;
            within(
                &format!("cylinder volume ({case})"),
                st["volume_cc"].as_f64().unwrap(),
                v_true,
                0.01,
                0.0,
            );
            within(
                &format!("cylinder Mean ({case})"),
                metric(st, "Mean[Gy]"),
                D0,
                0.005,
                0.0,
            );
            if axis == 2 {
                // Uniform along z: D_x% = D0 + G·L·(1/2 − x).
                for (m, f) in [("D95%[Gy]", 0.95), ("D50%[Gy]", 0.5), ("D5%[Gy]", 0.05)] {
                    within(
                        &format!("cylinder {m} ({case})"),
                        metric(st, m),
                        D0 + G * len * (0.5 - f),
                        0.01,
                        0.05,
                    );
                }
            }
            // Cone r = 15, height 36 along +z from its base; centroid at h/4.
            let (rb, h): (f64, f64) = (15.0, 36.0);
            let base = [c[0], c[1], c[2] - h / 2.0];
            let cone = Shape::Cone {
                base_centre: base,
                base_radius: rb,
                height: h,
            };
            let centroid = [c[0], c[1], base[2] + h / 4.0];
            let z_off = base[2] + dz / 2.0;
            let ph = phantom(
                "cone",
                spec(1, "Cone", cone, dz, z_off),
                centroid,
                axis,
                grid_mm,
                h / 2.0 + 2.0 * grid_mm,
            );
            // The phantom grid is centred on the centroid; make sure it covers the cone.
            let mut ph = ph;
            ph.grid.origin[2] = base[2] - 2.0 * grid_mm - 0.23 * grid_mm;
            let out = run(&ph);
            let st = structure(&out, "Cone");
            let v_true = PI * rb * rb * h / 3.0 / 1000.0;
            within(
                &format!("cone volume ({case})"),
                st["volume_cc"].as_f64().unwrap(),
                v_true,
                0.01,
                0.0,
            );
            within(
                &format!("cone Mean ({case})"),
                metric(st, "Mean[Gy]"),
                D0,
                0.005,
                0.0,
            );
            if axis == 2 {
                // V(z ≥ s) = V·((h − s)/h)³ above height s: D_x% at s = h(1 − x^(1/3)).
                for (m, f) in [("D95%[Gy]", 0.95f64), ("D50%[Gy]", 0.5), ("D5%[Gy]", 0.05)] {
                    let s = h * (1.0 - f.cbrt());
                    let want = D0 + G * (base[2] + s - centroid[2]);
                    within(
                        &format!("cone {m} ({case})"),
                        metric(st, m),
                        want,
                        0.01,
                        0.05,
                    );
                }
            }
        }
    }
}

#[test]
fn small_spheres_from_0_03_to_1_cc() {
    for (cc, dz) in [(0.03, 0.5), (0.1, 1.0), (0.5, 1.0), (1.0, 1.0)] {
        let r = (cc * 1000.0 * 3.0 / (4.0 * PI)).cbrt();
        let c = [0.41, -0.77, 0.13];
        for axis in 0..3 {
            for grid_mm in [1.0, 2.0, 3.0] {
                let s = spec(
                    1,
                    "Lesion",
                    Shape::Sphere {
                        centre: c,
                        radius: r,
                    },
                    dz,
                    0.07,
                );
                let ph = phantom("small", s, c, axis, grid_mm, r + 2.0 * grid_mm);
                let out = run(&ph);
                let st = structure(&out, "Lesion");
                let case = format!("{cc} cc, axis {axis}, grid {grid_mm} mm, contours {dz} mm");
                within(
                    &format!("volume ({case})"),
                    st["volume_cc"].as_f64().unwrap(),
                    cc,
                    0.03,
                    0.0,
                );
                within(
                    &format!("Mean ({case})"),
                    metric(st, "Mean[Gy]"),
                    D0,
                    0.005,
                    0.0,
                );
                for (m, f) in [("D95%[Gy]", 0.95), ("D50%[Gy]", 0.5), ("D5%[Gy]", 0.05)] {
                    within(
                        &format!("{m} ({case})"),
                        metric(st, m),
                        sphere_dx(r, f),
                        0.01,
                        0.05,
                    );
                }
            }
        }
    }
}

/// Near-maximum doses of organs at risk in an SRS-like fall-off: spheres of 2 and 20 cc
/// in a 3 Gy/mm gradient across the contour planes (x and y), where a D0.03cc is made
/// entirely of boundary cells. Held to the issue's ±1 % or ±0.05 Gy: D0.03cc, D2%, D50%,
/// D98% and Mean against the closed-form caps. (Along z the hottest 0.03 cc is the top
/// slab of the contour model, not the sphere's pole: the slab model, not sampling, sets
/// that error, and the other tests cover z.)
#[test]
fn near_maximum_doses_in_a_steep_gradient() {
    let g = 3.0;
    let centre_dose = 60.0;
    for (cc, dz) in [(2.0, 1.0), (20.0, 2.0)] {
        let r: f64 = (cc * 1000.0 * 3.0 / (4.0 * PI)).cbrt();
        let c = [0.41, -0.77, 0.13];
        // D such that the hottest v cc receive at least D: the cap of that volume.
        let dose_at = |v_cc: f64| centre_dose + g * (r - cap_height(r, v_cc * 1000.0));
        for axis in 0..2 {
            for grid_mm in [1.0, 2.0, 3.0] {
                let s = spec(
                    1,
                    "Oar",
                    Shape::Sphere {
                        centre: c,
                        radius: r,
                    },
                    dz,
                    0.07,
                );
                let mut ph = phantom("steep", s, c, axis, grid_mm, r + 2.0 * grid_mm);
                let mut gradient = [0.0; 3];
                gradient[axis] = g;
                ph.dose = DoseModel::Linear {
                    d0: centre_dose - g * c[axis],
                    gradient,
                };
                let dir = tempfile::tempdir().unwrap();
                let plan = write_plan(&ph, dir.path(), &WriteOptions::default()).unwrap();
                let metrics = ["D0.03cc[Gy]", "D2%[Gy]", "D50%[Gy]", "D98%[Gy]", "Mean[Gy]"];
                let out = analyze_json(&plan, &metrics, &[]);
                let st = structure(&out, "Oar");
                let case = format!("{cc} cc, axis {axis}, grid {grid_mm} mm");
                for (m, want) in [
                    ("D0.03cc[Gy]", dose_at(0.03)),
                    ("D2%[Gy]", dose_at(0.02 * cc)),
                    ("D50%[Gy]", dose_at(0.5 * cc)),
                    ("D98%[Gy]", dose_at(0.98 * cc)),
                    ("Mean[Gy]", centre_dose),
                ] {
                    within(&format!("{m} ({case})"), metric(st, m), want, 0.01, 0.05);
                }
            }
        }
    }
}
