//! Files appear whole or not at all: every output is written to a temporary sibling,
//! flushed to disk, then renamed over the target (rename is atomic within a directory on
//! POSIX file systems). A process killed at any moment leaves either the old file, the new
//! file, or a stray temporary that the next run removes ([`remove_stale_temporaries`]).

use crate::error::BatchError;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix and suffix of temporary files, so that stale ones can be recognised.
const TMP_PREFIX: &str = ".radtox-tmp-";
const TMP_SUFFIX: &str = ".tmp";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BatchError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // Unique per process and per call: parallel workers never share a temporary.
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(
        "{TMP_PREFIX}{}-{n}{TMP_SUFFIX}",
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(BatchError::io(path))
}

/// Remove temporaries left by a killed run in `dir` (not recursive).
pub fn remove_stale_temporaries(dir: &Path) -> Result<usize, BatchError> {
    let mut removed = 0;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(BatchError::io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(BatchError::io(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX) {
            std::fs::remove_file(entry.path()).map_err(BatchError::io(entry.path()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_cleans_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        std::fs::write(dir.path().join(".radtox-tmp-1-2.tmp"), b"half").unwrap();
        assert_eq!(remove_stale_temporaries(dir.path()).unwrap(), 1);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1);
    }
}
