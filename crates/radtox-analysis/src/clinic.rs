//! The clinic stage inside an analysis: risk rules from the pipeline, evaluated on the
//! computed metrics with the patient file's timeline and covariates, converted into the
//! report's [`radtox_report::Flag`] and [`radtox_report::Timeline`].

use radtox_clinic as cl;
use radtox_pipeline::ResolvedPipeline;

/// The rules an analysis evaluates and the timeline they are evaluated against: the
/// pipeline's rules (plus, with a patient file, the patient-level records the pipeline
/// does not cover); without a pipeline but with a patient file, every built-in rule.
/// The timeline goes into `analysis` when a patient file was given.
pub(crate) fn rules_and_timeline(
    analysis: &mut radtox_report::Analysis,
    opts: &crate::AnalysisOptions,
    resolved: Option<&ResolvedPipeline>,
) -> (Vec<cl::Rule>, cl::Timeline) {
    let catalogue = cl::Catalogue::builtin();
    let rules = match (resolved, &catalogue) {
        (Some(r), Ok(cat)) => {
            let mut rules = pipeline_rules(r, cat, &mut analysis.warnings);
            if opts.patient.is_some() {
                let extra = patient_level_rules(cat, &rules);
                rules.extend(extra);
            }
            rules
        }
        (None, Ok(cat)) if opts.patient.is_some() => {
            analysis.warnings.push(
                "no pipeline: the built-in rules of every evidence record are evaluated (dose-volume rules need the pipeline's TG-263 names)".into(),
            );
            cl::default_rules(cat)
        }
        (_, Err(e)) => {
            analysis
                .warnings
                .push(format!("evidence catalogue unavailable, no flags: {e}"));
            Vec::new()
        }
        _ => Vec::new(),
    };
    let timeline = match &opts.patient {
        Some(p) => cl::Timeline::from_patient(p),
        None => cl::Timeline::new(Vec::new(), Vec::new()),
    };
    if opts.patient.is_some() {
        analysis.timeline = Some(report_timeline(&timeline));
    }
    (rules, timeline)
}

/// The engine rules of a resolved pipeline. A rule the engine cannot evaluate
/// faithfully is left out with a warning (never silently).
pub(crate) fn pipeline_rules(
    resolved: &ResolvedPipeline,
    catalogue: &cl::Catalogue,
    warnings: &mut Vec<String>,
) -> Vec<cl::Rule> {
    let mut out = Vec::new();
    for r in &resolved.rules {
        match cl::rules_from_resolved(r, catalogue) {
            Ok(mut v) => out.append(&mut v),
            Err(e) => warnings.push(format!("risk rule not evaluated: {e}")),
        }
    }
    out
}

fn level_key(l: cl::Level) -> &'static str {
    match l {
        cl::Level::Info => "info",
        cl::Level::Caution => "caution",
        cl::Level::High => "high",
        cl::Level::VeryHigh => "very_high",
    }
}

/// The report's form of one engine flag. Status words: `raised`, `indeterminate`
/// (value within its uncertainty of the threshold), `not_raised`, `not_evaluated`
/// (something missing; the reason is in `covariates`), `not_applicable`.
pub(crate) fn report_flag(f: &cl::Flag) -> radtox_report::Flag {
    let status = match f.status {
        cl::Status::Triggered => "raised",
        cl::Status::Indeterminate => "indeterminate",
        cl::Status::Pass => "not_raised",
        cl::Status::NotEvaluated => "not_evaluated",
        cl::Status::NotApplicable => "not_applicable",
    };
    let mut covariates = f.facts.clone();
    if let Some(u) = f.uncertainty.filter(|u| *u > 0.0) {
        covariates.push(format!("metric uncertainty ±{u:.3}"));
    }
    if let Some(e) = &f.estimate {
        let ci = e
            .ci95
            .map(|(lo, hi)| format!(" (95% CI {lo:.3}–{hi:.3})"))
            .unwrap_or_default();
        covariates.push(format!(
            "{}: {:.3}{ci}; {}",
            e.endpoint, e.value, e.description
        ));
    }
    if let Some(r) = &f.reason {
        covariates.push(r.clone());
    }
    radtox_report::Flag {
        rule_id: f.rule_id.clone(),
        level: f
            .level
            .map(level_key)
            .unwrap_or(if f.status == cl::Status::Triggered {
                "info"
            } else {
                "none"
            })
            .to_string(),
        status: status.to_string(),
        structure: f.structure.clone(),
        metric: f.metric.clone(),
        value: f.value,
        threshold: f.threshold.map(|t| format!("{} {}", t.op, t.value)),
        timing: f.timing.clone(),
        covariates,
        evidence_grade: f.grade.clone(),
        citation: f.citation.clone(),
        provisional: f.provisional,
        evidence_against: f.evidence_against.clone(),
        sentence: f.sentence.clone(),
    }
}

/// The report's timeline: every T-DM1 dose and RT date, the published windows that
/// hold for each RT date, and the daily relative exposure.
pub(crate) fn report_timeline(t: &cl::Timeline) -> radtox_report::Timeline {
    let mut events = Vec::new();
    for d in &t.doses {
        events.push(radtox_report::TimelineEvent {
            date: d.date.to_string(),
            kind: "tdm1".into(),
            label: format!("T-DM1 {} mg/kg", d.dose_mg_per_kg),
        });
    }
    for c in &t.courses {
        let label = c
            .label
            .clone()
            .unwrap_or_else(|| c.kind.label().to_string());
        if c.first_fraction == c.last_fraction {
            events.push(radtox_report::TimelineEvent {
                date: c.first_fraction.to_string(),
                kind: if c.kind == cl::CourseKind::Srs {
                    "srs".into()
                } else {
                    "rt_fraction".into()
                },
                label,
            });
            continue;
        }
        events.push(radtox_report::TimelineEvent {
            date: c.first_fraction.to_string(),
            kind: "rt_start".into(),
            label: label.clone(),
        });
        for f in c
            .fraction_dates
            .iter()
            .filter(|f| **f != c.first_fraction && **f != c.last_fraction)
        {
            events.push(radtox_report::TimelineEvent {
                date: f.to_string(),
                kind: "rt_fraction".into(),
                label: label.clone(),
            });
        }
        events.push(radtox_report::TimelineEvent {
            date: c.last_fraction.to_string(),
            kind: "rt_end".into(),
            label,
        });
    }
    events.sort_by(|a, b| a.date.cmp(&b.date));

    let windows = cl::Window::published();
    let describe = |key: &str| {
        windows
            .iter()
            .find(|w| w.key == key)
            .map(|w| format!("{} ({}, {})", key, w.describe(), w.source))
            .unwrap_or_else(|| key.to_string())
    };
    let facts = t
        .offsets()
        .iter()
        .filter_map(|o| {
            let (dose, delta) = (o.nearest_dose?, o.delta_days?);
            let within = if o.windows.is_empty() {
                "outside every published window".to_string()
            } else {
                format!(
                    "within {}",
                    o.windows
                        .iter()
                        .map(|k| describe(k))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            };
            Some(format!(
                "T-DM1 on {dose} is {} {} on {}: {within}",
                cl::describe_delta(delta),
                o.kind.label(),
                o.date
            ))
        })
        .collect();
    radtox_report::Timeline {
        events,
        facts,
        exposure: t
            .exposure_curve()
            .iter()
            .map(|p| (p.date.to_string(), p.level))
            .collect(),
        exposure_model: format!(
            "relative serum level, one compartment, half-life {} d, 1.0 just after a {} mg/kg dose (context, not a pharmacokinetic prediction)",
            cl::TDM1_HALF_LIFE_DAYS,
            cl::TDM1_REFERENCE_DOSE_MG_PER_KG
        ),
    }
}

/// The built-in rules that read no dose metric (timing, covariates: e.g. H4 Asian
/// ancestry, H3 platelets) of every evidence record the pipeline's rules do not cover.
/// They concern the patient rather than the plan, so they apply whatever the site
/// pipeline; a rule about another site's courses is reported as not applicable.
pub(crate) fn patient_level_rules(
    catalogue: &cl::Catalogue,
    covered: &[cl::Rule],
) -> Vec<cl::Rule> {
    let covered: Vec<&str> = covered.iter().map(|r| cl::evidence_id(&r.id)).collect();
    let reads_dose = |r: &cl::Rule| {
        let metric = |c: &cl::Condition| matches!(c.quantity, cl::Quantity::Metric { .. });
        r.structure.is_some()
            || r.metric.is_some()
            || r.conditions.iter().any(metric)
            || r.condition_tiers
                .iter()
                .any(|t| t.conditions.iter().any(metric))
    };
    cl::default_rules(catalogue)
        .into_iter()
        .filter(|r| !covered.contains(&cl::evidence_id(&r.id)) && !reads_dose(r))
        .collect()
}
