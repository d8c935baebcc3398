//! Times building every structure's DVH while sampling (the analysis's inner loop),
//! warm, in one process: `cargo run --release -p radtox-analysis --example dvh_timing -- [DIR] [N]`.
use radtox_dose::CellHistogram;
use radtox_geometry::{CellSink, SamplingOptions};
use std::time::Instant;

struct Sink(CellHistogram);
impl CellSink for Sink {
    fn push(&mut self, d: f32, r: f32, w: f32, f: f32) {
        self.0.add_cell(d, r, w, f >= 0.5);
    }
    fn push_run(&mut self, d: &[f32], r: &[f32], f: &[f32], cc: f32) {
        self.0.add_run(d, r, f, cc);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .unwrap_or("../shared/data/dicompyler-example".into());
    let n: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(20);
    let only = args.next();
    let inputs = radtox_analysis::PlanInputs::from_dir(dir.as_ref()).expect("scan");
    let plan = radtox_analysis::read_plan(&inputs, &[]).expect("read");
    let grid = &plan.dose.grid;
    let opts = SamplingOptions::default();
    let run = |s: &radtox_model::Structure| {
        let (_, h) = radtox_geometry::sample_structure_into(
            s,
            grid,
            &opts,
            |lo, hi| Sink(CellHistogram::new(f64::from(lo), f64::from(hi))),
            |a, b| Sink(a.0.merged(b.0)),
        );
        h.map(|h| radtox_dose::Dvh::from_cell_histogram(h.0, radtox_dose::Domain::Physical))
    };
    let mut totals = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        use rayon::prelude::*;
        let d: Vec<_> = plan.structures.structures.par_iter().map(run).collect();
        std::hint::black_box(d);
        totals.push(t.elapsed().as_secs_f64() * 1e3);
    }
    totals.sort_by(f64::total_cmp);
    println!(
        "all structures, parallel: min {:.2} ms, median {:.2} ms",
        totals[0],
        totals[n / 2]
    );
    for s in &plan.structures.structures {
        if only.as_ref().is_some_and(|o| *o != s.name) {
            continue;
        }
        let mut t_s = Vec::new();
        let mut mean = f64::NAN;
        for _ in 0..n {
            let t = Instant::now();
            let d = run(s);
            t_s.push(t.elapsed().as_secs_f64() * 1e3);
            mean = d.map_or(f64::NAN, |d| d.mean());
        }
        t_s.sort_by(f64::total_cmp);
        println!(
            "  {:<20} {:>7.2} ms  mean {:.6} Gy",
            s.name,
            t_s[t_s.len() / 2],
            mean
        );
    }
}
