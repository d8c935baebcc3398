//! Broken files give clear errors, never panics.

mod common;

use common::*;
use ndarray::Array3;
use radtox_nifti::{LabelNames, NiftiError, read_dose, read_label_map, read_mask};
use std::path::Path;

fn good_file(dir: &Path, name: &str) -> std::path::PathBuf {
    let h = sform_header([
        [-2.0, 0.0, 0.0, 0.0],
        [0.0, -2.0, 0.0, 0.0],
        [0.0, 0.0, 2.0, 0.0],
    ]);
    let p = dir.join(name);
    write_f32(
        &p,
        &h,
        Array3::from_shape_fn((4, 3, 2), |(i, j, k)| (i + j + k) as f32).view(),
    );
    p
}

/// Every reader on the same file: all must fail, none may panic.
fn all_fail(path: &Path) -> NiftiError {
    let e = read_dose(path).unwrap_err();
    assert!(read_mask(path, "m").is_err());
    assert!(read_label_map(path, &LabelNames::default()).is_err());
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(
        msg.contains(&path.display().to_string()),
        "error names the file: {msg}"
    );
    e
}

#[test]
fn not_nifti() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.nii");
    std::fs::write(&p, "x".repeat(2000)).unwrap();
    let e = all_fail(&p);
    assert!(matches!(e, NiftiError::NotNifti { .. }), "{e}");
    let p = dir.path().join("empty.nii");
    std::fs::write(&p, b"").unwrap();
    assert!(matches!(all_fail(&p), NiftiError::Truncated { .. }));
    let p = dir.path().join("garbage.nii.gz");
    std::fs::write(&p, "not gzip at all").unwrap();
    all_fail(&p);
    assert!(matches!(
        read_dose(&dir.path().join("missing.nii")),
        Err(NiftiError::Io { .. })
    ));
}

#[test]
fn truncated() {
    let dir = tempfile::tempdir().unwrap();
    let p = good_file(dir.path(), "t.nii");
    let bytes = std::fs::read(&p).unwrap();
    for len in [10, 200, 347, 352, 352 + 40, bytes.len() - 1] {
        let q = dir.path().join(format!("t{len}.nii"));
        std::fs::write(&q, &bytes[..len]).unwrap();
        let e = all_fail(&q);
        assert!(matches!(e, NiftiError::Truncated { .. }), "{len}: {e}");
    }
}

#[test]
fn zero_negative_and_4d_dims() {
    let dir = tempfile::tempdir().unwrap();
    for (name, off, v) in [
        ("zero.nii", OFF_DIM + 2, 0i16),
        ("neg.nii", OFF_DIM + 4, -3),
        ("rank0.nii", OFF_DIM, 0),
    ] {
        let p = good_file(dir.path(), name);
        patch_i16(&p, off, v);
        let e = all_fail(&p);
        assert!(
            matches!(e, NiftiError::Dimensions { .. } | NiftiError::Format { .. }),
            "{name}: {e}"
        );
    }
    // A 4-D file with two volumes.
    let h = sform_header([
        [-2.0, 0.0, 0.0, 0.0],
        [0.0, -2.0, 0.0, 0.0],
        [0.0, 0.0, 2.0, 0.0],
    ]);
    let p = dir.path().join("4d.nii");
    nifti::writer::WriterOptions::new(&p)
        .reference_header(&h)
        .write_nifti(&ndarray::Array4::<f32>::zeros((2, 2, 2, 2)))
        .unwrap();
    let e = all_fail(&p);
    assert!(matches!(e, NiftiError::Dimensions { .. }), "{e}");
}

#[test]
fn nan_and_degenerate_affines() {
    let dir = tempfile::tempdir().unwrap();
    let p = good_file(dir.path(), "nan.nii");
    patch_f32(&p, OFF_SROW_X, f32::NAN);
    assert!(matches!(all_fail(&p), NiftiError::BadAffine { .. }));
    // Zero voxel axis.
    let p = good_file(dir.path(), "zero.nii");
    patch_f32(&p, OFF_SROW_X, 0.0);
    assert!(matches!(all_fail(&p), NiftiError::BadAffine { .. }));
    // NaN quaternion in a qform-only file.
    let p = good_file(dir.path(), "qnan.nii");
    patch_i16(&p, OFF_SFORM_CODE, 0);
    patch_i16(&p, OFF_QFORM_CODE, 1);
    patch_f32(&p, OFF_QUATERN_B, f32::NAN);
    assert!(matches!(all_fail(&p), NiftiError::BadAffine { .. }));
    // Quaternion of norm > 1.
    let p = good_file(dir.path(), "qbig.nii");
    patch_i16(&p, OFF_SFORM_CODE, 0);
    patch_i16(&p, OFF_QFORM_CODE, 1);
    patch_f32(&p, OFF_QUATERN_B, 1.5);
    assert!(matches!(all_fail(&p), NiftiError::BadAffine { .. }));
    // NaN scaling.
    let p = good_file(dir.path(), "scl.nii");
    patch_f32(&p, OFF_SCL_SLOPE, f32::INFINITY);
    assert!(matches!(all_fail(&p), NiftiError::BadScaling { .. }));
}

#[test]
fn oblique_dose_and_unsupported_datatype() {
    let dir = tempfile::tempdir().unwrap();
    let t = 5f64.to_radians();
    let h = sform_header([
        [-2.0 * t.cos(), 2.0 * t.sin(), 0.0, 0.0],
        [-2.0 * t.sin(), -2.0 * t.cos(), 0.0, 0.0],
        [0.0, 0.0, 2.0, 0.0],
    ]);
    let p = dir.path().join("oblique.nii");
    write_f32(&p, &h, Array3::<f32>::zeros((3, 3, 3)).view());
    let e = read_dose(&p).unwrap_err();
    assert!(matches!(e, NiftiError::ObliqueDose { .. }), "{e}");
    assert!(e.to_string().contains("5.0000°"), "{e}");
    // …but an oblique mask is fine.
    assert!(read_mask(&p, "m").is_ok());
    // complex64 (datatype 32) is refused by name.
    let p = good_file(dir.path(), "complex.nii");
    patch_i16(&p, OFF_DATATYPE, 32);
    patch_i16(&p, OFF_DATATYPE + 2, 64);
    let e = read_dose(&p).unwrap_err();
    assert!(
        matches!(
            e,
            NiftiError::UnsupportedDatatype { code: 32, .. } | NiftiError::Truncated { .. }
        ),
        "{e}"
    );
    // rgb24 with the right byte count.
    let p = good_file(dir.path(), "rgb.nii");
    patch_i16(&p, OFF_DATATYPE, 128);
    patch_i16(&p, OFF_DATATYPE + 2, 24);
    let e = read_dose(&p).unwrap_err();
    assert!(
        matches!(
            e,
            NiftiError::UnsupportedDatatype { .. } | NiftiError::Truncated { .. }
        ),
        "{e}"
    );
}

#[test]
fn nan_dose_voxels_are_zeroed_with_warning() {
    let dir = tempfile::tempdir().unwrap();
    let h = sform_header([
        [-2.0, 0.0, 0.0, 0.0],
        [0.0, -2.0, 0.0, 0.0],
        [0.0, 0.0, 2.0, 0.0],
    ]);
    let p = dir.path().join("nanvox.nii");
    let mut data = Array3::from_elem((2, 2, 2), 1.0f32);
    data[[1, 1, 1]] = f32::NAN;
    data[[0, 1, 1]] = -0.5;
    write_f32(&p, &h, data.view());
    let d = read_dose(&p).unwrap();
    assert!(d.grid.dose.iter().all(|v| v.is_finite()));
    assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
}
