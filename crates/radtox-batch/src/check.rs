//! QA gating (`radtox check`): does an analysed plan pass?
//!
//! Three kinds of requirement, each reported item by item:
//!
//! * **constraints** `STRUCTURE METRIC OP VALUE`, e.g. `Brain-GTV V12Gy[cc] < 10`: the
//!   metric is TG-263 text (any spelling `radtox-dose` accepts), OP one of `<`, `<=`,
//!   `>`, `>=` (or `≤`, `≥`), VALUE in the metric's unit. A constraint whose structure is
//!   missing or whose metric has no value cannot be shown to hold, so it fails
//!   (`not_evaluated`).
//! * **risk flags** in the analysis document (`flags`, present when rules were run): a
//!   *raised* flag at or above `--fail-on` fails the check; indeterminate or not-evaluated
//!   flags are reported but do not fail it. When the document holds no `flags` field,
//!   `flags_evaluated` is false.
//! * **TPS DVH tolerance**: for every structure with an embedded planning-system DVH,
//!   |mean dose difference| and |volume difference| (percent) must not exceed the
//!   tolerance; a plan without any embedded DVH fails this check (it was asked for and
//!   cannot be done).
//!
//! The result ([`CheckResult`]) is JSON described by `docs/check-result.schema.json`.

use crate::error::BatchError;
use crate::rows::level_rank;
use radtox_dose::MetricRequest;
use serde::Serialize;
use serde_json::Value;

/// Identifier of the result document's layout.
pub const CHECK_SCHEMA: &str = "radtox-check/1";

/// Exit codes of `radtox check`.
pub const EXIT_PASS: u8 = 0;
pub const EXIT_FAIL: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Lt => value < threshold,
            Op::Le => value <= threshold,
            Op::Gt => value > threshold,
            Op::Ge => value >= threshold,
        }
    }
}

/// One constraint: `structure metric op threshold`.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    pub text: String,
    pub structure: String,
    pub metric: MetricRequest,
    pub op: Op,
    pub threshold: f64,
}

impl std::str::FromStr for Constraint {
    type Err = BatchError;
    fn from_str(s: &str) -> Result<Constraint, BatchError> {
        let err = |reason: &str| BatchError::Constraint {
            given: s.to_string(),
            reason: reason.to_string(),
        };
        // Two-character operators first, so "<=" is not read as "<" then "=10".
        let ops = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("≤", Op::Le),
            ("≥", Op::Ge),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        let (pos, tok, op) = ops
            .iter()
            .filter_map(|(t, op)| s.find(t).map(|p| (p, *t, *op)))
            .min_by_key(|(p, t, _)| (*p, std::cmp::Reverse(t.len())))
            .ok_or_else(|| err("no comparison operator (<, <=, >, >=)"))?;
        let (lhs, rhs) = (s[..pos].trim(), s[pos + tok.len()..].trim());
        let (structure, metric) = lhs.rsplit_once(char::is_whitespace).ok_or_else(|| {
            err("expected 'STRUCTURE METRIC OP VALUE', e.g. 'Brain-GTV V12Gy[cc] < 10'")
        })?;
        let structure = structure.trim();
        if structure.is_empty() {
            return Err(err("no structure name"));
        }
        let metric: MetricRequest = metric
            .trim()
            .parse()
            .map_err(|e| err(&format!("metric {metric:?}: {e}")))?;
        // The threshold may repeat the metric's unit ("< 10 cc", "<= 20Gy").
        let number = rhs
            .trim_end_matches(|c: char| c.is_alphabetic() || c == '%' || c == '³')
            .trim();
        let threshold: f64 = number
            .parse()
            .map_err(|_| err(&format!("threshold {rhs:?} is not a number")))?;
        if !threshold.is_finite() {
            return Err(err("the threshold must be finite"));
        }
        Ok(Constraint {
            text: s.trim().to_string(),
            structure: structure.to_string(),
            metric,
            op,
            threshold,
        })
    }
}

/// Lowest flag level that fails the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailOn {
    Caution,
    High,
}

impl FailOn {
    fn rank(self) -> u8 {
        match self {
            FailOn::Caution => 1,
            FailOn::High => 2,
        }
    }
}

/// Largest accepted differences from the planning system's DVH, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TpsTolerance {
    pub mean_percent: f64,
    pub volume_percent: f64,
}

impl std::str::FromStr for TpsTolerance {
    type Err = BatchError;
    /// `2` (both), `2,3` (mean, volume) or `mean=2,volume=3`; `%` signs allowed.
    fn from_str(s: &str) -> Result<TpsTolerance, BatchError> {
        let err = |reason: &str| BatchError::TpsTolerance {
            given: s.to_string(),
            reason: reason.to_string(),
        };
        let num = |t: &str| -> Result<f64, BatchError> {
            let v: f64 = t
                .trim()
                .trim_end_matches('%')
                .trim()
                .parse()
                .map_err(|_| err(&format!("{t:?} is not a number")))?;
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(err("tolerances must be finite and ≥ 0"))
            }
        };
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let (mut mean, mut volume) = (None, None);
        match parts.as_slice() {
            [one] if !one.contains('=') => {
                let v = num(one)?;
                (mean, volume) = (Some(v), Some(v));
            }
            [a, b] if !a.contains('=') && !b.contains('=') => {
                (mean, volume) = (Some(num(a)?), Some(num(b)?));
            }
            named => {
                for p in named {
                    let (k, v) = p
                        .split_once('=')
                        .ok_or_else(|| err("expected mean=X,volume=Y"))?;
                    match k.trim() {
                        "mean" => mean = Some(num(v)?),
                        "volume" => volume = Some(num(v)?),
                        other => return Err(err(&format!("unknown key {other:?}"))),
                    }
                }
            }
        }
        match (mean, volume) {
            (Some(m), Some(v)) => Ok(TpsTolerance {
                mean_percent: m,
                volume_percent: v,
            }),
            _ => Err(err("give both mean and volume tolerances")),
        }
    }
}

/// The verdict on one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Pass,
    Fail,
    NotEvaluated,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConstraintResult {
    pub constraint: String,
    pub structure: String,
    pub metric: String,
    pub operator: Op,
    pub threshold: f64,
    pub value: Option<f64>,
    pub status: ItemStatus,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlagResult {
    pub rule_id: String,
    pub status: String,
    pub level: Option<String>,
    /// Triggered at or above `fail_on`.
    pub blocking: bool,
    pub sentence: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TpsResult {
    pub structure: String,
    pub roi_number: Option<i64>,
    pub mean_diff_percent: Option<f64>,
    pub volume_diff_percent: Option<f64>,
    pub status: ItemStatus,
    pub reason: Option<String>,
}

/// Overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    Error,
}

/// The JSON document printed by `radtox check`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub schema: &'static str,
    pub radtox_version: &'static str,
    pub status: Verdict,
    pub exit_code: u8,
    pub summary: String,
    pub fail_on: FailOn,
    pub constraints: Vec<ConstraintResult>,
    pub flags_evaluated: bool,
    pub flags: Vec<FlagResult>,
    pub tps_tolerance: Option<TpsTolerance>,
    pub tps_checks: Vec<TpsResult>,
    pub warnings: Vec<String>,
    pub error: Option<String>,
}

impl CheckResult {
    /// The result when the check could not run (unreadable input, bad arguments).
    pub fn error(message: &str, fail_on: FailOn) -> CheckResult {
        CheckResult {
            schema: CHECK_SCHEMA,
            radtox_version: env!("CARGO_PKG_VERSION"),
            status: Verdict::Error,
            exit_code: EXIT_ERROR,
            summary: format!("ERROR: {message}"),
            fail_on,
            constraints: Vec::new(),
            flags_evaluated: false,
            flags: Vec::new(),
            tps_tolerance: None,
            tps_checks: Vec::new(),
            warnings: Vec::new(),
            error: Some(message.to_string()),
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail; keep a valid document anyway.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            format!("{{\"schema\":\"{CHECK_SCHEMA}\",\"status\":\"error\",\"exit_code\":2,\"error\":{:?}}}", e.to_string())
        }) + "\n"
    }
}

/// Find a structure by exact name, else its TG-263 name, else case-insensitively.
fn find_structure<'a>(structures: &'a [Value], name: &str) -> Option<&'a Value> {
    let field = |s: &Value, f: &str| s.get(f).and_then(Value::as_str).map(str::to_string);
    structures
        .iter()
        .find(|s| field(s, "name").as_deref() == Some(name))
        .or_else(|| {
            structures
                .iter()
                .find(|s| field(s, "tg263_name").as_deref() == Some(name))
        })
        .or_else(|| {
            structures
                .iter()
                .find(|s| field(s, "name").is_some_and(|n| n.eq_ignore_ascii_case(name)))
        })
}

fn evaluate_constraint(structures: &[Value], c: &Constraint) -> ConstraintResult {
    let metric = c.metric.to_string();
    let mut r = ConstraintResult {
        constraint: c.text.clone(),
        structure: c.structure.clone(),
        metric: metric.clone(),
        operator: c.op,
        threshold: c.threshold,
        value: None,
        status: ItemStatus::NotEvaluated,
        reason: None,
    };
    let Some(s) = find_structure(structures, &c.structure) else {
        r.reason = Some(format!("the plan has no structure named {:?}", c.structure));
        return r;
    };
    match s
        .get("metrics")
        .and_then(|m| m.get(&metric))
        .and_then(Value::as_f64)
    {
        Some(v) => {
            r.value = Some(v);
            r.status = if c.op.holds(v, c.threshold) {
                ItemStatus::Pass
            } else {
                ItemStatus::Fail
            };
        }
        None => {
            let why = s
                .get("metric_errors")
                .and_then(|m| m.get(&metric))
                .and_then(Value::as_str)
                .unwrap_or("the metric was not computed");
            r.reason = Some(format!("{metric} has no value: {why}"));
        }
    }
    r
}

/// Judge an analysis.
pub fn evaluate_analysis(
    analysis: &radtox_report::Analysis,
    constraints: &[Constraint],
    fail_on: FailOn,
    tps: Option<TpsTolerance>,
) -> Result<CheckResult, BatchError> {
    let doc = serde_json::to_value(analysis).map_err(|e| BatchError::Serialise {
        what: "the analysis".into(),
        message: e.to_string(),
    })?;
    Ok(evaluate(&doc, constraints, fail_on, tps))
}

/// Judge an analysis document (the JSON of `radtox analyze`).
pub fn evaluate(
    doc: &Value,
    constraints: &[Constraint],
    fail_on: FailOn,
    tps: Option<TpsTolerance>,
) -> CheckResult {
    let structures: &[Value] = doc
        .get("structures")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let constraint_results: Vec<ConstraintResult> = constraints
        .iter()
        .map(|c| evaluate_constraint(structures, c))
        .collect();
    let mut warnings = Vec::new();
    let flags_value = doc.get("flags").and_then(Value::as_array);
    let flags: Vec<FlagResult> = flags_value
        .into_iter()
        .flatten()
        .map(|f| {
            let s = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_string);
            let status = s("status").unwrap_or_default();
            let level = s("level");
            let rank = level.as_deref().and_then(level_rank);
            // radtox-report writes "raised"; radtox-clinic's own status is "triggered".
            let raised = status == "raised" || status == "triggered";
            let blocking = raised && rank.is_some_and(|r| r >= fail_on.rank());
            FlagResult {
                rule_id: s("rule_id").unwrap_or_default(),
                status,
                level,
                blocking,
                sentence: s("sentence").unwrap_or_default(),
            }
        })
        .collect();
    if flags_value.is_none_or(|f| f.is_empty()) {
        warnings.push(
            "the analysis holds no risk flags (no pipeline rules or patient file): only \
             constraints and the TPS tolerance were checked"
                .to_string(),
        );
    }
    let mut tps_checks = Vec::new();
    if let Some(tol) = tps {
        for s in structures {
            let Some(c) = s.get("tps_dvh_check").filter(|c| !c.is_null()) else {
                continue;
            };
            let mean = c.get("mean_diff_percent").and_then(Value::as_f64);
            let vol = c.get("volume_diff_percent").and_then(Value::as_f64);
            let within = |x: Option<f64>, t: f64| x.is_some_and(|x| x.abs() <= t);
            let ok = within(mean, tol.mean_percent) && within(vol, tol.volume_percent);
            let mut reasons = Vec::new();
            if !within(mean, tol.mean_percent) {
                reasons.push(format!(
                    "mean dose differs by {:.2} % (tolerance {} %)",
                    mean.unwrap_or(f64::NAN),
                    tol.mean_percent
                ));
            }
            if !within(vol, tol.volume_percent) {
                reasons.push(format!(
                    "volume differs by {:.2} % (tolerance {} %)",
                    vol.unwrap_or(f64::NAN),
                    tol.volume_percent
                ));
            }
            tps_checks.push(TpsResult {
                structure: s
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                roi_number: s.get("roi_number").and_then(Value::as_i64),
                mean_diff_percent: mean,
                volume_diff_percent: vol,
                status: if ok {
                    ItemStatus::Pass
                } else {
                    ItemStatus::Fail
                },
                reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
            });
        }
        if tps_checks.is_empty() {
            tps_checks.push(TpsResult {
                structure: String::new(),
                roi_number: None,
                mean_diff_percent: None,
                volume_diff_percent: None,
                status: ItemStatus::NotEvaluated,
                reason: Some(
                    "the plan has no planning-system DVH (RT Dose DVH Sequence) to compare with"
                        .into(),
                ),
            });
        }
    }
    let failed_constraints = constraint_results
        .iter()
        .filter(|c| c.status != ItemStatus::Pass)
        .count();
    let blocking = flags.iter().filter(|f| f.blocking).count();
    let failed_tps = tps_checks
        .iter()
        .filter(|t| t.status != ItemStatus::Pass)
        .count();
    let pass = failed_constraints == 0 && blocking == 0 && failed_tps == 0;
    let mut parts = vec![format!(
        "{}/{} constraints pass",
        constraint_results.len() - failed_constraints,
        constraint_results.len()
    )];
    if flags_value.is_some() {
        parts.push(format!(
            "{blocking} flag(s) at or above {}",
            match fail_on {
                FailOn::Caution => "caution",
                FailOn::High => "high",
            }
        ));
    }
    if tps.is_some() {
        parts.push(format!(
            "{}/{} TPS DVH checks within tolerance",
            tps_checks.len() - failed_tps,
            tps_checks.len()
        ));
    }
    CheckResult {
        schema: CHECK_SCHEMA,
        radtox_version: env!("CARGO_PKG_VERSION"),
        status: if pass { Verdict::Pass } else { Verdict::Fail },
        exit_code: if pass { EXIT_PASS } else { EXIT_FAIL },
        summary: format!(
            "{}: {}",
            if pass { "PASS" } else { "FAIL" },
            parts.join(", ")
        ),
        fail_on,
        constraints: constraint_results,
        flags_evaluated: flags_value.is_some(),
        flags,
        tps_tolerance: tps,
        tps_checks,
        warnings,
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_constraints() {
        let c: Constraint = "Brain-GTV V12Gy[cc] < 10".parse().unwrap();
        assert_eq!(c.structure, "Brain-GTV");
        assert_eq!(c.metric.to_string(), "V12Gy[cc]");
        assert_eq!((c.op, c.threshold), (Op::Lt, 10.0));
        let c: Constraint = "Left Lung  Mean[Gy] <= 20 Gy".parse().unwrap();
        assert_eq!(
            (c.structure.as_str(), c.op, c.threshold),
            ("Left Lung", Op::Le, 20.0)
        );
        let c: Constraint = "PTV D95%[Gy]≥19.5".parse().unwrap();
        assert_eq!((c.op, c.threshold), (Op::Ge, 19.5));
        for bad in [
            "V12Gy[cc] < 10",
            "Brain V12Gy[cc] 10",
            "Brain Vfoo < 1",
            "Brain V12Gy[cc] < x",
            "Brain V12Gy[cc] < inf",
        ] {
            assert!(bad.parse::<Constraint>().is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_tolerances() {
        let t: TpsTolerance = "2".parse().unwrap();
        assert_eq!((t.mean_percent, t.volume_percent), (2.0, 2.0));
        let t: TpsTolerance = "1.5%,3%".parse().unwrap();
        assert_eq!((t.mean_percent, t.volume_percent), (1.5, 3.0));
        let t: TpsTolerance = "volume=4,mean=1".parse().unwrap();
        assert_eq!((t.mean_percent, t.volume_percent), (1.0, 4.0));
        for bad in ["", "-1", "mean=1", "x=1,mean=2", "a,b"] {
            assert!(bad.parse::<TpsTolerance>().is_err(), "{bad}");
        }
    }

    fn doc() -> Value {
        json!({
            "structures": [
                {"name": "Brain-GTV", "roi_number": 1,
                 "metrics": {"V12Gy[cc]": 6.0, "Mean[Gy]": 3.0},
                 "metric_errors": {"CI[Paddick]": "no prescription"},
                 "tps_dvh_check": {"mean_diff_percent": -0.8, "volume_diff_percent": 2.5}},
                {"name": "PTV", "roi_number": 2, "metrics": {"D95%[Gy]": 19.0},
                 "metric_errors": {}, "tps_dvh_check": null}
            ]
        })
    }

    #[test]
    fn constraint_verdicts() {
        let cs: Vec<Constraint> = ["Brain-GTV V12Gy[cc] < 10", "brain-gtv Mean[Gy] <= 3"]
            .iter()
            .map(|c| c.parse().unwrap())
            .collect();
        let r = evaluate(&doc(), &cs, FailOn::High, None);
        assert_eq!(r.status, Verdict::Pass);
        assert_eq!(r.exit_code, 0);
        assert!(!r.flags_evaluated);
        let cs: Vec<Constraint> = ["PTV D95%[Gy] >= 19.5", "Brain-GTV V12Gy[cc] < 10"]
            .iter()
            .map(|c| c.parse().unwrap())
            .collect();
        let r = evaluate(&doc(), &cs, FailOn::High, None);
        assert_eq!((r.status, r.exit_code), (Verdict::Fail, 1));
        assert_eq!(r.constraints[0].status, ItemStatus::Fail);
        assert_eq!(r.constraints[0].value, Some(19.0));
        let cs = vec![
            "Heart Mean[Gy] < 1".parse().unwrap(),
            "PTV CI[Paddick] > 0.5".parse().unwrap(),
        ];
        let r = evaluate(&doc(), &cs, FailOn::High, None);
        assert!(
            r.constraints
                .iter()
                .all(|c| c.status == ItemStatus::NotEvaluated)
        );
        assert_eq!(r.exit_code, 1);
    }

    #[test]
    fn flag_levels() {
        let mut d = doc();
        d["flags"] = json!([
            {"rule_id": "B1", "status": "raised", "level": "caution", "sentence": "a"},
            {"rule_id": "B2", "status": "pass", "level": null, "sentence": "b"},
            {"rule_id": "B3", "status": "indeterminate", "level": "very high", "sentence": "c"}
        ]);
        let r = evaluate(&d, &[], FailOn::High, None);
        assert_eq!(r.exit_code, 0, "{}", r.summary);
        let r = evaluate(&d, &[], FailOn::Caution, None);
        assert_eq!(r.exit_code, 1);
        assert_eq!(r.flags.iter().filter(|f| f.blocking).count(), 1);
        d["flags"][0]["level"] = json!("very_high");
        assert_eq!(evaluate(&d, &[], FailOn::High, None).exit_code, 1);
    }

    #[test]
    fn tps_tolerance() {
        let tol = |s: &str| Some(s.parse::<TpsTolerance>().unwrap());
        assert_eq!(evaluate(&doc(), &[], FailOn::High, tol("1,3")).exit_code, 0);
        let r = evaluate(&doc(), &[], FailOn::High, tol("1,2"));
        assert_eq!(r.exit_code, 1);
        assert!(
            r.tps_checks[0]
                .reason
                .as_deref()
                .unwrap()
                .contains("volume differs by 2.50 %")
        );
        let mut d = doc();
        d["structures"][0]["tps_dvh_check"] = Value::Null;
        let r = evaluate(&d, &[], FailOn::High, tol("5"));
        assert_eq!(r.tps_checks[0].status, ItemStatus::NotEvaluated);
        assert_eq!(r.exit_code, 1);
    }
}
