//! Write a synthetic archive for the batch benchmark: N plans (brain SRS and left-breast
//! phantoms alternating), several plans per patient, nested folders, a few non-DICOM
//! files.
//!
//! ```text
//! cargo run --release -p radtox-batch --example make_archive -- OUT_DIR 200
//! ```

use radtox_fixtures::{WriteOptions, brain_srs, breast_left, write_plan};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(out), Some(n)) = (
        args.get(1),
        args.get(2).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: make_archive OUT_DIR N_PLANS");
        return ExitCode::from(2);
    };
    let out = PathBuf::from(out);
    let opts = WriteOptions::default();
    for i in 0..n {
        let mut ph = if i % 2 == 0 {
            brain_srs()
        } else {
            breast_left()
        };
        // Distinct UIDs per plan: the fixture UIDs derive from the phantom name.
        ph.name = format!("bench-{i}");
        ph.patient_id = format!("BENCH{:04}", i / 3);
        let dir = out
            .join(format!("site-{}", i % 4))
            .join(&ph.patient_id)
            .join(format!("plan-{i}"));
        if let Err(e) = write_plan(&ph, &dir, &opts) {
            eprintln!("make_archive: {e}");
            return ExitCode::from(2);
        }
    }
    for (name, text) in [
        ("README.txt", "benchmark archive\n"),
        ("site-0/notes.csv", "a,b\n"),
    ] {
        if let Err(e) = std::fs::write(out.join(name), text) {
            eprintln!("make_archive: {name}: {e}");
            return ExitCode::from(2);
        }
    }
    println!("{n} plans written to {}", out.display());
    ExitCode::SUCCESS
}
