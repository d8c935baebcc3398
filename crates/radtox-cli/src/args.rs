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
    /// Write the dose, its EQD2/BED and the structure masks as NIfTI, or the EQD2/BED
    /// dose as a DICOM RT Dose (docs/export.md).
    Export(crate::export::ExportArgs),
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
    /// CT slice files of the plan (repeatable): with a pipeline, a bone-marrow surrogate
    /// is derived from them (HU threshold inside the body) when no bone is contoured.
    #[arg(long, value_name = "FILE")]
    pub ct: Vec<PathBuf>,
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
    /// Sampling cells per structure below which its lattice is refined (small
    /// structures); more is slower and closer to the contours' exact geometry.
    #[arg(long, value_name = "N", default_value_t = radtox_geometry::SamplingOptions::default().min_samples)]
    pub min_samples: usize,
    /// Bin width (Gy) of the DVH curves written to JSON (metrics never use bins).
    #[arg(long, value_name = "GY", default_value_t = 0.01)]
    pub dvh_bin: f64,
    /// Leave the DVH curves out of the JSON document.
    #[arg(long)]
    pub no_dvh: bool,
    /// Pipeline file (pipelines/*.toml): TG-263 name mapping, derived structures,
    /// metrics, α/β and risk rules.
    #[arg(long, value_name = "FILE")]
    pub pipeline: Option<PathBuf>,
    /// Patient file (radtox-patient/1, TOML or JSON): T-DM1 dates, RT courses and
    /// covariates for the risk flags (docs/patient-file.md).
    #[arg(long, value_name = "FILE")]
    pub patient: Option<PathBuf>,
    /// Model for EQD2/BED: 'lq' (default) or 'lql:D_T' (LQ-L, transition dose per
    /// fraction D_T Gy, e.g. lql:6).
    #[arg(long, value_name = "MODEL", default_value = "lq")]
    pub lq_model: String,
    /// Shorthand for --lq-model lql:D_T.
    #[arg(
        long = "lq-l",
        value_name = "TRANSITION_GY",
        conflicts_with = "lq_model"
    )]
    pub lq_l: Option<f64>,
    /// Number of fractions for EQD2/BED and the rules, overriding the plan and pipeline.
    #[arg(long, value_name = "N")]
    pub fractions: Option<u32>,
    /// α/β (Gy) for structures the pipeline gives none (or without a pipeline).
    #[arg(long, value_name = "GY")]
    pub alpha_beta: Option<f64>,
    /// A derived structure, e.g. "Brain-GTV = Brain - union(GTV*)" (repeatable; the
    /// expression syntax of pipelines/README.md).
    #[arg(long = "derive", value_name = "NAME = EXPR")]
    pub derive: Vec<String>,
    /// A separate course DOSE_FILE:FRACTIONS (repeatable): each course is converted to
    /// EQD2/BED voxel by voxel with its own fractions and summed on the first course's
    /// grid (docs/metrics.md). Replaces --rtdose.
    #[arg(
        long = "course",
        value_name = "DOSE_FILE:FRACTIONS",
        conflicts_with = "rtdose"
    )]
    pub course: Vec<String>,
    /// NIfTI dose volume (Gy) instead of DICOM input (docs/nifti.md).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dir", "rtdose", "rtstruct", "course"])]
    pub nifti_dose: Option<PathBuf>,
    /// NIfTI label map of the structures (with --nifti-dose).
    #[arg(long, value_name = "FILE", requires = "nifti_dose")]
    pub nifti_labels: Option<PathBuf>,
    /// Names of the label values: JSON or `value name` text lines.
    #[arg(long, value_name = "FILE", requires = "nifti_labels")]
    pub label_names: Option<PathBuf>,
    /// One NIfTI mask per structure, NAME=FILE (repeatable; with --nifti-dose).
    #[arg(long = "nifti-mask", value_name = "NAME=FILE", requires = "nifti_dose")]
    pub nifti_mask: Vec<String>,
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
    /// The NIfTI inputs, when --nifti-dose is given.
    pub fn nifti_inputs(&self) -> anyhow::Result<Option<radtox_analysis::NiftiInputs>> {
        let Some(dose) = &self.nifti_dose else {
            return Ok(None);
        };
        Ok(Some(radtox_analysis::NiftiInputs {
            dose: dose.clone(),
            labels: self.nifti_labels.clone(),
            label_names: self.label_names.clone(),
            masks: self
                .nifti_mask
                .iter()
                .map(|m| radtox_analysis::parse_mask_arg(m))
                .collect::<Result<_, _>>()?,
        }))
    }

    pub fn inputs(&self) -> anyhow::Result<PlanInputs> {
        if let Some(dir) = &self.dir {
            let mut inputs = PlanInputs::from_dir(dir)
                .with_context(|| format!("could not find a plan export in {}", dir.display()))?;
            if !self.course.is_empty() {
                inputs.rtdose.clear();
                inputs.notes.push(
                    "the directory's RT Dose files are replaced by the --course files".into(),
                );
            }
            return Ok(inputs);
        }
        if (self.rtdose.is_empty() && self.course.is_empty()) || self.rtstruct.is_none() {
            bail!(
                "give a directory, or --rtdose FILE and --rtstruct FILE (see radtox analyze --help)"
            );
        }
        Ok(PlanInputs {
            rtdose: self.rtdose.clone(),
            rtstruct: self.rtstruct.clone(),
            rtplan: self.rtplan.clone(),
            ct: self.ct.clone(),
            notes: Vec::new(),
        })
    }

    pub fn options(&self) -> anyhow::Result<AnalysisOptions> {
        let mut opts = base_options(&self.metrics, self.dvh_bin, self.no_dvh, self.end_caps)?;
        opts.sampling.min_samples = self.min_samples.max(1);
        if let Some(p) = &self.pipeline {
            opts.pipeline = Some(radtox_analysis::load_pipeline(p)?);
        }
        if let Some(p) = &self.patient {
            opts.patient = Some(radtox_analysis::load_patient(p)?);
        }
        opts.lq_model = match self.lq_l {
            Some(t) => radtox_analysis::parse_lq_model(&format!("lql:{t}"))?,
            None => radtox_analysis::parse_lq_model(&self.lq_model)?,
        };
        if self.fractions == Some(0) {
            bail!("--fractions must be at least 1");
        }
        opts.fractions_override = self.fractions;
        if let Some(ab) = self.alpha_beta
            && !(ab.is_finite() && ab > 0.0)
        {
            bail!("--alpha-beta must be a positive number of Gy, got {ab}");
        }
        opts.alpha_beta_default = self.alpha_beta;
        opts.derived = self
            .derive
            .iter()
            .map(|d| radtox_analysis::DerivedSpec::parse(d))
            .collect::<Result<_, _>>()?;
        opts.courses = self
            .course
            .iter()
            .map(|c| radtox_analysis::Course::parse(c))
            .collect::<Result<_, _>>()?;
        Ok(opts)
    }
}

/// The analysis options every command that analyses plans shares: metrics (TG-263 text,
/// checked here so a typo is a usage error), DVH curve bins and end caps.
pub fn base_options(
    metrics: &[String],
    dvh_bin: f64,
    no_dvh: bool,
    end_caps: EndCapsArg,
) -> anyhow::Result<AnalysisOptions> {
    let metrics = metrics
        .iter()
        .map(|m| {
            m.parse()
                .map_err(|e| anyhow::anyhow!("--metric {m:?}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !(dvh_bin.is_finite() && dvh_bin > 0.0) {
        bail!("--dvh-bin must be a positive number of Gy, got {dvh_bin}");
    }
    let mut opts = AnalysisOptions {
        metrics,
        dvh_bin_width_gy: dvh_bin,
        include_dvh: !no_dvh,
        ..AnalysisOptions::default()
    };
    opts.sampling.end_caps = match end_caps {
        EndCapsArg::HalfSlab => EndCaps::HalfSlab,
        EndCapsArg::Flat => EndCaps::Flat,
    };
    Ok(opts)
}
