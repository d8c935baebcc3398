//! Every file of `../shared/data/` read as what it is, with values checked independently
//! (raw bytes decoded by hand here, or figures from the data README).

mod common;
use common::data;
use radtox_dicom::{
    DicomError, check_same_frame, combine_doses, read_rt_dose, read_rt_plan, read_rt_struct,
    scan_directory,
};
use radtox_model::{DoseSummationType, DoseUnits, TpsDvhType, TpsVolumeUnits};

/// The last `n` bytes of a file whose final element is PixelData (7FE0,0010) of `n` bytes,
/// checked by looking at the element header just before them.
fn trailing_pixel_data(path: &std::path::Path, n: usize, explicit_be: bool) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let start = bytes.len() - n;
    let tag = &bytes[start - 8..start - 4];
    let expect: &[u8] = if explicit_be {
        &[0x7F, 0xE0, 0x00, 0x10]
    } else {
        &[0xE0, 0x7F, 0x10, 0x00]
    };
    if explicit_be {
        // explicit VR BE: tag(4) VR(2) reserved(2) length(4)
        assert_eq!(&bytes[start - 12..start - 8], expect);
    } else {
        assert_eq!(tag, expect);
    }
    bytes[start..].to_vec()
}

#[test]
fn pydicom_edge_doses_decode_identically_across_encodings() {
    let plain = read_rt_dose(&data("pydicom-edge/rtdose.dcm")).unwrap();
    let be = read_rt_dose(&data("pydicom-edge/rtdose_expb.dcm")).unwrap();
    let rle = read_rt_dose(&data("pydicom-edge/rtdose_rle.dcm")).unwrap();

    // Independent decode of the implicit VR LE file: 15 frames × 10 × 10 u32 LE × 1e-6.
    let raw = trailing_pixel_data(&data("pydicom-edge/rtdose.dcm"), 6000, false);
    let expected: Vec<f32> = raw
        .chunks_exact(4)
        .map(|b| (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64 * 1e-6) as f32)
        .collect();
    // HFS with increasing offsets: file order is the canonical order.
    assert_eq!(
        plain.grid.dose.iter().copied().collect::<Vec<_>>(),
        expected
    );
    // First sample: words [3816, 19] → 19·65536 + 3816 = 1 249 000 → 1.249.
    assert!((plain.grid.dose[[0, 0, 0]] - 1.249).abs() < 1e-6);

    // The big endian file, decoded by hand as u32 BE, is the same dose.
    let raw_be = trailing_pixel_data(&data("pydicom-edge/rtdose_expb.dcm"), 6000, true);
    let be_manual: Vec<f32> = raw_be
        .chunks_exact(4)
        .map(|b| (u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64 * 1e-6) as f32)
        .collect();
    assert_eq!(be_manual, expected);

    assert_eq!(be.grid, plain.grid);
    assert_eq!(rle.grid, plain.grid);
    assert_eq!(rle.info, plain.info.clone_with_source(&rle.info.source));
    assert_eq!(be.info, plain.info.clone_with_source(&be.info.source));

    // Geometry: IPP (189.43125, 199.43125, -761.87), 10 mm pixels, frames 5 mm apart.
    let g = &plain.grid;
    assert_eq!(g.dims(), [15, 10, 10]);
    assert!((g.x[0] - 189.43125).abs() < 1e-9 && (g.x[9] - 279.43125).abs() < 1e-9);
    assert!((g.y[0] - 199.43125).abs() < 1e-9 && (g.y[9] - 289.43125).abs() < 1e-9);
    assert!((g.z[0] + 761.87).abs() < 1e-9 && (g.z[14] + 691.87).abs() < 1e-9);
    assert_eq!(plain.info.units, DoseUnits::Relative);
    assert_eq!(plain.info.summation, DoseSummationType::Beam);
    assert_eq!(plain.info.referenced_beams, vec![1]);
    assert_eq!(
        plain.info.referenced_plan_uid.as_deref(),
        Some("1.2.123.456.78.9.0123.4567.89012345678901")
    );
    // The RLE file stores its attributes as VR UN; DoseGridScaling must be 1e-6, not 49.
    assert!(rle.warnings.iter().any(|w| w.contains("VR UN")));
}

trait WithSource {
    fn clone_with_source(&self, p: &std::path::Path) -> Self;
}
impl WithSource for radtox_model::DoseInfo {
    fn clone_with_source(&self, p: &std::path::Path) -> Self {
        let mut c = self.clone();
        c.source = p.to_path_buf();
        c
    }
}

#[test]
fn single_frame_dose_without_number_of_frames() {
    // No NumberOfFrames, 15 offsets, 400 bytes of pixel data = exactly one 10×10 frame of
    // u32: one frame, the extra offsets ignored with a warning.
    let one = read_rt_dose(&data("pydicom-edge/rtdose_1frame.dcm")).unwrap();
    let full = read_rt_dose(&data("pydicom-edge/rtdose.dcm")).unwrap();
    assert_eq!(one.grid.dims(), [1, 10, 10]);
    assert_eq!(one.grid.z, vec![-761.87]);
    assert_eq!(
        one.grid.dose.index_axis(ndarray::Axis(0), 0),
        full.grid.dose.index_axis(ndarray::Axis(0), 0)
    );
    assert!(
        one.warnings
            .iter()
            .any(|w| w.contains("15 values for 1 frame"))
    );
}

#[test]
fn dicompyler_dose_grid_dvhs_and_raw_values() {
    let path = data("dicompyler-example/rtdose.dcm");
    let d = read_rt_dose(&path).unwrap();
    let g = &d.grid;
    // 194 columns (x) × 129 rows (y) × 98 frames (z); 2.5 mm pixels, 3 mm frames.
    assert_eq!(g.dims(), [98, 129, 194]);
    let sp = g.mean_spacing();
    assert!((sp[0] - 2.5).abs() < 1e-9 && (sp[1] - 2.5).abs() < 1e-9 && (sp[2] - 3.0).abs() < 1e-9);
    assert!((g.x[0] + 228.6541915).abs() < 1e-9);
    assert!((g.y[0] + 419.2444776).abs() < 1e-9);
    assert!((g.z[0] + 122.4407).abs() < 1e-9);
    assert_eq!(d.info.units, DoseUnits::Gy);
    assert_eq!(d.info.summation, DoseSummationType::Plan);

    // Independent decode: u32 LE × 1.4e-5, file order = canonical order for HFS.
    let n = 98 * 129 * 194;
    let raw = trailing_pixel_data(&path, n * 4, false);
    let mut max = 0u32;
    for (i, b) in raw.chunks_exact(4).enumerate() {
        let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        max = max.max(v);
        if i % 9973 == 0 {
            let (k, r, c) = (i / (129 * 194), (i / 194) % 129, i % 194);
            assert_eq!(g.dose[[k, r, c]], (v as f64 * 1.4e-5) as f32, "voxel {i}");
        }
    }
    assert_eq!(g.max_dose(), (max as f64 * 1.4e-5) as f32);
    assert!(g.max_dose() > 14.0 && g.max_dose() < 16.0); // 14 Gy prescription

    // DVH Sequence: 9 cumulative DVHs in cm³, matched by ROI number; BODY (ROI 1) first
    // with 1470 bins of 0.01 Gy and 13944.42 cm³ in the first bin.
    assert_eq!(d.tps_dvhs.len(), 9);
    let body = d.tps_dvhs.iter().find(|h| h.roi_number == 1).unwrap();
    assert_eq!(body.dvh_type, TpsDvhType::Cumulative);
    assert_eq!(body.volume_units, TpsVolumeUnits::Cm3);
    assert_eq!(body.bin_widths_gy.len(), 1470);
    assert!((body.bin_widths_gy[0] - 0.01).abs() < 1e-12);
    assert!((body.volumes[0] - 13944.4228874521).abs() < 1e-9);
    assert!(d.tps_dvhs.iter().any(|h| h.roi_number == 3));
}

#[test]
fn dicompyler_struct_plan_and_frame() {
    let ss = read_rt_struct(&data("dicompyler-example/rtss.dcm")).unwrap();
    assert_eq!(ss.structures.len(), 10);
    let names: Vec<&str> = ss.structures.iter().map(|s| s.name.as_str()).collect();
    for n in ["BODY", "Heart", "Lt Lung", "Breast", "Tumor Bed"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let heart = ss.structures.iter().find(|s| s.name == "Heart").unwrap();
    assert_eq!(heart.roi_number, 5);
    assert_eq!(heart.interpreted_type.as_deref(), Some("ORGAN"));
    assert!(!heart.is_empty());
    assert!(heart.planes.windows(2).all(|w| w[0].z < w[1].z));
    // Areola has no contours: an empty structure, not an error.
    assert!(
        ss.structures
            .iter()
            .find(|s| s.name == "Areola")
            .unwrap()
            .is_empty()
    );

    let plan = read_rt_plan(&data("dicompyler-example/rtplan.dcm")).unwrap();
    assert_eq!(plan.prescription_gy(), Some(14.0));
    assert_eq!(plan.fractions, Some(7));
    assert_eq!(plan.referenced_structure_set_uid, ss.sop_instance_uid);

    let dose = read_rt_dose(&data("dicompyler-example/rtdose.dcm")).unwrap();
    check_same_frame(&dose.info, &ss).unwrap();
    assert_eq!(dose.info.referenced_plan_uid, plan.sop_instance_uid);
}

#[test]
fn raystation_export() {
    let dir = data("raystation-brain-srs");
    let export = scan_directory(&dir).unwrap();
    assert_eq!(export.doses.len(), 1);
    assert!(export.plan.is_some());
    assert!(export.ct.is_empty());
    let dose = read_rt_dose(&export.doses[0]).unwrap();
    // README: 63×78×79 at 3 mm.
    assert_eq!(dose.grid.dims(), [79, 78, 63]);
    assert_eq!(dose.grid.mean_spacing(), [3.0, 3.0, 3.0]);
    let ss = read_rt_struct(&export.structure_set).unwrap();
    check_same_frame(&dose.info, &ss).unwrap();
    for i in 1..=5 {
        let gtv = ss
            .structures
            .iter()
            .find(|s| s.name == format!("GTV_{i}"))
            .unwrap();
        assert!(!gtv.is_empty());
        assert_eq!(gtv.interpreted_type.as_deref(), Some("GTV"));
    }
    // Isocentre markers are POINT contours: recorded, not used.
    let iso = ss
        .structures
        .iter()
        .find(|s| s.name == "isocenter all")
        .unwrap();
    assert!(iso.is_empty());
    assert_eq!(iso.ignored[0].geometric_type, "POINT");
    let plan = read_rt_plan(export.plan.as_ref().unwrap()).unwrap();
    assert_eq!(plan.fractions, Some(5));
    assert_eq!(plan.referenced_structure_set_uid, ss.sop_instance_uid);
    // No DoseReferenceSequence: the BeamDose fallback is used and said.
    assert!(plan.warnings.iter().any(|w| w.contains("BeamDose")));
    let combined = combine_doses(vec![dose]).unwrap();
    assert_eq!(combined.used.len(), 1);
}

#[test]
fn dicompyler_directory_scan() {
    let export = scan_directory(&data("dicompyler-example")).unwrap();
    assert_eq!(export.doses, vec![data("dicompyler-example/rtdose.dcm")]);
    assert_eq!(export.structure_set, data("dicompyler-example/rtss.dcm"));
    assert_eq!(export.plan, Some(data("dicompyler-example/rtplan.dcm")));
    assert_eq!(export.ct, vec![data("dicompyler-example/ct.0.dcm")]);
    // The licence file is not DICOM and is skipped by content.
    assert!(export.notes.iter().any(|n| n.contains("non-DICOM")));
}

#[test]
fn pydicom_edge_directory_has_no_consistent_export() {
    // Its RT Struct (frame 1.2.826...) and its doses (frame 2.22...) do not belong together.
    let e = scan_directory(&data("pydicom-edge")).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("no RT Dose in the frame of reference"),
        "{msg}"
    );
    assert!(msg.contains("rtdose.dcm"), "{msg}");
}

#[test]
fn struct_without_preamble_or_meta() {
    let ss = read_rt_struct(&data("pydicom-edge/rtstruct.dcm")).unwrap();
    assert_eq!(ss.structures.len(), 3);
    assert_eq!(ss.structures[0].name, "patient");
    assert_eq!(ss.structures[0].planes.len(), 3);
    assert!(ss.warnings.iter().any(|w| w.contains("no preamble")));
    assert_eq!(ss.structures[1].ignored[0].geometric_type, "POINT");
}

#[test]
fn plans_complete_and_truncated() {
    let full = read_rt_plan(&data("pydicom-edge/rtplan.dcm")).unwrap();
    assert_eq!(full.fractions, Some(30));
    assert!((full.prescription_gy().unwrap() - 30.826203).abs() < 1e-9);
    assert!(full.warnings.is_empty());
    let cut = read_rt_plan(&data("pydicom-edge/rtplan_truncated.dcm")).unwrap();
    assert_eq!(cut.fractions, Some(30));
    assert_eq!(cut.prescriptions, full.prescriptions);
    assert!(cut.warnings.iter().any(|w| w.contains("truncated")));
}

#[test]
fn each_file_is_refused_as_what_it_is_not() {
    let ct = data("dicompyler-example/ct.0.dcm");
    assert!(matches!(
        read_rt_dose(&ct),
        Err(DicomError::WrongKind { .. })
    ));
    assert!(matches!(
        read_rt_struct(&ct),
        Err(DicomError::WrongKind { .. })
    ));
    let plan = data("dicompyler-example/rtplan.dcm");
    let e = read_rt_dose(&plan).unwrap_err();
    assert!(e.to_string().contains("RTPLAN"), "{e}");
    let licence = data("dicompyler-example/LICENSE-dicompyler-core");
    assert!(matches!(
        read_rt_plan(&licence),
        Err(DicomError::NotDicom { .. })
    ));
}
