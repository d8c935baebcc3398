//! Cardiac dose: mean heart dose, left ventricle, LAD and other substructures, and the
//! Darby et al. (NEJM 2013) relative risk of major coronary events.

use crate::common::{NamedStructure, SiteContext, num, opt, sample, site_name, starts_with_ci};
use radtox_model::DoseGrid;
use radtox_report::SiteTable;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

/// Darby et al., NEJM 2013: major coronary events increase linearly with mean heart
/// dose by 7.4 % per Gy (95 % CI 2.9–14.5 %), with no apparent threshold.
pub const DARBY_PER_GY: f64 = 0.074;
/// Lower bound of the 95 % confidence interval (per Gy).
pub const DARBY_PER_GY_LOW: f64 = 0.029;
/// Upper bound of the 95 % confidence interval (per Gy).
pub const DARBY_PER_GY_HIGH: f64 = 0.145;
/// Citation of the estimate.
pub const DARBY_SOURCE: &str = "Darby et al., N Engl J Med 2013;368:987-998 (major coronary events +7.4%/Gy MHD, 95% CI 2.9-14.5)";

/// Relative risk of major coronary events estimated from the mean heart dose.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DarbyEstimate {
    pub mean_heart_dose_gy: f64,
    /// 1 + 0.074 × MHD.
    pub relative_risk: f64,
    /// 1 + 0.029 × MHD.
    pub ci95_low: f64,
    /// 1 + 0.145 × MHD.
    pub ci95_high: f64,
    pub source: &'static str,
}

/// The Darby estimate for a mean heart dose (Gy).
pub fn darby_relative_risk(mean_heart_dose_gy: f64) -> DarbyEstimate {
    DarbyEstimate {
        mean_heart_dose_gy,
        relative_risk: 1.0 + DARBY_PER_GY * mean_heart_dose_gy,
        ci95_low: 1.0 + DARBY_PER_GY_LOW * mean_heart_dose_gy,
        ci95_high: 1.0 + DARBY_PER_GY_HIGH * mean_heart_dose_gy,
        source: DARBY_SOURCE,
    }
}

/// What a cardiac structure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardiacRole {
    Heart,
    LeftVentricle,
    Lad,
    OtherChamber,
    OtherCoronary,
    GreatVessel,
}

fn role_of(name: &str) -> Option<CardiacRole> {
    let eq = |n: &str| name.eq_ignore_ascii_case(n);
    if eq("Heart") {
        Some(CardiacRole::Heart)
    } else if eq("Ventricle_L") || eq("Heart_Ventricle_L") || eq("LV") {
        Some(CardiacRole::LeftVentricle)
    } else if eq("A_LAD") || eq("LAD") {
        Some(CardiacRole::Lad)
    } else if ["Atrium_L", "Atrium_R", "Ventricle_R"]
        .iter()
        .any(|n| eq(n))
    {
        Some(CardiacRole::OtherChamber)
    } else if ["A_Coronary", "A_Circumflex", "A_Flex", "A_RCA", "A_LCA"]
        .iter()
        .any(|p| starts_with_ci(name, p))
    {
        Some(CardiacRole::OtherCoronary)
    } else if ["A_Aorta", "A_Pulmonary", "V_Venacava", "V_Pulmonary"]
        .iter()
        .any(|p| starts_with_ci(name, p))
    {
        Some(CardiacRole::GreatVessel)
    } else {
        None
    }
}

/// Dose figures of one cardiac structure; the V metrics are given where the evidence
/// uses them (LV: V5, V23; LAD: V15, V30, V40), otherwise `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardiacDose {
    pub name: String,
    pub role: CardiacRole,
    pub volume_cc: f64,
    pub mean_gy: f64,
    pub max_gy: f64,
    pub v5_percent: Option<f64>,
    pub v15_percent: Option<f64>,
    pub v23_percent: Option<f64>,
    pub v30_percent: Option<f64>,
    pub v40_percent: Option<f64>,
}

/// Result of [`analyse_heart`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeartAnalysis {
    pub structures: Vec<CardiacDose>,
    /// From the mean heart dose, when a Heart is contoured.
    pub darby: Option<DarbyEstimate>,
    pub warnings: Vec<String>,
}

/// Cardiac doses of every cardiac structure present (recognised by TG-263 name:
/// Heart, Ventricle_L, A_LAD, Atrium_L/R, Ventricle_R, A_Coronary*, A_Circumflex,
/// great vessels A_Aorta*, A_Pulmonary*, V_Venacava*, V_Pulmonary*). `None` when none.
pub fn analyse_heart(
    grid: &DoseGrid,
    structures: &[NamedStructure],
    ctx: &SiteContext,
) -> Option<HeartAnalysis> {
    let found: Vec<(&NamedStructure, CardiacRole)> = structures
        .iter()
        .filter(|s| !s.0.is_empty())
        .filter_map(|s| role_of(site_name(s)).map(|r| (s, r)))
        .collect();
    if found.is_empty() {
        return None;
    }
    let results: Vec<(CardiacDose, Vec<String>)> = found
        .par_iter()
        .map(|(s, role)| {
            let smp = sample(&s.0, grid, ctx);
            let v = |d: f64, wanted: bool| wanted.then(|| smp.dvh.volume_at_dose_percent(d));
            let (lv, lad) = (
                *role == CardiacRole::LeftVentricle,
                *role == CardiacRole::Lad,
            );
            (
                CardiacDose {
                    name: s.0.name.clone(),
                    role: *role,
                    volume_cc: smp.volume_cc,
                    mean_gy: smp.dvh.mean(),
                    max_gy: smp.dvh.max(),
                    v5_percent: v(5.0, lv),
                    v15_percent: v(15.0, lad),
                    v23_percent: v(23.0, lv),
                    v30_percent: v(30.0, lad),
                    v40_percent: v(40.0, lad),
                },
                smp.warnings,
            )
        })
        .collect();
    let mut warnings = Vec::new();
    let mut out = Vec::new();
    for (c, w) in results {
        warnings.extend(w);
        out.push(c);
    }
    let darby = out
        .iter()
        .find(|c| c.role == CardiacRole::Heart)
        .filter(|c| c.mean_gy.is_finite())
        .map(|c| darby_relative_risk(c.mean_gy));
    Some(HeartAnalysis {
        structures: out,
        darby,
        warnings,
    })
}

impl HeartAnalysis {
    /// The "heart" site table.
    pub fn to_site_table(&self) -> SiteTable {
        let role = |r: CardiacRole| match r {
            CardiacRole::Heart => "heart",
            CardiacRole::LeftVentricle => "left ventricle",
            CardiacRole::Lad => "LAD",
            CardiacRole::OtherChamber => "chamber",
            CardiacRole::OtherCoronary => "coronary artery",
            CardiacRole::GreatVessel => "great vessel",
        };
        let rows = self
            .structures
            .iter()
            .map(|c| {
                vec![
                    Value::from(c.name.clone()),
                    Value::from(role(c.role)),
                    num(c.volume_cc),
                    num(c.mean_gy),
                    num(c.max_gy),
                    opt(c.v5_percent),
                    opt(c.v15_percent),
                    opt(c.v23_percent),
                    opt(c.v30_percent),
                    opt(c.v40_percent),
                ]
            })
            .collect();
        let mut notes = Vec::new();
        if let Some(d) = &self.darby {
            notes.push(format!(
                "Estimate: relative risk of major coronary events {:.3} (95% CI {:.3}–{:.3}) = 1 + 0.074 × MHD \
                 ({:.2} Gy); source: {}. Population estimate, not an individual prediction.",
                d.relative_risk, d.ci95_low, d.ci95_high, d.mean_heart_dose_gy, d.source
            ));
        } else {
            notes.push(
                "No Heart contour: mean heart dose and the Darby estimate are not available."
                    .into(),
            );
        }
        notes.push(
            "DEGRO (Piroth et al. 2019): MHD < 2.5 Gy, LV mean < 3 Gy, LV-V5 < 17%, LV-V23 < 5%, \
             LAD mean < 10 Gy, LAD V30 < 2%, LAD V40 < 1%. LAD V15 ≥ 10%: Zureick 2022 (cut-off recalled [R])."
                .into(),
        );
        SiteTable {
            id: "heart".into(),
            title: "Heart and cardiac substructures".into(),
            columns: [
                "Structure",
                "Role",
                "Volume [cc]",
                "Mean [Gy]",
                "Max [Gy]",
                "V5Gy [%]",
                "V15Gy [%]",
                "V23Gy [%]",
                "V30Gy [%]",
                "V40Gy [%]",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            notes,
        }
    }
}
