//! Times each stage of one analysis: `cargo run --release -p radtox-analysis --example stages -- DIR`.
use std::time::Instant;

fn hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or("../shared/data/dicompyler-example".into());
    let t = Instant::now();
    let inputs = radtox_analysis::PlanInputs::from_dir(dir.as_ref()).expect("scan");
    println!("scan        {:>8.2} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let dose = radtox_dicom::read_rt_dose(&inputs.rtdose[0]).expect("dose");
    println!(
        "read dose   {:>8.2} ms {}",
        t.elapsed().as_secs_f64() * 1e3,
        hwm()
    );
    let t = Instant::now();
    let ss = radtox_dicom::read_rt_struct(inputs.rtstruct.as_ref().unwrap()).expect("ss");
    println!("read struct {:>8.2} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let opts = radtox_geometry::SamplingOptions::default();
    let samples = radtox_geometry::sample_structures(&ss, &dose.grid, &opts);
    let n: usize = samples.iter().map(|s| s.dose_gy.len()).sum();
    println!(
        "sample      {:>8.2} ms ({n} samples)",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let dvhs: Vec<_> = samples
        .iter()
        .map(|s| radtox_dose::Dvh::from_cells(&s.dose_gy, &s.spread_gy, &s.weight_cc))
        .collect();
    println!(
        "dvh         {:>8.2} ms {}",
        t.elapsed().as_secs_f64() * 1e3,
        hwm()
    );
    let t = Instant::now();
    let curves: usize = dvhs.iter().map(|d| d.cumulative(0.01).dose_gy.len()).sum();
    println!(
        "curves      {:>8.2} ms ({curves} points)",
        t.elapsed().as_secs_f64() * 1e3
    );
    // Per structure, one at a time (after the stage timings, which it would inflate).
    for st in &ss.structures {
        let t = Instant::now();
        let s = radtox_geometry::sample_structure(st, &dose.grid, &opts);
        let ts = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let d = radtox_dose::Dvh::from_cells(&s.dose_gy, &s.spread_gy, &s.weight_cc);
        eprintln!(
            "  {:<20} {:>9} samples {:>10.3} cc  sample {ts:.2} ms dvh {:.2} ms ({} knots)",
            s.name,
            s.dose_gy.len(),
            s.volume_cc,
            t.elapsed().as_secs_f64() * 1e3,
            d.sorted_doses().len()
        );
    }
    let t = Instant::now();
    let a = radtox_analysis::analyze(&inputs, &Default::default()).expect("analyze");
    println!("analyze     {:>8.2} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let j = radtox_report::render(&a, radtox_report::Format::Json).unwrap();
    println!(
        "json        {:>8.2} ms ({} bytes)",
        t.elapsed().as_secs_f64() * 1e3,
        j.len()
    );
}
