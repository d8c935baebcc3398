//! The default rule set: one or more rules for every record of the evidence catalogue,
//! with numbers copied from `shared/evidence/tdm1-rt-toxicity.md`.
//!
//! Structure names are TG-263 (`Brain-GTV_All` is the derived normal brain of the
//! brain-SRS pipeline; `Skin_Band_5mm` is a
//! 5 mm skin band a pipeline must derive). A
//! pipeline's own rules, converted with the `pipeline` feature, replace these.

use crate::catalogue::Catalogue;
use crate::patient::{BreastCup, CourseKind, Laterality, SrsPlatform};
use crate::rule::{
    BoolCovariate as B, Combine, Condition, CovariateCondition as Cov, EstimateModel,
    FractionCondition, Level, NumericCovariate as N, Op, Rule, Tier, TimingCondition,
};
use crate::timeline::Window;

const BRAIN_COURSES: &[CourseKind] = &[CourseKind::Srs, CourseKind::Srt, CourseKind::Wbrt];
const STEREO_COURSES: &[CourseKind] = &[CourseKind::Srs, CourseKind::Srt];
const BREAST: &[CourseKind] = &[CourseKind::Breast];

struct Builder<'a> {
    cat: &'a Catalogue,
    rules: Vec<Rule>,
}

impl Builder<'_> {
    fn rule(&mut self, id: &str, title: &str, edit: impl FnOnce(&mut Rule)) {
        let mut r = Rule::from_catalogue(id, title, self.cat);
        edit(&mut r);
        self.rules.push(r);
    }
}

fn metric(r: &mut Rule, structure: &str, m: &str) {
    r.structure = Some(structure.into());
    r.metric = Some(m.into());
}

/// The default rules, built against `catalogue` for grades, citations, verification
/// status and evidence against.
pub fn default_rules(catalogue: &Catalogue) -> Vec<Rule> {
    let mut b = Builder {
        cat: catalogue,
        rules: Vec::new(),
    };

    // ---- A. Radiation necrosis ----------------------------------------------------
    b.rule(
        "B1",
        "Radiation necrosis after single-fraction SRS: brain minus GTV V12Gy",
        |r| {
            metric(r, "Brain-GTV_All", "V12Gy[cc]");
            r.fractions = Some(FractionCondition::Exactly(1));
            r.tiers = vec![
                Tier::new(Level::Caution, Op::Ge, 5.0).note("~10% symptomatic RN"),
                Tier::new(Level::High, Op::Ge, 10.0).note("~15%"),
                Tier::new(Level::VeryHigh, Op::Gt, 15.0)
                    .note("~20%")
                    .provisional(),
            ];
        },
    );
    b.rule(
        "B2",
        "Radiation necrosis: brain V10Gy > 12.6 cc and V12Gy > 10.9 cc, single fraction",
        |r| {
            r.fractions = Some(FractionCondition::Exactly(1));
            r.conditions = vec![
                Condition::metric("Brain", "V10Gy[cc]", Op::Gt, 12.6),
                Condition::metric("Brain", "V12Gy[cc]", Op::Gt, 10.9),
            ];
            r.level = Level::High;
        },
    );
    b.rule(
        "B3.3fx",
        "Radiation necrosis after 3-fraction SRT: brain minus GTV V20Gy",
        |r| {
            metric(r, "Brain-GTV_All", "V20Gy[cc]");
            r.fractions = Some(FractionCondition::Exactly(3));
            r.tiers = vec![Tier::new(Level::Caution, Op::Ge, 20.0).note("below 20 cc: < 10% risk")];
        },
    );
    b.rule(
        "B3.5fx",
        "Radiation necrosis after 5-fraction SRT: brain minus GTV V24Gy",
        |r| {
            metric(r, "Brain-GTV_All", "V24Gy[cc]");
            r.fractions = Some(FractionCondition::Exactly(5));
            r.tiers = vec![Tier::new(Level::Caution, Op::Ge, 20.0).note("below 20 cc: < 10% risk")];
        },
    );
    b.rule(
        "B3b",
        "Large lesions, 3 × 9 Gy: V18Gy > 30.2 cc or V21Gy > 20.9 cc",
        |r| {
            r.fractions = Some(FractionCondition::Exactly(3));
            r.conditions = vec![
                Condition::metric("Brain-GTV_All", "V18Gy[cc]", Op::Gt, 30.2),
                Condition::metric("Brain-GTV_All", "V21Gy[cc]", Op::Gt, 20.9),
            ];
            r.combine = Combine::Any;
            r.level = Level::Caution;
        },
    );
    // RTOG 90-05 table: one rule per diameter band. The source gives no flag level;
    // caution is the project's choice.
    for (suffix, lo, hi, max) in [
        ("20mm", None, 20.0, 24.0),
        ("30mm", Some(20.0), 30.0, 18.0),
        ("40mm", Some(30.0), 40.0, 15.0),
    ] {
        let title = format!(
            "Single-fraction prescription above {max} Gy, the RTOG 90-05 maximum for lesions {}≤ {hi} mm",
            lo.map_or(String::new(), |l| format!("> {l} and "))
        );
        b.rule(&format!("B4.{suffix}"), &title, |r| {
            r.fractions = Some(FractionCondition::Exactly(1));
            r.courses = STEREO_COURSES.to_vec();
            let mut band = vec![Cov::number(N::LesionMaxDiameterMm, Op::Le, hi)];
            if let Some(lo) = lo {
                band.push(Cov::number(N::LesionMaxDiameterMm, Op::Gt, lo));
            }
            band.push(Cov::number(N::PrescriptionGyPerFraction, Op::Gt, max));
            r.covariate = Some(Cov::All(band));
            r.level = Level::Caution;
            r.provisional = true; // mm cut-offs recalled [R]
        });
    }
    b.rule("B5", "Lesion volume above 15 cc", |r| {
        r.quantity_covariate = Some(N::LesionVolumeCc);
        r.courses = BRAIN_COURSES.to_vec();
        r.tiers = vec![Tier::new(Level::Caution, Op::Gt, 15.0)];
    });
    b.rule("B6", "T-DM1 within 28 days of SRS", |r| {
        r.timing = Some(TimingCondition::Window(Window::stumpf()));
        r.level = Level::High;
    });
    b.rule(
        "B7",
        "T-DM1 within 28 days of the first day of brain RT",
        |r| {
            r.timing = Some(TimingCondition::Window(Window::koide()));
            r.level = Level::High;
        },
    );
    b.rule("B8", "T-DM1 from 21 days before to 7 days after SRT", |r| {
        r.timing = Some(TimingCondition::Window(Window::lebow()));
        r.level = Level::High;
    });
    b.rule(
        "B8.reirradiation",
        "T-DM1 from 21 days before to 7 days after SRT of a previously irradiated lesion",
        |r| {
            r.timing = Some(TimingCondition::Window(Window::lebow()));
            r.covariate = Some(Cov::Is(B::PriorRtSameLesion, true));
            r.level = Level::VeryHigh;
        },
    );
    b.rule("B9", "T-DM1 within 1 year of SRS", |r| {
        r.timing = Some(TimingCondition::Window(Window::chun()));
        r.level = Level::Caution;
    });
    b.rule(
        "B9.sequential",
        "T-DM1 started after SRS (sequential)",
        |r| {
            r.timing = Some(TimingCondition::Window(Window::chun_sequential()));
            r.level = Level::Caution;
        },
    );
    b.rule(
        "B9.prior_wbrt",
        "T-DM1 within 1 year of SRS after prior WBRT",
        |r| {
            r.timing = Some(TimingCondition::Window(Window::chun()));
            r.covariate = Some(Cov::Is(B::PriorWbrt, true));
            r.level = Level::High;
        },
    );
    b.rule(
        "B10",
        "Known radiation necrosis and T-DM1 given or planned",
        |r| {
            r.timing = Some(TimingCondition::AnyDose);
            r.covariate = Some(Cov::Is(B::KnownRadiationNecrosis, true));
            r.level = Level::Caution;
        },
    );
    b.rule(
        "B11",
        "Gamma Knife platform or multiple lesions (note only)",
        |r| {
            r.courses = STEREO_COURSES.to_vec();
            r.covariate = Some(Cov::Any(vec![
                Cov::Platform(SrsPlatform::GammaKnife),
                Cov::number(N::LesionCount, Op::Ge, 2.0),
            ]));
            r.level = Level::Info;
        },
    );

    // ---- C. Cardiac ---------------------------------------------------------------
    b.rule(
        "C1",
        "Mean heart dose and major coronary events (Darby)",
        |r| {
            metric(r, "Heart", "Mean[Gy]");
            r.estimate = Some(EstimateModel::ExcessRelativeRisk {
                per_unit: 0.074,
                ci: Some((0.029, 0.145)),
                endpoint: "major coronary events".into(),
            });
        },
    );
    b.rule(
        "C2.mhd",
        "Mean heart dose and acute coronary events (van den Bogaard)",
        |r| {
            metric(r, "Heart", "Mean[Gy]");
            r.estimate = Some(EstimateModel::ExcessRelativeRisk {
                per_unit: 0.165,
                ci: None,
                endpoint: "acute coronary events".into(),
            });
        },
    );
    b.rule(
        "C2.lv_v5",
        "Left-ventricle V5Gy and acute coronary events (van den Bogaard)",
        |r| {
            metric(r, "Ventricle_L", "V5Gy[%]");
            r.estimate = Some(EstimateModel::RatioPerUnits {
                kind: "hazard ratio".into(),
                ratio: 1.016,
                per: 1.0,
                ci: None,
                endpoint: "acute coronary events".into(),
            });
        },
    );
    // DEGRO limits "X < L": a value ≥ L exceeds the limit.
    for (suffix, structure, m, limit) in [
        ("mhd", "Heart", "Mean[Gy]", 2.5),
        ("lv_mean", "Ventricle_L", "Mean[Gy]", 3.0),
        ("lv_v5", "Ventricle_L", "V5Gy[%]", 17.0),
        ("lv_v23", "Ventricle_L", "V23Gy[%]", 5.0),
        ("lad_mean", "A_LAD", "Mean[Gy]", 10.0),
        ("lad_v30", "A_LAD", "V30Gy[%]", 2.0),
        ("lad_v40", "A_LAD", "V40Gy[%]", 1.0),
    ] {
        b.rule(
            &format!("C3.{suffix}"),
            &format!("DEGRO limit {structure} {m} < {limit} exceeded"),
            |r| {
                metric(r, structure, m);
                r.tiers = vec![Tier::new(Level::Caution, Op::Ge, limit)];
            },
        );
    }
    b.rule("C4", "Mean heart dose above 4 Gy", |r| {
        metric(r, "Heart", "Mean[Gy]");
        r.tiers = vec![Tier::new(Level::High, Op::Gt, 4.0)];
    });
    b.rule("C5", "LAD V15Gy at or above 10%", |r| {
        metric(r, "A_LAD", "V15Gy[%]");
        r.tiers = vec![Tier::new(Level::Caution, Op::Ge, 10.0).provisional()];
    });
    b.rule(
        "C6",
        "Consider hs-troponin monitoring: cardiac dose rule triggered in a left-sided case",
        |r| {
            r.depends_on = ["C1", "C2", "C3", "C4", "C5"].map(String::from).to_vec();
            r.covariate = Some(Cov::Laterality(Laterality::Left));
            r.level = Level::Info;
        },
    );
    b.rule(
        "C7.stop",
        "LVEF below 40%: the label says stop T-DM1 if confirmed",
        |r| {
            r.covariate = Some(Cov::number(N::CurrentLvef, Op::Lt, 40.0));
            r.level = Level::High;
        },
    );
    b.rule(
        "C7.hold",
        "LVEF 40–45% with a drop of 10 points or more: the label says hold T-DM1",
        |r| {
            r.covariate = Some(Cov::All(vec![
                Cov::number(N::CurrentLvef, Op::Ge, 40.0),
                Cov::number(N::CurrentLvef, Op::Le, 45.0),
                Cov::number(N::LvefDrop, Op::Ge, 10.0),
            ]));
            r.level = Level::Caution;
        },
    );

    // ---- H. Haematologic ----------------------------------------------------------
    b.rule("H1", "Platelet count grade ≥ 2 (CTCAE v5)", |r| {
        r.quantity_covariate = Some(N::CurrentPlatelets);
        // Grade 1 starts at the lab's LLN, which the evidence file does not give.
        r.tiers = vec![
            Tier::new(Level::Caution, Op::Lt, 75.0).note("grade 2"),
            Tier::new(Level::High, Op::Lt, 50.0).note("grade 3"),
            Tier::new(Level::VeryHigh, Op::Lt, 25.0).note("grade 4"),
        ];
    });
    b.rule(
        "H2",
        "Thrombocytopenia grade 3–4: label dose modification",
        |r| {
            r.quantity_covariate = Some(N::CurrentPlatelets);
            r.tiers = vec![
                Tier::new(Level::High, Op::Lt, 50.0).note("grade 3: hold until ≥ 75, same dose"),
                Tier::new(Level::VeryHigh, Op::Lt, 25.0).note(
                    "grade 4: hold until ≥ 75, then one level down (3.6 → 3.0 → 2.4 mg/kg → stop)",
                ),
            ];
        },
    );
    b.rule(
        "H3",
        "Baseline platelets below 100 ×10⁹/L (not studied)",
        |r| {
            r.quantity_covariate = Some(N::BaselinePlatelets);
            r.tiers = vec![Tier::new(Level::Caution, Op::Lt, 100.0)];
        },
    );
    b.rule(
        "H4",
        "Asian ancestry: higher grade ≥ 3 thrombocytopenia on T-DM1",
        |r| {
            r.covariate = Some(Cov::Is(B::AsianAncestry, true));
            r.level = Level::Caution;
        },
    );
    b.rule(
        "H5",
        "Modi model predictors present (Asian ancestry or low baseline platelets)",
        |r| {
            // The model's coefficients are not in the evidence file: the rule only says that
            // its predictors point to risk, using the label's 100 ×10⁹/L (H3).
            r.covariate = Some(Cov::Any(vec![
                Cov::Is(B::AsianAncestry, true),
                Cov::number(N::BaselinePlatelets, Op::Lt, 100.0),
            ]));
            r.level = Level::Info;
        },
    );
    b.rule(
        "H6",
        "RT during the expected platelet nadir (1–14 days after a T-DM1 dose)",
        |r| {
            r.timing = Some(TimingCondition::Window(Window::platelet_nadir()));
            r.level = Level::Info;
        },
    );
    b.rule("H7", "Share of active marrow irradiated (Mac Manus)", |r| {
        r.quantity_covariate = Some(N::ActiveMarrowIrradiatedPercent);
        r.estimate = Some(EstimateModel::RatioPerUnits {
            kind: "odds ratio".into(),
            ratio: 4.1,
            per: 20.0,
            ci: None,
            endpoint: "a treatment break with thrombocytopenia".into(),
        });
    });
    b.rule("H8.v30", "Sternum V30Gy ≥ 24.38 cc", |r| {
        metric(r, "Bone_Sternum", "V30Gy[cc]");
        r.tiers = vec![
            Tier::new(Level::Info, Op::Ge, 24.38)
                .note("grade ≥ 2 haematologic toxicity 89% vs 37%"),
        ];
    });
    b.rule("H8.v40", "Sternum V40Gy ≥ 6.48 cc", |r| {
        metric(r, "Bone_Sternum", "V40Gy[cc]");
        r.tiers =
            vec![Tier::new(Level::Info, Op::Ge, 6.48).note("grade ≥ 2 leukopenia 64% vs 24%")];
    });
    b.rule("H8.d80", "Sternum D80% ≥ 23.37 Gy", |r| {
        metric(r, "Bone_Sternum", "D80%[Gy]");
        r.tiers = vec![Tier::new(Level::Info, Op::Ge, 23.37)];
    });
    b.rule("H9.v10", "Pelvic marrow V10Gy ≥ 90%", |r| {
        metric(r, "Bone_Pelvic", "V10Gy[%]");
        r.tiers = vec![
            Tier::new(Level::Caution, Op::Ge, 90.0).note("grade ≥ 2 leukopenia 73.7% vs 11.1%"),
        ];
    });
    b.rule("H9.v20", "Pelvic marrow V20Gy ≥ 75%", |r| {
        metric(r, "Bone_Pelvic", "V20Gy[%]");
        r.tiers = vec![Tier::new(Level::Caution, Op::Ge, 75.0).provisional()];
    });

    // ---- P. Pulmonary -------------------------------------------------------------
    b.rule("P1.v20", "Total lung V20Gy (QUANTEC)", |r| {
        metric(r, "Lungs", "V20Gy[%]");
        r.tiers = vec![
            Tier::new(Level::Caution, Op::Gt, 30.0),
            Tier::new(Level::High, Op::Gt, 35.0).note("~20% pneumonitis"),
        ];
    });
    b.rule("P1.mld", "Mean lung dose (QUANTEC)", |r| {
        metric(r, "Lungs", "Mean[Gy]");
        r.tiers = vec![
            Tier::new(Level::Caution, Op::Gt, 20.0),
            Tier::new(Level::High, Op::Gt, 23.0).note("~20% pneumonitis"),
        ];
    });
    for (suffix, lung, side) in [
        ("left", "Lung_L", Laterality::Left),
        ("right", "Lung_R", Laterality::Right),
    ] {
        b.rule(
            &format!("P2.{suffix}"),
            &format!("Ipsilateral ({suffix}) lung V20Gy ≥ 30%"),
            |r| {
                metric(r, lung, "V20Gy[%]");
                r.covariate = Some(Cov::Laterality(side));
                r.tiers = vec![Tier::new(Level::Caution, Op::Ge, 30.0)];
            },
        );
    }
    b.rule(
        "P3",
        "T-DM1 during breast RT: lung-injury signal (KATHERINE 1.5% vs 0.7%)",
        |r| {
            r.timing = Some(TimingCondition::Window(Window {
                kinds: BREAST.to_vec(),
                ..Window::during_rt()
            }));
            r.level = Level::Info;
        },
    );
    b.rule(
        "P4",
        "Pneumonitis/ILD or grade ≥ 3 radiation pneumonitis: the label says stop T-DM1",
        |r| {
            r.covariate = Some(Cov::Is(B::PneumonitisOrIld, true));
            r.level = Level::High;
        },
    );

    // ---- S. Skin --------------------------------------------------------------------
    b.rule(
        "S1",
        "T-DM1 within 14 days of the start of breast RT",
        |r| {
            r.timing = Some(TimingCondition::Window(Window::dastgheyb()));
            r.level = Level::Caution;
        },
    );
    b.rule(
        "S2.107",
        "Hot spot above 107% within 5 mm of the skin",
        |r| {
            metric(r, "Skin_Band_5mm", "V107%[cc]");
            r.tiers = vec![Tier::new(Level::Caution, Op::Gt, 0.0)];
        },
    );
    b.rule(
        "S2.110",
        "Hot spot above 110% within 5 mm of the skin",
        |r| {
            metric(r, "Skin_Band_5mm", "V110%[cc]");
            r.tiers = vec![Tier::new(Level::High, Op::Gt, 0.0)];
        },
    );
    b.rule("S3", "Large breast (cup ≥ D) or BMI ≥ 30", |r| {
        r.courses = BREAST.to_vec();
        r.covariate = Some(Cov::Any(vec![
            Cov::CupAtLeast(BreastCup::D),
            Cov::number(N::Bmi, Op::Ge, 30.0),
        ]));
        r.level = Level::Caution;
    });
    b.rule("S4", "Proton therapy with T-DM1 during RT", |r| {
        r.covariate = Some(Cov::Is(B::ProtonTherapy, true));
        r.timing = Some(TimingCondition::Window(Window::during_rt()));
        r.level = Level::Caution;
    });
    b.rule(
        "S5",
        "Conventional fractionation (< 2.5 Gy per fraction) for breast RT",
        |r| {
            r.courses = BREAST.to_vec();
            r.covariate = Some(Cov::number(N::PrescriptionGyPerFraction, Op::Lt, 2.5));
            r.level = Level::Caution;
        },
    );

    b.rules
}
