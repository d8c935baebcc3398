//! Inspect a NIfTI dose as radtox sees it, or write a test gradient.
//!
//! `nifti_probe read FILE` prints JSON: the canonical LPS axes, the affine source, the
//! warnings and the dose at a few voxel centres (first, last, middle), for checking
//! radtox's reading against another tool. `nifti_probe write FILE` writes a 2.5×3×2 mm
//! grid with dose 40 + 0.1·x + 0.2·y − 0.05·z Gy (LPS mm).

use ndarray::Array3;
use radtox_model::DoseGrid;
use radtox_nifti::{read_dose, write_dose};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(cmd), Some(file)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: nifti_probe read|write FILE");
        std::process::exit(2);
    };
    let path = Path::new(file);
    if cmd == "write" {
        let x: Vec<f64> = (0..11).map(|i| -12.5 + 2.5 * i as f64).collect();
        let y: Vec<f64> = (0..7).map(|i| 30.0 + 3.0 * i as f64).collect();
        let z: Vec<f64> = (0..5).map(|i| -7.0 + 2.0 * i as f64).collect();
        let dose = Array3::from_shape_fn((z.len(), y.len(), x.len()), |(iz, iy, ix)| {
            (40.0 + 0.1 * x[ix] + 0.2 * y[iy] - 0.05 * z[iz]) as f32
        });
        write_dose(path, &DoseGrid::new(x, y, z, dose)?, "nifti_probe gradient")?;
        return Ok(());
    }
    let d = read_dose(path)?;
    let g = &d.grid;
    let [nz, ny, nx] = g.dims();
    let mut samples = Vec::new();
    for (iz, iy, ix) in [
        (0, 0, 0),
        (nz - 1, ny - 1, nx - 1),
        (nz / 2, ny / 3, nx / 2),
        (0, ny - 1, 1 % nx),
    ] {
        samples.push(serde_json::json!([
            g.x[ix],
            g.y[iy],
            g.z[iz],
            g.dose[[iz, iy, ix]]
        ]));
    }
    let out = serde_json::json!({
        "x": g.x, "y": g.y, "z": g.z,
        "source": format!("{:?}", d.affine_source),
        "warnings": d.warnings,
        "samples": samples,
    });
    println!("{out}");
    Ok(())
}
