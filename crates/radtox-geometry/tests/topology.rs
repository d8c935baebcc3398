//! Even-odd combination of polygons, degenerate input, boolean operations.

mod common;

use common::*;
use radtox_geometry::{
    EndCaps, Lattice, SamplingOptions, SlabParams, choose_lattice, contour_volume_cc, rasterize,
    sample_dose, sample_structure,
};
use radtox_model::{ContourPlane, Polygon, Structure};
use std::f64::consts::PI;

const FLAT: SlabParams = SlabParams {
    end_caps: EndCaps::Flat,
    single_plane_thickness_mm: 2.0,
    gap_factor: 1.5,
};

/// Ring R 30 / hole 20 with an island of radius 10 in the hole, on planes z = 0..20.
fn ring_with_island() -> Structure {
    let planes = (0..=10)
        .map(|k| ContourPlane {
            z: 2.0 * k as f64,
            // Deliberately listed island first, and with mixed orientations: the
            // even-odd rule must not depend on either.
            polygons: vec![
                circle(0.0, 0.0, 10.0),
                circle(0.0, 0.0, 30.0),
                Polygon {
                    points: circle(0.0, 0.0, 20.0).points.into_iter().rev().collect(),
                },
            ],
        })
        .collect();
    structure("ring", planes)
}

#[test]
fn ring_and_island_even_odd() {
    let s = ring_with_island();
    let area = ngon_area(30.0) - ngon_area(20.0) + ngon_area(10.0);
    let truth = area * 20.0 / 1000.0;
    assert!(rel(contour_volume_cc(&s, &FLAT), truth).abs() < 1e-9);

    // Cells of 1 mm: the centre (island), radius 15 (hole) and radius 25 (ring).
    let lattice = Lattice::new([-35.0, -35.0, 0.5], [1.0, 1.0, 1.0], [20, 71, 71]).unwrap();
    let occ = rasterize(&s, &lattice, &FLAT, 1).unwrap();
    let dense = occ.to_dense();
    let at = |x: f64, y: f64| dense[[10, (y + 35.0) as usize, (x + 35.0) as usize]];
    assert_eq!(at(0.0, 0.0), 1.0, "island");
    assert_eq!(at(15.0, 0.0), 0.0, "hole");
    assert_eq!(at(0.0, -15.0), 0.0, "hole");
    assert_eq!(at(-25.0, 0.0), 1.0, "ring");
    assert_eq!(at(0.0, 33.0), 0.0, "outside");
    assert!(
        rel(occ.volume_cc(), truth).abs() < 1e-5,
        "{} vs {truth}",
        occ.volume_cc()
    );

    // A dose that is 1 Gy only in the hole (radius 12..18) and 0 elsewhere: nothing of
    // the structure may receive it.
    let grid = grid([-40.0, -40.0, -5.0], [40.0, 40.0, 25.0], 1.0, |x, y, _| {
        let r = (x * x + y * y).sqrt();
        if (12.0..=18.0).contains(&r) { 1.0 } else { 0.0 }
    });
    let out = sample_structure(&s, &grid, &SamplingOptions::default());
    assert!(volume_at_least(&out, 1e-6) == 0.0);
    assert!(rel(out.volume_in_grid_cc, area * 22.0 / 1000.0).abs() < 1e-4);
}

#[test]
fn empty_and_degenerate_structures_give_empty_samples() {
    let grid = grid_around([0.0; 3], 10.0, 2.0, |_, _, _| 1.0);
    let opts = SamplingOptions::default();
    let cases = [
        structure("no planes", vec![]),
        structure(
            "empty plane",
            vec![ContourPlane {
                z: 0.0,
                polygons: vec![],
            }],
        ),
        structure(
            "collinear",
            vec![ContourPlane {
                z: 0.0,
                polygons: vec![Polygon {
                    points: vec![[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]],
                }],
            }],
        ),
        structure(
            "two points",
            vec![ContourPlane {
                z: 0.0,
                polygons: vec![Polygon {
                    points: vec![[0.0, 0.0], [1.0, 1.0]],
                }],
            }],
        ),
        structure(
            "one point repeated",
            vec![ContourPlane {
                z: 0.0,
                polygons: vec![Polygon {
                    points: vec![[1.0, 1.0]; 5],
                }],
            }],
        ),
        structure(
            "NaN",
            vec![ContourPlane {
                z: 0.0,
                polygons: vec![Polygon {
                    points: vec![[0.0, 0.0], [f64::NAN, 1.0], [2.0, 0.0]],
                }],
            }],
        ),
        structure(
            "infinite z",
            vec![ContourPlane {
                z: f64::INFINITY,
                polygons: vec![circle(0.0, 0.0, 3.0)],
            }],
        ),
    ];
    for s in &cases {
        let out = sample_structure(s, &grid, &opts);
        assert!(
            out.dose_gy.is_empty() && out.weight_cc.is_empty(),
            "{}",
            s.name
        );
        assert_eq!(out.volume_cc, 0.0, "{}", s.name);
        assert!(!out.warnings.is_empty(), "{}: no warning", s.name);
        assert_eq!(choose_lattice(&[s], &grid, &opts), Ok(None), "{}", s.name);
    }
    // A degenerate polygon beside a good one is ignored; the good one still counts.
    let mut s = cylinder(0.0, 0.0, 3.0, &[0.0, 2.0, 4.0]);
    s.planes[1].polygons.push(Polygon {
        points: vec![[5.0, 5.0], [6.0, 6.0]],
    });
    s.planes[2].polygons.push(Polygon {
        points: vec![[5.0, 5.0], [f64::NAN, 6.0], [7.0, 5.0]],
    });
    let out = sample_structure(&s, &grid, &opts);
    let truth = ngon_area(3.0) * 6.0 / 1000.0;
    assert!(rel(out.volume_cc, truth).abs() < 1e-9);
    assert!(out.warnings.iter().any(|w| w.contains("non-finite")));
    // An unusable lattice is an error, not a panic.
    let bad = Lattice {
        origin: [0.0; 3],
        spacing: [0.0, 1.0, 1.0],
        dims: [2, 2, 2],
    };
    assert!(rasterize(&s, &bad, &FLAT, 1).is_err());
    assert!(Lattice::new([0.0; 3], [1.0; 3], [usize::MAX, 2, 2]).is_err());
}

#[test]
fn stray_far_away_point_gives_a_warning_not_a_panic() {
    // One contour point 10⁹ mm away makes the bounding box impossibly large.
    let grid = grid_around([0.0; 3], 10.0, 2.0, |_, _, _| 1.0);
    let mut s = cylinder(0.0, 0.0, 3.0, &[0.0, 2.0, 4.0]);
    s.planes[1].polygons[0].points[5] = [1e9, 1e9];
    let out = sample_structure(&s, &grid, &SamplingOptions::default());
    assert!(out.dose_gy.is_empty());
    assert!(
        out.warnings.iter().any(|w| w.contains("invalid lattice")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn grid_with_mismatched_shape_is_reported() {
    let mut grid = grid_around([0.0; 3], 10.0, 2.0, |_, _, _| 1.0);
    grid.x.pop();
    let s = cylinder(0.0, 0.0, 3.0, &[0.0, 2.0]);
    let out = sample_structure(&s, &grid, &SamplingOptions::default());
    assert!(out.dose_gy.is_empty());
    assert!(
        out.warnings.iter().any(|w| w.contains("does not match")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn boolean_operations_of_two_spheres() {
    // Two spheres of radius r whose centres are d apart: the lens (intersection) has
    // volume π(4r + d)(2r − d)²/12.
    let (r, d) = (12.0, 10.0);
    let a = sphere([0.0, 0.0, 0.0], r, 0.5, 0.1);
    let b = sphere([d, 0.0, 0.0], r, 0.5, 0.1);
    let grid = grid([-20.0, -20.0, -20.0], [30.0, 20.0, 20.0], 2.0, |_, _, _| {
        1.0
    });
    let opts = SamplingOptions::default();
    let common = radtox_geometry::rasterize_common(&[&a, &b], &grid, &opts)
        .unwrap()
        .unwrap();
    let (oa, ob) = (&common[0], &common[1]);
    let params = opts.slab_params(&grid);
    let v = sphere_volume(r) / 1000.0;
    let lens = PI * (4.0 * r + d) * (2.0 * r - d).powi(2) / 12.0 / 1000.0;
    let inter = oa.intersection(ob).unwrap();
    let union = oa.union(ob).unwrap();
    let diff = oa.difference(ob).unwrap();
    println!(
        "lens {:.4} vs {lens:.4}, union {:.4} vs {:.4}",
        inter.volume_cc(),
        union.volume_cc(),
        2.0 * v - lens
    );
    assert!(rel(inter.volume_cc(), lens).abs() < 0.01);
    assert!(rel(union.volume_cc(), 2.0 * v - lens).abs() < 0.01);
    assert!(rel(diff.volume_cc(), v - lens).abs() < 0.01);
    // Inclusion–exclusion holds cell by cell (max + min = a + b).
    assert!((union.volume_cc() + inter.volume_cc() - oa.volume_cc() - ob.volume_cc()).abs() < 1e-6);
    let s = sample_dose(&diff, &grid);
    assert!(rel(s.volume_in_grid_cc, v - lens).abs() < 0.01);
    // Different lattices are refused.
    let other = choose_lattice(&[&a], &grid, &opts).unwrap().unwrap();
    assert_ne!(&other, oa.lattice());
    let oc = rasterize(&a, &other, &params, 1).unwrap();
    assert!(oa.union(&oc).is_err());
}

#[test]
fn margins_of_a_cylinder() {
    // A cylinder (Flat caps: its slab model is exactly the cylinder) of radius R and
    // height H grown by m has the Steiner volume
    //   V + (2πRH + 2πR²) m + (π²R + πH) m² + 4πm³/3
    // (rounded edges and corners), and shrunk by m is the cylinder R − m, H − 2m.
    // A sphere would be a poor truth here: its slab model is a staircase whose outer
    // corners a dilation follows, not the sphere.
    let (rr, hh) = (10.0, 20.0);
    let zs: Vec<f64> = (0..=40).map(|k| 0.3 + 0.5 * k as f64).collect();
    let s = cylinder(0.4, -0.3, rr, &zs);
    let grid = grid_around([0.0, 0.0, 10.0], 30.0, 2.0, |x, _, _| x);
    // Margins are lattice operations: the lattice size the analysis uses for them.
    let opts = SamplingOptions {
        end_caps: EndCaps::Flat,
        ..Default::default()
    }
    .for_lattice_operations();
    let lattice = choose_lattice(&[&s], &grid, &opts).unwrap().unwrap();
    let occ = rasterize(&s, &lattice, &opts.slab_params(&grid), 1).unwrap();
    let v = PI * rr * rr * hh;
    for m in [1.0, 3.0, 5.0] {
        let grown_truth = (v
            + (2.0 * PI * rr * hh + 2.0 * PI * rr * rr) * m
            + (PI * PI * rr + PI * hh) * m * m
            + 4.0 / 3.0 * PI * m.powi(3))
            / 1000.0;
        let shrunk_truth = PI * (rr - m).powi(2) * (hh - 2.0 * m) / 1000.0;
        let grown = occ.expand(m).unwrap();
        let shrunk = occ.contract(m).unwrap();
        let shell = occ.difference(&shrunk).unwrap();
        let (vg, vs, vsh) = (grown.volume_cc(), shrunk.volume_cc(), shell.volume_cc());
        println!("m {m}: grown {vg:.4} vs {grown_truth:.4}, shrunk {vs:.4} vs {shrunk_truth:.4}");
        assert!(
            rel(vg, grown_truth).abs() < 0.005,
            "m {m}: grown {vg} vs {grown_truth}"
        );
        assert!(
            rel(vs, shrunk_truth).abs() < 0.02,
            "m {m}: shrunk {vs} vs {shrunk_truth}"
        );
        let shell_truth = v / 1000.0 - shrunk_truth;
        assert!(
            rel(vsh, shell_truth).abs() < 0.01,
            "m {m}: shell {vsh} vs {shell_truth}"
        );
        // The mean of a dose linear in x over the grown cylinder is the dose on its axis.
        let sg = sample_dose(&grown, &grid);
        assert!(
            (weighted_mean(&sg) - 0.4).abs() < 0.02,
            "{}",
            weighted_mean(&sg)
        );
        assert!(rel(sg.volume_cc, grown_truth).abs() < 0.005);
    }
    // A zero margin keeps the volume; bad margins are errors, not panics.
    assert!(rel(occ.expand(0.0).unwrap().volume_cc(), occ.volume_cc()).abs() < 0.002);
    // (Contraction keeps the original lattice, so the ramp's outer fringe beyond the
    // original lattice is cut off: 0.2 % here.)
    assert!(rel(occ.contract(0.0).unwrap().volume_cc(), occ.volume_cc()).abs() < 0.005);
    assert!(occ.expand(f64::NAN).is_err());
    assert!(occ.contract(-1.0).is_err());
    // Shrinking by more than the radius leaves nothing.
    assert!(occ.contract(10.5).unwrap().is_empty());
}

/// Even-odd membership of a point by ray casting (independent of the crate's sweep).
fn even_odd_inside(polys: &[Polygon], x: f64, y: f64) -> bool {
    let mut inside = false;
    for p in polys {
        let n = p.points.len();
        for i in 0..n {
            let (a, b) = (p.points[i], p.points[(i + 1) % n]);
            if (a[1] > y) != (b[1] > y) && x < a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]) {
                inside = !inside;
            }
        }
    }
    inside
}

#[test]
fn random_self_intersecting_polygons_area_and_sampling() {
    // Star-like polygons with random vertices (self-intersecting, overlapping each
    // other): the exact even-odd area against a 0.02 mm point grid (error ≈ perimeter ×
    // 0.02 mm / a few, well under 0.5 %), and the sampled volume against the contour
    // volume.
    let mut seed = 12345u64;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let params = SlabParams {
        end_caps: EndCaps::HalfSlab,
        single_plane_thickness_mm: 1.0,
        gap_factor: 1.5,
    };
    let grid = grid([-15.0, -15.0, -3.0], [15.0, 15.0, 3.0], 1.0, |_, _, _| 1.0);
    for case in 0..6 {
        let npoly = 1 + case % 3;
        let polys: Vec<Polygon> = (0..npoly)
            .map(|_| Polygon {
                points: (0..(5 + (rnd() * 8.0) as usize))
                    .map(|_| [rnd() * 20.0 - 10.0, rnd() * 20.0 - 10.0])
                    .collect(),
            })
            .collect();
        let s = structure(
            "random",
            vec![ContourPlane {
                z: 0.0,
                polygons: polys.clone(),
            }],
        );
        let area = contour_volume_cc(&s, &params) * 1000.0;
        let h = 0.02;
        let n = (20.0 / h) as usize;
        let count = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .filter(|&(i, j)| {
                even_odd_inside(
                    &polys,
                    -10.0 + (i as f64 + 0.5) * h,
                    -10.0 + (j as f64 + 0.5) * h,
                )
            })
            .count();
        let brute = count as f64 * h * h;
        println!("case {case}: sweep {area:.4} mm², point grid {brute:.4} mm²");
        assert!(
            rel(area, brute).abs() < 0.005,
            "case {case}: {area} vs {brute}"
        );
        let opts = SamplingOptions {
            single_plane_thickness_mm: Some(1.0),
            ..Default::default()
        };
        let out = sample_structure(&s, &grid, &opts);
        assert!(
            rel(out.volume_in_grid_cc, area / 1000.0).abs() < 1e-4,
            "case {case}"
        );
    }
}

#[test]
fn small_parts_far_apart_keep_their_samples() {
    // Two 0.03 cc spheres 1.6 m apart in one ROI: refinement for the small volume would
    // need more cells than a lattice may have, so it is reduced, not the ROI dropped.
    let (r, d) = ((0.03f64 * 3000.0 / (4.0 * PI)).cbrt(), 1600.0);
    let mut planes = sphere([0.0, 0.0, 0.0], r, 0.4, 0.1).planes;
    for p in &mut planes {
        let far = circle(
            d,
            d,
            (p.polygons[0].points[0][0].powi(2) + p.polygons[0].points[0][1].powi(2)).sqrt(),
        );
        p.polygons.push(far);
    }
    let s = structure("two mets", planes);
    let grid = grid(
        [-10.0, -10.0, -10.0],
        [d + 10.0, d + 10.0, 10.0],
        3.0,
        |_, _, _| 1.0,
    );
    let out = sample_structure(&s, &grid, &SamplingOptions::default());
    assert!(!out.dose_gy.is_empty(), "{:?}", out.warnings);
    assert!(rel(out.volume_in_grid_cc, out.volume_cc).abs() < 1e-3);
    assert!(rel(out.volume_cc, 0.06).abs() < 0.03, "{}", out.volume_cc);
}

/// Voxel slices (`slab_thickness_mm`): each plane is exactly its slice, whatever the
/// end caps, the lone-plane thickness or the gap rule would say.
#[test]
fn voxel_slices_keep_their_own_thickness() {
    let square = Polygon {
        points: vec![[0.0, 0.0], [4.0, 0.0], [4.0, 3.0], [0.0, 3.0]],
    };
    let planes = |zs: &[f64]| -> Vec<ContourPlane> {
        zs.iter()
            .map(|&z| ContourPlane {
                z,
                polygons: vec![square.clone()],
            })
            .collect()
    };
    // A lone slice, two slices across a one-slice gap (two planes never form a gap in
    // the slab model), and a lone slice between two gaps.
    for zs in [&[5.0][..], &[0.0, 2.5], &[0.0, 1.25, 3.75, 6.25, 7.5]] {
        let mut s = structure("voxels", planes(zs));
        s.slab_thickness_mm = Some(1.25);
        for params in [FLAT, SamplingOptions::default().slab_params(&grid_for(&s))] {
            let slabs = radtox_geometry::slabs(&s, &params);
            assert_eq!(slabs.len(), zs.len());
            for (slab, z) in slabs.iter().zip(zs) {
                assert_eq!((slab.z_lo, slab.z_hi), (z - 0.625, z + 0.625), "{zs:?}");
            }
            let v = contour_volume_cc(&s, &params);
            assert!(
                (v - zs.len() as f64 * 12.0 * 1.25 / 1000.0).abs() < 1e-12,
                "{zs:?}: {v}"
            );
        }
        // Sampled on a dose grid, the volume is the voxels' too. Two sample lines per
        // lattice row: with one, a mask edge lying exactly on a row's centre line (a
        // refinement factor that is even) is counted as a whole row or none.
        let two_lines = SamplingOptions {
            subrows: 2,
            ..SamplingOptions::default()
        };
        let samples = sample_structure(&s, &grid_for(&s), &two_lines);
        let expected = zs.len() as f64 * 12.0 * 1.25 / 1000.0;
        assert!((samples.volume_cc - expected).abs() < 1e-12);
        assert!(
            (samples.volume_in_grid_cc - expected).abs() < 1e-6 * expected,
            "{zs:?}: {} vs {expected}",
            samples.volume_in_grid_cc
        );
    }
}

/// A uniform dose grid holding `s` with a margin.
fn grid_for(s: &Structure) -> radtox_model::DoseGrid {
    let z0 = s.planes.first().map_or(0.0, |p| p.z) - 5.0;
    let axis = |lo: f64| -> Vec<f64> { (0..20).map(|i| lo + i as f64).collect() };
    let (x, y, z) = (axis(-5.0), axis(-5.0), axis(z0));
    let dose = ndarray::Array3::from_elem((z.len(), y.len(), x.len()), 1.0f32);
    radtox_model::DoseGrid::new(x, y, z, dose).unwrap()
}
