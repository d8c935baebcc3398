//! The long-format rows of `metrics.csv` and `flags.csv`, read from an analysis document.
//!
//! Rows are taken from the JSON form of the document rather than from the Rust struct so
//! that fields other stages add later (a TG-263 name per structure, risk flags) reach the
//! CSV files as soon as the document carries them, without a change here.

use radtox_dose::{MetricRequest, Output};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub plan: String,
    pub patient: String,
    pub structure: String,
    pub tg263_name: String,
    pub metric: String,
    /// physical, EQD2 or BED.
    pub domain: String,
    pub value: f64,
    pub unit: String,
}

pub const METRIC_HEADER: [&str; 8] = [
    "plan",
    "patient",
    "structure",
    "tg263_name",
    "metric",
    "domain",
    "value",
    "unit",
];

/// One row of `flags.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagRow {
    pub plan: String,
    pub patient: String,
    pub rule_id: String,
    pub status: String,
    pub level: String,
    pub structure: String,
    pub metric: String,
    pub value: Option<f64>,
    pub sentence: String,
}

pub const FLAG_HEADER: [&str; 9] = [
    "plan",
    "patient",
    "rule_id",
    "status",
    "level",
    "structure",
    "metric",
    "value",
    "sentence",
];

/// Domain and unit of a metric, from its TG-263 text.
pub fn domain_and_unit(metric: &str) -> (String, String) {
    match metric.parse::<MetricRequest>() {
        Ok(m) => {
            let unit = match m.output() {
                Output::Dose(u) => u.symbol().to_string(),
                Output::Volume(u) => u.symbol().to_string(),
                Output::Ratio => String::new(),
            };
            (m.domain().to_string(), unit)
        }
        // Not a metric radtox-dose knows (a field added by another stage): the bracketed
        // suffix is its unit by TG-263 convention.
        Err(_) => {
            let unit = metric
                .rsplit_once('[')
                .and_then(|(_, u)| u.strip_suffix(']'))
                .unwrap_or("")
                .to_string();
            ("physical".into(), unit)
        }
    }
}

fn str_field(v: &Value, names: &[&str]) -> String {
    names
        .iter()
        .find_map(|n| v.get(*n).and_then(Value::as_str))
        .unwrap_or("")
        .to_string()
}

/// Every metric value of the document (errors are left out: they are in the JSON).
pub fn metric_rows(doc: &Value, plan: &str, patient: &str) -> Vec<MetricRow> {
    let mut rows = Vec::new();
    let Some(structures) = doc.get("structures").and_then(Value::as_array) else {
        return rows;
    };
    for s in structures {
        let name = str_field(s, &["name"]);
        let tg263 = str_field(s, &["tg263_name", "tg263"]);
        let Some(metrics) = s.get("metrics").and_then(Value::as_object) else {
            continue;
        };
        for (metric, value) in metrics {
            let Some(value) = value.as_f64() else {
                continue;
            };
            let (domain, unit) = domain_and_unit(metric);
            rows.push(MetricRow {
                plan: plan.to_string(),
                patient: patient.to_string(),
                structure: name.clone(),
                tg263_name: tg263.clone(),
                metric: metric.clone(),
                domain,
                value,
                unit,
            });
        }
    }
    rows
}

/// Every risk flag of the document (none while the document has no `flags`).
pub fn flag_rows(doc: &Value, plan: &str, patient: &str) -> Vec<FlagRow> {
    doc.get("flags")
        .and_then(Value::as_array)
        .map(|flags| {
            flags
                .iter()
                .map(|f| FlagRow {
                    plan: plan.to_string(),
                    patient: patient.to_string(),
                    rule_id: str_field(f, &["rule_id", "id"]),
                    status: str_field(f, &["status"]),
                    level: str_field(f, &["level"]),
                    structure: str_field(f, &["structure"]),
                    metric: str_field(f, &["metric"]),
                    value: f.get("value").and_then(Value::as_f64),
                    sentence: str_field(f, &["sentence", "message"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Rank of a flag level (`info` < `caution` < `high` < `very high`); unknown → None.
pub fn level_rank(level: &str) -> Option<u8> {
    let l: String = level
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match l.as_str() {
        "info" => Some(0),
        "caution" => Some(1),
        "high" => Some(2),
        "veryhigh" => Some(3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_units() {
        assert_eq!(
            domain_and_unit("V12Gy[cc]"),
            ("physical".into(), "cc".into())
        );
        assert_eq!(
            domain_and_unit("D95%[Gy]"),
            ("physical".into(), "Gy".into())
        );
        assert_eq!(domain_and_unit("GI"), ("physical".into(), "".into()));
        assert_eq!(
            domain_and_unit("Mean[EQD2Gy]"),
            ("EQD2".into(), "EQD2Gy".into())
        );
        assert_eq!(domain_and_unit("V30EQD2Gy[%]"), ("EQD2".into(), "%".into()));
        assert_eq!(
            domain_and_unit("Widget[mm]"),
            ("physical".into(), "mm".into())
        );
    }

    #[test]
    fn rows_from_document() {
        let doc = serde_json::json!({
            "structures": [
                {"name": "Heart", "metrics": {"Mean[Gy]": 3.5, "V5Gy[%]": 10.0}},
                {"name": "Empty", "metrics": {}},
            ],
            "flags": [{"rule_id": "B1", "status": "triggered", "level": "caution",
                       "structure": "Brain", "metric": "V12Gy[cc]", "value": 6.2,
                       "sentence": "s"}]
        });
        let m = metric_rows(&doc, "p1", "anon-1");
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].metric.as_str(), m[0].value), ("Mean[Gy]", 3.5));
        assert_eq!(m[1].unit, "%");
        let f = flag_rows(&doc, "p1", "anon-1");
        assert_eq!(f[0].level, "caution");
        assert_eq!(f[0].value, Some(6.2));
        assert_eq!(level_rank("very high"), Some(3));
        assert_eq!(level_rank("VeryHigh"), Some(3));
        assert!(level_rank("caution") < level_rank("high"));
    }
}
