//! Applying a pipeline to the TG-263 names of one plan.

use crate::error::PipelineError;
use crate::expr::StructureExpr;
use crate::pattern::{glob_match, is_glob};
use crate::schema::*;
use std::collections::{BTreeMap, BTreeSet};

/// A derived structure that can be built from this plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedDerived {
    pub name: String,
    /// Globs replaced by the union of the plan's matching structures.
    pub expr: StructureExpr,
    /// `None` for the main expression, `Some(i)` for fallback `i`.
    pub fallback: Option<usize>,
    pub note: Option<String>,
}

/// One metric on one concrete structure.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedMetric {
    pub structure: String,
    pub metric: String,
    pub when: Option<When>,
    /// α/β for EQD2/BED (from the set's override or `[alpha_beta]`), if any applies.
    pub alpha_beta: Option<AlphaBetaChoice>,
    pub label: Option<String>,
    pub endpoint: Option<String>,
}

/// A rule with its structure references made concrete.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedRule {
    pub rule: RiskRule,
    /// For each structure (or glob) the rule reads, the plan's structures it stands for.
    pub structures: BTreeMap<String, Vec<String>>,
    /// Structures the rule needs that the plan lacks: the rule cannot be evaluated.
    pub missing: Vec<String>,
}

impl ResolvedRule {
    pub fn evaluable(&self) -> bool {
        self.missing.is_empty()
    }
}

/// A pipeline applied to the structures of one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPipeline {
    /// In build order.
    pub derived: Vec<ResolvedDerived>,
    pub metrics: Vec<ResolvedMetric>,
    pub rules: Vec<ResolvedRule>,
    /// α/β for every available structure that has one.
    pub alpha_beta: BTreeMap<String, AlphaBetaChoice>,
    /// Everything the plan lacks or that was approximated, one sentence each.
    pub warnings: Vec<String>,
}

impl Pipeline {
    /// The α/β of a structure: exact key, then glob key, then tissue class, then default.
    pub fn alpha_beta_for(&self, structure: &str) -> Option<AlphaBetaChoice> {
        let t = &self.alpha_beta;
        if let Some(v) = t.entries.get(structure) {
            return Some(AlphaBetaChoice {
                value: *v,
                source: structure.to_string(),
            });
        }
        if let Some((k, v)) = t
            .entries
            .iter()
            .find(|(k, _)| is_glob(k) && glob_match(k, structure))
        {
            return Some(AlphaBetaChoice {
                value: *v,
                source: format!("glob {k}"),
            });
        }
        if let Some(c) = self.names.class_of(structure)
            && let Some(v) = t.entries.get(&c.name)
        {
            return Some(AlphaBetaChoice {
                value: *v,
                source: format!("class {}", c.name),
            });
        }
        t.default.map(|value| AlphaBetaChoice {
            value,
            source: "default".into(),
        })
    }

    /// The number of fractions to use given what the plan says, and where it came from.
    pub fn fractions_for(&self, plan_fractions: Option<u32>) -> Option<(u32, &'static str)> {
        let own = self
            .fractionation
            .as_ref()
            .and_then(|f| f.fractions.map(|n| (n, f.policy)));
        match (own, plan_fractions) {
            (Some((n, FractionationPolicy::Always)), _) => Some((n, "pipeline (always)")),
            (_, Some(n)) => Some((n, "plan")),
            (Some((n, _)), None) => Some((n, "pipeline (plan lacks it)")),
            (None, None) => None,
        }
    }

    /// Apply the pipeline to the mapped TG-263 names of a plan
    /// ([`crate::MappingReport::tg263_names`]). Structures the plan lacks are warnings,
    /// not errors: the affected derived structures, metrics and rules are listed. A plan
    /// structure with a derived structure's name is used as contoured and the derived
    /// one is not built.
    ///
    /// Fails only when the names are not a valid mapping (the same TG-263 name twice,
    /// which [`crate::map_names`] reports as ambiguous and never produces).
    pub fn resolve<S: AsRef<str>>(
        &self,
        mapped_names: &[S],
    ) -> Result<ResolvedPipeline, PipelineError> {
        let mut available: BTreeSet<String> = BTreeSet::new();
        for n in mapped_names {
            if !available.insert(n.as_ref().to_string()) {
                return Err(PipelineError::Resolve {
                    pipeline: self.name.clone(),
                    reason: format!(
                        "structure name '{}' occurs twice; resolve the ambiguity in the name mapping first",
                        n.as_ref()
                    ),
                });
            }
        }
        let mut warnings = Vec::new();

        let mut derived = Vec::new();
        for d in &self.derived {
            if available.contains(&d.name) {
                warnings.push(format!(
                    "derived '{}' not built: the plan has a structure of that name, used as contoured",
                    d.name
                ));
                continue;
            }
            let mut alternatives = vec![(None, &d.expr, d.note.clone())];
            alternatives.extend(
                d.fallbacks
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (Some(i), &f.expr, Some(f.note.clone()))),
            );
            let mut failures = Vec::new();
            let mut built = None;
            for (which, expr, note) in alternatives {
                match concretise(expr, &available, &d.name) {
                    Ok(e) => {
                        built = Some(ResolvedDerived {
                            name: d.name.clone(),
                            expr: e,
                            fallback: which,
                            note,
                        });
                        break;
                    }
                    Err(missing) => failures.push(missing.join(", ")),
                }
            }
            match built {
                Some(b) => {
                    if let Some(i) = b.fallback {
                        warnings.push(format!(
                            "derived '{}' built from fallback {} ({}) because the main expression lacks {}: {}",
                            d.name,
                            i + 1,
                            d.fallbacks.get(i).map_or("", |f| f.expr_text.as_str()),
                            failures.first().map_or("", String::as_str),
                            b.note.as_deref().unwrap_or("")
                        ));
                    }
                    available.insert(b.name.clone());
                    derived.push(b);
                }
                None => warnings.push(format!(
                    "derived '{}' not built: the plan lacks {}",
                    d.name,
                    failures.join("; or ")
                )),
            }
        }

        let expand = |name: &str| -> Vec<String> {
            if is_glob(name) {
                available
                    .iter()
                    .filter(|a| glob_match(name, a))
                    .cloned()
                    .collect()
            } else if available.contains(name) {
                vec![name.to_string()]
            } else {
                Vec::new()
            }
        };

        let mut metrics = Vec::new();
        for set in &self.metrics {
            for s in &set.structures {
                let concrete = expand(s);
                if concrete.is_empty() {
                    warnings.push(format!(
                        "metrics {} not computed: the plan has no structure '{s}'",
                        set.metrics.join(", ")
                    ));
                }
                for c in concrete {
                    let ab = match set.alpha_beta {
                        Some(value) => Some(AlphaBetaChoice {
                            value,
                            source: "metrics set override".into(),
                        }),
                        None => self.alpha_beta_for(&c),
                    };
                    for m in &set.metrics {
                        metrics.push(ResolvedMetric {
                            structure: c.clone(),
                            metric: m.clone(),
                            when: set.when.clone(),
                            alpha_beta: ab.clone(),
                            label: set.label.clone(),
                            endpoint: set.endpoint.clone(),
                        });
                    }
                }
            }
        }

        let mut rules = Vec::new();
        for r in &self.rules {
            let mut structures = BTreeMap::new();
            let mut missing = Vec::new();
            for s in r.structures() {
                let c = expand(s);
                if c.is_empty() {
                    missing.push(s.to_string());
                }
                structures.insert(s.to_string(), c);
            }
            if !missing.is_empty() {
                warnings.push(format!(
                    "rule {} cannot be evaluated: the plan has no {}",
                    r.id,
                    missing.join(", ")
                ));
            }
            rules.push(ResolvedRule {
                rule: r.clone(),
                structures,
                missing,
            });
        }

        let alpha_beta = available
            .iter()
            .filter_map(|n| self.alpha_beta_for(n).map(|c| (n.clone(), c)))
            .collect();

        Ok(ResolvedPipeline {
            derived,
            metrics,
            rules,
            alpha_beta,
            warnings,
        })
    }
}

/// Replace globs by the union of the available structures they match (never the derived
/// structure itself); `Err` lists what is missing.
fn concretise(
    expr: &StructureExpr,
    available: &BTreeSet<String>,
    own_name: &str,
) -> Result<StructureExpr, Vec<String>> {
    let mut missing = Vec::new();
    let e = expr.map_refs(&mut |r| {
        if is_glob(r) {
            let m: Vec<StructureExpr> = available
                .iter()
                .filter(|a| a.as_str() != own_name && glob_match(r, a))
                .map(|a| StructureExpr::Ref(a.clone()))
                .collect();
            if m.is_empty() {
                missing.push(format!("any '{r}'"));
            }
            StructureExpr::Union(m)
        } else {
            if !available.contains(r) {
                missing.push(format!("'{r}'"));
            }
            StructureExpr::Ref(r.to_string())
        }
    });
    if missing.is_empty() {
        Ok(e.simplify())
    } else {
        Err(missing)
    }
}
