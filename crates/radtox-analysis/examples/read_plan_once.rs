//! Time one `read_plan` in a fresh process (page faults and thread start-up included):
//! `cargo run --release -p radtox-analysis --example read_plan_once -- DIR [digest]`.
//!
//! DIR holds `rtdose.dcm`, `rtss.dcm` and `rtplan.dcm` (e.g. `../shared/data/dicompyler-example`).
//! Run it under `perf stat -e task-clock,page-faults` many times and take the median: a
//! single process reads once, as `radtox analyze` does. With `digest` it also prints a
//! hash of everything read (dose bits, contours, plan, warnings), so that a change to the
//! readers can be checked to give the same values bit for bit.
use std::hash::{DefaultHasher, Hash, Hasher};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap();
    let digest = args.next().as_deref() == Some("digest");
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
    if digest {
        // Debug text of floats round-trips, so equal text means equal bits; the dose
        // array's Debug text is abbreviated, so its bits are hashed apart.
        let mut h = DefaultHasher::new();
        let dose = &p.dose;
        dose.grid.dose.iter().for_each(|v| v.to_bits().hash(&mut h));
        format!("{:?}", (&dose.grid.x, &dose.grid.y, &dose.grid.z)).hash(&mut h);
        format!("{:?}", (&dose.info, &dose.tps_dvhs, &dose.summary)).hash(&mut h);
        format!("{:?}", (&p.structures, &p.plan, &p.warnings)).hash(&mut h);
        println!("digest {:016x}", h.finish());
    }
    std::hint::black_box(p);
}
