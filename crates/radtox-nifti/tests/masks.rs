//! Mask structures on grids different from the dose grid: volumes against voxel counts
//! and 4/3·π·r³, weighted mean dose in a linear gradient against the dose at the centre.

mod common;

use common::*;
use ndarray::Array3;
use radtox_model::DoseGrid;
use radtox_nifti::{
    MaskSamples, MaskSamplingOptions, MaskStructure, mask_samples, read_dose, read_mask,
    write_dose, write_mask,
};
use std::f64::consts::PI;

/// Linear gradient dose (Gy) at an LPS point.
fn gradient(p: [f64; 3]) -> f64 {
    30.0 + 0.08 * p[0] - 0.05 * p[1] + 0.03 * p[2]
}

/// A 2.5 mm dose grid from about −70 to +70 mm, offset by a fraction of a voxel.
fn dose_grid() -> DoseGrid {
    let ax = |o: f64| -> Vec<f64> { (0..57).map(|i| o - 70.0 + 2.5 * i as f64).collect() };
    let (x, y, z) = (ax(0.7), ax(-0.4), ax(1.1));
    let dose = Array3::from_shape_fn((z.len(), y.len(), x.len()), |(iz, iy, ix)| {
        gradient([x[ix], y[iy], z[iz]]) as f32
    });
    DoseGrid::new(x, y, z, dose).unwrap()
}

fn weighted_mean(s: &MaskSamples) -> f64 {
    let w: f64 = s.weight_cc.iter().map(|&w| f64::from(w)).sum();
    s.dose_gy
        .iter()
        .zip(&s.weight_cc)
        .map(|(&d, &w)| f64::from(d) * f64::from(w))
        .sum::<f64>()
        / w
}

/// Write a binary sphere (centre `c`, radius `r`, LPS) on a 1 mm mask grid given by its
/// LPS affine, as uint8 with a sform; returns the file and the voxel count.
fn sphere_file(
    dir: &std::path::Path,
    name: &str,
    lps: [[f64; 4]; 3],
    dims: [usize; 3],
    c: [f64; 3],
    r: f64,
) -> (std::path::PathBuf, usize) {
    let mut count = 0;
    let data = Array3::from_shape_fn((dims[0], dims[1], dims[2]), |(i, j, k)| {
        let p: Vec<f64> = (0..3)
            .map(|w| lps[w][0] * i as f64 + lps[w][1] * j as f64 + lps[w][2] * k as f64 + lps[w][3])
            .collect();
        let d2: f64 = (0..3).map(|w| (p[w] - c[w]).powi(2)).sum();
        let inside = d2 <= r * r;
        count += usize::from(inside);
        u8::from(inside)
    });
    let mut ras = lps;
    for row in ras.iter_mut().take(2) {
        for v in row.iter_mut() {
            *v = -*v;
        }
    }
    let path = dir.join(name);
    write_u8(&path, &sform_header(ras), data.view());
    (path, count)
}

#[test]
fn sphere_masks_on_a_finer_shifted_grid() {
    let dir = tempfile::tempdir().unwrap();
    let grid = dose_grid();
    let c = [3.3, -2.1, 5.4];
    for r in [10.0, 15.0, 25.0] {
        // 1 mm voxels, x flipped, origin off the dose grid by fractions of a voxel.
        let n = 2 * r as usize + 8;
        let lps = [
            [-1.0, 0.0, 0.0, c[0] + n as f64 / 2.0 - 0.37],
            [0.0, 1.0, 0.0, c[1] - n as f64 / 2.0 + 0.21],
            [0.0, 0.0, 1.0, c[2] - n as f64 / 2.0 + 0.5],
        ];
        let (path, count) = sphere_file(
            dir.path(),
            &format!("sphere{r}.nii.gz"),
            lps,
            [n, n, n],
            c,
            r,
        );
        let mask = read_mask(&path, "Sphere").unwrap();
        assert_eq!(mask.fraction.len(), count);
        let s = mask_samples(&mask, &grid, &MaskSamplingOptions::default());
        let voxelised = count as f64 / 1000.0;
        assert!((s.volume_cc - voxelised).abs() < 1e-9 * voxelised, "r={r}");
        assert!((s.volume_in_grid_cc - s.volume_cc).abs() < 1e-6 * s.volume_cc);
        let exact = 4.0 / 3.0 * PI * r * r * r / 1000.0;
        assert!(
            (s.volume_cc / exact - 1.0).abs() < 0.02,
            "r={r}: {} vs {exact}",
            s.volume_cc
        );
        let mean = weighted_mean(&s);
        eprintln!(
            "r = {r} mm: {count} voxels, volume {:.4} cc vs 4/3πr³ {exact:.4} cc ({:+.3} %), \
             mean dose {mean:.5} vs {:.5} Gy ({:+.4} %), {} samples",
            s.volume_cc,
            100.0 * (s.volume_cc / exact - 1.0),
            gradient(c),
            100.0 * (mean / gradient(c) - 1.0),
            s.dose_gy.len()
        );
        assert!(
            (mean / gradient(c) - 1.0).abs() < 0.005,
            "r={r}: {mean} vs {}",
            gradient(c)
        );
        // Forced 4×4×4 sub-points: same volume, same mean, 64 samples per voxel.
        let s4 = mask_samples(
            &mask,
            &grid,
            &MaskSamplingOptions {
                subdivisions: Some([4, 4, 4]),
            },
        );
        assert_eq!(s4.dose_gy.len(), 64 * count);
        assert!((s4.volume_in_grid_cc - s.volume_cc).abs() < 1e-6 * s.volume_cc);
        assert!((weighted_mean(&s4) - mean).abs() < 1e-4 * mean);
    }
}

#[test]
fn coarse_mask_is_supersampled() {
    // A 5 mm mask voxel on a 2.5 mm dose grid gets ⌈5 / 1.25⌉ = 4 sub-points per axis.
    let dir = tempfile::tempdir().unwrap();
    let grid = dose_grid();
    let lps = [
        [5.0, 0.0, 0.0, -20.0],
        [0.0, 5.0, 0.0, -20.0],
        [0.0, 0.0, 5.0, -20.0],
    ];
    let (path, count) = sphere_file(dir.path(), "coarse.nii", lps, [9, 9, 9], [0.0; 3], 20.0);
    let mask = read_mask(&path, "Coarse").unwrap();
    let s = mask_samples(&mask, &grid, &MaskSamplingOptions::default());
    assert_eq!(s.dose_gy.len(), 64 * count);
    assert!((s.volume_cc - 0.125 * count as f64).abs() < 1e-9);
    // Symmetric voxelised sphere: mean = dose at its centre.
    assert!((weighted_mean(&s) / gradient([0.0; 3]) - 1.0).abs() < 1e-5);
}

#[test]
fn oblique_mask_is_resampled_by_volume() {
    // A mask grid rotated 30° about z and 20° about x: masks may be oblique.
    let dir = tempfile::tempdir().unwrap();
    let grid = dose_grid();
    let (a, b) = (30f64.to_radians(), 20f64.to_radians());
    // R = Rx(b) · Rz(a), columns are the voxel axes (0.8 mm voxels).
    let rz = [
        [a.cos(), -a.sin(), 0.0],
        [a.sin(), a.cos(), 0.0],
        [0.0, 0.0, 1.0],
    ];
    let rx = [
        [1.0, 0.0, 0.0],
        [0.0, b.cos(), -b.sin()],
        [0.0, b.sin(), b.cos()],
    ];
    let mut r = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            r[i][j] = (0..3).map(|k| rx[i][k] * rz[k][j]).sum::<f64>() * 0.8;
        }
    }
    let c = [-4.0, 6.0, 2.0];
    let n = 40;
    // Origin so that the grid centre is at c.
    let half = (n as f64 - 1.0) / 2.0;
    let lps: [[f64; 4]; 3] = std::array::from_fn(|w| {
        [
            r[w][0],
            r[w][1],
            r[w][2],
            c[w] - half * (r[w][0] + r[w][1] + r[w][2]),
        ]
    });
    let radius = 12.0;
    let (path, count) = sphere_file(dir.path(), "oblique.nii", lps, [n, n, n], c, radius);
    let mask = read_mask(&path, "Oblique").unwrap();
    let s = mask_samples(&mask, &grid, &MaskSamplingOptions::default());
    // srow holds f32: the voxel volume is 0.512 mm³ to ~1e-7 relative.
    let voxelised = count as f64 * 0.512 / 1000.0;
    assert!(
        (s.volume_cc / voxelised - 1.0).abs() < 1e-6,
        "{} vs {voxelised}",
        s.volume_cc
    );
    let exact = 4.0 / 3.0 * PI * radius.powi(3) / 1000.0;
    assert!((s.volume_cc / exact - 1.0).abs() < 0.02);
    assert!((weighted_mean(&s) / gradient(c) - 1.0).abs() < 0.005);
}

#[test]
fn fractional_mask_and_grid_clipping() {
    // Dose centres span x ∈ [0, 50]; a 1 mm mask box x ∈ [−10, 10] straddles the face:
    // exactly half of its voxel centres (x = −9.5 … 9.5) are outside.
    let dir = tempfile::tempdir().unwrap();
    let ax: Vec<f64> = (0..21).map(|i| 2.5 * i as f64).collect();
    let dose = Array3::from_shape_fn((21, 21, 21), |(_, _, ix)| ax[ix] as f32);
    let grid = DoseGrid::new(ax.clone(), ax.clone(), ax.clone(), dose).unwrap();
    // Fractions 0.5 and 1 alternating along y, stored float32.
    let data = Array3::from_shape_fn(
        (20, 4, 4),
        |(_, j, _)| if j % 2 == 0 { 1.0f32 } else { 0.5 },
    );
    let lps = [
        [1.0, 0.0, 0.0, -9.5],
        [0.0, 1.0, 0.0, 20.5],
        [0.0, 0.0, 1.0, 20.5],
    ];
    let mut ras = lps;
    for row in ras.iter_mut().take(2) {
        for v in row.iter_mut() {
            *v = -*v;
        }
    }
    let path = dir.path().join("frac.nii");
    write_f32(&path, &sform_header(ras), data.view());
    let mask = read_mask(&path, "Frac").unwrap();
    let want = 20.0 * 4.0 * (2.0 * 1.0 + 2.0 * 0.5) / 1000.0;
    assert!((mask.volume_cc() - want).abs() < 1e-12);
    let s = mask_samples(
        &mask,
        &grid,
        &MaskSamplingOptions {
            subdivisions: Some([1, 1, 1]),
        },
    );
    assert!((s.volume_cc - want).abs() < 1e-12);
    assert!(
        (s.volume_in_grid_cc - want / 2.0).abs() < 1e-9,
        "{}",
        s.volume_in_grid_cc
    );
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("outside the dose grid")),
        "{:?}",
        s.warnings
    );
    // Inside part: x = 0.5 … 9.5, mean 5 (dose = x).
    assert!((weighted_mean(&s) - 5.0).abs() < 1e-5);
}

#[test]
fn write_mask_round_trip_binary_and_fractional() {
    let dir = tempfile::tempdir().unwrap();
    let ax: Vec<f64> = (0..10).map(|i| -10.0 + 2.0 * i as f64).collect();
    let grid = DoseGrid::new(
        ax.clone(),
        ax.clone(),
        ax.clone(),
        Array3::zeros((10, 10, 10)),
    )
    .unwrap();
    let frac = Array3::from_shape_fn((10, 10, 10), |(iz, iy, ix)| {
        ((ix + iy + iz) % 5) as f32 / 4.0
    });
    write_mask(&dir.path().join("f.nii.gz"), &grid, &frac, None).unwrap();
    write_mask(&dir.path().join("b.nii"), &grid, &frac, Some(0.5)).unwrap();
    let f: MaskStructure = read_mask(&dir.path().join("f.nii.gz"), "F").unwrap();
    let b = read_mask(&dir.path().join("b.nii"), "B").unwrap();
    let sum: f64 = frac.iter().map(|&v| f64::from(v)).sum();
    assert!((f.volume_cc() - sum * 8.0 / 1000.0).abs() < 1e-9);
    let on = frac.iter().filter(|&&v| v >= 0.5).count();
    assert_eq!(b.fraction.len(), on);
    assert!((b.volume_cc() - on as f64 * 8.0 / 1000.0).abs() < 1e-12);
    // The mask's voxel (i, j, k) is the grid's (ix, iy, iz): same affine as the dose.
    write_dose(&dir.path().join("d.nii"), &grid, "").unwrap();
    let d = read_dose(&dir.path().join("d.nii")).unwrap();
    assert_eq!(f.affine, d.affine);
    for &(lin, v) in &f.fraction {
        let [i, j, k] = f.voxel_index(lin);
        assert_eq!(v, frac[[k, j, i]]);
    }
    // Bad inputs.
    assert!(
        write_mask(
            &dir.path().join("x.nii"),
            &grid,
            &Array3::zeros((10, 10, 9)),
            None
        )
        .is_err()
    );
    let mut nan = frac.clone();
    nan[[1, 2, 3]] = f32::NAN;
    assert!(write_mask(&dir.path().join("x.nii"), &grid, &nan, None).is_err());
}

#[test]
fn mask_value_conventions() {
    let dir = tempfile::tempdir().unwrap();
    let h = sform_header([
        [-1.0, 0.0, 0.0, 0.0],
        [0.0, -1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
    ]);
    // 0/255 binary: accepted, warned.
    let p = dir.path().join("255.nii");
    write_u8(
        &p,
        &h,
        Array3::from_shape_fn((4, 4, 4), |(i, _, _)| if i < 2 { 255 } else { 0 }).view(),
    );
    let m = read_mask(&p, "M").unwrap();
    assert_eq!(m.fraction.len(), 32);
    assert!(m.fraction.iter().all(|&(_, f)| f == 1.0));
    // Several values above 1: a label map.
    let p = dir.path().join("labels.nii");
    write_u8(
        &p,
        &h,
        Array3::from_shape_fn((4, 4, 4), |(i, _, _)| i as u8).view(),
    );
    assert!(matches!(
        read_mask(&p, "M"),
        Err(radtox_nifti::NiftiError::NotAMask { .. })
    ));
    // Negative values.
    let p = dir.path().join("neg.nii");
    write_f32(
        &p,
        &h,
        Array3::from_shape_fn((4, 4, 4), |(i, _, _)| i as f32 - 1.0).view(),
    );
    assert!(matches!(
        read_mask(&p, "M"),
        Err(radtox_nifti::NiftiError::NotAMask { .. })
    ));
}

/// Timing figures (run with `--ignored --nocapture`): a body-sized ellipsoid mask on a
/// 1 mm grid resampled to a 2.5 mm dose grid, and the dose read itself.
#[test]
#[ignore]
fn timing_large_mask() {
    let dir = tempfile::tempdir().unwrap();
    let grid = dose_grid();
    let n = [280usize, 200, 240];
    let lps = [
        [1.0, 0.0, 0.0, -140.0],
        [0.0, 1.0, 0.0, -100.0],
        [0.0, 0.0, 1.0, -120.0],
    ];
    let data = Array3::from_shape_fn((n[0], n[1], n[2]), |(i, j, k)| {
        let p = [i as f64 - 140.0, j as f64 - 100.0, k as f64 - 120.0];
        u8::from((p[0] / 130.0).powi(2) + (p[1] / 90.0).powi(2) + (p[2] / 110.0).powi(2) <= 1.0)
    });
    let mut ras = lps;
    for row in ras.iter_mut().take(2) {
        for v in row.iter_mut() {
            *v = -*v;
        }
    }
    let path = dir.path().join("body.nii.gz");
    write_u8(&path, &sform_header(ras), data.view());
    let t = std::time::Instant::now();
    let mask = read_mask(&path, "Body").unwrap();
    let t_read = t.elapsed();
    let t = std::time::Instant::now();
    let s = mask_samples(&mask, &grid, &MaskSamplingOptions::default());
    let t_sample = t.elapsed();
    eprintln!(
        "mask {}×{}×{} (gz): read {:.0} ms, {} voxels inside; mask_samples {:.0} ms, {} samples, {:.1} of {:.1} cc in grid",
        n[0],
        n[1],
        n[2],
        t_read.as_secs_f64() * 1e3,
        mask.fraction.len(),
        t_sample.as_secs_f64() * 1e3,
        s.dose_gy.len(),
        s.volume_in_grid_cc,
        s.volume_cc
    );
}
