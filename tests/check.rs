//! `radtox check` end to end: exit codes (0 pass, 1 fail, 2 error), the JSON result on
//! stdout validated against `docs/check-result.schema.json`, and the one-line summary on
//! stderr.

use radtox_fixtures::{WriteOptions, brain_srs, write_plan};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn fixture(name: &str) -> PathBuf {
    Path::new(WORKSPACE).join("fixtures").join(name)
}

struct Run {
    code: i32,
    json: Value,
    stderr: String,
}

fn check(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_radtox"))
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}"));
    validate(&json);
    Run {
        code: out.status.code().unwrap(),
        json,
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn schema() -> Value {
    let text = std::fs::read_to_string(Path::new(WORKSPACE).join("docs/check-result.schema.json"))
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Validate against the schema file. A small validator for the JSON Schema keywords the
/// file uses (type, const, enum, required, properties, additionalProperties, items,
/// minimum, $ref to #/$defs): any other keyword makes the test fail, so the schema
/// cannot silently grow rules this check ignores.
fn validate(doc: &Value) {
    let root = schema();
    let mut errors = Vec::new();
    validate_at(&root, &root, doc, "$", &mut errors);
    assert!(errors.is_empty(), "schema violations: {errors:#?}\n{doc:#}");
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("schema uses unknown type {other}"),
    }
}

fn validate_at(root: &Value, s: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let s = s.as_object().expect("schema node is an object");
    for (k, rule) in s {
        match k.as_str() {
            "$schema" | "$id" | "title" | "description" | "$defs" => {}
            "$ref" => {
                let name = rule.as_str().unwrap().strip_prefix("#/$defs/").unwrap();
                validate_at(root, &root["$defs"][name], v, at, errors);
            }
            "type" => {
                let ok = match rule {
                    Value::String(t) => type_ok(t, v),
                    Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)),
                    _ => panic!("bad type rule"),
                };
                if !ok {
                    errors.push(format!("{at}: {v} is not of type {rule}"));
                }
            }
            "const" if v != rule => errors.push(format!("{at}: {v} ≠ {rule}")),
            "const" => {}
            "enum" => {
                if !rule.as_array().unwrap().contains(v) {
                    errors.push(format!("{at}: {v} not in {rule}"));
                }
            }
            "minimum" => {
                if let Some(x) = v.as_f64()
                    && x < rule.as_f64().unwrap()
                {
                    errors.push(format!("{at}: {x} < {rule}"));
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for r in rule.as_array().unwrap() {
                        if !o.contains_key(r.as_str().unwrap()) {
                            errors.push(format!("{at}: missing {r}"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(o) = v.as_object() {
                    for (name, sub) in rule.as_object().unwrap() {
                        if let Some(x) = o.get(name) {
                            validate_at(root, sub, x, &format!("{at}.{name}"), errors);
                        }
                    }
                }
            }
            "additionalProperties" => {
                assert_eq!(rule, &Value::Bool(false), "only false is supported");
                if let (Some(o), Some(props)) = (v.as_object(), s["properties"].as_object()) {
                    for name in o.keys().filter(|n| !props.contains_key(*n)) {
                        errors.push(format!("{at}: unexpected property {name}"));
                    }
                }
            }
            "items" => {
                if let Some(a) = v.as_array() {
                    for (i, x) in a.iter().enumerate() {
                        validate_at(root, rule, x, &format!("{at}[{i}]"), errors);
                    }
                }
            }
            other => {
                panic!("the schema uses keyword {other:?}, which this validator does not know")
            }
        }
    }
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    let root = schema();
    let bad = serde_json::json!({"schema": "radtox-check/2", "status": "maybe", "extra": 1});
    let mut errors = Vec::new();
    validate_at(&root, &root, &bad, "$", &mut errors);
    let text = errors.join("\n");
    for needle in [
        "radtox-check/2",
        "maybe",
        "unexpected property extra",
        "missing \"exit_code\"",
    ] {
        assert!(text.contains(needle), "{needle} not reported in {text}");
    }
}

#[test]
fn passing_constraints_exit_0() {
    let dir = fixture("brain-srs");
    let r = check(&[
        dir.to_str().unwrap(),
        "--constraint",
        "Brain V12Gy[cc] < 1000",
        "-c",
        "PTV_1 Max[Gy] >= 10",
    ]);
    assert_eq!(r.code, 0, "{:#}", r.json);
    assert_eq!(r.json["status"], "pass");
    assert_eq!(r.json["constraints"][0]["status"], "pass");
    let v = r.json["constraints"][0]["value"].as_f64().unwrap();
    assert!(v > 0.0 && v < 1000.0);
    assert!(r.stderr.starts_with("radtox check: PASS"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}

#[test]
fn a_failing_or_unevaluable_constraint_exits_1() {
    let dir = fixture("brain-srs");
    let r = check(&[dir.to_str().unwrap(), "-c", "Brain V12Gy[cc] < 0.001"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json["status"], "fail");
    assert_eq!(r.json["constraints"][0]["status"], "fail");
    assert!(r.stderr.starts_with("radtox check: FAIL"), "{}", r.stderr);
    // A structure the plan lacks cannot be shown to meet its constraint.
    let r = check(&[dir.to_str().unwrap(), "-c", "Heart Mean[Gy] < 5"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json["constraints"][0]["status"], "not_evaluated");
}

#[test]
fn tps_tolerance_compares_with_the_embedded_dvh() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = WriteOptions {
        include_tps_dvh: true,
        ..WriteOptions::default()
    };
    write_plan(&brain_srs(), tmp.path(), &opts).unwrap();
    let dir = tmp.path().to_str().unwrap();
    let r = check(&[dir, "--tps-tolerance", "50,50"]);
    assert_eq!(r.code, 0, "{:#}", r.json);
    let checks = r.json["tps_checks"].as_array().unwrap();
    assert!(checks.len() >= 3, "{checks:?}");
    // No DVH agrees to 0 %: every structure fails a zero tolerance.
    let r = check(&[dir, "--tps-tolerance", "mean=0,volume=0"]);
    assert_eq!(r.code, 1);
    // Without an embedded DVH the requested check cannot be done.
    let plain = tempfile::tempdir().unwrap();
    write_plan(&brain_srs(), plain.path(), &WriteOptions::default()).unwrap();
    let r = check(&[plain.path().to_str().unwrap(), "--tps-tolerance", "2"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json["tps_checks"][0]["status"], "not_evaluated");
}

#[test]
fn errors_exit_2_with_a_json_result() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let r = check(&[missing.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert_eq!(r.json["status"], "error");
    assert!(r.json["error"].as_str().unwrap().contains("nope"));
    let dir = fixture("brain-srs");
    for bad in ["Brain V12Gy[cc] 10", "Brain Vx[cc] < 1"] {
        let r = check(&[dir.to_str().unwrap(), "-c", bad]);
        assert_eq!(r.code, 2, "{bad}");
        assert!(
            r.json["error"]
                .as_str()
                .unwrap()
                .contains("invalid constraint")
        );
    }
    let r = check(&[dir.to_str().unwrap(), "--tps-tolerance=-1"]);
    assert_eq!(r.code, 2);
    let not_dicom = tmp.path().join("plan");
    std::fs::create_dir(&not_dicom).unwrap();
    std::fs::write(not_dicom.join("rtdose.dcm"), "text").unwrap();
    let r = check(&[not_dicom.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("radtox check: ERROR"), "{}", r.stderr);
}

/// The flag gate on real flags: the brain-srs pipeline and the brain SRS patient vignette
/// (T-DM1 8 days after SRS) raise flags; `--fail-on caution` fails on them.
#[test]
fn raised_flags_fail_at_or_above_the_chosen_level() {
    use radtox_batch::check::{FailOn, evaluate_analysis};
    let ws = Path::new(WORKSPACE);
    let inputs = radtox_analysis::PlanInputs::from_dir(&fixture("brain-srs")).unwrap();
    let opts = radtox_analysis::AnalysisOptions {
        pipeline: Some(
            radtox_analysis::load_pipeline(&ws.join("pipelines/brain-srs.toml")).unwrap(),
        ),
        patient: Some(
            radtox_analysis::load_patient(&ws.join("examples/patients/brain-srs.toml")).unwrap(),
        ),
        ..Default::default()
    };
    let analysis = radtox_analysis::analyze(&inputs, &opts).unwrap();
    let raised: Vec<_> = analysis
        .flags
        .iter()
        .filter(|f| f.status == "raised")
        .collect();
    assert!(!raised.is_empty(), "the vignette raises no flag");
    let lowest = |level: &str| raised.iter().any(|f| f.level == level);
    let r = evaluate_analysis(&analysis, &[], FailOn::Caution, None).unwrap();
    validate(&serde_json::to_value(&r).unwrap());
    assert_eq!(r.exit_code, 1, "{}", r.summary);
    assert!(r.flags.iter().any(|f| f.blocking));
    let r = evaluate_analysis(&analysis, &[], FailOn::High, None).unwrap();
    let any_high = lowest("high") || lowest("very_high");
    assert_eq!(r.exit_code, u8::from(any_high), "{}", r.summary);
}
