//! Masks traced into contour structures (`trace_mask`): known answers in the patient
//! frame for flipped, permuted and anisotropic voxel grids.
//!
//! For each mask: the slab-model volume of the traced structure equals the voxel count
//! × voxel volume; every plane's slab is its voxels' z extent; the even-odd
//! point-in-polygon answer at every voxel centre (of a box one voxel larger than the
//! mask) agrees with the mask; and sampled on a dose grid holding it, the in-grid
//! volume is the voxels' volume too.

use ndarray::Array3;
use radtox_geometry::{EndCaps, SamplingOptions, contour_volume_cc, sample_structure};
use radtox_model::{DoseGrid, Structure};
use radtox_nifti::{Affine, MaskStructure, trace_mask};

/// A mask from a predicate on voxel indices `[i, j, k]` of an `n` grid.
fn mask(affine: Affine, n: [usize; 3], inside: impl Fn([usize; 3]) -> f32) -> MaskStructure {
    let mut fraction = Vec::new();
    for k in 0..n[2] {
        for j in 0..n[1] {
            for i in 0..n[0] {
                let f = inside([i, j, k]);
                if f > 0.0 {
                    fraction.push((i + n[0] * (j + n[1] * k), f));
                }
            }
        }
    }
    MaskStructure {
        name: "M".into(),
        label: None,
        affine,
        dims: n,
        fraction,
        warnings: Vec::new(),
    }
}

fn apply(a: &Affine, v: [f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|r| a[r][0] * v[0] + a[r][1] * v[1] + a[r][2] * v[2] + a[r][3])
}

/// Even-odd point-in-polygon over all polygons of the plane at `p[2]` (none: outside).
fn inside(s: &Structure, p: [f64; 3]) -> bool {
    let Some(plane) = s.planes.iter().find(|pl| (pl.z - p[2]).abs() < 1e-9) else {
        return false;
    };
    let mut odd = false;
    for poly in &plane.polygons {
        let pts = &poly.points;
        for i in 0..pts.len() {
            let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
            if (a[1] > p[1]) != (b[1] > p[1]) {
                let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
                if p[0] < x {
                    odd = !odd;
                }
            }
        }
    }
    odd
}

/// A dose grid of 1 Gy holding the structure with a margin.
fn dose_grid_around(s: &Structure) -> DoseGrid {
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for pl in &s.planes {
        for p in pl.polygons.iter().flat_map(|p| &p.points) {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        lo[2] = lo[2].min(pl.z);
        hi[2] = hi[2].max(pl.z);
    }
    let axis = |a: usize| -> Vec<f64> {
        let n = ((hi[a] - lo[a]) / 1.7).ceil() as usize + 8;
        (0..n).map(|i| lo[a] - 6.0 + 1.7 * i as f64).collect()
    };
    let (x, y, z) = (axis(0), axis(1), axis(2));
    let dose = Array3::from_elem((z.len(), y.len(), x.len()), 1.0f32);
    DoseGrid::new(x, y, z, dose).unwrap()
}

/// Every check of the module documentation; `n` is the mask's voxel grid.
fn check(m: &MaskStructure) -> Structure {
    let t = trace_mask(m, 4);
    let s = t.structure;
    let voxel_mm3 = m.voxel_volume_mm3();
    let count = m.fraction.iter().filter(|(_, f)| *f >= 0.5).count();
    assert_eq!(t.voxel_count, count);
    assert!((t.voxel_volume_mm3 - voxel_mm3).abs() < 1e-9 * voxel_mm3);
    let expected_cc = count as f64 * voxel_mm3 / 1000.0;
    // End caps and the lone-plane thickness do not apply to voxel slices.
    for end_caps in [EndCaps::HalfSlab, EndCaps::Flat] {
        let opts = SamplingOptions {
            end_caps,
            single_plane_thickness_mm: Some(9.0),
            ..SamplingOptions::default()
        };
        let grid = dose_grid_around(&s);
        let v = contour_volume_cc(&s, &opts.slab_params(&grid));
        assert!(
            (v - expected_cc).abs() <= 1e-9 * expected_cc,
            "{end_caps:?}: {v} vs {expected_cc} cc"
        );
        for slab in radtox_geometry::slabs(&s, &opts.slab_params(&grid)) {
            let t = s.slab_thickness_mm.unwrap();
            assert!((slab.z_hi - slab.z_lo - t).abs() < 1e-12);
        }
    }
    // Voxel centres: inside exactly when the mask says so (the box one voxel wider).
    let n = m.dims;
    for k in -1..=n[2] as i64 {
        for j in -1..=n[1] as i64 {
            for i in -1..=n[0] as i64 {
                let set = [i, j, k]
                    .iter()
                    .zip(n)
                    .all(|(&v, n)| v >= 0 && v < n as i64)
                    && m.fraction.iter().any(|&(lin, f)| {
                        f >= 0.5 && lin == (i + n[0] as i64 * (j + n[1] as i64 * k)) as usize
                    });
                let p = apply(&m.affine, [i as f64, j as f64, k as f64]);
                assert_eq!(inside(&s, p), set, "voxel [{i}, {j}, {k}] at {p:?}");
            }
        }
    }
    // Sampled: two lines per lattice row keep every line off the voxel edges.
    let opts = SamplingOptions {
        subrows: 2,
        ..SamplingOptions::default()
    };
    let samples = sample_structure(&s, &dose_grid_around(&s), &opts);
    assert!((samples.volume_cc - expected_cc).abs() <= 1e-9 * expected_cc);
    assert!(
        (samples.volume_in_grid_cc - expected_cc).abs() <= 1e-5 * expected_cc,
        "sampled {} vs {expected_cc} cc",
        samples.volume_in_grid_cc
    );
    s
}

const IDENTITY: Affine = [
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
];

/// Voxel axes (i, j, k) along (z, −x, y), spacings 2.5, 0.7, 1.3 mm, off-origin.
const PERMUTED_FLIPPED: Affine = [
    [0.0, -0.7, 0.0, 31.2],
    [0.0, 0.0, 1.3, -47.9],
    [2.5, 0.0, 0.0, 101.25],
    [0.0, 0.0, 0.0, 1.0],
];

#[test]
fn single_voxel() {
    for a in [IDENTITY, PERMUTED_FLIPPED] {
        let s = check(&mask(a, [3, 3, 3], |v| f32::from(u8::from(v == [1, 1, 1]))));
        assert_eq!(s.planes.len(), 1);
        assert_eq!(s.planes[0].polygons.len(), 1);
        assert_eq!(s.planes[0].polygons[0].points.len(), 4);
    }
}

#[test]
fn l_shape_on_slices_with_a_gap() {
    // An L in each of slices 0, 1 and 3 of the third voxel axis (slice 2 empty).
    let l = |[i, j, k]: [usize; 3]| {
        f32::from(u8::from(k != 2 && ((i == 0 && j < 4) || (j == 0 && i < 3))))
    };
    for a in [IDENTITY, PERMUTED_FLIPPED] {
        let s = check(&mask(a, [4, 5, 4], l));
        assert_eq!(s.planes.len(), 3);
    }
}

#[test]
fn ring_with_a_hole() {
    let ring = |[i, j, _]: [usize; 3]| {
        let inner = (2..5).contains(&i) && (2..5).contains(&j);
        f32::from(u8::from(
            (1..6).contains(&i) && (1..6).contains(&j) && !inner,
        ))
    };
    for a in [IDENTITY, PERMUTED_FLIPPED] {
        let s = check(&mask(a, [7, 7, 2], ring));
        // With the identity each slice is one ring: outer loop and hole.
        if a == IDENTITY {
            assert!(s.planes.iter().all(|p| p.polygons.len() == 2));
        }
    }
}

#[test]
fn diagonal_touching_voxels() {
    // Saddles in every plane of every orientation: a 3-D chequerboard.
    let board = |[i, j, k]: [usize; 3]| f32::from(u8::from((i + j + k) % 2 == 0));
    for a in [IDENTITY, PERMUTED_FLIPPED] {
        let s = check(&mask(a, [4, 4, 3], board));
        for p in &s.planes {
            assert!(p.polygons.iter().all(|q| q.points.len() == 4));
        }
    }
}

/// A 5.4 × 7 × 7 mm box as a partial-volume mask of 1 mm voxels: its x faces cut
/// voxels (fractions 0.3 and 0.1), its y and z faces lie on voxel faces.
fn partial_box(a: Affine) -> MaskStructure {
    let overlap = |lo: f64, hi: f64, i: usize| {
        let (a, b) = (i as f64 - 0.5, i as f64 + 0.5);
        (b.min(hi) - a.max(lo)).max(0.0)
    };
    mask(a, [10, 10, 10], |[i, j, k]| {
        (overlap(2.2, 7.5 + 0.1, i) * overlap(1.5, 8.5, j) * overlap(1.5, 8.5, k)) as f32
    })
}

#[test]
fn fractional_masks_keep_their_volume_on_a_finer_lattice() {
    let m = partial_box(IDENTITY);
    let exact_cc = 5.4 * 7.0 * 7.0 / 1000.0;
    assert!((m.volume_cc() - exact_cc).abs() < 1e-6);
    let t = trace_mask(&m, 1);
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("fractions") && w.contains("4× finer") && w.contains("level")),
        "{:?}",
        t.warnings
    );
    // ¼ mm sub-voxels, as many as hold Σ fraction × voxel volume (to half a sub-voxel:
    // 264.6 mm³ is 16 934.4 sub-voxels of 1/64 mm³).
    let s = &t.structure;
    assert_eq!(s.slab_thickness_mm, Some(0.25));
    assert_eq!(t.voxel_count, 16_934);
    let grid = dose_grid_around(s);
    let cv = contour_volume_cc(s, &SamplingOptions::default().slab_params(&grid));
    assert!((cv - 16_934.0 / 64.0 / 1000.0).abs() < 1e-12);
    // Mid-box the faces sit within a quarter voxel of the box's (x: 2.2 and 7.6 cut
    // voxels; y: 1.5 and 8.5 on voxel faces), where thresholding whole voxels at ½
    // would put the x faces at 2.5 and 7.5.
    for (x, expected) in [(1.95, false), (2.45, true), (7.35, true), (7.85, false)] {
        assert_eq!(inside(s, [x, 5.0, 5.125]), expected, "x = {x}");
    }
    for (y, expected) in [(1.25, false), (1.75, true), (8.25, true), (8.75, false)] {
        assert_eq!(inside(s, [5.0, y, 5.125]), expected, "y = {y}");
    }
    // The same outline, flipped and permuted.
    let p = trace_mask(&partial_box(PERMUTED_FLIPPED), 1);
    assert_eq!(p.voxel_count, t.voxel_count);
}

#[test]
fn an_empty_mask_traces_to_an_empty_structure() {
    let t = trace_mask(&mask(IDENTITY, [2, 2, 2], |_| 0.0), 1);
    assert!(t.structure.is_empty());
    assert_eq!(t.voxel_count, 0);
}

#[test]
fn oblique_masks_are_resampled_with_their_volume_kept_roughly() {
    // A 12 × 12 × 12 mm block of 1 mm voxels, rotated 30° about z.
    let (c, s) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
    let a: Affine = [
        [c, -s, 0.0, 5.0],
        [s, c, 0.0, -3.0],
        [0.0, 0.0, 1.0, 2.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    let m = mask(a, [14, 14, 14], |[i, j, k]| {
        f32::from(u8::from([i, j, k].iter().all(|v| (1..13).contains(v))))
    });
    let t = trace_mask(&m, 1);
    assert!(
        t.warnings.iter().any(|w| w.contains("oblique")),
        "{:?}",
        t.warnings
    );
    // Thresholding a rotated block's boundary cells: within a few per cent of 1.728 cc.
    let v = t.volume_cc();
    assert!((v - 1.728).abs() < 0.05 * 1.728, "{v}");
    let grid = dose_grid_around(&t.structure);
    let cv = contour_volume_cc(&t.structure, &SamplingOptions::default().slab_params(&grid));
    assert!((cv - v).abs() < 1e-9 * v);
}
