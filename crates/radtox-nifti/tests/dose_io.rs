//! Dose reading and writing: round trips, flipped/permuted affines, qform-only files,
//! scaling and datatypes. Expected grids are built from analytic doses, never from the
//! code under test.

mod common;

use common::*;
use ndarray::Array3;
use radtox_model::DoseGrid;
use radtox_nifti::{AffineSource, NiftiError, read_dose, write_dose};

fn canonical() -> DoseGrid {
    let (x, y, z) = axes();
    let dose = linear_dose(&x, &y, &z);
    DoseGrid::new(x, y, z, dose).expect("grid")
}

fn assert_same(a: &DoseGrid, b: &DoseGrid) {
    for (p, q, axis) in [(&a.x, &b.x, 'x'), (&a.y, &b.y, 'y'), (&a.z, &b.z, 'z')] {
        assert_eq!(p.len(), q.len(), "{axis} size");
        for (u, v) in p.iter().zip(q) {
            assert!((u - v).abs() < 1e-3, "{axis}: {u} vs {v}");
        }
    }
    assert_eq!(a.dose, b.dose);
}

#[test]
fn round_trip_nii_and_gz() {
    let dir = tempfile::tempdir().unwrap();
    // A larger gradient grid with fractional offsets.
    let x: Vec<f64> = (0..40).map(|i| -50.3 + 2.5 * i as f64).collect();
    let y: Vec<f64> = (0..30).map(|i| -20.7 + 2.5 * i as f64).collect();
    let z: Vec<f64> = (0..20).map(|i| 10.0 + 3.0 * i as f64).collect();
    let grid = DoseGrid::new(x.clone(), y.clone(), z.clone(), linear_dose(&x, &y, &z)).unwrap();
    for name in ["dose.nii", "dose.nii.gz", "plan.v2.dose.nii"] {
        let path = dir.path().join(name);
        write_dose(&path, &grid, "radtox test dose").unwrap();
        let back = read_dose(&path).unwrap();
        assert_same(&back.grid, &grid);
        assert_eq!(back.affine_source, AffineSource::Sform);
        assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    }
    // Independent look at the bytes: RAS srow = diag(−dx, −dy, dz) with offsets
    // (−x0, −y0, z0), and voxel (ix, iy, iz) at 352 + 4·(ix + nx·(iy + ny·iz)).
    let bytes = std::fs::read(dir.path().join("dose.nii")).unwrap();
    let srow: Vec<f32> = (0..12)
        .map(|i| read_f32_at(&bytes, OFF_SROW_X + 4 * i))
        .collect();
    let want = [
        -2.5, 0.0, 0.0, 50.3, 0.0, -2.5, 0.0, 20.7, 0.0, 0.0, 3.0, 10.0,
    ];
    for (s, w) in srow.iter().zip(want) {
        assert!((f64::from(*s) - w).abs() < 1e-4, "{srow:?}");
    }
    assert_eq!(
        i16::from_le_bytes([bytes[OFF_SFORM_CODE], bytes[OFF_SFORM_CODE + 1]]),
        2
    );
    assert_eq!(
        i16::from_le_bytes([bytes[OFF_QFORM_CODE], bytes[OFF_QFORM_CODE + 1]]),
        2
    );
    for (ix, iy, iz) in [(0, 0, 0), (39, 0, 0), (3, 17, 11), (39, 29, 19)] {
        let v = read_f32_at(&bytes, OFF_DATA + 4 * (ix + 40 * (iy + 30 * iz)));
        assert_eq!(v, grid.dose[[iz, iy, ix]]);
    }
    // The qform written alongside describes the same grid.
    let path = dir.path().join("dose.nii");
    patch_i16(&path, OFF_SFORM_CODE, 0);
    let back = read_dose(&path).unwrap();
    assert_eq!(back.affine_source, AffineSource::Qform);
    assert_same(&back.grid, &grid);
}

#[test]
fn non_uniform_axis_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let x = vec![0.0, 2.0, 4.0];
    let z = vec![0.0, 2.0, 5.0];
    let grid = DoseGrid::new(x.clone(), x.clone(), z.clone(), linear_dose(&x, &x, &z)).unwrap();
    let err = write_dose(&dir.path().join("d.nii"), &grid, "").unwrap_err();
    assert!(
        matches!(err, NiftiError::NonUniformAxis { axis: 'z', .. }),
        "{err}"
    );
    let err = write_dose(&dir.path().join("d.img"), &canonical(), "").unwrap_err();
    assert!(matches!(err, NiftiError::InvalidOutput { .. }), "{err}");
}

/// Write the canonical dose with voxel axis v running along patient axis `perm[v]` in
/// direction `sign[v]`, as a hand-built sform (RAS), and return the file.
fn write_permuted(
    dir: &std::path::Path,
    name: &str,
    perm: [usize; 3],
    sign: [f64; 3],
    qform: bool,
) -> std::path::PathBuf {
    let g = canonical();
    let pos = [&g.x, &g.y, &g.z];
    let n = [g.x.len(), g.y.len(), g.z.len()];
    let step = g.mean_spacing();
    let mut lps = [[0.0; 4]; 3];
    for v in 0..3 {
        let w = perm[v];
        lps[w][v] = sign[v] * step[w];
        lps[w][3] = if sign[v] > 0.0 {
            pos[w][0]
        } else {
            pos[w][n[w] - 1]
        };
    }
    let mut ras = lps;
    for row in ras.iter_mut().take(2) {
        for v in row.iter_mut() {
            *v = -*v;
        }
    }
    // data[i, j, k]: the canonical voxel at the patient position of (i, j, k).
    let shape = (n[perm[0]], n[perm[1]], n[perm[2]]);
    let data = Array3::from_shape_fn(shape, |(i, j, k)| {
        let mut c = [0usize; 3];
        for (v, idx) in [i, j, k].into_iter().enumerate() {
            let w = perm[v];
            c[w] = if sign[v] > 0.0 { idx } else { n[w] - 1 - idx };
        }
        g.dose[[c[2], c[1], c[0]]]
    });
    let h = if qform {
        let mut m = [[0.0; 4]; 4];
        m[..3].copy_from_slice(&ras);
        m[3][3] = 1.0;
        let q = radtox_nifti::affine_to_qform(&m).unwrap();
        qform_header(
            q.b as f32,
            q.c as f32,
            q.d as f32,
            q.offset.map(|v| v as f32),
            q.pixdim.map(|v| v as f32),
            q.qfac as f32,
        )
    } else {
        sform_header(ras)
    };
    let path = dir.join(name);
    write_f32(&path, &h, data.view());
    path
}

#[test]
fn flips_and_permutations_give_the_canonical_grid() {
    let dir = tempfile::tempdir().unwrap();
    let want = canonical();
    let perms = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for (pi, perm) in perms.into_iter().enumerate() {
        for s in 0..8 {
            let sign = [0, 1, 2].map(|v| if s & (1 << v) != 0 { -1.0 } else { 1.0 });
            for qform in [false, true] {
                let name = format!("p{pi}_s{s}_{qform}.nii");
                let path = write_permuted(dir.path(), &name, perm, sign, qform);
                let got = read_dose(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_same(&got.grid, &want);
            }
        }
    }
}

#[test]
fn hand_written_qforms() {
    // Quaternions whose meaning is worked out by hand (RAS):
    // identity: i→R, j→A, k→S. 180° about y (c = 1): i→L, j→A, k→I.
    // 90° about z (a = d = √½): i→A, j→L. qfac −1 with identity: k→I.
    let dir = tempfile::tempdir().unwrap();
    let data = Array3::from_shape_fn((3, 4, 5), |(i, j, k)| (100 * i + 10 * j + k) as f32);
    let h = std::f32::consts::FRAC_1_SQRT_2;
    // (name, [b, c, d], qfac, voxel axis of patient x/y/z (LPS), sign in LPS)
    type Case = (&'static str, [f32; 3], f32, [usize; 3], [f64; 3]);
    let cases: [Case; 4] = [
        // (name, [b, c, d], qfac, voxel axis of patient x/y/z (LPS), sign of that axis in LPS)
        (
            "identity",
            [0.0, 0.0, 0.0],
            1.0,
            [0, 1, 2],
            [-1.0, -1.0, 1.0],
        ),
        (
            "rot_y_180",
            [0.0, 1.0, 0.0],
            1.0,
            [0, 1, 2],
            [1.0, -1.0, -1.0],
        ),
        ("rot_z_90", [0.0, 0.0, h], 1.0, [1, 0, 2], [1.0, -1.0, 1.0]),
        (
            "qfac_neg",
            [0.0, 0.0, 0.0],
            -1.0,
            [0, 1, 2],
            [-1.0, -1.0, -1.0],
        ),
    ];
    let pixdim = [2.0f32, 3.0, 4.0];
    for (name, [b, c, d], qfac, vaxis, sign) in cases {
        let path = dir.path().join(format!("{name}.nii"));
        write_f32(
            &path,
            &qform_header(b, c, d, [10.0, 20.0, 30.0], pixdim, qfac),
            data.view(),
        );
        let got = read_dose(&path).unwrap();
        assert_eq!(got.affine_source, AffineSource::Qform);
        let g = &got.grid;
        let dims = [3usize, 4, 5];
        // Origin voxel (0,0,0) is at RAS (10, 20, 30) = LPS (−10, −20, 30).
        let origin = [-10.0, -20.0, 30.0];
        for (w, axis) in [&g.x, &g.y, &g.z].into_iter().enumerate() {
            let v = vaxis[w];
            assert_eq!(axis.len(), dims[v], "{name} axis {w}");
            let first = if sign[w] > 0.0 {
                origin[w]
            } else {
                origin[w] - f64::from(pixdim[v]) * (dims[v] - 1) as f64
            };
            assert!(
                (axis[0] - first).abs() < 1e-4,
                "{name} axis {w}: {} vs {first}",
                axis[0]
            );
            assert!(
                (axis[1] - axis[0] - f64::from(pixdim[v])).abs() < 1e-4,
                "{name} axis {w} spacing"
            );
        }
        // The voxel at the origin keeps its value 0; find it in the canonical grid.
        let idx = |w: usize, n: usize| if sign[w] > 0.0 { 0 } else { n - 1 };
        let (ix, iy, iz) = (idx(0, g.x.len()), idx(1, g.y.len()), idx(2, g.z.len()));
        assert_eq!(g.dose[[iz, iy, ix]], 0.0, "{name}");
        // One step along voxel axis 0 (value 100) sits along patient axis w0.
        let w0 = vaxis.iter().position(|&v| v == 0).unwrap();
        let mut c = [ix, iy, iz];
        c[w0] = if sign[w0] > 0.0 { c[w0] + 1 } else { c[w0] - 1 };
        assert_eq!(g.dose[[c[2], c[1], c[0]]], 100.0, "{name}");
    }
}

#[test]
fn negative_pixdim_in_qform_uses_magnitude() {
    let dir = tempfile::tempdir().unwrap();
    let data = Array3::from_shape_fn((2, 2, 2), |(i, j, k)| (i + j + k) as f32);
    let path = dir.path().join("neg.nii");
    write_f32(
        &path,
        &qform_header(0.0, 0.0, 0.0, [0.0; 3], [-2.0, 2.0, 2.0], 1.0),
        data.view(),
    );
    let got = read_dose(&path).unwrap();
    assert!(got.warnings.iter().any(|w| w.contains("negative pixdim")));
    assert!((got.grid.x[1] - got.grid.x[0] - 2.0).abs() < 1e-9);
}

#[test]
fn no_transform_falls_back_to_pixdim_with_warning() {
    let dir = tempfile::tempdir().unwrap();
    let data = Array3::from_shape_fn((3, 2, 2), |(i, _, _)| i as f32);
    let mut h = qform_header(0.0, 0.0, 0.0, [0.0; 3], [1.5, 2.0, 2.5], 1.0);
    h.qform_code = 0;
    let path = dir.path().join("plain.nii");
    write_f32(&path, &h, data.view());
    let got = read_dose(&path).unwrap();
    assert_eq!(got.affine_source, AffineSource::Pixdim);
    assert!(!got.warnings.is_empty());
    // RAS +x voxel axis is LPS −x: canonical x runs from −3 to 0 mm.
    assert_eq!(got.grid.x.len(), 3);
    assert!((got.grid.x[0] + 3.0).abs() < 1e-9 && got.grid.x[2].abs() < 1e-9);
    assert_eq!(got.grid.dose[[0, 0, 0]], 2.0);
}

#[test]
fn scaling_and_datatypes() {
    let dir = tempfile::tempdir().unwrap();
    let g = canonical();
    let n = [g.x.len(), g.y.len(), g.z.len()];
    let step = g.mean_spacing();
    let ras = [
        [-step[0], 0.0, 0.0, -g.x[0]],
        [0.0, -step[1], 0.0, -g.y[0]],
        [0.0, 0.0, step[2], g.z[0]],
    ];
    let h = sform_header(ras);
    // Stored integer k(i, j, k) = i + 7j + 35k, scaled: dose = k × slope + inter.
    let stored = |(i, j, k): (usize, usize, usize)| i + n[0] * (j + n[1] * k);
    let (slope, inter) = (0.25f32, -3.5f32);
    let expect = |s: usize, scaled: bool| -> f32 {
        if scaled {
            (s as f64 * f64::from(slope) + f64::from(inter)) as f32
        } else {
            s as f32
        }
    };
    let shape = (n[0], n[1], n[2]);
    let check = |path: &std::path::Path, scaled: bool| {
        if scaled {
            patch_f32(path, OFF_SCL_SLOPE, slope);
            patch_f32(path, OFF_SCL_INTER, inter);
        }
        let got = read_dose(path).unwrap();
        assert!(got.grid.same_geometry(&g));
        for ((iz, iy, ix), v) in got.grid.dose.indexed_iter() {
            assert_eq!(
                *v,
                expect(stored((ix, iy, iz)), scaled),
                "{} at {ix},{iy},{iz}",
                path.display()
            );
        }
    };
    for scaled in [false, true] {
        let p = dir.path().join(format!("u8_{scaled}.nii"));
        write_u8(
            &p,
            &h,
            Array3::from_shape_fn(shape, |c| stored(c) as u8).view(),
        );
        check(&p, scaled);
        let p = dir.path().join(format!("i16_{scaled}.nii"));
        write_i16(
            &p,
            &h,
            Array3::from_shape_fn(shape, |c| stored(c) as i16).view(),
        );
        check(&p, scaled);
        let p = dir.path().join(format!("u16_{scaled}.nii"));
        write_u16(
            &p,
            &h,
            Array3::from_shape_fn(shape, |c| stored(c) as u16).view(),
        );
        check(&p, scaled);
        let p = dir.path().join(format!("i32_{scaled}.nii"));
        write_i32(
            &p,
            &h,
            Array3::from_shape_fn(shape, |c| stored(c) as i32).view(),
        );
        check(&p, scaled);
        let p = dir.path().join(format!("f64_{scaled}.nii"));
        write_f64(
            &p,
            &h,
            Array3::from_shape_fn(shape, |c| stored(c) as f64).view(),
        );
        check(&p, scaled);
    }
    // scl_slope = 0 means "not scaled" even with an intercept.
    let p = dir.path().join("slope0.nii");
    write_i16(
        &p,
        &h,
        Array3::from_shape_fn(shape, |c| stored(c) as i16).view(),
    );
    patch_f32(&p, OFF_SCL_SLOPE, 0.0);
    patch_f32(&p, OFF_SCL_INTER, 5.0);
    check(&p, false);
}

#[test]
fn non_mm_units_are_converted() {
    let dir = tempfile::tempdir().unwrap();
    let data = Array3::from_shape_fn((2, 2, 2), |(i, _, _)| i as f32);
    // 2 mm voxels written in metres: srow in m, xyzt_units = 1.
    let mut h = sform_header([
        [0.002, 0.0, 0.0, 0.01],
        [0.0, 0.002, 0.0, 0.0],
        [0.0, 0.0, 0.002, 0.0],
    ]);
    h.xyzt_units = 1;
    let path = dir.path().join("metres.nii");
    write_f32(&path, &h, data.view());
    let got = read_dose(&path).unwrap();
    // RAS x 10 mm, 12 mm → LPS −12, −10.
    assert!(
        (got.grid.x[0] + 12.0).abs() < 1e-4 && (got.grid.x[1] + 10.0).abs() < 1e-4,
        "{:?}",
        got.grid.x
    );
}

#[test]
fn big_endian_and_file_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let g = canonical();
    let step = g.mean_spacing();
    let ras = [
        [-step[0], 0.0, 0.0, -g.x[0]],
        [0.0, -step[1], 0.0, -g.y[0]],
        [0.0, 0.0, step[2], g.z[0]],
    ];
    let data = g.dose.view().permuted_axes([2, 1, 0]);
    // Big-endian single file, and a little-endian .hdr/.img pair.
    let mut h = sform_header(ras);
    h.endianness = nifti::Endianness::Big;
    let p = dir.path().join("big.nii");
    write_f32(&p, &h, data);
    assert_eq!(&std::fs::read(&p).unwrap()[..4], &348i32.to_be_bytes());
    assert_same(&read_dose(&p).unwrap().grid, &g);
    let p = dir.path().join("pair.hdr");
    write_f32(&p, &sform_header(ras), data);
    assert!(dir.path().join("pair.img").exists());
    assert_same(&read_dose(&p).unwrap().grid, &g);
}

#[test]
fn vox_offset_padding_and_misnamed_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let g = canonical();
    let p = dir.path().join("d.nii");
    write_dose(&p, &g, "").unwrap();
    // 16 bytes of padding (no extensions) between header and data, vox_offset 368.
    let bytes = std::fs::read(&p).unwrap();
    let mut padded = bytes[..OFF_DATA].to_vec();
    padded.extend([0u8; 16]);
    padded.extend(&bytes[OFF_DATA..]);
    let q = dir.path().join("padded.nii");
    std::fs::write(&q, padded).unwrap();
    patch_f32(&q, 108, 368.0);
    assert_same(&read_dose(&q).unwrap().grid, &g);
    // A gzipped file named .nii, and a plain one named .nii.gz.
    write_dose(&dir.path().join("d.nii.gz"), &g, "").unwrap();
    std::fs::rename(dir.path().join("d.nii.gz"), dir.path().join("gz.nii")).unwrap();
    assert_same(&read_dose(&dir.path().join("gz.nii")).unwrap().grid, &g);
    std::fs::copy(&p, dir.path().join("plain.nii.gz")).unwrap();
    assert_same(
        &read_dose(&dir.path().join("plain.nii.gz")).unwrap().grid,
        &g,
    );
}
