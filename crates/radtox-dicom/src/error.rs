//! The one error type of the crate. Every variant names the file and, where it applies,
//! the attribute (keyword and `(gggg,eeee)`) and the ROI / plane / item it was found in.

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;
use std::fmt;
use std::path::{Path, PathBuf};

/// An attribute, printed as `(3004,000E) DoseGridScaling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagName(pub Tag);

impl fmt::Display for TagName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = self.0;
        write!(f, "({:04X},{:04X})", tag.group(), tag.element())?;
        if let Some(entry) = StandardDataDictionary.by_tag(tag) {
            write!(f, " {}", entry.alias())?;
        }
        Ok(())
    }
}

/// Where inside a file something was found: empty for the top-level data set, else
/// e.g. `" in ROI 3 'Heart'"` (leading space included so messages read naturally).
pub(crate) fn within(context: &str) -> String {
    if context.is_empty() {
        String::new()
    } else {
        format!(" in {context}")
    }
}

/// Why a DICOM file (or a set of them) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DicomError {
    /// Empty file, or a file that is not DICOM at all.
    #[error("{}: not a DICOM file: {reason}", path.display())]
    NotDicom { path: PathBuf, reason: String },

    /// The operating system could not read the file or directory.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A DICOM file that is truncated or otherwise cannot be parsed.
    #[error("{}: truncated or unreadable DICOM data: {message}", path.display())]
    Unreadable { path: PathBuf, message: String },

    /// A required attribute is absent (or empty).
    #[error("{}: {tag} is missing{}", path.display(), within(context))]
    MissingTag {
        path: PathBuf,
        tag: TagName,
        context: String,
    },

    /// An attribute is present but its value cannot be used.
    #[error("{}: {tag}{}: {message}", path.display(), within(context))]
    BadValue {
        path: PathBuf,
        tag: TagName,
        context: String,
        message: String,
    },

    /// Valid DICOM that radtox does not handle (oblique grid, compressed pixel data, ...).
    #[error("{}: unsupported: {message}", path.display())]
    Unsupported { path: PathBuf, message: String },

    /// The file is DICOM but not the kind of object that was asked for.
    #[error("{}: expected {expected}, found {found}", path.display())]
    WrongKind {
        path: PathBuf,
        expected: &'static str,
        found: String,
    },

    /// Two objects that must share a patient coordinate system do not.
    #[error(
        "frame of reference mismatch: {} has FrameOfReferenceUID {first_uid} but {} has {second_uid}",
        first_path.display(), second_path.display()
    )]
    FrameOfReferenceMismatch {
        first_path: PathBuf,
        first_uid: String,
        second_path: PathBuf,
        second_uid: String,
    },

    /// PixelData holds fewer bytes than Rows × Columns × Frames × BitsAllocated/8.
    #[error(
        "{}: (7FE0,0010) PixelData too short: {rows}×{columns}×{frames} voxels of {bytes_per_sample} bytes need {expected} bytes, found {actual}",
        path.display()
    )]
    PixelDataTooShort {
        path: PathBuf,
        rows: usize,
        columns: usize,
        frames: usize,
        bytes_per_sample: usize,
        expected: usize,
        actual: usize,
    },

    /// A directory scan or a dose combination found something it cannot decide alone.
    #[error("{}: {message}", path.display())]
    Export { path: PathBuf, message: String },
}

impl DicomError {
    pub(crate) fn missing(path: &Path, tag: Tag, context: &str) -> Self {
        DicomError::MissingTag {
            path: path.to_path_buf(),
            tag: TagName(tag),
            context: context.to_string(),
        }
    }

    pub(crate) fn bad(path: &Path, tag: Tag, context: &str, message: impl Into<String>) -> Self {
        DicomError::BadValue {
            path: path.to_path_buf(),
            tag: TagName(tag),
            context: context.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn unsupported(path: &Path, message: impl Into<String>) -> Self {
        DicomError::Unsupported {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
