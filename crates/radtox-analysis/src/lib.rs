//! # radtox-analysis
//!
//! The analysis of one plan export, end to end and in one direction:
//!
//! ```text
//! files ─read─▶ DoseGrid + StructureSet + PlanInfo ─sample─▶ weighted dose samples
//!       ─histogram─▶ Dvh ─metrics─▶ TG-263 values (+ TPS DVH check) ─▶ radtox_report::Analysis
//! ```
//!
//! The binary (`radtox analyze`) and batch mode call [`analyze`]; nothing here parses
//! arguments or prints.
//!
//! ```no_run
//! use radtox_analysis::{analyze, AnalysisOptions, PlanInputs};
//! let inputs = PlanInputs::from_dir("fixtures/brain-srs".as_ref()).unwrap();
//! let analysis = analyze(&inputs, &AnalysisOptions::default()).unwrap();
//! for s in &analysis.structures {
//!     println!("{} {:?} cc", s.name, s.volume_cc);
//! }
//! ```

use radtox_dose::{Dvh, MetricContext, MetricRequest};
use radtox_geometry::{SamplingOptions, StructureSamples};
use radtox_model::{DoseGrid, Structure, TpsDvh};
use radtox_report::{
    Analysis, DvhCurve, GridSummary, Inputs, MetricValue, PlanSummary, Settings, StructureResult,
    TpsDvhCheck,
};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The files of one plan.
#[derive(Debug, Clone, Default)]
pub struct PlanInputs {
    pub rtdose: Vec<PathBuf>,
    pub rtstruct: Option<PathBuf>,
    pub rtplan: Option<PathBuf>,
    /// How the files were found (directory scans explain their choices here).
    pub notes: Vec<String>,
}

impl PlanInputs {
    /// Find the files of one plan in a directory, by content.
    pub fn from_dir(dir: &Path) -> Result<PlanInputs, AnalysisError> {
        let export = radtox_dicom::scan_directory(dir)?;
        Ok(PlanInputs {
            rtdose: export.doses,
            rtstruct: Some(export.structure_set),
            rtplan: export.plan,
            notes: export.notes,
        })
    }
}

/// Settings that change the numbers.
#[derive(Debug, Clone)]
pub struct AnalysisOptions {
    /// Metrics for every structure; empty means [`radtox_dose::default_metrics`].
    pub metrics: Vec<MetricRequest>,
    pub sampling: SamplingOptions,
    /// Bin width of the DVH curves in the output (metrics never use bins).
    pub dvh_bin_width_gy: f64,
    /// Include the DVH curves in the document.
    pub include_dvh: bool,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            metrics: Vec::new(),
            sampling: SamplingOptions::default(),
            dvh_bin_width_gy: 0.01,
            include_dvh: true,
        }
    }
}

/// Why a plan could not be analysed. Each variant's message names the file and, where
/// it applies, the tag and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Dicom(#[from] radtox_dicom::DicomError),
    #[error("no RT Dose file given")]
    NoDose,
    #[error("no RT Structure Set given")]
    NoStructureSet,
}

/// Analyse one plan.
pub fn analyze(inputs: &PlanInputs, opts: &AnalysisOptions) -> Result<Analysis, AnalysisError> {
    let plan = read_plan(inputs)?;
    let mut analysis = Analysis::new(env!("CARGO_PKG_VERSION"));
    analysis.inputs = Inputs {
        rtdose: inputs
            .rtdose
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        rtstruct: inputs.rtstruct.as_ref().map(|p| p.display().to_string()),
        rtplan: inputs.rtplan.as_ref().map(|p| p.display().to_string()),
        dose_summation: plan.dose.summary.clone(),
        discovery_notes: inputs.notes.clone(),
    };
    analysis.warnings.extend(plan.warnings.iter().cloned());
    let prescription_gy = plan.plan.as_ref().and_then(|p| p.prescription_gy());
    analysis.plan = plan.plan.as_ref().map(|p| PlanSummary {
        label: p.label.clone(),
        name: p.name.clone(),
        fractions: p.fractions,
        prescription_gy,
    });
    let grid = &plan.dose.grid;
    analysis.dose_grid = Some(GridSummary {
        dims: [grid.x.len(), grid.y.len(), grid.z.len()],
        spacing_mm: grid.mean_spacing(),
        max_dose_gy: grid.max_dose() as f64,
        dose_units: format!("{:?}", plan.dose.info.units).to_uppercase(),
        frame_of_reference_uid: plan.dose.info.frame_of_reference_uid.clone(),
    });
    let metrics = if opts.metrics.is_empty() {
        radtox_dose::default_metrics()
    } else {
        opts.metrics.clone()
    };
    analysis.settings = Settings {
        end_caps: format!("{:?}", opts.sampling.end_caps),
        min_samples_per_structure: opts.sampling.min_samples,
        dvh_bin_width_gy: opts.dvh_bin_width_gy,
        metrics_requested: metrics.iter().map(|m| m.to_string()).collect(),
    };

    let structures = &plan.structures.structures;
    let samples: Vec<StructureSamples> = structures
        .par_iter()
        .map(|s| radtox_geometry::sample_structure(s, grid, &opts.sampling))
        .collect();
    let dvhs: Vec<Option<Dvh>> = samples
        .par_iter()
        .map(|s| (!s.dose_gy.is_empty()).then(|| Dvh::from_samples(&s.dose_gy, &s.weight_cc)))
        .collect();
    let reference = reference_dvh(structures, &dvhs, grid, &metrics, prescription_gy);
    let ctx = MetricContext {
        prescription_gy,
        reference: reference.as_ref(),
    };
    analysis.structures = structures
        .par_iter()
        .zip(samples.par_iter())
        .zip(dvhs.par_iter())
        .map(|((s, samp), dvh)| {
            structure_result(
                s,
                samp,
                dvh.as_ref(),
                &metrics,
                &ctx,
                &plan.dose.tps_dvhs,
                opts,
            )
        })
        .collect();
    Ok(analysis)
}

/// Everything read from the files of one plan, checked for consistency.
struct ReadPlan {
    dose: radtox_dicom::CombinedDose,
    structures: radtox_model::StructureSet,
    plan: Option<radtox_model::PlanInfo>,
    warnings: Vec<String>,
}

fn read_plan(inputs: &PlanInputs) -> Result<ReadPlan, AnalysisError> {
    if inputs.rtdose.is_empty() {
        return Err(AnalysisError::NoDose);
    }
    let ss_path = inputs
        .rtstruct
        .as_ref()
        .ok_or(AnalysisError::NoStructureSet)?;
    // The files are independent: read them in parallel.
    let (doses, (structures, plan)) = rayon::join(
        || {
            inputs
                .rtdose
                .par_iter()
                .map(|p| radtox_dicom::read_rt_dose(p))
                .collect::<Result<Vec<_>, _>>()
        },
        || {
            rayon::join(
                || radtox_dicom::read_rt_struct(ss_path),
                || {
                    inputs
                        .rtplan
                        .as_ref()
                        .map(|p| radtox_dicom::read_rt_plan(p))
                },
            )
        },
    );
    let dose = radtox_dicom::combine_doses(doses?)?;
    let structures = structures?;
    let plan = plan.transpose()?;
    radtox_dicom::check_same_frame(&dose.info, &structures)?;
    let mut warnings = dose.warnings.clone();
    warnings.extend(structures.warnings.iter().cloned());
    if let Some(p) = &plan {
        warnings.extend(p.warnings.iter().cloned());
    }
    if dose.info.frame_of_reference_uid.is_none() || structures.frame_of_reference_uid.is_none() {
        warnings.push(
            "the frame of reference of the dose or the structure set is unknown: \
             their registration could not be checked"
                .into(),
        );
    }
    Ok(ReadPlan {
        dose,
        structures,
        plan,
        warnings,
    })
}

/// The DVH used for prescription isodose volumes (Paddick CI, gradient index): the
/// external contour when there is one (interpreted type EXTERNAL), otherwise the whole
/// dose grid. Built only when a requested metric needs it.
fn reference_dvh(
    structures: &[Structure],
    dvhs: &[Option<Dvh>],
    grid: &DoseGrid,
    metrics: &[MetricRequest],
    prescription_gy: Option<f64>,
) -> Option<Dvh> {
    if prescription_gy.is_none() || !metrics.iter().any(|m| m.needs_reference()) {
        return None;
    }
    let external = structures
        .iter()
        .position(|s| s.interpreted_type.as_deref() == Some("EXTERNAL"));
    if let Some(d) = external.and_then(|i| dvhs[i].clone()) {
        return Some(d);
    }
    Some(Dvh::from_grid(grid))
}

fn structure_result(
    s: &Structure,
    samples: &StructureSamples,
    dvh: Option<&Dvh>,
    metrics: &[MetricRequest],
    ctx: &MetricContext,
    tps: &[TpsDvh],
    opts: &AnalysisOptions,
) -> StructureResult {
    let empty = s.is_empty();
    let metric_values = metrics
        .iter()
        .map(|m| {
            let name = m.to_string();
            match dvh {
                None if empty => MetricValue::err(&name, "structure has no closed contour"),
                None => MetricValue::err(&name, "structure lies outside the dose grid"),
                Some(d) => match radtox_dose::evaluate(m, d, ctx) {
                    Ok(v) => MetricValue::ok(&name, v),
                    Err(e) => MetricValue::err(&name, e.to_string()),
                },
            }
        })
        .collect();
    let mut warnings = samples.warnings.clone();
    let tps_dvh_check = dvh.and_then(|d| {
        let t = tps.iter().find(|t| t.roi_number == s.roi_number)?;
        let c = radtox_dose::compare_with_tps(d, t)
            .map_err(|e| warnings.push(format!("TPS DVH check not possible: {e}")))
            .ok()?;
        Some(TpsDvhCheck {
            tps_volume_cc: c.tps_volume_cc,
            volume_diff_percent: c.volume_diff_percent,
            tps_mean_gy: c.tps_mean_gy,
            mean_diff_percent: c.mean_diff_percent,
            max_cumulative_deviation_percent: c.max_cumulative_deviation_percent,
            dose_at_max_deviation_gy: c.dose_at_max_deviation_gy,
        })
    });
    let curve = dvh.filter(|_| opts.include_dvh).map(|d| {
        let c = d.cumulative(opts.dvh_bin_width_gy);
        DvhCurve {
            dose_gy: c.dose_gy,
            volume_cc: c.volume_cc,
        }
    });
    StructureResult {
        roi_number: s.roi_number,
        name: s.name.clone(),
        interpreted_type: s.interpreted_type.clone(),
        empty,
        volume_cc: (!empty).then_some(samples.volume_cc),
        volume_in_dose_grid_cc: (!empty).then_some(samples.volume_in_grid_cc),
        sample_count: samples.dose_gy.len(),
        metrics: metric_values,
        dvh: curve,
        tps_dvh_check,
        warnings,
        ..StructureResult::default()
    }
}
