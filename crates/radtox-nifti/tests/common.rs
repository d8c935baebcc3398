//! Helpers shared by the integration tests: hand-built NIfTI files written with the
//! `nifti` crate's writer directly (not radtox-nifti's), and header byte patching.
#![allow(dead_code)]

use ndarray::{Array3, ArrayView3};
use nifti::NiftiHeader;
use nifti::writer::WriterOptions;
use std::path::Path;

/// Byte offsets of NIfTI-1 header fields (nifti1.h).
pub const OFF_DIM: usize = 40;
pub const OFF_DATATYPE: usize = 70;
pub const OFF_PIXDIM: usize = 76;
pub const OFF_SCL_SLOPE: usize = 112;
pub const OFF_SCL_INTER: usize = 116;
pub const OFF_QFORM_CODE: usize = 252;
pub const OFF_SFORM_CODE: usize = 254;
pub const OFF_QUATERN_B: usize = 256;
pub const OFF_SROW_X: usize = 280;
pub const OFF_DATA: usize = 352;

/// A header with the given RAS affine as sform (code 2) and no qform.
pub fn sform_header(ras: [[f64; 4]; 3]) -> NiftiHeader {
    let mut h = NiftiHeader {
        sform_code: 2,
        qform_code: 0,
        xyzt_units: 2,
        ..NiftiHeader::default()
    };
    let f = |r: [f64; 4]| r.map(|v| v as f32);
    h.srow_x = f(ras[0]);
    h.srow_y = f(ras[1]);
    h.srow_z = f(ras[2]);
    h
}

/// A header with only a qform (sform_code 0).
pub fn qform_header(
    b: f32,
    c: f32,
    d: f32,
    offset: [f32; 3],
    pixdim: [f32; 3],
    qfac: f32,
) -> NiftiHeader {
    let mut h = NiftiHeader {
        sform_code: 0,
        qform_code: 1,
        xyzt_units: 2,
        quatern_b: b,
        quatern_c: c,
        quatern_d: d,
        quatern_x: offset[0],
        quatern_y: offset[1],
        quatern_z: offset[2],
        ..NiftiHeader::default()
    };
    h.pixdim = [qfac, pixdim[0], pixdim[1], pixdim[2], 1.0, 1.0, 1.0, 1.0];
    h
}

/// Write `data` indexed `[i, j, k]` (NIfTI voxel order) with header `h`.
macro_rules! writer_for {
    ($($name:ident: $t:ty),*) => {$(
        pub fn $name(path: &Path, h: &NiftiHeader, data: ArrayView3<$t>) {
            WriterOptions::new(path)
                .reference_header(h)
                .write_nifti(&data)
                .expect("nifti writer");
        }
    )*};
}
writer_for!(write_f32: f32, write_f64: f64, write_u8: u8, write_i16: i16, write_i32: i32, write_u16: u16);

pub fn patch(path: &Path, offset: usize, bytes: &[u8]) {
    let mut b = std::fs::read(path).expect("read");
    b[offset..offset + bytes.len()].copy_from_slice(bytes);
    std::fs::write(path, b).expect("write");
}

pub fn patch_f32(path: &Path, offset: usize, v: f32) {
    patch(path, offset, &v.to_le_bytes());
}

pub fn patch_i16(path: &Path, offset: usize, v: i16) {
    patch(path, offset, &v.to_le_bytes());
}

pub fn read_f32_at(bytes: &[u8], offset: usize) -> f32 {
    f32::from_le_bytes(bytes[offset..offset + 4].try_into().expect("4 bytes"))
}

/// Canonical axes used by several tests: distinct sizes and spacings per axis so that a
/// swapped axis cannot go unnoticed.
pub fn axes() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let x = (0..7).map(|i| -30.0 + 2.5 * i as f64).collect();
    let y = (0..5).map(|i| 12.25 + 2.0 * i as f64).collect();
    let z = (0..4).map(|i| -101.0 + 3.0 * i as f64).collect();
    (x, y, z)
}

/// A linear dose, f32 exact per canonical voxel.
pub fn linear_dose(x: &[f64], y: &[f64], z: &[f64]) -> Array3<f32> {
    Array3::from_shape_fn((z.len(), y.len(), x.len()), |(iz, iy, ix)| {
        (40.0 + 0.1 * x[ix] + 0.2 * y[iy] - 0.05 * z[iz]) as f32
    })
}
