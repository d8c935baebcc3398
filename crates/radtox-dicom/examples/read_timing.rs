//! Time the readers: `cargo run --release -p radtox-dicom --example read_timing -- PATH [N]`.
//!
//! PATH a file: times `read_rt_dose` on it. PATH a directory: times `discover` and
//! `scan_directory`,
//! then each reader on the files it found, then the whole scan + read path.
//! Prints the minimum and median wall time over N runs (the minimum is the figure least
//! disturbed by other processes on a shared machine).
//!
//! Measured on `shared/data/dicompyler-example` (10 MB RT Dose, 1.9 MB RT Struct, 0.3 MB
//! RT Plan), release, 2 shared cores, minimum over 20–100 runs:
//!
//! | stage | dicom-object readers (load ≈ 3) | own parser (load ≈ 9–11) |
//! | --- | --- | --- |
//! | `scan_directory` | 25.0 ms | 0.3 ms |
//! | `read_rt_dose` | 13.3 ms | 1.3–1.7 ms |
//! | `read_rt_struct` | 24.4 ms | 1.7–2.8 ms |
//! | `read_rt_plan` | 4.4 ms | 0.2 ms |
//! | scan + read all | 70.8 ms | 4.2–6.5 ms |
use radtox_dicom::{discover, read_rt_dose, read_rt_plan, read_rt_struct, scan_directory};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn time<T>(label: &str, n: usize, mut f: impl FnMut() -> T) {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        std::hint::black_box(f());
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{label:<28} min {:7.2} ms, median {:7.2} ms over {n} runs",
        times[0],
        times[n / 2]
    );
}

fn fail(e: radtox_dicom::DicomError) -> ! {
    eprintln!("{e}");
    std::process::exit(1);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: timing FILE|DIR [N]");
        std::process::exit(2);
    };
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
        .max(1);
    if !path.is_dir() {
        read_rt_dose(&path).unwrap_or_else(|e| fail(e));
        time("read_rt_dose", n, || read_rt_dose(&path).map(|_| ()));
        return;
    }
    time("discover (whole tree)", n, || discover(&path));
    let export = match scan_directory(&path) {
        Ok(e) => e,
        Err(e) => {
            // An archive of several plans: discovery was the figure wanted.
            eprintln!("no single export here ({e})");
            return;
        }
    };
    time("scan_directory", n, || scan_directory(&path).map(|_| ()));
    for d in &export.doses {
        time("read_rt_dose", n, || read_rt_dose(d).map(|_| ()));
    }
    let ss: &Path = &export.structure_set;
    time("read_rt_struct", n, || read_rt_struct(ss).map(|_| ()));
    if let Some(p) = &export.plan {
        time("read_rt_plan", n, || read_rt_plan(p).map(|_| ()));
    }
    time("scan + read all (serial)", n, || {
        let e = scan_directory(&path)?;
        for d in &e.doses {
            read_rt_dose(d)?;
        }
        read_rt_struct(&e.structure_set)?;
        if let Some(p) = &e.plan {
            read_rt_plan(p)?;
        }
        Ok::<(), radtox_dicom::DicomError>(())
    });
}
