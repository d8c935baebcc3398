//! `radtox batch`: every plan of an archive, in parallel, resumable, shardable.
//!
//! ## Output directory
//!
//! ```text
//! OUT/plans/<patient>_<plan>.json    the `analyze` document of each plan (scrubbed)
//! OUT/records/<plan>.json            what went in and what came out of each plan: input
//!                                    hashes, settings hash, output hash, metric and flag
//!                                    rows, or the error
//! OUT/metrics.csv, flags.csv, errors.csv, manifest.json
//! ```
//!
//! A plan is *finished* when its record exists: the record is written (atomically) after
//! the plan's document, so a run killed at any moment leaves finished plans complete and
//! unfinished ones absent. A rerun reuses a record when the plan's input files hash to the
//! same value, the settings hash is the same and the document is still there with the
//! recorded hash; everything else is redone. The CSV files and the manifest are rebuilt
//! from the records at the end of every run, streaming one record at a time.
//!
//! ## Memory
//!
//! `jobs` worker threads each take the next plan from a shared counter, so at most `jobs`
//! plans are in memory at once, whatever the archive's size. (A plain rayon `par_iter`
//! over plans would not bound this: a rayon thread waiting inside one plan's nested
//! parallel work steals and starts other plans.) Inside a plan, the analysis uses a rayon
//! pool of `jobs` threads.

use crate::atomic::{remove_stale_temporaries, write_atomic};
use crate::error::BatchError;
use crate::privacy::{Pseudonymizer, Scrubber, sanitise_component};
use crate::rows::{FLAG_HEADER, FlagRow, METRIC_HEADER, MetricRow, flag_rows, metric_rows};
use crate::shard::Shard;
use crate::walk::patient_name;
use radtox_analysis::{AnalysisOptions, PlanInputs};
use radtox_dicom::{DiscoveredPlan, Discovery, DiscoveryProblem};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Version of the manifest and record layout.
pub const MANIFEST_VERSION: u32 = 1;

/// Everything that decides what a batch run computes.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    pub analysis: AnalysisOptions,
    pub shard: Shard,
    /// Worker threads (plans in flight) and analysis threads; 0 = available cores.
    pub jobs: usize,
    /// Replace patient IDs, names and identifying paths in every output.
    pub pseudonymizer: Option<Pseudonymizer>,
    /// Redo plans whose last attempt failed even if nothing changed.
    pub retry_failed: bool,
    /// PatientID → patient file (`radtox-patient/1`) for the risk rules. A plan whose
    /// patient is listed is analysed with that file; the file's content is part of the
    /// plan's input hash.
    pub patients: BTreeMap<String, PathBuf>,
    /// Other settings that change results, recorded in the manifest and part of the
    /// settings hash.
    pub extra_settings: BTreeMap<String, String>,
    /// Also write each plan's self-contained HTML report (`plans/<name>.html`), scrubbed
    /// like the JSON document.
    pub html_report: bool,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            analysis: AnalysisOptions::default(),
            shard: Shard::ALL,
            jobs: 0,
            pseudonymizer: None,
            retry_failed: false,
            html_report: false,
            patients: BTreeMap::new(),
            extra_settings: BTreeMap::new(),
        }
    }
}

impl BatchOptions {
    /// The settings that change outputs, as recorded in the manifest. Worker counts and
    /// shard are not among them: they change how, not what.
    pub fn settings(&self) -> Value {
        let a = &self.analysis;
        let metrics: Vec<String> = if a.metrics.is_empty() {
            radtox_dose::default_metrics()
                .iter()
                .map(|m| m.to_string())
                .collect()
        } else {
            a.metrics.iter().map(|m| m.to_string()).collect()
        };
        json!({
            "radtox_version": env!("CARGO_PKG_VERSION"),
            "report_schema_version": radtox_report::SCHEMA_VERSION,
            "metrics": metrics,
            // Debug lists every field, so a new sampling option changes the hash too.
            "sampling": format!("{:?}", a.sampling),
            "dvh_bin_width_gy": a.dvh_bin_width_gy,
            "include_dvh": a.include_dvh,
            // Debug lists every loaded rule, name table and include: any change to the
            // pipeline changes the hash. Only the hash is recorded.
            "pipeline": a.pipeline.as_ref().map(pipeline_hash),
            "lq_model": format!("{:?}", a.lq_model),
            "fractions_override": a.fractions_override,
            "alpha_beta_default": a.alpha_beta_default,
            "derived": a.derived.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>(),
            "patients_table": !self.patients.is_empty(),
            "pseudonymize": self.pseudonymizer.is_some(),
            "pseudonym_key_fingerprint": self.pseudonymizer.as_ref().map(|p| p.fingerprint()),
            "extra": self.extra_settings,
        })
    }

    /// BLAKE3 of the canonical settings JSON.
    pub fn settings_hash(&self) -> String {
        blake3::hash(self.settings().to_string().as_bytes())
            .to_hex()
            .to_string()
    }
}

/// Hash of a loaded pipeline: its Debug form lists every rule, name table entry and
/// derived structure, so any change of content changes the hash. The file's location is
/// left out, so shards run from different checkouts of the same pipeline agree.
fn pipeline_hash(p: &radtox_analysis::Pipeline) -> String {
    let mut p = p.clone();
    p.source = PathBuf::new();
    blake3::hash(format!("{p:?}").as_bytes())
        .to_hex()
        .to_string()
}

/// One input file of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputFile {
    pub role: String,
    /// Relative to the root (a pseudonym token with `--pseudonymize`).
    pub path: String,
    pub blake3: String,
}

/// What happened to one plan; stored as `records/<plan>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRecord {
    pub plan: String,
    pub patient: String,
    /// "ok" or "failed".
    pub status: String,
    /// File name of the document under `plans/`.
    pub output: Option<String>,
    pub output_blake3: Option<String>,
    pub input_hash: String,
    pub settings_hash: String,
    pub inputs: Vec<InputFile>,
    /// How discovery grouped the files (fallbacks, ignored duplicate copies).
    pub notes: Vec<String>,
    pub error: Option<String>,
    pub metrics: Vec<MetricRow>,
    pub flags: Vec<FlagRow>,
}

/// Progress of a run, as it happens.
#[derive(Debug, Clone)]
pub enum Event {
    /// Discovery is done: `plans` in this shard, of which `reused` need no work.
    Started { plans: usize, problems: usize },
    /// One plan finished (`reused`: skipped as unchanged).
    PlanDone {
        plan: String,
        ok: bool,
        reused: bool,
    },
}

/// Receives [`Event`]s (from several worker threads).
pub trait Progress: Sync {
    fn event(&self, e: &Event);
}

/// A progress sink that ignores everything.
pub struct Silent;
impl Progress for Silent {
    fn event(&self, _: &Event) {}
}

/// Figures of a finished run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub plans: usize,
    pub analysed: usize,
    pub reused: usize,
    pub failed: usize,
    pub problems: usize,
    pub elapsed_s: f64,
}

fn records_dir(out: &Path) -> PathBuf {
    out.join("records")
}
fn plans_dir(out: &Path) -> PathBuf {
    out.join("plans")
}

fn hash_file(path: &Path) -> Result<String, std::io::Error> {
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(path)?)?;
    Ok(h.finalize().to_hex().to_string())
}

/// The patient key written in outputs: the pseudonym, or the raw PatientID.
fn patient_key(plan: &DiscoveredPlan, p: Option<&Pseudonymizer>) -> String {
    match (p, plan.patient_id.as_deref()) {
        (Some(p), Some(id)) => p.patient(id),
        (Some(p), None) => p.patient(""),
        (None, id) => id.unwrap_or("").to_string(),
    }
}

/// Every input file of a plan: doses, structure set, plan.
fn plan_files(plan: &DiscoveredPlan) -> Vec<&Path> {
    let mut f: Vec<&Path> = plan.doses.iter().map(PathBuf::as_path).collect();
    f.push(&plan.structure_set);
    f.extend(plan.plan.as_deref());
    f
}

/// The replacements applied to everything written for `plan`: the root prefix always
/// (outputs do not depend on where the archive is mounted), and with pseudonymisation the
/// patient's ID and name, and every input path, whole (a folder or file may be named
/// after the patient).
fn scrubber_for(
    root: &Path,
    plan: &DiscoveredPlan,
    patient_name: Option<&str>,
    extra_files: &[&Path],
    p: Option<&Pseudonymizer>,
) -> Scrubber {
    let mut s = Scrubber::default();
    let root_text = root.display().to_string();
    s.replace(&format!("{}/", root_text.trim_end_matches('/')), "");
    let Some(p) = p else { return s };
    let pseudonym = patient_key(plan, Some(p));
    let mut words: Vec<String> = Vec::new();
    if let Some(id) = &plan.patient_id {
        s.replace_token(id, &pseudonym);
        words.push(id.clone());
    }
    if let Some(name) = patient_name {
        s.replace(name, &pseudonym);
        s.replace(&name.replace('^', " "), &pseudonym);
        for w in name
            .split(['^', ' ', ','])
            .map(str::trim)
            .filter(|w| w.chars().count() >= 2)
        {
            s.replace_token(w, &pseudonym);
            words.push(w.to_string());
        }
    }
    let mut files = plan_files(plan);
    files.extend_from_slice(extra_files);
    for f in files {
        let rel = relative(root, f);
        let token = p.token("path", &rel);
        s.replace(&f.display().to_string(), &token);
        s.replace(&rel, &token);
        // Messages often quote the file name alone; folders named after the patient
        // are caught by the ID and name rules above.
        if let Some(name) = f.file_name() {
            let name = name.to_string_lossy();
            if words.iter().any(|w| name.contains(w.as_str())) {
                s.replace(&name, &token);
            }
        }
    }
    s
}

fn relative(root: &Path, f: &Path) -> String {
    f.strip_prefix(root).unwrap_or(f).display().to_string()
}

/// Hash the inputs of a plan: per file, and one value over roles, relative paths (so a
/// moved file counts as a change) and file hashes. The patient file, when the plan's
/// patient has one, is an input too.
fn hash_inputs(
    root: &Path,
    plan: &DiscoveredPlan,
    patient_file: Option<&Path>,
    scrub: &Scrubber,
) -> Result<(Vec<InputFile>, String), String> {
    let mut files = Vec::new();
    let mut roles: Vec<(&str, &Path)> =
        plan.doses.iter().map(|d| ("rtdose", d.as_path())).collect();
    roles.push(("rtstruct", &plan.structure_set));
    if let Some(p) = &plan.plan {
        roles.push(("rtplan", p));
    }
    if let Some(p) = patient_file {
        roles.push(("patient", p));
    }
    let mut all = blake3::Hasher::new();
    for (role, path) in roles {
        let h = hash_file(path)
            .map_err(|e| format!("{}: {e}", scrub.scrub(&path.display().to_string())))?;
        let rel = relative(root, path);
        for part in [role, rel.as_str(), h.as_str()] {
            all.update(part.as_bytes());
            all.update(&[0]);
        }
        files.push(InputFile {
            role: role.to_string(),
            path: scrub.scrub(&rel),
            blake3: h,
        });
    }
    Ok((files, all.finalize().to_hex().to_string()))
}

fn read_record(path: &Path) -> Option<PlanRecord> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Can the stored record be reused?
fn reusable(
    rec: &PlanRecord,
    input_hash: &str,
    settings_hash: &str,
    out: &Path,
    retry_failed: bool,
) -> bool {
    if rec.input_hash != input_hash || rec.settings_hash != settings_hash {
        return false;
    }
    match rec.status.as_str() {
        "ok" => match (&rec.output, &rec.output_blake3) {
            (Some(name), Some(h)) => hash_file(&plans_dir(out).join(name)).is_ok_and(|x| &x == h),
            _ => false,
        },
        _ => !retry_failed,
    }
}

/// The analysis inputs of a discovered plan. Field by field, so that inputs the analysis
/// may gain later keep their defaults (a struct literal would stop compiling, and
/// `..Default::default()` is refused by clippy while no field is left over).
#[allow(clippy::field_reassign_with_default)]
fn plan_inputs(plan: &DiscoveredPlan) -> PlanInputs {
    let mut inputs = PlanInputs::default();
    inputs.rtdose = plan.doses.clone();
    inputs.rtstruct = Some(plan.structure_set.clone());
    inputs.rtplan = plan.plan.clone();
    inputs.ct = plan.ct.clone();
    inputs.notes = plan.notes.clone();
    inputs
}

/// Analyse one plan (or reuse its record) and write its outputs. Never fails: every
/// problem becomes a failed record, except failing to write the record itself.
fn process(
    root: &Path,
    out: &Path,
    plan: &DiscoveredPlan,
    opts: &BatchOptions,
    settings_hash: &str,
    pool: &rayon::ThreadPool,
) -> Result<(PlanRecord, bool), BatchError> {
    let p = opts.pseudonymizer.as_ref();
    let patient_file = plan
        .patient_id
        .as_ref()
        .and_then(|id| opts.patients.get(id))
        .map(PathBuf::as_path);
    // The name is only needed to remove it; without pseudonymisation it is not read.
    let patient_name = p.and_then(|_| plan_files(plan).iter().find_map(|f| patient_name(f)));
    let extra: Vec<&Path> = patient_file.into_iter().collect();
    let scrub = scrubber_for(root, plan, patient_name.as_deref(), &extra, p);
    let patient = patient_key(plan, p);
    let record_path = records_dir(out).join(format!("{}.json", plan.key));
    let mut rec = PlanRecord {
        plan: plan.key.clone(),
        patient: patient.clone(),
        status: "failed".into(),
        output: None,
        output_blake3: None,
        input_hash: String::new(),
        settings_hash: settings_hash.to_string(),
        inputs: Vec::new(),
        notes: plan.notes.iter().map(|n| scrub.scrub(n)).collect(),
        error: None,
        metrics: Vec::new(),
        flags: Vec::new(),
    };
    match hash_inputs(root, plan, patient_file, &scrub) {
        Ok((files, h)) => {
            rec.inputs = files;
            rec.input_hash = h;
        }
        Err(e) => {
            // Unreadable inputs: never reusable, retried next time.
            rec.error = Some(format!("could not read the inputs: {e}"));
            write_record(&record_path, &rec)?;
            return Ok((rec, false));
        }
    }
    if let Some(old) = read_record(&record_path)
        && reusable(&old, &rec.input_hash, settings_hash, out, opts.retry_failed)
    {
        return Ok((old, true));
    }
    let inputs = plan_inputs(plan);
    let mut analysis_opts = opts.analysis.clone();
    if let Some(f) = patient_file {
        match radtox_analysis::load_patient(f) {
            Ok(pf) => analysis_opts.patient = Some(pf),
            Err(e) => {
                rec.error = Some(scrub.scrub(&format!("patient file: {e}")));
                write_record(&record_path, &rec)?;
                return Ok((rec, false));
            }
        }
    }
    // A panic inside the analysis of one plan must not take the batch down.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.install(|| radtox_analysis::analyze(&inputs, &analysis_opts))
    }));
    let analysis = match result {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            rec.error = Some(scrub.scrub(&e.to_string()));
            write_record(&record_path, &rec)?;
            return Ok((rec, false));
        }
        Err(_) => {
            rec.error = Some("internal error: the analysis panicked (please report)".into());
            write_record(&record_path, &rec)?;
            return Ok((rec, false));
        }
    };
    let mut doc = serde_json::to_value(&analysis).map_err(|e| BatchError::Serialise {
        what: format!("the analysis of plan {}", plan.key),
        message: e.to_string(),
    })?;
    scrub.scrub_json(&mut doc);
    let text = radtox_report::json::to_string(&doc).map_err(|e| BatchError::Serialise {
        what: format!("the analysis of plan {}", plan.key),
        message: e.to_string(),
    })? + "\n";
    let name = format!(
        "{}_{}.json",
        if p.is_some() {
            patient.clone()
        } else {
            sanitise_component(plan.patient_id.as_deref().unwrap_or(""))
        },
        plan.key
    );
    write_atomic(&plans_dir(out).join(&name), text.as_bytes())?;
    if opts.html_report {
        // The HTML is rendered from the unscrubbed analysis, then scrubbed as text: the
        // scrubber replaces identifiers wherever they stand, markup included.
        let html = scrub.scrub(&radtox_report::html::to_html(&analysis));
        let html_name = name.trim_end_matches(".json").to_string() + ".html";
        write_atomic(&plans_dir(out).join(html_name), html.as_bytes())?;
    }
    rec.status = "ok".into();
    rec.output_blake3 = Some(blake3::hash(text.as_bytes()).to_hex().to_string());
    rec.output = Some(name);
    rec.metrics = metric_rows(&doc, &plan.key, &patient);
    rec.flags = flag_rows(&doc, &plan.key, &patient);
    write_record(&record_path, &rec)?;
    Ok((rec, false))
}

fn write_record(path: &Path, rec: &PlanRecord) -> Result<(), BatchError> {
    let text = serde_json::to_string_pretty(rec).map_err(|e| BatchError::Serialise {
        what: format!("the record of plan {}", rec.plan),
        message: e.to_string(),
    })? + "\n";
    write_atomic(path, text.as_bytes())
}

/// Run a batch: discover plans under `root`, analyse this shard's plans into `out`, and
/// write the aggregate files. One bad plan never stops the run.
pub fn run_batch(
    root: &Path,
    out: &Path,
    opts: &BatchOptions,
    progress: &dyn Progress,
) -> Result<Summary, BatchError> {
    let started = Instant::now();
    let started_unix = unix_now();
    let root = std::fs::canonicalize(root).map_err(BatchError::io(root))?;
    if !root.is_dir() {
        return Err(BatchError::NotADirectory(root));
    }
    std::fs::create_dir_all(out).map_err(BatchError::io(out))?;
    let out = std::fs::canonicalize(out).map_err(BatchError::io(out))?;
    if root.starts_with(&out) {
        return Err(BatchError::RootInsideOut {
            out: out.clone(),
            root: root.clone(),
        });
    }
    // An output directory inside the root is allowed, but never scanned.
    let skip = out.starts_with(&root).then_some(out.as_path());
    for d in [out.clone(), plans_dir(&out), records_dir(&out)] {
        std::fs::create_dir_all(&d).map_err(BatchError::io(&d))?;
        remove_stale_temporaries(&d)?;
    }
    let jobs = if opts.jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.jobs
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| BatchError::Serialise {
            what: "a thread pool".into(),
            message: e.to_string(),
        })?;
    let discovery = pool.install(|| radtox_dicom::discover(&root));
    // Outputs are never DICOM, but an output folder inside the root must not feed
    // anything back into the run.
    let outside = |f: &Path| skip.is_none_or(|s| !f.starts_with(s));
    let mine: Vec<&DiscoveredPlan> = discovery
        .plans
        .iter()
        .filter(|p| opts.shard.contains(&p.key) && plan_files(p).iter().all(|f| outside(f)))
        .collect();
    let problems: Vec<ProblemEntry> = discovery
        .problems
        .iter()
        .filter(|p| p.files.iter().all(|f| outside(f)))
        .map(|p| problem_entry(&root, p, opts.pseudonymizer.as_ref()))
        .filter(|p| opts.shard.contains(&p.key))
        .collect();
    // Sorted by key, as a merge of shards sorts them: same archive, same manifest.
    let mut problems = problems;
    problems.sort_by(|a, b| a.key.cmp(&b.key));
    progress.event(&Event::Started {
        plans: mine.len(),
        problems: problems.len(),
    });
    let settings_hash = opts.settings_hash();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<(PlanRecord, bool)>>> = Mutex::new(vec![None; mine.len()]);
    let fatal: Mutex<Option<BatchError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(mine.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(plan) = mine.get(i) else { break };
                    if fatal.lock().map(|f| f.is_some()).unwrap_or(true) {
                        break;
                    }
                    match process(&root, &out, plan, opts, &settings_hash, &pool) {
                        Ok((rec, reused)) => {
                            progress.event(&Event::PlanDone {
                                plan: plan.key.clone(),
                                ok: rec.status == "ok",
                                reused,
                            });
                            // Keep only the small summary; rows are re-read from disk.
                            let light = PlanRecord {
                                metrics: Vec::new(),
                                flags: Vec::new(),
                                ..rec
                            };
                            if let Ok(mut r) = results.lock()
                                && let Some(slot) = r.get_mut(i)
                            {
                                *slot = Some((light, reused));
                            }
                        }
                        // Only a failure to write into OUT gets here: no later plan
                        // could be saved either, so stop.
                        Err(e) => {
                            if let Ok(mut f) = fatal.lock() {
                                f.get_or_insert(e);
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = fatal.into_inner().ok().flatten() {
        return Err(e);
    }
    let results: Vec<(PlanRecord, bool)> = results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    let mut summary = Summary {
        plans: mine.len(),
        problems: problems.len(),
        ..Summary::default()
    };
    for (rec, reused) in &results {
        if *reused {
            summary.reused += 1;
        } else {
            summary.analysed += 1;
        }
        if rec.status != "ok" {
            summary.failed += 1;
        }
    }
    let outputs = Outputs {
        settings: opts.settings(),
        settings_hash,
        shard: Some(opts.shard),
        merged_from: Vec::new(),
        discovery_counts: DiscoveryCounts::from(&discovery),
        problems,
    };
    let keys: Vec<String> = results.iter().map(|(r, _)| r.plan.clone()).collect();
    summary.elapsed_s = started.elapsed().as_secs_f64();
    let run = json!({
        "started_unix": started_unix,
        "finished_unix": unix_now(),
        "elapsed_s": summary.elapsed_s,
        "jobs": jobs,
        "analysed": summary.analysed,
        "reused": summary.reused,
    });
    // The root path itself may name a patient; with pseudonymisation it is left out.
    let root_text = opts
        .pseudonymizer
        .is_none()
        .then(|| root.display().to_string());
    write_aggregates(&out, &out, &keys, &outputs, run, root_text)?;
    Ok(summary)
}

/// A discovery problem for the outputs: paths relative to the root; with
/// pseudonymisation every path (which may hold a patient's name) becomes a keyed token,
/// in the file list and in the reason alike. The key (`d` + 16 hex digits of the sorted
/// relative paths) decides the problem's shard.
fn problem_entry(root: &Path, p: &DiscoveryProblem, ps: Option<&Pseudonymizer>) -> ProblemEntry {
    let mut rels: Vec<String> = p.files.iter().map(|f| relative(root, f)).collect();
    rels.sort();
    let mut h = blake3::Hasher::new();
    for r in &rels {
        h.update(r.as_bytes());
        h.update(&[0]);
    }
    h.update(p.reason.as_bytes());
    let key = format!("d{}", &h.finalize().to_hex()[..16]);
    let mut scrub = Scrubber::default();
    let root_text = root.display().to_string();
    scrub.replace(&format!("{}/", root_text.trim_end_matches('/')), "");
    let Some(ps) = ps else {
        return ProblemEntry {
            key,
            files: rels,
            reason: scrub.scrub(&p.reason),
        };
    };
    for (f, r) in p
        .files
        .iter()
        .zip(p.files.iter().map(|f| relative(root, f)))
    {
        let token = ps.token("path", &r);
        scrub.replace(&f.display().to_string(), &token);
        scrub.replace(&r, &token);
        if let Some(name) = f.file_name() {
            scrub.replace(&name.to_string_lossy(), &token);
        }
    }
    ProblemEntry {
        key,
        files: rels.iter().map(|r| ps.token("path", r)).collect(),
        reason: scrub.scrub(&p.reason),
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Scan figures of the whole archive (the same in every shard).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiscoveryCounts {
    pub plans_found: usize,
    pub problems_found: usize,
    pub non_dicom_files: usize,
}

impl From<&Discovery> for DiscoveryCounts {
    fn from(d: &Discovery) -> Self {
        DiscoveryCounts {
            plans_found: d.plans.len(),
            problems_found: d.problems.len(),
            non_dicom_files: d.skipped_non_dicom,
        }
    }
}

/// A discovery problem as written to the manifest and `errors.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemEntry {
    pub key: String,
    pub files: Vec<String>,
    pub reason: String,
}

/// What the aggregate files are built from besides the records.
pub(crate) struct Outputs {
    pub settings: Value,
    pub settings_hash: String,
    pub shard: Option<Shard>,
    pub merged_from: Vec<String>,
    pub discovery_counts: DiscoveryCounts,
    pub problems: Vec<ProblemEntry>,
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> BatchError + '_ {
    move |e| BatchError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Write `metrics.csv`, `flags.csv`, `errors.csv` and `manifest.json` into `out` from the
/// records of `keys` (read from `records_from`/records), streaming one record at a time.
pub(crate) fn write_aggregates(
    records_from: &Path,
    out: &Path,
    keys: &[String],
    o: &Outputs,
    run: Value,
    root: Option<String>,
) -> Result<(), BatchError> {
    let mut keys: Vec<&String> = keys.iter().collect();
    keys.sort();
    keys.dedup();
    let metrics_path = out.join("metrics.csv");
    let flags_path = out.join("flags.csv");
    let errors_path = out.join("errors.csv");
    // CSV text is built in memory per file but only from rows (a few kB per plan); the
    // records themselves are read one at a time.
    let mut metrics = csv::Writer::from_writer(Vec::new());
    let mut flags = csv::Writer::from_writer(Vec::new());
    let mut errors = csv::Writer::from_writer(Vec::new());
    metrics
        .write_record(METRIC_HEADER)
        .map_err(csv_err(&metrics_path))?;
    flags
        .write_record(FLAG_HEADER)
        .map_err(csv_err(&flags_path))?;
    errors
        .write_record(["plan", "files", "error"])
        .map_err(csv_err(&errors_path))?;
    let mut plan_entries = Vec::new();
    let (mut ok, mut failed) = (0usize, 0usize);
    // Problems and failed plans in one list sorted by key, so errors.csv is in a
    // deterministic order however the work was split.
    let mut error_rows: Vec<(String, String, String)> = o
        .problems
        .iter()
        .map(|p| (p.key.clone(), p.files.join(";"), p.reason.clone()))
        .collect();
    for key in keys {
        let path = records_dir(records_from).join(format!("{key}.json"));
        let rec = read_record(&path).ok_or_else(|| BatchError::Json {
            path: path.clone(),
            message: "missing or unreadable plan record".into(),
        })?;
        for m in &rec.metrics {
            metrics
                .write_record([
                    m.plan.as_str(),
                    &m.patient,
                    &m.structure,
                    &m.tg263_name,
                    &m.metric,
                    &m.domain,
                    &format!("{}", m.value),
                    &m.unit,
                ])
                .map_err(csv_err(&metrics_path))?;
        }
        for f in &rec.flags {
            flags
                .write_record([
                    f.plan.as_str(),
                    &f.patient,
                    &f.rule_id,
                    &f.status,
                    &f.level,
                    &f.structure,
                    &f.metric,
                    &f.value.map(|v| format!("{v}")).unwrap_or_default(),
                    &f.sentence,
                ])
                .map_err(csv_err(&flags_path))?;
        }
        if rec.status == "ok" {
            ok += 1;
        } else {
            failed += 1;
            let files: Vec<&str> = rec.inputs.iter().map(|i| i.path.as_str()).collect();
            error_rows.push((
                rec.plan.clone(),
                files.join(";"),
                rec.error.clone().unwrap_or_default(),
            ));
        }
        plan_entries.push(json!({
            "plan": rec.plan,
            "patient": rec.patient,
            "status": rec.status,
            "output": rec.output.as_ref().map(|n| format!("plans/{n}")),
            "output_blake3": rec.output_blake3,
            "input_hash": rec.input_hash,
            "inputs": rec.inputs,
            "notes": rec.notes,
        }));
    }
    error_rows.sort();
    for (k, f, e) in &error_rows {
        errors
            .write_record([k, f, e])
            .map_err(csv_err(&errors_path))?;
    }
    let mut hashes = BTreeMap::new();
    for (w, path) in [
        (metrics, &metrics_path),
        (flags, &flags_path),
        (errors, &errors_path),
    ] {
        let bytes = w.into_inner().map_err(|e| BatchError::Csv {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        write_atomic(path, &bytes)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        hashes.insert(name, blake3::hash(&bytes).to_hex().to_string());
    }
    let manifest = json!({
        "manifest_version": MANIFEST_VERSION,
        "radtox_version": env!("CARGO_PKG_VERSION"),
        "settings_hash": o.settings_hash,
        "settings": o.settings,
        "shard": o.shard.map(|s| s.to_string()),
        "merged_from": o.merged_from,
        "root": root,
        "discovery": o.discovery_counts,
        "counts": {"plans": ok + failed, "ok": ok, "failed": failed, "problems": o.problems.len()},
        "plans": plan_entries,
        "problems": o.problems,
        "outputs": hashes,
        "run": run,
    });
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| BatchError::Serialise {
        what: "the manifest".into(),
        message: e.to_string(),
    })? + "\n";
    write_atomic(&out.join("manifest.json"), text.as_bytes())
}
