//! Writing dose grids and masks as NIfTI-1 (`.nii` or `.nii.gz`).

use crate::affine::{affine_to_qform, ras_lps};
use crate::{Affine, NiftiError};
use ndarray::{Array3, ArrayView3};
use nifti::NiftiHeader;
use nifti::writer::WriterOptions;
use radtox_model::DoseGrid;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Largest deviation (mm) of a spacing from the axis' mean spacing still taken as
/// uniform: the precision of the f32 srow fields anyway.
const UNIFORM_TOL_MM: f64 = 1e-3;

/// Uniform spacing of an axis. A single-position axis has no spacing: 1 mm is written
/// (the position itself stays exact through the offset).
fn uniform_step(axis: char, v: &[f64]) -> Result<f64, NiftiError> {
    if v.len() < 2 {
        return Ok(1.0);
    }
    let step = (v[v.len() - 1] - v[0]) / (v.len() - 1) as f64;
    let dev = v
        .windows(2)
        .map(|w| (w[1] - w[0] - step).abs())
        .fold(0.0, f64::max);
    if dev > UNIFORM_TOL_MM {
        return Err(NiftiError::NonUniformAxis {
            axis,
            max_deviation_mm: dev,
        });
    }
    Ok(step)
}

/// The voxel → LPS affine of a grid written with voxel axes (i, j, k) = (x, y, z).
pub fn grid_affine(grid: &DoseGrid) -> Result<Affine, NiftiError> {
    let dx = uniform_step('x', &grid.x)?;
    let dy = uniform_step('y', &grid.y)?;
    let dz = uniform_step('z', &grid.z)?;
    let first = |v: &[f64]| v.first().copied().unwrap_or(0.0);
    Ok([
        [dx, 0.0, 0.0, first(&grid.x)],
        [0.0, dy, 0.0, first(&grid.y)],
        [0.0, 0.0, dz, first(&grid.z)],
        [0.0, 0.0, 0.0, 1.0],
    ])
}

fn header_for(grid: &DoseGrid, description: &str) -> Result<NiftiHeader, NiftiError> {
    let lps = grid_affine(grid)?;
    let ras = ras_lps(&lps);
    let mut h = NiftiHeader::default();
    let f = |v: f64| v as f32;
    for (srow, row) in [&mut h.srow_x, &mut h.srow_y, &mut h.srow_z]
        .into_iter()
        .zip(ras)
    {
        *srow = [f(row[0]), f(row[1]), f(row[2]), f(row[3])];
    }
    // The grid's RAS affine is diag(−dx, −dy, dz): orthogonal by construction.
    let q = affine_to_qform(&ras).ok_or_else(|| NiftiError::InvalidOutput {
        path: PathBuf::new(),
        reason: "grid affine has no quaternion form".into(),
    })?;
    h.quatern_b = f(q.b);
    h.quatern_c = f(q.c);
    h.quatern_d = f(q.d);
    h.quatern_x = f(q.offset[0]);
    h.quatern_y = f(q.offset[1]);
    h.quatern_z = f(q.offset[2]);
    h.pixdim = [
        f(q.qfac),
        f(q.pixdim[0]),
        f(q.pixdim[1]),
        f(q.pixdim[2]),
        1.0,
        1.0,
        1.0,
        1.0,
    ];
    // 2 = NIFTI_XFORM_ALIGNED_ANAT: coordinates aligned to the planning CT's frame.
    h.sform_code = 2;
    h.qform_code = 2;
    h.xyzt_units = 2; // mm
    // Descriptions are at most 80 bytes: cut at a character boundary.
    let mut d = description.to_string();
    while d.len() > 79 {
        d.pop();
    }
    h.descrip = d.into_bytes();
    Ok(h)
}

/// The two voxel types radtox writes, viewed in NIfTI order `[i, j, k]`.
enum Voxels<'a> {
    F32(ArrayView3<'a, f32>),
    U8(ArrayView3<'a, u8>),
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Write through a temporary file in the target directory, then rename: readers never see
/// half-written files, and the `nifti` writer's own renaming of paths with several dots
/// (`plan.v2.nii` would become `plan.nii`) cannot bite.
fn write_volume(path: &Path, header: &NiftiHeader, data: Voxels<'_>) -> Result<(), NiftiError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let gz = name.ends_with(".nii.gz");
    if !(gz || name.ends_with(".nii")) {
        return Err(NiftiError::InvalidOutput {
            path: path.to_path_buf(),
            reason: "the file name must end in .nii or .nii.gz".into(),
        });
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".radtox-nifti-{}-{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        if gz { "nii.gz" } else { "nii" }
    ));
    let writer = WriterOptions::new(&tmp).reference_header(header);
    let result = match data {
        Voxels::F32(a) => writer.write_nifti(&a),
        Voxels::U8(a) => writer.write_nifti(&a),
    };
    let result = result
        .map_err(|e| NiftiError::from_nifti(path, e))
        .and_then(|()| {
            std::fs::rename(&tmp, path).map_err(|source| NiftiError::Io {
                path: path.to_path_buf(),
                source,
            })
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write a dose grid as f32 NIfTI: voxel axes (i, j, k) = patient (x, y, z), affine
/// from the grid (LPS → RAS), sform and qform both set (code 2, aligned), units mm.
///
/// NIfTI grids are uniform: an axis whose spacing varies by more than 1 µm is an error
/// ([`NiftiError::NonUniformAxis`]); resample such a dose first (e.g. with
/// [`DoseGrid::resample_from`] onto a uniform grid). A single-position axis is written
/// with a 1 mm voxel size.
pub fn write_dose(path: &Path, grid: &DoseGrid, description: &str) -> Result<(), NiftiError> {
    let mut h = header_for(grid, description).map_err(|e| with_path(e, path))?;
    h.cal_max = grid.max_dose();
    h.cal_min = 0.0;
    h.intent_name = *b"dose_Gy\0\0\0\0\0\0\0\0\0";
    // NIfTI stores x fastest: the [iz, iy, ix] array viewed as [ix, iy, iz].
    let data = grid.dose.view().permuted_axes([2, 1, 0]);
    write_volume(path, &h, Voxels::F32(data))
}

/// Write a mask on a grid's geometry (`grid_like.dose` is ignored): `fractions` is
/// indexed `[iz, iy, ix]` like the grid. With `binary_threshold = Some(t)` the file is
/// uint8, 1 where the fraction ≥ t; otherwise float32 fractions (must be finite, in 0..1).
pub fn write_mask(
    path: &Path,
    grid_like: &DoseGrid,
    fractions: &Array3<f32>,
    binary_threshold: Option<f32>,
) -> Result<(), NiftiError> {
    let expected = [grid_like.z.len(), grid_like.y.len(), grid_like.x.len()];
    if fractions.shape() != expected {
        return Err(NiftiError::ShapeMismatch {
            expected,
            got: fractions.shape().to_vec(),
        });
    }
    if let Some(bad) = fractions
        .iter()
        .find(|f| !(f.is_finite() && (0.0..=1.0).contains(*f)))
    {
        return Err(NiftiError::InvalidOutput {
            path: path.to_path_buf(),
            reason: format!("mask fraction {bad} is not in 0..1"),
        });
    }
    let mut h = header_for(grid_like, "radtox mask").map_err(|e| with_path(e, path))?;
    h.intent_name = *b"mask\0\0\0\0\0\0\0\0\0\0\0\0";
    match binary_threshold {
        Some(t) => {
            let bin = fractions.mapv(|f| u8::from(f >= t));
            h.cal_max = 1.0;
            write_volume(path, &h, Voxels::U8(bin.view().permuted_axes([2, 1, 0])))
        }
        None => {
            h.cal_max = 1.0;
            write_volume(
                path,
                &h,
                Voxels::F32(fractions.view().permuted_axes([2, 1, 0])),
            )
        }
    }
}

fn with_path(e: NiftiError, path: &Path) -> NiftiError {
    match e {
        NiftiError::InvalidOutput { reason, .. } => NiftiError::InvalidOutput {
            path: path.to_path_buf(),
            reason,
        },
        other => other,
    }
}
