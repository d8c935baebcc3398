//! The evidence catalogue: one record per rule ID of the evidence file, shipped as
//! `evidence/tdm1.toml` inside the crate so the numbers live in data, not code.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

const CATALOGUE_TOML: &str = include_str!("../evidence/tdm1.toml");

/// The `schema` value of a catalogue file.
pub const EVIDENCE_SCHEMA: &str = "radtox-evidence/1";

/// How a record's numbers were checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verification {
    /// \[V\] read in a source.
    Verified,
    /// \[S\] from the seed review.
    Seed,
    /// \[R\] recalled, not verified: rules built on it are provisional.
    Recalled,
}

impl Verification {
    pub fn tag(self) -> &'static str {
        match self {
            Verification::Verified => "V",
            Verification::Seed => "S",
            Verification::Recalled => "R",
        }
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verification::Verified => "verified [V]",
            Verification::Seed => "seed review [S]",
            Verification::Recalled => "recalled, unverified [R]",
        })
    }
}

/// A published result that argues against a flag, shown beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceAgainst {
    pub citation: String,
    pub text: String,
}

impl fmt::Display for EvidenceAgainst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.citation, self.text)
    }
}

/// One evidence record (`B6`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceRecord {
    pub id: String,
    pub title: String,
    /// What is measured, as the evidence file words it.
    pub metric: String,
    /// Tiers as the evidence file words them.
    pub tiers: String,
    pub citation: String,
    pub grade: String,
    pub verification: Verification,
    /// Parts of a mostly verified record that are recalled (`> 15 cc tier [R]`).
    pub recalled_parts: Option<String>,
    pub note: String,
    pub evidence_against: Vec<EvidenceAgainst>,
}

impl EvidenceRecord {
    /// True when any number of the record is recalled.
    pub fn has_recalled_numbers(&self) -> bool {
        self.verification == Verification::Recalled || self.recalled_parts.is_some()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    schema: String,
    #[serde(default)]
    against: BTreeMap<String, EvidenceAgainst>,
    record: Vec<RawRecord>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    id: String,
    title: String,
    metric: String,
    tiers: String,
    citation: String,
    grade: String,
    verification: Verification,
    recalled_parts: Option<String>,
    note: String,
    #[serde(default)]
    against: Vec<String>,
}

/// Why a catalogue is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogueError {
    #[error("evidence catalogue: {0}")]
    Parse(String),
    #[error("evidence catalogue: schema '{0}', expected '{EVIDENCE_SCHEMA}'")]
    Schema(String),
    #[error("evidence catalogue: record {id}: {problem}")]
    Record { id: String, problem: String },
}

/// All evidence records, in file order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalogue {
    pub records: Vec<EvidenceRecord>,
}

impl Catalogue {
    /// The catalogue shipped with the crate.
    pub fn builtin() -> Result<Catalogue, CatalogueError> {
        Catalogue::from_toml_str(CATALOGUE_TOML)
    }

    /// Parse and check a catalogue: unique IDs, non-empty title, citation and grade,
    /// every "against" reference defined.
    pub fn from_toml_str(text: &str) -> Result<Catalogue, CatalogueError> {
        let raw: RawCatalogue =
            toml::from_str(text).map_err(|e| CatalogueError::Parse(e.to_string()))?;
        if raw.schema != EVIDENCE_SCHEMA {
            return Err(CatalogueError::Schema(raw.schema));
        }
        let mut records: Vec<EvidenceRecord> = Vec::with_capacity(raw.record.len());
        for r in raw.record {
            let problem = |p: &str| CatalogueError::Record {
                id: r.id.clone(),
                problem: p.to_string(),
            };
            if records.iter().any(|x| x.id == r.id) {
                return Err(problem("duplicate id"));
            }
            for (field, v) in [
                ("title", &r.title),
                ("citation", &r.citation),
                ("grade", &r.grade),
            ] {
                if v.trim().is_empty() {
                    return Err(problem(&format!("empty {field}")));
                }
            }
            let mut against = Vec::new();
            for key in &r.against {
                let a = raw
                    .against
                    .get(key)
                    .ok_or_else(|| problem(&format!("'against' names undefined entry '{key}'")))?;
                against.push(a.clone());
            }
            records.push(EvidenceRecord {
                id: r.id,
                title: r.title,
                metric: r.metric,
                tiers: r.tiers,
                citation: r.citation,
                grade: r.grade,
                verification: r.verification,
                recalled_parts: r.recalled_parts,
                note: r.note,
                evidence_against: against,
            });
        }
        Ok(Catalogue { records })
    }

    /// The record of an evidence ID; a rule variant (`B3.5fx`) finds its record (`B3`).
    pub fn get(&self, id: &str) -> Option<&EvidenceRecord> {
        let base = evidence_id(id);
        self.records.iter().find(|r| r.id == base)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.records.iter().map(|r| r.id.as_str())
    }
}

/// The evidence-record part of a rule ID: `B3` of `B3.5fx`.
pub fn evidence_id(rule_id: &str) -> &str {
    rule_id.split('.').next().unwrap_or(rule_id)
}
