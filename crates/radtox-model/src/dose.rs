use ndarray::Array3;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A dose distribution on a rectilinear, axis-aligned grid in patient coordinates.
///
/// `dose[[iz, iy, ix]]` is the dose (Gy, or relative units, see [`DoseInfo::units`]) at
/// the voxel centre `(x[ix], y[iy], z[iz])`. Axis positions are strictly increasing; the
/// spacing along an axis may be non-uniform (RT Dose GridFrameOffsetVector can be).
#[derive(Debug, Clone, PartialEq)]
pub struct DoseGrid {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub z: Vec<f64>,
    pub dose: Array3<f32>,
}

/// Why a [`DoseGrid`] could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GridError {
    #[error("dose array has shape {shape:?} but the axes have {nz}×{ny}×{nx} positions")]
    ShapeMismatch {
        shape: [usize; 3],
        nz: usize,
        ny: usize,
        nx: usize,
    },
    #[error("axis {axis} is empty")]
    EmptyAxis { axis: char },
    #[error("axis {axis} positions are not finite and strictly increasing (at index {index})")]
    NotIncreasing { axis: char, index: usize },
}

fn check_axis(axis: char, v: &[f64]) -> Result<(), GridError> {
    if v.is_empty() {
        return Err(GridError::EmptyAxis { axis });
    }
    for (i, w) in v.windows(2).enumerate() {
        // NaN compares as not-greater, so it is rejected here too.
        if w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater) || !w[1].is_finite() {
            return Err(GridError::NotIncreasing { axis, index: i + 1 });
        }
    }
    if !v[0].is_finite() {
        return Err(GridError::NotIncreasing { axis, index: 0 });
    }
    Ok(())
}

/// Position of `p` along a strictly increasing axis: the index `i` of the cell
/// `[v[i], v[i+1]]` containing `p` and the fraction within it. A single-position axis
/// accepts points within half a millimetre-scale tolerance of that position only.
#[inline]
fn locate(v: &[f64], p: f64) -> Option<(usize, f64)> {
    let n = v.len();
    let eps = 1e-6;
    if n == 1 {
        return ((p - v[0]).abs() <= eps).then_some((0, 0.0));
    }
    if p < v[0] - eps || p > v[n - 1] + eps || p.is_nan() {
        return None;
    }
    // Uniform axes (the common case) need no search.
    let step = (v[n - 1] - v[0]) / (n - 1) as f64;
    let guess = ((p - v[0]) / step).floor().clamp(0.0, (n - 2) as f64) as usize;
    let i = if v[guess] <= p && p <= v[guess + 1] {
        guess
    } else {
        v.partition_point(|&a| a <= p).saturating_sub(1).min(n - 2)
    };
    let t = ((p - v[i]) / (v[i + 1] - v[i])).clamp(0.0, 1.0);
    Some((i, t))
}

impl DoseGrid {
    /// Build a grid, checking that the axes are increasing and match the array.
    pub fn new(
        x: Vec<f64>,
        y: Vec<f64>,
        z: Vec<f64>,
        dose: Array3<f32>,
    ) -> Result<DoseGrid, GridError> {
        check_axis('x', &x)?;
        check_axis('y', &y)?;
        check_axis('z', &z)?;
        let s = dose.shape();
        if s != [z.len(), y.len(), x.len()] {
            return Err(GridError::ShapeMismatch {
                shape: [s[0], s[1], s[2]],
                nz: z.len(),
                ny: y.len(),
                nx: x.len(),
            });
        }
        Ok(DoseGrid { x, y, z, dose })
    }

    /// Number of voxels along (z, y, x).
    pub fn dims(&self) -> [usize; 3] {
        [self.z.len(), self.y.len(), self.x.len()]
    }

    /// Bounding box of the voxel centres: `([xmin, ymin, zmin], [xmax, ymax, zmax])`.
    pub fn bounds(&self) -> ([f64; 3], [f64; 3]) {
        let last = |v: &Vec<f64>| v[v.len() - 1];
        (
            [self.x[0], self.y[0], self.z[0]],
            [last(&self.x), last(&self.y), last(&self.z)],
        )
    }

    /// Mean spacing along x, y, z (mm); 0 along an axis with one position.
    pub fn mean_spacing(&self) -> [f64; 3] {
        let s = |v: &Vec<f64>| {
            if v.len() < 2 {
                0.0
            } else {
                (v[v.len() - 1] - v[0]) / (v.len() - 1) as f64
            }
        };
        [s(&self.x), s(&self.y), s(&self.z)]
    }

    /// Largest dose value in the grid.
    pub fn max_dose(&self) -> f32 {
        let higher = |m: f32, v: f32| if v > m { v } else { m };
        let Some(all) = self.dose.as_slice() else {
            return self.dose.iter().copied().fold(0.0f32, higher);
        };
        // Eight lanes of compare-and-select (plain vector max; a NaN voxel is never
        // the maximum, as with f32::max): the whole grid is scanned on the analysis's
        // critical path.
        let mut lanes = [0.0f32; 8];
        let mut chunks = all.chunks_exact(8);
        for c in &mut chunks {
            for (l, &v) in lanes.iter_mut().zip(c) {
                *l = higher(*l, v);
            }
        }
        let tail = chunks.remainder().iter().copied().fold(0.0f32, higher);
        lanes.into_iter().fold(tail, higher)
    }

    /// Dose at patient point `p = [x, y, z]` by trilinear interpolation between voxel
    /// centres, or `None` when `p` lies outside the box spanned by the voxel centres.
    #[inline]
    pub fn interpolate(&self, p: [f64; 3]) -> Option<f32> {
        let (ix, tx) = locate(&self.x, p[0])?;
        let (iy, ty) = locate(&self.y, p[1])?;
        let (iz, tz) = locate(&self.z, p[2])?;
        Some(self.trilinear(ix, iy, iz, tx as f32, ty as f32, tz as f32))
    }

    #[inline]
    fn trilinear(&self, ix: usize, iy: usize, iz: usize, tx: f32, ty: f32, tz: f32) -> f32 {
        let [nz, ny, nx] = self.dims();
        let ix1 = (ix + 1).min(nx - 1);
        let iy1 = (iy + 1).min(ny - 1);
        let iz1 = (iz + 1).min(nz - 1);
        let d = &self.dose;
        let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
        let c00 = lerp(d[[iz, iy, ix]], d[[iz, iy, ix1]], tx);
        let c01 = lerp(d[[iz, iy1, ix]], d[[iz, iy1, ix1]], tx);
        let c10 = lerp(d[[iz1, iy, ix]], d[[iz1, iy, ix1]], tx);
        let c11 = lerp(d[[iz1, iy1, ix]], d[[iz1, iy1, ix1]], tx);
        lerp(lerp(c00, c01, ty), lerp(c10, c11, ty), tz)
    }

    /// True when both grids have the same axes (within 1 µm).
    pub fn same_geometry(&self, other: &DoseGrid) -> bool {
        let eq = |a: &[f64], b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(p, q)| (p - q).abs() < 1e-3)
        };
        eq(&self.x, &other.x) && eq(&self.y, &other.y) && eq(&self.z, &other.z)
    }

    /// `other` resampled (trilinear) onto this grid's voxel centres; voxels outside
    /// `other` get 0 Gy. Used to sum doses computed on different grids.
    pub fn resample_from(&self, other: &DoseGrid) -> Array3<f32> {
        Array3::from_shape_fn(self.dose.raw_dim(), |(iz, iy, ix)| {
            other
                .interpolate([self.x[ix], self.y[iy], self.z[iz]])
                .unwrap_or(0.0)
        })
    }
}

/// DoseUnits (3004,0002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DoseUnits {
    Gy,
    Relative,
    /// The attribute was absent (TOPAS writes none); radtox assumes Gy and warns.
    Unknown,
}

/// DoseSummationType (3004,000A).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DoseSummationType {
    Plan,
    MultiPlan,
    Fraction,
    Beam,
    Brachy,
    FractionSession,
    BeamSession,
    BrachySession,
    ControlPoint,
    Record,
    /// Absent or a value radtox does not know (kept verbatim).
    Other(String),
}

/// What an RT Dose file said about itself, beside its grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoseInfo {
    /// File the dose came from (for messages; never derived from tags).
    pub source: PathBuf,
    pub sop_instance_uid: Option<String>,
    pub frame_of_reference_uid: Option<String>,
    pub units: DoseUnits,
    /// DoseType (3004,0004): PHYSICAL, EFFECTIVE, ERROR, or absent.
    pub dose_type: Option<String>,
    pub summation: DoseSummationType,
    /// SOP Instance UID of the RT Plan this dose references, if any.
    pub referenced_plan_uid: Option<String>,
    /// Beam numbers referenced (for BEAM summation doses).
    pub referenced_beams: Vec<i32>,
    /// Orientation as read, e.g. "HFS-like [1,0,0,0,1,0]" (for reports).
    pub orientation: [f64; 6],
}

#[cfg(test)]
mod max_dose_tests {
    use super::*;

    fn grid_of(values: Vec<f32>) -> DoseGrid {
        let n = values.len();
        let x = (0..n).map(|i| i as f64).collect();
        DoseGrid::new(
            x,
            vec![0.0],
            vec![0.0],
            Array3::from_shape_vec((1, 1, n), values).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn max_dose_ignores_nan_and_finds_the_maximum_anywhere() {
        // 21 voxels: two full lanes of eight and a tail of five.
        for at in [0, 7, 8, 15, 16, 20] {
            let mut v: Vec<f32> = (0..21).map(|i| (i % 5) as f32 - 1.0).collect();
            v[(at + 3) % 21] = f32::NAN;
            v[at] = 9.5;
            assert_eq!(grid_of(v).max_dose(), 9.5, "maximum at {at}");
        }
        // Nothing above 0 (or all NaN): 0, as before.
        assert_eq!(grid_of(vec![-1.0; 11]).max_dose(), 0.0);
        assert_eq!(grid_of(vec![f32::NAN; 9]).max_dose(), 0.0);
        // A non-contiguous view takes the other path.
        let mut g = grid_of((0..12).map(|i| i as f32).collect());
        g.dose.invert_axis(ndarray::Axis(2));
        assert_eq!(g.max_dose(), 11.0);
    }
}
