//! RT Struct, RT Plan, dose combination and directory scans on small synthetic files.

mod common;
use common::*;
use dicom_core::VR;
use dicom_dictionary_std::tags;
use radtox_dicom::{
    DicomError, check_same_frame, combine_doses, read_rt_dose, read_rt_plan, read_rt_struct,
    scan_directory,
};

fn roi(number: i32, name: &'static str, contours: Vec<(&'static str, String)>) -> Roi {
    Roi {
        number,
        name,
        color: [number as u8, 2, 3],
        contours,
    }
}

#[test]
fn structures_matched_by_number_with_holes_points_and_degenerate_contours() {
    let dir = tempfile::tempdir().unwrap();
    let rois = [
        roi(
            7,
            "PTV",
            vec![
                // Outer square and a hole on the same plane (z jitter of 4 µm merges them).
                ("CLOSED_PLANAR", square(0.0, 0.0, 10.0, 2.0)),
                ("CLOSED_PLANAR", square(2.0, 2.0, 2.0, 2.004)),
                ("CLOSED_PLANAR", square(0.0, 0.0, 10.0, -1.0)),
                ("POINT", ds(&[1.0, 1.0, 1.0])),
            ],
        ),
        roi(
            3,
            "Heart",
            vec![
                ("CLOSED_PLANAR", square(5.0, 5.0, 4.0, 0.0)),
                // Two distinct points only, then three collinear points.
                (
                    "CLOSED_PLANAR",
                    ds(&[0.0, 0.0, 6.0, 1.0, 1.0, 6.0, 0.0, 0.0, 6.0]),
                ),
                (
                    "CLOSED_PLANAR",
                    ds(&[0.0, 0.0, 9.0, 1.0, 1.0, 9.0, 2.0, 2.0, 9.0]),
                ),
                // A sagittal contour: not axial.
                (
                    "CLOSED_PLANAR",
                    ds(&[0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 5.0, 5.0]),
                ),
                ("OPEN_PLANAR", ds(&[0.0, 0.0, 1.0, 1.0, 0.0, 1.0])),
            ],
        ),
        roi(12, "Empty", vec![]),
    ];
    let p = write_struct(&dir.path().join("rs.dcm"), &rois, FRAME, "1.2.3.9");
    let ss = read_rt_struct(&p).unwrap();
    assert_eq!(ss.frame_of_reference_uid.as_deref(), Some(FRAME));
    assert_eq!(ss.label.as_deref(), Some("TEST"));
    let names: Vec<(i32, &str)> = ss
        .structures
        .iter()
        .map(|s| (s.roi_number, s.name.as_str()))
        .collect();
    assert_eq!(names, vec![(7, "PTV"), (3, "Heart"), (12, "Empty")]);

    // ROIContourSequence was written in reverse order: colours prove matching by number.
    let ptv = &ss.structures[0];
    assert_eq!(ptv.color, Some([7, 2, 3]));
    assert_eq!(ptv.interpreted_type.as_deref(), Some("PTV"));
    assert_eq!(ptv.planes.len(), 2);
    assert_eq!(ptv.planes[0].z, -1.0);
    assert!((ptv.planes[1].z - 2.002).abs() < 1e-9); // mean of 2.0 and 2.004
    assert_eq!(ptv.planes[1].polygons.len(), 2);
    assert_eq!(ptv.planes[1].polygons[0].signed_area().abs(), 100.0);
    assert_eq!(ptv.ignored.len(), 1);
    assert_eq!(
        (ptv.ignored[0].geometric_type.as_str(), ptv.ignored[0].count),
        ("POINT", 1)
    );

    let heart = &ss.structures[1];
    assert_eq!(heart.color, Some([3, 2, 3]));
    assert_eq!(heart.planes.len(), 1);
    assert_eq!(heart.ignored[0].geometric_type, "OPEN_PLANAR");
    let w = ss.warnings.join("\n");
    assert!(
        w.contains("ROI 3 'Heart': degenerate contour 2 at z = 6.00"),
        "{w}"
    );
    assert!(
        w.contains("ROI 3 'Heart': degenerate contour 3 at z = 9.00"),
        "{w}"
    );
    assert!(
        w.contains("ROI 3 'Heart': contour 4") && w.contains("not axial"),
        "{w}"
    );

    assert!(ss.structures[2].is_empty());
}

#[test]
fn bad_contour_data_names_file_roi_and_tag() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_struct(
        &dir.path().join("rs_text.dcm"),
        &[roi(
            4,
            "Lung",
            vec![("CLOSED_PLANAR", "1.0\\abc\\2.0".to_string())],
        )],
        FRAME,
        "1.2.3.9",
    );
    let e = read_rt_struct(&p).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, DicomError::BadValue { .. }));
    assert!(
        msg.contains("rs_text.dcm")
            && msg.contains("(3006,0050) ContourData")
            && msg.contains("ROI 4 'Lung'"),
        "{msg}"
    );

    let p = write_struct(
        &dir.path().join("rs_count.dcm"),
        &[roi(
            4,
            "Lung",
            vec![("CLOSED_PLANAR", ds(&[0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0]))],
        )],
        FRAME,
        "1.2.3.9",
    );
    let msg = read_rt_struct(&p).unwrap_err().to_string();
    assert!(
        msg.contains("(3006,0050)") && msg.contains("7 numbers") && msg.contains("ROI 4 'Lung'"),
        "{msg}"
    );
}

#[test]
fn frame_of_reference_mismatch_names_both_uids_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let ss = read_rt_struct(&write_struct(
        &dir.path().join("rs.dcm"),
        &[roi(
            1,
            "BODY",
            vec![("CLOSED_PLANAR", square(0.0, 0.0, 1.0, 0.0))],
        )],
        "9.9.9",
        "1.2.3.9",
    ))
    .unwrap();
    let dose =
        read_rt_dose(&DoseSpec::hfs(1, 1, 1, vec![1]).write(&dir.path().join("rd.dcm"))).unwrap();
    let msg = check_same_frame(&dose.info, &ss).unwrap_err().to_string();
    assert!(
        msg.contains(FRAME)
            && msg.contains("9.9.9")
            && msg.contains("rd.dcm")
            && msg.contains("rs.dcm"),
        "{msg}"
    );
    let mut unknown = dose.info.clone();
    unknown.frame_of_reference_uid = None;
    assert!(check_same_frame(&unknown, &ss).is_ok());
}

/// A 2×2×2 dose of constant `gy` (stored ×1000 with scaling 1e-3).
fn constant(
    dir: &std::path::Path,
    name: &str,
    gy: i64,
    summation: &'static str,
    plan: &'static str,
    beams: Vec<i32>,
) -> radtox_dicom::RtDose {
    let mut spec = DoseSpec::hfs(2, 2, 2, vec![gy * 1000; 8]);
    spec.summation = summation;
    spec.plan_uid = Some(plan);
    spec.beams = beams;
    spec.sop_uid = format!("1.2.3.4.{}", name.len() * 100 + gy as usize);
    read_rt_dose(&spec.write(&dir.join(name))).unwrap()
}

#[test]
fn beam_and_plan_doses_are_never_double_counted() {
    let dir = tempfile::tempdir().unwrap();
    let b1 = constant(dir.path(), "beam1.dcm", 1, "BEAM", "1.9", vec![1]);
    let b2 = constant(dir.path(), "beam2.dcm", 2, "BEAM", "1.9", vec![2]);
    let plan = constant(dir.path(), "plan.dcm", 3, "PLAN", "1.9", vec![]);
    let c = combine_doses(vec![b1.clone(), b2.clone(), plan]).unwrap();
    assert!(c.grid.dose.iter().all(|&v| (v - 3.0).abs() < 1e-6));
    assert_eq!(c.used, vec![dir.path().join("plan.dcm")]);
    assert_eq!(c.ignored.len(), 2);
    assert!(
        c.summary
            .contains("ignored beam1.dcm: BEAM dose already included in PLAN dose plan.dcm"),
        "{}",
        c.summary
    );

    // Beams only: summed, and a copy of beam 1 is not added twice.
    let b1_copy = constant(dir.path(), "beam1_copy.dcm", 1, "BEAM", "1.9", vec![1]);
    let c = combine_doses(vec![b1, b2, b1_copy]).unwrap();
    assert!(c.grid.dose.iter().all(|&v| (v - 3.0).abs() < 1e-6));
    assert_eq!(c.used.len(), 2);
    assert!(
        c.summary
            .starts_with("summed 2 doses: BEAM beam1.dcm + BEAM beam2.dcm"),
        "{}",
        c.summary
    );
    assert!(
        c.summary.contains("ignored beam1_copy.dcm"),
        "{}",
        c.summary
    );
}

#[test]
fn plan_doses_of_different_plans_are_summed_and_grids_resampled() {
    let dir = tempfile::tempdir().unwrap();
    let a = constant(dir.path(), "a.dcm", 2, "PLAN", "1.1", vec![]);
    // Plan B on a grid shifted by half a voxel in x, dose linear in x: trilinear is exact.
    let mut spec = DoseSpec::hfs(2, 2, 3, (0..12).map(|i| (i % 3) * 1000).collect());
    spec.ipp = [-0.5, 0.0, 0.0];
    spec.plan_uid = Some("1.2");
    spec.sop_uid = "1.2.3.4.77".into();
    let b = read_rt_dose(&spec.write(&dir.path().join("b.dcm"))).unwrap();
    let c = combine_doses(vec![a, b]).unwrap();
    // B(x) = x + 0.5 Gy at x = 0, 1.
    for ((_, _, ix), v) in c.grid.dose.indexed_iter() {
        assert!((v - (2.0 + ix as f32 + 0.5)).abs() < 1e-5, "{v}");
    }
    assert!(c.summary.contains("2 different plans"), "{}", c.summary);
    assert!(c.summary.contains("resampled"), "{}", c.summary);
    assert!(c.tps_dvhs.is_empty());

    // Doses in different frames of reference cannot be summed.
    let mut other = DoseSpec::hfs(2, 2, 2, vec![1; 8]);
    other.frame_uid = "7.7.7";
    let o = read_rt_dose(&other.write(&dir.path().join("o.dcm"))).unwrap();
    let a = constant(dir.path(), "a.dcm", 2, "PLAN", "1.1", vec![]);
    let e = combine_doses(vec![a, o]).unwrap_err();
    assert!(
        matches!(e, DicomError::FrameOfReferenceMismatch { .. }),
        "{e}"
    );
}

#[test]
fn plan_prescription_falls_back_to_beam_doses() {
    let dir = tempfile::tempdir().unwrap();
    // Both beams state their dose at one specification point: their sum is the
    // prescription. With different points (multi-isocentre) it is not (second half).
    // BeamDoseSpecificationPoint (300A,0082) is retired but still written by planning systems.
    #[allow(deprecated)]
    let point = tags::BEAM_DOSE_SPECIFICATION_POINT;
    let beams_at = |p1: &str, p2: &str| {
        vec![
            item(vec![
                s(point, VR::DS, p1),
                s(tags::BEAM_DOSE, VR::DS, "1.5"),
                s(tags::REFERENCED_BEAM_NUMBER, VR::IS, "1"),
            ]),
            item(vec![
                s(point, VR::DS, p2),
                s(tags::BEAM_DOSE, VR::DS, "0.5"),
                s(tags::REFERENCED_BEAM_NUMBER, VR::IS, "2"),
            ]),
        ]
    };
    let beams = beams_at("0\\0\\0", "0\\0\\0");
    let obj_with_beams = |beams| {
        item(vec![
            s(tags::SOP_CLASS_UID, VR::UI, RT_PLAN),
            s(tags::SOP_INSTANCE_UID, VR::UI, "1.9"),
            s(tags::MODALITY, VR::CS, "RTPLAN"),
            s(tags::RT_PLAN_LABEL, VR::SH, "Lung"),
            seq(
                tags::DOSE_REFERENCE_SEQUENCE,
                vec![item(vec![
                    s(tags::DOSE_REFERENCE_NUMBER, VR::IS, "1"),
                    s(tags::DOSE_REFERENCE_TYPE, VR::CS, "TARGET"),
                ])],
            ),
            seq(
                tags::FRACTION_GROUP_SEQUENCE,
                vec![item(vec![
                    s(tags::NUMBER_OF_FRACTIONS_PLANNED, VR::IS, "10"),
                    seq(tags::REFERENCED_BEAM_SEQUENCE, beams),
                ])],
            ),
        ])
    };
    let obj = obj_with_beams(beams);
    let p = dir.path().join("rp.dcm");
    write(obj, &p, EXPLICIT_LE);
    let plan = read_rt_plan(&p).unwrap();
    assert_eq!(plan.fractions, Some(10));
    assert_eq!(plan.prescription_gy(), Some(20.0)); // (1.5 + 0.5) Gy × 10
    assert!(plan.warnings.iter().any(|w| w.contains("BeamDose")));

    let p2 = dir.path().join("rp2.dcm");
    write(
        obj_with_beams(beams_at("0\\0\\0", "40\\0\\0")),
        &p2,
        EXPLICIT_LE,
    );
    let plan2 = read_rt_plan(&p2).unwrap();
    assert_eq!(plan2.prescription_gy(), None);
    assert!(
        plan2
            .warnings
            .iter()
            .any(|w| w.contains("prescription unknown"))
    );
}

#[test]
fn scan_picks_the_structure_set_the_plan_references() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let body = || {
        vec![roi(
            1,
            "BODY",
            vec![("CLOSED_PLANAR", square(0.0, 0.0, 1.0, 0.0))],
        )]
    };
    write_struct(&d.join("a_struct.bin"), &body(), FRAME, "1.5.1");
    write_struct(&d.join("b_struct.bin"), &body(), FRAME, "1.5.2");
    DoseSpec::hfs(1, 1, 1, vec![1]).write(&d.join("dose"));
    std::fs::write(d.join("readme.txt"), "export notes").unwrap();

    // No plan: two structure sets cannot be told apart.
    let msg = scan_directory(d).unwrap_err().to_string();
    assert!(
        msg.contains("2 RT Structure Sets")
            && msg.contains("a_struct.bin")
            && msg.contains("b_struct.bin"),
        "{msg}"
    );

    let plan = item(vec![
        s(tags::SOP_CLASS_UID, VR::UI, RT_PLAN),
        s(tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.4.5.6.200"),
        s(tags::MODALITY, VR::CS, "RTPLAN"),
        s(tags::FRAME_OF_REFERENCE_UID, VR::UI, FRAME),
        seq(
            tags::REFERENCED_STRUCTURE_SET_SEQUENCE,
            vec![item(vec![
                s(tags::REFERENCED_SOP_CLASS_UID, VR::UI, RT_STRUCT),
                s(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, "1.5.2"),
            ])],
        ),
    ]);
    write(plan, &d.join("plan.x"), EXPLICIT_LE);
    let export = scan_directory(d).unwrap();
    assert_eq!(export.structure_set, d.join("b_struct.bin"));
    assert_eq!(export.plan, Some(d.join("plan.x")));
    assert_eq!(export.doses, vec![d.join("dose")]);
    assert!(
        export
            .notes
            .iter()
            .any(|n| n.contains("chose b_struct.bin")),
        "{:?}",
        export.notes
    );
}
