//! The NIfTI input path: a dose volume plus structures given as voxel masks (one label
//! map with a names sidecar, or one mask file per structure) analysed into the same
//! [`Analysis`] document as the DICOM path.
//!
//! Masks keep their own grid; [`radtox_nifti::mask_samples`] resamples each onto the
//! dose grid by volume (every mask voxel split into sub-boxes, each carrying its
//! fraction of the voxel's volume and the trilinear dose at its centre), so a mask on a
//! coarser, finer, flipped or permuted grid gives the same DVH as one on the dose grid.
//!
//! As on the DICOM path: volumes, in-grid volumes, the default or requested metrics,
//! DVH curves, and with a pipeline the TG-263 name mapping, the pipeline's metrics
//! (physical and EQD2/BED with each structure's α/β), the EQD2 DVH, derived structures
//! and the risk rules. Differences, each said in the document's warnings: derived
//! structures are built from the masks' partial volumes on the dose grid's voxels
//! (the DICOM path uses a refined lattice); rule metrics carry no sampling
//! uncertainty; there is no RT Plan (no prescription, fractions from the command line
//! or the pipeline), no site analyses and no courses.

use crate::{AnalysisError, AnalysisOptions, DerivedSpec, Request, alpha_beta_for, unit_requests};
use ndarray::Array3;
use radtox_dose::{Domain, Dvh, LqParams, MetricContext, MetricRequest};
use radtox_geometry::{Lattice, Occupancy};
use radtox_model::{DoseGrid, Structure};
use radtox_nifti::{MaskSamplingOptions, MaskStructure, NiftiDose, NiftiError};
use radtox_report::{
    Analysis, DvhCurve, GridSummary, Inputs, MetricValue, NameDecision, NameMapping, Settings,
    StructureResult,
};
use rayon::prelude::*;
use std::collections::BTreeMap;
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
        slab_thickness_mm: None,
    }
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
            Some(r)
        }
    };
    let alpha_beta_of = |key: &str| alpha_beta_for(opts, key);
    let units = derived_units(
        &structures,
        &plan.masks,
        &tg263,
        resolved.as_ref(),
        &opts.derived,
        grid,
        &mut analysis.warnings,
    )?;
    let requests: Vec<Vec<Request>> = units
        .iter()
        .map(|u| {
            unit_requests(
                &base_metrics,
                resolved.as_ref(),
                u.tg263.as_deref(),
                alpha_beta_of(u.key()),
                fractions,
                laterality,
            )
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
    // Sample every unit: masks by volume on their own grids, derived structures on the
    // dose lattice.
    let sampled: Vec<(Sampled, Option<Dvh>)> = units
        .par_iter()
        .map(|u| {
            let s = u.sample(grid, &mask_opts);
            let dvh = (!s.dose_gy.is_empty()).then(|| Dvh::from_samples(&s.dose_gy, &s.weight_cc));
            (s, dvh)
        })
        .collect();
    let results: Vec<StructureResult> = units
        .par_iter()
        .zip(sampled.par_iter())
        .zip(requests.par_iter())
        .map(|((u, (samples, dvh)), reqs)| {
            let key = u.key();
            let mut warnings = samples.warnings.clone();
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
                        return if samples.empty {
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
            let empty = samples.empty;
            if let Some(n) = &u.note {
                warnings.push(format!("derived structure: {n}"));
            }
            StructureResult {
                roi_number: u.roi_number,
                name: u.name.clone(),
                interpreted_type: None,
                empty,
                volume_cc: (!empty).then_some(samples.volume_cc),
                volume_in_dose_grid_cc: (!empty).then_some(samples.volume_in_grid_cc),
                sample_count: samples.dose_gy.len(),
                metrics,
                dvh: dvh.as_ref().filter(|_| opts.include_dvh).map(curve),
                tg263_name: u
                    .tg263
                    .clone()
                    .filter(|_| opts.pipeline.is_some() || u.derived()),
                derived: u.derived(),
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
    evaluate_flags(
        &mut analysis,
        opts,
        resolved.as_ref(),
        &units,
        &sampled,
        fractions,
        &alpha_beta_of,
    );
    Ok(analysis)
}

/// One row of the output: a mask structure or a structure derived from masks.
struct Unit<'a> {
    name: String,
    tg263: Option<String>,
    roi_number: i32,
    source: Source<'a>,
    note: Option<String>,
}

enum Source<'a> {
    Mask(&'a MaskStructure),
    Derived(Result<Occupancy, String>),
}

impl Unit<'_> {
    /// The name rules and pipelines use: TG-263 when mapped, else as given.
    fn key(&self) -> &str {
        self.tg263.as_deref().unwrap_or(&self.name)
    }

    fn derived(&self) -> bool {
        matches!(self.source, Source::Derived(_))
    }

    fn sample(&self, grid: &DoseGrid, mask_opts: &MaskSamplingOptions) -> Sampled {
        match &self.source {
            Source::Mask(m) => {
                let s = radtox_nifti::mask_samples(m, grid, mask_opts);
                Sampled {
                    dose_gy: s.dose_gy,
                    weight_cc: s.weight_cc,
                    volume_cc: s.volume_cc,
                    volume_in_grid_cc: s.volume_in_grid_cc,
                    warnings: s.warnings,
                    empty: m.is_empty(),
                }
            }
            Source::Derived(Ok(occ)) => {
                let s = radtox_geometry::sample_dose(occ, grid);
                Sampled {
                    dose_gy: s.dose_gy,
                    weight_cc: s.weight_cc,
                    volume_cc: s.volume_cc,
                    volume_in_grid_cc: s.volume_in_grid_cc,
                    warnings: s.warnings,
                    empty: occ.is_empty(),
                }
            }
            Source::Derived(Err(e)) => Sampled {
                warnings: vec![format!("derived '{}' not built: {e}", self.name)],
                empty: true,
                ..Sampled::default()
            },
        }
    }
}

/// Weighted dose samples of a unit, whatever made them.
#[derive(Debug, Default)]
struct Sampled {
    dose_gy: Vec<f32>,
    weight_cc: Vec<f32>,
    volume_cc: f64,
    volume_in_grid_cc: f64,
    warnings: Vec<String>,
    empty: bool,
}

/// The mask units followed by the derived structures (the pipeline's in dependency
/// order, then `--derive`), each built on the dose lattice from the masks' partial
/// volumes. A pipeline's derived structure that cannot be built is a warning; a
/// command-line one is an error, as on the DICOM path.
fn derived_units<'a>(
    structures: &[Structure],
    masks: &'a [MaskStructure],
    tg263: &[Option<String>],
    resolved: Option<&radtox_pipeline::ResolvedPipeline>,
    cli: &[DerivedSpec],
    grid: &DoseGrid,
    warnings: &mut Vec<String>,
) -> Result<Vec<Unit<'a>>, AnalysisError> {
    let mut units: Vec<Unit<'a>> = structures
        .iter()
        .zip(masks)
        .zip(tg263)
        .map(|((s, m), t)| Unit {
            name: s.name.clone(),
            tg263: t.clone(),
            roi_number: s.roi_number,
            source: Source::Mask(m),
            note: None,
        })
        .collect();
    // Names expressions may use: TG-263 names first, then the names as given.
    let mut plan_names: BTreeMap<String, usize> = BTreeMap::new();
    for (i, t) in tg263.iter().enumerate() {
        if let Some(t) = t {
            plan_names.insert(t.clone(), i);
        }
    }
    for (i, s) in structures.iter().enumerate() {
        plan_names.entry(s.name.clone()).or_insert(i);
    }
    let mut specs: Vec<(DerivedSpec, bool)> = resolved
        .map(|r| {
            r.derived
                .iter()
                .map(|d| {
                    (
                        DerivedSpec {
                            name: d.name.clone(),
                            expr: d.expr.clone(),
                            text: String::new(),
                            note: d.note.clone(),
                        },
                        true,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    specs.extend(cli.iter().cloned().map(|d| (d, false)));
    let mut inlined: BTreeMap<String, radtox_pipeline::StructureExpr> = BTreeMap::new();
    let lattice = grid_lattice(grid);
    for (spec, from_pipeline) in specs {
        if plan_names.contains_key(&spec.name) || inlined.contains_key(&spec.name) {
            let why = "a structure of that name exists already";
            if from_pipeline {
                warnings.push(format!("derived '{}' not built: {why}", spec.name));
                continue;
            }
            return Err(AnalysisError::Derived {
                name: spec.name,
                reason: why.into(),
            });
        }
        let e = match crate::derive::inline(&spec.expr, &plan_names, &inlined, &spec.name) {
            Ok(e) => e,
            Err(missing) if from_pipeline => {
                warnings.push(format!(
                    "derived '{}' not built: the plan lacks {}",
                    spec.name,
                    missing.join(", ")
                ));
                continue;
            }
            Err(missing) => {
                return Err(AnalysisError::Derived {
                    name: spec.name,
                    reason: format!(
                        "the plan has no {} (its structures: {})",
                        missing.join(", "),
                        plan_names.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        };
        inlined.insert(spec.name.clone(), e.clone());
        let built = lattice.clone().and_then(|l| {
            let mut leaf_masks: Vec<(&str, &MaskStructure)> = Vec::new();
            for r in e.refs() {
                let m = plan_names
                    .get(r)
                    .and_then(|i| masks.get(*i))
                    .ok_or_else(|| format!("no structure '{r}'"))?;
                leaf_masks.push((r, m));
            }
            // The dose lattice extended (same spacing and phase) to hold every leaf
            // whole: the derived volume is the structure's, not only its in-grid part.
            let l = covering_lattice(&l, leaf_masks.iter().map(|(_, m)| *m))?;
            let mut leaves: BTreeMap<String, Occupancy> = BTreeMap::new();
            for (r, m) in leaf_masks {
                let dense = mask_fractions_on_lattice(m, &l);
                let occ = Occupancy::from_dense(l.clone(), &dense, r).map_err(|e| e.to_string())?;
                leaves.insert(r.to_string(), occ);
            }
            let mut occ = crate::derive::eval_named(&e, &leaves)?;
            occ.name = spec.name.clone();
            occ.roi_number = None;
            Ok(occ)
        });
        units.push(Unit {
            name: spec.name.clone(),
            tg263: Some(spec.name.clone()),
            roi_number: 0,
            source: Source::Derived(built),
            note: Some(
                spec.note
                    .clone()
                    .map(|n| format!("{n} (built from the masks on the dose grid's voxels)"))
                    .unwrap_or_else(|| "built from the masks on the dose grid's voxels".into()),
            ),
        });
    }
    Ok(units)
}

/// The pipeline's risk rules (and with a patient file, the patient-level ones) on the
/// computed DVHs, as the DICOM path does. There is no second sampling here, so a flag
/// carries no sampling uncertainty (said in the warnings).
fn evaluate_flags(
    analysis: &mut Analysis,
    opts: &AnalysisOptions,
    resolved: Option<&radtox_pipeline::ResolvedPipeline>,
    units: &[Unit],
    sampled: &[(Sampled, Option<Dvh>)],
    fractions: Option<u32>,
    alpha_beta_of: &dyn Fn(&str) -> Option<f64>,
) {
    let (rules, timeline) = crate::clinic::rules_and_timeline(analysis, opts, resolved);
    if rules.is_empty() {
        return;
    }
    analysis.warnings.push(
        "NIfTI input: risk-rule metrics carry no sampling uncertainty (no second sampling), so no flag is marked indeterminate for it".into(),
    );
    let covariates = opts
        .patient
        .as_ref()
        .map(|p| p.covariates.clone())
        .unwrap_or_default();
    let ctx = MetricContext {
        prescription_gy: None,
        reference: None,
    };
    let index: BTreeMap<&str, usize> = units
        .iter()
        .enumerate()
        .filter(|(_, u)| u.tg263.is_some())
        .map(|(i, u)| (u.key(), i))
        .collect();
    let lookup = |structure: &str, metric: &str| -> Option<radtox_clinic::MetricValue> {
        let i = *index.get(structure)?;
        let req: MetricRequest = metric.parse().ok()?;
        let dvh = sampled.get(i)?.1.as_ref()?;
        let value = if req.domain() == Domain::Physical {
            radtox_dose::evaluate(&req, dvh, &ctx).ok()?
        } else {
            let p = LqParams::new(fractions?, alpha_beta_of(structure)?, opts.lq_model).ok()?;
            let c = p.convert_dvh(dvh, req.domain()).ok()?;
            radtox_dose::evaluate(&req, &c, &ctx).ok()?
        };
        Some(radtox_clinic::MetricValue {
            value,
            uncertainty: 0.0,
        })
    };
    let flags = radtox_clinic::evaluate(&rules, &lookup, &timeline, &covariates, fractions);
    analysis.flags = flags.iter().map(crate::clinic::report_flag).collect();
    analysis.disclaimer = Some(radtox_clinic::DISCLAIMER.to_string());
}

/// The lattice whose cells are the voxels of a uniform dose grid.
pub fn grid_lattice(grid: &DoseGrid) -> Result<Lattice, String> {
    let step = |v: &[f64], axis: char| -> Result<f64, String> {
        let (Some(first), Some(last)) = (v.first(), v.last()) else {
            return Err(format!("the dose grid has no {axis} positions"));
        };
        if v.len() < 2 {
            return Ok(1.0);
        }
        let s = (last - first) / (v.len() - 1) as f64;
        if v.windows(2).any(|w| ((w[1] - w[0]) - s).abs() > 1e-3) {
            return Err(format!(
                "the dose grid's {axis} spacing is not uniform: its voxels are no lattice"
            ));
        }
        Ok(s)
    };
    let first = |v: &[f64]| v.first().copied().unwrap_or(0.0);
    Lattice::new(
        [first(&grid.x), first(&grid.y), first(&grid.z)],
        [
            step(&grid.x, 'x')?,
            step(&grid.y, 'y')?,
            step(&grid.z, 'z')?,
        ],
        [grid.z.len(), grid.y.len(), grid.x.len()],
    )
    .map_err(|e| e.to_string())
}

/// `lattice` extended by whole cells until it covers every mask's voxel boxes.
fn covering_lattice<'m>(
    lattice: &Lattice,
    masks: impl Iterator<Item = &'m MaskStructure>,
) -> Result<Lattice, String> {
    let [nz, ny, nx] = lattice.dims;
    let n = [nx, ny, nz];
    // Cell-centre index range per axis [x, y, z], as real numbers.
    let mut lo = [0.0f64; 3];
    let mut hi = [0.0f64; 3];
    for a in 0..3 {
        hi[a] = n[a] as f64 - 1.0;
    }
    for m in masks {
        if m.is_empty() {
            continue;
        }
        let [ni, nj, nk] = m.dims;
        for corner in 0..8 {
            let v = [
                if corner & 1 == 0 {
                    -0.5
                } else {
                    ni as f64 - 0.5
                },
                if corner & 2 == 0 {
                    -0.5
                } else {
                    nj as f64 - 0.5
                },
                if corner & 4 == 0 {
                    -0.5
                } else {
                    nk as f64 - 0.5
                },
            ];
            let af = m.affine;
            for a in 0..3 {
                let p = af[a][0] * v[0] + af[a][1] * v[1] + af[a][2] * v[2] + af[a][3];
                // Cell i holds (i − ½, i + ½): the open voxel box needs the cells from
                // the one holding just inside its low corner to the one just inside
                // its high corner (a corner on a cell face adds no empty cell).
                let idx = (p - lattice.origin[a]) / lattice.spacing[a];
                lo[a] = lo[a].min((idx + 0.5 + 1e-9).floor());
                hi[a] = hi[a].max((idx - 0.5 - 1e-9).ceil());
            }
        }
    }
    let origin: [f64; 3] = [0, 1, 2].map(|a| lattice.origin[a] + lo[a] * lattice.spacing[a]);
    let count = |a: usize| (hi[a] - lo[a]).round() as usize + 1;
    Lattice::new(origin, lattice.spacing, [count(2), count(1), count(0)])
        .map_err(|e| format!("the lattice holding its structures: {e}"))
}

/// A mask's fractions on a lattice (`[nz, ny, nx]`): every mask voxel is split into
/// sub-boxes (at most half a lattice cell wide, at most 8 per axis), each adds its share
/// of volume to the cell holding its centre. The total volume inside the lattice is
/// conserved exactly; its split between neighbouring cells is exact when cell faces fall
/// on sub-box faces (same grid, or shifts by half a voxel) and otherwise right to within
/// one sub-box per cell face.
pub fn mask_fractions_on_lattice(mask: &MaskStructure, lattice: &Lattice) -> Array3<f32> {
    let [nz, ny, nx] = lattice.dims;
    let mut acc = Array3::<f64>::zeros((nz, ny, nx));
    let a = mask.affine;
    let col = |c: usize| (a[0][c].powi(2) + a[1][c].powi(2) + a[2][c].powi(2)).sqrt();
    let finest = lattice
        .spacing
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let n: [usize; 3] =
        [0, 1, 2].map(|c| ((col(c) / (finest / 2.0) - 1e-9).ceil() as usize).clamp(1, 8));
    let offsets =
        |m: usize| -> Vec<f64> { (0..m).map(|s| (s as f64 + 0.5) / m as f64 - 0.5).collect() };
    let (ou, ov, ow) = (offsets(n[0]), offsets(n[1]), offsets(n[2]));
    let share = 1.0 / (n[0] * n[1] * n[2]) as f64;
    let voxel_ratio = mask.voxel_volume_mm3() / lattice.spacing.iter().product::<f64>();
    let cell = |p: f64, axis: usize, len: usize| -> Option<usize> {
        let i = ((p - lattice.origin[axis]) / lattice.spacing[axis]).round();
        (i >= 0.0 && (i as usize) < len).then_some(i as usize)
    };
    for &(lin, f) in &mask.fraction {
        let [i, j, k] = mask.voxel_index(lin);
        let w = f64::from(f) * share * voxel_ratio;
        for &dw in &ow {
            for &dv in &ov {
                for &du in &ou {
                    let v = [i as f64 + du, j as f64 + dv, k as f64 + dw];
                    let p: [f64; 3] = [0, 1, 2]
                        .map(|r| a[r][0] * v[0] + a[r][1] * v[1] + a[r][2] * v[2] + a[r][3]);
                    if let (Some(ix), Some(iy), Some(iz)) =
                        (cell(p[0], 0, nx), cell(p[1], 1, ny), cell(p[2], 2, nz))
                        && let Some(c) = acc.get_mut((iz, iy, ix))
                    {
                        *c += w;
                    }
                }
            }
        }
    }
    // Rounding can push a fully covered cell a hair above 1.
    acc.mapv(|v| v.clamp(0.0, 1.0) as f32)
}

/// True when `path` looks like a NIfTI file by name (`.nii`, `.nii.gz`).
pub fn is_nifti_path(path: &Path) -> bool {
    let n = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    n.ends_with(".nii") || n.ends_with(".nii.gz")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(x: Vec<f64>) -> DoseGrid {
        let n = x.len();
        DoseGrid::new(x, vec![0.0], vec![0.0], Array3::zeros((1, 1, n))).unwrap()
    }

    #[test]
    fn mask_arguments() {
        let (n, p) = parse_mask_arg("PTV 1=/a/b=c.nii").unwrap();
        assert_eq!((n.as_str(), p), ("PTV 1", PathBuf::from("/a/b=c.nii")));
        for bad in ["ptv.nii", "=ptv.nii", "PTV="] {
            let e = parse_mask_arg(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn inputs_need_structures_and_names_need_labels() {
        let none = NiftiInputs {
            dose: "d.nii".into(),
            ..NiftiInputs::default()
        };
        assert!(matches!(none.read(), Err(NiftiInputError::NoStructures)));
        let names_only = NiftiInputs {
            label_names: Some("n.json".into()),
            masks: vec![("A".into(), "a.nii".into())],
            ..none
        };
        assert!(matches!(
            names_only.read(),
            Err(NiftiInputError::NamesWithoutLabels(_))
        ));
    }

    #[test]
    fn grid_lattice_is_the_voxel_grid_and_refuses_uneven_spacing() {
        let l = grid_lattice(&grid(vec![-4.0, -2.0, 0.0, 2.0])).unwrap();
        assert_eq!(l.origin, [-4.0, 0.0, 0.0]);
        assert_eq!(l.spacing[0], 2.0);
        assert_eq!(l.dims, [1, 1, 4]);
        let e = grid_lattice(&grid(vec![0.0, 2.0, 5.0])).unwrap_err();
        assert!(e.contains("not uniform"), "{e}");
    }

    #[test]
    fn covering_lattice_grows_by_whole_cells_to_hold_a_mask() {
        let g = DoseGrid::new(
            vec![0.0, 2.0, 4.0],
            vec![0.0, 2.0],
            vec![0.0, 2.0],
            Array3::zeros((2, 2, 3)),
        )
        .unwrap();
        let l = grid_lattice(&g).unwrap();
        // One 2 mm voxel centred at x = 9 spans 8..10: cell centres up to 10 are needed.
        let m = MaskStructure {
            name: "m".into(),
            label: None,
            affine: [
                [2.0, 0.0, 0.0, 9.0],
                [0.0, 2.0, 0.0, 0.0],
                [0.0, 0.0, 2.0, 0.0],
                [0.0, 0.0, 0.0, 1.0],
            ],
            dims: [1, 1, 1],
            fraction: vec![(0, 1.0)],
            warnings: Vec::new(),
        };
        let c = covering_lattice(&l, std::iter::once(&m)).unwrap();
        assert_eq!(c.origin, [0.0, 0.0, 0.0]);
        assert_eq!(c.dims, [2, 2, 6]); // x: 0, 2, …, 10; y and z unchanged
        let f = mask_fractions_on_lattice(&m, &c);
        // Half in the cell at 8 (7..9), half in the cell at 10 (9..11): volume kept.
        let row: Vec<f32> = f.slice(ndarray::s![0, 0, ..]).to_vec();
        assert_eq!(row, [0.0, 0.0, 0.0, 0.0, 0.5, 0.5]);
        assert_eq!(f.sum(), 1.0);
    }
}
