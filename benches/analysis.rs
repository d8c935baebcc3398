//! Criterion benchmark of the whole analysis of one real plan (the dicompyler example:
//! RT Dose 194×129×98, 10 ROIs): scan → read → sample → DVH → metrics → document, and of
//! its stages. Run with `cargo bench -p radtox --bench analysis`.
//!
//! The end-to-end peer comparison (whole process, against plastimatch and
//! dicompyler-core) is `benches/peers/compare.sh`.

use criterion::{Criterion, criterion_group, criterion_main};
use radtox_analysis::{AnalysisOptions, PlanInputs, analyze};
use std::hint::black_box;
use std::path::Path;

fn plan_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/dicompyler-example")
}

fn whole_analysis(c: &mut Criterion) {
    let dir = plan_dir();
    if !dir.exists() {
        eprintln!("skipping: {} not found", dir.display());
        return;
    }
    let inputs = PlanInputs::from_dir(&dir).expect("the example plan is found");
    let opts = AnalysisOptions::default();
    let mut g = c.benchmark_group("dicompyler-example");
    g.sample_size(30);
    g.bench_function("scan+analyze", |b| {
        b.iter(|| {
            let inputs = PlanInputs::from_dir(black_box(&dir)).unwrap();
            black_box(analyze(&inputs, &opts).unwrap())
        })
    });
    g.bench_function("analyze (files known)", |b| {
        b.iter(|| black_box(analyze(black_box(&inputs), &opts).unwrap()))
    });
    let dose = radtox_dicom::read_rt_dose(&inputs.rtdose[0]).unwrap();
    let ss = radtox_dicom::read_rt_struct(inputs.rtstruct.as_ref().unwrap()).unwrap();
    g.bench_function("read RT Dose", |b| {
        b.iter(|| black_box(radtox_dicom::read_rt_dose(&inputs.rtdose[0]).unwrap()))
    });
    g.bench_function("read RT Struct", |b| {
        b.iter(|| {
            black_box(radtox_dicom::read_rt_struct(inputs.rtstruct.as_ref().unwrap()).unwrap())
        })
    });
    let sampling = radtox_geometry::SamplingOptions::default();
    g.bench_function("sample all structures", |b| {
        b.iter(|| {
            black_box(radtox_geometry::sample_structures(
                &ss, &dose.grid, &sampling,
            ))
        })
    });
    let samples = radtox_geometry::sample_structures(&ss, &dose.grid, &sampling);
    g.bench_function("DVHs from samples", |b| {
        b.iter(|| {
            let dvhs: Vec<_> = samples
                .iter()
                .map(|s| radtox_dose::Dvh::from_samples(&s.dose_gy, &s.weight_cc))
                .collect();
            black_box(dvhs)
        })
    });
    g.finish();
}

criterion_group!(benches, whole_analysis);
criterion_main!(benches);
