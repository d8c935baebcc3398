//! Patient orientation and how a patient-space grid is laid out in RT Dose storage order.

use crate::FixtureError;

/// Patient position on the couch; decides ImageOrientationPatient and thus the order in
/// which the same physical dose is stored (DICOM PS3.3 C.7.6.2.1.1 and C.7.3.1.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Orientation {
    /// Head first supine: rows along +x, columns along +y.
    Hfs,
    /// Feet first supine: rows along −x, columns along +y.
    Ffs,
    /// Head first prone: rows along −x, columns along −y.
    Hfp,
    /// Feet first prone: rows along +x, columns along −y.
    Ffp,
    /// Head first decubitus left: rows along −y, columns along +x.
    Hfdl,
    /// Head first decubitus right: rows along +y, columns along −x.
    Hfdr,
    /// Feet first decubitus left: rows along +y, columns along +x.
    Ffdl,
    /// Feet first decubitus right: rows along −y, columns along −x.
    Ffdr,
}

impl Orientation {
    pub const ALL: [Orientation; 8] = [
        Orientation::Hfs,
        Orientation::Ffs,
        Orientation::Hfp,
        Orientation::Ffp,
        Orientation::Hfdl,
        Orientation::Hfdr,
        Orientation::Ffdl,
        Orientation::Ffdr,
    ];

    /// PatientPosition code (0018,5100).
    pub fn code(self) -> &'static str {
        match self {
            Orientation::Hfs => "HFS",
            Orientation::Ffs => "FFS",
            Orientation::Hfp => "HFP",
            Orientation::Ffp => "FFP",
            Orientation::Hfdl => "HFDL",
            Orientation::Hfdr => "HFDR",
            Orientation::Ffdl => "FFDL",
            Orientation::Ffdr => "FFDR",
        }
    }

    /// (patient axis, +1/−1) along a row (increasing column index), then down a column
    /// (increasing row index). Axis 0 is x, 1 is y.
    fn axes(self) -> ((usize, f64), (usize, f64)) {
        match self {
            Orientation::Hfs => ((0, 1.0), (1, 1.0)),
            Orientation::Ffs => ((0, -1.0), (1, 1.0)),
            Orientation::Hfp => ((0, -1.0), (1, -1.0)),
            Orientation::Ffp => ((0, 1.0), (1, -1.0)),
            Orientation::Hfdl => ((1, -1.0), (0, 1.0)),
            Orientation::Hfdr => ((1, 1.0), (0, -1.0)),
            Orientation::Ffdl => ((1, 1.0), (0, 1.0)),
            Orientation::Ffdr => ((1, -1.0), (0, -1.0)),
        }
    }

    /// z component of the image normal (row × column cosines): +1 head-first, −1
    /// feet-first.
    pub fn normal_z(self) -> f64 {
        let i = self.iop();
        i[0] * i[4] - i[1] * i[3]
    }

    /// ImageOrientationPatient (0020,0037): row direction cosines, then column ones.
    pub fn iop(self) -> [f64; 6] {
        let ((ra, rs), (ca, cs)) = self.axes();
        let mut iop = [0.0; 6];
        iop[ra] = rs;
        iop[3 + ca] = cs;
        iop
    }
}

/// How the GridFrameOffsetVector (3004,000C) is written.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum OffsetStyle {
    /// Frames in increasing z, offsets relative to the first (0, Δ, 2Δ, …).
    #[default]
    Relative,
    /// Frames in increasing z, offsets are the absolute z of each frame (the first
    /// equals ImagePositionPatient z).
    Absolute,
    /// Leksell GammaPlan style: frames in decreasing z, ImagePositionPatient at the top
    /// frame, offsets 0, −Δ, −2Δ, …
    Decreasing,
    /// Non-uniform frame spacing: the frames' z offsets from the grid origin z (mm,
    /// first 0, strictly increasing), written relative. Replaces the grid's z spacing
    /// and count.
    NonUniform(Vec<f64>),
}

/// The patient-space grid: voxel-centre positions `origin + i · spacing` along x, y, z.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSpec {
    /// Centre of the voxel with the smallest x, y, z (mm).
    pub origin: [f64; 3],
    /// Voxel spacing along x, y, z (mm).
    pub spacing: [f64; 3],
    /// Voxel counts along x, y, z.
    pub dims: [usize; 3],
}

impl GridSpec {
    /// Voxel-centre positions along x (0), y (1) or z (2), strictly increasing. The z
    /// positions of a [`OffsetStyle::NonUniform`] grid come from [`GridSpec::z_positions`].
    pub fn axis(&self, a: usize) -> Vec<f64> {
        (0..self.dims[a])
            .map(|i| self.origin[a] + i as f64 * self.spacing[a])
            .collect()
    }

    /// z of the frames, increasing, for the given offset style.
    pub fn z_positions(&self, style: &OffsetStyle) -> Result<Vec<f64>, FixtureError> {
        match style {
            OffsetStyle::NonUniform(offs) => {
                let bad = |reason: &str| FixtureError::InvalidOptions {
                    reason: format!("non-uniform frame offsets: {reason}"),
                };
                match offs.first() {
                    None => return Err(bad("empty list")),
                    Some(f) if *f != 0.0 => return Err(bad("the first offset must be 0")),
                    _ => {}
                }
                if offs.windows(2).any(|w| w[1] <= w[0] || !w[1].is_finite()) {
                    return Err(bad("offsets must be finite and strictly increasing"));
                }
                Ok(offs.iter().map(|o| self.origin[2] + o).collect())
            }
            _ => Ok(self.axis(2)),
        }
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        for a in 0..3 {
            if !self.origin[a].is_finite() {
                return Err(format!("grid origin along axis {a} is not finite"));
            }
            if !(self.spacing[a] > 0.0 && self.spacing[a].is_finite()) {
                return Err(format!("grid spacing along axis {a} must be positive"));
            }
            if self.dims[a] == 0 {
                return Err(format!("grid has no voxel along axis {a}"));
            }
        }
        // Rows and Columns are US (16 bit).
        if self.dims[0] > 65535 || self.dims[1] > 65535 {
            return Err("grid is wider than 65535 voxels (Rows/Columns are US)".into());
        }
        Ok(())
    }
}

/// Where each stored pixel lies: the storage geometry of one RT Dose for a grid and an
/// orientation. Pixels are stored frame by frame, row by row, column fastest.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub iop: [f64; 6],
    pub ipp: [f64; 3],
    pub rows: usize,
    pub columns: usize,
    /// PixelSpacing (0028,0030): spacing between rows, then between columns (mm).
    pub pixel_spacing: [f64; 2],
    /// GridFrameOffsetVector as written.
    pub offsets: Vec<f64>,
    /// z of each stored frame, in storage order.
    pub frame_z: Vec<f64>,
    row_axis: (usize, f64),
    col_axis: (usize, f64),
    dims: [usize; 3],
    decreasing: bool,
}

impl Layout {
    /// The storage layout of `grid` written in `orientation` with `style` offsets.
    pub fn new(
        grid: &GridSpec,
        orientation: Orientation,
        style: &OffsetStyle,
    ) -> Result<Layout, FixtureError> {
        let zs = grid.z_positions(style)?;
        let (row_axis, col_axis) = orientation.axes();
        let axes = [grid.axis(0), grid.axis(1)];
        let mut dims = grid.dims;
        dims[2] = zs.len();
        // The first stored pixel is the grid corner at the start of both storage
        // directions: the minimum along an axis stored forwards, the maximum along one
        // stored backwards.
        let start = |(a, s): (usize, f64)| {
            let v = &axes[a];
            if s > 0.0 {
                v.first().copied()
            } else {
                v.last().copied()
            }
        };
        let mut ipp = [0.0; 3];
        for ax in [row_axis, col_axis] {
            ipp[ax.0] = start(ax).ok_or_else(|| FixtureError::InvalidOptions {
                reason: "empty grid axis".into(),
            })?;
        }
        let decreasing = matches!(style, OffsetStyle::Decreasing);
        let frame_z: Vec<f64> = if decreasing {
            zs.iter().rev().copied().collect()
        } else {
            zs.clone()
        };
        let z0 = frame_z.first().copied().unwrap_or(grid.origin[2]);
        ipp[2] = z0;
        // Relative offsets are measured along the image normal (row × column cosines),
        // PS3.3 C.8.8.3.2 (a): +z for head-first, −z for feet-first orientations. The
        // absolute form (b) holds patient z coordinates.
        let normal_z = orientation.normal_z();
        let offsets = match style {
            OffsetStyle::Absolute => frame_z.clone(),
            _ => frame_z.iter().map(|z| (z - z0) * normal_z).collect(),
        };
        Ok(Layout {
            iop: orientation.iop(),
            ipp,
            rows: grid.dims[col_axis.0],
            columns: grid.dims[row_axis.0],
            pixel_spacing: [grid.spacing[col_axis.0], grid.spacing[row_axis.0]],
            offsets,
            frame_z,
            row_axis,
            col_axis,
            dims,
            decreasing,
        })
    }

    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.frame_z.len()
    }

    /// Grid voxel `[ix, iy, iz]` stored at (frame, row, column).
    pub fn voxel(&self, frame: usize, row: usize, col: usize) -> [usize; 3] {
        let mut v = [0usize; 3];
        let place = |v: &mut [usize; 3], (a, s): (usize, f64), i: usize| {
            v[a] = if s > 0.0 { i } else { self.dims[a] - 1 - i };
        };
        place(&mut v, self.row_axis, col);
        place(&mut v, self.col_axis, row);
        v[2] = if self.decreasing {
            self.dims[2] - 1 - frame
        } else {
            frame
        };
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iop_vectors_are_orthonormal_and_normal_is_along_z() {
        for o in Orientation::ALL {
            let i = o.iop();
            let r = [i[0], i[1], i[2]];
            let c = [i[3], i[4], i[5]];
            let dot = r[0] * c[0] + r[1] * c[1] + r[2] * c[2];
            assert_eq!(dot, 0.0);
            let n = [
                r[1] * c[2] - r[2] * c[1],
                r[2] * c[0] - r[0] * c[2],
                r[0] * c[1] - r[1] * c[0],
            ];
            // Head-first positions have the normal along +z (towards the head),
            // feet-first along −z.
            let expect = if o.code().starts_with("HF") {
                1.0
            } else {
                -1.0
            };
            assert_eq!(n, [0.0, 0.0, expect], "{o:?}");
        }
    }

    #[test]
    fn every_stored_pixel_maps_to_its_patient_point() {
        let g = GridSpec {
            origin: [-3.0, 10.0, 5.0],
            spacing: [1.0, 2.0, 3.0],
            dims: [4, 3, 2],
        };
        let ax = [g.axis(0), g.axis(1), g.axis(2)];
        for o in Orientation::ALL {
            for style in [
                OffsetStyle::Relative,
                OffsetStyle::Decreasing,
                OffsetStyle::Absolute,
            ] {
                let l = Layout::new(&g, o, &style).unwrap();
                for f in 0..l.frames() {
                    for r in 0..l.rows {
                        for c in 0..l.columns {
                            // Position from the DICOM equation (PS3.3 C.7.6.2.1.1).
                            let p = [0, 1].map(|k| {
                                l.ipp[k]
                                    + c as f64 * l.pixel_spacing[1] * l.iop[k]
                                    + r as f64 * l.pixel_spacing[0] * l.iop[3 + k]
                            });
                            let z = if style == OffsetStyle::Absolute {
                                l.offsets[f]
                            } else {
                                l.ipp[2] + o.normal_z() * l.offsets[f]
                            };
                            let v = l.voxel(f, r, c);
                            assert_eq!([ax[0][v[0]], ax[1][v[1]], ax[2][v[2]]], [p[0], p[1], z]);
                        }
                    }
                }
            }
        }
    }
}
