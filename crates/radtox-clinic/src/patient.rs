//! The patient/treatment file (`schema = "radtox-patient/1"`, TOML or JSON).
//!
//! The file holds treatment dates and clinical covariates only: no name, no ID, no date
//! of birth. A free `pseudonym` is allowed so a user can tell files apart. Every key is
//! documented in `docs/patient-file.md`.

use crate::date::CivilDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// The `schema` value of a patient file.
pub const PATIENT_SCHEMA: &str = "radtox-patient/1";

/// Why a patient file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PatientError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Syntax, unknown key, wrong type or malformed date; `message` carries the parser's
    /// line and column.
    #[error("{file}: {message}")]
    Parse { file: PathBuf, message: String },
    #[error("{file}: schema is '{found}', expected '{PATIENT_SCHEMA}'")]
    Schema { file: PathBuf, found: String },
    /// A value that parses but cannot be right (negative dose, last fraction before the first).
    #[error("{file}: {field}: {problem}")]
    Value {
        file: PathBuf,
        field: String,
        problem: String,
    },
    #[error("{file}: unknown file type (use .toml or .json)")]
    Extension { file: PathBuf },
}

/// One T-DM1 administration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tdm1Dose {
    pub date: CivilDate,
    /// Label dose 3.6 mg/kg; reductions 3.0 and 2.4 mg/kg.
    pub dose_mg_per_kg: f64,
}

/// Kind of a radiotherapy course; decides which published timing windows apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CourseKind {
    /// Stereotactic radiosurgery (brain), usually one fraction.
    Srs,
    /// Fractionated stereotactic radiotherapy (brain).
    Srt,
    /// Whole-brain radiotherapy.
    Wbrt,
    /// Breast or chest wall, with or without regional nodes.
    Breast,
    Other,
}

impl CourseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CourseKind::Srs => "srs",
            CourseKind::Srt => "srt",
            CourseKind::Wbrt => "wbrt",
            CourseKind::Breast => "breast",
            CourseKind::Other => "other",
        }
    }

    /// Human wording for sentences ("SRS", "breast RT").
    pub fn label(self) -> &'static str {
        match self {
            CourseKind::Srs => "SRS",
            CourseKind::Srt => "SRT",
            CourseKind::Wbrt => "WBRT",
            CourseKind::Breast => "breast RT",
            CourseKind::Other => "RT",
        }
    }

    pub fn is_brain(self) -> bool {
        matches!(self, CourseKind::Srs | CourseKind::Srt | CourseKind::Wbrt)
    }
}

impl fmt::Display for CourseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One radiotherapy course.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtCourse {
    pub kind: CourseKind,
    /// Free text (e.g. "left breast + boost"); never a patient identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub first_fraction: CivilDate,
    pub last_fraction: CivilDate,
    /// Every fraction date, when known. Empty: only the first and last day are known.
    #[serde(default)]
    pub fraction_dates: Vec<CivilDate>,
}

impl RtCourse {
    /// The treatment dates known for this course, sorted and distinct: every fraction
    /// date when given, else the first and last day (one date for a one-day course).
    pub fn treatment_dates(&self) -> Vec<CivilDate> {
        let mut v = if self.fraction_dates.is_empty() {
            vec![self.first_fraction, self.last_fraction]
        } else {
            self.fraction_dates.clone()
        };
        v.sort();
        v.dedup();
        v
    }

    /// True when the course's individual fraction dates are known (or it lasts one day).
    pub fn fraction_dates_known(&self) -> bool {
        !self.fraction_dates.is_empty() || self.first_fraction == self.last_fraction
    }
}

/// Breast cup size as written on a bra label (A < B < C < D < DD < E < ...).
/// Only the order matters to the rules (S3: cup ≥ D).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BreastCup(u8);

impl BreastCup {
    /// Rank: AA = 0, A = 1, B = 2, C = 3, D = 4, DD = 5, E = 6, F = 7, G = 8, H = 9.
    pub fn parse(s: &str) -> Option<BreastCup> {
        let rank = match s.trim().to_ascii_uppercase().as_str() {
            "AA" => 0,
            "A" => 1,
            "B" => 2,
            "C" => 3,
            "D" => 4,
            "DD" => 5,
            "E" | "DDD" => 6,
            "F" => 7,
            "G" => 8,
            "H" => 9,
            _ => return None,
        };
        Some(BreastCup(rank))
    }

    pub const D: BreastCup = BreastCup(4);

    pub fn as_str(self) -> &'static str {
        ["AA", "A", "B", "C", "D", "DD", "E", "F", "G", "H"]
            .get(usize::from(self.0))
            .copied()
            .unwrap_or("?")
    }
}

impl Serialize for BreastCup {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for BreastCup {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<BreastCup, D::Error> {
        let s = String::deserialize(d)?;
        BreastCup::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "breast_cup '{s}': expected AA, A, B, C, D, DD, E, F, G or H"
            ))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Laterality {
    Left,
    Right,
    Bilateral,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SrsPlatform {
    GammaKnife,
    Linac,
    Cyberknife,
    Other,
}

/// Clinical covariates. Every field is optional: a rule that needs a missing one is
/// reported "not evaluated", never silently passed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Covariates {
    pub asian_ancestry: Option<bool>,
    /// Platelet count before the first T-DM1 dose, ×10⁹/L.
    pub baseline_platelets_1e9_per_l: Option<f64>,
    /// Most recent platelet count, ×10⁹/L (H1/H2 use it; baseline when absent).
    pub latest_platelets_1e9_per_l: Option<f64>,
    pub bmi: Option<f64>,
    pub breast_cup: Option<BreastCup>,
    pub laterality: Option<Laterality>,
    pub prior_wbrt: Option<bool>,
    pub prior_rt_same_lesion: Option<bool>,
    pub known_radiation_necrosis: Option<bool>,
    pub baseline_lvef_percent: Option<f64>,
    /// Most recent LVEF, % (C7 uses it; baseline when absent).
    pub latest_lvef_percent: Option<f64>,
    pub srs_platform: Option<SrsPlatform>,
    pub lesion_count: Option<u32>,
    pub lesion_max_diameter_mm: Option<f64>,
    /// Volume of the largest lesion, cc (B5). A caller may fill it from the GTVs.
    pub lesion_volume_cc: Option<f64>,
    /// Prescription dose per fraction, Gy (B4, S5). A caller may fill it from the plan.
    pub prescription_gy_per_fraction: Option<f64>,
    /// Share of the body's active marrow irradiated, % (H7).
    pub active_marrow_irradiated_percent: Option<f64>,
    pub proton_therapy: Option<bool>,
    /// Pneumonitis/ILD or grade ≥ 3 radiation pneumonitis (P4).
    pub pneumonitis_or_ild: Option<bool>,
}

/// A whole patient file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientFile {
    pub schema: String,
    /// Free text to tell files apart; never a name or a hospital number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudonym: Option<String>,
    #[serde(default)]
    pub tdm1: Vec<Tdm1Dose>,
    #[serde(default)]
    pub radiotherapy: Vec<RtCourse>,
    #[serde(default)]
    pub covariates: Covariates,
}

impl PatientFile {
    /// Read a `.toml` or `.json` patient file.
    pub fn load(path: &Path) -> Result<PatientFile, PatientError> {
        let text = std::fs::read_to_string(path).map_err(|source| PatientError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("toml") => PatientFile::from_toml_str(&text, path),
            Some("json") => PatientFile::from_json_str(&text, path),
            _ => Err(PatientError::Extension {
                file: path.to_path_buf(),
            }),
        }
    }

    /// Parse TOML text; `file` names it in errors.
    pub fn from_toml_str(text: &str, file: &Path) -> Result<PatientFile, PatientError> {
        let p: PatientFile = toml::from_str(text).map_err(|e| PatientError::Parse {
            file: file.to_path_buf(),
            // toml's Display gives "TOML parse error at line L, column C" plus the line.
            message: e.to_string(),
        })?;
        p.validate(file)?;
        Ok(p)
    }

    /// Parse JSON text; `file` names it in errors.
    pub fn from_json_str(text: &str, file: &Path) -> Result<PatientFile, PatientError> {
        let p: PatientFile = serde_json::from_str(text).map_err(|e| PatientError::Parse {
            file: file.to_path_buf(),
            // serde_json's Display ends with "at line L column C".
            message: e.to_string(),
        })?;
        p.validate(file)?;
        Ok(p)
    }

    /// Check what serde cannot: schema, positive finite doses, ordered course dates,
    /// plausible covariate ranges.
    pub fn validate(&self, file: &Path) -> Result<(), PatientError> {
        let err = |field: String, problem: String| PatientError::Value {
            file: file.to_path_buf(),
            field,
            problem,
        };
        if self.schema != PATIENT_SCHEMA {
            return Err(PatientError::Schema {
                file: file.to_path_buf(),
                found: self.schema.clone(),
            });
        }
        for (i, d) in self.tdm1.iter().enumerate() {
            if !(d.dose_mg_per_kg.is_finite() && d.dose_mg_per_kg > 0.0) {
                return Err(err(
                    format!("tdm1[{i}].dose_mg_per_kg"),
                    format!("{} is not a positive dose", d.dose_mg_per_kg),
                ));
            }
            // The label's highest dose is 3.6 mg/kg; a value far above it is almost
            // certainly a unit mistake (mg instead of mg/kg).
            if d.dose_mg_per_kg > 10.0 {
                return Err(err(
                    format!("tdm1[{i}].dose_mg_per_kg"),
                    format!(
                        "{} mg/kg is far above the 3.6 mg/kg label dose (total mg instead of mg/kg?)",
                        d.dose_mg_per_kg
                    ),
                ));
            }
        }
        for (i, c) in self.radiotherapy.iter().enumerate() {
            if c.last_fraction < c.first_fraction {
                return Err(err(
                    format!("radiotherapy[{i}].last_fraction"),
                    format!(
                        "{} is before first_fraction {}",
                        c.last_fraction, c.first_fraction
                    ),
                ));
            }
            if let (Some(min), Some(max)) =
                (c.fraction_dates.iter().min(), c.fraction_dates.iter().max())
                && (*min != c.first_fraction || *max != c.last_fraction)
            {
                return Err(err(
                    format!("radiotherapy[{i}].fraction_dates"),
                    format!(
                        "run from {min} to {max} but the course is {} to {}: the earliest and latest fraction dates must equal first_fraction and last_fraction",
                        c.first_fraction, c.last_fraction
                    ),
                ));
            }
        }
        let cov = &self.covariates;
        let ranges: [(&str, Option<f64>, f64, f64); 9] = [
            (
                "baseline_platelets_1e9_per_l",
                cov.baseline_platelets_1e9_per_l,
                0.0,
                2000.0,
            ),
            (
                "latest_platelets_1e9_per_l",
                cov.latest_platelets_1e9_per_l,
                0.0,
                2000.0,
            ),
            ("bmi", cov.bmi, 8.0, 120.0),
            (
                "baseline_lvef_percent",
                cov.baseline_lvef_percent,
                0.0,
                100.0,
            ),
            ("latest_lvef_percent", cov.latest_lvef_percent, 0.0, 100.0),
            (
                "lesion_max_diameter_mm",
                cov.lesion_max_diameter_mm,
                0.0,
                300.0,
            ),
            ("lesion_volume_cc", cov.lesion_volume_cc, 0.0, 5000.0),
            (
                "prescription_gy_per_fraction",
                cov.prescription_gy_per_fraction,
                0.0,
                100.0,
            ),
            (
                "active_marrow_irradiated_percent",
                cov.active_marrow_irradiated_percent,
                0.0,
                100.0,
            ),
        ];
        for (name, v, lo, hi) in ranges {
            if let Some(v) = v
                && !(v.is_finite() && (lo..=hi).contains(&v))
            {
                return Err(err(
                    format!("covariates.{name}"),
                    format!("{v} is outside the plausible range {lo}–{hi}"),
                ));
            }
        }
        Ok(())
    }
}
