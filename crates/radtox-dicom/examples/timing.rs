//! Time `read_rt_dose` on one file: `cargo run --release --example timing -- FILE [N]`.
//! Prints the minimum and median wall time over N reads (minimum is the figure least
//! disturbed by other processes).
use radtox_dicom::read_rt_dose;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: timing FILE [N]");
        std::process::exit(2);
    };
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20);
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        match read_rt_dose(&path) {
            Ok(d) => std::hint::black_box(d),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{}: min {:.1} ms, median {:.1} ms over {n} reads",
        path.display(),
        times[0],
        times[n / 2]
    );
}
