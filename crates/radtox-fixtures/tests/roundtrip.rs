//! Round-trip checks without the radtox reader: re-open the written files with
//! dicom-object, decode pixels by hand from the raw bytes, place them in patient space
//! with the DICOM equations (PS3.3 C.7.6.2.1.1, C.8.8.3.2) and compare with the analytic
//! dose. This proves the orientation and offset logic independently of any reader.

use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject, open_file};
use radtox_fixtures::*;
use std::path::Path;

/// A small phantom whose dose differs along every axis (so a flipped or transposed axis
/// cannot pass) and whose dims differ per axis (so swapped rows/columns cannot pass).
fn asymmetric() -> Phantom {
    Phantom {
        name: "asymmetric".into(),
        patient_name: "PHANTOM^TEST".into(),
        patient_id: "RADTOX-PH-TEST".into(),
        grid: GridSpec {
            origin: [-12.0, 20.0, -7.5],
            spacing: [3.0, 2.0, 2.5],
            dims: [9, 6, 5],
        },
        dose: DoseModel::Sum(vec![
            DoseTerm::Linear {
                d0: 10.0,
                gradient: [0.3, -0.2, 0.1],
            },
            DoseTerm::Gaussian {
                centre: [3.0, 25.0, -2.5],
                sigma: [4.0, 3.0, 5.0],
                peak: 7.0,
            },
        ]),
        structures: vec![ShapeSpec {
            roi_number: 7,
            name: "PTV".into(),
            interpreted_type: "PTV".into(),
            color: [10, 20, 30],
            shape: Shape::Sphere {
                centre: [0.0, 25.0, -2.0],
                radius: 4.0,
            },
            contour: ContourSpec {
                spacing_mm: 1.0,
                z_offset_mm: 0.5,
                vertices_per_circle: 16,
            },
        }],
        prescription_gy: 12.0,
        fractions: 3,
        plan_label: "ASYM".into(),
        plan_name: "Asymmetric test".into(),
        target_roi: Some(7),
    }
}

fn str_of(o: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    o.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        .unwrap_or_else(|| panic!("missing {tag}"))
}

fn f64s(o: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    o.get(tag)
        .and_then(|e| e.to_multi_float64().ok())
        .unwrap_or_else(|| panic!("missing or non-numeric {tag}"))
}

fn int(o: &InMemDicomObject, tag: dicom_core::Tag) -> i64 {
    o.get(tag)
        .and_then(|e| e.to_int::<i64>().ok())
        .unwrap_or_else(|| panic!("missing {tag}"))
}

fn items(o: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<InMemDicomObject> {
    o.get(tag)
        .and_then(|e| e.items())
        .map(|i| i.to_vec())
        .unwrap_or_else(|| panic!("missing sequence {tag}"))
}

/// PixelData bytes in file order, whatever in-memory type dicom-object chose.
fn file_order_bytes(obj: &DefaultDicomObject, big_endian: bool) -> Vec<u8> {
    let v = obj.get(tags::PIXEL_DATA).expect("PixelData").value();
    match v {
        Value::Primitive(PrimitiveValue::U8(b)) => b.to_vec(),
        Value::Primitive(PrimitiveValue::U16(w)) => w
            .iter()
            .flat_map(|x| {
                if big_endian {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                }
            })
            .collect(),
        Value::Primitive(PrimitiveValue::U32(w)) => w
            .iter()
            .flat_map(|x| {
                if big_endian {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                }
            })
            .collect(),
        _ => panic!("unexpected PixelData value type"),
    }
}

/// Decodes every pixel by hand and checks it against the analytic dose at its patient
/// position; also checks the expected canonical grid a reader must produce.
fn check_dose(ph: &Phantom, path: &Path, opts: &WriteOptions) {
    let obj = open_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        obj.meta().transfer_syntax().trim_end_matches('\0'),
        opts.transfer_syntax.uid()
    );
    assert_eq!(
        str_of(&obj, tags::SOP_CLASS_UID),
        "1.2.840.10008.5.1.4.1.1.481.2"
    );
    assert_eq!(str_of(&obj, tags::MODALITY), "RTDOSE");
    assert_eq!(str_of(&obj, tags::DOSE_UNITS), "GY");
    assert_eq!(str_of(&obj, tags::DOSE_TYPE), "PHYSICAL");
    assert_eq!(str_of(&obj, tags::DOSE_SUMMATION_TYPE), "PLAN");
    assert_eq!(str_of(&obj, tags::PATIENT_NAME), ph.patient_name);
    let rows = int(&obj, tags::ROWS) as usize;
    let cols = int(&obj, tags::COLUMNS) as usize;
    let frames = int(&obj, tags::NUMBER_OF_FRAMES) as usize;
    let bits = int(&obj, tags::BITS_ALLOCATED) as usize;
    assert_eq!(bits, usize::from(opts.bits));
    assert_eq!(int(&obj, tags::BITS_STORED) as usize, bits);
    assert_eq!(int(&obj, tags::HIGH_BIT) as usize, bits - 1);
    assert_eq!(int(&obj, tags::PIXEL_REPRESENTATION), 0);
    let bpp = bits / 8;
    let bytes = file_order_bytes(&obj, opts.transfer_syntax.big_endian());
    assert_eq!(bytes.len(), rows * cols * frames * bpp, "PixelData length");
    let ipp = f64s(&obj, tags::IMAGE_POSITION_PATIENT);
    let iop = f64s(&obj, tags::IMAGE_ORIENTATION_PATIENT);
    let ps = f64s(&obj, tags::PIXEL_SPACING);
    let gfov = f64s(&obj, tags::GRID_FRAME_OFFSET_VECTOR);
    let scaling = f64s(&obj, tags::DOSE_GRID_SCALING)[0];
    assert_eq!(iop, opts.orientation.iop().to_vec());
    assert_eq!(gfov.len(), frames);
    let absolute = matches!(opts.offsets, OffsetStyle::Absolute);
    if absolute {
        assert_eq!(gfov[0], ipp[2]);
    } else {
        assert_eq!(gfov[0], 0.0);
    }
    let expected = ph.expected_dose_grid(opts).unwrap();
    let mut max_err = 0.0f64;
    for (f, off) in gfov.iter().enumerate() {
        for r in 0..rows {
            for c in 0..cols {
                let k = (f * rows + r) * cols + c;
                let b = &bytes[k * bpp..(k + 1) * bpp];
                let raw = match (bpp, opts.transfer_syntax.big_endian()) {
                    (2, false) => u32::from(u16::from_le_bytes([b[0], b[1]])),
                    (2, true) => u32::from(u16::from_be_bytes([b[0], b[1]])),
                    (_, false) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                    (_, true) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                };
                let gy = f64::from(raw) * scaling;
                // PS3.3 C.7.6.2.1.1: P = IPP + c·Δcol·rowcos + r·Δrow·colcos.
                let x = ipp[0] + c as f64 * ps[1] * iop[0] + r as f64 * ps[0] * iop[3];
                let y = ipp[1] + c as f64 * ps[1] * iop[1] + r as f64 * ps[0] * iop[4];
                // PS3.3 C.8.8.3.2 (a): relative offsets run along row × column cosines.
                let normal_z = iop[0] * iop[4] - iop[1] * iop[3];
                let z = if absolute {
                    *off
                } else {
                    ipp[2] + normal_z * off
                };
                let truth = ph.dose.dose_at([x, y, z]);
                let err = (gy - truth).abs();
                max_err = max_err.max(err);
                assert!(
                    err <= scaling * 0.5 + 1e-9,
                    "{opts:?}: pixel (f{f},r{r},c{c}) at ({x},{y},{z}) = {gy}, truth {truth}"
                );
                // The canonical grid a reader must produce holds the same value there.
                let e = expected.interpolate([x, y, z]).expect("inside the grid");
                assert!(
                    (f64::from(e) - gy).abs() < 1e-5 * gy.max(1.0),
                    "{e} vs {gy}"
                );
            }
        }
    }
    assert!(max_err > 0.0 || scaling > 0.0);
}

fn all_options() -> Vec<WriteOptions> {
    let mut v = Vec::new();
    for orientation in Orientation::ALL {
        for transfer_syntax in [Ts::ExplicitLe, Ts::ImplicitLe, Ts::ExplicitBe] {
            for bits in [16, 32] {
                v.push(WriteOptions {
                    orientation,
                    transfer_syntax,
                    bits,
                    ..Default::default()
                });
            }
        }
    }
    for offsets in [
        OffsetStyle::Absolute,
        OffsetStyle::Decreasing,
        OffsetStyle::NonUniform(vec![0.0, 1.0, 3.0, 6.0, 10.0, 15.0]),
    ] {
        for orientation in [Orientation::Hfs, Orientation::Ffdr, Orientation::Ffs] {
            v.push(WriteOptions {
                orientation,
                offsets: offsets.clone(),
                ..Default::default()
            });
        }
    }
    v
}

#[test]
fn dose_decoded_by_hand_equals_analytic_dose_in_every_encoding() {
    let ph = asymmetric();
    let tmp = tempfile::tempdir().unwrap();
    for (i, opts) in all_options().iter().enumerate() {
        let dir = tmp.path().join(format!("v{i}"));
        let w = write_plan(&ph, &dir, opts).unwrap();
        check_dose(&ph, &w.rtdose, opts);
    }
}

#[test]
fn decreasing_offsets_are_leksell_style() {
    let ph = asymmetric();
    let tmp = tempfile::tempdir().unwrap();
    let opts = WriteOptions {
        offsets: OffsetStyle::Decreasing,
        ..Default::default()
    };
    let w = write_plan(&ph, tmp.path(), &opts).unwrap();
    let obj = open_file(&w.rtdose).unwrap();
    let gfov = f64s(&obj, tags::GRID_FRAME_OFFSET_VECTOR);
    assert_eq!(gfov, vec![0.0, -2.5, -5.0, -7.5, -10.0]);
    // IPP at the top slice.
    assert_eq!(
        f64s(&obj, tags::IMAGE_POSITION_PATIENT)[2],
        -7.5 + 4.0 * 2.5
    );
}

#[test]
fn non_uniform_offsets_replace_the_z_axis() {
    let ph = asymmetric();
    let offs = vec![0.0, 1.0, 3.0, 6.0];
    let opts = WriteOptions {
        offsets: OffsetStyle::NonUniform(offs.clone()),
        ..Default::default()
    };
    let g = ph.expected_dose_grid(&opts).unwrap();
    assert_eq!(g.z, vec![-7.5, -6.5, -4.5, -1.5]);
    let bad = WriteOptions {
        offsets: OffsetStyle::NonUniform(vec![0.0, 2.0, 1.0]),
        ..Default::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let err = write_plan(&ph, tmp.path(), &bad).unwrap_err();
    assert!(err.to_string().contains("strictly increasing"), "{err}");
}

#[test]
fn structure_set_and_plan_carry_the_required_attributes_and_references() {
    let ph = asymmetric();
    let tmp = tempfile::tempdir().unwrap();
    for ts in [Ts::ExplicitLe, Ts::ImplicitLe, Ts::ExplicitBe] {
        let opts = WriteOptions {
            transfer_syntax: ts,
            ..Default::default()
        };
        let dir = tmp.path().join(format!("{ts:?}"));
        let w = write_plan(&ph, &dir, &opts).unwrap();
        let dose = open_file(&w.rtdose).unwrap();
        let rs = open_file(&w.rtstruct).unwrap();
        let plan = open_file(&w.rtplan).unwrap();

        assert_eq!(
            str_of(&rs, tags::SOP_CLASS_UID),
            "1.2.840.10008.5.1.4.1.1.481.3"
        );
        assert_eq!(
            str_of(&plan, tags::SOP_CLASS_UID),
            "1.2.840.10008.5.1.4.1.1.481.5"
        );
        assert_eq!(str_of(&rs, tags::MODALITY), "RTSTRUCT");
        assert_eq!(str_of(&plan, tags::MODALITY), "RTPLAN");
        for o in [&dose, &rs, &plan] {
            assert_eq!(str_of(o, tags::STUDY_INSTANCE_UID), ph.uid("study"));
            assert_eq!(
                str_of(o, tags::FRAME_OF_REFERENCE_UID),
                ph.uid("frame-of-reference")
            );
            assert_eq!(str_of(o, tags::PATIENT_ID), ph.patient_id);
            assert!(!str_of(o, tags::SERIES_INSTANCE_UID).is_empty());
            assert_eq!(
                o.meta()
                    .media_storage_sop_instance_uid()
                    .trim_end_matches('\0'),
                str_of(o, tags::SOP_INSTANCE_UID)
            );
        }
        // References: dose → plan → structure set → frame of reference.
        let plan_uid = str_of(&plan, tags::SOP_INSTANCE_UID);
        let rs_uid = str_of(&rs, tags::SOP_INSTANCE_UID);
        let rp = &items(&dose, tags::REFERENCED_RT_PLAN_SEQUENCE)[0];
        assert_eq!(str_of(rp, tags::REFERENCED_SOP_INSTANCE_UID), plan_uid);
        let rss = &items(&plan, tags::REFERENCED_STRUCTURE_SET_SEQUENCE)[0];
        assert_eq!(str_of(rss, tags::REFERENCED_SOP_INSTANCE_UID), rs_uid);
        let rfor = &items(&rs, tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE)[0];
        assert_eq!(
            str_of(rfor, tags::FRAME_OF_REFERENCE_UID),
            ph.uid("frame-of-reference")
        );

        // Plan content.
        assert_eq!(str_of(&plan, tags::RT_PLAN_LABEL), "ASYM");
        let fg = &items(&plan, tags::FRACTION_GROUP_SEQUENCE)[0];
        assert_eq!(int(fg, tags::NUMBER_OF_FRACTIONS_PLANNED), 3);
        let dr = &items(&plan, tags::DOSE_REFERENCE_SEQUENCE)[0];
        assert_eq!(str_of(dr, tags::DOSE_REFERENCE_TYPE), "TARGET");
        assert_eq!(f64s(dr, tags::TARGET_PRESCRIPTION_DOSE), vec![12.0]);
        assert_eq!(int(dr, tags::REFERENCED_ROI_NUMBER), 7);

        // Structure set: ROI identity, observations, and contours exactly as expected.
        let roi = &items(&rs, tags::STRUCTURE_SET_ROI_SEQUENCE)[0];
        assert_eq!(int(roi, tags::ROI_NUMBER), 7);
        assert_eq!(str_of(roi, tags::ROI_NAME), "PTV");
        let obs = &items(&rs, tags::RTROI_OBSERVATIONS_SEQUENCE)[0];
        assert_eq!(int(obs, tags::REFERENCED_ROI_NUMBER), 7);
        assert_eq!(str_of(obs, tags::RTROI_INTERPRETED_TYPE), "PTV");
        let rc = &items(&rs, tags::ROI_CONTOUR_SEQUENCE)[0];
        assert_eq!(int(rc, tags::REFERENCED_ROI_NUMBER), 7);
        assert_eq!(f64s(rc, tags::ROI_DISPLAY_COLOR), vec![10.0, 20.0, 30.0]);
        let expected = ph.structures[0].to_structure();
        let contours = items(rc, tags::CONTOUR_SEQUENCE);
        let n_polys: usize = expected.planes.iter().map(|p| p.polygons.len()).sum();
        assert_eq!(contours.len(), n_polys);
        // The sphere of radius 4 cut every 1 mm at ±0.5, ±1.5, ±2.5, ±3.5 about z = −2.
        assert_eq!(expected.planes.len(), 8);
        let mut k = 0;
        for plane in &expected.planes {
            for poly in &plane.polygons {
                let c = &contours[k];
                k += 1;
                assert_eq!(str_of(c, tags::CONTOUR_GEOMETRIC_TYPE), "CLOSED_PLANAR");
                assert_eq!(
                    int(c, tags::NUMBER_OF_CONTOUR_POINTS) as usize,
                    poly.points.len()
                );
                let data = f64s(c, tags::CONTOUR_DATA);
                let want: Vec<f64> = poly
                    .points
                    .iter()
                    .flat_map(|p| [p[0], p[1], plane.z])
                    .collect();
                assert_eq!(data, want);
                // Every value is a DS of at most 16 characters.
                if let Some(Value::Primitive(PrimitiveValue::Strs(s))) =
                    c.get(tags::CONTOUR_DATA).map(|e| e.value())
                {
                    assert!(s.iter().all(|v| v.trim().len() <= 16));
                }
                // Vertices lie on the analytic sphere (to the written precision).
                for p in &poly.points {
                    let r =
                        ((p[0] - 0.0).powi(2) + (p[1] - 25.0).powi(2) + (plane.z + 2.0).powi(2))
                            .sqrt();
                    assert!((r - 4.0).abs() < 1e-4, "{r}");
                }
            }
        }
    }
}

#[test]
fn invalid_input_is_a_clear_error() {
    let mut ph = asymmetric();
    ph.structures[0].shape = Shape::Sphere {
        centre: [0.0; 3],
        radius: f64::NAN,
    };
    let tmp = tempfile::tempdir().unwrap();
    let err = write_plan(&ph, tmp.path(), &WriteOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("ROI 7") && msg.contains("PTV"), "{msg}");

    let ph = asymmetric();
    let err = write_plan(
        &ph,
        tmp.path(),
        &WriteOptions {
            bits: 12,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("16 or 32"), "{err}");
}
