//! Label maps and their name sidecars in every supported format.

mod common;

use common::*;
use ndarray::Array3;
use radtox_nifti::{LabelNames, NiftiError, read_label_map, read_label_names};
use std::path::Path;

/// A 6×4×3 label map: label = i (0..6) except that label 4 is not used, on 2 mm voxels.
fn label_map(dir: &Path) -> std::path::PathBuf {
    let h = sform_header([
        [-2.0, 0.0, 0.0, 0.0],
        [0.0, -2.0, 0.0, 0.0],
        [0.0, 0.0, 2.0, 0.0],
    ]);
    let data = Array3::from_shape_fn((6, 4, 3), |(i, _, _)| if i == 4 { 0 } else { i as i16 });
    let path = dir.join("labels.nii.gz");
    write_i16(&path, &h, data.view());
    path
}

fn names_from(dir: &Path, file: &str, text: &str) -> LabelNames {
    let p = dir.join(file);
    std::fs::write(&p, text).unwrap();
    read_label_names(&p).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn every_sidecar_format_gives_the_same_names() {
    let dir = tempfile::tempdir().unwrap();
    let want: Vec<(i64, &str)> = vec![(1, "Brain"), (2, "Brain Stem"), (3, "PTV 60")];
    let formats = [
        (
            "obj.json",
            r#"{"1": "Brain", "2": "Brain Stem", "3": "PTV 60"}"#,
        ),
        ("rev.json", r#"{"Brain": 1, "Brain Stem": 2, "PTV 60": 3}"#),
        (
            "arr.json",
            r#"[{"value": 1, "name": "Brain"}, {"label": "2", "name": "Brain Stem"}, {"value": 3, "name": "PTV 60"}]"#,
        ),
        (
            "space.txt",
            "# structures\n1 Brain\n2 Brain Stem\n\n3 PTV 60\n",
        ),
        ("colon.txt", "1: Brain\n2:Brain Stem\n3 : PTV 60\n"),
        (
            "comma.csv",
            "value,name\n1,Brain\n2,Brain Stem\n3,\"PTV 60\"\n",
        ),
        ("tab.tsv", "1\tBrain\n2\tBrain Stem\n3\tPTV 60\n"),
        (
            "slicer.ctbl",
            "# Color table\n1 Brain 255 0 0 255\n2 Brain Stem 0 255 0 255\n3 PTV 60 0 0 255 255\n",
        ),
        (
            "itksnap.txt",
            "################################################\n\
             # ITK-SnAP Label Description File\n\
             ################################################\n\
             \x20   0     0    0    0        0  0  0    \"Clear Label\"\n\
             \x20   1   255    0    0        1  1  1    \"Brain\"\n\
             \x20   2     0  255    0        1  1  1    \"Brain Stem\"\n\
             \x20   3     0    0  255        1  1  1    \"PTV 60\"\n",
        ),
    ];
    for (file, text) in formats {
        let names = names_from(dir.path(), file, text);
        let got: Vec<(i64, &str)> = names
            .names
            .iter()
            .filter(|(k, _)| **k != 0)
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        assert_eq!(got, want, "{file}");
    }
}

#[test]
fn label_map_structures_unknown_and_absent_labels() {
    let dir = tempfile::tempdir().unwrap();
    let map = label_map(dir.path());
    // Label 5 is in the map but not named; label 4 is named but not in the map.
    let names = names_from(
        dir.path(),
        "n.txt",
        "0 Background\n1 Brain\n2 Brainstem\n3 Chiasm\n4 Eye_L\n",
    );
    let s = read_label_map(&map, &names).unwrap();
    let got: Vec<(Option<i64>, &str, usize)> = s
        .iter()
        .map(|m| (m.label, m.name.as_str(), m.fraction.len()))
        .collect();
    // Each label occupies one i-plane of 4×3 voxels.
    assert_eq!(
        got,
        vec![
            (Some(1), "Brain", 12),
            (Some(2), "Brainstem", 12),
            (Some(3), "Chiasm", 12),
            (Some(4), "Eye_L", 0),
            (Some(5), "label_5", 12),
        ]
    );
    assert!(
        s[3].warnings.iter().any(|w| w.contains("absent")),
        "{:?}",
        s[3].warnings
    );
    assert!(
        s[4].warnings.iter().any(|w| w.contains("no name")),
        "{:?}",
        s[4].warnings
    );
    assert!(s[0].warnings.is_empty());
    // 12 voxels of 8 mm³.
    assert!((s[0].volume_cc() - 0.096).abs() < 1e-12);
    // Voxels of label 2 are the plane i = 2.
    assert!(
        s[1].fraction
            .iter()
            .all(|&(lin, f)| s[1].voxel_index(lin)[0] == 2 && f == 1.0)
    );
}

#[test]
fn sidecar_and_label_map_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = [
        ("dup.txt", "1 Brain\n1 Heart\n"),
        ("garbage.txt", "1 Brain\nBrain 2\n"),
        ("empty_name.txt", "1 Brain\n2\n"),
        ("broken.json", r#"{"1": "Brain""#),
        ("wrong.json", r#"[{"value": 1}]"#),
    ];
    for (file, text) in bad {
        let p = dir.path().join(file);
        std::fs::write(&p, text).unwrap();
        let e = read_label_names(&p).unwrap_err();
        assert!(matches!(e, NiftiError::LabelNames { .. }), "{file}: {e}");
        let msg = e.to_string();
        assert!(msg.contains(file), "{msg}");
    }
    assert!(matches!(
        read_label_names(&dir.path().join("missing.txt")),
        Err(NiftiError::Io { .. })
    ));
    // A fractional map is not a label map.
    let h = sform_header([
        [-1.0, 0.0, 0.0, 0.0],
        [0.0, -1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
    ]);
    let p = dir.path().join("frac.nii");
    write_f32(&p, &h, Array3::from_elem((2, 2, 2), 0.5f32).view());
    assert!(matches!(
        read_label_map(&p, &LabelNames::default()),
        Err(NiftiError::NotALabelMap { .. })
    ));
}
