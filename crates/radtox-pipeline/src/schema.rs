//! The validated form of a pipeline file: what the rest of radtox reads.
//!
//! Every key is documented in `pipelines/README.md`; the raw serde shapes and the checks
//! that turn them into these types are in `load.rs`.

use crate::expr::StructureExpr;
use crate::names::NameRules;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The `schema` value of a pipeline file.
pub const PIPELINE_SCHEMA: &str = "radtox-pipeline/1";

/// A loaded, validated analysis protocol.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The file it was loaded from, as given to [`Pipeline::load`].
    pub source: PathBuf,
    pub name: String,
    pub description: Option<String>,
    /// The pipeline's `[names]` followed by its includes.
    pub names: NameRules,
    /// Derived structures in dependency order (a structure comes after those it uses).
    pub derived: Vec<DerivedStructure>,
    pub alpha_beta: AlphaBetaTable,
    pub fractionation: Option<Fractionation>,
    pub metrics: Vec<MetricSet>,
    pub rules: Vec<RiskRule>,
}

/// A structure built from others by the geometry engine.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedStructure {
    pub name: String,
    pub expr: StructureExpr,
    /// The expression as written.
    pub expr_text: String,
    pub note: Option<String>,
    /// Alternative constructions tried in order when `expr` refers to a structure the
    /// plan lacks; each says why it is an acceptable approximation.
    pub fallbacks: Vec<Fallback>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    pub expr: StructureExpr,
    pub expr_text: String,
    pub note: String,
}

/// α/β values (Gy). Lookup order for a structure: its exact name, then a glob key,
/// then its tissue class, then `default`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlphaBetaTable {
    pub default: Option<f64>,
    /// Keys as written: structure names, globs, or tissue-class names.
    pub entries: BTreeMap<String, f64>,
}

/// The α/β chosen for a structure and why.
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaBetaChoice {
    pub value: f64,
    /// `"Brain"`, `"glob Rib*"`, `"class target"`, `"default"` or `"metrics set override"`.
    pub source: String,
}

/// When a pipeline's fractionation is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FractionationPolicy {
    /// Only when the plan does not say (default).
    IfMissing,
    /// Always, whatever the plan says.
    Always,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fractionation {
    pub fractions: Option<u32>,
    pub prescription_gy: Option<f64>,
    pub policy: FractionationPolicy,
}

/// A condition on the plan that decides whether a metrics set or a rule applies.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct When {
    pub fractions: Option<u32>,
    pub fractions_min: Option<u32>,
    pub fractions_max: Option<u32>,
    pub laterality: Option<Laterality>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Laterality {
    Left,
    Right,
}

impl When {
    /// True when the plan's number of fractions (and laterality, if the condition has
    /// one) satisfies the condition. An unknown value never satisfies a condition on it.
    pub fn applies(&self, fractions: Option<u32>, laterality: Option<Laterality>) -> bool {
        let fx_ok = |want: Option<u32>, test: fn(u32, u32) -> bool| match want {
            None => true,
            Some(w) => fractions.is_some_and(|f| test(f, w)),
        };
        fx_ok(self.fractions, |f, w| f == w)
            && fx_ok(self.fractions_min, |f, w| f >= w)
            && fx_ok(self.fractions_max, |f, w| f <= w)
            && self.laterality.is_none_or(|l| laterality == Some(l))
    }
}

/// `[[metrics]]`: metrics to compute on structures.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSet {
    pub label: Option<String>,
    /// TG-263 names, derived names or globs.
    pub structures: Vec<String>,
    /// Metric strings, already accepted by the caller's validator.
    pub metrics: Vec<String>,
    pub when: Option<When>,
    /// α/β for EQD2/BED metrics of this set, overriding `[alpha_beta]` (e.g. acute vs
    /// late skin endpoints).
    pub alpha_beta: Option<f64>,
    pub endpoint: Option<String>,
}

/// Flag severity, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Caution,
    High,
    VeryHigh,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "info" => Some(Level::Info),
            "caution" => Some(Level::Caution),
            "high" => Some(Level::High),
            "very_high" => Some(Level::VeryHigh),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Caution => "caution",
            Level::High => "high",
            Level::VeryHigh => "very_high",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Comparison of a measured value with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    pub fn parse(s: &str) -> Option<Op> {
        match s {
            ">" => Some(Op::Gt),
            ">=" | "≥" => Some(Op::Ge),
            "<" => Some(Op::Lt),
            "<=" | "≤" => Some(Op::Le),
            _ => None,
        }
    }

    /// Does `value op threshold` hold?
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => value > threshold,
            Op::Ge => value >= threshold,
            Op::Lt => value < threshold,
            Op::Le => value <= threshold,
        }
    }

    pub fn is_upper(self) -> bool {
        matches!(self, Op::Gt | Op::Ge)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        })
    }
}

/// What a condition measures: a dose metric of a structure, or a covariate.
#[derive(Debug, Clone, PartialEq)]
pub enum Quantity {
    Metric {
        structure: String,
        metric: String,
    },
    /// A named input (see [`KNOWN_COVARIATES`]); `structure` when it is per structure
    /// (e.g. `lesion_volume_cc` of each `GTV_*`).
    Covariate {
        name: String,
        structure: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub quantity: Quantity,
    pub op: Op,
    pub value: f64,
}

/// How a tier decides.
#[derive(Debug, Clone, PartialEq)]
pub enum TierTest {
    /// The rule's own quantity compared with a threshold.
    Threshold {
        op: Op,
        value: f64,
    },
    All(Vec<Condition>),
    Any(Vec<Condition>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    pub level: Level,
    pub test: TierTest,
    pub note: Option<String>,
}

/// Shape of a continuous risk model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Relative risk = 1 + value × (x / per).
    ExcessRelativeRisk,
    /// Hazard ratio `value` for each `per` units of x.
    HazardRatio,
    /// Odds ratio `value` for each `per` units of x.
    OddsRatio,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousModel {
    pub quantity: Quantity,
    pub effect: Effect,
    pub value: f64,
    pub per: f64,
    /// 95 % confidence interval of `value`, when the source gives one.
    pub ci: Option<[f64; 2]>,
    pub description: Option<String>,
}

/// What a timing window is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimingAnchor {
    RtStart,
    RtEnd,
    /// Each treatment date (SRS/SRT session).
    EachRtDate,
    /// Any drug date between RT start and RT end.
    DuringRt,
}

/// A drug-timing rule: a dose of one of `agents` with offset Δ = drug date − anchor in
/// `[from_days, to_days]` raises a flag of `level`.
#[derive(Debug, Clone, PartialEq)]
pub struct TimingWindow {
    pub agents: Vec<String>,
    pub relative_to: TimingAnchor,
    pub from_days: i32,
    pub to_days: i32,
    pub level: Level,
}

/// A step table: for `by` up to `up_to`, `quantity` must not exceed `max`.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitTable {
    pub by: String,
    pub quantity: String,
    pub rows: Vec<LimitRow>,
    pub level: Level,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitRow {
    pub up_to: f64,
    pub max: f64,
}

/// A risk rule (`[[rules]]`); the engine that evaluates it lives elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskRule {
    /// Evidence record id (`B1`), optionally with a variant suffix (`B3.3fx`).
    pub id: String,
    pub title: Option<String>,
    /// Main structure (name, derived name or glob: a glob is evaluated per structure).
    pub structure: Option<String>,
    pub metric: Option<String>,
    pub covariate: Option<String>,
    pub when: Option<When>,
    pub tiers: Vec<Tier>,
    pub continuous: Vec<ContinuousModel>,
    pub timing: Option<TimingWindow>,
    pub limits: Option<LimitTable>,
    /// Covariates the rule needs besides dose (for the engine to ask for them).
    pub covariates: Vec<String>,
    pub grade: String,
    pub citation: String,
    pub evidence_note: Option<String>,
    /// True when a number in the rule is recalled rather than verified in a source.
    pub provisional: bool,
}

impl RiskRule {
    /// The evidence-record part of the id (`B3` of `B3.3fx`).
    pub fn evidence_id(&self) -> &str {
        self.id.split('.').next().unwrap_or(&self.id)
    }

    /// Every structure (name or glob) the rule reads.
    pub fn structures(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.structure.iter().map(String::as_str).collect();
        for t in &self.tiers {
            if let TierTest::All(cs) | TierTest::Any(cs) = &t.test {
                for c in cs {
                    out.extend(quantity_structure(&c.quantity));
                }
            }
        }
        for m in &self.continuous {
            out.extend(quantity_structure(&m.quantity));
        }
        out.sort();
        out.dedup();
        out
    }
}

fn quantity_structure(q: &Quantity) -> Option<&str> {
    match q {
        Quantity::Metric { structure, .. } => Some(structure),
        Quantity::Covariate { structure, .. } => structure.as_deref(),
    }
}

/// Covariates a rule may name. They are supplied by the user or computed by the clinic
/// engine; a pipeline naming anything else is rejected so a typo cannot make a rule
/// silently unevaluable.
pub const KNOWN_COVARIATES: &[&str] = &[
    "lesion_max_diameter_mm",
    "lesion_volume_cc",
    "lesion_count",
    "prescription_gy_per_fraction",
    "prior_wbrt",
    "prior_rt_same_lesion",
    "known_radiation_necrosis",
    "srs_platform",
    "platelets_baseline",
    "platelets_nadir",
    "asian_ancestry",
    "lvef_baseline_percent",
    "active_marrow_irradiated_percent",
    "breast_cup_size",
    "bmi",
    "laterality",
    "dibh",
    "technique",
    "nodal_rt",
    "concurrent_chemotherapy",
    "age",
    "hs_troponin",
];
