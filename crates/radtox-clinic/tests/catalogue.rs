//! The shipped catalogue against the evidence file it was built from.

use radtox_clinic::*;
use std::collections::BTreeSet;

const EVIDENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/evidence/tdm1-rt-toxicity.md"
);

/// Rule IDs of the evidence file: the first cell of every table row (`| B6 | ...`).
fn evidence_ids() -> BTreeSet<String> {
    let text = std::fs::read_to_string(EVIDENCE).expect("shared evidence file");
    text.lines()
        .filter_map(|l| l.strip_prefix("| ")?.split(" |").next())
        .map(str::trim)
        .filter(|id| {
            let mut c = id.chars();
            matches!(c.next(), Some('B' | 'C' | 'H' | 'P' | 'S'))
                && c.next().is_some_and(|d| d.is_ascii_digit())
        })
        .map(String::from)
        .collect()
}

#[test]
fn catalogue_holds_every_evidence_id_and_nothing_else() {
    let cat = Catalogue::builtin().unwrap();
    let ours: BTreeSet<String> = cat.ids().map(String::from).collect();
    let theirs = evidence_ids();
    // The brief's list: B1–B11, C1–C7, H1–H9, P1–P4, S1–S5 (and B3b, also in the file).
    for (p, n) in [("B", 11), ("C", 7), ("H", 9), ("P", 4), ("S", 5)] {
        for i in 1..=n {
            assert!(
                theirs.contains(&format!("{p}{i}")),
                "evidence file lacks {p}{i}?"
            );
        }
    }
    assert_eq!(ours, theirs);
}

#[test]
fn every_record_has_a_citation_and_a_grade() {
    let cat = Catalogue::builtin().unwrap();
    for r in &cat.records {
        assert!(!r.citation.trim().is_empty(), "{} lacks a citation", r.id);
        assert!(!r.grade.trim().is_empty(), "{} lacks a grade", r.id);
        assert!(!r.title.trim().is_empty(), "{} lacks a title", r.id);
    }
    // The loader refuses a record without one.
    let text = r#"
schema = "radtox-evidence/1"
[[record]]
id = "X1"
title = "t"
metric = "m"
tiers = "t"
citation = ""
grade = "B"
verification = "verified"
note = ""
"#;
    assert_eq!(
        Catalogue::from_toml_str(text).unwrap_err(),
        CatalogueError::Record {
            id: "X1".into(),
            problem: "empty citation".into()
        }
    );
    assert!(Catalogue::from_toml_str(&text.replace("grade = \"B\"\n", "")).is_err());
}

#[test]
fn verification_tags_follow_the_evidence_file() {
    let cat = Catalogue::builtin().unwrap();
    let v = |id: &str| cat.get(id).unwrap().verification;
    // Spot checks against the tags in the evidence file.
    assert_eq!(v("B6"), Verification::Verified); // [V: PMC6751332]
    assert_eq!(v("B3b"), Verification::Recalled); // C [R]
    assert_eq!(v("B9"), Verification::Seed); // C [S]
    assert_eq!(v("C4"), Verification::Recalled); // D [R]
    assert_eq!(v("H1"), Verification::Recalled); // [R]
    assert_eq!(v("P1"), Verification::Recalled); // B/D [R]
    assert_eq!(v("S5"), Verification::Verified); // A [V]
    assert!(cat.get("B1").unwrap().has_recalled_numbers()); // > 15 cc [R]
    // Rule variants find their record.
    assert_eq!(cat.get("B3.5fx").unwrap().id, "B3");
    // Mills and Duke are shown beside B6/B7/B8.
    for id in ["B6", "B7", "B8"] {
        let against = &cat.get(id).unwrap().evidence_against;
        assert!(
            against
                .iter()
                .any(|a| a.citation.starts_with("Mills et al., BMC Cancer 2021")),
            "{id}"
        );
        assert!(against.iter().any(|a| a.text.contains("p = 0.97")), "{id}");
    }
}

#[test]
fn disclaimer_says_what_flags_are_not() {
    assert!(DISCLAIMER.contains("decision support"));
    assert!(DISCLAIMER.contains("not a validated prediction model"));
}
