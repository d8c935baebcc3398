//! `radtox`: the command line. It parses arguments, calls the libraries, prints, and
//! maps errors to exit codes (0 success, 2 bad input or usage). All the work happens in
//! `radtox-analysis` and the crates below it.

mod args;
mod batch;
mod check;
mod export;
mod output;
mod report;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One readable line per cause; never Debug (dicom-rs errors carry backtraces).
            eprintln!("radtox: error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

fn run(cli: args::Cli) -> anyhow::Result<()> {
    match cli.command {
        args::Command::Analyze(a) => analyze(a),
        args::Command::Batch(b) => batch::run(b),
        args::Command::Merge(m) => batch::merge(m),
        args::Command::Check(c) => check::run(c),
        args::Command::Report(r) => report::run(r),
        args::Command::Export(e) => export::run(e),
    }
}

fn analyze(a: args::AnalyzeArgs) -> anyhow::Result<()> {
    let opts = a.options()?;
    let analysis = match a.nifti_inputs()? {
        Some(n) => radtox_analysis::analyze_nifti(&n, &opts)?,
        None => radtox_analysis::analyze(&a.inputs()?, &opts)?,
    };
    let text = radtox_report::render(&analysis, a.format.into())?;
    output::write(a.output.as_deref(), &text)
}
