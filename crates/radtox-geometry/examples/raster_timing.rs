//! Times the contour → lattice part alone on a real plan: the slab model of every
//! structure (`contour_volume_cc`, i.e. edges, exact areas, gaps) and its rasterisation
//! on the lattice the sampler would use (`choose_lattice`, cut to the dose grid).
//!
//! `cargo run --release -p radtox-geometry --example raster_timing -- DIR [iterations] [dump]`
//!
//! DIR holds the plan's RT Dose and RT Struct (found by `radtox_dicom::discover`-free
//! file name matching: the first `*.dcm` whose name starts with `RD`/`rtdose` and
//! `RS`/`rtss`). With `dump`, the occupancies are written to `dump`, or, when that file
//! exists, compared with it (largest fraction and volume differences), so that a change
//! can be checked against the results before it.

use radtox_geometry::{Lattice, Occupancy, SamplingOptions, choose_lattice, rasterize};
use radtox_model::Structure;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn find(dir: &Path, prefixes: &[&str]) -> PathBuf {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable plan directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    names
        .into_iter()
        .find(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            prefixes.iter().any(|q| n.starts_with(q))
        })
        .expect("plan file")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn dump(occs: &[Occupancy]) -> Vec<u8> {
    let mut out = Vec::new();
    for o in occs {
        out.extend((o.cell_count() as u64).to_le_bytes());
        for (idx, f) in o.cells() {
            for i in idx {
                out.extend((i as u32).to_le_bytes());
            }
            out.extend(f.to_le_bytes());
        }
    }
    out
}

/// Largest difference of fractions between the cells of `occs` and a dump (a cell absent
/// in one counts as 0 there), and the relative volume difference.
fn compare(occs: &[Occupancy], reference: &[u8]) {
    use std::collections::HashMap;
    let mut words = reference
        .chunks_exact(4)
        .map(|c| <[u8; 4]>::try_from(c).expect("4 bytes"));
    for o in occs {
        let lo = u32::from_le_bytes(words.next().expect("dump"));
        let hi = u32::from_le_bytes(words.next().expect("dump"));
        let n = lo as u64 | (hi as u64) << 32;
        let mut want: HashMap<[u32; 3], f32> = HashMap::new();
        let mut sum_ref = 0f64;
        for _ in 0..n {
            let i = [0, 1, 2].map(|_| u32::from_le_bytes(words.next().expect("dump")));
            let f = f32::from_le_bytes(words.next().expect("dump"));
            sum_ref += f as f64;
            want.insert(i, f);
        }
        let mut worst = 0f32;
        let mut sum = 0f64;
        for (idx, f) in o.cells() {
            let k = [idx[0] as u32, idx[1] as u32, idx[2] as u32];
            sum += f as f64;
            worst = worst.max((want.remove(&k).unwrap_or(0.0) - f).abs());
        }
        for f in want.values() {
            worst = worst.max(f.abs());
        }
        println!(
            "{:<24} cells {:>8} (ref {n:>8})  max |dfraction| {worst:.2e}  dvolume {:.2e}",
            o.name,
            o.cell_count(),
            (sum - sum_ref) / sum_ref.max(1e-30)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).expect("plan directory"));
    let iters: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let dose = radtox_dicom::read_rt_dose(&find(&dir, &["RD", "rtdose"])).expect("RT Dose");
    let ss = radtox_dicom::read_rt_struct(&find(&dir, &["RS", "rtss"])).expect("RT Struct");
    let grid = dose.grid;
    let opts = SamplingOptions::default();
    let params = opts.slab_params(&grid);
    let structures: Vec<&Structure> = ss.structures.iter().collect();
    let lattices: Vec<Option<Lattice>> = structures
        .iter()
        .map(|s| {
            choose_lattice(&[*s], &grid, &opts)
                .ok()
                .flatten()
                .and_then(|l| radtox_geometry::clip_to_grid(&l, &grid))
        })
        .collect();
    let raster_all = || -> Vec<Occupancy> {
        structures
            .iter()
            .zip(&lattices)
            .filter_map(|(s, l)| rasterize(s, l.as_ref()?, &params, opts.subrows).ok())
            .collect()
    };
    let (mut t_slab, mut t_raster) = (Vec::new(), Vec::new());
    let mut occs = Vec::new();
    for _ in 0..iters {
        let t = Instant::now();
        let v: f64 = structures
            .iter()
            .map(|s| radtox_geometry::contour_volume_cc(s, &params))
            .sum();
        std::hint::black_box(v);
        t_slab.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        occs = raster_all();
        t_raster.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let cells: usize = occs.iter().map(|o| o.cell_count()).sum();
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "{}: {} structures, {cells} cells; median of {iters}: slabs {:.2} ms, slabs+rasterise {:.2} ms; min: {:.2}, {:.2} ms",
        dir.display(),
        structures.len(),
        median(t_slab.clone()),
        median(t_raster.clone()),
        min(&t_slab),
        min(&t_raster)
    );
    if let Some(path) = args.get(3) {
        match std::fs::read(path) {
            Ok(reference) => compare(&occs, &reference),
            Err(_) => std::fs::write(path, dump(&occs)).expect("writable dump"),
        }
    }
}
