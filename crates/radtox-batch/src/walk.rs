//! Small file-system and header helpers for batch runs. Plan discovery itself is
//! `radtox_dicom::discover`.

use crate::error::BatchError;
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use std::path::{Path, PathBuf};

/// Every regular file under `root`, sorted; symbolic links to directories are not
/// followed (a link cycle would recurse forever).
pub fn files_under(root: &Path) -> Result<Vec<PathBuf>, BatchError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(BatchError::io(&dir))? {
            let entry = entry.map_err(BatchError::io(&dir))?;
            let ft = entry.file_type().map_err(BatchError::io(entry.path()))?;
            if ft.is_dir() {
                stack.push(entry.path());
            } else if ft.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// PatientName (0010,0010) of a DICOM file, read only so that pseudonymisation can
/// remove it from outputs (file and folder names, messages). The read stops before
/// PatientID, so it costs a few hundred bytes. `None` when absent or unreadable.
pub(crate) fn patient_name(path: &Path) -> Option<String> {
    let obj = OpenFileOptions::new()
        .read_until(tags::PATIENT_ID)
        .open_file(path)
        .ok()?;
    let s = obj.get(tags::PATIENT_NAME)?.to_str().ok()?;
    let s = s.trim_matches([' ', '\0']);
    (!s.is_empty()).then(|| s.to_string())
}
