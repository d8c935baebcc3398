//! Volumes of analytic solids against their true volumes.
//!
//! Slab-model error for a sphere of radius r contoured every Δ (HalfSlab caps): the sum
//! Σ A(z_k)Δ is the midpoint rule for A(z) = π(r² − z²) over [z₀ − Δ/2, z_N + Δ/2];
//! the midpoint rule overestimates a concave quadratic by πLΔ²/12 (L ≈ 2r) and each end
//! cap, reaching e ∈ (−Δ/2, Δ/2] past the pole, loses ≈ πr e². Relative to 4πr³/3 the
//! error lies in [−(Δ/r)²/4, +(Δ/r)²/8]: ≤ 0.56 % for Δ/r = 3/20, ≤ 1 % for Δ/r = 1/5.

mod common;

use common::*;
use radtox_geometry::{EndCaps, SamplingOptions, contour_volume_cc, sample_structure};
use std::f64::consts::PI;

#[test]
fn spheres_contour_spacing_1_2_3_dose_grid_1_2_3() {
    let c = [3.3, -7.9, 11.2];
    let r = 20.0;
    let truth = sphere_volume(r) / 1000.0;
    for dz in [1.0, 2.0, 3.0] {
        let s = sphere(c, r, dz, 0.41);
        for g in [1.0, 2.0, 3.0] {
            let grid = grid_around(c, r + 6.0, g, |_, _, _| 1.0);
            let out = sample_structure(&s, &grid, &SamplingOptions::default());
            let (v, vg) = (out.volume_cc, out.volume_in_grid_cc);
            println!(
                "sphere r={r} dz={dz} grid={g}: contour {v:.4} cc, sampled {vg:.4} cc, truth {truth:.4} cc, {} samples",
                out.dose_gy.len()
            );
            assert!(
                rel(v, truth).abs() < 0.01,
                "contour volume {v} vs {truth} (dz {dz}, grid {g})"
            );
            assert!(
                rel(vg, truth).abs() < 0.01,
                "sampled volume {vg} vs {truth} (dz {dz}, grid {g})"
            );
            // The rescaling makes the sampled volume the contour volume.
            assert!(rel(vg, v).abs() < 1e-4, "sampled {vg} vs contour {v}");
            assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        }
    }
}

#[test]
fn small_spheres_0_03_to_1_cc() {
    // Contour spacing r/5 keeps the slab-model error ≤ (1/5)²/4 = 1 % (module doc); a
    // clinical 2–3 mm spacing on a 2 mm-radius sphere would be a 25–50 % error of the
    // contours themselves, which no sampling can repair.
    for (i, cc) in [0.03, 0.1, 0.3, 1.0].into_iter().enumerate() {
        let r = (cc * 1000.0 * 3.0 / (4.0 * PI)).cbrt();
        let c = [10.17 + i as f64, -3.4, 5.55];
        let s = sphere(c, r, r / 5.0, 0.093);
        for g in [1.0, 2.0, 3.0] {
            let grid = grid_around(c, r + 2.0 * g, g, |_, _, _| 1.0);
            let out = sample_structure(&s, &grid, &SamplingOptions::default());
            println!(
                "sphere {cc} cc (r={r:.3}) grid {g}: contour {:.5}, sampled {:.5}, {} samples",
                out.volume_cc,
                out.volume_in_grid_cc,
                out.dose_gy.len()
            );
            assert!(
                rel(out.volume_cc, cc).abs() < 0.03,
                "{cc} cc: contour {}",
                out.volume_cc
            );
            assert!(
                rel(out.volume_in_grid_cc, cc).abs() < 0.03,
                "{cc} cc: sampled {}",
                out.volume_in_grid_cc
            );
            assert!(
                out.dose_gy.len() >= 20_000,
                "too few samples: {}",
                out.dose_gy.len()
            );
        }
    }
}

#[test]
fn cylinders_flat_and_half_slab() {
    let (cx, cy, r) = (-4.6, 8.3, 15.0);
    for dz in [1.0, 2.0, 3.0] {
        let zs: Vec<f64> = (0..=(30.0 / dz) as usize)
            .map(|k| -12.7 + k as f64 * dz)
            .collect();
        let s = cylinder(cx, cy, r, &zs);
        let length = zs.last().unwrap() - zs[0];
        for g in [1.0, 2.0, 3.0] {
            let grid = grid_around([cx, cy, 2.3], 30.0, g, |_, _, _| 1.0);
            for (caps, h) in [(EndCaps::Flat, length), (EndCaps::HalfSlab, length + dz)] {
                let truth = PI * r * r * h / 1000.0;
                let opts = SamplingOptions {
                    end_caps: caps,
                    ..Default::default()
                };
                let out = sample_structure(&s, &grid, &opts);
                // Only the 256-gon (−1e-4) separates the model from the true cylinder.
                assert!(
                    rel(out.volume_cc, truth).abs() < 2e-4,
                    "{caps:?} dz {dz}: {} vs {truth}",
                    out.volume_cc
                );
                assert!(
                    rel(out.volume_in_grid_cc, truth).abs() < 1e-3,
                    "{caps:?} dz {dz} grid {g}: {} vs {truth}",
                    out.volume_in_grid_cc
                );
            }
        }
    }
}

#[test]
fn cones() {
    // Base radius R at z_b (a contour plane), apex at z_b + H, Flat caps. Slab error:
    // the midpoint rule underestimates the convex A(z) = πR²(1 − t)² by Δ²/(4H²) of the
    // volume, and the base half slab [z_b, z_b + Δ/2] carries A(z_b) instead of the
    // shrinking area, + 3Δ²/(4H²); total ≤ Δ²/H² = 0.56 % for Δ = 3, H = 40.
    let (rr, hh) = (20.0, 40.0);
    let truth = PI * rr * rr * hh / 3.0 / 1000.0;
    let c = [1.9, 2.7, -20.35];
    for dz in [1.0, 2.0, 3.0] {
        let planes = (0..)
            .map(|k| k as f64 * dz)
            .take_while(|&t| t < hh)
            .map(|t| radtox_model::ContourPlane {
                z: c[2] + t,
                polygons: vec![circle(c[0], c[1], rr * (1.0 - t / hh))],
            })
            .collect();
        let s = structure("cone", planes);
        for g in [1.0, 2.0, 3.0] {
            let grid = grid_around([c[0], c[1], c[2] + 20.0], 30.0, g, |_, _, _| 1.0);
            let opts = SamplingOptions {
                end_caps: EndCaps::Flat,
                ..Default::default()
            };
            let out = sample_structure(&s, &grid, &opts);
            println!(
                "cone dz={dz} grid={g}: contour {:.4} sampled {:.4} truth {truth:.4}",
                out.volume_cc, out.volume_in_grid_cc
            );
            assert!(
                rel(out.volume_cc, truth).abs() < 0.01,
                "dz {dz}: {} vs {truth}",
                out.volume_cc
            );
            assert!(
                rel(out.volume_in_grid_cc, truth).abs() < 0.01,
                "dz {dz} grid {g}: {} vs {truth}",
                out.volume_in_grid_cc
            );
        }
    }
}

#[test]
fn non_uniform_contour_spacing() {
    let r = 12.0;
    // Spacing 1, 2 and 3 mm in turn, none a gap (each ≤ 1.5 × the larger neighbour).
    let zs = [
        0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 9.0, 12.0, 15.0, 18.0, 20.0, 21.0,
    ];
    let s = cylinder(0.0, 0.0, r, &zs);
    let grid = grid_around([0.0, 0.0, 10.0], 25.0, 2.5, |_, _, _| 1.0);
    let opts = SamplingOptions {
        end_caps: EndCaps::Flat,
        ..Default::default()
    };
    let out = sample_structure(&s, &grid, &opts);
    let truth = ngon_area(r) * 21.0 / 1000.0;
    assert!(
        rel(out.volume_cc, truth).abs() < 1e-9,
        "{} vs {truth}",
        out.volume_cc
    );
    assert!(
        rel(out.volume_in_grid_cc, truth).abs() < 1e-4,
        "{} vs {truth}",
        out.volume_in_grid_cc
    );
    // HalfSlab adds half the adjacent spacing at each end: 0.5 + 0.5 mm.
    let out = sample_structure(&s, &grid, &SamplingOptions::default());
    let truth = ngon_area(r) * 22.0 / 1000.0;
    assert!(
        rel(out.volume_cc, truth).abs() < 1e-9,
        "{} vs {truth}",
        out.volume_cc
    );

    // A sphere contoured at 1 mm in its lower half and 3 mm in its upper half.
    let (c, r) = ([0.0, 0.0, 0.0], 20.0);
    let mut planes = sphere(c, r, 1.0, 0.3).planes;
    planes.retain(|p| p.z < 0.0);
    planes.extend(
        sphere(c, r, 3.0, 0.3 + 1.0)
            .planes
            .into_iter()
            .filter(|p| p.z > 0.0),
    );
    let s = structure("sphere", planes);
    let grid = grid_around(c, 26.0, 2.0, |_, _, _| 1.0);
    let out = sample_structure(&s, &grid, &SamplingOptions::default());
    let truth = sphere_volume(r) / 1000.0;
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(
        rel(out.volume_cc, truth).abs() < 0.01,
        "{} vs {truth}",
        out.volume_cc
    );
    assert!(rel(out.volume_in_grid_cc, truth).abs() < 0.01);
}

#[test]
fn gap_between_two_lesions_gets_end_caps() {
    // Two 9-plane cylinders (3 mm spacing) 30 mm apart in one ROI.
    let r = 5.0;
    let zs: Vec<f64> = (0..9)
        .map(|k| 3.0 * k as f64)
        .chain((0..9).map(|k| 54.0 + 3.0 * k as f64))
        .collect();
    let s = cylinder(0.0, 0.0, r, &zs);
    let grid = grid_around([0.0, 0.0, 40.0], 45.0, 3.0, |_, _, _| 1.0);
    let area = ngon_area(r);
    for (caps, len) in [(EndCaps::HalfSlab, 27.0), (EndCaps::Flat, 24.0)] {
        let opts = SamplingOptions {
            end_caps: caps,
            ..Default::default()
        };
        let out = sample_structure(&s, &grid, &opts);
        let truth = 2.0 * area * len / 1000.0;
        assert!(
            rel(out.volume_cc, truth).abs() < 1e-9,
            "{caps:?}: {} vs {truth}",
            out.volume_cc
        );
        assert!(rel(out.volume_in_grid_cc, truth).abs() < 1e-4);
        assert!(
            out.warnings.iter().any(|w| w.contains("gap")),
            "{:?}",
            out.warnings
        );
    }
}

#[test]
fn single_plane_thickness() {
    let s = cylinder(0.0, 0.0, 10.0, &[1.0]);
    let grid = grid_around([0.0, 0.0, 0.0], 20.0, 2.0, |_, _, _| 1.0);
    let area = ngon_area(10.0);
    // Default: the dose grid's z spacing (2 mm), whatever the end caps.
    for caps in [EndCaps::HalfSlab, EndCaps::Flat] {
        let out = sample_structure(
            &s,
            &grid,
            &SamplingOptions {
                end_caps: caps,
                ..Default::default()
            },
        );
        assert!(rel(out.volume_cc, area * 2.0 / 1000.0).abs() < 1e-9);
        assert!(rel(out.volume_in_grid_cc, area * 2.0 / 1000.0).abs() < 1e-4);
    }
    let opts = SamplingOptions {
        single_plane_thickness_mm: Some(0.5),
        ..Default::default()
    };
    let out = sample_structure(&s, &grid, &opts);
    assert!(rel(out.volume_cc, area * 0.5 / 1000.0).abs() < 1e-9);
    assert!(rel(out.volume_in_grid_cc, area * 0.5 / 1000.0).abs() < 1e-4);
    let params = opts.slab_params(&grid);
    assert!(rel(contour_volume_cc(&s, &params), area * 0.5 / 1000.0).abs() < 1e-9);
}

#[test]
fn isolated_plane_takes_the_structure_spacing() {
    // Planes 0, 3, 6 mm and an isolated plane at 40 mm (a gap): the isolated plane gets
    // the structure's regular spacing (3 mm) centred on it, whatever the end caps.
    let s = cylinder(0.0, 0.0, 5.0, &[0.0, 3.0, 6.0, 40.0]);
    let grid = grid_around([0.0, 0.0, 20.0], 30.0, 2.0, |_, _, _| 1.0);
    let area = ngon_area(5.0);
    for (caps, main) in [(EndCaps::HalfSlab, 9.0), (EndCaps::Flat, 6.0)] {
        let out = sample_structure(
            &s,
            &grid,
            &SamplingOptions {
                end_caps: caps,
                ..Default::default()
            },
        );
        let truth = area * (main + 3.0) / 1000.0;
        assert!(
            rel(out.volume_cc, truth).abs() < 1e-9,
            "{caps:?}: {} vs {truth}",
            out.volume_cc
        );
        assert!(rel(out.volume_in_grid_cc, truth).abs() < 1e-4);
    }
}

#[test]
fn lattice_cell_boundaries_fall_on_slab_boundaries() {
    // Uniform contour spacing Δ: the z spacing is Δ/n ≤ min(Δ, dose z) and every slab
    // boundary is a cell boundary, so no cell mixes two slabs.
    for (dz, g) in [(3.0, 3.0), (2.0, 3.0), (3.0, 2.0), (2.5, 2.5)] {
        let s = cylinder(
            0.0,
            0.0,
            30.0,
            &(0..20).map(|k| 0.37 + dz * k as f64).collect::<Vec<_>>(),
        );
        let grid = grid_around([0.0, 0.0, 20.0], 40.0, g, |_, _, _| 1.0);
        let opts = SamplingOptions::default();
        let l = radtox_geometry::choose_lattice(&[&s], &grid, &opts)
            .unwrap()
            .unwrap();
        let sz = l.spacing[2];
        assert!(sz <= dz.min(g) + 1e-12, "dz {dz} grid {g}: sz {sz}");
        let n = dz / sz;
        assert!(
            (n - n.round()).abs() < 1e-9,
            "dz {dz}: sz {sz} does not divide it"
        );
        let lower = l.origin[2] - sz / 2.0;
        for slab in radtox_geometry::slabs(&s, &opts.slab_params(&grid)) {
            for b in [slab.z_lo, slab.z_hi] {
                let k = (b - lower) / sz;
                assert!(
                    (k - k.round()).abs() < 1e-6,
                    "dz {dz} grid {g}: boundary {b} at {k} cells"
                );
            }
        }
        // In-plane: the dose pixel divided by an integer, cells aligned with the dose
        // voxel centres.
        let r = g / l.spacing[0];
        let kx = (l.origin[0] - grid.x[0]) / l.spacing[0];
        assert!(
            (r - r.round()).abs() < 1e-9 && (kx - kx.round()).abs() < 1e-6,
            "r {r} kx {kx}"
        );
    }
}
