//! Every default rule fires in one scenario and does not in another (table-driven).
//! Each "fires" case sits just on the firing side of a published threshold or window
//! edge and each "does not fire" case just off it, so an off-by-one or a wrong operator
//! fails here.

mod common;

use common::*;
use radtox_clinic::*;
use std::collections::BTreeSet;

const BRAIN_NORMAL: &str = "Brain-GTV_All";

struct Row {
    id: &'static str,
    level: Level,
    fires: Case,
    quiet: Case,
}

fn row(id: &'static str, level: Level, fires: Case, quiet: Case) -> Row {
    Row {
        id,
        level,
        fires,
        quiet,
    }
}

fn srs() -> Case {
    Case::new().srs("2026-02-23")
}

fn breast() -> Case {
    Case::new().breast("2026-03-02", "2026-04-03")
}

fn table() -> Vec<Row> {
    use Level::*;
    let mut rows = vec![
        // ---- brain ----
        row(
            "B1",
            High,
            srs().m(BRAIN_NORMAL, "V12Gy[cc]", 10.0),
            srs().m(BRAIN_NORMAL, "V12Gy[cc]", 4.99),
        ),
        row(
            "B2",
            High,
            srs()
                .m("Brain", "V10Gy[cc]", 12.7)
                .m("Brain", "V12Gy[cc]", 11.0),
            srs()
                .m("Brain", "V10Gy[cc]", 12.7)
                .m("Brain", "V12Gy[cc]", 10.9),
        ),
        row(
            "B3.3fx",
            Caution,
            srs().fx(3).m(BRAIN_NORMAL, "V20Gy[cc]", 20.0),
            srs().fx(3).m(BRAIN_NORMAL, "V20Gy[cc]", 19.9),
        ),
        row(
            "B3.5fx",
            Caution,
            srs().fx(5).m(BRAIN_NORMAL, "V24Gy[cc]", 20.0),
            srs().fx(5).m(BRAIN_NORMAL, "V24Gy[cc]", 19.9),
        ),
        row(
            "B3b",
            Caution,
            srs()
                .fx(3)
                .m(BRAIN_NORMAL, "V18Gy[cc]", 10.0)
                .m(BRAIN_NORMAL, "V21Gy[cc]", 21.0),
            srs()
                .fx(3)
                .m(BRAIN_NORMAL, "V18Gy[cc]", 30.2)
                .m(BRAIN_NORMAL, "V21Gy[cc]", 20.9),
        ),
        row(
            "B4.20mm",
            Caution,
            srs().cov(|c| {
                c.lesion_max_diameter_mm = Some(20.0);
                c.prescription_gy_per_fraction = Some(24.5);
            }),
            srs().cov(|c| {
                c.lesion_max_diameter_mm = Some(20.0);
                c.prescription_gy_per_fraction = Some(24.0);
            }),
        ),
        row(
            "B4.30mm",
            Caution,
            srs().cov(|c| {
                c.lesion_max_diameter_mm = Some(21.0);
                c.prescription_gy_per_fraction = Some(20.0);
            }),
            srs().cov(|c| {
                c.lesion_max_diameter_mm = Some(30.0);
                c.prescription_gy_per_fraction = Some(18.0);
            }),
        ),
        row(
            "B4.40mm",
            Caution,
            srs().cov(|c| {
                c.lesion_max_diameter_mm = Some(40.0);
                c.prescription_gy_per_fraction = Some(16.0);
            }),
            srs().cov(|c| {
                c.lesion_max_diameter_mm = Some(35.0);
                c.prescription_gy_per_fraction = Some(15.0);
            }),
        ),
        row(
            "B5",
            Caution,
            srs().cov(|c| c.lesion_volume_cc = Some(15.1)),
            srs().cov(|c| c.lesion_volume_cc = Some(15.0)),
        ),
        row(
            "B6",
            High,
            srs().dose("2026-03-23"),
            srs().dose("2026-03-24"),
        ),
        row(
            "B7",
            High,
            Case::new()
                .course(CourseKind::Wbrt, "2026-02-02", "2026-02-13")
                .dose("2026-01-05"),
            Case::new()
                .course(CourseKind::Wbrt, "2026-02-02", "2026-02-13")
                .dose("2026-01-04"),
        ),
        row(
            "B8",
            High,
            srs().dose("2026-03-02"),
            srs().dose("2026-03-03"),
        ),
        row(
            "B8.reirradiation",
            VeryHigh,
            srs()
                .dose("2026-02-02")
                .cov(|c| c.prior_rt_same_lesion = Some(true)),
            srs()
                .dose("2026-02-02")
                .cov(|c| c.prior_rt_same_lesion = Some(false)),
        ),
        row(
            "B9",
            Caution,
            srs().dose("2027-02-23"),
            srs().dose("2027-02-24"),
        ),
        row(
            "B9.sequential",
            Caution,
            srs().dose("2026-02-24").dose("2026-03-17"),
            srs().dose("2026-02-02").dose("2026-03-03"),
        ),
        row(
            "B9.prior_wbrt",
            High,
            srs().dose("2026-06-01").cov(|c| c.prior_wbrt = Some(true)),
            srs().dose("2026-06-01").cov(|c| c.prior_wbrt = Some(false)),
        ),
        row(
            "B10",
            Caution,
            srs()
                .dose("2029-01-01")
                .cov(|c| c.known_radiation_necrosis = Some(true)),
            srs()
                .dose("2029-01-01")
                .cov(|c| c.known_radiation_necrosis = Some(false)),
        ),
        row(
            "B11",
            Info,
            srs().cov(|c| {
                c.srs_platform = Some(SrsPlatform::Linac);
                c.lesion_count = Some(2);
            }),
            srs().cov(|c| {
                c.srs_platform = Some(SrsPlatform::Linac);
                c.lesion_count = Some(1);
            }),
        ),
        // ---- cardiac ----
        row("C1", Info, breast().m("Heart", "Mean[Gy]", 2.0), breast()),
        row(
            "C2.mhd",
            Info,
            breast().m("Heart", "Mean[Gy]", 2.0),
            breast(),
        ),
        row(
            "C2.lv_v5",
            Info,
            breast().m("Ventricle_L", "V5Gy[%]", 10.0),
            breast(),
        ),
        row(
            "C4",
            High,
            breast().m("Heart", "Mean[Gy]", 4.01),
            breast().m("Heart", "Mean[Gy]", 4.0),
        ),
        row(
            "C5",
            Caution,
            breast().m("A_LAD", "V15Gy[%]", 10.0),
            breast().m("A_LAD", "V15Gy[%]", 9.99),
        ),
        row(
            "C6",
            Info,
            breast()
                .m("Heart", "Mean[Gy]", 3.0)
                .cov(|c| c.laterality = Some(Laterality::Left)),
            breast()
                .m("Heart", "Mean[Gy]", 3.0)
                .cov(|c| c.laterality = Some(Laterality::Right)),
        ),
        row(
            "C7.stop",
            High,
            breast().cov(|c| c.baseline_lvef_percent = Some(39.0)),
            breast().cov(|c| c.baseline_lvef_percent = Some(40.0)),
        ),
        row(
            "C7.hold",
            Caution,
            breast().cov(|c| {
                c.baseline_lvef_percent = Some(55.0);
                c.latest_lvef_percent = Some(45.0);
            }),
            breast().cov(|c| {
                c.baseline_lvef_percent = Some(54.0);
                c.latest_lvef_percent = Some(45.0);
            }),
        ),
        // ---- haematologic ----
        row(
            "H1",
            Caution,
            breast().cov(|c| c.latest_platelets_1e9_per_l = Some(74.0)),
            breast().cov(|c| c.latest_platelets_1e9_per_l = Some(75.0)),
        ),
        row(
            "H2",
            High,
            breast().cov(|c| c.latest_platelets_1e9_per_l = Some(49.0)),
            breast().cov(|c| c.latest_platelets_1e9_per_l = Some(50.0)),
        ),
        row(
            "H3",
            Caution,
            breast().cov(|c| c.baseline_platelets_1e9_per_l = Some(99.0)),
            breast().cov(|c| c.baseline_platelets_1e9_per_l = Some(100.0)),
        ),
        row(
            "H4",
            Caution,
            breast().cov(|c| c.asian_ancestry = Some(true)),
            breast().cov(|c| c.asian_ancestry = Some(false)),
        ),
        row(
            "H5",
            Info,
            breast().cov(|c| {
                c.asian_ancestry = Some(false);
                c.baseline_platelets_1e9_per_l = Some(90.0);
            }),
            breast().cov(|c| {
                c.asian_ancestry = Some(false);
                c.baseline_platelets_1e9_per_l = Some(150.0);
            }),
        ),
        // RT on day 14 after a dose (before the expected recovery by day 15) vs day 15.
        row(
            "H6",
            Info,
            srs().dose("2026-02-09"),
            srs().dose("2026-02-08"),
        ),
        row(
            "H7",
            Info,
            breast().cov(|c| c.active_marrow_irradiated_percent = Some(5.0)),
            breast(),
        ),
        row(
            "H8.v30",
            Info,
            breast().m("Bone_Sternum", "V30Gy[cc]", 24.38),
            breast().m("Bone_Sternum", "V30Gy[cc]", 24.37),
        ),
        row(
            "H8.v40",
            Info,
            breast().m("Bone_Sternum", "V40Gy[cc]", 6.48),
            breast().m("Bone_Sternum", "V40Gy[cc]", 6.47),
        ),
        row(
            "H8.d80",
            Info,
            breast().m("Bone_Sternum", "D80%[Gy]", 23.37),
            breast().m("Bone_Sternum", "D80%[Gy]", 23.36),
        ),
        row(
            "H9.v10",
            Caution,
            Case::new().m("Bone_Pelvic", "V10Gy[%]", 90.0),
            Case::new().m("Bone_Pelvic", "V10Gy[%]", 89.9),
        ),
        row(
            "H9.v20",
            Caution,
            Case::new().m("Bone_Pelvic", "V20Gy[%]", 75.0),
            Case::new().m("Bone_Pelvic", "V20Gy[%]", 74.9),
        ),
        // ---- pulmonary ----
        row(
            "P1.v20",
            High,
            breast().m("Lungs", "V20Gy[%]", 35.1),
            breast().m("Lungs", "V20Gy[%]", 30.0),
        ),
        row(
            "P1.mld",
            Caution,
            breast().m("Lungs", "Mean[Gy]", 20.1),
            breast().m("Lungs", "Mean[Gy]", 20.0),
        ),
        row(
            "P2.left",
            Caution,
            breast()
                .m("Lung_L", "V20Gy[%]", 30.0)
                .cov(|c| c.laterality = Some(Laterality::Left)),
            breast()
                .m("Lung_L", "V20Gy[%]", 29.9)
                .cov(|c| c.laterality = Some(Laterality::Left)),
        ),
        row(
            "P2.right",
            Caution,
            breast()
                .m("Lung_R", "V20Gy[%]", 30.0)
                .cov(|c| c.laterality = Some(Laterality::Right)),
            // The ipsilateral rule does not read the contralateral lung.
            breast()
                .m("Lung_R", "V20Gy[%]", 40.0)
                .cov(|c| c.laterality = Some(Laterality::Left)),
        ),
        row(
            "P3",
            Info,
            breast().dose("2026-04-03"),
            breast().dose("2026-04-04"),
        ),
        row(
            "P4",
            High,
            breast().cov(|c| c.pneumonitis_or_ild = Some(true)),
            breast().cov(|c| c.pneumonitis_or_ild = Some(false)),
        ),
        // ---- skin ----
        row(
            "S1",
            Caution,
            breast().dose("2026-03-16"),
            breast().dose("2026-03-17"),
        ),
        row(
            "S2.107",
            Caution,
            breast().m("Skin_Band_5mm", "V107%[cc]", 0.05),
            breast().m("Skin_Band_5mm", "V107%[cc]", 0.0),
        ),
        row(
            "S2.110",
            High,
            breast().m("Skin_Band_5mm", "V110%[cc]", 0.05),
            breast().m("Skin_Band_5mm", "V110%[cc]", 0.0),
        ),
        row(
            "S3",
            Caution,
            breast().cov(|c| {
                c.breast_cup = BreastCup::parse("C");
                c.bmi = Some(30.0);
            }),
            breast().cov(|c| {
                c.breast_cup = BreastCup::parse("C");
                c.bmi = Some(29.9);
            }),
        ),
        row(
            "S4",
            Caution,
            breast()
                .dose("2026-03-02")
                .cov(|c| c.proton_therapy = Some(true)),
            breast()
                .dose("2026-03-02")
                .cov(|c| c.proton_therapy = Some(false)),
        ),
        row(
            "S5",
            Caution,
            breast().cov(|c| c.prescription_gy_per_fraction = Some(2.0)),
            breast().cov(|c| c.prescription_gy_per_fraction = Some(2.5)),
        ),
    ];
    // DEGRO limits: exactly at the limit exceeds "X < limit"; just below does not.
    for (id, structure, metric, limit) in [
        ("C3.mhd", "Heart", "Mean[Gy]", 2.5),
        ("C3.lv_mean", "Ventricle_L", "Mean[Gy]", 3.0),
        ("C3.lv_v5", "Ventricle_L", "V5Gy[%]", 17.0),
        ("C3.lv_v23", "Ventricle_L", "V23Gy[%]", 5.0),
        ("C3.lad_mean", "A_LAD", "Mean[Gy]", 10.0),
        ("C3.lad_v30", "A_LAD", "V30Gy[%]", 2.0),
        ("C3.lad_v40", "A_LAD", "V40Gy[%]", 1.0),
    ] {
        rows.push(row(
            id,
            Caution,
            breast().m(structure, metric, limit),
            breast().m(structure, metric, limit - 0.01),
        ));
    }
    rows
}

#[test]
fn every_rule_fires_and_does_not_fire() {
    let mut failures = Vec::new();
    for r in table() {
        let fired = r.fires.flag(r.id);
        if fired.status != Status::Triggered || fired.level != Some(r.level) {
            failures.push(format!(
                "{}: expected triggered {:?}, got {} {:?}: {}",
                r.id, r.level, fired.status, fired.level, fired.sentence
            ));
        }
        let quiet = r.quiet.flag(r.id);
        if quiet.status == Status::Triggered || quiet.status == Status::Indeterminate {
            failures.push(format!(
                "{}: expected not to fire, got {}: {}",
                r.id, quiet.status, quiet.sentence
            ));
        }
        // Non-firing is always explained.
        if quiet.reason.as_deref().is_none_or(str::is_empty) {
            failures.push(format!("{}: quiet case has no reason", r.id));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_table_covers_every_default_rule_and_every_catalogue_id() {
    let cat = Catalogue::builtin().unwrap();
    let rules = default_rules(&cat);
    let tested: BTreeSet<&str> = table().iter().map(|r| r.id).collect();
    let untested: Vec<&str> = rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !tested.contains(id))
        .collect();
    assert!(
        untested.is_empty(),
        "default rules without a fire/no-fire test: {untested:?}"
    );
    let with_rules: BTreeSet<&str> = rules.iter().map(|r| evidence_id(&r.id)).collect();
    let uncovered: Vec<&str> = cat.ids().filter(|id| !with_rules.contains(id)).collect();
    assert!(
        uncovered.is_empty(),
        "catalogue IDs without a rule: {uncovered:?}"
    );
    for r in &rules {
        r.check().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            cat.get(&r.id).is_some(),
            "rule {} has no catalogue record",
            r.id
        );
    }
}

#[test]
fn flags_carry_citation_grade_and_evidence_against() {
    let f = srs().dose("2026-03-03").flag("B6");
    assert_eq!(f.citation, "Stumpf et al., Clin Cancer Res 2019 [S#44]");
    assert_eq!(f.grade, "C");
    assert_eq!(f.verification, Verification::Verified);
    assert!(!f.provisional);
    assert_eq!(f.evidence_against.len(), 2);
    assert!(f.evidence_against[0].starts_with("Mills et al., BMC Cancer 2021"));
    assert!(f.evidence_against[1].contains("60.7% vs 55.6%"));
    assert_eq!(
        f.timing,
        [
            "T-DM1 on 2026-03-03, 8 days after SRS session on 2026-02-23: within ±28 d of a treatment date (Stumpf 2019)"
        ]
    );
    assert!(
        f.sentence
            .starts_with("HIGH (B6): T-DM1 within 28 days of SRS: T-DM1 on 2026-03-03")
    );
}

#[test]
fn recalled_numbers_make_flags_provisional() {
    // B1's > 15 cc tier is recalled; its ≥ 5 and ≥ 10 cc tiers are verified.
    let hi = srs().m(BRAIN_NORMAL, "V12Gy[cc]", 16.0).flag("B1");
    assert_eq!((hi.level, hi.provisional), (Some(Level::VeryHigh), true));
    let lo = srs().m(BRAIN_NORMAL, "V12Gy[cc]", 11.0).flag("B1");
    assert_eq!((lo.level, lo.provisional), (Some(Level::High), false));
    // C4 is recalled as a whole.
    let c4 = breast().m("Heart", "Mean[Gy]", 5.0).flag("C4");
    assert_eq!(
        (c4.verification, c4.provisional),
        (Verification::Recalled, true)
    );
    assert!(c4.sentence.contains("provisional"));
}

#[test]
fn b1_tiers_and_uncertainty() {
    let at = |v: f64, u: f64| srs().mu(BRAIN_NORMAL, "V12Gy[cc]", v, u).flag("B1");
    assert_eq!(at(5.0, 0.0).level, Some(Level::Caution)); // ≥ 5 inclusive
    assert_eq!(at(15.0, 0.0).level, Some(Level::High)); // > 15 exclusive
    assert_eq!(at(15.01, 0.0).level, Some(Level::VeryHigh));
    // 9.9 ± 0.2 straddles the 10 cc (high) threshold; caution holds beyond doubt.
    let f = at(9.9, 0.2);
    assert_eq!(f.status, Status::Indeterminate);
    assert_eq!(f.level, Some(Level::High));
    assert_eq!(f.established_level, Some(Level::Caution));
    assert_eq!(f.threshold.map(|t| t.value), Some(10.0));
    // |v − t| ≤ u is indeterminate, edges included; just beyond it is decided.
    assert_eq!(at(10.2, 0.2).status, Status::Indeterminate);
    assert_eq!(at(10.21, 0.2).status, Status::Triggered);
    assert_eq!(at(4.79, 0.2).status, Status::Pass);
    let below = at(4.9, 0.2);
    assert_eq!(
        (below.status, below.level, below.established_level),
        (Status::Indeterminate, Some(Level::Caution), None)
    );
}

#[test]
fn missing_metric_is_not_evaluated_with_the_reason() {
    let f = srs().flag("B1");
    assert_eq!(f.status, Status::NotEvaluated);
    let reason = f.reason.unwrap();
    assert!(
        reason.contains("Brain-GTV_All V12Gy[cc] not available"),
        "{reason}"
    );
    assert!(f.sentence.starts_with("Not evaluated (B1)"));
    // Unknown fractionation is also reported, not assumed.
    let mut c = srs().m(BRAIN_NORMAL, "V12Gy[cc]", 12.0);
    c.fractions = None;
    assert_eq!(c.flag("B1").status, Status::NotEvaluated);
    // A missing covariate too.
    let h4 = breast().flag("H4");
    assert_eq!(h4.status, Status::NotEvaluated);
    assert!(h4.reason.unwrap().contains("asian_ancestry not supplied"));
}

#[test]
fn rules_for_other_sites_are_not_applicable() {
    // A breast patient has no SRS: the brain timing rules do not apply.
    let f = breast().dose("2026-03-09").flag("B6");
    assert_eq!(f.status, Status::NotApplicable);
    assert!(f.reason.unwrap().contains("no srs/srt course"));
    // A 5-fraction plan is outside B1's single-fraction scope.
    let b1 = srs().fx(5).m(BRAIN_NORMAL, "V12Gy[cc]", 12.0).flag("B1");
    assert_eq!(b1.status, Status::NotApplicable);
}

#[test]
fn darby_relative_risk_with_its_interval() {
    let f = breast().m("Heart", "Mean[Gy]", 4.0).flag("C1");
    let e = f.estimate.unwrap();
    // RR = 1 + 0.074 × 4 = 1.296; CI 1 + 0.029 × 4 = 1.116 to 1 + 0.145 × 4 = 1.58.
    assert!((e.value - 1.296).abs() < 1e-12);
    let (lo, hi) = e.ci95.unwrap();
    assert!((lo - 1.116).abs() < 1e-12 && (hi - 1.58).abs() < 1e-12);
    assert!(
        e.description.contains("1.30 (95% CI 1.12–1.58)"),
        "{}",
        e.description
    );
    assert!(e.description.contains("Darby et al., NEJM 2013"));
    // H7: OR 4.1 per 20% of marrow → 40% gives 4.1² = 16.81.
    let h7 = breast()
        .cov(|c| c.active_marrow_irradiated_percent = Some(40.0))
        .flag("H7");
    assert!((h7.estimate.unwrap().value - 16.81).abs() < 1e-9);
}

#[test]
fn platelet_grades() {
    let at = |p: f64| {
        breast()
            .cov(|c| c.latest_platelets_1e9_per_l = Some(p))
            .flag("H1")
            .level
    };
    assert_eq!(at(74.9), Some(Level::Caution));
    assert_eq!(at(49.9), Some(Level::High));
    assert_eq!(at(24.9), Some(Level::VeryHigh));
    assert_eq!(at(25.0), Some(Level::High));
    // Without a latest count, the baseline is used.
    let f = breast()
        .cov(|c| c.baseline_platelets_1e9_per_l = Some(60.0))
        .flag("H1");
    assert_eq!(f.level, Some(Level::Caution));
}

#[test]
fn an_invalid_rule_is_reported_not_fatal() {
    let cat = Catalogue::builtin().unwrap();
    let mut bad = Rule::from_catalogue("ZZ9", "no such evidence", &cat);
    bad.covariate = Some(CovariateCondition::Is(BoolCovariate::AsianAncestry, true));
    let mut good = Rule::from_catalogue("H4", "Asian ancestry", &cat);
    good.covariate = Some(CovariateCondition::Is(BoolCovariate::AsianAncestry, true));
    good.level = Level::Caution;
    let flags = breast()
        .cov(|c| c.asian_ancestry = Some(true))
        .run_rules(&[bad, good]);
    assert_eq!(flags[0].status, Status::NotEvaluated);
    assert!(flags[0].reason.as_deref().unwrap().contains("no citation"));
    assert_eq!(flags[1].status, Status::Triggered);
}

#[test]
fn flags_serialise_to_json() {
    let flags = srs()
        .dose("2026-03-03")
        .m(BRAIN_NORMAL, "V12Gy[cc]", 6.0)
        .run();
    let json = serde_json::to_string(&flags).unwrap();
    assert!(json.contains("\"rule_id\":\"B6\""));
    assert!(json.contains("\"status\":\"triggered\""));
    assert!(json.contains("\"level\":\"very_high\"") || json.contains("\"level\":\"high\""));
}

/// QUANTEC as two condition tiers of one rule: caution if V20 > 30 % or MLD > 20 Gy,
/// high if V20 > 35 % or MLD > 23 Gy. One flag, at the highest level that holds.
#[test]
fn condition_tiers_raise_one_flag_at_the_highest_level() {
    let cat = Catalogue::builtin().unwrap();
    let mut r = Rule::from_catalogue("P1", "QUANTEC lung", &cat);
    let tier = |level, v20, mld| ConditionTier {
        level,
        combine: Combine::Any,
        conditions: vec![
            Condition::metric("Lungs", "V20Gy[%]", Op::Gt, v20),
            Condition::metric("Lungs", "Mean[Gy]", Op::Gt, mld),
        ],
        note: None,
    };
    r.condition_tiers = vec![
        tier(Level::Caution, 30.0, 20.0),
        tier(Level::High, 35.0, 23.0),
    ];
    let run = |v20: f64, u: f64, mld: f64| {
        breast()
            .mu("Lungs", "V20Gy[%]", v20, u)
            .m("Lungs", "Mean[Gy]", mld)
            .run_rules(std::slice::from_ref(&r))
            .remove(0)
    };
    let f = run(36.0, 0.0, 10.0);
    assert_eq!((f.status, f.level), (Status::Triggered, Some(Level::High)));
    assert!(
        f.facts.iter().any(|x| x == "Lungs V20Gy[%] = 36 > 35"),
        "{:?}",
        f.facts
    );
    let f = run(20.0, 0.0, 20.5);
    assert_eq!(
        (f.status, f.level),
        (Status::Triggered, Some(Level::Caution))
    );
    let f = run(20.0, 0.0, 20.0);
    assert_eq!(f.status, Status::Pass);
    // V20 35.1 ± 0.2 straddles the high tier; caution (V20 > 30) holds beyond doubt.
    let f = run(35.1, 0.2, 10.0);
    assert_eq!(
        (f.status, f.level, f.established_level),
        (
            Status::Indeterminate,
            Some(Level::High),
            Some(Level::Caution)
        )
    );
    // No lungs: not evaluated.
    let f = breast().run_rules(std::slice::from_ref(&r)).remove(0);
    assert_eq!(f.status, Status::NotEvaluated);
}
