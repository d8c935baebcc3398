//! Risk rules: what to compare, with which thresholds, under which timing, covariate
//! and fractionation conditions, and on what evidence.

use crate::catalogue::{Catalogue, Verification};
use crate::patient::{BreastCup, CourseKind, Covariates, Laterality, SrsPlatform};
use crate::timeline::Window;
use serde::Serialize;
use std::fmt;

/// Flag severity, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Caution,
    High,
    VeryHigh,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Caution => "caution",
            Level::High => "high",
            Level::VeryHigh => "very high",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Comparison of a value with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Op {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
}

impl Op {
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => value > threshold,
            Op::Ge => value >= threshold,
            Op::Lt => value < threshold,
            Op::Le => value <= threshold,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => "≥",
            Op::Lt => "<",
            Op::Le => "≤",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// One threshold of a rule's quantity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tier {
    pub level: Level,
    pub op: Op,
    pub value: f64,
    /// This threshold is recalled \[R\] even if the rest of the rule is verified.
    pub provisional: bool,
    /// What the source attaches to the tier (`~10% symptomatic RN`).
    pub note: Option<String>,
}

impl Tier {
    pub fn new(level: Level, op: Op, value: f64) -> Tier {
        Tier {
            level,
            op,
            value,
            provisional: false,
            note: None,
        }
    }

    pub fn note(mut self, note: &str) -> Tier {
        self.note = Some(note.to_string());
        self
    }

    pub fn provisional(mut self) -> Tier {
        self.provisional = true;
        self
    }
}

/// A numeric covariate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NumericCovariate {
    BaselinePlatelets,
    /// The most recent count: `latest_platelets_1e9_per_l`, else the baseline.
    CurrentPlatelets,
    Bmi,
    BaselineLvef,
    /// The most recent LVEF: `latest_lvef_percent`, else the baseline.
    CurrentLvef,
    /// Baseline LVEF − latest LVEF (needs both).
    LvefDrop,
    LesionMaxDiameterMm,
    LesionVolumeCc,
    LesionCount,
    PrescriptionGyPerFraction,
    ActiveMarrowIrradiatedPercent,
}

impl NumericCovariate {
    pub fn name(self) -> &'static str {
        match self {
            NumericCovariate::BaselinePlatelets => "baseline platelets [×10⁹/L]",
            NumericCovariate::CurrentPlatelets => "latest platelets [×10⁹/L]",
            NumericCovariate::Bmi => "BMI",
            NumericCovariate::BaselineLvef => "baseline LVEF [%]",
            NumericCovariate::CurrentLvef => "LVEF [%]",
            NumericCovariate::LvefDrop => "LVEF drop from baseline [points]",
            NumericCovariate::LesionMaxDiameterMm => "lesion max diameter [mm]",
            NumericCovariate::LesionVolumeCc => "lesion volume [cc]",
            NumericCovariate::LesionCount => "lesion count",
            NumericCovariate::PrescriptionGyPerFraction => "prescription per fraction [Gy]",
            NumericCovariate::ActiveMarrowIrradiatedPercent => "active marrow irradiated [%]",
        }
    }

    /// The covariate's value, or `None` when the patient file does not give it.
    pub fn value(self, c: &Covariates) -> Option<f64> {
        match self {
            NumericCovariate::BaselinePlatelets => c.baseline_platelets_1e9_per_l,
            NumericCovariate::CurrentPlatelets => c
                .latest_platelets_1e9_per_l
                .or(c.baseline_platelets_1e9_per_l),
            NumericCovariate::Bmi => c.bmi,
            NumericCovariate::BaselineLvef => c.baseline_lvef_percent,
            NumericCovariate::CurrentLvef => c.latest_lvef_percent.or(c.baseline_lvef_percent),
            NumericCovariate::LvefDrop => Some(c.baseline_lvef_percent? - c.latest_lvef_percent?),
            NumericCovariate::LesionMaxDiameterMm => c.lesion_max_diameter_mm,
            NumericCovariate::LesionVolumeCc => c.lesion_volume_cc,
            NumericCovariate::LesionCount => c.lesion_count.map(f64::from),
            NumericCovariate::PrescriptionGyPerFraction => c.prescription_gy_per_fraction,
            NumericCovariate::ActiveMarrowIrradiatedPercent => c.active_marrow_irradiated_percent,
        }
    }
}

/// A yes/no covariate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoolCovariate {
    AsianAncestry,
    PriorWbrt,
    PriorRtSameLesion,
    KnownRadiationNecrosis,
    ProtonTherapy,
    PneumonitisOrIld,
}

impl BoolCovariate {
    pub fn name(self) -> &'static str {
        match self {
            BoolCovariate::AsianAncestry => "asian_ancestry",
            BoolCovariate::PriorWbrt => "prior_wbrt",
            BoolCovariate::PriorRtSameLesion => "prior_rt_same_lesion",
            BoolCovariate::KnownRadiationNecrosis => "known_radiation_necrosis",
            BoolCovariate::ProtonTherapy => "proton_therapy",
            BoolCovariate::PneumonitisOrIld => "pneumonitis_or_ild",
        }
    }

    pub fn value(self, c: &Covariates) -> Option<bool> {
        match self {
            BoolCovariate::AsianAncestry => c.asian_ancestry,
            BoolCovariate::PriorWbrt => c.prior_wbrt,
            BoolCovariate::PriorRtSameLesion => c.prior_rt_same_lesion,
            BoolCovariate::KnownRadiationNecrosis => c.known_radiation_necrosis,
            BoolCovariate::ProtonTherapy => c.proton_therapy,
            BoolCovariate::PneumonitisOrIld => c.pneumonitis_or_ild,
        }
    }
}

/// A condition on the patient's covariates.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CovariateCondition {
    Is(BoolCovariate, bool),
    Number {
        covariate: NumericCovariate,
        op: Op,
        value: f64,
    },
    CupAtLeast(BreastCup),
    Laterality(Laterality),
    Platform(SrsPlatform),
    All(Vec<CovariateCondition>),
    Any(Vec<CovariateCondition>),
}

impl CovariateCondition {
    pub fn number(covariate: NumericCovariate, op: Op, value: f64) -> CovariateCondition {
        CovariateCondition::Number {
            covariate,
            op,
            value,
        }
    }
}

/// What a rule measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// A dose metric of a structure (TG-263 metric text, physical or EQD2), obtained
    /// from the caller's [`crate::MetricLookup`].
    Metric {
        structure: String,
        metric: String,
    },
    Covariate(NumericCovariate),
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quantity::Metric { structure, metric } => write!(f, "{structure} {metric}"),
            Quantity::Covariate(c) => f.write_str(c.name()),
        }
    }
}

/// A comparison of a quantity with a value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    pub quantity: Quantity,
    pub op: Op,
    pub value: f64,
}

impl Condition {
    pub fn metric(structure: &str, metric: &str, op: Op, value: f64) -> Condition {
        Condition {
            quantity: Quantity::Metric {
                structure: structure.into(),
                metric: metric.into(),
            },
            op,
            value,
        }
    }
}

/// How the conditions of a rule combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    All,
    Any,
}

/// A level reached when a combination of conditions holds (e.g. QUANTEC: caution if
/// V20 > 30 % or MLD > 20 Gy; high if V20 > 35 % or MLD > 23 Gy).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionTier {
    pub level: Level,
    pub combine: Combine,
    pub conditions: Vec<Condition>,
    pub note: Option<String>,
}

/// A timing condition on the T-DM1 doses.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimingCondition {
    /// Some dose lies in this window of an RT date.
    Window(Window),
    /// At least one T-DM1 dose is recorded (given or planned), whatever the interval.
    AnyDose,
}

/// A condition on the plan's number of fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FractionCondition {
    Exactly(u32),
    AtLeast(u32),
    AtMost(u32),
    /// Inclusive range.
    Between(u32, u32),
}

impl FractionCondition {
    pub fn holds(self, n: u32) -> bool {
        match self {
            FractionCondition::Exactly(k) => n == k,
            FractionCondition::AtLeast(k) => n >= k,
            FractionCondition::AtMost(k) => n <= k,
            FractionCondition::Between(a, b) => (a..=b).contains(&n),
        }
    }
}

impl fmt::Display for FractionCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FractionCondition::Exactly(k) => write!(f, "{k} fraction(s)"),
            FractionCondition::AtLeast(k) => write!(f, "at least {k} fractions"),
            FractionCondition::AtMost(k) => write!(f, "at most {k} fractions"),
            FractionCondition::Between(a, b) => write!(f, "{a} to {b} fractions"),
        }
    }
}

/// A continuous risk model reported as an estimate (C1 Darby, C2, H7).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimateModel {
    /// Relative risk = 1 + `per_unit` × x; 95% CI from the CI of `per_unit`.
    ExcessRelativeRisk {
        per_unit: f64,
        ci: Option<(f64, f64)>,
        endpoint: String,
    },
    /// Ratio (hazard or odds) `ratio` for each `per` units of x: ratio^(x/per).
    RatioPerUnits {
        kind: String,
        ratio: f64,
        per: f64,
        ci: Option<(f64, f64)>,
        endpoint: String,
    },
}

/// A risk rule. A rule fires when every condition it has holds: the tiers of its
/// quantity (if any), its extra `conditions`, its timing, covariate, fractionation,
/// course-kind and dependency conditions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Evidence ID, optionally with a variant suffix (`B3.5fx`).
    pub id: String,
    pub title: String,
    /// The structure of `metric` (TG-263 name).
    pub structure: Option<String>,
    /// TG-263 metric text (`V12Gy[cc]`, `Mean[Gy]`, `V20EQD2Gy[%]`).
    pub metric: Option<String>,
    /// The rule's quantity when it is a covariate rather than a dose metric.
    pub quantity_covariate: Option<NumericCovariate>,
    /// Thresholds of the quantity, any order; the highest level that holds wins.
    pub tiers: Vec<Tier>,
    /// Levels reached by combinations of comparisons; the highest that holds wins.
    /// (An alternative to `tiers` for rules on several quantities.)
    pub condition_tiers: Vec<ConditionTier>,
    /// Further comparisons that must hold (`Combine::All`) or of which one must hold.
    pub conditions: Vec<Condition>,
    pub combine: Combine,
    /// The level of a rule without tiers (timing, covariate or condition rules).
    pub level: Level,
    pub timing: Option<TimingCondition>,
    pub covariate: Option<CovariateCondition>,
    pub fractions: Option<FractionCondition>,
    /// The rule applies only when the patient has a course of one of these kinds
    /// (empty: any patient).
    pub courses: Vec<CourseKind>,
    /// A continuous model evaluated on the quantity.
    pub estimate: Option<EstimateModel>,
    /// The rule fires only if one of these rules (IDs or evidence IDs) fired at
    /// `Caution` or above.
    pub depends_on: Vec<String>,
    pub grade: String,
    pub citation: String,
    pub verification: Verification,
    /// True when any number the rule uses is recalled \[R\].
    pub provisional: bool,
    pub note: Option<String>,
    /// Published results against an effect, shown beside the flag.
    pub evidence_against: Vec<String>,
}

impl Rule {
    /// A rule with grade, citation, verification, provisional status and evidence
    /// against taken from the catalogue record of `id`'s evidence ID; with no such
    /// record, the citation and grade stay empty and [`Rule::check`] refuses it.
    pub fn from_catalogue(id: &str, title: &str, catalogue: &Catalogue) -> Rule {
        let rec = catalogue.get(id);
        Rule {
            id: id.to_string(),
            title: title.to_string(),
            structure: None,
            metric: None,
            quantity_covariate: None,
            tiers: Vec::new(),
            condition_tiers: Vec::new(),
            conditions: Vec::new(),
            combine: Combine::All,
            level: Level::Info,
            timing: None,
            covariate: None,
            fractions: None,
            courses: Vec::new(),
            estimate: None,
            depends_on: Vec::new(),
            grade: rec.map(|r| r.grade.clone()).unwrap_or_default(),
            citation: rec.map(|r| r.citation.clone()).unwrap_or_default(),
            verification: rec.map_or(Verification::Recalled, |r| r.verification),
            // Tier-level provisional marks handle partly recalled records.
            provisional: rec.is_some_and(|r| r.verification == Verification::Recalled),
            note: rec.map(|r| r.note.clone()),
            evidence_against: rec
                .map(|r| r.evidence_against.iter().map(|a| a.to_string()).collect())
                .unwrap_or_default(),
        }
    }

    /// The rule's quantity, if it has one.
    pub fn quantity(&self) -> Option<Quantity> {
        match (&self.structure, &self.metric, self.quantity_covariate) {
            (Some(s), Some(m), _) => Some(Quantity::Metric {
                structure: s.clone(),
                metric: m.clone(),
            }),
            (_, _, Some(c)) => Some(Quantity::Covariate(c)),
            _ => None,
        }
    }

    /// Reject a rule that could never be evaluated meaningfully.
    pub fn check(&self) -> Result<(), RuleError> {
        let bad = |p: &str| {
            Err(RuleError {
                id: self.id.clone(),
                problem: p.to_string(),
            })
        };
        if self.citation.trim().is_empty() {
            return bad("no citation");
        }
        if self.grade.trim().is_empty() {
            return bad("no evidence grade");
        }
        if self.metric.is_some() != self.structure.is_some() {
            return bad("a metric needs a structure and a structure needs a metric");
        }
        if self.metric.is_some() && self.quantity_covariate.is_some() {
            return bad("both a metric and a covariate quantity");
        }
        if (!self.tiers.is_empty() || self.estimate.is_some()) && self.quantity().is_none() {
            return bad("tiers or an estimate without a quantity to apply them to");
        }
        if self.quantity().is_some() && self.tiers.is_empty() && self.estimate.is_none() {
            return bad("a quantity without tiers or an estimate");
        }
        if !self.tiers.is_empty() && !self.condition_tiers.is_empty() {
            return bad("both threshold tiers and condition tiers");
        }
        if self.condition_tiers.iter().any(|t| t.conditions.is_empty()) {
            return bad("a condition tier without conditions");
        }
        if self.quantity().is_none()
            && self.condition_tiers.is_empty()
            && self.conditions.is_empty()
            && self.timing.is_none()
            && self.covariate.is_none()
            && self.depends_on.is_empty()
        {
            return bad("no quantity and no condition: it would always fire");
        }
        for t in &self.tiers {
            if !t.value.is_finite() {
                return bad("a tier threshold is not finite");
            }
        }
        Ok(())
    }
}

/// A rule that cannot be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("rule {id}: {problem}")]
pub struct RuleError {
    pub id: String,
    pub problem: String,
}
