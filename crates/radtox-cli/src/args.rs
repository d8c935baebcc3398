//! Command-line arguments (clap derive) and their translation into library options.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use radtox_analysis::{AnalysisOptions, PlanInputs};
use radtox_geometry::EndCaps;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "radtox",
    version,
    about = "Radiotherapy dosimetry: exact DVHs, TG-263 dose metrics and T-DM1 concurrent-toxicity flags from DICOM-RT plan exports"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Analyse one plan: DVHs and dose metrics for every structure.
    Analyze(AnalyzeArgs),
    /// Analyse every plan of an archive: parallel, resumable, shardable (docs/batch.md).
    Batch(crate::batch::BatchArgs),
    /// Join the output directories of `radtox batch --shard K/N` runs into one set.
    Merge(crate::batch::MergeArgs),
    /// QA gate: JSON verdict on stdout; exit 0 pass, 1 fail, 2 error (docs/check.md).
    Check(crate::check::CheckArgs),
    /// Analyse one plan and write a self-contained HTML report (tables, DVH plots,
    /// flags, timeline) that opens offline in any browser.
    Report(crate::report::ReportArgs),
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// A directory holding the plan export (files are found by content, not name).
    #[arg(value_name = "DIR", conflicts_with_all = ["rtdose", "rtstruct", "rtplan"])]
    pub dir: Option<PathBuf>,
    /// RT Dose file (repeatable: BEAM doses are summed unless a PLAN dose covers them).
    #[arg(long, value_name = "FILE")]
    pub rtdose: Vec<PathBuf>,
    /// RT Structure Set file.
    #[arg(long, value_name = "FILE")]
    pub rtstruct: Option<PathBuf>,
    /// RT Plan file (fractions, prescription).
    #[arg(long, value_name = "FILE")]
    pub rtplan: Option<PathBuf>,
    /// A metric in AAPM TG-263 syntax, e.g. 'D95%[Gy]', 'V12Gy[cc]', 'D0.03cc[Gy]',
    /// 'Mean[Gy]' (repeatable). Default: a standard set.
    #[arg(long = "metric", short = 'm', value_name = "METRIC")]
    pub metrics: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
    /// Write the result to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// How a structure ends beyond its outermost contours.
    #[arg(long, value_enum, default_value_t = EndCapsArg::HalfSlab)]
    pub end_caps: EndCapsArg,
    /// Bin width (Gy) of the DVH curves written to JSON (metrics never use bins).
    #[arg(long, value_name = "GY", default_value_t = 0.01)]
    pub dvh_bin: f64,
    /// Leave the DVH curves out of the JSON document.
    #[arg(long)]
    pub no_dvh: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    Table,
    Json,
    Csv,
}

impl From<FormatArg> for radtox_report::Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Table => radtox_report::Format::Table,
            FormatArg::Json => radtox_report::Format::Json,
            FormatArg::Csv => radtox_report::Format::Csv,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum EndCapsArg {
    /// The outermost contours stand for half a slab beyond them (default).
    HalfSlab,
    /// The structure ends flat at its outermost contour planes.
    Flat,
}

impl AnalyzeArgs {
    pub fn inputs(&self) -> anyhow::Result<PlanInputs> {
        if let Some(dir) = &self.dir {
            return PlanInputs::from_dir(dir)
                .with_context(|| format!("could not find a plan export in {}", dir.display()));
        }
        if self.rtdose.is_empty() || self.rtstruct.is_none() {
            bail!(
                "give a directory, or --rtdose FILE and --rtstruct FILE (see radtox analyze --help)"
            );
        }
        Ok(PlanInputs {
            rtdose: self.rtdose.clone(),
            rtstruct: self.rtstruct.clone(),
            rtplan: self.rtplan.clone(),
            notes: Vec::new(),
        })
    }

    pub fn options(&self) -> anyhow::Result<AnalysisOptions> {
        let metrics = self
            .metrics
            .iter()
            .map(|m| {
                m.parse()
                    .map_err(|e| anyhow::anyhow!("--metric {m:?}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if !(self.dvh_bin.is_finite() && self.dvh_bin > 0.0) {
            bail!(
                "--dvh-bin must be a positive number of Gy, got {}",
                self.dvh_bin
            );
        }
        let mut opts = AnalysisOptions {
            metrics,
            dvh_bin_width_gy: self.dvh_bin,
            include_dvh: !self.no_dvh,
            ..AnalysisOptions::default()
        };
        opts.sampling.end_caps = match self.end_caps {
            EndCapsArg::HalfSlab => EndCaps::HalfSlab,
            EndCapsArg::Flat => EndCaps::Flat,
        };
        Ok(opts)
    }
}
