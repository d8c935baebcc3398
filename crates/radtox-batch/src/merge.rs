//! `radtox merge DIR… --out OUT`: join the outputs of shards into one set.
//!
//! Shards must have been made with the same settings (same settings hash, which covers
//! the radtox version, metrics, sampling and pseudonymisation key fingerprint); a plan
//! present in several shards must have the same output. Each plan document is checked
//! against the hash its record holds before it is copied, so a damaged shard is refused
//! rather than merged.

use crate::atomic::write_atomic;
use crate::error::BatchError;
use crate::run::{DiscoveryCounts, Outputs, PlanRecord, ProblemEntry, write_aggregates};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Figures of a merge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergeSummary {
    pub shards: usize,
    pub plans: usize,
    pub problems: usize,
}

fn read_json(path: &Path) -> Result<Value, BatchError> {
    let bytes = std::fs::read(path).map_err(BatchError::io(path))?;
    serde_json::from_slice(&bytes).map_err(|e| BatchError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Names of the settings that differ between two settings objects.
fn differing(a: &Value, b: &Value) -> Vec<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return vec!["settings".into()];
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Shards K/N named in `shards` must cover 1..=N for one N, unless `partial`.
fn check_complete(shards: &[String], partial: bool) -> Result<(), BatchError> {
    let parsed: Vec<crate::Shard> = shards.iter().filter_map(|s| s.parse().ok()).collect();
    let counts: std::collections::BTreeSet<u32> = parsed.iter().map(|s| s.count).collect();
    if counts.len() > 1 {
        return Err(BatchError::Merge(format!(
            "the shards split the archive in different ways ({})",
            shards.join(", ")
        )));
    }
    if let Some(&n) = counts.iter().next() {
        let missing: Vec<String> = (1..=n)
            .filter(|k| !parsed.iter().any(|s| s.index == *k))
            .map(|k| format!("{k}/{n}"))
            .collect();
        if !missing.is_empty() && !partial {
            return Err(BatchError::Merge(format!(
                "shard(s) {} missing: the merged set would lack their plans (allow with --partial)",
                missing.join(", ")
            )));
        }
    }
    Ok(())
}

/// Merge the shard output directories `dirs` into `out`. Unless `partial`, the shards
/// must be complete (every K of N present).
pub fn merge(dirs: &[PathBuf], out: &Path, partial: bool) -> Result<MergeSummary, BatchError> {
    if dirs.is_empty() {
        return Err(BatchError::Merge("no shard directories given".into()));
    }
    std::fs::create_dir_all(out.join("plans")).map_err(BatchError::io(out))?;
    std::fs::create_dir_all(out.join("records")).map_err(BatchError::io(out))?;
    let out_canon = std::fs::canonicalize(out).map_err(BatchError::io(out))?;
    let mut first: Option<(PathBuf, Value)> = None;
    let mut shards = Vec::new();
    // plan key → (shard dir, output hash, status)
    let mut plans: BTreeMap<String, (PathBuf, Option<String>, String)> = BTreeMap::new();
    let mut problems: BTreeMap<String, ProblemEntry> = BTreeMap::new();
    let mut counts: Option<DiscoveryCounts> = None;
    for dir in dirs {
        if std::fs::canonicalize(dir).ok().as_deref() == Some(out_canon.as_path()) {
            return Err(BatchError::Merge(format!(
                "the output directory {} is also a shard to merge",
                dir.display()
            )));
        }
        let mpath = dir.join("manifest.json");
        let m = read_json(&mpath)?;
        if m.get("manifest_version").and_then(Value::as_u64)
            != Some(u64::from(crate::run::MANIFEST_VERSION))
        {
            return Err(BatchError::Merge(format!(
                "{}: unknown manifest version",
                mpath.display()
            )));
        }
        if let Some((fdir, fm)) = &first {
            if fm.get("settings_hash") != m.get("settings_hash") {
                let diff = differing(
                    fm.get("settings").unwrap_or(&Value::Null),
                    m.get("settings").unwrap_or(&Value::Null),
                );
                return Err(BatchError::Merge(format!(
                    "{} and {} were made with different settings ({}): refusing to merge",
                    fdir.display(),
                    dir.display(),
                    diff.join(", ")
                )));
            }
        } else {
            first = Some((dir.clone(), m.clone()));
        }
        let c: DiscoveryCounts = serde_json::from_value(
            m.get("discovery").cloned().unwrap_or(Value::Null),
        )
        .map_err(|e| BatchError::Json {
            path: mpath.clone(),
            message: format!("discovery: {e}"),
        })?;
        match &counts {
            Some(prev) if *prev != c => {
                return Err(BatchError::Merge(format!(
                    "{} scanned a different archive ({} plans, {} problems) than the other shards ({} plans, {} problems)",
                    dir.display(),
                    c.plans_found,
                    c.problems_found,
                    prev.plans_found,
                    prev.problems_found
                )));
            }
            _ => counts = Some(c),
        }
        if let Some(s) = m.get("shard").and_then(Value::as_str) {
            shards.push(s.to_string());
        }
        if let Some(from) = m.get("merged_from").and_then(Value::as_array) {
            shards.extend(from.iter().filter_map(Value::as_str).map(str::to_string));
        }
        for p in m
            .get("problems")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let p: ProblemEntry =
                serde_json::from_value(p.clone()).map_err(|e| BatchError::Json {
                    path: mpath.clone(),
                    message: format!("problems: {e}"),
                })?;
            problems.insert(p.key.clone(), p);
        }
        for entry in m
            .get("plans")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = entry
                .get("plan")
                .and_then(Value::as_str)
                .ok_or_else(|| BatchError::Json {
                    path: mpath.clone(),
                    message: "a plan entry has no key".into(),
                })?
                .to_string();
            let hash = entry
                .get("output_blake3")
                .and_then(Value::as_str)
                .map(str::to_string);
            let status = entry
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if let Some((other, h, st)) = plans.get(&key)
                && (h != &hash || st != &status)
            {
                return Err(BatchError::Merge(format!(
                    "plan {key} has different results in {} and {}",
                    other.display(),
                    dir.display()
                )));
            }
            plans.insert(key, (dir.clone(), hash, status));
        }
    }
    let Some((_, fm)) = first else {
        return Err(BatchError::Merge("no shard directories given".into()));
    };
    for (key, (dir, hash, _)) in &plans {
        let rpath = dir.join("records").join(format!("{key}.json"));
        let bytes = std::fs::read(&rpath).map_err(BatchError::io(&rpath))?;
        let rec: PlanRecord = serde_json::from_slice(&bytes).map_err(|e| BatchError::Json {
            path: rpath.clone(),
            message: e.to_string(),
        })?;
        if let Some(name) = &rec.output {
            let ppath = dir.join("plans").join(name);
            let doc = std::fs::read(&ppath).map_err(BatchError::io(&ppath))?;
            let got = blake3::hash(&doc).to_hex().to_string();
            if Some(&got) != hash.as_ref() || rec.output_blake3.as_ref() != Some(&got) {
                return Err(BatchError::Merge(format!(
                    "{} does not match the hash in its shard's manifest (damaged or edited)",
                    ppath.display()
                )));
            }
            write_atomic(&out.join("plans").join(name), &doc)?;
        }
        write_atomic(&out.join("records").join(format!("{key}.json")), &bytes)?;
    }
    shards.sort();
    shards.dedup();
    check_complete(&shards, partial)?;
    let outputs = Outputs {
        settings: fm.get("settings").cloned().unwrap_or(Value::Null),
        settings_hash: fm
            .get("settings_hash")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        shard: None,
        merged_from: shards.clone(),
        discovery_counts: counts.unwrap_or_default(),
        problems: problems.values().cloned().collect(),
    };
    let keys: Vec<String> = plans.keys().cloned().collect();
    let root = fm.get("root").and_then(Value::as_str).map(str::to_string);
    let run = json!({ "merged_unix": std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) });
    write_aggregates(out, out, &keys, &outputs, run, root)?;
    Ok(MergeSummary {
        shards: dirs.len(),
        plans: keys.len(),
        problems: problems.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_sets_must_be_complete_and_consistent() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(check_complete(&v(&["1/3", "2/3", "3/3"]), false).is_ok());
        let e = check_complete(&v(&["1/3", "3/3"]), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2/3 missing"), "{e}");
        assert!(check_complete(&v(&["1/3", "3/3"]), true).is_ok());
        assert!(check_complete(&v(&["1/2", "1/3"]), true).is_err());
        // Merged sets list their shards in merged_from: merging merges works too.
        assert!(check_complete(&v(&["1/1"]), false).is_ok());
    }
}
