//! Time one `read_plan` in a fresh process (page faults and thread start-up included):
//! `cargo run --release -p radtox-analysis --example read_plan_once -- DIR`.
//!
//! DIR holds `rtdose.dcm`, `rtss.dcm` and `rtplan.dcm` (e.g. `../shared/data/dicompyler-example`).
//! Run it under `perf stat -e task-clock,page-faults` many times and take the median: a
//! single process reads once, as `radtox analyze` does.
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let d = std::path::Path::new(&dir);
    let inputs = radtox_analysis::PlanInputs {
        rtdose: vec![d.join("rtdose.dcm")],
        rtstruct: Some(d.join("rtss.dcm")),
        rtplan: Some(d.join("rtplan.dcm")),
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let p = radtox_analysis::read_plan(&inputs, &[]).unwrap();
    eprintln!("read {:.2} ms", t.elapsed().as_secs_f64() * 1e3);
    std::hint::black_box(p);
}
