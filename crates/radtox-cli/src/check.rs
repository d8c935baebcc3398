//! `radtox check`: QA gating. Same inputs as `analyze`; the verdict is a JSON document on
//! standard output (`docs/check-result.schema.json`) and one line on standard error.
//! Exit codes: 0 pass, 1 fail (a constraint fails or cannot be evaluated, a flag at or
//! above `--fail-on` is raised, the TPS DVH differs beyond `--tps-tolerance`), 2 error.

use clap::{Args, ValueEnum};
use radtox_batch::check::{CheckResult, Constraint, FailOn, TpsTolerance, evaluate_analysis};
use std::io::Write;

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub analyze: crate::args::AnalyzeArgs,
    /// A constraint 'STRUCTURE METRIC OP VALUE' (repeatable), e.g.
    /// --constraint "Brain-GTV V12Gy[cc] < 10". OP: <, <=, >, >=.
    #[arg(long = "constraint", short = 'c', value_name = "CONSTRAINT")]
    pub constraints: Vec<String>,
    /// Fail when a risk flag at or above this level is raised.
    #[arg(long, value_enum, default_value_t = FailOnArg::High)]
    pub fail_on: FailOnArg,
    /// Fail when the computed DVH differs from the planning system's embedded DVH by more
    /// than MEAN% in mean dose or VOLUME% in volume: 'MEAN,VOLUME', one value for both,
    /// or 'mean=2,volume=3'.
    #[arg(long, value_name = "MEAN,VOLUME")]
    pub tps_tolerance: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum FailOnArg {
    Caution,
    High,
}

impl From<FailOnArg> for FailOn {
    fn from(f: FailOnArg) -> FailOn {
        match f {
            FailOnArg::Caution => FailOn::Caution,
            FailOnArg::High => FailOn::High,
        }
    }
}

fn evaluate(a: &CheckArgs) -> anyhow::Result<CheckResult> {
    let constraints = a
        .constraints
        .iter()
        .map(|c| c.parse::<Constraint>())
        .collect::<Result<Vec<_>, _>>()?;
    let tps = a
        .tps_tolerance
        .as_deref()
        .map(str::parse::<TpsTolerance>)
        .transpose()?;
    let inputs = a.analyze.inputs()?;
    let mut opts = a.analyze.options()?;
    // The constraints' metrics must be computed, beside the requested (or default) ones.
    if opts.metrics.is_empty() {
        opts.metrics = radtox_dose::default_metrics();
    }
    for c in &constraints {
        if !opts.metrics.contains(&c.metric) {
            opts.metrics.push(c.metric);
        }
    }
    let analysis = radtox_analysis::analyze(&inputs, &opts)?;
    if let Some(path) = &a.analyze.output {
        let text = radtox_report::render(&analysis, a.analyze.format.into())?;
        crate::output::write(Some(path), &text)?;
    }
    Ok(evaluate_analysis(
        &analysis,
        &constraints,
        a.fail_on.into(),
        tps,
    )?)
}

/// Run the check, print, and exit with its code (never returns).
pub fn run(a: CheckArgs) -> anyhow::Result<()> {
    let result = evaluate(&a).unwrap_or_else(|e| {
        // One line per cause, as the other commands print them.
        // Causes whose text the message already holds are not repeated.
        let mut msg = String::new();
        for cause in e.chain().map(|c| c.to_string()) {
            if !msg.contains(&cause) {
                if !msg.is_empty() {
                    msg.push_str(": caused by: ");
                }
                msg.push_str(&cause);
            }
        }
        CheckResult::error(&msg, a.fail_on.into())
    });
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(result.to_json().as_bytes());
    let _ = out.flush();
    eprintln!("radtox check: {}", result.summary);
    std::process::exit(i32::from(result.exit_code));
}
