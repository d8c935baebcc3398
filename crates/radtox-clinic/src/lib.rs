//! # radtox-clinic
//!
//! Turns dose metrics already computed by the dose engine, plus a patient/treatment file
//! (T-DM1 dates, RT courses, covariates), into transparent, cited T-DM1
//! concurrent-toxicity flags. It reads no plan files and computes no DVHs.
//!
//! * [`PatientFile`]: the `radtox-patient/1` file (TOML or JSON), strictly validated
//!   (unknown keys and impossible values are errors); schema in `docs/patient-file.md`.
//! * [`Timeline`]: signed offsets Δ = T-DM1 date − RT date for every RT date, the
//!   published timing windows that hold ([`Window`]: Stumpf, Koide, Lebow, Chun,
//!   Dastgheyb, during RT; edges inclusive) and a relative serum-exposure curve
//!   (one compartment, 4-day half-life, 1.0 = just after a 3.6 mg/kg dose; context,
//!   not a PK prediction).
//! * [`Catalogue`]: the evidence records (ID, citation, grade, verified/seed/recalled,
//!   evidence against) shipped in `evidence/tdm1.toml`.
//! * [`Rule`] and [`evaluate`]: one [`Flag`] per rule — triggered, pass, indeterminate
//!   (value within its uncertainty of a threshold), not evaluated (data missing, with
//!   the reason) or not applicable — each with its numbers, timing facts, grade,
//!   citation and a plain sentence. [`default_rules`] covers every catalogue ID.
//!
//! Every flag set must be shown with [`DISCLAIMER`].
//!
//! ```
//! use radtox_clinic::*;
//! use std::path::Path;
//!
//! let text = r#"
//! schema = "radtox-patient/1"
//! [[tdm1]]
//! date = "2026-03-03"
//! dose_mg_per_kg = 3.6
//! [[radiotherapy]]
//! kind = "srs"
//! first_fraction = "2026-02-23"
//! last_fraction = "2026-02-23"
//! "#;
//! let patient = PatientFile::from_toml_str(text, Path::new("example.toml")).unwrap();
//! let timeline = Timeline::from_patient(&patient);
//! let row = &timeline.offsets()[0];
//! assert_eq!(row.delta_days, Some(8)); // T-DM1 8 days after SRS
//! assert!(row.windows.contains(&"stumpf".to_string()));
//! assert!(!row.windows.contains(&"lebow".to_string())); // +8 > +7
//!
//! // Dose metrics come from the dose engine; here a closure with one known value.
//! let metrics = |structure: &str, metric: &str| match (structure, metric) {
//!     ("Brain-GTV_All", "V12Gy[cc]") => Some(MetricValue { value: 6.2, uncertainty: 0.1 }),
//!     _ => None,
//! };
//! let catalogue = Catalogue::builtin().unwrap();
//! let flags = evaluate(&default_rules(&catalogue), &metrics, &timeline, &patient.covariates, Some(1));
//! let b1 = flags.iter().find(|f| f.rule_id == "B1").unwrap();
//! assert_eq!((b1.status, b1.level), (Status::Triggered, Some(Level::Caution)));
//! let b6 = flags.iter().find(|f| f.rule_id == "B6").unwrap();
//! assert_eq!(b6.level, Some(Level::High));
//! assert!(b6.timing[0].contains("8 days after SRS session on 2026-02-23"));
//! // A structure the plan lacks is reported, not skipped.
//! let c1 = flags.iter().find(|f| f.rule_id == "C1").unwrap();
//! assert_eq!(c1.status, Status::NotEvaluated);
//! ```

mod catalogue;
mod date;
mod defaults;
mod engine;
mod patient;
#[cfg(feature = "pipeline")]
mod pipeline;
mod rule;
mod timeline;

pub use catalogue::{
    Catalogue, CatalogueError, EVIDENCE_SCHEMA, EvidenceAgainst, EvidenceRecord, Verification,
    evidence_id,
};
pub use date::{CivilDate, DateError};
pub use defaults::default_rules;
pub use engine::{
    ClinicAssessment, DISCLAIMER, Flag, MetricLookup, MetricValue, RiskEstimate, Status, Threshold,
    assess, evaluate,
};
pub use patient::{
    BreastCup, CourseKind, Covariates, Laterality, PATIENT_SCHEMA, PatientError, PatientFile,
    RtCourse, SrsPlatform, Tdm1Dose,
};
#[cfg(feature = "pipeline")]
pub use pipeline::{ConvertError, rule_from_pipeline, rules_from_resolved};
pub use rule::{
    BoolCovariate, Combine, Condition, ConditionTier, CovariateCondition, EstimateModel,
    FractionCondition, Level, NumericCovariate, Op, Quantity, Rule, RuleError, Tier,
    TimingCondition,
};
pub use timeline::{
    Anchor, ExposurePoint, RtDateOffset, RtDateRole, TDM1_HALF_LIFE_DAYS,
    TDM1_REFERENCE_DOSE_MG_PER_KG, Timeline, Window, WindowHit, describe_delta,
};
