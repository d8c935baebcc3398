//! # radtox-pipeline
//!
//! Declarative analysis protocols ("pipelines", TOML files under `pipelines/`) and the
//! TG-263 structure-name mapping they rely on. This crate parses and validates; it
//! knows nothing of how files are read or metrics computed.
//!
//! * [`NameRules`], [`map_names`], [`map_structures`]: turn clinical names (`Lt Lung`,
//!   `BRAIN STEM`, `GTV1`) into TG-263 names with an explanation per decision
//!   ([`MappingReport`]). Rules live in name tables (`pipelines/names/tg263-base.toml`
//!   and a pipeline's `[names]`), never in code.
//! * [`Pipeline::load`]: read a pipeline, its includes, derived structures
//!   ([`StructureExpr`]), α/β, fractionation, metrics and risk rules, rejecting every
//!   problem with `file:line:column` and what to fix ([`PipelineError`]).
//! * [`Pipeline::resolve`]: apply it to one plan's mapped names; what the plan lacks
//!   becomes a warning.
//!
//! ```
//! use radtox_pipeline::{Pipeline, map_names};
//! use std::path::Path;
//!
//! let text = r#"
//! schema = "radtox-pipeline/1"
//! name = "demo"
//! [names]
//! standard = ["Brain", "External"]
//! patterns = [ { match = "{t:gtv|ptv} {n}", name = "{t:upper}_{n}" } ]
//! [names.aliases]
//! "Brain Stem" = "Brainstem"
//! [[derived]]
//! name = "Brain-GTV_All"
//! expr = "Brain - union(GTV_*)"
//! [alpha_beta]
//! default = 3.0
//! Brain = 2.0
//! [[metrics]]
//! structures = ["Brain-GTV_All"]
//! metrics = ["V12Gy[cc]"]
//! "#;
//! // The CLI passes radtox-dose's TG-263 metric parser; any check will do here.
//! let accept_v = |m: &str| if m.starts_with('V') { Ok(()) } else { Err("not a V metric".to_string()) };
//! let p = Pipeline::from_str_at(text, Path::new("demo.toml"), &accept_v).unwrap();
//!
//! let report = map_names(&["BRAIN", "GTV1", "GTV 2", "BRAIN STEM", "couch"], &p.names);
//! assert_eq!(report.tg263_names(), ["Brain", "GTV_1", "GTV_2", "Brainstem"]);
//! assert_eq!(report.unmapped, ["couch"]);
//!
//! let plan = p.resolve(&report.tg263_names()).unwrap();
//! assert_eq!(plan.derived[0].name, "Brain-GTV_All");
//! assert_eq!(plan.metrics[0].structure, "Brain-GTV_All");
//! assert_eq!(plan.metrics[0].alpha_beta.as_ref().unwrap().value, 3.0); // default
//! assert_eq!(p.alpha_beta_for("Brain").unwrap().value, 2.0);
//! ```

mod error;
mod expr;
mod load;
mod names;
mod pattern;
mod resolve;
mod schema;

pub use error::{Location, PipelineError, Problem};
pub use expr::{ExprError, StructureExpr, parse_expr};
pub use names::{
    Decision, DecisionKind, MappingReport, NAMES_SCHEMA, NameRules, RuleOrigin, TissueClass,
    lateral_words, map_names, map_structures, normalise, words,
};
pub use pattern::glob_match;
pub use resolve::{ResolvedDerived, ResolvedMetric, ResolvedPipeline, ResolvedRule};
pub use schema::*;
