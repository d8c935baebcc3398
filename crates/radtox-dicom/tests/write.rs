//! RT Dose writer: write → read round trips on a real export and on synthetic grids.

use dicom_dictionary_std::tags;
use ndarray::Array3;
use radtox_dicom::{DicomError, RtDoseWriteSpec, read_rt_dose, write_rt_dose};
use radtox_model::{DoseGrid, DoseSummationType, DoseUnits};
use std::path::{Path, PathBuf};

fn data(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")).join(rel)
}

fn spec() -> RtDoseWriteSpec {
    RtDoseWriteSpec {
        study_instance_uid: "1.2.3.4".into(),
        frame_of_reference_uid: "1.2.3.5".into(),
        patient_name: Some("Doe^Jane".into()),
        patient_id: Some("PID-1".into()),
        patient_birth_date: None,
        patient_sex: None,
        referenced_plan_uid: Some("1.2.3.6".into()),
        dose_type: "EFFECTIVE".into(),
        series_description: "radtox EQD2".into(),
        dose_comment: "EQD2 LQ α/β=2 Gy, 5 fx".into(),
        uid_seed: None,
    }
}

fn text(path: &Path, tag: dicom_core::Tag) -> String {
    let obj = dicom_object::open_file(path).unwrap();
    obj.element(tag)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_matches([' ', '\0'])
        .to_string()
}

#[test]
fn real_dose_round_trip_within_one_scaling_step() {
    let src = data("dicompyler-example/rtdose.dcm");
    if !src.exists() {
        eprintln!("skipped: {} absent", src.display());
        return;
    }
    let source = read_rt_dose(&src).unwrap();
    let spec =
        RtDoseWriteSpec::from_source_dose(&src, "radtox EQD2", "EQD2 LQ α/β=2 Gy, 5 fx").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("eqd2.dcm");
    let written = write_rt_dose(&out, &source.grid, &spec).unwrap();
    let back = read_rt_dose(&out).unwrap();

    assert_eq!(back.grid.dims(), source.grid.dims());
    for (a, b) in [
        (&back.grid.x, &source.grid.x),
        (&back.grid.y, &source.grid.y),
        (&back.grid.z, &source.grid.z),
    ] {
        for (p, q) in a.iter().zip(b) {
            assert!((p - q).abs() < 1e-6, "{p} vs {q}");
        }
    }
    let step = written.dose_grid_scaling as f32;
    let worst = back
        .grid
        .dose
        .iter()
        .zip(source.grid.dose.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    // Half a step from rounding, plus f32 representation of values up to the maximum.
    let tolerance = step + source.grid.max_dose() * f32::EPSILON * 2.0;
    assert!(worst <= tolerance, "worst {worst} > {tolerance}");

    assert_ne!(back.info.sop_instance_uid, source.info.sop_instance_uid);
    assert_eq!(
        back.info.sop_instance_uid.as_deref(),
        Some(written.sop_instance_uid.as_str())
    );
    assert_eq!(
        back.info.frame_of_reference_uid,
        source.info.frame_of_reference_uid
    );
    assert_eq!(
        back.info.referenced_plan_uid,
        source.info.referenced_plan_uid
    );
    assert_eq!(back.info.dose_type.as_deref(), Some("EFFECTIVE"));
    assert_eq!(back.info.summation, DoseSummationType::Plan);
    assert_eq!(back.info.units, DoseUnits::Gy);
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    for tag in [
        tags::PATIENT_NAME,
        tags::PATIENT_ID,
        tags::STUDY_INSTANCE_UID,
    ] {
        assert_eq!(text(&out, tag), text(&src, tag));
    }
    assert_ne!(
        text(&out, tags::SERIES_INSTANCE_UID),
        text(&src, tags::SERIES_INSTANCE_UID)
    );
    assert_eq!(text(&out, tags::DOSE_COMMENT), "EQD2 LQ α/β=2 Gy, 5 fx");
}

/// dose = 0.01·x + 0.02·y + 0.03·z + 1 on a grid with non-uniform z.
fn synthetic() -> DoseGrid {
    let x = vec![-10.0, -7.5, -5.0, -2.5];
    let y = vec![20.0, 22.0, 24.0];
    let z = vec![-3.0, -1.0, 0.0, 4.5];
    let dose = Array3::from_shape_fn((4, 3, 4), |(iz, iy, ix)| {
        (0.01 * x[ix] + 0.02 * y[iy] + 0.03 * z[iz] + 1.0) as f32
    });
    DoseGrid::new(x, y, z, dose).unwrap()
}

#[test]
fn synthetic_grid_with_uneven_z_and_seeded_uids() {
    let grid = synthetic();
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec();
    s.uid_seed = Some("job-42".into());
    let first = write_rt_dose(&dir.path().join("a.dcm"), &grid, &s).unwrap();
    let second = write_rt_dose(&dir.path().join("b.dcm"), &grid, &s).unwrap();
    assert_eq!(first.sop_instance_uid, second.sop_instance_uid);
    assert_eq!(first.series_instance_uid, second.series_instance_uid);
    assert_ne!(first.sop_instance_uid, first.series_instance_uid);
    // The maximum (1.59 Gy at x = −2.5, y = 24, z = 4.5) maps to the top of the u32 range.
    let max = grid.max_dose() as f64;
    assert!((max / first.dose_grid_scaling - u32::MAX as f64).abs() < 10.0);

    let back = read_rt_dose(&first.path).unwrap();
    assert_eq!(back.grid.z, grid.z);
    assert_eq!(back.grid.x, grid.x);
    assert_eq!(back.grid.y, grid.y);
    for ((iz, iy, ix), v) in back.grid.dose.indexed_iter() {
        let want = 0.01 * grid.x[ix] + 0.02 * grid.y[iy] + 0.03 * grid.z[iz] + 1.0;
        assert!((*v as f64 - want).abs() < 1e-6, "{v} vs {want}");
    }
    let mut unseeded = spec();
    unseeded.uid_seed = None;
    let r1 = write_rt_dose(&dir.path().join("c.dcm"), &grid, &unseeded).unwrap();
    let r2 = write_rt_dose(&dir.path().join("d.dcm"), &grid, &unseeded).unwrap();
    assert_ne!(r1.sop_instance_uid, r2.sop_instance_uid);
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn refuses_what_an_rt_dose_cannot_hold() {
    let dir = tempfile::tempdir().unwrap();
    let mut grid = synthetic();
    grid.x = vec![-10.0, -7.5, -5.0, -1.0];
    let e = write_rt_dose(&dir.path().join("x.dcm"), &grid, &spec()).unwrap_err();
    assert!(
        matches!(e, DicomError::Export { .. }) && e.to_string().contains("x positions"),
        "{e}"
    );
    let mut grid = synthetic();
    grid.dose[[0, 0, 0]] = -0.5;
    let e = write_rt_dose(&dir.path().join("n.dcm"), &grid, &spec()).unwrap_err();
    assert!(e.to_string().contains("-0.5"), "{e}");
    let mut grid = synthetic();
    grid.dose[[1, 1, 1]] = f32::NAN;
    assert!(write_rt_dose(&dir.path().join("nan.dcm"), &grid, &spec()).is_err());
    // An all-zero grid is valid (scaling 1).
    let mut grid = synthetic();
    grid.dose.fill(0.0);
    let w = write_rt_dose(&dir.path().join("zero.dcm"), &grid, &spec()).unwrap();
    assert_eq!(read_rt_dose(&w.path).unwrap().grid.max_dose(), 0.0);
}

#[test]
fn pydicom_reads_the_written_file() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import pydicom"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("skipped: python3 with pydicom is not available");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let w = write_rt_dose(&dir.path().join("p.dcm"), &synthetic(), &spec()).unwrap();
    let script = r#"
import sys, struct, pydicom
ds = pydicom.dcmread(sys.argv[1])
# Raw pixels (NumPy may be absent): little endian u32, frames × rows × columns.
px = struct.unpack("<%dI" % (len(ds.PixelData) // 4), ds.PixelData)
assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.481.2", ds.SOPClassUID
assert ds.Modality == "RTDOSE"
assert int(ds.NumberOfFrames) == 4 and ds.Rows == 3 and ds.Columns == 4
assert ds.BitsAllocated == 32 and ds.PixelRepresentation == 0
assert len(px) == 4 * 3 * 4, len(px)
top = max(px) * float(ds.DoseGridScaling)
assert abs(top - 1.59) < 1e-6, top
assert [float(v) for v in ds.GridFrameOffsetVector] == [0.0, 2.0, 3.0, 7.5]
assert ds.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID == "1.2.3.6"
print("ok")
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&w.path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pydicom: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
