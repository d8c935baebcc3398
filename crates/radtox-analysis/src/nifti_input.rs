//! The NIfTI input path: a dose volume plus structures given as voxel masks (one label
//! map with a names sidecar, or one mask file per structure) analysed into the same
//! [`Analysis`] document as the DICOM path.
//!
//! Masks keep their own grid; [`radtox_nifti::mask_samples`] resamples each onto the
//! dose grid by volume (every mask voxel split into sub-boxes, each carrying its
//! fraction of the voxel's volume and the trilinear dose at its centre), so a mask on a
//! coarser, finer, flipped or permuted grid gives the same DVH as one on the dose grid.
//!
//! What matches the DICOM path: volumes, in-grid volumes, the default or requested
//! metrics, DVH curves, and with a pipeline the TG-263 name mapping, the pipeline's
//! metrics (physical and EQD2/BED with each structure's α/β) and the EQD2 DVH.
//! What does not (yet): derived structures and risk rules need contour structures or
//! internals of [`crate::analyze`]; they are reported as warnings in the document,
//! never silently dropped.

use crate::{AnalysisError, AnalysisOptions};
use radtox_dose::{Domain, Dvh, LqParams, MetricContext, MetricRequest};
use radtox_model::Structure;
use radtox_nifti::{MaskSamplingOptions, MaskStructure, NiftiDose, NiftiError};
use radtox_report::{
    Analysis, DvhCurve, GridSummary, Inputs, MetricValue, NameDecision, NameMapping, Settings,
    StructureResult,
};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The files of one NIfTI "plan": a dose volume and structure masks.
#[derive(Debug, Clone, Default)]
pub struct NiftiInputs {
    /// Dose volume in Gy (`.nii` / `.nii.gz`, any datatype, scl_slope/scl_inter applied).
    pub dose: PathBuf,
    /// One label map (integer labels, 0 = background).
    pub labels: Option<PathBuf>,
    /// Names of the label values (JSON, `value name` text lines, colour tables, ITK-SNAP).
    /// Without it, structures are named `label_<value>`.
    pub label_names: Option<PathBuf>,
    /// One mask per structure: (name, file), binary or fractional.
    pub masks: Vec<(String, PathBuf)>,
}

/// Why the NIfTI input could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum NiftiInputError {
    #[error(transparent)]
    Nifti(#[from] NiftiError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(
        "no structures: give --nifti-labels FILE (with --label-names FILE) or --nifti-mask NAME=FILE"
    )]
    NoStructures,
    #[error("--label-names {0} given without --nifti-labels")]
    NamesWithoutLabels(PathBuf),
    #[error("--nifti-mask {arg:?}: {reason}")]
    BadMaskArg { arg: String, reason: String },
    #[error("structure name '{name}' is given twice ({first} and {second})")]
    DuplicateName {
        name: String,
        first: String,
        second: String,
    },
}

/// Parse `NAME=FILE` (the name may not be empty; the first `=` separates).
pub fn parse_mask_arg(arg: &str) -> Result<(String, PathBuf), NiftiInputError> {
    let bad = |reason: &str| NiftiInputError::BadMaskArg {
        arg: arg.to_string(),
        reason: reason.to_string(),
    };
    let (name, file) = arg
        .split_once('=')
        .ok_or_else(|| bad("expected NAME=FILE"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(bad("the structure name before '=' is empty"));
    }
    if file.trim().is_empty() {
        return Err(bad("the file after '=' is empty"));
    }
    Ok((name.to_string(), PathBuf::from(file.trim())))
}

/// A NIfTI plan read into memory: the dose and every structure's mask.
#[derive(Debug, Clone)]
pub struct NiftiPlan {
    pub dose: NiftiDose,
    /// Label-map structures (label order) first, then the single masks (argument order).
    pub masks: Vec<MaskStructure>,
}

impl NiftiInputs {
    /// Read the dose and every mask; names must be unique.
    pub fn read(&self) -> Result<NiftiPlan, NiftiInputError> {
        if self.labels.is_none() && self.masks.is_empty() {
            return Err(NiftiInputError::NoStructures);
        }
        if let (None, Some(n)) = (&self.labels, &self.label_names) {
            return Err(NiftiInputError::NamesWithoutLabels(n.clone()));
        }
        let dose = radtox_nifti::read_dose(&self.dose)?;
        let mut masks: Vec<MaskStructure> = Vec::new();
        let mut origin: Vec<String> = Vec::new();
        if let Some(l) = &self.labels {
            let names = match &self.label_names {
                Some(n) => radtox_nifti::read_label_names(n)?,
                None => radtox_nifti::LabelNames::default(),
            };
            for m in radtox_nifti::read_label_map(l, &names)? {
                origin.push(format!("label {} of {}", m.label.unwrap_or(0), l.display()));
                masks.push(m);
            }
        }
        let singles: Vec<Result<MaskStructure, NiftiError>> = self
            .masks
            .par_iter()
            .map(|(name, path)| radtox_nifti::read_mask(path, name))
            .collect();
        for (m, (_, path)) in singles.into_iter().zip(&self.masks) {
            masks.push(m?);
            origin.push(path.display().to_string());
        }
        for (i, m) in masks.iter().enumerate() {
            if let Some(j) = masks.iter().take(i).position(|o| o.name == m.name) {
                return Err(NiftiInputError::DuplicateName {
                    name: m.name.clone(),
                    first: origin.get(j).cloned().unwrap_or_default(),
                    second: origin.get(i).cloned().unwrap_or_default(),
                });
            }
        }
        Ok(NiftiPlan { dose, masks })
    }
}

/// How a NIfTI structure is described to the name mapper: a contour-less
/// [`Structure`] (the mapper reads names only).
fn named_structure(i: usize, m: &MaskStructure) -> Structure {
    Structure {
        roi_number: m
            .label
            .and_then(|l| i32::try_from(l).ok())
            .unwrap_or(i as i32 + 1),
        name: m.name.clone(),
        interpreted_type: None,
        color: None,
        planes: Vec::new(),
        ignored: Vec::new(),
    }
}

/// A metric to evaluate on one structure with the α/β it needs.
struct Request {
    name: String,
    req: Result<MetricRequest, String>,
    alpha_beta: Option<f64>,
}

/// Analyse a NIfTI plan: the NIfTI counterpart of [`crate::analyze`].
///
/// Fractions for EQD2/BED: `opts.fractions_override`, else the pipeline's
/// `[fractionation]` policy (there is no RT Plan). `opts.courses` and `opts.derived`
/// are DICOM-only and rejected with a warning.
pub fn analyze_nifti(
    inputs: &NiftiInputs,
    opts: &AnalysisOptions,
) -> Result<Analysis, NiftiInputError> {
    let plan = inputs.read()?;
    Ok(analyze_nifti_plan(&plan, inputs, opts)?)
}

/// [`analyze_nifti`] on a plan already read (e.g. to reuse the masks for export).
pub fn analyze_nifti_plan(
    plan: &NiftiPlan,
    inputs: &NiftiInputs,
    opts: &AnalysisOptions,
) -> Result<Analysis, AnalysisError> {
    let grid = &plan.dose.grid;
    let mut analysis = Analysis::new(env!("CARGO_PKG_VERSION"));
    let structure_files: Vec<String> = inputs
        .labels
        .iter()
        .map(|p| p.display().to_string())
        .chain(
            inputs
                .masks
                .iter()
                .map(|(n, p)| format!("{n}={}", p.display())),
        )
        .collect();
    analysis.inputs = Inputs {
        rtdose: vec![inputs.dose.display().to_string()],
        rtstruct: Some(structure_files.join(", ")),
        rtplan: None,
        dose_summation: format!(
            "NIfTI dose volume (affine from the {:?})",
            plan.dose.affine_source
        ),
        discovery_notes: Vec::new(),
    };
    analysis.warnings.extend(plan.dose.warnings.iter().cloned());
    analysis.dose_grid = Some(GridSummary {
        dims: [grid.x.len(), grid.y.len(), grid.z.len()],
        spacing_mm: grid.mean_spacing(),
        max_dose_gy: f64::from(grid.max_dose()),
        dose_units: "GY".into(),
        frame_of_reference_uid: None,
    });
    let base_metrics = if opts.metrics.is_empty() {
        radtox_dose::default_metrics()
    } else {
        opts.metrics.clone()
    };
    analysis.settings = Settings {
        end_caps: "mask voxels (no end caps)".into(),
        min_samples_per_structure: 0,
        dvh_bin_width_gy: opts.dvh_bin_width_gy,
        metrics_requested: base_metrics.iter().map(|m| m.to_string()).collect(),
    };
    if !opts.courses.is_empty() {
        analysis
            .warnings
            .push("--course is not supported with NIfTI input: ignored".into());
    }
    if !opts.derived.is_empty() {
        analysis.warnings.push(
            "derived structures (--derive) are not built from NIfTI masks yet: ignored".into(),
        );
    }

    let (fractions, fx_source) = match (opts.fractions_override, &opts.pipeline) {
        (Some(n), _) => (Some(n), "command line".to_string()),
        (None, Some(p)) => match p.fractions_for(None) {
            Some((n, s)) => (Some(n), s.to_string()),
            None => (None, "unknown".into()),
        },
        (None, None) => (None, "unknown".into()),
    };
    let laterality = opts
        .patient
        .as_ref()
        .and_then(|p| p.covariates.laterality)
        .and_then(|l| match l {
            radtox_clinic::Laterality::Left => Some(radtox_pipeline::Laterality::Left),
            radtox_clinic::Laterality::Right => Some(radtox_pipeline::Laterality::Right),
            radtox_clinic::Laterality::Bilateral => None,
        });

    // Name mapping and pipeline metrics, as in the DICOM path.
    let structures: Vec<Structure> = plan
        .masks
        .iter()
        .enumerate()
        .map(|(i, m)| named_structure(i, m))
        .collect();
    let mut tg263: Vec<Option<String>> = vec![None; structures.len()];
    let resolved = match &opts.pipeline {
        None => None,
        Some(p) => {
            analysis.pipeline = Some(format!("{} ({})", p.name, p.source.display()));
            let report = radtox_pipeline::map_structures(&structures, &p.names);
            for (slot, d) in tg263.iter_mut().zip(&report.decisions) {
                *slot = d.tg263.clone();
            }
            for d in report.decisions.iter().filter(|d| d.tg263.is_none()) {
                analysis.warnings.push(format!(
                    "structure '{}' not mapped to TG-263 ({}): reported with its physical metrics under its own name",
                    d.original, d.rule
                ));
            }
            analysis.name_mapping = Some(NameMapping {
                decisions: report
                    .decisions
                    .iter()
                    .map(|d| NameDecision {
                        original: d.original.clone(),
                        tg263: d.tg263.clone(),
                        rule: d.rule.clone(),
                    })
                    .collect(),
                unmapped: report.unmapped.clone(),
                ambiguous: report.ambiguous.clone(),
            });
            let r = p.resolve(&report.tg263_names())?;
            analysis.warnings.extend(r.warnings.iter().cloned());
            if !r.derived.is_empty() {
                analysis.warnings.push(format!(
                    "derived structures of the pipeline not built from NIfTI masks: {}",
                    r.derived
                        .iter()
                        .map(|d| d.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !r.rules.is_empty() {
                analysis
                    .warnings
                    .push("risk rules are not evaluated on NIfTI input yet: no flags".into());
            }
            Some(r)
        }
    };
    let alpha_beta_of = |key: &str| -> Option<f64> {
        opts.pipeline
            .as_ref()
            .and_then(|p| p.alpha_beta_for(key))
            .map(|c| c.value)
            .or(opts.alpha_beta_default)
    };
    let keys: Vec<String> = structures
        .iter()
        .zip(&tg263)
        .map(|(s, t)| t.clone().unwrap_or_else(|| s.name.clone()))
        .collect();
    let requests: Vec<Vec<Request>> = keys
        .iter()
        .zip(&tg263)
        .map(|(key, t)| {
            let ab = alpha_beta_of(key);
            let mut out: Vec<Request> = base_metrics
                .iter()
                .map(|m| Request {
                    name: m.to_string(),
                    req: Ok(*m),
                    alpha_beta: ab,
                })
                .collect();
            if let (Some(r), Some(t)) = (&resolved, t.as_deref()) {
                for m in r.metrics.iter().filter(|m| m.structure == t) {
                    if !m
                        .when
                        .as_ref()
                        .is_none_or(|w| w.applies(fractions, laterality))
                    {
                        continue;
                    }
                    let parsed: Result<MetricRequest, String> = m
                        .metric
                        .parse()
                        .map_err(|e: radtox_dose::MetricParseError| e.to_string());
                    let canonical = parsed
                        .as_ref()
                        .map(|p| p.to_string())
                        .unwrap_or_else(|_| m.metric.clone());
                    let m_ab = m.alpha_beta.as_ref().map(|c| c.value).or(ab);
                    let is_lq = parsed
                        .as_ref()
                        .is_ok_and(|p| p.domain() != Domain::Physical);
                    let name = if is_lq && m_ab != ab {
                        format!("{canonical} (α/β={} Gy)", m_ab.unwrap_or(f64::NAN))
                    } else {
                        canonical
                    };
                    if out.iter().any(|o| o.name == name) {
                        continue;
                    }
                    out.push(Request {
                        name,
                        req: parsed,
                        alpha_beta: m_ab,
                    });
                }
            }
            out
        })
        .collect();
    let fx_text = match fractions {
        Some(n) => format!("{n} fx ({fx_source})"),
        None => "fractions unknown".into(),
    };
    let model_text = |domain: Domain, ab: f64| -> String {
        let d = if domain == Domain::Bed { "BED" } else { "EQD2" };
        match opts.lq_model {
            radtox_dose::LqModel::Lq => format!("{d} LQ α/β={ab} Gy, {fx_text}"),
            radtox_dose::LqModel::Lql {
                transition_dose_per_fraction_gy: t,
            } => format!("{d} LQ-L d_T={t} Gy α/β={ab} Gy, {fx_text}"),
        }
    };

    // Sample every mask on the dose grid by volume, then histogram and evaluate.
    let mask_opts = MaskSamplingOptions::default();
    let ctx = MetricContext {
        prescription_gy: None,
        reference: None,
    };
    let curve = |d: &Dvh| {
        let c = d.cumulative(opts.dvh_bin_width_gy);
        DvhCurve {
            dose_gy: c.dose_gy,
            volume_cc: c.volume_cc,
        }
    };
    let results: Vec<StructureResult> = plan
        .masks
        .par_iter()
        .zip(structures.par_iter())
        .zip(tg263.par_iter())
        .zip(requests.par_iter())
        .zip(keys.par_iter())
        .map(|((((mask, s), t), reqs), key)| {
            let samples = radtox_nifti::mask_samples(mask, grid, &mask_opts);
            let mut warnings = samples.warnings.clone();
            let dvh = (!samples.dose_gy.is_empty())
                .then(|| Dvh::from_samples(&samples.dose_gy, &samples.weight_cc));
            let unit_ab = alpha_beta_of(key).filter(|_| fractions.is_some());
            let convert = |ab: f64, domain: Domain| -> Result<Dvh, String> {
                let n = fractions.ok_or_else(|| {
                    "the number of fractions is unknown (give --fractions N)".to_string()
                })?;
                let d = dvh.as_ref().ok_or("no samples")?;
                let p = LqParams::new(n, ab, opts.lq_model).map_err(|e| e.to_string())?;
                p.convert_dvh(d, domain).map_err(|e| e.to_string())
            };
            let metrics: Vec<MetricValue> = reqs
                .iter()
                .map(|r| {
                    let name = r.name.as_str();
                    let m = match &r.req {
                        Ok(m) => m,
                        Err(e) => return MetricValue::err(name, e.clone()),
                    };
                    let Some(d) = dvh.as_ref() else {
                        return if mask.is_empty() {
                            MetricValue::err(name, "structure has no voxel in its mask")
                        } else {
                            MetricValue::err(name, "structure lies outside the dose grid")
                        };
                    };
                    if m.domain() == Domain::Physical {
                        return match radtox_dose::evaluate(m, d, &ctx) {
                            Ok(v) => MetricValue::ok(name, v),
                            Err(e) => MetricValue::err(name, e.to_string()),
                        };
                    }
                    let Some(ab) = r.alpha_beta else {
                        return MetricValue::err(
                            name,
                            format!(
                                "{name} needs the α/β of '{key}': no [alpha_beta] entry of the pipeline applies (give a pipeline or --alpha-beta GY)"
                            ),
                        );
                    };
                    match convert(ab, m.domain()) {
                        Ok(c) => match radtox_dose::evaluate(m, &c, &ctx) {
                            Ok(v) => MetricValue::ok(name, v),
                            Err(e) => MetricValue::err(name, e.to_string()),
                        },
                        Err(e) => MetricValue::err(name, format!("{name}: {e}")),
                    }
                })
                .collect();
            let eqd2_dvh = match (unit_ab, opts.include_dvh, dvh.is_some()) {
                (Some(ab), true, true) => match convert(ab, Domain::Eqd2) {
                    Ok(c) => Some(curve(&c)),
                    Err(e) => {
                        warnings.push(format!("EQD2 DVH not computed: {e}"));
                        None
                    }
                },
                _ => None,
            };
            let empty = mask.is_empty();
            StructureResult {
                roi_number: s.roi_number,
                name: s.name.clone(),
                interpreted_type: None,
                empty,
                volume_cc: (!empty).then_some(samples.volume_cc),
                volume_in_dose_grid_cc: (!empty).then_some(samples.volume_in_grid_cc),
                sample_count: samples.dose_gy.len(),
                metrics,
                dvh: dvh.as_ref().filter(|_| opts.include_dvh).map(curve),
                tg263_name: t.clone().filter(|_| opts.pipeline.is_some()),
                derived: false,
                eqd2_dvh,
                eqd2_model: unit_ab.map(|ab| model_text(Domain::Eqd2, ab)),
                tps_dvh_check: None,
                warnings,
            }
        })
        .collect();
    let mut models: Vec<String> = results
        .iter()
        .filter_map(|r| r.eqd2_model.clone())
        .collect();
    for r in requests.iter().flatten() {
        if let (Ok(m), Some(ab), Some(_)) = (&r.req, r.alpha_beta, fractions)
            && m.domain() != Domain::Physical
        {
            models.push(model_text(m.domain(), ab));
        }
    }
    models.sort();
    models.dedup();
    analysis.dose_models = models;
    analysis.structures = results;
    Ok(analysis)
}

/// True when `path` looks like a NIfTI file by name (`.nii`, `.nii.gz`).
pub fn is_nifti_path(path: &Path) -> bool {
    let n = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    n.ends_with(".nii") || n.ends_with(".nii.gz")
}
