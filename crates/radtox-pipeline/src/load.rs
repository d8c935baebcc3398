//! Reading a pipeline file: serde shapes with spans, then validation that names the
//! line and column of every problem.

use crate::error::{PipelineError, Problem, SourceText};
use crate::expr::{StructureExpr, parse_expr};
use crate::names::{NameRules, RawNames};
use crate::pattern::{glob_match, is_glob};
use crate::schema::*;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use toml::Spanned;

type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    schema: S<String>,
    name: S<String>,
    description: Option<String>,
    #[serde(default)]
    include: Vec<S<String>>,
    #[serde(default)]
    names: RawNames,
    #[serde(default)]
    derived: Vec<S<RawDerived>>,
    #[serde(default)]
    alpha_beta: BTreeMap<S<String>, S<f64>>,
    fractionation: Option<S<RawFractionation>>,
    #[serde(default)]
    metrics: Vec<S<RawMetricSet>>,
    #[serde(default)]
    rules: Vec<S<RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDerived {
    name: S<String>,
    expr: S<String>,
    note: Option<String>,
    #[serde(default)]
    fallbacks: Vec<S<RawFallback>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFallback {
    expr: S<String>,
    note: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFractionation {
    fractions: Option<S<i64>>,
    prescription_gy: Option<S<f64>>,
    policy: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    fractions: Option<S<i64>>,
    fractions_min: Option<S<i64>>,
    fractions_max: Option<S<i64>>,
    laterality: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetricSet {
    label: Option<String>,
    structures: Vec<S<String>>,
    metrics: Vec<S<String>>,
    when: Option<S<RawWhen>>,
    alpha_beta: Option<S<f64>>,
    endpoint: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: S<String>,
    title: Option<String>,
    structure: Option<S<String>>,
    metric: Option<S<String>>,
    covariate: Option<S<String>>,
    when: Option<S<RawWhen>>,
    #[serde(default)]
    tiers: Vec<S<RawTier>>,
    #[serde(default)]
    continuous: Vec<S<RawContinuous>>,
    timing: Option<S<RawTiming>>,
    limits: Option<S<RawLimits>>,
    #[serde(default)]
    covariates: Vec<S<String>>,
    grade: Option<S<String>>,
    citation: Option<S<String>>,
    evidence_note: Option<String>,
    #[serde(default)]
    provisional: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    level: S<String>,
    op: Option<S<String>>,
    value: Option<S<f64>>,
    all: Option<Vec<S<RawCondition>>>,
    any: Option<Vec<S<RawCondition>>>,
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    structure: Option<S<String>>,
    metric: Option<S<String>>,
    covariate: Option<S<String>>,
    op: S<String>,
    value: S<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContinuous {
    structure: Option<S<String>>,
    metric: Option<S<String>>,
    covariate: Option<S<String>>,
    effect: S<String>,
    value: S<f64>,
    per: Option<S<f64>>,
    ci: Option<S<Vec<f64>>>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTiming {
    agents: Vec<S<String>>,
    relative_to: S<String>,
    from_days: S<i64>,
    to_days: S<i64>,
    level: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    by: S<String>,
    quantity: S<String>,
    rows: Vec<S<RawLimitRow>>,
    level: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimitRow {
    up_to: S<f64>,
    max: S<f64>,
}

/// Validation state for one pipeline file.
struct Ctx<'a> {
    src: &'a SourceText,
    names: &'a NameRules,
    derived: BTreeSet<String>,
    samples: Vec<String>,
    hook: &'a dyn Fn(&str) -> Result<(), String>,
    errors: Vec<PipelineError>,
}

impl Ctx<'_> {
    fn err(&mut self, offset: usize, problem: Problem) {
        self.errors.push(self.src.at(offset, problem));
    }

    fn bad_value(&mut self, offset: usize, key: &str, reason: impl Into<String>) {
        self.err(
            offset,
            Problem::BadValue {
                key: key.into(),
                reason: reason.into(),
            },
        );
    }

    /// Can `name` (a name or glob) ever denote a structure of a plan?
    fn known_structure(&self, name: &str) -> bool {
        if is_glob(name) {
            self.samples.iter().any(|s| glob_match(name, s))
                || self.derived.iter().any(|d| glob_match(name, d))
        } else {
            self.derived.contains(name) || self.names.produces(name)
        }
    }

    fn unknown_structure_hint(&self, name: &str) -> String {
        if is_glob(name) {
            return "the glob matches no name the name tables can produce or derived structure"
                .into();
        }
        match self.names.suggest(name) {
            Some(s) => format!("no name rule produces it (did you mean '{s}'?)"),
            None => "no name rule produces it and no [[derived]] structure has this name \
                     (add an alias or a derived structure)"
                .into(),
        }
    }

    fn structure(&mut self, s: &S<String>, context: &str) -> String {
        let name = s.get_ref().trim().to_string();
        if !self.known_structure(&name) {
            let hint = self.unknown_structure_hint(&name);
            self.err(
                s.span().start,
                Problem::UnknownStructure {
                    name: name.clone(),
                    context: context.into(),
                    hint,
                },
            );
        }
        name
    }

    fn metric(&mut self, m: &S<String>) -> String {
        let text = m.get_ref().trim().to_string();
        if let Err(reason) = (self.hook)(&text) {
            self.err(
                m.span().start,
                Problem::BadMetric {
                    metric: text.clone(),
                    reason,
                },
            );
        }
        text
    }

    fn level(&mut self, l: &S<String>) -> Level {
        Level::parse(l.get_ref()).unwrap_or_else(|| {
            self.err(l.span().start, Problem::UnknownLevel(l.get_ref().clone()));
            Level::Info
        })
    }

    fn op(&mut self, o: &S<String>) -> Op {
        Op::parse(o.get_ref().trim()).unwrap_or_else(|| {
            self.bad_value(
                o.span().start,
                "op",
                format!(
                    "unknown comparison '{}' (expected >, >=, < or <=)",
                    o.get_ref()
                ),
            );
            Op::Ge
        })
    }

    fn covariate(&mut self, c: &S<String>) -> String {
        let name = c.get_ref().trim().to_string();
        if !KNOWN_COVARIATES.contains(&name.as_str()) {
            self.bad_value(
                c.span().start,
                "covariate",
                format!(
                    "unknown covariate '{name}' (expected one of {})",
                    KNOWN_COVARIATES.join(", ")
                ),
            );
        }
        name
    }

    fn finite(&mut self, v: &S<f64>, key: &str) -> f64 {
        let x = *v.get_ref();
        if !x.is_finite() {
            self.bad_value(v.span().start, key, "must be a finite number");
        }
        x
    }

    fn count(&mut self, v: &S<i64>, key: &str) -> u32 {
        match u32::try_from(*v.get_ref()) {
            Ok(n) if n >= 1 => n,
            _ => {
                self.bad_value(
                    v.span().start,
                    key,
                    format!("must be a whole number ≥ 1, found {}", v.get_ref()),
                );
                1
            }
        }
    }

    fn when(&mut self, w: &S<RawWhen>) -> When {
        let r = w.get_ref();
        let fractions = r
            .fractions
            .as_ref()
            .map(|f| self.count(f, "when.fractions"));
        let fractions_min = r
            .fractions_min
            .as_ref()
            .map(|f| self.count(f, "when.fractions_min"));
        let fractions_max = r
            .fractions_max
            .as_ref()
            .map(|f| self.count(f, "when.fractions_max"));
        if let (Some(lo), Some(hi)) = (fractions_min, fractions_max)
            && lo > hi
        {
            self.bad_value(
                w.span().start,
                "when",
                format!("fractions_min {lo} > fractions_max {hi}: no plan can match"),
            );
        }
        let laterality = r
            .laterality
            .as_ref()
            .and_then(|l| match l.get_ref().as_str() {
                "left" => Some(Laterality::Left),
                "right" => Some(Laterality::Right),
                other => {
                    self.bad_value(
                        l.span().start,
                        "when.laterality",
                        format!("unknown laterality '{other}' (expected left or right)"),
                    );
                    None
                }
            });
        When {
            fractions,
            fractions_min,
            fractions_max,
            laterality,
        }
    }

    /// A condition's quantity: a metric of a structure, or a covariate.
    fn quantity(
        &mut self,
        offset: usize,
        structure: Option<&S<String>>,
        metric: Option<&S<String>>,
        covariate: Option<&S<String>>,
        context: &str,
    ) -> Quantity {
        let structure = structure.map(|s| self.structure(s, context));
        match (metric, covariate) {
            (Some(m), None) => {
                let metric = self.metric(m);
                if structure.is_none() {
                    self.bad_value(
                        offset,
                        "structure",
                        format!("{context}: a metric needs a structure"),
                    );
                }
                Quantity::Metric {
                    structure: structure.unwrap_or_default(),
                    metric,
                }
            }
            (None, Some(c)) => Quantity::Covariate {
                name: self.covariate(c),
                structure,
            },
            (Some(_), Some(_)) => {
                self.bad_value(
                    offset,
                    "metric",
                    format!("{context}: give a metric or a covariate, not both"),
                );
                Quantity::Covariate {
                    name: String::new(),
                    structure,
                }
            }
            (None, None) => {
                self.bad_value(
                    offset,
                    "metric",
                    format!("{context}: needs a metric or a covariate"),
                );
                Quantity::Covariate {
                    name: String::new(),
                    structure,
                }
            }
        }
    }

    fn condition(&mut self, c: &S<RawCondition>, rule: &RawRule, context: &str) -> Condition {
        let r = c.get_ref();
        // A condition inherits the rule's structure unless it names its own.
        let quantity = self.quantity(
            c.span().start,
            r.structure.as_ref().or(rule.structure.as_ref()),
            r.metric.as_ref(),
            r.covariate.as_ref(),
            context,
        );
        Condition {
            quantity,
            op: self.op(&r.op),
            value: self.finite(&r.value, "value"),
        }
    }
}

fn grade_ok(g: &str) -> bool {
    matches!(g, "consensus" | "label" | "unrated")
        || g.split('/')
            .all(|p| matches!(p.trim(), "A" | "B" | "C" | "D"))
}

impl Pipeline {
    /// Load and validate a pipeline file. `validate_metric` checks one metric string
    /// (the CLI passes radtox-dose's TG-263 parser); includes are read relative to the
    /// pipeline file's folder.
    pub fn load(
        path: impl AsRef<Path>,
        validate_metric: &dyn Fn(&str) -> Result<(), String>,
    ) -> Result<Pipeline, PipelineError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Pipeline::from_str_at(&text, path, validate_metric)
    }

    /// Validate pipeline text as if it had been read from `path` (used for messages and
    /// to find includes).
    pub fn from_str_at(
        text: &str,
        path: &Path,
        validate_metric: &dyn Fn(&str) -> Result<(), String>,
    ) -> Result<Pipeline, PipelineError> {
        let src = SourceText {
            display: path.display().to_string(),
            text: text.to_string(),
        };
        let raw: RawPipeline = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
        if raw.schema.get_ref() != PIPELINE_SCHEMA {
            return Err(src.at(
                raw.schema.span().start,
                Problem::Schema {
                    found: raw.schema.get_ref().clone(),
                    expected: PIPELINE_SCHEMA.into(),
                },
            ));
        }

        // Name tables: the pipeline's own first (highest priority), then includes.
        let mut names = NameRules::default();
        let mut errors = Vec::new();
        if let Err(e) = names.append(raw.names, &src) {
            errors.push(e);
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        for inc in &raw.include {
            let inc_path: PathBuf = dir.join(inc.get_ref());
            match std::fs::read_to_string(&inc_path) {
                Ok(t) => {
                    let isrc = SourceText {
                        display: inc_path.display().to_string(),
                        text: t,
                    };
                    if let Err(e) = names.append_names_file(&isrc) {
                        errors.push(e);
                    }
                }
                Err(e) => errors.push(src.at(
                    inc.span().start,
                    Problem::UnknownInclude {
                        include: inc.get_ref().clone(),
                        reason: format!("{}: {e}", inc_path.display()),
                    },
                )),
            }
        }
        // Structure checks depend on the name tables: stop here if they are broken.
        PipelineError::from_list(errors)?;

        let mut ctx = Ctx {
            src: &src,
            samples: names.samples(),
            names: &names,
            derived: BTreeSet::new(),
            hook: validate_metric,
            errors: Vec::new(),
        };

        // Derived names first, so every later reference can see all of them.
        let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
        for d in &raw.derived {
            let n = d.get_ref().name.get_ref().trim().to_string();
            let off = d.get_ref().name.span().start;
            if n.is_empty() || is_glob(&n) {
                ctx.bad_value(
                    off,
                    "name",
                    format!("'{n}' is not a usable derived-structure name"),
                );
            } else if let Some(&l) = first_line.get(&n) {
                ctx.err(
                    off,
                    Problem::Duplicate {
                        what: "derived structure".into(),
                        name: n.clone(),
                        first_line: l,
                    },
                );
            } else {
                first_line.insert(n.clone(), src.line_of(off));
                ctx.derived.insert(n);
            }
        }
        let mut derived = Vec::new();
        for d in &raw.derived {
            let r = d.get_ref();
            let name = r.name.get_ref().trim().to_string();
            let parse = |e: &S<String>, ctx: &mut Ctx| -> Option<StructureExpr> {
                match parse_expr(e.get_ref()) {
                    Ok(x) => {
                        for rf in x.refs() {
                            // A glob of a derived structure never includes the structure itself
                            // (`GTV_All = union(GTV*)`).
                            if rf == name {
                                ctx.err(
                                    e.span().start,
                                    Problem::Cycle(format!("'{name}' refers to itself")),
                                );
                            } else if !ctx.known_structure(rf) {
                                let hint = ctx.unknown_structure_hint(rf);
                                ctx.err(
                                    e.span().start,
                                    Problem::UnknownStructure {
                                        name: rf.to_string(),
                                        context: format!("the expression of derived '{name}'"),
                                        hint,
                                    },
                                );
                            }
                        }
                        Some(x)
                    }
                    Err(pe) => {
                        // Point at the character inside the TOML string: +1 for the
                        // opening quote (exact unless the string uses escapes).
                        let mut loc = ctx.src.location(e.span().start);
                        loc.column += pe.column;
                        ctx.errors.push(PipelineError::At {
                            location: loc,
                            problem: Problem::BadExpr {
                                name: name.clone(),
                                message: pe.to_string(),
                            },
                        });
                        None
                    }
                }
            };
            let expr = parse(&r.expr, &mut ctx);
            let mut fallbacks = Vec::new();
            for f in &r.fallbacks {
                if let Some(x) = parse(&f.get_ref().expr, &mut ctx) {
                    if f.get_ref().note.get_ref().trim().is_empty() {
                        ctx.bad_value(
                            f.get_ref().note.span().start,
                            "note",
                            "a fallback must say why it is an acceptable approximation",
                        );
                    }
                    fallbacks.push(Fallback {
                        expr: x,
                        expr_text: f.get_ref().expr.get_ref().clone(),
                        note: f.get_ref().note.get_ref().clone(),
                    });
                }
            }
            if let Some(expr) = expr {
                derived.push((
                    d.span().start,
                    DerivedStructure {
                        name,
                        expr,
                        expr_text: r.expr.get_ref().clone(),
                        note: r.note.clone(),
                        fallbacks,
                    },
                ));
            }
        }
        let derived = order_derived(derived, &mut ctx);

        // α/β.
        let mut alpha_beta = AlphaBetaTable::default();
        let class_names: Vec<String> = names.classes().iter().map(|c| c.name.clone()).collect();
        for (k, v) in &raw.alpha_beta {
            let key = k.get_ref().trim();
            let value = *v.get_ref();
            if !(value.is_finite() && value > 0.0) {
                ctx.bad_value(
                    v.span().start,
                    &format!("alpha_beta.{key}"),
                    format!("α/β must be a positive number of Gy, found {value}"),
                );
            }
            if key == "default" {
                alpha_beta.default = Some(value);
                continue;
            }
            if !class_names.iter().any(|c| c == key) && !ctx.known_structure(key) {
                let hint = match names.suggest(key) {
                    Some(s) => format!("; did you mean '{s}'?"),
                    None => String::new(),
                };
                ctx.err(
                    k.span().start,
                    Problem::UnknownKey {
                        key: key.to_string(),
                        section: "[alpha_beta]".into(),
                        expected: format!(
                            "'default', a tissue class ({}) or a TG-263 / derived structure name{hint}",
                            class_names.join(", ")
                        ),
                    },
                );
            }
            alpha_beta.entries.insert(key.to_string(), value);
        }

        let fractionation = raw.fractionation.as_ref().map(|f| {
            let r = f.get_ref();
            let fractions = r
                .fractions
                .as_ref()
                .map(|n| ctx.count(n, "fractionation.fractions"));
            let prescription_gy = r.prescription_gy.as_ref().map(|p| {
                let v = ctx.finite(p, "fractionation.prescription_gy");
                if v <= 0.0 {
                    ctx.bad_value(
                        p.span().start,
                        "fractionation.prescription_gy",
                        "must be > 0 Gy",
                    );
                }
                v
            });
            let policy = match r
                .policy
                .as_ref()
                .map(|p| (p.span().start, p.get_ref().as_str()))
            {
                None | Some((_, "if_missing")) => FractionationPolicy::IfMissing,
                Some((_, "always")) => FractionationPolicy::Always,
                Some((off, other)) => {
                    ctx.bad_value(
                        off,
                        "fractionation.policy",
                        format!("unknown policy '{other}' (expected if_missing or always)"),
                    );
                    FractionationPolicy::IfMissing
                }
            };
            if fractions.is_none() && prescription_gy.is_none() {
                ctx.bad_value(
                    f.span().start,
                    "fractionation",
                    "gives neither fractions nor prescription_gy",
                );
            }
            Fractionation {
                fractions,
                prescription_gy,
                policy,
            }
        });

        let mut metrics = Vec::new();
        for (i, m) in raw.metrics.iter().enumerate() {
            let r = m.get_ref();
            let context = format!("[[metrics]] #{}", i + 1);
            if r.structures.is_empty() || r.metrics.is_empty() {
                ctx.bad_value(
                    m.span().start,
                    "metrics",
                    format!("{context} needs structures and metrics"),
                );
            }
            let structures = r
                .structures
                .iter()
                .map(|s| ctx.structure(s, &context))
                .collect();
            let list = r.metrics.iter().map(|x| ctx.metric(x)).collect();
            let ab = r.alpha_beta.as_ref().map(|a| {
                let v = *a.get_ref();
                if !(v.is_finite() && v > 0.0) {
                    ctx.bad_value(
                        a.span().start,
                        "alpha_beta",
                        format!("α/β must be > 0 Gy, found {v}"),
                    );
                }
                v
            });
            metrics.push(MetricSet {
                label: r.label.clone(),
                structures,
                metrics: list,
                when: r.when.as_ref().map(|w| ctx.when(w)),
                alpha_beta: ab,
                endpoint: r.endpoint.clone(),
            });
        }

        let mut rules = Vec::new();
        let mut rule_lines: BTreeMap<String, usize> = BTreeMap::new();
        for rr in &raw.rules {
            rules.push(validate_rule(rr, &mut ctx, &mut rule_lines));
        }

        PipelineError::from_list(std::mem::take(&mut ctx.errors))?;
        Ok(Pipeline {
            source: path.to_path_buf(),
            name: raw.name.get_ref().clone(),
            description: raw.description,
            names,
            derived,
            alpha_beta,
            fractionation,
            metrics,
            rules,
        })
    }
}

fn validate_rule(
    rr: &S<RawRule>,
    ctx: &mut Ctx,
    rule_lines: &mut BTreeMap<String, usize>,
) -> RiskRule {
    let r = rr.get_ref();
    let start = rr.span().start;
    let id = r.id.get_ref().trim().to_string();
    let ctx_name = format!("rule '{id}'");
    if id.is_empty() || id.contains(char::is_whitespace) {
        ctx.bad_value(
            r.id.span().start,
            "id",
            format!("'{id}' is not a usable rule id"),
        );
    }
    if let Some(&l) = rule_lines.get(&id) {
        ctx.err(
            r.id.span().start,
            Problem::Duplicate {
                what: "rule id".into(),
                name: id.clone(),
                first_line: l,
            },
        );
    } else {
        rule_lines.insert(id.clone(), ctx.src.line_of(r.id.span().start));
    }
    let evidence = |f: &Option<S<String>>, field: &str, ctx: &mut Ctx| -> String {
        match f {
            Some(v) if !v.get_ref().trim().is_empty() => v.get_ref().trim().to_string(),
            _ => {
                ctx.err(
                    start,
                    Problem::MissingEvidence {
                        id: id.clone(),
                        field: field.into(),
                    },
                );
                String::new()
            }
        }
    };
    let grade = evidence(&r.grade, "grade", ctx);
    let citation = evidence(&r.citation, "citation", ctx);
    if let Some(g) = &r.grade
        && !grade.is_empty()
        && !grade_ok(&grade)
    {
        ctx.bad_value(
            g.span().start,
            "grade",
            format!("unknown grade '{grade}' (expected A, B, C, D, combinations like B/C, consensus, label or unrated)"),
        );
    }

    let structure = r.structure.as_ref().map(|s| ctx.structure(s, &ctx_name));
    let metric = r.metric.as_ref().map(|m| ctx.metric(m));
    let covariate = r.covariate.as_ref().map(|c| ctx.covariate(c));
    if metric.is_some() && covariate.is_some() {
        ctx.bad_value(
            start,
            "metric",
            format!("{ctx_name}: give a metric or a covariate, not both"),
        );
    }
    if metric.is_some() && structure.is_none() {
        ctx.bad_value(
            start,
            "structure",
            format!("{ctx_name}: a metric needs a structure"),
        );
    }

    let mut tiers = Vec::new();
    for t in &r.tiers {
        let tr = t.get_ref();
        let level = ctx.level(&tr.level);
        let test = match (&tr.op, &tr.value, &tr.all, &tr.any) {
            (Some(op), Some(v), None, None) => {
                if metric.is_none() && covariate.is_none() {
                    ctx.bad_value(
                        t.span().start,
                        "tiers",
                        format!(
                            "{ctx_name}: a threshold tier needs the rule's metric or covariate"
                        ),
                    );
                }
                TierTest::Threshold {
                    op: ctx.op(op),
                    value: ctx.finite(v, "value"),
                }
            }
            (None, None, Some(all), None) if !all.is_empty() => {
                TierTest::All(all.iter().map(|c| ctx.condition(c, r, &ctx_name)).collect())
            }
            (None, None, None, Some(any)) if !any.is_empty() => {
                TierTest::Any(any.iter().map(|c| ctx.condition(c, r, &ctx_name)).collect())
            }
            _ => {
                ctx.bad_value(
                    t.span().start,
                    "tiers",
                    format!("{ctx_name}: a tier has either op and value, or a non-empty all = [...] or any = [...]"),
                );
                TierTest::All(Vec::new())
            }
        };
        tiers.push((
            t.span().start,
            Tier {
                level,
                test,
                note: tr.note.clone(),
            },
        ));
    }
    check_monotonic(&id, &tiers, ctx);
    let tiers: Vec<Tier> = tiers.into_iter().map(|(_, t)| t).collect();

    let mut continuous = Vec::new();
    for c in &r.continuous {
        let cr = c.get_ref();
        let quantity = ctx.quantity(
            c.span().start,
            cr.structure.as_ref().or(r.structure.as_ref()),
            cr.metric.as_ref().or(r.metric.as_ref()),
            cr.covariate.as_ref(),
            &ctx_name,
        );
        let effect = match cr.effect.get_ref().as_str() {
            "excess_relative_risk" => Effect::ExcessRelativeRisk,
            "hazard_ratio" => Effect::HazardRatio,
            "odds_ratio" => Effect::OddsRatio,
            other => {
                ctx.bad_value(
                    cr.effect.span().start,
                    "effect",
                    format!("unknown effect '{other}' (expected excess_relative_risk, hazard_ratio or odds_ratio)"),
                );
                Effect::ExcessRelativeRisk
            }
        };
        let value = ctx.finite(&cr.value, "value");
        if effect != Effect::ExcessRelativeRisk && value <= 0.0 {
            ctx.bad_value(cr.value.span().start, "value", "a ratio must be > 0");
        }
        let per = cr.per.as_ref().map_or(1.0, |p| {
            let v = ctx.finite(p, "per");
            if v <= 0.0 {
                ctx.bad_value(p.span().start, "per", "must be > 0");
            }
            v
        });
        let ci = cr.ci.as_ref().and_then(|ci| match ci.get_ref().as_slice() {
            [lo, hi] if lo <= hi => Some([*lo, *hi]),
            _ => {
                ctx.bad_value(
                    ci.span().start,
                    "ci",
                    "a confidence interval is [low, high] with low ≤ high",
                );
                None
            }
        });
        continuous.push(ContinuousModel {
            quantity,
            effect,
            value,
            per,
            ci,
            description: cr.description.clone(),
        });
    }

    let timing = r.timing.as_ref().map(|t| {
        let tr = t.get_ref();
        let relative_to = match tr.relative_to.get_ref().as_str() {
            "rt_start" => TimingAnchor::RtStart,
            "rt_end" => TimingAnchor::RtEnd,
            "each_rt_date" => TimingAnchor::EachRtDate,
            "during_rt" => TimingAnchor::DuringRt,
            other => {
                ctx.bad_value(
                    tr.relative_to.span().start,
                    "relative_to",
                    format!("unknown anchor '{other}' (expected rt_start, rt_end, each_rt_date or during_rt)"),
                );
                TimingAnchor::RtStart
            }
        };
        let days = |d: &S<i64>, ctx: &mut Ctx| {
            i32::try_from(*d.get_ref()).unwrap_or_else(|_| {
                ctx.bad_value(d.span().start, "days", "out of range");
                0
            })
        };
        let (from_days, to_days) = (days(&tr.from_days, ctx), days(&tr.to_days, ctx));
        if from_days > to_days {
            ctx.bad_value(
                tr.from_days.span().start,
                "from_days",
                format!("from_days {from_days} > to_days {to_days}: empty window"),
            );
        }
        if tr.agents.is_empty() {
            ctx.bad_value(t.span().start, "agents", "name at least one drug");
        }
        TimingWindow {
            agents: tr.agents.iter().map(|a| a.get_ref().clone()).collect(),
            relative_to,
            from_days,
            to_days,
            level: ctx.level(&tr.level),
        }
    });

    let limits = r.limits.as_ref().map(|l| {
        let lr = l.get_ref();
        let by = ctx.covariate(&lr.by);
        let quantity = ctx.covariate(&lr.quantity);
        let mut rows = Vec::new();
        let mut prev: Option<f64> = None;
        for row in &lr.rows {
            let up_to = ctx.finite(&row.get_ref().up_to, "up_to");
            let max = ctx.finite(&row.get_ref().max, "max");
            if prev.is_some_and(|p| up_to <= p) {
                ctx.bad_value(
                    row.span().start,
                    "up_to",
                    "rows must have strictly increasing up_to",
                );
            }
            prev = Some(up_to);
            rows.push(LimitRow { up_to, max });
        }
        if rows.is_empty() {
            ctx.bad_value(l.span().start, "rows", "a limit table needs rows");
        }
        LimitTable {
            by,
            quantity,
            rows,
            level: ctx.level(&lr.level),
        }
    });

    if tiers.is_empty() && continuous.is_empty() && timing.is_none() && limits.is_none() {
        ctx.bad_value(
            start,
            "rules",
            format!("{ctx_name} decides nothing: give tiers, continuous, timing or limits"),
        );
    }
    let covariates = r.covariates.iter().map(|c| ctx.covariate(c)).collect();

    RiskRule {
        id,
        title: r.title.clone(),
        structure,
        metric,
        covariate,
        when: r.when.as_ref().map(|w| ctx.when(w)),
        tiers,
        continuous,
        timing,
        limits,
        covariates,
        grade,
        citation,
        evidence_note: r.evidence_note.clone(),
        provisional: r.provisional,
    }
}

/// Threshold tiers must rise in severity, and their thresholds must move the same way
/// as the comparison (`>=` tiers: increasing values; `<=` tiers: decreasing), so that a
/// higher tier is always harder to reach.
fn check_monotonic(id: &str, tiers: &[(usize, Tier)], ctx: &mut Ctx) {
    for pair in tiers.windows(2) {
        let [(_, a), (off, b)] = pair else { continue };
        if b.level <= a.level {
            ctx.err(
                *off,
                Problem::NonMonotonicTiers {
                    id: id.into(),
                    reason: format!(
                        "level {} follows {} (levels must increase)",
                        b.level, a.level
                    ),
                },
            );
            continue;
        }
        if let (
            TierTest::Threshold { op: oa, value: va },
            TierTest::Threshold { op: ob, value: vb },
        ) = (&a.test, &b.test)
        {
            let reason = if oa.is_upper() != ob.is_upper() {
                Some(format!("'{oa}' and '{ob}' point in opposite directions"))
            } else {
                // Equal values are allowed only going from the inclusive to the strict
                // comparison (>= 10 then > 10).
                let harder = if oa.is_upper() { vb > va } else { vb < va };
                let same_but_stricter =
                    vb == va && matches!((oa, ob), (Op::Ge, Op::Gt) | (Op::Le, Op::Lt));
                (!(harder || same_but_stricter)).then(|| {
                    format!(
                        "{} {ob} {vb} is not harder to reach than {} {oa} {va}",
                        b.level, a.level
                    )
                })
            };
            if let Some(reason) = reason {
                ctx.err(
                    *off,
                    Problem::NonMonotonicTiers {
                        id: id.into(),
                        reason,
                    },
                );
            }
        }
    }
}

/// Sort derived structures so each comes after the ones it uses; report cycles.
fn order_derived(items: Vec<(usize, DerivedStructure)>, ctx: &mut Ctx) -> Vec<DerivedStructure> {
    let names: Vec<String> = items.iter().map(|(_, d)| d.name.clone()).collect();
    let deps = |d: &DerivedStructure| -> BTreeSet<String> {
        let mut exprs = vec![&d.expr];
        exprs.extend(d.fallbacks.iter().map(|f| &f.expr));
        exprs
            .iter()
            .flat_map(|e| e.refs())
            .flat_map(|r| {
                names
                    .iter()
                    .filter(|n| {
                        **n != d.name && (r == n.as_str() || (is_glob(r) && glob_match(r, n)))
                    })
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let mut pending: Vec<(usize, DerivedStructure, BTreeSet<String>)> = items
        .into_iter()
        .map(|(o, d)| {
            let s = deps(&d);
            (o, d, s)
        })
        .collect();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for (o, d, s) in pending {
            if s.iter().all(|n| done.contains(n)) {
                done.insert(d.name.clone());
                out.push(d);
            } else {
                rest.push((o, d, s));
            }
        }
        pending = rest;
        if pending.len() == before {
            let cycle: Vec<String> = pending.iter().map(|(_, d, _)| d.name.clone()).collect();
            if let Some((o, _, _)) = pending.first() {
                ctx.err(*o, Problem::Cycle(cycle.join(" → ")));
            }
            break;
        }
    }
    out
}
