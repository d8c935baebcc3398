//! Dose sampled on analytic solids against analytic answers.

mod common;

use common::*;
use radtox_geometry::{Lattice, SamplingOptions, rasterize, sample_dose, sample_structure};

/// Dose 30 Gy + 0.4 Gy/mm × (coordinate − centre) along `axis`: 22–38 Gy over the
/// sphere, linear, so trilinear interpolation reproduces it exactly inside the grid.
fn gradient(axis: usize, c: [f64; 3]) -> impl Fn(f64, f64, f64) -> f64 {
    move |x, y, z| 30.0 + 0.4 * ([x, y, z][axis] - c[axis])
}

#[test]
fn linear_gradient_mean_is_dose_at_centroid() {
    // The sphere's centroid is its centre; the mean of a linear dose over any solid is
    // the dose at its centroid.
    let c = [3.3, -7.9, 11.2];
    let r = 20.0;
    for axis in 0..3 {
        for (dz, g) in [(1.0, 3.0), (2.0, 2.0), (3.0, 1.0), (3.0, 3.0)] {
            let grid = grid_around(c, r + 6.0, g, gradient(axis, c));
            let s = sample_structure(&sphere(c, r, dz, 0.41), &grid, &SamplingOptions::default());
            let mean = weighted_mean(&s);
            println!("axis {axis} dz {dz} grid {g}: mean {mean:.4} Gy");
            assert!(
                rel(mean, 30.0).abs() < 0.005,
                "axis {axis} dz {dz} grid {g}: mean {mean}"
            );
        }
    }
}

#[test]
fn linear_gradient_mean_of_a_cone() {
    // Cone centroid: a quarter of the height above the base, on the axis.
    let (rr, hh) = (20.0, 40.0);
    let c = [1.9, 2.7, -20.35];
    let planes = (0..40)
        .map(|k| k as f64)
        .map(|t| radtox_model::ContourPlane {
            z: c[2] + t,
            polygons: vec![circle(c[0], c[1], rr * (1.0 - t / hh))],
        })
        .collect();
    let s = structure("cone", planes);
    let centroid = [c[0], c[1], c[2] + hh / 4.0];
    for axis in 0..3 {
        let grid = grid_around(
            [c[0], c[1], c[2] + 20.0],
            30.0,
            2.5,
            gradient(axis, centroid),
        );
        let opts = SamplingOptions {
            end_caps: radtox_geometry::EndCaps::Flat,
            ..Default::default()
        };
        let out = sample_structure(&s, &grid, &opts);
        let mean = weighted_mean(&out);
        println!("cone axis {axis}: mean {mean:.4}");
        assert!(rel(mean, 30.0).abs() < 0.005, "axis {axis}: mean {mean}");
    }
}

#[test]
fn dose_threshold_volume_is_sphere_cap() {
    // With dose increasing along an axis, {dose ≥ t} is a cap of height h of the sphere,
    // V = πh²(3r − h)/3. Tolerance: ±1 % of the sphere's volume (±0.01 in fraction).
    // Each cell is classified by the dose at its centre, so a threshold plane parallel
    // to the lattice (the worst case) misplaces up to half a cell: error ≤ A·s/2, i.e.
    // ≤ 3s/(8r) of a sphere cut through its centre — 0.8 % for the ~0.45 mm cells that
    // min_samples = 200 000 gives a 33.5 cc sphere. A relative ±1 % of a small cap is
    // beyond any point sampling of a plane aligned with the cells (a 5 mm cap of this
    // sphere would need cells of 0.05 mm); caps of half the sphere and more are checked
    // to ±3 % of their own volume.
    let c = [3.3, -7.9, 11.2];
    let r = 20.0;
    for axis in 0..3 {
        for (dz, g) in [(1.0, 2.5), (2.0, 2.0), (3.0, 3.0)] {
            let grid = grid_around(c, r + 6.0, g, gradient(axis, c));
            for min_samples in [SamplingOptions::default().min_samples, 2_000] {
                let opts = SamplingOptions {
                    min_samples,
                    ..Default::default()
                };
                let s = sample_structure(&sphere(c, r, dz, 0.41), &grid, &opts);
                for h in [5.0, 10.0, 20.0, 30.0] {
                    let t = 30.0 + 0.4 * (r - h);
                    let v = volume_at_least(&s, t);
                    let truth = cap_volume(r, h) / 1000.0;
                    let frac = v / s.volume_in_grid_cc;
                    let frac_truth = truth / (sphere_volume(r) / 1000.0);
                    println!(
                        "CAP axis {axis} dz {dz} grid {g} h {h}: V≥t {v:.4} cc, cap {truth:.4} cc frac err {:.4} n {} (min_samples {min_samples})",
                        frac - frac_truth,
                        s.dose_gy.len()
                    );
                    assert!(
                        (frac - frac_truth).abs() < 0.01,
                        "axis {axis} dz {dz} h {h}: fraction {frac} vs {frac_truth}"
                    );
                    assert!(
                        h < 20.0 || rel(v, truth).abs() < 0.03,
                        "axis {axis} dz {dz} h {h}: {v} vs {truth}"
                    );
                }
            }
        }
    }
}

#[test]
fn samples_are_trilinear_interpolation_at_cell_centres() {
    // A non-linear dose on a non-uniform grid: each sample must equal
    // DoseGrid::interpolate at its cell centre.
    let c = [0.5, 1.5, -2.0];
    let mut g = grid_around(c, 16.0, 2.0, |x, y, z| {
        10.0 + (0.2 * x).sin() * 5.0 + 0.01 * y * y + (0.3 * z).cos()
    });
    // Make z non-uniform by moving one plane.
    g.z[5] += 0.7;
    let s = sphere(c, 10.0, 1.5, 0.0);
    let lattice = Lattice::new(
        [c[0] - 10.9, c[1] - 11.1, c[2] - 11.0],
        [0.7, 0.9, 0.5],
        [45, 26, 33],
    )
    .unwrap();
    let params = SamplingOptions::default().slab_params(&g);
    let occ = rasterize(&s, &lattice, &params, 1).unwrap();
    let out = sample_dose(&occ, &g);
    assert_eq!(out.dose_gy.len(), occ.cell_count());
    for (k, ([iz, iy, ix], f)) in occ.cells().enumerate() {
        let p = lattice.cell_centre(iz, iy, ix);
        let want = g.interpolate(p).unwrap();
        // Same trilinear interpolation, evaluated in another order: equal to rounding.
        assert!(
            (out.dose_gy[k] - want).abs() <= 2e-6 * want.abs().max(1.0),
            "cell {iz},{iy},{ix}: {} vs {want}",
            out.dose_gy[k]
        );
        let w = f as f64 * lattice.cell_volume_cc();
        assert!((out.weight_cc[k] as f64 - w).abs() <= 1e-6 * w);
    }
}

#[test]
fn volume_in_grid_when_structure_sticks_out() {
    // The dose grid starts at x = c_x: the sphere's half x < c_x lies outside. Lattice
    // cells are aligned with dose voxel centres, so the column of cells centred on the
    // grid's first plane is kept (its centre is inside) and reaches half a cell beyond:
    // the kept volume is the part with x ≥ c_x − a, a = half a lattice cell,
    // V/2 + π(r²a − a³/3).
    let c = [0.0, 0.0, 0.0];
    let r = 15.0;
    let g = 2.0;
    let grid = grid([c[0], -25.3, -25.1], [25.0, 25.0, 25.0], g, |_, _, _| 1.0);
    let s = sphere(c, r, 1.0, 0.25);
    let opts = SamplingOptions::default();
    let lattice = radtox_geometry::choose_lattice(&[&s], &grid, &opts)
        .unwrap()
        .unwrap();
    let a = lattice.spacing[0] / 2.0;
    let out = sample_structure(&s, &grid, &opts);
    let full = sphere_volume(r) / 1000.0;
    let truth =
        (sphere_volume(r) / 2.0 + std::f64::consts::PI * (r * r * a - a * a * a / 3.0)) / 1000.0;
    println!(
        "in grid {:.4} cc of {:.4}, truth {truth:.4}, a = {a}",
        out.volume_in_grid_cc, out.volume_cc
    );
    assert!(rel(out.volume_cc, full).abs() < 0.01);
    assert!(
        rel(out.volume_in_grid_cc, truth).abs() < 0.01,
        "{} vs {truth}",
        out.volume_in_grid_cc
    );
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("outside the dose grid")),
        "{:?}",
        out.warnings
    );
    // Entirely outside: no samples, the contour volume is still reported.
    let far = sphere([-100.0, 0.0, 0.0], 5.0, 1.0, 0.0);
    let out = sample_structure(&far, &grid, &opts);
    assert!(out.dose_gy.is_empty());
    assert!(out.volume_in_grid_cc == 0.0);
    assert!(rel(out.volume_cc, sphere_volume(5.0) / 1000.0).abs() < 0.02);
}

#[test]
fn cells_on_dose_voxels_match_cells_just_off_them() {
    // A lattice of the dose grid's own voxels takes the sampler's fast path (no x
    // interpolation); a lattice shifted by 1e-6 of a voxel takes the general one. A
    // non-linear dose: their doses and spreads must agree to that shift, and the
    // doses on the voxels must be the voxel values themselves.
    let c = [0.5, 1.5, -2.0];
    let g = grid_around(c, 16.0, 2.0, |x, y, z| {
        10.0 + (0.2 * x).sin() * 5.0 + 0.01 * y * y + (0.3 * z).cos() + 0.02 * x * z
    });
    let s = sphere(c, 10.0, 2.0, 0.0);
    let params = SamplingOptions::default().slab_params(&g);
    let sample = |shift: f64| {
        let origin = [g.x[2] + shift, g.y[2], g.z[2]];
        let dims = [g.z.len() - 4, g.y.len() - 4, g.x.len() - 4];
        let lattice = Lattice::new(origin, [2.0, 2.0, 2.0], dims).unwrap();
        let occ = rasterize(&s, &lattice, &params, 1).unwrap();
        (sample_dose(&occ, &g), occ)
    };
    let ((on, occ), (off, _)) = (sample(0.0), sample(2e-6));
    assert!(on.dose_gy.len() > 500);
    assert_eq!(on.dose_gy.len(), off.dose_gy.len());
    for (k, ([iz, iy, ix], _)) in occ.cells().enumerate() {
        let voxel = g.dose[[iz + 2, iy + 2, ix + 2]];
        assert_eq!(on.dose_gy[k], voxel, "cell {iz},{iy},{ix}");
        assert!((on.dose_gy[k] - off.dose_gy[k]).abs() < 1e-4);
        assert!(
            (on.spread_gy[k] - off.spread_gy[k]).abs() < 1e-4,
            "cell {iz},{iy},{ix}: spread {} vs {}",
            on.spread_gy[k],
            off.spread_gy[k]
        );
    }
    // The spreads are not trivially zero: the field varies by ~0.5 Gy per voxel.
    let mean_spread = on.spread_gy.iter().sum::<f32>() / on.spread_gy.len() as f32;
    assert!(mean_spread > 0.05, "mean spread {mean_spread}");
}
