//! Helpers shared by the end-to-end tests: run the `radtox` binary, read its JSON.
#![allow(dead_code)]

use radtox_fixtures::WrittenPlan;
use std::path::Path;
use std::process::{Command, Output};

pub fn radtox() -> Command {
    Command::new(env!("CARGO_BIN_EXE_radtox"))
}

/// Path of a file under `../shared/data` (the workspace's sibling folder).
pub fn shared(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel)
}

/// Path under the workspace root.
pub fn repo(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("radtox binary runs")
}

/// `radtox analyze --rtdose … --rtstruct … --rtplan … --format json --no-dvh -m …`.
pub fn analyze_json(plan: &WrittenPlan, metrics: &[&str], extra: &[&str]) -> serde_json::Value {
    let mut cmd = radtox();
    cmd.arg("analyze")
        .arg("--rtdose")
        .arg(&plan.rtdose)
        .arg("--rtstruct")
        .arg(&plan.rtstruct)
        .arg("--rtplan")
        .arg(&plan.rtplan)
        .args(["--format", "json", "--no-dvh"]);
    for m in metrics {
        cmd.args(["-m", m]);
    }
    cmd.args(extra);
    json_of(run(&mut cmd))
}

pub fn json_of(out: Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "radtox failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("radtox prints valid JSON")
}

pub fn structure<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["structures"]
        .as_array()
        .expect("structures array")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no structure named {name}"))
}

pub fn metric(st: &serde_json::Value, name: &str) -> f64 {
    st["metrics"][name].as_f64().unwrap_or_else(|| {
        panic!(
            "{} has no value for {name}: {}",
            st["name"], st["metric_errors"]
        )
    })
}
