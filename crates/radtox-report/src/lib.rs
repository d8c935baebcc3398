//! # radtox-report
//!
//! The output side of radtox: the versioned JSON analysis document ([`Analysis`]), its
//! CSV form, the human table printed by `radtox analyze` and the self-contained HTML
//! report of `radtox report` ([`html`]). This crate computes
//! nothing; it only lays out what the other stages found. The JSON schema is documented
//! in `docs/analysis-json.md` and versioned by [`SCHEMA_VERSION`]: fields are only ever
//! added within a version; a removal or change of meaning bumps it.
//!
//! ```
//! use radtox_report::{Analysis, StructureResult, MetricValue, Format, render};
//!
//! let mut a = Analysis::new("0.1.0");
//! a.structures.push(StructureResult {
//!     roi_number: 1,
//!     name: "Heart".into(),
//!     volume_cc: Some(512.0),
//!     volume_in_dose_grid_cc: Some(512.0),
//!     metrics: vec![MetricValue::ok("Mean[Gy]", 3.2)],
//!     ..StructureResult::default()
//! });
//! let json = render(&a, Format::Json).unwrap();
//! assert!(json.contains("\"Mean[Gy]\": 3.2"));
//! let table = render(&a, Format::Table).unwrap();
//! assert!(table.contains("Heart"));
//! ```

pub mod html;
pub mod json;
mod table;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

/// Version of the JSON document. Bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Output format of `radtox analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    /// A self-contained HTML report (see [`html`]).
    Html,
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("could not serialise the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("could not write CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("could not write: {0}")]
    Io(#[from] std::io::Error),
    #[error("CSV output is not UTF-8")]
    Utf8,
}

/// The whole analysis of one plan.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Analysis {
    pub schema_version: u32,
    pub radtox_version: String,
    pub inputs: Inputs,
    pub plan: Option<PlanSummary>,
    pub dose_grid: Option<GridSummary>,
    pub settings: Settings,
    pub structures: Vec<StructureResult>,
    /// Name of the pipeline file applied, if any.
    pub pipeline: Option<String>,
    /// How clinical structure names were mapped to TG-263 names (with a pipeline).
    pub name_mapping: Option<NameMapping>,
    /// Dose models behind the EQD2/BED numbers (one entry per α/β and scheme used).
    pub dose_models: Vec<String>,
    /// Site analyses (brain lesions, heart substructures, bone marrow, lung and skin),
    /// each as a titled table.
    pub site_tables: Vec<SiteTable>,
    /// T-DM1 timeline facts when a patient file was given.
    pub timeline: Option<Timeline>,
    /// Risk flags from the pipeline's rules, each with its evidence.
    pub flags: Vec<Flag>,
    /// The decision-support statement that accompanies flags.
    pub disclaimer: Option<String>,
    /// Everything the user should know that did not stop the analysis.
    pub warnings: Vec<String>,
}

/// Every name-mapping decision, and what could not be mapped.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct NameMapping {
    pub decisions: Vec<NameDecision>,
    pub unmapped: Vec<String>,
    /// TG-263 name → the clinical names that all mapped to it.
    pub ambiguous: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct NameDecision {
    pub original: String,
    pub tg263: Option<String>,
    /// Which rule decided, e.g. "alias 'Lt Lung' (names/tg263-base.toml:42)".
    pub rule: String,
}

/// A titled table of a site analysis; cells are JSON values (numbers, strings, null).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct SiteTable {
    /// Stable identifier: "brain_lesions", "brain", "heart", "marrow", "lung", "skin".
    pub id: String,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub notes: Vec<String>,
}

/// One T-DM1 administration or radiotherapy date on the timeline.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct TimelineEvent {
    /// ISO date, YYYY-MM-DD.
    pub date: String,
    /// "tdm1", "rt_fraction", "srs", "rt_start", "rt_end".
    pub kind: String,
    pub label: String,
}

/// The treatment timeline: events, windows that hold, and the relative drug level.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Timeline {
    pub events: Vec<TimelineEvent>,
    /// Plain sentences, e.g. "T-DM1 on 2026-03-02 is 7 d after SRS (within ±28 d, Stumpf 2019)".
    pub facts: Vec<String>,
    /// Daily relative serum level (1.0 = just after a 3.6 mg/kg dose): (date, level).
    pub exposure: Vec<(String, f64)>,
    pub exposure_model: String,
}

/// A risk flag with everything needed to judge it.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Flag {
    /// Rule ID from the evidence file (B1, C3, H7, …).
    pub rule_id: String,
    /// "info", "caution", "high", "very_high".
    pub level: String,
    /// "raised", "indeterminate", "not_raised", "not_evaluated".
    pub status: String,
    pub structure: Option<String>,
    pub metric: Option<String>,
    pub value: Option<f64>,
    /// e.g. ">= 10".
    pub threshold: Option<String>,
    pub timing: Vec<String>,
    pub covariates: Vec<String>,
    pub evidence_grade: String,
    pub citation: String,
    /// True when the threshold is recalled, not verified in the source.
    pub provisional: bool,
    pub evidence_against: Vec<String>,
    pub sentence: String,
}

impl Analysis {
    pub fn new(radtox_version: &str) -> Analysis {
        Analysis {
            schema_version: SCHEMA_VERSION,
            radtox_version: radtox_version.to_string(),
            ..Analysis::default()
        }
    }
}

/// The files that went in and how their doses were combined.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Inputs {
    pub rtdose: Vec<String>,
    pub rtstruct: Option<String>,
    pub rtplan: Option<String>,
    /// Plain words: which dose files were summed, which ignored and why.
    pub dose_summation: String,
    /// How the files were found when a directory was given.
    pub discovery_notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct PlanSummary {
    pub label: Option<String>,
    pub name: Option<String>,
    pub fractions: Option<u32>,
    pub prescription_gy: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct GridSummary {
    /// Voxels along x, y, z.
    pub dims: [usize; 3],
    /// Mean spacing along x, y, z (mm).
    pub spacing_mm: [f64; 3],
    pub max_dose_gy: f64,
    pub dose_units: String,
    pub frame_of_reference_uid: Option<String>,
}

/// Settings that change numbers; recorded so a result can be reproduced.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Settings {
    pub end_caps: String,
    pub min_samples_per_structure: usize,
    pub dvh_bin_width_gy: f64,
    pub metrics_requested: Vec<String>,
}

/// One requested metric and its value, or why it has none.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    pub name: String,
    pub value: Result<f64, String>,
}

impl MetricValue {
    pub fn ok(name: &str, v: f64) -> MetricValue {
        MetricValue {
            name: name.to_string(),
            value: Ok(v),
        }
    }
    pub fn err(name: &str, why: impl Into<String>) -> MetricValue {
        MetricValue {
            name: name.to_string(),
            value: Err(why.into()),
        }
    }
}

/// The planning system's DVH against ours, for one ROI.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct TpsDvhCheck {
    pub tps_volume_cc: f64,
    pub volume_diff_percent: f64,
    pub tps_mean_gy: f64,
    pub mean_diff_percent: f64,
    /// Largest |V_radtox(d) − V_tps(d)| over the TPS bin edges, in % of the volume.
    pub max_cumulative_deviation_percent: f64,
    pub dose_at_max_deviation_gy: f64,
}

/// A cumulative DVH: `volume_cc[i]` receives at least `dose_gy[i]`.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct DvhCurve {
    pub dose_gy: Vec<f64>,
    pub volume_cc: Vec<f64>,
}

/// Everything radtox found for one structure.
#[derive(Debug, Clone, Default)]
pub struct StructureResult {
    pub roi_number: i32,
    pub name: String,
    pub interpreted_type: Option<String>,
    /// True when the ROI has no closed planar contour.
    pub empty: bool,
    /// Volume enclosed by the contours (slab model), cc.
    pub volume_cc: Option<f64>,
    /// Part of that volume inside the dose grid, cc.
    pub volume_in_dose_grid_cc: Option<f64>,
    pub sample_count: usize,
    /// Requested metrics in request order.
    pub metrics: Vec<MetricValue>,
    pub dvh: Option<DvhCurve>,
    /// Mapped AAPM TG-263 name (with a pipeline).
    pub tg263_name: Option<String>,
    /// True for structures built from others (union, difference, margins).
    pub derived: bool,
    /// The EQD2 DVH when fractionation is known, and the model that made it.
    pub eqd2_dvh: Option<DvhCurve>,
    pub eqd2_model: Option<String>,
    pub tps_dvh_check: Option<TpsDvhCheck>,
    pub warnings: Vec<String>,
}

/// `metrics` (request order) holds only values that exist; failures go to
/// `metric_errors`, so a consumer never mistakes an error for a number.
struct MetricMap<'a>(&'a [MetricValue], bool);

impl Serialize for MetricMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for m in self.0 {
            match (&m.value, self.1) {
                (Ok(v), false) => map.serialize_entry(&m.name, v)?,
                (Err(e), true) => map.serialize_entry(&m.name, e)?,
                _ => {}
            }
        }
        map.end()
    }
}

impl Serialize for StructureResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("StructureResult", 16)?;
        st.serialize_field("roi_number", &self.roi_number)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("interpreted_type", &self.interpreted_type)?;
        st.serialize_field("empty", &self.empty)?;
        st.serialize_field("volume_cc", &self.volume_cc)?;
        st.serialize_field("volume_in_dose_grid_cc", &self.volume_in_dose_grid_cc)?;
        st.serialize_field("sample_count", &self.sample_count)?;
        st.serialize_field("metrics", &MetricMap(&self.metrics, false))?;
        st.serialize_field("metric_errors", &MetricMap(&self.metrics, true))?;
        st.serialize_field("tg263_name", &self.tg263_name)?;
        st.serialize_field("derived", &self.derived)?;
        st.serialize_field("dvh", &self.dvh)?;
        st.serialize_field("eqd2_dvh", &self.eqd2_dvh)?;
        st.serialize_field("eqd2_model", &self.eqd2_model)?;
        st.serialize_field("tps_dvh_check", &self.tps_dvh_check)?;
        st.serialize_field("warnings", &self.warnings)?;
        st.end()
    }
}

/// Render `a` in the requested format.
pub fn render(a: &Analysis, format: Format) -> Result<String, ReportError> {
    match format {
        Format::Json => {
            let mut text = to_json(a)?;
            text.push('\n');
            Ok(text)
        }
        Format::Csv => to_csv(a),
        Format::Table => Ok(table::render(a)),
        Format::Html => Ok(html::to_html(a)),
    }
}

/// The JSON document (pretty printed, arrays of numbers on one line).
pub fn to_json(a: &Analysis) -> Result<String, ReportError> {
    Ok(json::to_string_with_capacity(a, json_size_hint(a))?)
}

/// A generous guess at the size of `a`'s JSON document (bytes): its DVH curves are
/// most of it, at most about 25 bytes a number, plus 64 KiB per structure for the rest.
fn json_size_hint(a: &Analysis) -> usize {
    let numbers: usize = a
        .structures
        .iter()
        .flat_map(|s| [&s.dvh, &s.eqd2_dvh])
        .flatten()
        .map(|c| c.dose_gy.len() + c.volume_cc.len())
        .sum();
    (numbers * 25 + (a.structures.len() + 1) * (64 << 10)) + 1
}

/// Long-format CSV: one row per structure and metric.
pub fn to_csv(a: &Analysis) -> Result<String, ReportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "roi_number",
        "structure",
        "volume_cc",
        "volume_in_dose_grid_cc",
        "metric",
        "value",
        "error",
    ])?;
    let num = |v: Option<f64>| v.map(|x| format!("{x}")).unwrap_or_default();
    for s in &a.structures {
        for m in &s.metrics {
            let (value, error) = match &m.value {
                Ok(v) => (format!("{v}"), String::new()),
                Err(e) => (String::new(), e.clone()),
            };
            w.write_record([
                s.roi_number.to_string(),
                s.name.clone(),
                num(s.volume_cc),
                num(s.volume_in_dose_grid_cc),
                m.name.clone(),
                value,
                error,
            ])?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ReportError::Io(e.into_error()))?;
    String::from_utf8(bytes).map_err(|_| ReportError::Utf8)
}
