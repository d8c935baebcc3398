//! `radtox report`: analyse one plan like `radtox analyze` and write the self-contained
//! HTML report (`radtox_report::html`) instead of a table.
//!
//! The plan arguments are `analyze`'s own, flattened, so every input option added there
//! (pipeline, patient file, …) reaches the report too. `--format` and `--no-dvh` make no
//! sense for a report and are hidden; the DVH curves are always computed.

use crate::args::AnalyzeArgs;
use clap::Args;
use std::path::Path;

#[derive(Args, Debug)]
#[command(
    mut_arg("format", |a| a.hide(true)),
    mut_arg("no_dvh", |a| a.hide(true)),
    mut_arg("output", |a| a
        .visible_alias("out")
        .help("Write the HTML report to FILE (atomically) instead of standard output")),
)]
pub struct ReportArgs {
    #[command(flatten)]
    pub plan: AnalyzeArgs,
}

pub fn run(r: ReportArgs) -> anyhow::Result<()> {
    let inputs = r.plan.inputs()?;
    let mut opts = r.plan.options()?;
    // The plots need the curves whatever was asked.
    opts.include_dvh = true;
    let analysis = radtox_analysis::analyze(&inputs, &opts)?;
    write_report(&analysis, r.plan.output.as_deref())
}

/// Write the HTML report of `analysis` to `path` (atomically), or to standard output.
/// Batch mode's `--report` uses this for each plan.
pub fn write_report(analysis: &radtox_report::Analysis, path: Option<&Path>) -> anyhow::Result<()> {
    crate::output::write(path, &radtox_report::html::to_html(analysis))
}
