/// Why a geometric operation could not be carried out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    /// A lattice with non-finite origin, non-positive spacing or too many cells.
    #[error("invalid lattice: {0}")]
    InvalidLattice(String),
    /// Two occupancies combined on different lattices.
    #[error(
        "occupancies of '{a}' and '{b}' are on different lattices; rasterise both on a common lattice"
    )]
    LatticeMismatch { a: String, b: String },
    /// A margin that is negative or not finite.
    #[error("invalid margin {mm} mm for '{structure}': must be finite and non-negative")]
    InvalidMargin { structure: String, mm: f64 },
}
