//! Times `sample_structures` on a synthetic plan shaped like the dicompyler-example
//! breast plan: dose grid 194×129×98 at 2.5×2.5×3 mm, a 15-litre elliptic BODY with
//! 530-vertex contours on every dose plane, organs of 0.5–2000 cc.
//!
//! `cargo run --release -p radtox-geometry --example timing [min_samples]`

use ndarray::Array3;
use radtox_geometry::{SamplingOptions, choose_lattice, rasterize, sample_dose, sample_structures};
use radtox_model::{ContourPlane, DoseGrid, Polygon, Structure, StructureSet};
use std::f64::consts::PI;
use std::time::Instant;

fn ellipse(cx: f64, cy: f64, a: f64, b: f64, n: usize) -> Polygon {
    Polygon {
        points: (0..n)
            .map(|i| {
                let t = 2.0 * PI * i as f64 / n as f64;
                // A little wobble so edges are not all alike.
                let w = 1.0 + 0.02 * (7.0 * t).sin();
                [cx + a * w * t.cos(), cy + b * w * t.sin()]
            })
            .collect(),
    }
}

/// An ellipsoid-like organ: contours every `dz` mm between z0 and z1.
fn organ(roi: i32, name: &str, c: [f64; 3], axes: [f64; 3], dz: f64, n: usize) -> Structure {
    let k = (axes[2] / dz).floor() as i64;
    let planes = (-k..=k)
        .filter_map(|i| {
            let z = c[2] + i as f64 * dz;
            let s = 1.0 - ((z - c[2]) / axes[2]).powi(2);
            (s > 0.0).then(|| ContourPlane {
                z,
                polygons: vec![ellipse(
                    c[0],
                    c[1],
                    axes[0] * s.sqrt(),
                    axes[1] * s.sqrt(),
                    n,
                )],
            })
        })
        .collect();
    Structure {
        roi_number: roi,
        name: name.into(),
        interpreted_type: None,
        color: None,
        planes,
        ignored: vec![],
        slab_thickness_mm: None,
    }
}

fn main() {
    let min_samples = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(SamplingOptions::default().min_samples);
    let axis = |n: usize, o: f64, s: f64| (0..n).map(|i| o + i as f64 * s).collect::<Vec<_>>();
    let (x, y, z) = (
        axis(194, -240.0, 2.5),
        axis(129, -160.0, 2.5),
        axis(98, -150.0, 3.0),
    );
    let dose = Array3::from_shape_fn((98, 129, 194), |(k, j, i)| {
        let (px, py, pz) = (x[i] - 60.0, y[j] + 20.0, z[k]);
        (14.0 * (-(px * px + py * py + pz * pz) / 8000.0).exp()) as f32
    });
    let grid = DoseGrid::new(x, y, z.clone(), dose).expect("valid grid");
    // BODY: one contour per dose plane, 530 vertices.
    let body = Structure {
        roi_number: 1,
        name: "BODY".into(),
        interpreted_type: None,
        color: None,
        planes: z
            .iter()
            .map(|&zz| ContourPlane {
                z: zz,
                polygons: vec![ellipse(0.0, 0.0, 180.0, 110.0, 530)],
            })
            .collect(),
        ignored: vec![],
        slab_thickness_mm: None,
    };
    let ss = StructureSet {
        source: "synthetic".into(),
        sop_instance_uid: None,
        frame_of_reference_uid: None,
        label: None,
        structures: vec![
            body,
            organ(
                2,
                "Lt Lung",
                [70.0, 0.0, 0.0],
                [60.0, 70.0, 120.0],
                3.0,
                250,
            ),
            organ(
                3,
                "Heart",
                [10.0, 30.0, -20.0],
                [50.0, 40.0, 50.0],
                3.0,
                150,
            ),
            organ(4, "Breast", [90.0, 80.0, 0.0], [50.0, 25.0, 75.0], 3.0, 190),
            organ(
                5,
                "Tumor Bed",
                [90.0, 90.0, 10.0],
                [16.0, 10.0, 20.0],
                3.0,
                35,
            ),
            organ(6, "Scar", [95.0, 100.0, 10.0], [8.0, 2.0, 8.0], 3.0, 27),
            organ(7, "Nodes", [60.0, 90.0, 60.0], [6.0, 5.0, 6.0], 3.0, 16),
        ],
        warnings: vec![],
    };
    let opts = SamplingOptions {
        min_samples,
        ..Default::default()
    };
    let mut best = f64::INFINITY;
    let mut out = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        out = sample_structures(&ss, &grid, &opts);
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
    }
    for s in &out {
        println!(
            "{:<10} {:>10.2} cc  {:>9} samples",
            s.name,
            s.volume_cc,
            s.dose_gy.len()
        );
    }
    // Where the time goes, per structure (best of 5).
    let params = opts.slab_params(&grid);
    for st in &ss.structures {
        let (mut tl, mut tr, mut ts) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
        for _ in 0..5 {
            let t = Instant::now();
            let Ok(Some(l)) = choose_lattice(&[st], &grid, &opts) else {
                continue;
            };
            let t1 = t.elapsed().as_secs_f64() * 1e3;
            let Ok(occ) = rasterize(st, &l, &params, opts.subrows) else {
                continue;
            };
            let t2 = t.elapsed().as_secs_f64() * 1e3;
            let _ = sample_dose(&occ, &grid);
            let t3 = t.elapsed().as_secs_f64() * 1e3;
            (tl, tr, ts) = (tl.min(t1), tr.min(t2 - t1), ts.min(t3 - t2));
        }
        println!(
            "{:<10} choose_lattice {tl:.2} ms, rasterize {tr:.2} ms, sample_dose {ts:.2} ms",
            st.name
        );
    }
    let n: usize = out.iter().map(|s| s.dose_gy.len()).sum();
    println!(
        "sample_structures: best of 10 {best:.1} ms, {n} samples, {} threads",
        rayon::current_num_threads()
    );
}
