//! The committed `fixtures/` never drift from the generator, and faulty plans carry
//! exactly the fault they name.

use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_object::open_file;
use radtox_fixtures::*;
use std::path::PathBuf;

fn committed() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"))
}

#[test]
fn regenerating_gives_byte_identical_committed_fixtures() {
    let tmp = tempfile::tempdir().unwrap();
    for (ph, opts) in shipped() {
        let w = write_plan(&ph, &tmp.path().join(&ph.name), &opts).unwrap();
        for p in [&w.rtdose, &w.rtstruct, &w.rtplan] {
            let name = p.file_name().unwrap();
            let theirs = committed().join(&ph.name).join(name);
            let a = std::fs::read(p).unwrap();
            let b = std::fs::read(&theirs).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (run `cargo run -p radtox-fixtures -- fixtures/`)",
                    theirs.display()
                )
            });
            assert!(
                a == b,
                "{} differs from a fresh generation: regenerate with `cargo run -p radtox-fixtures -- fixtures/`",
                theirs.display()
            );
            // Small enough to live in the repository.
            assert!(
                a.len() < 512 * 1024,
                "{} is {} bytes",
                theirs.display(),
                a.len()
            );
        }
    }
}

#[test]
fn shipped_dvh_sequence_matches_structure_volumes() {
    let ph = brain_srs();
    let obj = open_file(committed().join("brain-srs/rtdose.dcm")).unwrap();
    let dvhs = obj.get(tags::DVH_SEQUENCE).and_then(|e| e.items()).unwrap();
    assert_eq!(dvhs.len(), ph.structures.len());
    for item in dvhs {
        let r = item
            .get(tags::DVH_REFERENCED_ROI_SEQUENCE)
            .and_then(|e| e.items())
            .unwrap();
        let roi: i32 = r[0]
            .get(tags::REFERENCED_ROI_NUMBER)
            .unwrap()
            .to_int()
            .unwrap();
        let s = ph.structure(roi).unwrap();
        let data = item
            .get(tags::DVH_DATA)
            .unwrap()
            .to_multi_float64()
            .unwrap();
        // First cumulative bin = whole structure; equal to the slab volume of the
        // contours, and within a few % of the analytic volume for the lesions. The
        // dose grid covers the lesions only: External, Brain and Brainstem reach beyond
        // it, and the DVH (like a planning system's) counts only what lies inside.
        let total_cc = data[1];
        if ["External", "Brain", "Brainstem"].contains(&s.name.as_str()) {
            assert!(
                total_cc > 0.0 && total_cc < s.slab_volume_mm3() / 1000.0,
                "{}",
                s.name
            );
            continue;
        }
        let slab_cc = s.slab_volume_mm3() / 1000.0;
        assert!(
            (total_cc - slab_cc).abs() / slab_cc < 0.01,
            "{}: {total_cc} vs {slab_cc}",
            s.name
        );
        if s.name.starts_with("PTV") {
            let v = s.shape.volume_mm3() / 1000.0;
            assert!(
                (total_cc - v).abs() / v < 0.03,
                "{}: {total_cc} vs {v}",
                s.name
            );
            // PTV surface at 20 Gy, the dose rising inwards: ~all of the PTV gets ≥ 19.9 Gy.
            let i = (19.9f64 / 0.1).floor() as usize;
            let v199 = data[2 * i + 1];
            assert!(
                v199 / total_cc > 0.97,
                "{}: V19.9 = {v199} of {total_cc}",
                s.name
            );
        }
    }
}

#[test]
fn each_fault_is_injected_and_nothing_else_breaks() {
    let ph = brain_srs();
    let tmp = tempfile::tempdir().unwrap();
    let good = write_plan(&ph, &tmp.path().join("good"), &WriteOptions::default()).unwrap();
    let good_len = std::fs::metadata(&good.rtdose).unwrap().len();
    for fault in Fault::ALL {
        let w = write_faulty(&ph, &tmp.path().join(format!("{fault:?}")), fault).unwrap();
        // The files not targeted stay readable.
        if !matches!(
            fault,
            Fault::NonNumericContourData | Fault::DegenerateContour
        ) {
            open_file(&w.rtstruct).unwrap();
        }
        open_file(&w.rtplan).unwrap();
        match fault {
            Fault::EmptyFile => assert_eq!(std::fs::metadata(&w.rtdose).unwrap().len(), 0),
            Fault::NotDicom | Fault::TruncatedDose => {
                assert!(open_file(&w.rtdose).is_err(), "{fault:?} opened");
                if fault == Fault::TruncatedDose {
                    let len = std::fs::metadata(&w.rtdose).unwrap().len();
                    assert!(len < good_len && len > good_len / 3);
                }
            }
            Fault::ShortPixelData => {
                let d = open_file(&w.rtdose).unwrap();
                let rows: usize = d.get(tags::ROWS).unwrap().to_int().unwrap();
                let cols: usize = d.get(tags::COLUMNS).unwrap().to_int().unwrap();
                let frames: usize = d.get(tags::NUMBER_OF_FRAMES).unwrap().to_int().unwrap();
                let len = d
                    .get(tags::PIXEL_DATA)
                    .unwrap()
                    .value()
                    .to_bytes()
                    .unwrap()
                    .len();
                assert_eq!(len, rows * cols * (frames - 1) * 4);
            }
            Fault::MissingDoseGridScaling => {
                let d = open_file(&w.rtdose).unwrap();
                assert!(d.get(tags::DOSE_GRID_SCALING).is_none());
                assert!(d.get(tags::PIXEL_DATA).is_some());
            }
            Fault::MismatchedFrameOfReference => {
                let d = open_file(&w.rtdose).unwrap();
                let s = open_file(&w.rtstruct).unwrap();
                let f = |o: &dicom_object::DefaultDicomObject| {
                    o.get(tags::FRAME_OF_REFERENCE_UID)
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_string()
                };
                assert_ne!(f(&d), f(&s));
            }
            Fault::NonNumericContourData | Fault::DegenerateContour => {
                let s = open_file(&w.rtstruct).unwrap();
                let rc = s
                    .get(tags::ROI_CONTOUR_SEQUENCE)
                    .and_then(|e| e.items())
                    .unwrap();
                let contours = rc[0]
                    .get(tags::CONTOUR_SEQUENCE)
                    .and_then(|e| e.items())
                    .unwrap();
                let expected_n: usize = ph.structures[0]
                    .contour_planes()
                    .iter()
                    .map(|p| p.polygons.len())
                    .sum();
                if fault == Fault::NonNumericContourData {
                    assert_eq!(contours.len(), expected_n);
                    let data = contours[0].get(tags::CONTOUR_DATA).unwrap();
                    assert!(data.to_multi_float64().is_err());
                    match data.value() {
                        Value::Primitive(PrimitiveValue::Strs(v)) => assert_eq!(v[1].trim(), "n/a"),
                        _ => panic!("ContourData is not text"),
                    }
                } else {
                    assert_eq!(contours.len(), expected_n + 1);
                    let last = &contours[expected_n];
                    let n: usize = last
                        .get(tags::NUMBER_OF_CONTOUR_POINTS)
                        .unwrap()
                        .to_int()
                        .unwrap();
                    assert_eq!(n, 2);
                    assert_eq!(
                        last.get(tags::CONTOUR_DATA)
                            .unwrap()
                            .to_multi_float64()
                            .unwrap()
                            .len(),
                        6
                    );
                }
            }
        }
    }
}
