//! Timing of whole-plan DVH construction and metric evaluation on a plan-sized sample
//! set (10 structures, 1.6 M samples, like the dicompyler example plan's BODY, lungs,
//! heart, breast, …). Run with `cargo run --release -p radtox-dose --example bench_dvh`.

use radtox_dose::{Dvh, MetricContext, default_metrics, evaluate};
use rayon::prelude::*;
use std::time::Instant;

/// Deterministic pseudo-random doses: a smooth ramp over the structure plus jitter, so
/// values are nearly all distinct, as trilinear samples of a real grid are.
fn structure(n: usize, seed: u64, max_gy: f32) -> (Vec<f32>, Vec<f32>) {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f32 / (1u64 << 53) as f32
    };
    let dose = (0..n)
        .map(|_| {
            let u = next();
            max_gy * u * u + 0.05 * next()
        })
        .collect();
    let weight = (0..n)
        .map(|i| if i % 10 == 0 { 0.0225 * next() } else { 0.0225 })
        .collect();
    (dose, weight)
}

/// CPU time this thread has run (ns), from /proc: unlike wall time it does not count
/// waiting for a core, so it stays meaningful on a shared machine. None if unavailable.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() {
    let sizes = [
        800_000, 220_000, 200_000, 120_000, 110_000, 60_000, 40_000, 25_000, 15_000, 5_000,
    ];
    let structures: Vec<(Vec<f32>, Vec<f32>)> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| structure(n, 1 + i as u64, 15.0))
        .collect();
    let total: usize = sizes.iter().sum();
    let metrics = default_metrics();
    let ctx = MetricContext {
        prescription_gy: Some(14.0),
        reference: None,
    };
    let reps = 20;
    let best = |f: &dyn Fn()| {
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::INFINITY, f64::min)
    };

    // Single-thread CPU time per structure (mean over reps: /proc updates the counter
    // only at scheduler events, so single short intervals are unreliable).
    let cpu_ms = |f: &dyn Fn()| -> Option<f64> {
        let t = thread_cpu_ns()?;
        for _ in 0..reps {
            f();
        }
        Some((thread_cpu_ns()? - t) as f64 / 1e6 / reps as f64)
    };
    let mut all_cpu = 0.0;
    for (d, w) in &structures {
        let dvh = cpu_ms(&|| {
            std::hint::black_box(Dvh::from_samples(d, w));
        });
        let cmp = cpu_ms(&|| {
            let mut p: Vec<(f32, f32)> = d.iter().copied().zip(w.iter().copied()).collect();
            p.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
            std::hint::black_box(p);
        });
        if let (Some(dvh), Some(cmp)) = (dvh, cmp) {
            all_cpu += dvh;
            println!(
                "  {:>7} samples: DVH {dvh:.2} ms CPU (comparison sort alone {cmp:.2} ms)",
                d.len()
            );
        }
    }
    println!("  all structures: {all_cpu:.2} ms CPU on one thread");
    let seq = best(&|| {
        for (d, w) in &structures {
            std::hint::black_box(Dvh::from_samples(d, w));
        }
    });
    let par = best(&|| {
        let dvhs: Vec<Dvh> = structures
            .par_iter()
            .map(|(d, w)| Dvh::from_samples(d, w))
            .collect();
        std::hint::black_box(dvhs);
    });
    let dvhs: Vec<Dvh> = structures
        .iter()
        .map(|(d, w)| Dvh::from_samples(d, w))
        .collect();
    let eval = best(&|| {
        for dvh in &dvhs {
            for m in &metrics {
                let _ = std::hint::black_box(evaluate(m, dvh, &ctx));
            }
        }
    });
    let whole = best(&|| {
        let n: usize = structures
            .par_iter()
            .map(|(d, w)| {
                let dvh = Dvh::from_samples(d, w);
                metrics
                    .iter()
                    .filter(|m| evaluate(m, &dvh, &ctx).is_ok())
                    .count()
            })
            .sum();
        std::hint::black_box(n);
    });
    // The comparison sorts the radix sort replaces.
    let cmp_seq = best(&|| {
        for (d, w) in &structures {
            let mut p: Vec<(f32, f32)> = d.iter().copied().zip(w.iter().copied()).collect();
            p.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
            std::hint::black_box(p);
        }
    });
    let cmp_par = best(&|| {
        for (d, w) in &structures {
            let mut p: Vec<(f32, f32)> = d.iter().copied().zip(w.iter().copied()).collect();
            p.par_sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
            std::hint::black_box(p);
        }
    });
    println!(
        "{total} samples in {} structures, {} threads, best of {reps}:",
        sizes.len(),
        rayon::current_num_threads()
    );
    println!("  DVHs (radix sort), one structure after another: {seq:.2} ms");
    println!("  DVHs (radix sort), structures in parallel:      {par:.2} ms");
    println!(
        "  {} default metrics × {} structures:          {eval:.3} ms",
        metrics.len(),
        sizes.len()
    );
    println!("  whole plan (parallel DVHs + metrics):           {whole:.2} ms");
    println!("  for comparison, sort_unstable_by (total_cmp):   {cmp_seq:.2} ms");
    println!("  for comparison, par_sort_unstable_by:           {cmp_par:.2} ms");
}
