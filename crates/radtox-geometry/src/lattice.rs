//! Axis-aligned sampling lattices.

use crate::error::GeometryError;

/// Largest number of cells a lattice may have (cell indices are stored as `u32`).
pub const MAX_LATTICE_CELLS: u64 = u32::MAX as u64;

/// A uniform, axis-aligned lattice of cells in patient coordinates (LPS, mm).
///
/// Note the orders: `origin` and `spacing` are `[x, y, z]` like patient points, while
/// `dims` is `[nz, ny, nx]` like the dose array. Cell `(iz, iy, ix)` is centred at
/// `origin + (ix·sx, iy·sy, iz·sz)` and spans half a spacing either side.
#[derive(Debug, Clone, PartialEq)]
pub struct Lattice {
    /// Centre of cell (0, 0, 0), `[x, y, z]` mm.
    pub origin: [f64; 3],
    /// Cell size `[sx, sy, sz]` mm.
    pub spacing: [f64; 3],
    /// Number of cells `[nz, ny, nx]`.
    pub dims: [usize; 3],
}

impl Lattice {
    /// A checked lattice: finite origin, finite positive spacing, at most
    /// [`MAX_LATTICE_CELLS`] cells.
    pub fn new(
        origin: [f64; 3],
        spacing: [f64; 3],
        dims: [usize; 3],
    ) -> Result<Self, GeometryError> {
        let l = Lattice {
            origin,
            spacing,
            dims,
        };
        l.validate()?;
        Ok(l)
    }

    /// Check the invariants [`Lattice::new`] establishes (the fields are public).
    pub fn validate(&self) -> Result<(), GeometryError> {
        if self.origin.iter().any(|v| !v.is_finite()) {
            return Err(GeometryError::InvalidLattice(format!(
                "origin {:?} is not finite",
                self.origin
            )));
        }
        if self.spacing.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(GeometryError::InvalidLattice(format!(
                "spacing {:?} mm must be finite and positive",
                self.spacing
            )));
        }
        let cells = self
            .dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        match cells {
            Some(c) if c <= MAX_LATTICE_CELLS => Ok(()),
            _ => Err(GeometryError::InvalidLattice(format!(
                "{:?} cells exceed the limit of {MAX_LATTICE_CELLS}",
                self.dims
            ))),
        }
    }

    /// Volume of one cell in cc (mm³ / 1000).
    pub fn cell_volume_cc(&self) -> f64 {
        self.spacing[0] * self.spacing[1] * self.spacing[2] / 1000.0
    }

    /// Total number of cells.
    pub fn len(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    /// True when the lattice has no cell.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Centre of cell `(iz, iy, ix)` as a patient point `[x, y, z]`.
    pub fn cell_centre(&self, iz: usize, iy: usize, ix: usize) -> [f64; 3] {
        [
            self.origin[0] + ix as f64 * self.spacing[0],
            self.origin[1] + iy as f64 * self.spacing[1],
            self.origin[2] + iz as f64 * self.spacing[2],
        ]
    }

    /// Linear index of cell `(iz, iy, ix)` in C order.
    pub fn linear_index(&self, iz: usize, iy: usize, ix: usize) -> usize {
        (iz * self.dims[1] + iy) * self.dims[2] + ix
    }

    /// Centres along axis `a` (0 = x, 1 = y, 2 = z).
    pub(crate) fn axis(&self, a: usize) -> Vec<f64> {
        let n = self.dims[2 - a];
        (0..n)
            .map(|i| self.origin[a] + i as f64 * self.spacing[a])
            .collect()
    }

    /// Lower boundary of cell 0 along axis `a`.
    pub(crate) fn lower_edge(&self, a: usize) -> f64 {
        self.origin[a] - 0.5 * self.spacing[a]
    }
}
