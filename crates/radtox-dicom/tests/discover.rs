//! Archive discovery on archives generated with radtox-fixtures in a temporary folder.

use radtox_dicom::{discover, sanitize_component};
use radtox_fixtures::{WriteOptions, brain_srs, breast_left, write_plan};
use std::path::{Path, PathBuf};

/// Write phantom `name` (brain SRS geometry) into `dir`, file names prefixed by `prefix`.
fn plan_files(
    dir: &Path,
    mut ph: radtox_fixtures::Phantom,
    name: &str,
    prefix: &str,
) -> [PathBuf; 3] {
    ph.name = name.to_string();
    let tmp = tempfile::tempdir().unwrap();
    let w = write_plan(&ph, tmp.path(), &WriteOptions::default()).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let mut out = Vec::new();
    for (src, role) in [
        (&w.rtdose, "dose"),
        (&w.rtstruct, "struct"),
        (&w.rtplan, "plan"),
    ] {
        let dst = dir.join(format!("{prefix}{role}.dcm"));
        std::fs::copy(src, &dst).unwrap();
        out.push(dst);
    }
    [out[0].clone(), out[1].clone(), out[2].clone()]
}

fn uid(name: &str, role: &str) -> String {
    let mut ph = brain_srs();
    ph.name = name.to_string();
    ph.uid(role)
}

#[test]
fn archive_with_nesting_duplicates_conflicts_and_hostile_ids() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();

    // A plan, and an identical copy of it deep in another folder.
    let [dose_a, struct_a, plan_a] = plan_files(&r.join("patA/plan1"), brain_srs(), "alpha", "");
    let copy = r.join("patA/zz-nested/deeper/copy");
    std::fs::create_dir_all(&copy).unwrap();
    for f in [&dose_a, &struct_a, &plan_a] {
        std::fs::copy(f, copy.join(f.file_name().unwrap())).unwrap();
    }
    std::fs::write(r.join("patA/plan1/notes.txt"), "not DICOM").unwrap();
    std::fs::write(r.join("README.md"), "# archive\n").unwrap();

    // Two plans in one folder.
    let shared = r.join("shared");
    let [dose_b, struct_b, plan_b] = plan_files(&shared, breast_left(), "bravo", "b_");
    let [dose_c, struct_c, plan_c] = plan_files(&shared, brain_srs(), "charlie", "c_");

    // A dose whose structure set is missing.
    let [dose_d, struct_d, plan_d] = plan_files(&r.join("lonely"), brain_srs(), "delta", "");
    std::fs::remove_file(&struct_d).unwrap();

    // Same SOP Instance UID, different bytes: the plan label differs.
    let mut ph = brain_srs();
    ph.plan_label = "LABELA".into();
    let [dose_e, struct_e, plan_e] = plan_files(&r.join("echo"), ph, "echo", "");
    let altered = r.join("echo-altered/rtplan.dcm");
    std::fs::create_dir_all(altered.parent().unwrap()).unwrap();
    let bytes = std::fs::read(&plan_e).unwrap();
    let at = bytes.windows(6).position(|w| w == b"LABELA").unwrap();
    let mut changed = bytes.clone();
    changed[at + 5] = b'B';
    std::fs::write(&altered, changed).unwrap();

    // A hostile patient ID.
    let mut ph = brain_srs();
    ph.patient_id = "../../etc".into();
    let [dose_f, struct_f, plan_f] = plan_files(&r.join("foxtrot"), ph, "foxtrot", "");

    // A symlink loop must not hang the walk.
    #[cfg(unix)]
    std::os::unix::fs::symlink(r, r.join("patA/loop")).unwrap();

    let d = discover(r);
    assert_eq!(d.skipped_non_dicom, 2, "{d:#?}");

    let keys: Vec<&str> = d.plans.iter().map(|p| p.key.as_str()).collect();
    let mut want: Vec<String> = ["alpha", "bravo", "charlie", "echo", "foxtrot"]
        .iter()
        .map(|n| uid(n, "rtplan-sop"))
        .collect();
    want.sort();
    assert_eq!(keys, want, "{d:#?}");
    let by_name = |n: &str| {
        let k = uid(n, "rtplan-sop");
        d.plans.iter().find(|p| p.key == k).unwrap()
    };

    let a = by_name("alpha");
    assert_eq!(a.doses, vec![dose_a]);
    assert_eq!(a.structure_set, struct_a);
    assert_eq!(a.plan.as_ref(), Some(&plan_a));
    assert!(
        a.notes.iter().any(|n| n.contains("identical copies")),
        "{:?}",
        a.notes
    );

    let b = by_name("bravo");
    assert_eq!(
        (&b.doses, &b.structure_set, &b.plan),
        (&vec![dose_b], &struct_b, &Some(plan_b))
    );
    let c = by_name("charlie");
    assert_eq!(
        (&c.doses, &c.structure_set, &c.plan),
        (&vec![dose_c], &struct_c, &Some(plan_c))
    );

    // The conflicting plan is set aside; its dose still finds the structure set by frame.
    let e = by_name("echo");
    assert_eq!(e.plan, None);
    assert_eq!((&e.doses, &e.structure_set), (&vec![dose_e], &struct_e));
    assert!(
        e.notes.iter().any(|n| n.contains("not in the archive")),
        "{:?}",
        e.notes
    );
    let conflict = d
        .problems
        .iter()
        .find(|p| p.reason.contains("differ in content"))
        .expect("conflict reported");
    assert_eq!(conflict.files, vec![plan_e.clone(), altered.clone()]);

    let f = by_name("foxtrot");
    assert_eq!(
        (&f.doses, &f.structure_set, &f.plan),
        (&vec![dose_f], &struct_f, &Some(plan_f))
    );
    assert_eq!(f.patient_id.as_deref(), Some("../../etc"));
    assert!(
        !format!("{f:?}").contains("etc"),
        "Debug must redact the patient ID"
    );
    let safe = sanitize_component(f.patient_id.as_deref().unwrap());
    assert!(!safe.contains("..") && !safe.contains('/'), "{safe}");

    let lonely = d
        .problems
        .iter()
        .find(|p| p.files.first() == Some(&dose_d))
        .expect("dose without structure set reported");
    assert!(
        lonely.reason.contains("without a structure set"),
        "{}",
        lonely.reason
    );
    assert!(lonely.files.contains(&plan_d));
    // Reported once: the plan is not listed again as dose-less.
    assert_eq!(
        d.problems
            .iter()
            .filter(|p| p.files.contains(&plan_d))
            .count(),
        1,
        "{:#?}",
        d.problems
    );
    assert_eq!(d.problems.len(), 2, "{:#?}", d.problems);

    // Deterministic: a second run gives the same result.
    assert_eq!(discover(r), d);
}

#[test]
fn two_structure_sets_in_one_frame_without_references() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let [dose, s1, plan] = plan_files(&r.join("x"), brain_srs(), "golf", "");
    // The plan is gone, so nothing references a structure set; a second structure set
    // (a copy with another SOP Instance UID) shares the frame of reference.
    std::fs::remove_file(&plan).unwrap();
    let bytes = std::fs::read(&s1).unwrap();
    let sop = uid("golf", "rtstruct-sop");
    let at = bytes
        .windows(sop.len())
        .position(|w| w == sop.as_bytes())
        .unwrap();
    let mut other = bytes.clone();
    // Change the last digit of the SOP Instance UID (the first occurrence in the file
    // is the file meta's MediaStorageSOPInstanceUID; the data set has the same value).
    for start in bytes
        .windows(sop.len())
        .enumerate()
        .filter(|(_, w)| *w == sop.as_bytes())
        .map(|(i, _)| i)
    {
        let last = start + sop.len() - 1;
        other[last] = if other[last] == b'1' { b'2' } else { b'1' };
    }
    assert!(at > 0);
    let s2 = r.join("x/rtstruct2.dcm");
    std::fs::write(&s2, other).unwrap();
    let d = discover(r);
    assert!(d.plans.is_empty(), "{d:#?}");
    let p = &d.problems[0];
    assert!(
        p.reason
            .contains("2 structure sets share the frame of reference"),
        "{}",
        p.reason
    );
    // Path order: rtstruct2.dcm sorts before struct.dcm.
    assert_eq!(p.files, vec![dose, s2, s1]);
}

#[test]
fn sanitized_components_are_safe_and_bounded() {
    for s in [
        "../../etc",
        "..",
        ".",
        "/abs/path",
        "a\\b",
        "é ü",
        "x..y",
        "....",
    ] {
        let c = sanitize_component(s);
        assert!(!c.contains(".."), "{s} → {c}");
        assert!(!c.starts_with('.'), "{s} → {c}");
        assert!(
            c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch)),
            "{s} → {c}"
        );
        assert!(!c.is_empty());
    }
    assert_eq!(
        sanitize_component("1.2.826.0.1.3680043.2.1125"),
        "1.2.826.0.1.3680043.2.1125"
    );
    let long_a = "9".repeat(300);
    let long_b = format!("{}8", "9".repeat(299));
    let (a, b) = (sanitize_component(&long_a), sanitize_component(&long_b));
    assert!(a.len() <= 100 && b.len() <= 100);
    assert_ne!(a, b, "distinct long inputs stay distinct");
}

#[test]
fn empty_and_non_dicom_only_folders() {
    let root = tempfile::tempdir().unwrap();
    let d = discover(root.path());
    assert_eq!(d, Default::default());
    std::fs::write(root.path().join("a.txt"), "hello").unwrap();
    std::fs::write(root.path().join("empty.dcm"), "").unwrap();
    let d = discover(root.path());
    assert_eq!(
        (d.plans.len(), d.problems.len(), d.skipped_non_dicom),
        (0, 0, 2)
    );
    // A missing root is a problem, not a panic.
    let d = discover(&root.path().join("absent"));
    assert_eq!(d.problems.len(), 1);
}

#[test]
fn shared_real_exports() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if !root.exists() {
        eprintln!("skipped: {} absent", root.display());
        return;
    }
    let d = discover(root);
    // The licence texts and the README.
    assert!(d.skipped_non_dicom >= 4, "{}", d.skipped_non_dicom);
    let find = |folder: &str| {
        d.plans
            .iter()
            .find(|p| {
                p.structure_set
                    .parent()
                    .is_some_and(|f| f.ends_with(folder))
            })
            .unwrap_or_else(|| panic!("no plan in {folder}: {d:#?}"))
    };
    let dicompyler = find("dicompyler-example");
    assert!(dicompyler.doses[0].ends_with("dicompyler-example/rtdose.dcm"));
    assert!(dicompyler.plan.as_ref().unwrap().ends_with("rtplan.dcm"));
    assert_eq!(dicompyler.ct.len(), 1);
    let raystation = find("raystation-brain-srs");
    assert_eq!(raystation.doses.len(), 1);
    assert!(raystation.plan.is_some());
    // Every key is already safe to use as a folder name.
    for p in &d.plans {
        assert_eq!(sanitize_component(&p.key), p.key);
    }
}

/// A header-only CT slice (no pixels needed for discovery) in phantom `name`'s study and
/// frame of reference.
fn ct_slice(path: &Path, name: &str, series: &str, n: usize) {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    let mut o = dicom_object::InMemDicomObject::new_empty();
    let sop = format!("{series}.{n}");
    for (tag, vr, v) in [
        (tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
        (tags::SOP_INSTANCE_UID, VR::UI, sop.as_str()),
        (tags::MODALITY, VR::CS, "CT"),
        (tags::STUDY_INSTANCE_UID, VR::UI, &uid(name, "study")),
        (tags::SERIES_INSTANCE_UID, VR::UI, series),
        (
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &uid(name, "frame-of-reference"),
        ),
    ] {
        o.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    }
    let meta = dicom_object::meta::FileMetaTableBuilder::new()
        .transfer_syntax("1.2.840.10008.1.2.1")
        .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
        .media_storage_sop_instance_uid(&sop);
    o.with_meta(meta).unwrap().write_to_file(path).unwrap();
}

/// Make the structure set name `series` in its RTReferencedSeriesSequence.
fn reference_series(rtstruct: &Path, name: &str, series: &str) {
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::InMemDicomObject;
    let item = |pairs: Vec<(dicom_core::Tag, VR, String)>,
                seq: Option<(dicom_core::Tag, InMemDicomObject)>| {
        let mut o = InMemDicomObject::new_empty();
        for (t, vr, v) in pairs {
            o.put(DataElement::new(t, vr, PrimitiveValue::from(v)));
        }
        if let Some((t, child)) = seq {
            o.put(DataElement::new(
                t,
                VR::SQ,
                DataSetSequence::from(vec![child]),
            ));
        }
        o
    };
    let series_item = item(
        vec![(tags::SERIES_INSTANCE_UID, VR::UI, series.into())],
        None,
    );
    let study_item = item(
        vec![(
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            uid(name, "study"),
        )],
        Some((tags::RT_REFERENCED_SERIES_SEQUENCE, series_item)),
    );
    let frame_item = item(
        vec![(
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            uid(name, "frame-of-reference"),
        )],
        Some((tags::RT_REFERENCED_STUDY_SEQUENCE, study_item)),
    );
    let mut obj = dicom_object::open_file(rtstruct).unwrap();
    obj.put(DataElement::new(
        tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![frame_item]),
    ));
    obj.write_to_file(rtstruct).unwrap();
}

#[test]
fn ct_series_of_a_plan_are_chosen_by_reference_else_the_largest() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let [_, rtstruct, _] = plan_files(&r.join("plan"), brain_srs(), "hotel", "");
    let mut small = Vec::new();
    let mut large = Vec::new();
    for n in 0..2 {
        let p = r.join(format!("ct/a/{n}.dcm"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        ct_slice(&p, "hotel", "1.2.3.100", n);
        small.push(p);
    }
    for n in 0..3 {
        let p = r.join(format!("ct/b/{n}.dcm"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        ct_slice(&p, "hotel", "1.2.3.200", n);
        large.push(p);
    }
    let d = discover(r);
    assert_eq!(d.plans.len(), 1, "{d:#?}");
    assert_eq!(d.plans[0].ct, large);
    assert!(
        d.plans[0]
            .notes
            .iter()
            .any(|n| n.contains("chose the largest")),
        "{:?}",
        d.plans[0].notes
    );

    reference_series(&rtstruct, "hotel", "1.2.3.100");
    let d = discover(r);
    assert_eq!(d.plans[0].ct, small, "{d:#?}");
    assert!(
        d.plans[0].notes.iter().any(|n| n.contains("references")),
        "{:?}",
        d.plans[0].notes
    );
}
