//! Damaged input never panics: every reader on files cut at many offsets and with
//! corrupted bytes returns either a value or an error.

use radtox_dicom::{discover, read_ct_series, read_rt_dose, read_rt_plan, read_rt_struct};
use std::path::{Path, PathBuf};

fn data(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")).join(rel)
}

fn all_readers(p: &Path) {
    let _ = read_rt_dose(p);
    let _ = read_rt_struct(p);
    let _ = read_rt_plan(p);
    let _ = read_ct_series(&[p.to_path_buf()]);
}

/// A tiny deterministic generator (xorshift) so failures reproduce.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn truncated_and_corrupted_files_give_errors_not_panics() {
    let files = [
        "pydicom-edge/rtdose.dcm",
        "pydicom-edge/rtdose_1frame.dcm",
        "pydicom-edge/rtdose_expb.dcm",
        "pydicom-edge/rtdose_rle.dcm",
        "pydicom-edge/rtplan.dcm",
        "pydicom-edge/rtstruct.dcm",
    ];
    // Thousands of small writes: in memory where the system offers it (a disk-backed
    // temporary folder costs milliseconds per write on a busy machine).
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let target = dir.path().join("damaged.dcm");
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for rel in files {
        let src = data(rel);
        if !src.exists() {
            eprintln!("skipped: {} absent", src.display());
            continue;
        }
        let bytes = std::fs::read(&src).unwrap();
        // Every cut in the first 400 bytes (headers, file meta), then every 7th byte.
        let cuts = (0..bytes.len().min(400)).chain((400..bytes.len()).step_by(7));
        for cut in cuts {
            std::fs::write(&target, &bytes[..cut]).unwrap();
            all_readers(&target);
        }
        // Random byte corruption: lengths, VRs and tags become garbage.
        for _ in 0..300 {
            let mut b = bytes.clone();
            for _ in 0..4 {
                let i = (next(&mut rng) as usize) % b.len();
                b[i] = next(&mut rng) as u8;
            }
            std::fs::write(&target, &b).unwrap();
            all_readers(&target);
        }
    }
    // Discovery over a folder of damaged files still completes.
    let d = discover(dir.path());
    assert!(d.plans.is_empty());
}
