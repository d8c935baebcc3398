//! Errors of batch runs, merges and checks. Messages name the file or argument involved;
//! they never contain patient names or IDs (paths are the user's own input).

use std::path::PathBuf;

/// Why a batch run, a merge or a check could not proceed. A single bad *plan* is never
/// one of these: it is recorded in `errors.csv` and the batch goes on.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {message}")]
    Json { path: PathBuf, message: String },
    #[error("could not write CSV {path}: {message}")]
    Csv { path: PathBuf, message: String },
    #[error("invalid shard {given:?}: {reason} (expected K/N with 1 ≤ K ≤ N, e.g. 3/8)")]
    Shard { given: String, reason: String },
    #[error("pseudonymisation key: {0}")]
    PseudonymKey(String),
    #[error("the input root {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error(
        "the input root {root} lies inside the output directory {out}: choose an output directory outside the archive"
    )]
    RootInsideOut { out: PathBuf, root: PathBuf },
    #[error("merge: {0}")]
    Merge(String),
    #[error("invalid constraint {given:?}: {reason}")]
    Constraint { given: String, reason: String },
    #[error("invalid --tps-tolerance {given:?}: {reason}")]
    TpsTolerance { given: String, reason: String },
    #[error("could not serialise {what}: {message}")]
    Serialise { what: String, message: String },
}

impl BatchError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BatchError {
        let path = path.into();
        move |source| BatchError::Io { path, source }
    }
}
