//! `radtox batch` and `radtox merge`: argument parsing and printing only; the work is in
//! `radtox-batch` (see `docs/batch.md`).

use anyhow::{Context, bail};
use clap::Args;
use radtox_batch::{BatchOptions, ConsoleProgress, Pseudonymizer, Shard};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Environment variable holding the pseudonymisation key (when no key file is given).
const KEY_ENV: &str = "RADTOX_PSEUDONYM_KEY";

#[derive(Args, Debug)]
pub struct BatchArgs {
    /// Archive root: every file below it is examined (by content, not by name).
    #[arg(value_name = "ROOT")]
    pub root: PathBuf,
    /// Output directory (created; reused by a rerun, which skips unchanged plans).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Process only shard K of N (deterministic split by plan; e.g. Slurm array task K).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Plans analysed at once (and analysis threads); default: all cores.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    /// A metric in AAPM TG-263 syntax (repeatable). Default: the standard set.
    #[arg(long = "metric", short = 'm', value_name = "METRIC")]
    pub metrics: Vec<String>,
    /// How a structure ends beyond its outermost contours.
    #[arg(long, value_enum, default_value_t = crate::args::EndCapsArg::HalfSlab)]
    pub end_caps: crate::args::EndCapsArg,
    /// Sampling cells per structure below which its lattice is refined (small
    /// structures); more is slower and closer to the contours' exact geometry.
    #[arg(long, value_name = "N", default_value_t = radtox_geometry::SamplingOptions::default().min_samples)]
    pub min_samples: usize,
    /// Bin width (Gy) of the DVH curves in the per-plan JSON.
    #[arg(long, value_name = "GY", default_value_t = 0.01)]
    pub dvh_bin: f64,
    /// Leave the DVH curves out of the per-plan JSON (much smaller outputs).
    #[arg(long)]
    pub no_dvh: bool,
    /// Replace patient IDs and names (and paths holding them) in every output by a keyed
    /// hash. The key comes from --pseudonym-key-file or RADTOX_PSEUDONYM_KEY.
    #[arg(long)]
    pub pseudonymize: bool,
    /// File holding the pseudonymisation key (at least 16 bytes of secret).
    #[arg(long, value_name = "FILE", requires = "pseudonymize")]
    pub pseudonym_key_file: Option<PathBuf>,
    /// Redo plans whose previous attempt failed even when nothing changed.
    #[arg(long)]
    pub retry_failed: bool,
    /// Also write each plan's self-contained HTML report beside its JSON document
    /// (`plans/<name>.html`; docs/report.md).
    #[arg(long)]
    pub report: bool,
    /// Pipeline file (TOML) applied to every plan.
    #[arg(long, value_name = "FILE")]
    pub pipeline: Option<PathBuf>,
    /// CSV 'patient_id,patient_file' (with a header line): each listed patient's plans
    /// are analysed with that patient file (radtox-patient/1) for the T-DM1 risk flags.
    #[arg(long, value_name = "FILE")]
    pub patients: Option<PathBuf>,
    /// Seconds between progress lines when standard error is not a terminal.
    #[arg(long, value_name = "S", default_value_t = 10)]
    pub log_interval: u64,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Output directories of the shards (`radtox batch --shard K/N --out DIR`).
    #[arg(value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where the merged set is written.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Merge even when some shards K/N are missing.
    #[arg(long)]
    pub partial: bool,
}

fn pseudonymizer(a: &BatchArgs) -> anyhow::Result<Option<Pseudonymizer>> {
    if !a.pseudonymize {
        return Ok(None);
    }
    let secret = match &a.pseudonym_key_file {
        Some(f) => std::fs::read(f)
            .with_context(|| format!("could not read the key file {}", f.display()))?,
        None => match std::env::var(KEY_ENV) {
            Ok(v) => v.into_bytes(),
            Err(_) => bail!(
                "--pseudonymize needs a key: --pseudonym-key-file FILE or the {KEY_ENV} environment variable"
            ),
        },
    };
    Ok(Some(Pseudonymizer::from_secret(&secret)?))
}

/// `--patients FILE`: CSV with a header and the columns `patient_id,patient_file`;
/// relative patient-file paths are taken from the CSV's folder.
fn patients_table(path: &std::path::Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read --patients {}", path.display()))?;
    let base = path.parent().unwrap_or(std::path::Path::new("."));
    let mut table = BTreeMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        // Line numbers, never the values: the first column is a patient ID.
        let (id, file) = line.split_once(',').with_context(|| {
            format!(
                "--patients {} line {}: expected 'patient_id,patient_file'",
                path.display(),
                i + 1
            )
        })?;
        let (id, file) = (id.trim(), file.trim());
        if id.is_empty() || file.is_empty() {
            bail!("--patients {} line {}: empty field", path.display(), i + 1);
        }
        if table.insert(id.to_string(), base.join(file)).is_some() {
            bail!(
                "--patients {} line {}: this patient is listed twice",
                path.display(),
                i + 1
            );
        }
    }
    Ok(table)
}

fn options(a: &BatchArgs) -> anyhow::Result<BatchOptions> {
    let mut analysis = crate::args::base_options(&a.metrics, a.dvh_bin, a.no_dvh, a.end_caps)?;
    analysis.sampling.min_samples = a.min_samples.max(1);
    if let Some(p) = &a.pipeline {
        analysis.pipeline = Some(
            radtox_analysis::load_pipeline(p)
                .with_context(|| format!("--pipeline {}", p.display()))?,
        );
    }
    let patients = match &a.patients {
        Some(p) => patients_table(p)?,
        None => BTreeMap::new(),
    };
    Ok(BatchOptions {
        analysis,
        patients,
        shard: a.shard.unwrap_or(Shard::ALL),
        jobs: a.jobs,
        pseudonymizer: pseudonymizer(a)?,
        retry_failed: a.retry_failed,
        html_report: a.report,
        // Part of the settings hash, so turning reports on redoes the plans.
        extra_settings: BTreeMap::from([("html_report".to_string(), a.report.to_string())]),
    })
}

pub fn run(a: BatchArgs) -> anyhow::Result<()> {
    let opts = options(&a)?;
    let progress = ConsoleProgress::new(Duration::from_secs(a.log_interval.max(1)));
    let result = radtox_batch::run_batch(&a.root, &a.out, &opts, &progress);
    progress.finish();
    let s = result?;
    // Counts only: no names, IDs or paths from the archive.
    eprintln!(
        "radtox batch: shard {}: {} plans ({} analysed, {} unchanged), {} failed, {} discovery problems, {:.1} s ({:.2} plans/s); see {}",
        opts.shard,
        s.plans,
        s.analysed,
        s.reused,
        s.failed,
        s.problems,
        s.elapsed_s,
        if s.elapsed_s > 0.0 {
            s.plans as f64 / s.elapsed_s
        } else {
            0.0
        },
        a.out.join("errors.csv").display()
    );
    Ok(())
}

pub fn merge(a: MergeArgs) -> anyhow::Result<()> {
    let s = radtox_batch::merge(&a.dirs, &a.out, a.partial)?;
    eprintln!(
        "radtox merge: {} shard directories, {} plans, {} discovery problems → {}",
        s.shards,
        s.plans,
        s.problems,
        a.out.display()
    );
    Ok(())
}
