//! Errors of the site analyses.

use radtox_geometry::GeometryError;

/// Why a site analysis could not be carried out. Missing structures are not errors
/// (the analysis reports what is present and says what is absent); these are.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SiteError {
    /// Rasterising, combining or shrinking structures failed.
    #[error("{site}: geometry of {what}: {source}")]
    Geometry {
        site: &'static str,
        what: String,
        #[source]
        source: GeometryError,
    },
    /// An option outside its valid range.
    #[error("{site}: invalid {option} = {value}: {reason}")]
    InvalidOption {
        site: &'static str,
        option: &'static str,
        value: String,
        reason: &'static str,
    },
    /// The CT (HU) volume cannot be used as a lattice.
    #[error("marrow: CT volume: {0}")]
    InvalidCt(String),
}

impl SiteError {
    pub(crate) fn geometry(
        site: &'static str,
        what: impl Into<String>,
        source: GeometryError,
    ) -> Self {
        SiteError::Geometry {
            site,
            what: what.into(),
            source,
        }
    }
}
