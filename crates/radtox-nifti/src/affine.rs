//! Voxel → patient affines: sform, qform (built here from the quaternion, because the
//! `nifti` crate's `qform_affine` panics on negative pixdim), pixdim fallback, RAS ↔ LPS,
//! and the signed axis permutation of an aligned grid.

use crate::error::NiftiError;
use nifti::NiftiHeader;
use std::path::Path;

/// A 4×4 homogeneous matrix, row-major: `world = A · [i, j, k, 1]ᵀ` with `(i, j, k)` the
/// NIfTI voxel indices (fastest first).
pub type Affine = [[f64; 4]; 4];

/// Which header fields the affine came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AffineSource {
    /// `srow_x/y/z` (sform_code > 0), preferred as the NIfTI standard recommends for
    /// images aligned to something other than the scanner.
    Sform,
    /// Quaternion + pixdim + qfac (qform_code > 0, sform_code 0).
    Qform,
    /// Neither code set: diagonal pixdim scaling, no position information (warned).
    Pixdim,
}

/// Quaternion form of a rigid-plus-scaling affine (NIfTI-1 "method 2").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Qform {
    pub b: f64,
    pub c: f64,
    pub d: f64,
    /// qoffset_x/y/z (RAS mm).
    pub offset: [f64; 3],
    /// pixdim[1..=3], positive.
    pub pixdim: [f64; 3],
    /// pixdim[0]: −1 flips the third voxel axis (left-handed grids), else +1.
    pub qfac: f64,
}

/// RAS ↔ LPS: negate the first two world rows (the map is its own inverse).
pub fn ras_lps(a: &Affine) -> Affine {
    let mut m = *a;
    for row in m.iter_mut().take(2) {
        for v in row.iter_mut() {
            *v = -*v;
        }
    }
    m
}

/// Apply an affine to a (fractional) voxel index.
#[inline]
pub fn apply(a: &Affine, ijk: [f64; 3]) -> [f64; 3] {
    let mut out = [0.0; 3];
    for (o, row) in out.iter_mut().zip(a.iter()) {
        *o = row[0] * ijk[0] + row[1] * ijk[1] + row[2] * ijk[2] + row[3];
    }
    out
}

/// Determinant of the 3×3 linear part (signed voxel volume, mm³).
pub fn det3(a: &Affine) -> f64 {
    a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
        - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
        + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
}

/// Length of voxel axis `axis` in world units (column norm).
pub fn column_norm(a: &Affine, axis: usize) -> f64 {
    (0..3).map(|w| a[w][axis] * a[w][axis]).sum::<f64>().sqrt()
}

/// The affine of a quaternion form (nifti1_io `nifti_quatern_to_mat44`), RAS.
pub fn qform_to_affine(q: &Qform) -> Affine {
    let (mut b, mut c, mut d) = (q.b, q.c, q.d);
    let s = b * b + c * c + d * d;
    // b, c, d are stored as f32 so 1 − s may come out slightly negative for a
    // 180° rotation: renormalise then, as nifti1_io does.
    let a = if 1.0 - s < 1e-7 {
        let n = s.sqrt();
        if n > 0.0 {
            b /= n;
            c /= n;
            d /= n;
        }
        0.0
    } else {
        (1.0 - s).sqrt()
    };
    let r = [
        [
            a * a + b * b - c * c - d * d,
            2.0 * (b * c - a * d),
            2.0 * (b * d + a * c),
        ],
        [
            2.0 * (b * c + a * d),
            a * a + c * c - b * b - d * d,
            2.0 * (c * d - a * b),
        ],
        [
            2.0 * (b * d - a * c),
            2.0 * (c * d + a * b),
            a * a + d * d - c * c - b * b,
        ],
    ];
    let scale = [
        q.pixdim[0],
        q.pixdim[1],
        q.pixdim[2] * if q.qfac < 0.0 { -1.0 } else { 1.0 },
    ];
    let mut m = [[0.0; 4]; 4];
    for w in 0..3 {
        for v in 0..3 {
            m[w][v] = r[w][v] * scale[v];
        }
        m[w][3] = q.offset[w];
    }
    m[3][3] = 1.0;
    m
}

/// The quaternion form of an affine whose voxel axes are orthogonal (nifti1_io
/// `nifti_mat44_to_quatern` without the polar decomposition), or `None` when a column is
/// zero/non-finite or the columns are not orthogonal (relative tolerance 1e-6).
pub fn affine_to_qform(m: &Affine) -> Option<Qform> {
    let mut r = [[0.0f64; 3]; 3];
    let mut pixdim = [0.0; 3];
    for v in 0..3 {
        let n = column_norm(m, v);
        if !(n.is_finite() && n > 0.0) {
            return None;
        }
        pixdim[v] = n;
        for w in 0..3 {
            r[w][v] = m[w][v] / n;
        }
    }
    for (p, q) in [(0, 1), (0, 2), (1, 2)] {
        let dot: f64 = (0..3).map(|w| r[w][p] * r[w][q]).sum();
        if dot.abs() > 1e-6 {
            return None;
        }
    }
    let det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1])
        - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
        + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
    let qfac = if det > 0.0 {
        1.0
    } else {
        // A left-handed grid: flip the third axis so the rest is a proper rotation.
        for row in r.iter_mut() {
            row[2] = -row[2];
        }
        -1.0
    };
    let (r11, r12, r13) = (r[0][0], r[0][1], r[0][2]);
    let (r21, r22, r23) = (r[1][0], r[1][1], r[1][2]);
    let (r31, r32, r33) = (r[2][0], r[2][1], r[2][2]);
    let trace1 = r11 + r22 + r33 + 1.0;
    let (mut a, mut b, mut c, mut d);
    if trace1 > 0.5 {
        a = 0.5 * trace1.sqrt();
        b = 0.25 * (r32 - r23) / a;
        c = 0.25 * (r13 - r31) / a;
        d = 0.25 * (r21 - r12) / a;
    } else {
        let xd = 1.0 + r11 - (r22 + r33);
        let yd = 1.0 + r22 - (r11 + r33);
        let zd = 1.0 + r33 - (r11 + r22);
        if xd > 1.0 {
            b = 0.5 * xd.sqrt();
            c = 0.25 * (r12 + r21) / b;
            d = 0.25 * (r13 + r31) / b;
            a = 0.25 * (r32 - r23) / b;
        } else if yd > 1.0 {
            c = 0.5 * yd.sqrt();
            b = 0.25 * (r12 + r21) / c;
            d = 0.25 * (r23 + r32) / c;
            a = 0.25 * (r13 - r31) / c;
        } else {
            d = 0.5 * zd.sqrt();
            b = 0.25 * (r13 + r31) / d;
            c = 0.25 * (r23 + r32) / d;
            a = 0.25 * (r21 - r12) / d;
        }
        if a < 0.0 {
            b = -b;
            c = -c;
            d = -d;
            a = -a;
        }
    }
    let _ = a;
    Some(Qform {
        b,
        c,
        d,
        offset: [m[0][3], m[1][3], m[2][3]],
        pixdim,
        qfac,
    })
}

/// The affine a header describes, in LPS millimetres, where it came from, and warnings.
pub(crate) struct HeaderAffine {
    pub lps: Affine,
    pub source: AffineSource,
    pub warnings: Vec<String>,
}

pub(crate) fn header_affine(h: &NiftiHeader, path: &Path) -> Result<HeaderAffine, NiftiError> {
    let mut warnings = Vec::new();
    let bad = |field: &'static str, reason: String| NiftiError::BadAffine {
        path: path.to_path_buf(),
        field,
        reason,
    };
    let (ras, source, field) = if h.sform_code > 0 {
        let mut m = [[0.0; 4]; 4];
        for (row, srow) in m.iter_mut().zip([h.srow_x, h.srow_y, h.srow_z]) {
            for (v, s) in row.iter_mut().zip(srow) {
                *v = f64::from(s);
            }
        }
        m[3][3] = 1.0;
        (m, AffineSource::Sform, "sform (srow_x/y/z)")
    } else if h.qform_code > 0 {
        let mut pixdim = [0.0; 3];
        for (p, &v) in pixdim.iter_mut().zip(&h.pixdim[1..4]) {
            let v = f64::from(v);
            // nibabel refuses negative pixdim, nifti1_io silently uses 1: the magnitude
            // is the only reading that keeps the voxel size, and the sign of the grid
            // belongs to the quaternion and qfac.
            if v < 0.0 {
                warnings.push(format!(
                    "negative pixdim {v} in a qform: its magnitude is used"
                ));
            }
            *p = v.abs();
        }
        let q = Qform {
            b: f64::from(h.quatern_b),
            c: f64::from(h.quatern_c),
            d: f64::from(h.quatern_d),
            offset: [
                f64::from(h.quatern_x),
                f64::from(h.quatern_y),
                f64::from(h.quatern_z),
            ],
            pixdim,
            qfac: if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 },
        };
        let all = [q.b, q.c, q.d, q.offset[0], q.offset[1], q.offset[2]];
        if all.iter().chain(&pixdim).any(|v| !v.is_finite()) {
            return Err(bad(
                "qform (quatern_*, qoffset_*, pixdim)",
                "non-finite value".into(),
            ));
        }
        if q.b * q.b + q.c * q.c + q.d * q.d > 1.0 + 1e-4 {
            return Err(bad(
                "qform (quatern_*, qoffset_*, pixdim)",
                format!("b²+c²+d² = {:.6} > 1", q.b * q.b + q.c * q.c + q.d * q.d),
            ));
        }
        (
            qform_to_affine(&q),
            AffineSource::Qform,
            "qform (quatern_*, qoffset_*, pixdim)",
        )
    } else {
        warnings.push(
            "neither sform_code nor qform_code is set: voxel positions are pixdim × index \
             from the origin, the image's position in the patient is unknown"
                .into(),
        );
        let mut m = [[0.0; 4]; 4];
        for (v, row) in m.iter_mut().take(3).enumerate() {
            row[v] = f64::from(h.pixdim[v + 1]).abs();
        }
        m[3][3] = 1.0;
        (m, AffineSource::Pixdim, "pixdim")
    };
    if ras.iter().flatten().any(|v| !v.is_finite()) {
        return Err(bad(field, "non-finite value".into()));
    }
    for v in 0..3 {
        if column_norm(&ras, v) == 0.0 {
            return Err(bad(field, format!("voxel axis {v} has zero length")));
        }
    }
    // Singular or nearly so: relative to the product of the column lengths.
    let scale: f64 = (0..3).map(|v| column_norm(&ras, v)).product();
    if det3(&ras).abs() < 1e-6 * scale {
        return Err(bad(
            field,
            "the voxel axes are (nearly) linearly dependent".into(),
        ));
    }
    // xyzt_units bits 0-2: 1 metre, 2 mm, 3 micron; 0 (unknown) is taken as mm, the
    // unit of nearly every writer.
    let unit_mm = match h.xyzt_units & 0x07 {
        1 => 1000.0,
        3 => 0.001,
        _ => 1.0,
    };
    let mut lps = ras_lps(&ras);
    if unit_mm != 1.0 {
        warnings.push(format!(
            "spatial unit is not mm: coordinates scaled by {unit_mm} to mm"
        ));
        for row in lps.iter_mut().take(3) {
            for v in row.iter_mut() {
                *v *= unit_mm;
            }
        }
    }
    Ok(HeaderAffine {
        lps,
        source,
        warnings,
    })
}

/// How the voxel axes of an aligned affine map onto the patient axes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AxisMap {
    /// For patient axis x, y, z (index 0..3): the voxel axis that runs along it.
    pub voxel_axis: [usize; 3],
    /// Signed mm per voxel index step along that voxel axis.
    pub step: [f64; 3],
    /// Patient coordinate of voxel index 0.
    pub offset: [f64; 3],
}

/// Largest angle (rad) between a voxel axis and its patient axis still taken as aligned:
/// 1e-5 rad is 3 µm over 300 mm, well above f32 rounding of srow (~1e-7).
const ALIGN_TOL_RAD: f64 = 1e-5;

/// The signed axis permutation of an aligned affine, or `Err((voxel axis, angle in
/// degrees))` for the worst oblique axis.
pub(crate) fn axis_map(a: &Affine) -> Result<AxisMap, (usize, f64)> {
    let mut voxel_axis = [usize::MAX; 3];
    let mut step = [0.0; 3];
    let mut worst: Option<(usize, f64)> = None;
    for v in 0..3 {
        let n = column_norm(a, v);
        let (w, big) = (0..3)
            .map(|w| (w, a[w][v].abs()))
            .fold((0, -1.0), |best, c| if c.1 > best.1 { c } else { best });
        let angle = (big / n).clamp(-1.0, 1.0).acos();
        // NaN angles (zero columns) fail the comparison and count as oblique.
        let aligned = angle <= ALIGN_TOL_RAD;
        if !aligned || voxel_axis[w] != usize::MAX {
            let deg = angle.to_degrees();
            if worst.is_none_or(|(_, d)| deg > d) {
                worst = Some((v, deg));
            }
            continue;
        }
        voxel_axis[w] = v;
        step[w] = a[w][v];
    }
    if let Some(w) = worst {
        return Err(w);
    }
    Ok(AxisMap {
        voxel_axis,
        step,
        offset: [a[0][3], a[1][3], a[2][3]],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qform_roundtrip_of_signed_permutations() {
        // Every signed permutation of the axes, with distinct voxel sizes.
        let perms = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for p in perms {
            for signs in 0..8 {
                let mut m = [[0.0; 4]; 4];
                let size = [1.5, 2.0, 3.0];
                for v in 0..3 {
                    let s = if signs & (1 << v) != 0 { -1.0 } else { 1.0 };
                    m[p[v]][v] = s * size[v];
                }
                m[0][3] = 10.0;
                m[1][3] = -20.0;
                m[2][3] = 30.0;
                m[3][3] = 1.0;
                let q = affine_to_qform(&m).expect("orthogonal");
                let back = qform_to_affine(&q);
                for w in 0..4 {
                    for v in 0..4 {
                        assert!(
                            (back[w][v] - m[w][v]).abs() < 1e-12,
                            "{p:?} {signs} {back:?}"
                        );
                    }
                }
                let map = axis_map(&m).expect("aligned");
                for (v, &w) in p.iter().enumerate() {
                    assert_eq!(map.voxel_axis[w], v);
                }
            }
        }
    }

    #[test]
    fn oblique_is_rejected() {
        let t: f64 = 0.01; // rad
        let m = [
            [t.cos(), -t.sin(), 0.0, 0.0],
            [t.sin(), t.cos(), 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        let (_, deg) = axis_map(&m).unwrap_err();
        assert!((deg - t.to_degrees()).abs() < 1e-9);
    }
}
