//! Conversion of radtox-pipeline risk rules (`[[rules]]` of a pipeline file) into this
//! crate's [`Rule`]s (feature `pipeline`).
//!
//! The pipeline schema is the source of truth for rules a user writes; this module only
//! translates it. One pipeline rule may become several engine rules: threshold tiers
//! form one rule, all `all`/`any` tiers another (as condition tiers), each row of a
//! `limits` table and each continuous model its own, with a suffix on the ID
//! (`B4.row2`, `C2.1`), because each fires (and is explained) on its own.

use crate::catalogue::{Catalogue, Verification};
use crate::rule::{
    Combine, Condition, ConditionTier, CovariateCondition, EstimateModel, FractionCondition, Level,
    NumericCovariate, Op, Quantity, Rule, Tier, TimingCondition,
};
use crate::timeline::{Anchor, Window};
use radtox_pipeline as pl;

/// A pipeline rule this engine cannot evaluate faithfully.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("pipeline rule {id}: {problem}")]
pub struct ConvertError {
    pub id: String,
    pub problem: String,
}

fn level(l: pl::Level) -> Level {
    match l {
        pl::Level::Info => Level::Info,
        pl::Level::Caution => Level::Caution,
        pl::Level::High => Level::High,
        pl::Level::VeryHigh => Level::VeryHigh,
    }
}

fn op(o: pl::Op) -> Op {
    match o {
        pl::Op::Gt => Op::Gt,
        pl::Op::Ge => Op::Ge,
        pl::Op::Lt => Op::Lt,
        pl::Op::Le => Op::Le,
    }
}

/// The patient-file covariate behind a pipeline covariate name.
fn numeric_covariate(name: &str) -> Option<NumericCovariate> {
    Some(match name {
        "lesion_max_diameter_mm" => NumericCovariate::LesionMaxDiameterMm,
        "lesion_volume_cc" => NumericCovariate::LesionVolumeCc,
        "lesion_count" => NumericCovariate::LesionCount,
        "prescription_gy_per_fraction" => NumericCovariate::PrescriptionGyPerFraction,
        "platelets_baseline" => NumericCovariate::BaselinePlatelets,
        "lvef_baseline_percent" => NumericCovariate::BaselineLvef,
        "active_marrow_irradiated_percent" => NumericCovariate::ActiveMarrowIrradiatedPercent,
        "bmi" => NumericCovariate::Bmi,
        _ => return None,
    })
}

/// Is `agents` about T-DM1? The patient file records T-DM1 doses only.
fn names_tdm1(agents: &[String]) -> bool {
    agents.iter().any(|a| {
        let n: String = a
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        matches!(
            n.as_str(),
            "tdm1" | "trastuzumabemtansine" | "kadcyla" | "adc"
        )
    })
}

struct Ctx<'a> {
    id: &'a str,
}

impl Ctx<'_> {
    fn err<T>(&self, problem: impl Into<String>) -> Result<T, ConvertError> {
        Err(ConvertError {
            id: self.id.to_string(),
            problem: problem.into(),
        })
    }

    fn quantity(&self, q: &pl::Quantity) -> Result<Quantity, ConvertError> {
        match q {
            pl::Quantity::Metric { structure, metric } => Ok(Quantity::Metric {
                structure: structure.clone(),
                metric: metric.clone(),
            }),
            // Per-structure covariates (lesion_volume_cc of each GTV_*) are read from the
            // patient file's single value: the largest lesion.
            pl::Quantity::Covariate { name, .. } => match numeric_covariate(name) {
                Some(c) => Ok(Quantity::Covariate(c)),
                None => self.err(format!(
                    "covariate '{name}' is not a number the patient file provides (it has: lesion_max_diameter_mm, lesion_volume_cc, lesion_count, prescription_gy_per_fraction, platelets_baseline, lvef_baseline_percent, active_marrow_irradiated_percent, bmi)"
                )),
            },
        }
    }

    fn condition(&self, c: &pl::Condition) -> Result<Condition, ConvertError> {
        Ok(Condition {
            quantity: self.quantity(&c.quantity)?,
            op: op(c.op),
            value: c.value,
        })
    }
}

/// Course kinds of the built-in rule with the same evidence ID, for timing windows:
/// the pipeline schema does not say which courses a window is measured from (B6 is
/// about SRS, S1 about breast RT), and measuring a brain window from a breast course
/// would raise false flags.
fn default_kinds(evidence_id: &str, catalogue: &Catalogue) -> Vec<crate::patient::CourseKind> {
    crate::defaults::default_rules(catalogue)
        .into_iter()
        .filter(|r| crate::catalogue::evidence_id(&r.id) == evidence_id)
        .find_map(|r| match r.timing {
            Some(TimingCondition::Window(w)) => Some(w.kinds),
            _ => None,
        })
        .unwrap_or_default()
}

/// Convert one pipeline rule. Grade, citation, note and provisional status come from the
/// pipeline rule; verification status and evidence against from the catalogue record of
/// its evidence ID (recalled when the catalogue has none).
pub fn rule_from_pipeline(
    r: &pl::RiskRule,
    catalogue: &Catalogue,
) -> Result<Vec<Rule>, ConvertError> {
    let ctx = Ctx { id: &r.id };
    let mut base = Rule::from_catalogue(&r.id, r.title.as_deref().unwrap_or(&r.id), catalogue);
    base.grade = r.grade.clone();
    base.citation = r.citation.clone();
    base.note = r.evidence_note.clone();
    if catalogue.get(&r.id).is_none() {
        base.verification = Verification::Recalled;
    }
    base.provisional = r.provisional || base.verification == Verification::Recalled;

    if let Some(w) = &r.when {
        base.fractions = match (w.fractions, w.fractions_min, w.fractions_max) {
            (Some(n), _, _) => Some(FractionCondition::Exactly(n)),
            (None, Some(a), Some(b)) => Some(FractionCondition::Between(a, b)),
            (None, Some(a), None) => Some(FractionCondition::AtLeast(a)),
            (None, None, Some(b)) => Some(FractionCondition::AtMost(b)),
            (None, None, None) => None,
        };
        if let Some(l) = w.laterality {
            base.covariate = Some(CovariateCondition::Laterality(match l {
                pl::Laterality::Left => crate::patient::Laterality::Left,
                pl::Laterality::Right => crate::patient::Laterality::Right,
            }));
        }
    }

    if let Some(t) = &r.timing {
        if !names_tdm1(&t.agents) {
            return ctx.err(format!(
                "timing names {:?}; the patient file records T-DM1 doses only",
                t.agents
            ));
        }
        let anchor = match t.relative_to {
            pl::TimingAnchor::RtStart => Anchor::FirstDay,
            pl::TimingAnchor::RtEnd => Anchor::LastDay,
            pl::TimingAnchor::EachRtDate => Anchor::EachTreatmentDate,
            pl::TimingAnchor::DuringRt => Anchor::DuringCourse,
        };
        base.timing = Some(TimingCondition::Window(Window {
            key: r.id.to_ascii_lowercase(),
            source: r
                .citation
                .split(',')
                .next()
                .unwrap_or(&r.citation)
                .trim()
                .to_string(),
            anchor,
            from_days: i64::from(t.from_days),
            to_days: i64::from(t.to_days),
            kinds: default_kinds(crate::catalogue::evidence_id(&r.id), catalogue),
        }));
        base.level = level(t.level);
    }

    let mut out = Vec::new();
    // The main quantity with its threshold tiers.
    let thresholds: Vec<Tier> = r
        .tiers
        .iter()
        .filter_map(|t| match t.test {
            pl::TierTest::Threshold { op: o, value } => Some(Tier {
                level: level(t.level),
                op: op(o),
                value,
                provisional: t.note.as_deref().is_some_and(|n| n.contains("[R]")),
                note: t.note.clone(),
            }),
            _ => None,
        })
        .collect();
    let main_quantity = match (&r.structure, &r.metric, &r.covariate) {
        (Some(s), Some(m), _) => Some(pl::Quantity::Metric {
            structure: s.clone(),
            metric: m.clone(),
        }),
        (s, None, Some(c)) => Some(pl::Quantity::Covariate {
            name: c.clone(),
            structure: s.clone(),
        }),
        _ => None,
    };
    if !thresholds.is_empty() {
        let Some(q) = &main_quantity else {
            return ctx.err("threshold tiers without a metric or covariate");
        };
        let mut rule = base.clone();
        match ctx.quantity(q)? {
            Quantity::Metric { structure, metric } => {
                rule.structure = Some(structure);
                rule.metric = Some(metric);
            }
            Quantity::Covariate(c) => rule.quantity_covariate = Some(c),
        }
        rule.tiers = thresholds;
        out.push(rule);
    }
    // All/any tiers together, as condition tiers of one rule.
    let mut condition_tiers = Vec::new();
    for t in &r.tiers {
        let (conds, mode) = match &t.test {
            pl::TierTest::All(c) => (c, Combine::All),
            pl::TierTest::Any(c) => (c, Combine::Any),
            pl::TierTest::Threshold { .. } => continue,
        };
        condition_tiers.push(ConditionTier {
            level: level(t.level),
            combine: mode,
            conditions: conds
                .iter()
                .map(|c| ctx.condition(c))
                .collect::<Result<_, _>>()?,
            note: t.note.clone(),
        });
    }
    if !condition_tiers.is_empty() {
        let mut rule = base.clone();
        rule.condition_tiers = condition_tiers;
        out.push(rule);
    }
    // A limits table: one rule per row, "quantity > max within (previous up_to, up_to]".
    if let Some(lt) = &r.limits {
        let by = numeric_covariate(&lt.by)
            .map_or_else(|| ctx.err(format!("limits by '{}'", lt.by)), Ok)?;
        let quantity = numeric_covariate(&lt.quantity)
            .map_or_else(|| ctx.err(format!("limits quantity '{}'", lt.quantity)), Ok)?;
        let mut prev: Option<f64> = None;
        for (i, row) in lt.rows.iter().enumerate() {
            let mut rule = base.clone();
            rule.id = format!("{}.row{}", r.id, i + 1);
            let mut all = vec![CovariateCondition::number(by, Op::Le, row.up_to)];
            if let Some(p) = prev {
                all.push(CovariateCondition::number(by, Op::Gt, p));
            }
            all.push(CovariateCondition::number(quantity, Op::Gt, row.max));
            all.extend(base.covariate.clone());
            rule.covariate = Some(CovariateCondition::All(all));
            rule.level = level(lt.level);
            out.push(rule);
            prev = Some(row.up_to);
        }
    }
    // Continuous models as estimates.
    for m in &r.continuous {
        let mut rule = base.clone();
        match ctx.quantity(&m.quantity)? {
            Quantity::Metric { structure, metric } => {
                rule.structure = Some(structure);
                rule.metric = Some(metric);
            }
            Quantity::Covariate(c) => rule.quantity_covariate = Some(c),
        }
        if !(m.per.is_finite() && m.per != 0.0) {
            return ctx.err("continuous model with per = 0");
        }
        let endpoint = m
            .description
            .clone()
            .unwrap_or_else(|| "the endpoint".into());
        rule.estimate = Some(match m.effect {
            pl::Effect::ExcessRelativeRisk => EstimateModel::ExcessRelativeRisk {
                per_unit: m.value / m.per,
                ci: m.ci.map(|[lo, hi]| (lo / m.per, hi / m.per)),
                endpoint,
            },
            pl::Effect::HazardRatio | pl::Effect::OddsRatio => EstimateModel::RatioPerUnits {
                kind: if m.effect == pl::Effect::HazardRatio {
                    "hazard ratio".into()
                } else {
                    "odds ratio".into()
                },
                ratio: m.value,
                per: m.per,
                ci: m.ci.map(|[lo, hi]| (lo, hi)),
                endpoint,
            },
        });
        out.push(rule);
    }
    // A rule with only timing/covariate conditions.
    if out.is_empty() {
        out.push(base);
    }
    // Distinct IDs when one pipeline rule became several.
    if out.len() > 1 {
        for (i, rule) in out.iter_mut().enumerate() {
            if rule.id == r.id {
                rule.id = format!("{}.{}", r.id, i + 1);
            }
        }
    }
    for rule in &out {
        rule.check().map_err(|e| ConvertError {
            id: e.id,
            problem: e.problem,
        })?;
    }
    Ok(out)
}

/// Convert a resolved rule: a glob structure (`GTV_*`) becomes one rule per matching
/// plan structure (`B5[GTV_1]`); a rule whose structures the plan lacks is kept as is,
/// so evaluation reports it "not evaluated" rather than dropping it.
pub fn rules_from_resolved(
    r: &pl::ResolvedRule,
    catalogue: &Catalogue,
) -> Result<Vec<Rule>, ConvertError> {
    let rules = rule_from_pipeline(&r.rule, catalogue)?;
    let Some(main) = r.rule.structure.as_deref() else {
        return Ok(rules);
    };
    let Some(targets) = r
        .structures
        .get(main)
        .filter(|t| !(t.len() == 1 && t.first().map(String::as_str) == Some(main)))
    else {
        return Ok(rules);
    };
    let reads_main = |rule: &Rule| {
        rule.structure.as_deref() == Some(main)
            || rule.conditions.iter().any(
                |c| matches!(&c.quantity, Quantity::Metric { structure, .. } if structure == main),
            )
    };
    let mut out = Vec::new();
    for rule in rules {
        if !reads_main(&rule) || targets.is_empty() {
            out.push(rule);
            continue;
        }
        for t in targets {
            let mut x = rule.clone();
            x.id = format!("{}[{t}]", rule.id);
            if x.structure.as_deref() == Some(main) {
                x.structure = Some(t.clone());
            }
            for c in &mut x.conditions {
                if let Quantity::Metric { structure, .. } = &mut c.quantity
                    && structure == main
                {
                    *structure = t.clone();
                }
            }
            out.push(x);
        }
    }
    Ok(out)
}
