//! Rule evaluation: every rule yields exactly one [`Flag`], whatever happens, so a
//! reader sees what was checked, what fired, what was too close to call and what
//! could not be evaluated.

use crate::catalogue::Verification;
use crate::patient::{Covariates, Laterality};
use crate::rule::{
    Combine, Condition, CovariateCondition, EstimateModel, Level, Op, Quantity, Rule,
    TimingCondition,
};
use crate::timeline::Timeline;
use serde::Serialize;
use std::fmt;

/// Shown with every set of flags.
pub const DISCLAIMER: &str = "These flags are decision support derived from published cohorts \
(mostly small retrospective series; no dose-volume threshold was derived in T-DM1 patients). \
They are not a validated prediction model and do not replace clinical judgement.";

/// A dose metric as computed by the dose engine, with its uncertainty (same unit,
/// absolute, ≥ 0: e.g. the spread between sampling resolutions or against the TPS).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricValue {
    pub value: f64,
    pub uncertainty: f64,
}

impl MetricValue {
    pub fn exact(value: f64) -> MetricValue {
        MetricValue {
            value,
            uncertainty: 0.0,
        }
    }
}

/// Where the engine gets dose metrics: `(structure, TG-263 metric text)` → value, or
/// `None` when the structure is absent or the metric was not computed. Any closure of
/// that shape is a lookup.
pub trait MetricLookup {
    fn metric(&self, structure: &str, metric: &str) -> Option<MetricValue>;
}

impl<F: Fn(&str, &str) -> Option<MetricValue>> MetricLookup for F {
    fn metric(&self, structure: &str, metric: &str) -> Option<MetricValue> {
        self(structure, metric)
    }
}

/// Outcome of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every condition holds: the flag is raised at `level`.
    Triggered,
    /// Some condition does not hold.
    Pass,
    /// A compared value lies within its uncertainty of a threshold.
    Indeterminate,
    /// A metric or covariate the rule needs is missing (`reason` says which).
    NotEvaluated,
    /// The rule does not concern this patient (no course of its kind, other
    /// fractionation).
    NotApplicable,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Triggered => "triggered",
            Status::Pass => "pass",
            Status::Indeterminate => "indeterminate",
            Status::NotEvaluated => "not evaluated",
            Status::NotApplicable => "not applicable",
        })
    }
}

/// A threshold as applied.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Threshold {
    pub op: Op,
    pub value: f64,
}

/// A continuous estimate with its interval and source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskEstimate {
    pub endpoint: String,
    pub value: f64,
    pub ci95: Option<(f64, f64)>,
    pub description: String,
}

/// The result of one rule for one patient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    pub rule_id: String,
    pub title: String,
    pub status: Status,
    /// Triggered: the level raised. Indeterminate: the level in question.
    pub level: Option<Level>,
    /// Indeterminate: a lower level that does hold beyond doubt, if any.
    pub established_level: Option<Level>,
    pub structure: Option<String>,
    pub metric: Option<String>,
    pub value: Option<f64>,
    pub uncertainty: Option<f64>,
    /// The threshold that fired (or is in question).
    pub threshold: Option<Threshold>,
    /// Timing facts behind the flag, one sentence each.
    pub timing: Vec<String>,
    /// Covariate and condition facts behind the flag.
    pub facts: Vec<String>,
    pub estimate: Option<RiskEstimate>,
    pub grade: String,
    pub citation: String,
    pub verification: Verification,
    pub provisional: bool,
    pub evidence_against: Vec<String>,
    /// Why the rule passed, was not evaluated or does not apply.
    pub reason: Option<String>,
    /// The flag in one plain sentence.
    pub sentence: String,
}

/// State of one condition.
#[derive(Debug, Clone, PartialEq)]
enum Check {
    Holds(Vec<String>),
    Fails(String),
    Uncertain(String),
    Unknown(String),
    NotApplicable(String),
}

/// Evaluate every rule. `fractions` is the plan's number of fractions, when known.
///
/// Returns one flag per rule, in rule order. A rule that fails [`Rule::check`] yields a
/// `NotEvaluated` flag naming the problem rather than an error, so one bad rule never
/// hides the others.
pub fn evaluate<L: MetricLookup + ?Sized>(
    rules: &[Rule],
    lookup: &L,
    timeline: &Timeline,
    covariates: &Covariates,
    fractions: Option<u32>,
) -> Vec<Flag> {
    let mut flags: Vec<Option<Flag>> = vec![None; rules.len()];
    // Rules that depend on others are evaluated after all the others.
    for pass in [false, true] {
        for (i, rule) in rules.iter().enumerate() {
            if rule.depends_on.is_empty() == pass {
                continue;
            }
            let done: Vec<&Flag> = flags.iter().flatten().collect();
            let f = evaluate_rule(rule, lookup, timeline, covariates, fractions, &done);
            if let Some(slot) = flags.get_mut(i) {
                *slot = Some(f);
            }
        }
    }
    flags.into_iter().flatten().collect()
}

/// A number as a reader would write it: up to 3 decimals, no trailing zeros.
fn fmt_num(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" { "0".into() } else { s.to_string() }
}

fn compare(quantity: &str, v: f64, u: f64, op: Op, t: f64) -> Check {
    let shown = if u > 0.0 {
        format!("{quantity} = {} ± {}", fmt_num(v), fmt_num(u))
    } else {
        format!("{quantity} = {}", fmt_num(v))
    };
    // Within its uncertainty of the threshold, the comparison cannot be decided. With
    // zero uncertainty the comparison is exact (value equal to a ≥ threshold holds).
    if u > 0.0 && (v - t).abs() <= u {
        Check::Uncertain(format!(
            "{shown} is within its uncertainty of {op} {}",
            fmt_num(t)
        ))
    } else if op.holds(v, t) {
        Check::Holds(vec![format!("{shown} {op} {}", fmt_num(t))])
    } else {
        Check::Fails(format!("{shown}, not {op} {}", fmt_num(t)))
    }
}

fn quantity_value<L: MetricLookup + ?Sized>(
    q: &Quantity,
    lookup: &L,
    cov: &Covariates,
) -> Result<MetricValue, String> {
    match q {
        Quantity::Metric { structure, metric } => match lookup.metric(structure, metric) {
            Some(m) if m.value.is_finite() && m.uncertainty.is_finite() && m.uncertainty >= 0.0 => {
                Ok(m)
            }
            Some(m) => Err(format!(
                "{structure} {metric}: value {} ± {} is not a usable number",
                m.value, m.uncertainty
            )),
            None => Err(format!(
                "{structure} {metric} not available (structure absent or metric not computed)"
            )),
        },
        Quantity::Covariate(c) => c
            .value(cov)
            .map(MetricValue::exact)
            .ok_or_else(|| format!("covariate {} not supplied", c.name())),
    }
}

fn condition_check<L: MetricLookup + ?Sized>(c: &Condition, lookup: &L, cov: &Covariates) -> Check {
    match quantity_value(&c.quantity, lookup, cov) {
        Ok(m) => compare(
            &c.quantity.to_string(),
            m.value,
            m.uncertainty,
            c.op,
            c.value,
        ),
        Err(reason) => Check::Unknown(reason),
    }
}

/// Combine checks: `All` needs every one, `Any` one.
fn combine(checks: Vec<Check>, mode: Combine) -> Check {
    let mut holds = Vec::new();
    let (mut fails, mut uncertain, mut unknown, mut na) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for c in checks {
        match c {
            Check::Holds(f) => holds.extend(f),
            Check::Fails(r) => fails.push(r),
            Check::Uncertain(r) => uncertain.push(r),
            Check::Unknown(r) => unknown.push(r),
            Check::NotApplicable(r) => na.push(r),
        }
    }
    match mode {
        Combine::All => {
            if !na.is_empty() {
                Check::NotApplicable(na.join("; "))
            } else if !unknown.is_empty() {
                // Missing data is reported even when another condition fails: the
                // reader must know the check was incomplete.
                Check::Unknown(unknown.join("; "))
            } else if !fails.is_empty() {
                Check::Fails(fails.join("; "))
            } else if !uncertain.is_empty() {
                Check::Uncertain(uncertain.join("; "))
            } else {
                Check::Holds(holds)
            }
        }
        Combine::Any => {
            if !holds.is_empty() {
                Check::Holds(holds)
            } else if !unknown.is_empty() {
                Check::Unknown(unknown.join("; "))
            } else if !uncertain.is_empty() {
                Check::Uncertain(uncertain.join("; "))
            } else if !na.is_empty() && fails.is_empty() {
                Check::NotApplicable(na.join("; "))
            } else {
                Check::Fails(fails.join("; "))
            }
        }
    }
}

fn covariate_check(c: &CovariateCondition, cov: &Covariates) -> Check {
    match c {
        CovariateCondition::Is(b, want) => match b.value(cov) {
            None => Check::Unknown(format!("covariate {} not supplied", b.name())),
            Some(v) if v == *want => Check::Holds(vec![format!("{} = {v}", b.name())]),
            Some(v) => Check::Fails(format!("{} = {v}", b.name())),
        },
        CovariateCondition::Number {
            covariate,
            op,
            value,
        } => match covariate.value(cov) {
            None => Check::Unknown(format!("covariate {} not supplied", covariate.name())),
            Some(v) => compare(covariate.name(), v, 0.0, *op, *value),
        },
        CovariateCondition::CupAtLeast(min) => match cov.breast_cup {
            None => Check::Unknown("covariate breast_cup not supplied".into()),
            Some(c) if c >= *min => Check::Holds(vec![format!(
                "breast cup {} ≥ {}",
                c.as_str(),
                min.as_str()
            )]),
            Some(c) => Check::Fails(format!("breast cup {}, below {}", c.as_str(), min.as_str())),
        },
        CovariateCondition::Laterality(want) => match cov.laterality {
            None => Check::Unknown("covariate laterality not supplied".into()),
            Some(l) if l == *want || l == Laterality::Bilateral => {
                Check::Holds(vec![format!("laterality {}", lat_word(l))])
            }
            Some(l) => Check::Fails(format!("laterality {}", lat_word(l))),
        },
        CovariateCondition::Platform(want) => match cov.srs_platform {
            None => Check::Unknown("covariate srs_platform not supplied".into()),
            Some(p) if p == *want => Check::Holds(vec![format!("SRS platform {p:?}")]),
            Some(p) => Check::Fails(format!("SRS platform {p:?}")),
        },
        CovariateCondition::All(cs) => combine(
            cs.iter().map(|c| covariate_check(c, cov)).collect(),
            Combine::All,
        ),
        CovariateCondition::Any(cs) => combine(
            cs.iter().map(|c| covariate_check(c, cov)).collect(),
            Combine::Any,
        ),
    }
}

fn lat_word(l: Laterality) -> &'static str {
    match l {
        Laterality::Left => "left",
        Laterality::Right => "right",
        Laterality::Bilateral => "bilateral",
    }
}

fn timing_check(t: &TimingCondition, timeline: &Timeline) -> Check {
    match t {
        TimingCondition::AnyDose => match (timeline.doses.first(), timeline.doses.len()) {
            (None, _) => Check::Fails("no T-DM1 dose recorded".into()),
            (Some(d), n) => Check::Holds(vec![format!(
                "{n} T-DM1 dose(s) recorded, the first on {} (whatever the interval)",
                d.date
            )]),
        },
        TimingCondition::Window(w) => {
            if !timeline.courses.iter().any(|c| w.applies_to(c.kind)) {
                let kinds: Vec<&str> = w.kinds.iter().map(|k| k.as_str()).collect();
                return Check::NotApplicable(format!(
                    "no {} course in the patient file",
                    kinds.join("/")
                ));
            }
            let hits = timeline.window_hits(w);
            if hits.is_empty() {
                if timeline.doses.is_empty() {
                    return Check::Fails("no T-DM1 dose recorded".into());
                }
                return Check::Fails(format!("no T-DM1 dose {} ({})", w.describe(), w.source));
            }
            // One fact per anchor date (the closest dose), so a year of q3w doses does
            // not bury the flag; the count says how many more there are.
            let mut facts = Vec::new();
            let mut i = 0;
            while let Some(h) = hits.get(i) {
                let same: Vec<_> = hits[i..]
                    .iter()
                    .take_while(|x| x.course == h.course && x.rt_date == h.rt_date)
                    .collect();
                if let Some(best) = same.iter().min_by_key(|x| x.delta_days.abs()) {
                    let more = same.len() - 1;
                    facts.push(if more > 0 {
                        format!("{} (and {more} more dose(s) in the window)", best.fact)
                    } else {
                        best.fact.clone()
                    });
                }
                i += same.len().max(1);
            }
            Check::Holds(facts)
        }
    }
}

fn estimate(model: &EstimateModel, x: f64, quantity: &str, citation: &str) -> RiskEstimate {
    match model {
        EstimateModel::ExcessRelativeRisk {
            per_unit,
            ci,
            endpoint,
        } => {
            let rr = 1.0 + per_unit * x;
            let ci95 = ci.map(|(lo, hi)| (1.0 + lo * x, 1.0 + hi * x));
            let ci_text = ci95.map_or(String::new(), |(lo, hi)| {
                format!(" (95% CI {lo:.2}–{hi:.2})")
            });
            RiskEstimate {
                endpoint: endpoint.clone(),
                value: rr,
                ci95,
                description: format!(
                    "estimated relative risk of {endpoint} = 1 + {per_unit} × {quantity} {} = {rr:.2}{ci_text} ({citation}); a population estimate, not a prediction for this patient",
                    fmt_num(x)
                ),
            }
        }
        EstimateModel::RatioPerUnits {
            kind,
            ratio,
            per,
            ci,
            endpoint,
        } => {
            let e = x / per;
            let value = ratio.powf(e);
            let ci95 = ci.map(|(lo, hi)| (lo.powf(e), hi.powf(e)));
            let ci_text = ci95.map_or(String::new(), |(lo, hi)| {
                format!(" (95% CI {lo:.2}–{hi:.2})")
            });
            RiskEstimate {
                endpoint: endpoint.clone(),
                value,
                ci95,
                description: format!(
                    "estimated {kind} for {endpoint} = {ratio}^({quantity} {} / {per}) = {value:.2}{ci_text} ({citation}); a population estimate, not a prediction for this patient",
                    fmt_num(x)
                ),
            }
        }
    }
}

fn evaluate_rule<L: MetricLookup + ?Sized>(
    rule: &Rule,
    lookup: &L,
    timeline: &Timeline,
    cov: &Covariates,
    fractions: Option<u32>,
    done: &[&Flag],
) -> Flag {
    let mut flag = Flag {
        rule_id: rule.id.clone(),
        title: rule.title.clone(),
        status: Status::NotEvaluated,
        level: None,
        established_level: None,
        structure: rule.structure.clone(),
        metric: rule.metric.clone(),
        value: None,
        uncertainty: None,
        threshold: None,
        timing: Vec::new(),
        facts: Vec::new(),
        estimate: None,
        grade: rule.grade.clone(),
        citation: rule.citation.clone(),
        verification: rule.verification,
        provisional: rule.provisional,
        evidence_against: rule.evidence_against.clone(),
        reason: None,
        sentence: String::new(),
    };
    if let Err(e) = rule.check() {
        flag.reason = Some(format!("invalid rule: {}", e.problem));
        flag.sentence = sentence(rule, &flag);
        return flag;
    }

    // Gates, in the order a reader would ask: does the rule concern this patient, is
    // the data there, do the conditions hold?
    let mut gates: Vec<Check> = Vec::new();
    if !timeline.has_course_of(&rule.courses) {
        let kinds: Vec<&str> = rule.courses.iter().map(|k| k.as_str()).collect();
        gates.push(Check::NotApplicable(format!(
            "no {} course in the patient file",
            kinds.join("/")
        )));
    }
    if let Some(fc) = rule.fractions {
        gates.push(match fractions {
            None => Check::Unknown(format!(
                "number of fractions unknown (rule applies to {fc})"
            )),
            Some(n) if fc.holds(n) => Check::Holds(vec![format!("{n} fraction(s)")]),
            Some(n) => Check::NotApplicable(format!("rule applies to {fc}; the plan has {n}")),
        });
    }
    if !rule.depends_on.is_empty() {
        let fired: Vec<String> =
            done.iter()
                .filter(|f| {
                    f.status == Status::Triggered
                        && f.level.is_some_and(|l| l >= Level::Caution)
                        && rule.depends_on.iter().any(|d| {
                            *d == f.rule_id || crate::catalogue::evidence_id(&f.rule_id) == d
                        })
                })
                .map(|f| format!("{} ({})", f.rule_id, f.level.map_or("", |l| l.as_str())))
                .collect();
        gates.push(if fired.is_empty() {
            Check::Fails(format!(
                "none of {} triggered at caution or above",
                rule.depends_on.join(", ")
            ))
        } else {
            Check::Holds(vec![format!("triggered: {}", fired.join(", "))])
        });
    }
    let timing = rule.timing.as_ref().map(|t| timing_check(t, timeline));
    if let Some(Check::Holds(facts)) = &timing {
        flag.timing = facts.clone();
    }
    gates.extend(timing);
    if let Some(c) = &rule.covariate {
        gates.push(covariate_check(c, cov));
    }
    if !rule.conditions.is_empty() {
        let checks = rule
            .conditions
            .iter()
            .map(|c| condition_check(c, lookup, cov))
            .collect();
        gates.push(combine(checks, rule.combine));
    }

    // The quantity and its tiers.
    let mut tier_outcome: Option<(Status, Option<usize>, Option<Level>)> = None;
    if let Some(q) = rule.quantity() {
        match quantity_value(&q, lookup, cov) {
            Err(reason) => gates.push(Check::Unknown(reason)),
            Ok(m) => {
                flag.value = Some(m.value);
                flag.uncertainty = Some(m.uncertainty);
                if let Some(model) = &rule.estimate {
                    flag.estimate = Some(estimate(model, m.value, &q.to_string(), &rule.citation));
                }
                if !rule.tiers.is_empty() {
                    let (check, outcome) = tier_check(rule, &q, m);
                    tier_outcome = Some(outcome);
                    gates.push(check);
                }
            }
        }
    }

    // Condition tiers: the highest level whose combination holds.
    let mut cond_tier: Option<(Status, Option<usize>, Option<Level>)> = None;
    if !rule.condition_tiers.is_empty() {
        let (check, outcome) = condition_tier_check(rule, lookup, cov);
        cond_tier = Some(outcome);
        gates.push(check);
    }

    match combine(gates, Combine::All) {
        Check::NotApplicable(r) => {
            flag.status = Status::NotApplicable;
            flag.reason = Some(r);
        }
        Check::Unknown(r) => {
            flag.status = Status::NotEvaluated;
            flag.reason = Some(r);
        }
        Check::Fails(r) => {
            flag.status = Status::Pass;
            flag.reason = Some(r);
        }
        Check::Uncertain(r) => {
            flag.status = Status::Indeterminate;
            flag.reason = Some(r);
            match tier_outcome {
                Some((Status::Indeterminate, idx, established)) => {
                    let tier = idx.and_then(|i| rule.tiers.get(i));
                    flag.level = tier.map(|t| t.level);
                    flag.threshold = tier.map(|t| Threshold {
                        op: t.op,
                        value: t.value,
                    });
                    flag.established_level = established;
                    flag.provisional |= tier.is_some_and(|t| t.provisional);
                }
                Some((_, idx, _)) => {
                    // The tiers are clear; another condition is uncertain.
                    let tier = idx.and_then(|i| rule.tiers.get(i));
                    flag.level = tier.map(|t| t.level);
                    flag.threshold = tier.map(|t| Threshold {
                        op: t.op,
                        value: t.value,
                    });
                }
                None => match cond_tier {
                    Some((_, idx, established)) => {
                        flag.level = idx
                            .and_then(|i| rule.condition_tiers.get(i))
                            .map(|t| t.level);
                        flag.established_level = established;
                    }
                    None => flag.level = Some(rule.level),
                },
            }
        }
        Check::Holds(facts) => {
            flag.status = Status::Triggered;
            flag.facts = facts
                .into_iter()
                .filter(|f| !flag.timing.contains(f))
                .collect();
            match tier_outcome
                .and_then(|(_, idx, _)| idx)
                .and_then(|i| rule.tiers.get(i))
            {
                Some(t) => {
                    flag.level = Some(t.level);
                    flag.threshold = Some(Threshold {
                        op: t.op,
                        value: t.value,
                    });
                    flag.provisional |= t.provisional;
                }
                None => {
                    flag.level = match cond_tier.and_then(|(_, idx, _)| idx) {
                        Some(i) => rule.condition_tiers.get(i).map(|t| t.level),
                        None => Some(rule.level),
                    }
                }
            }
        }
    }
    flag.sentence = sentence(rule, &flag);
    flag
}

/// Evaluate the condition tiers, highest level first: the first that holds wins; one
/// that is uncertain makes the rule indeterminate (with any lower tier that holds as
/// established); missing data makes it not evaluated.
fn condition_tier_check<L: MetricLookup + ?Sized>(
    rule: &Rule,
    lookup: &L,
    cov: &Covariates,
) -> (Check, (Status, Option<usize>, Option<Level>)) {
    let mut order: Vec<usize> = (0..rule.condition_tiers.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(rule.condition_tiers.get(i).map(|t| t.level)));
    let check = |i: usize| {
        rule.condition_tiers.get(i).map(|t| {
            let checks = t
                .conditions
                .iter()
                .map(|c| condition_check(c, lookup, cov))
                .collect();
            combine(checks, t.combine)
        })
    };
    let mut lowest_fail = String::new();
    for (k, &i) in order.iter().enumerate() {
        match check(i) {
            Some(Check::Holds(f)) => return (Check::Holds(f), (Status::Triggered, Some(i), None)),
            Some(Check::Uncertain(r)) => {
                let established = order.iter().skip(k + 1).find_map(|&j| {
                    matches!(check(j), Some(Check::Holds(_)))
                        .then(|| rule.condition_tiers.get(j).map(|t| t.level))
                        .flatten()
                });
                return (
                    Check::Uncertain(r),
                    (Status::Indeterminate, Some(i), established),
                );
            }
            Some(Check::Fails(r)) => lowest_fail = r,
            Some(other) => return (other, (Status::NotEvaluated, None, None)),
            None => {}
        }
    }
    (Check::Fails(lowest_fail), (Status::Pass, None, None))
}

/// Compare the quantity with the tiers, highest level first. Returns the gate check and
/// (tier status, index of the tier that fired or is in question, established level).
fn tier_check(
    rule: &Rule,
    q: &Quantity,
    m: MetricValue,
) -> (Check, (Status, Option<usize>, Option<Level>)) {
    let mut order: Vec<usize> = (0..rule.tiers.len()).collect();
    order.sort_by(|&a, &b| {
        let la = rule.tiers.get(a).map(|t| t.level);
        let lb = rule.tiers.get(b).map(|t| t.level);
        lb.cmp(&la)
    });
    let name = q.to_string();
    let mut fails = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        let Some(t) = rule.tiers.get(i) else { continue };
        match compare(&name, m.value, m.uncertainty, t.op, t.value) {
            // The value and threshold are shown from the flag's own fields, so the
            // comparison is not repeated among the facts.
            Check::Holds(_) => {
                return (Check::Holds(Vec::new()), (Status::Triggered, Some(i), None));
            }
            Check::Uncertain(r) => {
                // A lower tier that holds beyond doubt is established meanwhile.
                let established = order.iter().skip(k + 1).find_map(|&j| {
                    let tj = rule.tiers.get(j)?;
                    matches!(
                        compare(&name, m.value, m.uncertainty, tj.op, tj.value),
                        Check::Holds(_)
                    )
                    .then_some(tj.level)
                });
                return (
                    Check::Uncertain(r),
                    (Status::Indeterminate, Some(i), established),
                );
            }
            Check::Fails(r) => fails.push(r),
            other => return (other, (Status::NotEvaluated, None, None)),
        }
    }
    // The lowest tier's failure is the informative one ("4.99, not ≥ 5").
    let lowest = fails.into_iter().last().unwrap_or_default();
    (Check::Fails(lowest), (Status::Pass, None, None))
}

fn sentence(rule: &Rule, f: &Flag) -> String {
    let evidence = format!(
        "Evidence: {} (grade {}, {}){}.",
        rule.citation,
        rule.grade,
        rule.verification,
        if f.provisional {
            "; provisional: a number is recalled, not verified"
        } else {
            ""
        }
    );
    let reason = f.reason.clone().unwrap_or_default();
    match f.status {
        Status::Triggered => {
            let mut parts: Vec<String> = Vec::new();
            if let (Some(v), Some(t)) = (f.value, f.threshold) {
                let what = rule.quantity().map(|q| q.to_string()).unwrap_or_default();
                parts.push(format!(
                    "{what} = {} {} {}",
                    fmt_num(v),
                    t.op,
                    fmt_num(t.value)
                ));
            }
            parts.extend(f.timing.iter().cloned());
            parts.extend(f.facts.iter().cloned());
            if let Some(e) = &f.estimate {
                parts.push(e.description.clone());
            }
            format!(
                "{} ({}): {}: {}. {evidence}",
                f.level.map_or("flag", |l| l.as_str()).to_uppercase(),
                rule.id,
                rule.title,
                parts.join("; ")
            )
        }
        Status::Indeterminate => format!(
            "INDETERMINATE ({}): {}: {reason}{}. {evidence}",
            rule.id,
            rule.title,
            f.established_level.map_or(String::new(), |l| format!(
                "; {l} holds beyond the uncertainty"
            ))
        ),
        Status::Pass => format!("Not triggered ({}): {}: {reason}.", rule.id, rule.title),
        Status::NotEvaluated => format!("Not evaluated ({}): {}: {reason}.", rule.id, rule.title),
        Status::NotApplicable => format!("Not applicable ({}): {}: {reason}.", rule.id, rule.title),
    }
}

/// Everything the clinic stage produces for one patient, ready to serialise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClinicAssessment {
    pub disclaimer: &'static str,
    /// One row per known RT date: nearest T-DM1 dose, Δ, windows, exposure.
    pub timeline: Vec<crate::timeline::RtDateOffset>,
    /// Daily relative exposure over the RT courses ± 28 days.
    pub exposure: Vec<crate::timeline::ExposurePoint>,
    /// One flag per rule, in rule order.
    pub flags: Vec<Flag>,
}

/// Build the timeline of `patient`, evaluate `rules` and bundle the results with the
/// disclaimer. `fractions` is the plan's number of fractions, when known.
pub fn assess<L: MetricLookup + ?Sized>(
    patient: &crate::patient::PatientFile,
    rules: &[Rule],
    lookup: &L,
    fractions: Option<u32>,
) -> ClinicAssessment {
    let timeline = Timeline::from_patient(patient);
    ClinicAssessment {
        disclaimer: DISCLAIMER,
        timeline: timeline.offsets(),
        exposure: timeline.exposure_curve(),
        flags: evaluate(rules, lookup, &timeline, &patient.covariates, fractions),
    }
}
