use std::path::PathBuf;

/// Everything that can go wrong reading or writing NIfTI files. Each variant names the
/// file, and where it applies the header field, label or line at fault.
#[derive(Debug, thiserror::Error)]
pub enum NiftiError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a NIfTI-1 file ({reason})")]
    NotNifti { path: PathBuf, reason: String },
    #[error("{path}: file is truncated ({reason})")]
    Truncated { path: PathBuf, reason: String },
    /// Any other complaint of the `nifti` crate, kept as its Display text.
    #[error("{path}: invalid NIfTI file: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}: datatype {code} ({name}) is not supported (need an integer or real type)")]
    UnsupportedDatatype {
        path: PathBuf,
        code: i16,
        name: &'static str,
    },
    #[error("{path}: header field dim = {dims:?}: {reason}")]
    Dimensions {
        path: PathBuf,
        dims: Vec<i16>,
        reason: String,
    },
    #[error("{path}: {field} is not usable: {reason}")]
    BadAffine {
        path: PathBuf,
        /// `sform (srow_x/y/z)`, `qform (quatern_*, qoffset_*, pixdim)` or `pixdim`.
        field: &'static str,
        reason: String,
    },
    #[error(
        "{path}: voxel axis {voxel_axis} is oblique to the patient axes by {angle_deg:.4}°; \
         a dose grid must be aligned with the patient axes (resample it first)"
    )]
    ObliqueDose {
        path: PathBuf,
        voxel_axis: usize,
        angle_deg: f64,
    },
    #[error("{path}: scl_slope/scl_inter = {slope}/{inter} are not finite")]
    BadScaling {
        path: PathBuf,
        slope: f32,
        inter: f32,
    },
    #[error("{path}: not a mask: {reason}")]
    NotAMask { path: PathBuf, reason: String },
    #[error("{path}: not a label map: {reason}")]
    NotALabelMap { path: PathBuf, reason: String },
    #[error("{path}, line {line}: {message}")]
    LabelNames {
        path: PathBuf,
        /// 1-based line number; 0 for whole-file (JSON) problems.
        line: usize,
        message: String,
    },
    #[error(
        "{axis} axis spacing is not uniform (deviates by up to {max_deviation_mm:.4} mm): \
         NIfTI needs a uniform grid, resample the dose first"
    )]
    NonUniformAxis { axis: char, max_deviation_mm: f64 },
    #[error("array has shape {got:?} but the grid has {expected:?} (z, y, x) voxels")]
    ShapeMismatch {
        expected: [usize; 3],
        got: Vec<usize>,
    },
    #[error("{path}: {reason}")]
    InvalidOutput { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Grid {
        path: PathBuf,
        #[source]
        source: radtox_model::GridError,
    },
}

impl NiftiError {
    /// Translate an error of the `nifti` crate into ours, with the file name.
    pub(crate) fn from_nifti(path: &std::path::Path, e: nifti::NiftiError) -> NiftiError {
        let path = path.to_path_buf();
        match e {
            nifti::NiftiError::InvalidFormat => NiftiError::NotNifti {
                path,
                reason: "no \"n+1\" or \"ni1\" magic at byte 344".into(),
            },
            nifti::NiftiError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                NiftiError::Truncated {
                    path,
                    reason: "ends inside the 348-byte header".into(),
                }
            }
            nifti::NiftiError::Io(io) => NiftiError::Io { path, source: io },
            nifti::NiftiError::IncompatibleLength(got, want) => NiftiError::Truncated {
                path,
                reason: format!("{got} bytes of voxel data where the header announces {want}"),
            },
            other => NiftiError::Format {
                path,
                message: other.to_string(),
            },
        }
    }
}
