//! CT series reader: synthetic slices with known HU, and a real single slice.

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use radtox_dicom::{DicomError, read_ct_series};
use std::path::{Path, PathBuf};

const CT_CLASS: &str = "1.2.840.10008.5.1.4.1.1.2";

/// The HU every test slice encodes at patient point (x, y, z).
fn hu(x: f64, y: f64, z: f64) -> f64 {
    x + 10.0 * y + 100.0 * z - 1000.0
}

struct SliceSpec {
    ipp: [f64; 3],
    iop: [f64; 6],
    slope: f64,
    intercept: f64,
    frame: &'static str,
}

const ROWS: usize = 3;
const COLS: usize = 4;
/// PixelSpacing: (between rows, between columns).
const SPACING: [f64; 2] = [2.0, 1.0];

fn write_slice(path: &Path, s: &SliceSpec, n: usize) {
    let mut o = InMemDicomObject::new_empty();
    let put = |o: &mut InMemDicomObject, tag: Tag, vr: VR, v: &str| {
        o.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    };
    let ds = |v: &[f64]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join("\\")
    };
    let sop = format!("1.2.3.9.{n}");
    put(&mut o, tags::SOP_CLASS_UID, VR::UI, CT_CLASS);
    put(&mut o, tags::SOP_INSTANCE_UID, VR::UI, &sop);
    put(&mut o, tags::MODALITY, VR::CS, "CT");
    put(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3.8");
    put(&mut o, tags::FRAME_OF_REFERENCE_UID, VR::UI, s.frame);
    put(&mut o, tags::IMAGE_POSITION_PATIENT, VR::DS, &ds(&s.ipp));
    put(&mut o, tags::IMAGE_ORIENTATION_PATIENT, VR::DS, &ds(&s.iop));
    put(&mut o, tags::PIXEL_SPACING, VR::DS, &ds(&SPACING));
    put(&mut o, tags::RESCALE_SLOPE, VR::DS, &s.slope.to_string());
    put(
        &mut o,
        tags::RESCALE_INTERCEPT,
        VR::DS,
        &s.intercept.to_string(),
    );
    put(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    for (tag, v) in [
        (tags::SAMPLES_PER_PIXEL, 1u16),
        (tags::ROWS, ROWS as u16),
        (tags::COLUMNS, COLS as u16),
        (tags::BITS_ALLOCATED, 16),
        (tags::BITS_STORED, 16),
        (tags::HIGH_BIT, 15),
        (tags::PIXEL_REPRESENTATION, 1),
    ] {
        o.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
    }
    let r = [s.iop[0], s.iop[1], s.iop[2]];
    let c = [s.iop[3], s.iop[4], s.iop[5]];
    let mut px = Vec::new();
    for i in 0..ROWS {
        for j in 0..COLS {
            let p: Vec<f64> = (0..3)
                .map(|a| s.ipp[a] + j as f64 * SPACING[1] * r[a] + i as f64 * SPACING[0] * c[a])
                .collect();
            let stored = ((hu(p[0], p[1], p[2]) - s.intercept) / s.slope).round() as i16;
            px.extend_from_slice(&stored.to_le_bytes());
        }
    }
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U8(px.into()),
    ));
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax("1.2.840.10008.1.2.1")
        .media_storage_sop_class_uid(CT_CLASS)
        .media_storage_sop_instance_uid(&sop);
    o.with_meta(meta).unwrap().write_to_file(path).unwrap();
}

fn spec(z: f64, iop: [f64; 6]) -> SliceSpec {
    SliceSpec {
        ipp: [10.0, -20.0, z],
        iop,
        slope: 1.0,
        intercept: -1024.0,
        frame: "1.2.3.7",
    }
}

#[test]
fn unordered_slices_uneven_spacing_and_per_slice_rescale() {
    for iop in [
        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],   // head first supine
        [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0],  // feet first supine
        [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0], // head first prone
    ] {
        let dir = tempfile::tempdir().unwrap();
        let zs = [7.5, 0.0, 2.5, 5.0, 15.0];
        let mut paths = Vec::new();
        for (n, &z) in zs.iter().enumerate() {
            let mut s = spec(z, iop);
            if n == 2 {
                // Another rescale on one slice: HU must come out the same.
                s.slope = 0.5;
                s.intercept = -2000.0;
            }
            let p = dir.path().join(format!("slice{n}.dcm"));
            write_slice(&p, &s, n);
            paths.push(p);
        }
        let ct = read_ct_series(&paths).unwrap();
        assert_eq!(ct.grid.z, vec![0.0, 2.5, 5.0, 7.5, 15.0], "{iop:?}");
        assert_eq!(ct.grid.dims(), [5, ROWS, COLS]);
        let sx = iop[0];
        let sy = iop[4];
        let mut want_x: Vec<f64> = (0..COLS)
            .map(|j| 10.0 + sx * j as f64 * SPACING[1])
            .collect();
        let mut want_y: Vec<f64> = (0..ROWS)
            .map(|i| -20.0 + sy * i as f64 * SPACING[0])
            .collect();
        want_x.sort_by(f64::total_cmp);
        want_y.sort_by(f64::total_cmp);
        assert_eq!(ct.grid.x, want_x);
        assert_eq!(ct.grid.y, want_y);
        for ((iz, iy, ix), v) in ct.grid.dose.indexed_iter() {
            let want = hu(ct.grid.x[ix], ct.grid.y[iy], ct.grid.z[iz]);
            assert_eq!(*v as f64, want, "{iop:?} at {ix},{iy},{iz}");
        }
        assert_eq!(ct.frame_of_reference_uid.as_deref(), Some("1.2.3.7"));
        assert!(
            ct.warnings.iter().any(|w| w.contains("not uniform")),
            "{:?}",
            ct.warnings
        );
        // Slices are listed along the slice normal (row × column cosines): +z for the
        // supine head-first and prone orientations here, −z for feet-first supine.
        let first = if iop[0] * iop[4] > 0.0 {
            &paths[1]
        } else {
            &paths[4]
        };
        assert_eq!(&ct.slices[0], first, "{iop:?}");
    }
}

#[test]
fn inconsistent_slices_are_refused_naming_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let hfs = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    let a = dir.path().join("a.dcm");
    write_slice(&a, &spec(0.0, hfs), 0);

    let b = dir.path().join("b.dcm");
    write_slice(&b, &spec(2.0, [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), 1);
    let e = read_ct_series(&[a.clone(), b.clone()]).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("ImageOrientationPatient") && m.contains("a.dcm") && m.contains("b.dcm"),
        "{m}"
    );

    let c = dir.path().join("c.dcm");
    let mut other = spec(2.0, hfs);
    other.frame = "9.9.9";
    write_slice(&c, &other, 2);
    let e = read_ct_series(&[a.clone(), c]).unwrap_err();
    assert!(
        matches!(e, DicomError::FrameOfReferenceMismatch { .. }),
        "{e}"
    );

    let d = dir.path().join("d.dcm");
    write_slice(&d, &spec(0.0, hfs), 3);
    let e = read_ct_series(&[a.clone(), d]).unwrap_err();
    assert!(e.to_string().contains("same position"), "{e}");

    let shifted = dir.path().join("shifted.dcm");
    let mut s = spec(3.0, hfs);
    s.ipp[0] += 5.0;
    write_slice(&shifted, &s, 4);
    let e = read_ct_series(&[a.clone(), shifted]).unwrap_err();
    assert!(matches!(e, DicomError::Unsupported { .. }), "{e}");

    assert!(read_ct_series(&[]).is_err());
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a CT").unwrap();
    assert!(matches!(
        read_ct_series(&[a, text]),
        Err(DicomError::NotDicom { .. })
    ));
}

#[test]
fn real_single_slice() {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/dicompyler-example/ct.0.dcm"
    ));
    if !p.exists() {
        eprintln!("skipped: {} absent", p.display());
        return;
    }
    let ct = read_ct_series(std::slice::from_ref(&p)).unwrap();
    let obj = dicom_object::open_file(&p).unwrap();
    let num = |t| -> Vec<f64> { obj.element(t).unwrap().to_multi_float64().unwrap() };
    let (ipp, ps) = (num(tags::IMAGE_POSITION_PATIENT), num(tags::PIXEL_SPACING));
    let rows = obj.element(tags::ROWS).unwrap().to_int::<usize>().unwrap();
    let cols = obj
        .element(tags::COLUMNS)
        .unwrap()
        .to_int::<usize>()
        .unwrap();
    assert_eq!(ct.grid.dims(), [1, rows, cols]);
    assert_eq!(ct.grid.z, vec![ipp[2]]);
    assert!((ct.grid.x[0] - ipp[0]).abs() < 1e-9 && (ct.grid.y[0] - ipp[1]).abs() < 1e-9);
    assert!((ct.grid.x[1] - ct.grid.x[0] - ps[1]).abs() < 1e-9);
    // Air outside the patient, soft tissue/bone inside: a plausible HU range.
    let (lo, hi) = ct
        .grid
        .dose
        .iter()
        .fold((f32::MAX, f32::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    assert!((-1100.0..=-900.0).contains(&lo), "min HU {lo}");
    assert!(hi > 300.0 && hi < 4000.0, "max HU {hi}");
    // The pixel at row 0, column 0 equals stored × slope + intercept, read independently.
    let slope = num(tags::RESCALE_SLOPE)[0];
    let intercept = num(tags::RESCALE_INTERCEPT)[0];
    let raw = obj.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
    let signed = obj
        .element(tags::PIXEL_REPRESENTATION)
        .unwrap()
        .to_int::<u16>()
        .unwrap()
        == 1;
    let mid = (rows / 2) * cols + cols / 2;
    let word = u16::from_le_bytes([raw[2 * mid], raw[2 * mid + 1]]);
    let stored = if signed {
        word as i16 as f64
    } else {
        word as f64
    };
    assert_eq!(
        ct.grid.dose[[0, rows / 2, cols / 2]] as f64,
        stored * slope + intercept
    );
}
