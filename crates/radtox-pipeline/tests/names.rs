//! Name mapping on every structure name of ../shared/data and of the fixtures, with the
//! expected TG-263 name (or none) written out by hand.

use radtox_model::Structure;
use radtox_pipeline::{DecisionKind, NameRules, map_names, map_structures};
use std::path::PathBuf;

fn base() -> NameRules {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../pipelines/names/tg263-base.toml"
    ));
    NameRules::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn check(table: &[(&str, Option<&str>)], rules: &NameRules) {
    for (name, want) in table {
        let d = rules.map_one(name);
        assert_eq!(d.tg263.as_deref(), *want, "{name}: {}", d.rule);
    }
}

/// Every ROI name in shared/data (read from the RT Structure Sets with pydicom during
/// development): dicompyler-example/rtss.dcm, raystation-brain-srs/RS*.dcm,
/// pydicom-edge/rtstruct.dcm.
#[test]
fn shared_data_names() {
    let table: &[(&str, Option<&str>)] = &[
        // dicompyler-example (left breast)
        ("BODY", Some("External")),
        ("Areola", None),
        ("Borders", None),
        ("Breast", None), // no side in the name: breast-left.toml aliases it to Breast_L
        ("Heart", Some("Heart")),
        ("Lt Lung", Some("Lung_L")),
        ("Nodes", None),
        ("Scar", None),
        ("Tumor Bed", None),
        ("Tumor Bed Block", None), // excluded: planning block
        // raystation-brain-srs
        ("PTV_1", Some("PTV_1")),
        ("BRAIN - PTV", Some("Brain-PTV")),
        ("OPTIC STRUCTURES", None), // excluded: several organs in one ROI
        ("GTV_1", Some("GTV_1")),
        ("GTV_2", Some("GTV_2")),
        ("GTV_3", Some("GTV_3")),
        ("GTV_4", Some("GTV_4")),
        ("GTV_5", Some("GTV_5")),
        ("GTV_ALL", Some("GTV_All")),
        ("BRAIN STEM", Some("Brainstem")),
        ("PTV_2", Some("PTV_2")),
        ("PTV_3", Some("PTV_3")),
        ("PTV_4", Some("PTV_4")),
        ("PTV_5", Some("PTV_5")),
        ("PTV_ALL", Some("PTV_All")),
        ("Low Dose Region", None),
        ("PTV1_WALL", None),
        ("PTV2_WALL", None),
        ("PTV3_WALL", None),
        ("PTV4_WALL", None),
        ("PTV5_WALL", None),
        ("ptv 4 AND 5", None),
        ("PTV 1 AND 2", None),
        ("ptv4", Some("PTV_4")), // an ISOCENTER ROI: see the next test
        ("ISOCENTER PTV 3", None),
        ("isocecnter ptv 2", None), // sic
        ("isocenter all", None),
        // pydicom-edge
        ("patient", None), // EXTERNAL by type: see map_structures below
        ("Isocenter 1", None),
        ("Isocenter 2", None),
    ];
    check(table, &base());
}

#[test]
fn fixture_and_common_names() {
    let table: &[(&str, Option<&str>)] = &[
        ("Heart", Some("Heart")),
        ("Lung_L", Some("Lung_L")),
        ("Lung_R", Some("Lung_R")),
        ("Breast_L", Some("Breast_L")),
        ("A_LAD", Some("A_LAD")),
        ("LAD", Some("A_LAD")),
        ("Lt Lung", Some("Lung_L")),
        ("Ventricle_L", Some("Ventricle_L")),
        ("Ventricle_R", Some("Ventricle_R")),
        ("Bone_Sternum", Some("Bone_Sternum")),
        ("Rib03_L", Some("Rib03_L")),
        ("VB_T06", Some("VB_T06")),
        ("External", Some("External")),
        ("GTV_1", Some("GTV_1")),
        ("PTV_1", Some("PTV_1")),
        ("Brainstem", Some("Brainstem")),
        ("Brain", Some("Brain")),
        ("GTV", Some("GTV")),
        ("PTV", Some("PTV")),
        // spellings from the task's list
        ("Lung Lt", Some("Lung_L")),
        ("Left Lung", Some("Lung_L")),
        ("LUNG_RT", Some("Lung_R")),
        ("L Lung", Some("Lung_L")),
        ("Lungs both", Some("Lungs")),
        ("Total Lung", Some("Lungs")),
        ("Cord", Some("SpinalCord")),
        ("Spinal Cord", Some("SpinalCord")),
        ("Sternum", Some("Bone_Sternum")),
        ("Rib 3 L", Some("Rib03_L")),
        ("L Rib 3", Some("Rib03_L")),
        ("rib_12_right", Some("Rib12_R")),
        ("T6", Some("VB_T06")),
        ("VB T6", Some("VB_T06")),
        ("L3", Some("VB_L03")), // lumbar vertebra, not "left 3"
        ("Skin outline", Some("External")),
        ("LV", Some("Ventricle_L")),
        ("RV", Some("Ventricle_R")),
        ("LA", Some("Atrium_L")),
        ("RA", Some("Atrium_R")),
        ("Left Ventricle", Some("Ventricle_L")),
        ("GTV 1", Some("GTV_1")),
        ("GTV1", Some("GTV_1")),
        ("gtv_01", Some("GTV_1")),
        ("Optic Nerve R", Some("OpticNrv_R")),
        ("OpticNrv_L", Some("OpticNrv_L")),
        ("Lung", None), // no side and not "Lungs": unmapped rather than guessed
        ("Couch Surface", None),
        ("z_opt_ring", None),
        ("", None),
    ];
    check(table, &base());
}

#[test]
fn decisions_are_explained() {
    let rules = base();
    let d = rules.map_one("Lt Lung");
    assert_eq!(d.kind, DecisionKind::Lateral);
    assert!(d.rule.contains("tg263-base.toml:"), "{}", d.rule);
    let d = rules.map_one("BRAIN STEM");
    assert_eq!(d.kind, DecisionKind::Alias);
    assert!(d.rule.starts_with("alias 'Brain Stem' in "), "{}", d.rule);
    let d = rules.map_one("Tumor Bed Block");
    assert_eq!(d.kind, DecisionKind::Excluded);
    assert!(d.rule.contains("planning block"), "{}", d.rule);
    let d = rules.map_one("BRAIN - PTV");
    assert_eq!(d.kind, DecisionKind::Difference);
    let d = rules.map_one("Scar");
    assert_eq!(d.kind, DecisionKind::Unmatched);
    assert!(d.rule.contains("'scar'"), "{}", d.rule);
}

/// Names alone: the isocentre ROI "ptv4" collides with the target PTV_4, and both are
/// reported. With ROI types (as read from the RT Struct) the collision disappears.
#[test]
fn raystation_collision_and_roi_types() {
    let rules = base();
    let names = ["PTV_4", "ptv4", "GTV_1", "BODY"];
    let r = map_names(&names, &rules);
    assert_eq!(
        r.ambiguous,
        [(
            "PTV_4".to_string(),
            vec!["PTV_4".to_string(), "ptv4".to_string()]
        )]
    );
    assert_eq!(r.tg263_names(), ["GTV_1", "External"]);
    assert_eq!(r.decisions.len(), 4, "never drop a structure");
    assert!(r.decision("ptv4").unwrap().rule.starts_with("ambiguous"));

    let s = |name: &str, ty: &str| Structure {
        roi_number: 0,
        name: name.into(),
        interpreted_type: Some(ty.into()),
        color: None,
        planes: Vec::new(),
        ignored: Vec::new(),
        slab_thickness_mm: None,
    };
    let set = [
        s("PTV_4", "PTV"),
        s("ptv4", "ISOCENTER"),
        s("patient", "EXTERNAL"),
        s("Low Dose Region", "CONTROL"),
    ];
    let r = map_structures(&set, &rules);
    assert!(r.ambiguous.is_empty());
    assert_eq!(r.tg263_names(), ["PTV_4", "External"]);
    assert_eq!(r.unmapped, ["ptv4", "Low Dose Region"]);
    assert_eq!(
        r.decision("patient").unwrap().kind,
        DecisionKind::InterpretedType
    );
}

#[test]
fn two_names_for_one_organ_are_ambiguous() {
    let r = map_names(&["Lt Lung", "LUNG_L", "Heart"], &base());
    assert_eq!(r.ambiguous.len(), 1);
    assert_eq!(r.ambiguous[0].0, "Lung_L");
    assert_eq!(r.tg263_names(), ["Heart"]);
}
