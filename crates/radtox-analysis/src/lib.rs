//! # radtox-analysis
//!
//! The analysis of one plan export, end to end and in one direction:
//!
//! ```text
//! files ─read─▶ DoseGrid + StructureSet + PlanInfo ─map names (pipeline)─▶ TG-263 names
//!       ─sample─▶ weighted dose samples (+ derived structures on common lattices)
//!       ─histogram─▶ Dvh (physical, EQD2/BED) ─metrics─▶ TG-263 values (+ TPS DVH check)
//!       ─rules (pipeline + patient file)─▶ flags ─▶ radtox_report::Analysis
//! ```
//!
//! The binary (`radtox analyze`) and batch mode call [`analyze`], which reads the files
//! ([`read_plan`]) and analyses the plan in memory ([`analyze_plan`]). The NIfTI input
//! ([`analyze_nifti`]) traces its masks into contours and calls [`analyze_plan`] too, so
//! both inputs get every output from one code path. Nothing here parses arguments or
//! prints.
//!
//! * **Without a pipeline** every structure gets the default (or requested) metrics, as
//!   contoured, under its own name.
//! * **With a pipeline** ([`load_pipeline`]) names are mapped to TG-263 (every decision
//!   is reported; unmapped and ambiguous structures keep their physical metrics), the
//!   pipeline's derived structures are built ([`DerivedSpec`]; also from the command
//!   line), its metrics are computed in the physical and EQD2/BED domains with the α/β of
//!   each structure, and its risk rules are evaluated with the patient file's timeline
//!   and covariates ([`load_patient`]).
//! * **EQD2/BED** is converted sample by sample with n = `fractions_override`, else the
//!   pipeline's `[fractionation]` policy, else the RT Plan. Several courses with their own
//!   fractionation ([`Course`]) are converted voxel by voxel, resampled onto the first
//!   course's grid and summed.
//!
//! ```no_run
//! use radtox_analysis::{analyze, load_pipeline, AnalysisOptions, PlanInputs};
//! let inputs = PlanInputs::from_dir("fixtures/brain-srs".as_ref()).unwrap();
//! let opts = AnalysisOptions {
//!     pipeline: Some(load_pipeline("pipelines/brain-srs.toml".as_ref()).unwrap()),
//!     ..AnalysisOptions::default()
//! };
//! let analysis = analyze(&inputs, &opts).unwrap();
//! for s in &analysis.structures {
//!     println!("{} {:?} {:?} cc", s.name, s.tg263_name, s.volume_cc);
//! }
//! ```
//!
//! ```
//! // Command-line pieces parse into options:
//! use radtox_analysis::{Course, DerivedSpec, parse_lq_model, LqModel};
//! let d = DerivedSpec::parse("Brain-GTV = Brain - union(GTV*)").unwrap();
//! assert_eq!(d.name, "Brain-GTV");
//! let c = Course::parse("course2/rtdose.dcm:5").unwrap();
//! assert_eq!(c.fractions, 5);
//! assert_eq!(
//!     parse_lq_model("lql:6").unwrap(),
//!     LqModel::Lql { transition_dose_per_fraction_gy: 6.0 }
//! );
//! ```

mod clinic;
mod courses;
mod derive;
mod nifti_input;
pub use nifti_input::*;

pub use courses::Course;
pub use derive::DerivedSpec;
pub use radtox_clinic::PatientFile;
pub use radtox_dose::LqModel;
pub use radtox_pipeline::Pipeline;

use radtox_dose::{CellHistogram, Domain, Dvh, LqParams, MetricContext, MetricRequest};
use radtox_geometry::{CellSink, Lattice, Occupancy, SamplingOptions, StructureSamples};
use radtox_model::{DoseGrid, Structure, TpsDvh};
use radtox_report::{
    Analysis, DvhCurve, GridSummary, Inputs, MetricValue, NameDecision, NameMapping, PlanSummary,
    Settings, StructureResult, TpsDvhCheck,
};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The files of one plan.
#[derive(Debug, Clone, Default)]
pub struct PlanInputs {
    pub rtdose: Vec<PathBuf>,
    pub rtstruct: Option<PathBuf>,
    pub rtplan: Option<PathBuf>,
    /// CT slices of the plan: used for a bone-marrow surrogate (HU threshold inside the
    /// body) when no bone is contoured.
    pub ct: Vec<PathBuf>,
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
            ct: export.ct,
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
    /// Name mapping, derived structures, metrics, α/β and rules.
    pub pipeline: Option<Pipeline>,
    /// T-DM1 dates, RT courses and covariates for the risk rules.
    pub patient: Option<PatientFile>,
    /// LQ (default) or LQ-L for EQD2/BED.
    pub lq_model: LqModel,
    /// Number of fractions for EQD2/BED and the rules, overriding plan and pipeline.
    pub fractions_override: Option<u32>,
    /// α/β (Gy) for structures the pipeline gives none (or without a pipeline).
    pub alpha_beta_default: Option<f64>,
    /// Derived structures besides the pipeline's (`--derive "NAME = EXPR"`).
    pub derived: Vec<DerivedSpec>,
    /// Separate courses with their own fractionation, summed in EQD2/BED voxel by voxel.
    /// When given, they replace [`PlanInputs::rtdose`].
    pub courses: Vec<Course>,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            metrics: Vec::new(),
            sampling: SamplingOptions::default(),
            dvh_bin_width_gy: 0.01,
            include_dvh: true,
            pipeline: None,
            patient: None,
            lq_model: LqModel::Lq,
            fractions_override: None,
            alpha_beta_default: None,
            derived: Vec::new(),
            courses: Vec::new(),
        }
    }
}

/// Why a plan could not be analysed. Each variant's message names the file and, where
/// it applies, the tag, line or structure and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Dicom(#[from] radtox_dicom::DicomError),
    #[error("no RT Dose file given")]
    NoDose,
    #[error("no RT Structure Set given")]
    NoStructureSet,
    /// A pipeline file that does not load (each problem as `file:line:column: …`).
    #[error("{0}")]
    Pipeline(#[from] radtox_pipeline::PipelineError),
    #[error("patient file {0}")]
    Patient(#[from] radtox_clinic::PatientError),
    #[error("--derive {arg:?}: {reason}")]
    BadDerive { arg: String, reason: String },
    #[error("--course {arg:?}: {reason}")]
    BadCourse { arg: String, reason: String },
    #[error("LQ model {arg:?}: {reason}")]
    BadLqModel { arg: String, reason: String },
    #[error(
        "course dose {file}: frame of reference {found} differs from the first course's {expected}; courses can only be summed in one frame"
    )]
    CourseFrame {
        file: PathBuf,
        expected: String,
        found: String,
    },
    #[error("derived structure '{name}': {reason}")]
    Derived { name: String, reason: String },
    #[error(
        "courses and --rtdose files cannot be mixed: give every dose as a --course FILE:FRACTIONS"
    )]
    CoursesAndDoses,
}

/// Load a pipeline, checking its metric strings with radtox-dose's TG-263 parser.
pub fn load_pipeline(path: &Path) -> Result<Pipeline, AnalysisError> {
    let check = |m: &str| {
        m.parse::<MetricRequest>()
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    Ok(Pipeline::load(path, &check)?)
}

/// Load a patient file (`radtox-patient/1`, TOML or JSON).
pub fn load_patient(path: &Path) -> Result<PatientFile, AnalysisError> {
    Ok(PatientFile::load(path)?)
}

/// `lq`, or `lql:D_T` (LQ-L with transition dose per fraction D_T Gy).
pub fn parse_lq_model(text: &str) -> Result<LqModel, AnalysisError> {
    let bad = |reason: &str| AnalysisError::BadLqModel {
        arg: text.to_string(),
        reason: reason.to_string(),
    };
    let t = text.trim().to_ascii_lowercase();
    if t == "lq" {
        return Ok(LqModel::Lq);
    }
    let d = t
        .strip_prefix("lql:")
        .or_else(|| t.strip_prefix("lq-l:"))
        .ok_or_else(|| bad("expected 'lq' or 'lql:D_T' (D_T in Gy, e.g. lql:6)"))?;
    let v: f64 = d
        .trim()
        .parse()
        .map_err(|_| bad("the transition dose after ':' is not a number"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(bad("the transition dose must be a positive number of Gy"));
    }
    Ok(LqModel::Lql {
        transition_dose_per_fraction_gy: v,
    })
}

/// How a model is named in reports: "EQD2 LQ α/β=2 Gy, 1 fx".
fn model_text(domain: Domain, ab: f64, model: LqModel, fx: &str) -> String {
    let d = if domain == Domain::Bed { "BED" } else { "EQD2" };
    match model {
        LqModel::Lq => format!("{d} LQ α/β={ab} Gy, {fx}"),
        LqModel::Lql {
            transition_dose_per_fraction_gy: t,
        } => format!("{d} LQ-L d_T={t} Gy α/β={ab} Gy, {fx}"),
    }
}

/// One row of the output: a plan structure or a derived one.
struct Unit<'a> {
    name: String,
    tg263: Option<String>,
    plan: Option<&'a Structure>,
    derived: Option<Result<Occupancy, String>>,
    /// A derived structure's expression over plan structures only.
    expr: Option<radtox_pipeline::StructureExpr>,
    note: Option<String>,
}

impl Unit<'_> {
    /// The name rules and pipelines use: TG-263 when mapped, else as written.
    fn key(&self) -> &str {
        self.tg263.as_deref().unwrap_or(&self.name)
    }
}

/// A metric to evaluate on one unit, with the α/β it needs (EQD2/BED).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) name: String,
    pub(crate) req: Result<MetricRequest, String>,
    pub(crate) alpha_beta: Option<f64>,
}

/// α/β (Gy) of a structure: the pipeline's table, else `--alpha-beta`.
pub(crate) fn alpha_beta_for(opts: &AnalysisOptions, key: &str) -> Option<f64> {
    opts.pipeline
        .as_ref()
        .and_then(|p| p.alpha_beta_for(key))
        .map(|c| c.value)
        .or(opts.alpha_beta_default)
}

/// The metrics one structure computes: the base set at the structure's α/β, then the
/// pipeline's metrics for its TG-263 name whose `when` holds. A pipeline metric at
/// another α/β than the structure's is named with it; duplicates are dropped.
pub(crate) fn unit_requests(
    base_metrics: &[MetricRequest],
    resolved: Option<&radtox_pipeline::ResolvedPipeline>,
    tg263: Option<&str>,
    ab: Option<f64>,
    fractions: Option<u32>,
    laterality: Option<radtox_pipeline::Laterality>,
) -> Vec<Request> {
    let mut out: Vec<Request> = base_metrics
        .iter()
        .map(|m| Request {
            name: m.to_string(),
            req: Ok(*m),
            alpha_beta: ab,
        })
        .collect();
    let (Some(r), Some(key)) = (resolved, tg263) else {
        return out;
    };
    for m in r.metrics.iter().filter(|m| m.structure == key) {
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
    out
}

/// Fractionation used for EQD2/BED and rules.
#[derive(Debug, Clone)]
struct Fractions {
    n: Option<u32>,
    source: String,
}

/// Analyse one plan: read its files ([`PlanInputs`], or the `--course` doses of
/// `opts.courses`), then [`analyze_plan`].
pub fn analyze(inputs: &PlanInputs, opts: &AnalysisOptions) -> Result<Analysis, AnalysisError> {
    let plan = read_plan(inputs, &opts.courses)?;
    let analysis = analyze_plan(&plan, opts);
    // Freeing the dose grid and the contours takes about a millisecond (unmapping the
    // grid's pages): let another thread do it while the caller writes the results.
    rayon::spawn(move || drop(plan));
    analysis
}

/// Analyse a plan already in memory, whatever it was read from: the DICOM files of
/// [`analyze`], or NIfTI volumes whose masks were traced into contours
/// ([`analyze_nifti`]). Every output (structures, derived structures, EQD2/BED, site
/// analyses, flags with their sampling uncertainty) comes from here.
pub fn analyze_plan(plan: &PlanData, opts: &AnalysisOptions) -> Result<Analysis, AnalysisError> {
    let mut analysis = Analysis::new(env!("CARGO_PKG_VERSION"));
    analysis.inputs = plan.inputs.clone();
    analysis.warnings.extend(plan.warnings.iter().cloned());
    let plan_rx = plan.plan.as_ref().and_then(|p| p.prescription_gy());
    // The pipeline's [fractionation] prescription: always, or when the plan has none.
    let pipeline_rx = opts
        .pipeline
        .as_ref()
        .and_then(|p| p.fractionation.as_ref())
        .and_then(|f| {
            let rx = f.prescription_gy?;
            (f.policy == radtox_pipeline::FractionationPolicy::Always || plan_rx.is_none())
                .then_some(rx)
        });
    if let Some(rx) = pipeline_rx {
        analysis.warnings.push(format!(
            "prescription {rx} Gy taken from the pipeline's [fractionation]{}",
            plan_rx.map_or(" (the plan has none)".to_string(), |p| format!(
                " instead of the plan's {p} Gy"
            ))
        ));
    }
    let prescription_gy = pipeline_rx.or(plan_rx);
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
    let base_metrics = if opts.metrics.is_empty() {
        radtox_dose::default_metrics()
    } else {
        opts.metrics.clone()
    };
    analysis.settings = Settings {
        end_caps: format!("{:?}", opts.sampling.end_caps),
        min_samples_per_structure: opts.sampling.min_samples,
        dvh_bin_width_gy: opts.dvh_bin_width_gy,
        metrics_requested: base_metrics.iter().map(|m| m.to_string()).collect(),
    };

    // Fractionation: command line, then the pipeline's policy, then the plan; with
    // courses and nothing else, the first course's.
    let plan_fx = plan.plan.as_ref().and_then(|p| p.fractions);
    let fractions = match (opts.fractions_override, &opts.pipeline) {
        (Some(n), _) => Fractions {
            n: Some(n),
            source: "command line".into(),
        },
        (None, Some(p)) => match p.fractions_for(plan_fx) {
            Some((n, s)) => Fractions {
                n: Some(n),
                source: s.to_string(),
            },
            None => Fractions {
                n: None,
                source: "unknown".into(),
            },
        },
        (None, None) => Fractions {
            n: plan_fx,
            source: if plan_fx.is_some() { "plan" } else { "unknown" }.into(),
        },
    };
    let fractions = match (&fractions.n, plan.courses.as_ref()) {
        (None, Some(c)) => Fractions {
            n: c.grids.first().map(|g| g.1),
            source: "first course".into(),
        },
        _ => fractions,
    };
    let mut covariates = opts
        .patient
        .as_ref()
        .map(|p| p.covariates.clone())
        .unwrap_or_default();
    let laterality = covariates.laterality.and_then(|l| match l {
        radtox_clinic::Laterality::Left => Some(radtox_pipeline::Laterality::Left),
        radtox_clinic::Laterality::Right => Some(radtox_pipeline::Laterality::Right),
        radtox_clinic::Laterality::Bilateral => None,
    });

    // Name mapping and pipeline resolution.
    let structures = &plan.structures.structures;
    let mut tg263: Vec<Option<String>> = vec![None; structures.len()];
    let resolved = match &opts.pipeline {
        None => None,
        Some(p) => {
            analysis.pipeline = Some(format!("{} ({})", p.name, p.source.display()));
            let report = radtox_pipeline::map_structures(structures, &p.names);
            for (slot, d) in tg263.iter_mut().zip(&report.decisions) {
                *slot = d.tg263.clone();
            }
            for d in &report.decisions {
                if d.tg263.is_none() {
                    analysis.warnings.push(format!(
                        "structure '{}' not mapped to TG-263 ({}): reported with its physical metrics under its own name",
                        d.original, d.rule
                    ));
                }
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

    // Names expressions may use: TG-263 names first, then the names as written.
    let mut plan_names: BTreeMap<String, usize> = BTreeMap::new();
    for (i, t) in tg263.iter().enumerate() {
        if let Some(t) = t {
            plan_names.insert(t.clone(), i);
        }
    }
    for (i, s) in structures.iter().enumerate() {
        plan_names.entry(s.name.clone()).or_insert(i);
    }

    // Derived structures: the pipeline's (in dependency order), then the command line's.
    let mut specs: Vec<(DerivedSpec, bool)> = Vec::new();
    if let Some(r) = &resolved {
        for d in &r.derived {
            specs.push((
                DerivedSpec {
                    name: d.name.clone(),
                    expr: d.expr.clone(),
                    text: String::new(),
                    note: d.note.clone(),
                },
                true,
            ));
        }
    }
    specs.extend(opts.derived.iter().cloned().map(|d| (d, false)));
    let mut inlined: BTreeMap<String, radtox_pipeline::StructureExpr> = BTreeMap::new();
    let mut derived_list: Vec<(DerivedSpec, radtox_pipeline::StructureExpr)> = Vec::new();
    for (spec, from_pipeline) in specs {
        if plan_names.contains_key(&spec.name) || inlined.contains_key(&spec.name) {
            let why = "a structure of that name exists already";
            if from_pipeline {
                analysis
                    .warnings
                    .push(format!("derived '{}' not built: {why}", spec.name));
                continue;
            }
            return Err(AnalysisError::Derived {
                name: spec.name,
                reason: why.into(),
            });
        }
        match derive::inline(&spec.expr, &plan_names, &inlined, &spec.name) {
            Ok(e) => {
                inlined.insert(spec.name.clone(), e.clone());
                derived_list.push((spec, e));
            }
            Err(missing) if from_pipeline => analysis.warnings.push(format!(
                "derived '{}' not built: the plan lacks {}",
                spec.name,
                missing.join(", ")
            )),
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
        }
    }
    let built: Vec<Result<Occupancy, String>> = derived_list
        .par_iter()
        .map(|(spec, e)| {
            derive::build(&spec.name, e, &plan_names, structures, grid, &opts.sampling)
        })
        .collect();

    let mut units: Vec<Unit> = structures
        .iter()
        .zip(&tg263)
        .map(|(s, t)| Unit {
            name: s.name.clone(),
            tg263: t.clone(),
            plan: Some(s),
            derived: None,
            expr: None,
            note: None,
        })
        .collect();
    for ((spec, e), occ) in derived_list.into_iter().zip(built) {
        units.push(Unit {
            name: spec.name.clone(),
            tg263: Some(spec.name.clone()),
            plan: None,
            derived: Some(occ),
            expr: Some(e),
            note: spec.note.clone(),
        });
    }

    // What each unit computes.
    let alpha_beta_of = |key: &str| alpha_beta_for(opts, key);
    let requests: Vec<Vec<Request>> = units
        .iter()
        .map(|u| {
            unit_requests(
                &base_metrics,
                resolved.as_ref(),
                u.tg263.as_deref(),
                alpha_beta_of(u.key()),
                fractions.n,
                laterality,
            )
        })
        .collect();

    // Summed EQD2/BED grids of several courses, one per α/β and domain needed.
    let mut course_grids: Vec<CourseGrid> = Vec::new();
    if let Some(c) = &plan.courses {
        let mut needed: Vec<(u64, Domain)> = Vec::new();
        for (u, reqs) in units.iter().zip(&requests) {
            for r in reqs {
                if let (Ok(m), Some(ab)) = (&r.req, r.alpha_beta)
                    && m.domain() != Domain::Physical
                {
                    push_unique(&mut needed, (ab.to_bits(), m.domain()));
                }
            }
            if opts.include_dvh
                && let Some(ab) = alpha_beta_of(u.key())
            {
                push_unique(&mut needed, (ab.to_bits(), Domain::Eqd2));
            }
        }
        for (ab, domain) in needed {
            let g = c
                .summed(f64::from_bits(ab), opts.lq_model, domain)
                .map_err(|e| e.to_string());
            course_grids.push(((ab, domain), g));
        }
    }
    let fx_text = match (&plan.courses, fractions.n) {
        (Some(c), _) => format!(
            "courses of {} fx summed voxel-wise",
            c.grids
                .iter()
                .map(|g| g.1.to_string())
                .collect::<Vec<_>>()
                .join(" + ")
        ),
        (None, Some(n)) => format!("{n} fx ({})", fractions.source),
        (None, None) => "fractions unknown".into(),
    };

    // Sample, histogram, evaluate: each structure goes samples → DVH → results in one
    // task. Samples and DVHs are the largest allocations of an analysis (12 bytes per
    // sample once sorted), so a structure's samples are dropped once its DVH holds them,
    // and its DVH once its results are out, unless the pipeline's rule lookups read it
    // later. Peak memory is then about one structure per thread, not the whole plan.
    let all_reqs: Vec<MetricRequest> = requests
        .iter()
        .flatten()
        .filter_map(|r| r.req.as_ref().ok().cloned())
        .collect();
    let sample_dvh = |u: &Unit| sample_unit_dvh(u, grid, &opts.sampling, Domain::Physical);
    let reference = reference_dvh(
        structures,
        &units,
        sample_dvh,
        grid,
        &all_reqs,
        prescription_gy,
    );
    let ctx = MetricContext {
        prescription_gy,
        reference: reference.as_ref(),
    };
    let lq_ctx = LqCtx {
        fractions: fractions.n,
        model: opts.lq_model,
        courses: plan.courses.is_some(),
        course_grids: &course_grids,
        sampling: &opts.sampling,
        fx_text: &fx_text,
    };
    let keep_dvhs = opts.pipeline.is_some();
    let (results, dvhs): (Vec<UnitOutcome>, Vec<Option<Dvh>>) = units
        .par_iter()
        .zip(requests.par_iter())
        .map(|(u, reqs)| {
            let (samp, dvh) = sample_dvh(u);
            let result = unit_result(
                u,
                &samp,
                dvh.as_ref(),
                reqs,
                &ctx,
                &lq_ctx,
                alpha_beta_of(u.key()),
                &plan.dose.tps_dvhs,
                opts,
            );
            (result, dvh.filter(|_| keep_dvhs))
        })
        .unzip();
    let (results, converted): (Vec<StructureResult>, Vec<Vec<Converted>>) =
        results.into_iter().unzip();
    let mut models: Vec<String> = results
        .iter()
        .filter_map(|r| r.eqd2_model.clone())
        .collect();
    for reqs in &requests {
        for r in reqs {
            if let (Ok(m), Some(ab)) = (&r.req, r.alpha_beta)
                && m.domain() != Domain::Physical
                && (fractions.n.is_some() || plan.courses.is_some())
            {
                models.push(model_text(m.domain(), ab, opts.lq_model, &fx_text));
            }
        }
    }
    models.sort();
    models.dedup();
    analysis.dose_models = models;
    analysis.structures = results;

    // Site analyses (brain lesions, heart, marrow, lung, skin) with a pipeline; their
    // lesion and marrow figures stand in for covariates the patient file leaves out.
    if opts.pipeline.is_some() {
        let named: Vec<radtox_sites::NamedStructure> = structures
            .iter()
            .cloned()
            .zip(tg263.iter().cloned())
            .collect();
        let mut ctx = plan
            .plan
            .as_ref()
            .map(radtox_sites::SiteContext::from_plan)
            .unwrap_or_default();
        ctx.fractions = fractions.n;
        ctx.prescription_gy = prescription_gy;
        ctx.sampling = opts.sampling.clone();
        let site_opts = radtox_sites::SiteOptions {
            laterality: match covariates.laterality {
                Some(radtox_clinic::Laterality::Left) => Some(radtox_sites::Laterality::Left),
                Some(radtox_clinic::Laterality::Right) => Some(radtox_sites::Laterality::Right),
                _ => None,
            },
            ..radtox_sites::SiteOptions::default()
        };
        // The CT is read only here, where a bone surrogate may need it; a CT that cannot
        // be read costs the surrogate, not the analysis.
        let ct = (!plan.ct.is_empty())
            .then(|| radtox_dicom::read_ct_series(&plan.ct))
            .and_then(|r| {
                r.map_err(|e| analysis.warnings.push(format!("CT not used: {e}")))
                    .ok()
            });
        // A surrogate needs a volume: a lone slice (the dicompyler example ships one) is
        // reported and left out rather than costing the other site analyses.
        let ct_hu = ct.as_ref().map(|c| &c.grid).filter(|g| {
            let ok = g.z.len() >= 2;
            if !ok {
                analysis
                    .warnings
                    .push("CT not used for a bone surrogate: a single slice is no volume".into());
            }
            ok
        });
        match radtox_sites::analyse_sites(grid, &named, &ctx, &site_opts, ct_hu) {
            Ok(r) => {
                analysis.site_tables = r.to_site_tables();
                analysis.warnings.extend(r.warnings());
                let rx_per_fraction = prescription_gy
                    .zip(fractions.n)
                    .map(|(rx, n)| rx / f64::from(n));
                let filled = fill_covariates(&mut covariates, &r, rx_per_fraction);
                if !filled.is_empty() {
                    analysis.warnings.push(format!(
                        "covariates not given by a patient file, taken from the plan: {}",
                        filled.join(", ")
                    ));
                }
            }
            Err(e) => analysis
                .warnings
                .push(format!("site analyses not computed: {e}")),
        }
    }

    // Risk rules.
    let (rules, timeline) = clinic::rules_and_timeline(&mut analysis, opts, resolved.as_ref());
    if !rules.is_empty() {
        // Second sampling, on a lattice shifted by half a cell, of every structure a rule
        // reads: the spread between two equally valid lattices is the sampling
        // uncertainty of its metrics.
        let mut read: BTreeSet<&str> = BTreeSet::new();
        if let Some(r) = &resolved {
            for rr in &r.rules {
                for v in rr.structures.values() {
                    read.extend(v.iter().map(String::as_str));
                }
            }
        }
        let index: BTreeMap<&str, usize> = units
            .iter()
            .enumerate()
            .filter(|(_, u)| u.tg263.is_some())
            .map(|(i, u)| (u.key(), i))
            .collect();
        let shifted: BTreeMap<usize, Dvh> = read
            .iter()
            .filter_map(|n| index.get(n).copied())
            .collect::<Vec<_>>()
            .par_iter()
            .filter_map(|&i| {
                let u = units.get(i)?;
                let s = shifted_samples(u, &plan_names, structures, grid, &opts.sampling)?;
                (!s.dose_gy.is_empty())
                    .then(|| (i, Dvh::from_cells(&s.dose_gy, &s.spread_gy, &s.weight_cc)))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        let lookup = |structure: &str, metric: &str| -> Option<radtox_clinic::MetricValue> {
            let i = *index.get(structure)?;
            let req: MetricRequest = metric.parse().ok()?;
            let fine = dvhs.get(i)?.as_ref()?;
            let ab = alpha_beta_of(structure);
            let eval = |d: &Dvh, conv: &[Converted]| -> Option<f64> {
                if req.domain() == Domain::Physical {
                    return radtox_dose::evaluate(&req, d, &ctx).ok();
                }
                let ab = ab?;
                if let Some((_, _, c)) = conv
                    .iter()
                    .find(|(a, dm, _)| *a == ab.to_bits() && *dm == req.domain())
                {
                    return radtox_dose::evaluate(&req, c, &ctx).ok();
                }
                let p = LqParams::new(fractions.n?, ab, opts.lq_model).ok()?;
                let c = p.convert_dvh(d, req.domain()).ok()?;
                radtox_dose::evaluate(&req, &c, &ctx).ok()
            };
            let value = eval(fine, converted.get(i).map_or(&[], Vec::as_slice))?;
            let uncertainty = shifted
                .get(&i)
                .and_then(|c| {
                    // With courses the shifted lattice has no summed EQD2 sampling.
                    if plan.courses.is_some() && req.domain() != Domain::Physical {
                        return None;
                    }
                    eval(c, &[])
                })
                .map_or(0.0, |v| (v - value).abs());
            Some(radtox_clinic::MetricValue { value, uncertainty })
        };
        let flags = radtox_clinic::evaluate(&rules, &lookup, &timeline, &covariates, fractions.n);
        analysis.flags = flags.iter().map(clinic::report_flag).collect();
        analysis.disclaimer = Some(radtox_clinic::DISCLAIMER.to_string());
    }
    Ok(analysis)
}

/// A DVH converted to an LQ domain: (α/β bits, domain, DVH).
type Converted = (u64, Domain, Dvh);

/// A summed course grid for (α/β bits, domain), or why it could not be made.
type CourseGrid = ((u64, Domain), Result<DoseGrid, String>);

/// What EQD2/BED conversion needs.
struct LqCtx<'a> {
    fractions: Option<u32>,
    model: LqModel,
    courses: bool,
    course_grids: &'a [CourseGrid],
    sampling: &'a SamplingOptions,
    fx_text: &'a str,
}

/// A DVH accumulated while sampling (the orphan rule wants our own type for the sink).
struct DvhSink(CellHistogram);

impl CellSink for DvhSink {
    #[inline]
    fn push(&mut self, dose_gy: f32, spread_gy: f32, weight_cc: f32, fraction: f32) {
        self.0
            .add_cell(dose_gy, spread_gy, weight_cc, fraction >= 0.5);
    }

    #[inline]
    fn push_run(&mut self, dose_gy: &[f32], spread_gy: &[f32], fraction: &[f32], cell_cc: f32) {
        self.0.add_run(dose_gy, spread_gy, fraction, cell_cc);
    }
}

/// The unit's DVH of `grid` (physical dose, or a summed EQD2/BED course grid in
/// `domain`), built while sampling: its samples are never held, so the analysis needs
/// little more memory than the dose grid.
fn sample_unit_dvh(
    u: &Unit,
    grid: &DoseGrid,
    opts: &SamplingOptions,
    domain: Domain,
) -> (SampleSummary, Option<Dvh>) {
    let init = |lo: f32, hi: f32| DvhSink(CellHistogram::new(f64::from(lo), f64::from(hi)));
    let merge = |a: DvhSink, b: DvhSink| DvhSink(a.0.merged(b.0));
    let (s, sink) = match (&u.plan, &u.derived) {
        (Some(s), _) => radtox_geometry::sample_structure_into(s, grid, opts, init, merge),
        (None, Some(Ok(occ))) => radtox_geometry::sample_dose_into(occ, grid, init, merge),
        _ => (sample_unit_on(u, grid, opts), None),
    };
    let count = sink.as_ref().map_or(0, |k| k.0.sample_count());
    let dvh = sink.map(|k| Dvh::from_cell_histogram(k.0, domain));
    let mut summary = SampleSummary::of(s);
    summary.count = count;
    (summary, dvh.filter(|d| !d.is_empty()))
}

fn sample_unit_on(u: &Unit, grid: &DoseGrid, opts: &SamplingOptions) -> StructureSamples {
    match (&u.plan, &u.derived) {
        (Some(s), _) => radtox_geometry::sample_structure(s, grid, opts),
        (None, Some(Ok(occ))) => radtox_geometry::sample_dose(occ, grid),
        (None, Some(Err(e))) => StructureSamples {
            name: u.name.clone(),
            warnings: vec![format!("derived '{}' not built: {e}", u.name)],
            ..StructureSamples::default()
        },
        (None, None) => StructureSamples::default(),
    }
}

/// The unit sampled on its lattice shifted by half a cell along every axis (one cell
/// more along each, so it still covers the structure).
fn shifted_samples(
    u: &Unit,
    plan_names: &BTreeMap<String, usize>,
    structures: &[Structure],
    grid: &DoseGrid,
    opts: &SamplingOptions,
) -> Option<StructureSamples> {
    let leaves: Vec<&Structure> = match (&u.plan, &u.derived) {
        (Some(s), _) => vec![*s],
        (None, Some(Ok(_))) => {
            let e = derived_expr_of(u)?;
            let mut names = e.refs();
            names.sort_unstable();
            names.dedup();
            names
                .iter()
                .map(|n| plan_names.get(*n).and_then(|i| structures.get(*i)))
                .collect::<Option<Vec<_>>>()?
        }
        _ => return None,
    };
    // Derived structures are built on a finer lattice: shift that one.
    let opts = &if u.plan.is_some() {
        opts.clone()
    } else {
        opts.for_lattice_operations()
    };
    let lattice = radtox_geometry::choose_lattice(&leaves, grid, opts).ok()??;
    let s = lattice.spacing;
    let shifted = Lattice::new(
        [0, 1, 2].map(|a| lattice.origin[a] - s[a] / 2.0),
        s,
        lattice.dims.map(|d| d + 1),
    )
    .ok()?;
    let params = opts.slab_params(grid);
    let occs: Vec<Occupancy> = leaves
        .iter()
        .map(|l| radtox_geometry::rasterize(l, &shifted, &params, opts.subrows))
        .collect::<Result<_, _>>()
        .ok()?;
    match &u.plan {
        Some(_) => occs.first().map(|o| radtox_geometry::sample_dose(o, grid)),
        None => {
            let e = derived_expr_of(u)?;
            let names: Vec<&str> = {
                let mut n = e.refs();
                n.sort_unstable();
                n.dedup();
                n
            };
            let by: BTreeMap<String, Occupancy> =
                names.iter().map(|n| n.to_string()).zip(occs).collect();
            let occ = derive::eval_named(e, &by).ok()?;
            Some(radtox_geometry::sample_dose(&occ, grid))
        }
    }
}

fn derived_expr_of<'a>(u: &'a Unit) -> Option<&'a radtox_pipeline::StructureExpr> {
    match &u.derived {
        Some(Ok(_)) => u.expr.as_ref(),
        _ => None,
    }
}

/// One plan in memory, checked for consistency: what [`analyze_plan`] reads.
#[derive(Debug, Clone)]
pub struct PlanData {
    /// How the input files are described in the report.
    pub inputs: Inputs,
    pub dose: radtox_dicom::CombinedDose,
    pub structures: radtox_model::StructureSet,
    pub plan: Option<radtox_model::PlanInfo>,
    /// CT slices, read only when a site analysis needs a bone surrogate.
    pub ct: Vec<PathBuf>,
    /// Problems found while reading, for the report.
    pub warnings: Vec<String>,
    /// Separate courses (`--course`), when given; `dose` is then their physical sum.
    courses: Option<courses::CourseDoses>,
}

impl PlanData {
    /// A plan from its parts (no separate courses, no CT).
    pub fn new(
        inputs: Inputs,
        dose: radtox_dicom::CombinedDose,
        structures: radtox_model::StructureSet,
        plan: Option<radtox_model::PlanInfo>,
        warnings: Vec<String>,
    ) -> PlanData {
        PlanData {
            inputs,
            dose,
            structures,
            plan,
            ct: Vec::new(),
            warnings,
            courses: None,
        }
    }
}

/// Read the files of one plan (or of its courses) and check them for consistency.
pub fn read_plan(inputs: &PlanInputs, course_list: &[Course]) -> Result<PlanData, AnalysisError> {
    if !course_list.is_empty() && !inputs.rtdose.is_empty() {
        return Err(AnalysisError::CoursesAndDoses);
    }
    if inputs.rtdose.is_empty() && course_list.is_empty() {
        return Err(AnalysisError::NoDose);
    }
    let ss_path = inputs
        .rtstruct
        .as_ref()
        .ok_or(AnalysisError::NoStructureSet)?;
    let dose_paths: Vec<&Path> = if course_list.is_empty() {
        inputs.rtdose.iter().map(PathBuf::as_path).collect()
    } else {
        course_list.iter().map(|c| c.rtdose.as_path()).collect()
    };
    // The files are independent: read them in parallel.
    let (doses, (structures, plan)) = rayon::join(
        || {
            dose_paths
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
    let doses = doses?;
    let (dose, courses) = if course_list.is_empty() {
        (radtox_dicom::combine_doses(doses)?, None)
    } else {
        sum_courses(doses, course_list)?
    };
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
    let described = Inputs {
        rtdose: dose_paths.iter().map(|p| p.display().to_string()).collect(),
        rtstruct: Some(ss_path.display().to_string()),
        rtplan: inputs.rtplan.as_ref().map(|p| p.display().to_string()),
        // With courses, paths only: each course's fractions are in the summary.
        dose_summation: dose.summary.clone(),
        discovery_notes: inputs.notes.clone(),
    };
    Ok(PlanData {
        inputs: described,
        dose,
        structures,
        plan,
        ct: inputs.ct.clone(),
        warnings,
        courses,
    })
}

/// The physical sum of the courses on the first course's grid, and the courses kept
/// apart for EQD2/BED. Every course must be in the first course's frame of reference.
fn sum_courses(
    doses: Vec<radtox_dicom::RtDose>,
    list: &[Course],
) -> Result<(radtox_dicom::CombinedDose, Option<courses::CourseDoses>), AnalysisError> {
    let mut warnings = Vec::new();
    let mut it = doses.into_iter().zip(list);
    let Some((first, c0)) = it.next() else {
        return Err(AnalysisError::NoDose);
    };
    let frame = first.info.frame_of_reference_uid.clone();
    let mut grid = first.grid.clone();
    let mut kept = vec![(first.grid, c0.fractions)];
    warnings.extend(first.warnings);
    let mut summary = format!(
        "{} courses summed on the grid of {}: {} ({} fx)",
        list.len(),
        c0.rtdose.display(),
        c0.rtdose.display(),
        c0.fractions
    );
    for (d, c) in it {
        match (&frame, &d.info.frame_of_reference_uid) {
            (Some(a), Some(b)) if a != b => {
                return Err(AnalysisError::CourseFrame {
                    file: c.rtdose.clone(),
                    expected: a.clone(),
                    found: b.clone(),
                });
            }
            (Some(_), Some(_)) => {}
            _ => warnings.push(format!(
                "course dose {}: frame of reference unknown; assumed the same as the first course's",
                c.rtdose.display()
            )),
        }
        warnings.extend(d.warnings);
        grid.dose += &grid.resample_from(&d.grid);
        summary.push_str(&format!(
            " + {} ({} fx, resampled trilinearly)",
            c.rtdose.display(),
            c.fractions
        ));
        kept.push((d.grid, c.fractions));
    }
    summary.push_str(
        "; physical metrics read the physical sum, EQD2/BED metrics the sum of each course converted voxel-wise with its own fractions",
    );
    Ok((
        radtox_dicom::CombinedDose {
            grid,
            info: first.info,
            tps_dvhs: Vec::new(),
            summary,
            used: list.iter().map(|c| c.rtdose.clone()).collect(),
            ignored: Vec::new(),
            warnings,
        },
        Some(courses::CourseDoses { grids: kept }),
    ))
}

/// The DVH used for prescription isodose volumes (Paddick CI, gradient index): the
/// external contour when there is one (interpreted type EXTERNAL), otherwise the whole
/// dose grid. Built only when a requested metric needs it.
fn reference_dvh<'a>(
    structures: &[Structure],
    units: &'a [Unit<'a>],
    sample_dvh: impl Fn(&'a Unit<'a>) -> (SampleSummary, Option<Dvh>),
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
    if let Some(d) = external
        .and_then(|i| units.get(i))
        .and_then(|u| sample_dvh(u).1)
    {
        return Some(d);
    }
    Some(Dvh::from_grid(grid))
}

/// The DVH of `u` in an LQ domain at `ab`: from the summed course grid when there are
/// courses, else the physical DVH converted sample by sample.
fn domain_dvh(
    u: &Unit,
    physical: &Dvh,
    ab: f64,
    domain: Domain,
    lq: &LqCtx,
) -> Result<Dvh, String> {
    if lq.courses {
        let g = lq
            .course_grids
            .iter()
            .find(|(k, _)| *k == (ab.to_bits(), domain))
            .map(|(_, g)| g)
            .ok_or_else(|| "no summed course grid for this α/β".to_string())?
            .as_ref()
            .map_err(Clone::clone)?;
        let (_, dvh) = sample_unit_dvh(u, g, lq.sampling, domain);
        // No samples: an empty DVH, whose metrics say so.
        return Ok(dvh.unwrap_or_else(|| Dvh::from_cells_in(&[], &[], &[], domain)));
    }
    let n = lq.fractions.ok_or_else(|| {
        "the number of fractions is unknown (the plan gives none): give --fractions N, an RT Plan with fractions, or [fractionation] in the pipeline".to_string()
    })?;
    let p = LqParams::new(n, ab, lq.model).map_err(|e| e.to_string())?;
    p.convert_dvh(physical, domain).map_err(|e| e.to_string())
}

/// A structure's results and the LQ-domain DVHs made for them.
type UnitOutcome = (StructureResult, Vec<Converted>);

/// What is kept of a structure's samples once its DVH is built.
struct SampleSummary {
    volume_cc: f64,
    volume_in_grid_cc: f64,
    count: usize,
    warnings: Vec<String>,
}

impl SampleSummary {
    fn of(s: StructureSamples) -> SampleSummary {
        SampleSummary {
            volume_cc: s.volume_cc,
            volume_in_grid_cc: s.volume_in_grid_cc,
            count: s.dose_gy.len(),
            warnings: s.warnings,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn unit_result(
    u: &Unit,
    samples: &SampleSummary,
    dvh: Option<&Dvh>,
    reqs: &[Request],
    ctx: &MetricContext,
    lq: &LqCtx,
    unit_ab: Option<f64>,
    tps: &[TpsDvh],
    opts: &AnalysisOptions,
) -> (StructureResult, Vec<Converted>) {
    let empty = match u.plan {
        Some(s) => s.is_empty(),
        None => !matches!(&u.derived, Some(Ok(o)) if !o.is_empty()),
    };
    let mut warnings = samples.warnings.clone();
    // Every (α/β, domain) DVH needed, converted once.
    let mut needed: Vec<(u64, Domain)> = Vec::new();
    for r in reqs {
        if let (Ok(m), Some(ab)) = (&r.req, r.alpha_beta)
            && m.domain() != Domain::Physical
        {
            push_unique(&mut needed, (ab.to_bits(), m.domain()));
        }
    }
    let eqd2_possible = unit_ab.filter(|_| lq.fractions.is_some() || lq.courses);
    if let (Some(ab), true) = (eqd2_possible, opts.include_dvh) {
        push_unique(&mut needed, (ab.to_bits(), Domain::Eqd2));
    }
    let converted: Vec<(u64, Domain, Result<Dvh, String>)> = match dvh {
        Some(d) => needed
            .iter()
            .map(|&(ab, dm)| (ab, dm, domain_dvh(u, d, f64::from_bits(ab), dm, lq)))
            .collect(),
        None => Vec::new(),
    };
    let find = |ab: f64, dm: Domain| {
        converted
            .iter()
            .find(|(a, d, _)| *a == ab.to_bits() && *d == dm)
            .map(|(_, _, r)| r)
    };
    let metric_values = reqs
        .iter()
        .map(|r| {
            let name = r.name.as_str();
            let m = match &r.req {
                Ok(m) => m,
                Err(e) => return MetricValue::err(name, e.clone()),
            };
            let Some(d) = dvh else {
                return if empty {
                    MetricValue::err(name, "structure has no closed contour")
                } else {
                    MetricValue::err(name, "structure lies outside the dose grid")
                };
            };
            if m.domain() == Domain::Physical {
                return match radtox_dose::evaluate(m, d, ctx) {
                    Ok(v) => MetricValue::ok(name, v),
                    Err(e) => MetricValue::err(name, e.to_string()),
                };
            }
            let Some(ab) = r.alpha_beta else {
                return MetricValue::err(
                    name,
                    format!(
                        "{name} needs the α/β of '{}': no [alpha_beta] entry of the pipeline applies (give a pipeline or --alpha-beta GY)",
                        u.key()
                    ),
                );
            };
            match find(ab, m.domain()) {
                Some(Ok(c)) => match radtox_dose::evaluate(m, c, ctx) {
                    Ok(v) => MetricValue::ok(name, v),
                    Err(e) => MetricValue::err(name, e.to_string()),
                },
                Some(Err(e)) => MetricValue::err(name, format!("{name}: {e}")),
                None => MetricValue::err(name, format!("{name}: no converted DVH")),
            }
        })
        .collect();
    let tps_dvh_check = match (dvh, u.plan) {
        (Some(d), Some(s)) => tps
            .iter()
            .find(|t| t.roi_number == s.roi_number)
            .and_then(|t| {
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
            }),
        _ => None,
    };
    let curve = |d: &Dvh| {
        let c = d.cumulative(opts.dvh_bin_width_gy);
        DvhCurve {
            dose_gy: c.dose_gy,
            volume_cc: c.volume_cc,
        }
    };
    let eqd2_dvh = match (eqd2_possible, opts.include_dvh) {
        (Some(ab), true) => match find(ab, Domain::Eqd2) {
            Some(Ok(d)) => Some(curve(d)),
            Some(Err(e)) => {
                warnings.push(format!("EQD2 DVH not computed: {e}"));
                None
            }
            None => None,
        },
        _ => None,
    };
    if let Some(n) = &u.note {
        warnings.push(format!("derived structure: {n}"));
    }
    let result = StructureResult {
        roi_number: u.plan.map_or(0, |s| s.roi_number),
        name: u.name.clone(),
        interpreted_type: u.plan.and_then(|s| s.interpreted_type.clone()),
        empty,
        volume_cc: (!empty).then_some(samples.volume_cc),
        volume_in_dose_grid_cc: (!empty).then_some(samples.volume_in_grid_cc),
        sample_count: samples.count,
        metrics: metric_values,
        dvh: dvh.filter(|_| opts.include_dvh).map(curve),
        tg263_name: u
            .tg263
            .clone()
            .filter(|_| opts.pipeline.is_some() || u.plan.is_none()),
        derived: u.plan.is_none(),
        eqd2_dvh,
        eqd2_model: eqd2_possible.map(|ab| model_text(Domain::Eqd2, ab, lq.model, lq.fx_text)),
        tps_dvh_check,
        warnings,
    };
    let kept = converted
        .into_iter()
        .filter_map(|(a, d, r)| r.ok().map(|x| (a, d, x)))
        .collect();
    (result, kept)
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

/// Covariates the patient file leaves out, from the plan (prescription per fraction)
/// and the site analyses: the largest lesion's
/// volume and diameter, the lesion count, and the share of active marrow receiving at
/// least the lowest tabulated level (10 Gy; "irradiated" in Mac Manus 1997 is not
/// defined by a dose level, so this is a documented choice). Returns what was filled.
fn fill_covariates(
    c: &mut radtox_clinic::Covariates,
    r: &radtox_sites::SiteResults,
    rx_per_fraction: Option<f64>,
) -> Vec<String> {
    let mut filled = Vec::new();
    if c.prescription_gy_per_fraction.is_none()
        && let Some(d) = rx_per_fraction
    {
        c.prescription_gy_per_fraction = Some(d);
        filled.push(format!("prescription_gy_per_fraction = {d:.3} (plan)"));
    }
    if let Some(b) = r.brain.as_ref().filter(|b| !b.lesions.is_empty()) {
        let max = |f: fn(&radtox_sites::Lesion) -> f64| {
            b.lesions.iter().map(f).fold(f64::NEG_INFINITY, f64::max)
        };
        if c.lesion_volume_cc.is_none() {
            let v = max(|l| l.volume_cc);
            c.lesion_volume_cc = Some(v);
            filled.push(format!("lesion_volume_cc = {v:.3} (largest lesion)"));
        }
        if c.lesion_max_diameter_mm.is_none() {
            let v = max(|l| l.max_diameter_mm);
            c.lesion_max_diameter_mm = Some(v);
            filled.push(format!("lesion_max_diameter_mm = {v:.1}"));
        }
        if c.lesion_count.is_none() {
            c.lesion_count = u32::try_from(b.lesions.len()).ok();
            filled.push(format!("lesion_count = {}", b.lesions.len()));
        }
    }
    if c.active_marrow_irradiated_percent.is_none()
        && let Some((level, pct)) = r.marrow.as_ref().and_then(|m| m.weighted_percent.first())
    {
        c.active_marrow_irradiated_percent = Some(*pct);
        filled.push(format!(
            "active_marrow_irradiated_percent = {pct:.2} (active marrow ≥ {level} Gy)"
        ));
    }
    filled
}
