//! Read each file given on the command line with the reader matching its kind and print a
//! short summary (no patient identifiers). `cargo run --release --example summary -- FILES`
use radtox_dicom::{read_rt_dose, read_rt_plan, read_rt_struct};
use std::path::Path;
use std::time::Instant;

fn main() {
    for arg in std::env::args().skip(1) {
        let p = Path::new(&arg);
        let t = Instant::now();
        if let Ok(d) = read_rt_dose(p) {
            let g = &d.grid;
            println!(
                "{arg}: RT Dose {:?} dims {:?} spacing {:?} origin {:?} max {:.4} units {:?} {:?} plan {:?} beams {:?} dvhs {} warnings {:?} ({:.1} ms)",
                d.info.summation,
                g.dims(),
                g.mean_spacing(),
                g.bounds().0,
                g.max_dose(),
                d.info.units,
                d.info.dose_type,
                d.info.referenced_plan_uid,
                d.info.referenced_beams,
                d.tps_dvhs.len(),
                d.warnings,
                t.elapsed().as_secs_f64() * 1e3
            );
            continue;
        }
        match read_rt_struct(p) {
            Ok(s) => {
                println!(
                    "{arg}: RT Struct FoR {:?} label {:?} warnings {:?}",
                    s.frame_of_reference_uid, s.label, s.warnings
                );
                for st in &s.structures {
                    println!(
                        "   ROI {} {:?} {:?} {:?} planes {} polys {} z {:?} ignored {:?}",
                        st.roi_number,
                        st.name,
                        st.interpreted_type,
                        st.color,
                        st.planes.len(),
                        st.planes.iter().map(|p| p.polygons.len()).sum::<usize>(),
                        st.planes.first().map(|p| p.z),
                        st.ignored
                    );
                }
                continue;
            }
            Err(e) => println!("  (not struct: {e})"),
        }
        match read_rt_plan(p) {
            Ok(pl) => println!(
                "{arg}: RT Plan {:?} {:?} fx {:?} rx {:?} ({:?}) ss {:?} warnings {:?}",
                pl.label,
                pl.name,
                pl.fractions,
                pl.prescription_gy(),
                pl.prescriptions,
                pl.referenced_structure_set_uid,
                pl.warnings
            ),
            Err(e) => println!("{arg}: {e}"),
        }
    }
}
