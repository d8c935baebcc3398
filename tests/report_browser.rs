//! End to end in a real browser: `radtox report` on the shipped fixtures (and a
//! synthetic analysis with every section: flags, EQD2 DVHs, site table, T-DM1
//! timeline) opened in headless Chromium. Checks that
//!
//! * the page loads with no console message at all (the report has no script, so any
//!   console line is an error: a failed resource, a parse problem);
//! * every SVG has its curves, each with a non-empty, in-bounds rendered box (measured
//!   by a probe script injected into a *copy* of the report; the report stays
//!   script-free) and as many DVH curves as the analysis has structures with a DVH;
//! * the page does not overflow the 1280 px window sideways;
//! * a screenshot is saved under `<target>/test-artifacts/` for a human to look at.
//!
//! Network access is disabled in the browser (`--host-resolver-rules`), so an
//! external asset would fail and show as a console error: the file must work offline.
//! Without Chromium the tests print "SKIPPED" and pass; CI installs Debian's `chromium`.
//! Set `RADTOX_CHROMIUM=/path/to/chrome` to use another binary.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_radtox");

/// One browser at a time: the machine is shared and Chromium is heavy.
static BROWSER: Mutex<()> = Mutex::new(());

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RADTOX_CHROMIUM") {
        return Some(p.into());
    }
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    let mut dirs = vec![PathBuf::from("/usr/bin")];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.iter()
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

macro_rules! chromium_or_skip {
    () => {
        match chromium() {
            Some(c) => c,
            None => {
                eprintln!(
                    "SKIPPED: no Chromium found (looked for chromium, chromium-browser, \
                     google-chrome in /usr/bin and PATH; set RADTOX_CHROMIUM). \
                     Install it with: apt-get install -y chromium"
                );
                return;
            }
        }
    };
}

/// `<target>/test-artifacts`, created.
fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run headless Chromium on `page` with `extra` arguments; returns (stdout, stderr).
fn browse(exe: &Path, page: &Path, extra: &[String]) -> (String, String) {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut cmd = Command::new(exe);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        // Offline: any host lookup fails, so an external asset would be a console error.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(&url)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start chromium");
    // Drain both pipes on threads: a full pipe would block the browser.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (t_out.join().unwrap(), t_err.join().unwrap());
    assert!(
        status.success(),
        "chromium failed ({status}) on {url}:\n{stderr}"
    );
    (stdout, stderr)
}

/// Console lines (Chromium logs page console messages as `:CONSOLE` at --v=0).
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect()
}

/// Injected into a copy of the report: for every SVG, count its curves and how many
/// render with a non-empty box inside the viewBox; and measure sideways overflow.
const PROBE: &str = r#"<script>
(function(){
  var out=[];
  document.querySelectorAll('svg').forEach(function(s){
    var vb=s.viewBox.baseVal;
    var paths=s.querySelectorAll('path.dvh-curve,path.exposure-curve,path.tdm1-dose');
    var ok=0;
    paths.forEach(function(p){
      var b=p.getBBox();
      var inside=b.x>=vb.x-2&&b.y>=vb.y-2&&b.x+b.width<=vb.x+vb.width+2&&b.y+b.height<=vb.y+vb.height+2;
      if(p.getTotalLength()>0&&(b.width>0||b.height>0)&&inside){ok++;}
    });
    var r=s.getBoundingClientRect();
    out.push(s.id+':'+paths.length+':'+ok+':'+Math.round(r.width)+'x'+Math.round(r.height));
  });
  out.push('overflow:'+(document.documentElement.scrollWidth-window.innerWidth));
  var pre=document.createElement('pre');pre.id='radtox-probe';pre.textContent=out.join(' ');
  document.body.appendChild(pre);
})();
</script>"#;

#[derive(Debug)]
struct SvgCheck {
    id: String,
    curves: usize,
    rendered: usize,
    width: f64,
}

/// Open `html` twice: once as is for the screenshot (and console check), once with
/// the probe for the DOM measurements. Returns the SVG checks and the DOM.
fn check_in_browser(exe: &Path, html: &Path, name: &str) -> (Vec<SvgCheck>, String) {
    let png = artifacts().join(format!("report-{name}.png"));
    let _ = std::fs::remove_file(&png);
    let (_, stderr) = browse(
        exe,
        html,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".into(),
        ],
    );
    let errors = console_errors(&stderr);
    assert!(errors.is_empty(), "console errors in {name}: {errors:#?}");
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&bytes[1..4], b"PNG");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((w, h), (1280, 2000), "screenshot size");
    // A blank page compresses to a few kB; plots and tables do not.
    assert!(
        bytes.len() > 40_000,
        "screenshot looks blank ({} B)",
        bytes.len()
    );
    eprintln!("screenshot: {}", png.display());

    let text = std::fs::read_to_string(html).unwrap();
    let probed = html.with_extension("probe.html");
    std::fs::write(&probed, text.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let (dom, stderr) = browse(
        exe,
        &probed,
        &["--dump-dom".into(), "--window-size=1280,2000".into()],
    );
    let errors = console_errors(&stderr);
    assert!(
        errors.is_empty(),
        "console errors in probed {name}: {errors:#?}"
    );
    let probe = dom
        .split("<pre id=\"radtox-probe\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("probe did not run; DOM:\n{dom}"));
    eprintln!("probe {name}: {probe}");
    let mut checks = Vec::new();
    for item in probe.split_whitespace() {
        if let Some(o) = item.strip_prefix("overflow:") {
            let o: i64 = o.parse().unwrap();
            assert!(o <= 0, "{name} overflows the window sideways by {o} px");
            continue;
        }
        let f: Vec<&str> = item.split(':').collect();
        let size: Vec<f64> = f[3].split('x').map(|v| v.parse().unwrap()).collect();
        checks.push(SvgCheck {
            id: f[0].into(),
            curves: f[1].parse().unwrap(),
            rendered: f[2].parse().unwrap(),
            width: size[0],
        });
    }
    for c in &checks {
        assert!(c.curves > 0, "{name}: SVG {} has no curve", c.id);
        assert_eq!(
            c.rendered, c.curves,
            "{name}: SVG {} has curves that did not render",
            c.id
        );
        assert!(
            c.width > 400.0,
            "{name}: SVG {} is only {} px wide",
            c.id,
            c.width
        );
    }
    (checks, dom)
}

/// What `radtox analyze --format json` finds for the same arguments: the legend name
/// (TG-263, else ROI name) of every structure with a physical DVH, and the number of
/// EQD2 DVHs, flags and timeline events.
struct Expected {
    dvh_names: Vec<String>,
    eqd2_curves: usize,
    flags: usize,
    timeline_events: usize,
}

fn expected(args: &[std::ffi::OsString]) -> Expected {
    let out = Command::new(BIN)
        .args(["analyze", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let has_volume = |c: &serde_json::Value| {
        c["volume_cc"]
            .as_array()
            .is_some_and(|v| v.iter().any(|x| x.as_f64().is_some_and(|x| x > 0.0)))
    };
    let structures = doc["structures"].as_array().unwrap();
    Expected {
        dvh_names: structures
            .iter()
            .filter(|s| has_volume(&s["dvh"]))
            .map(|s| {
                s["tg263_name"]
                    .as_str()
                    .or(s["name"].as_str())
                    .unwrap()
                    .to_string()
            })
            .collect(),
        eqd2_curves: structures
            .iter()
            .filter(|s| has_volume(&s["eqd2_dvh"]))
            .count(),
        flags: doc["flags"].as_array().map_or(0, |f| f.len()),
        timeline_events: doc["timeline"]["events"].as_array().map_or(0, |e| e.len()),
    }
}

/// True when `radtox report --help` lists `option` (the pipeline and patient options
/// arrive with the analysis that uses them).
fn report_has_option(option: &str) -> bool {
    let out = Command::new(BIN)
        .args(["report", "--help"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains(option)
}

/// Report one fixture, with its pipeline and example patient file when the binary
/// takes them, and check it in the browser against what `analyze` found.
fn fixture_report(fixture: &str, pipeline: &str, patient: &str) {
    let exe = chromium_or_skip!();
    let mut args: Vec<std::ffi::OsString> = vec![root().join("fixtures").join(fixture).into()];
    let (pipeline, patient) = (root().join(pipeline), root().join(patient));
    let full = report_has_option("--pipeline")
        && report_has_option("--patient")
        && pipeline.is_file()
        && patient.is_file();
    if full {
        args.extend(["--pipeline".into(), pipeline.into()]);
        args.extend(["--patient".into(), patient.into()]);
    } else {
        eprintln!("note: {fixture} reported without pipeline and patient file");
    }
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let out = Command::new(BIN)
        .arg("report")
        .args(&args)
        .arg("--out")
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&html).unwrap();
    // The fixtures' patient names must not leak into the report.
    assert!(!text.contains("PHANTOM"), "patient name in the report");
    let _ = std::fs::copy(&html, artifacts().join(format!("report-{fixture}.html")));
    let (checks, dom) = check_in_browser(&exe, &html, fixture);
    let want = expected(&args);
    let find = |id: &str| checks.iter().find(|c| c.id == id);
    let dvh = find("dvh-plot").expect("a physical DVH plot");
    assert_eq!(dvh.curves, want.dvh_names.len(), "one curve per structure");
    for name in &want.dvh_names {
        if name.chars().count() <= 30 {
            assert!(
                dom.contains(&format!(">{name}</text>")),
                "{name} missing from the legend"
            );
        }
    }
    assert_eq!(
        find("dvh-eqd2-plot").map_or(0, |c| c.curves),
        want.eqd2_curves,
        "one EQD2 curve per structure with an EQD2 DVH"
    );
    assert_eq!(
        find("timeline-plot").is_some(),
        want.timeline_events > 0,
        "timeline drawn exactly when there are events"
    );
    assert_eq!(dom.contains("<section id=\"flags\">"), want.flags > 0);
    if full {
        assert!(want.eqd2_curves > 0 && want.flags > 0 && want.timeline_events > 0);
    }
}

#[test]
fn brain_srs_report_renders_in_chromium() {
    fixture_report(
        "brain-srs",
        "pipelines/brain-srs.toml",
        "examples/patients/brain-srs.toml",
    );
}

#[test]
fn breast_left_report_renders_in_chromium() {
    fixture_report(
        "breast-left",
        "pipelines/breast-left.toml",
        "examples/patients/left-breast.toml",
    );
}

#[test]
fn full_report_renders_in_chromium() {
    let exe = chromium_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("full.html");
    std::fs::write(&html, radtox_report::html::to_html(&full_analysis())).unwrap();
    let _ = std::fs::copy(&html, artifacts().join("report-full.html"));
    let (checks, _) = check_in_browser(&exe, &html, "full");
    let by_id = |id: &str| {
        checks
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no SVG {id}: {checks:?}"))
    };
    assert_eq!(by_id("dvh-plot").curves, 3);
    assert_eq!(by_id("dvh-eqd2-plot").curves, 3);
    // The exposure curve and three T-DM1 doses.
    assert_eq!(by_id("timeline-plot").curves, 4);
    assert_eq!(checks.len(), 3);
}

/// The console check is not vacuous: a page that logs and throws is caught.
#[test]
fn console_errors_are_detected() {
    let exe = chromium_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("probe.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><p>probe</p><img src=\"https://example.invalid/x.png\">\
         <script>throw new Error('radtox-probe');</script></body></html>",
    )
    .unwrap();
    let (_, stderr) = browse(&exe, &page, &["--dump-dom".into()]);
    let errors = console_errors(&stderr);
    assert!(
        errors.iter().any(|l| l.contains("radtox-probe")),
        "a thrown error was not seen: {stderr}"
    );
}

fn full_analysis() -> radtox_report::Analysis {
    use radtox_report::*;
    let sigmoid = |volume: f64, d50: f64, max: f64| {
        let dose_gy: Vec<f64> = (0..=(max * 100.0) as usize)
            .map(|i| i as f64 * 0.01)
            .collect();
        let volume_cc = dose_gy
            .iter()
            .map(|d| volume / (1.0 + ((d - d50) / (0.05 * d50 + 0.3)).exp()))
            .collect();
        DvhCurve { dose_gy, volume_cc }
    };
    let structure = |roi, name: &str, tg: &str, v: f64, d50: f64, rx: f64| StructureResult {
        roi_number: roi,
        name: name.into(),
        tg263_name: Some(tg.into()),
        volume_cc: Some(v),
        volume_in_dose_grid_cc: Some(v),
        metrics: vec![
            MetricValue::ok("Mean[Gy]", d50),
            MetricValue::ok("D0.03cc[Gy]", d50 * 1.2),
            MetricValue::ok("Mean[EQD2Gy]", d50 * 1.4),
        ],
        dvh: Some(sigmoid(v, d50, rx)),
        eqd2_dvh: Some(sigmoid(v, d50 * 1.4, rx * 1.6)),
        eqd2_model: Some("LQ, α/β 3 Gy (OAR) / 10 Gy (target), 3 fx".into()),
        ..StructureResult::default()
    };
    let mut a = Analysis::new("0.1.0");
    a.plan = Some(PlanSummary {
        label: Some("SRS <3 mets>".into()),
        name: Some("Brain SRS".into()),
        fractions: Some(3),
        prescription_gy: Some(27.0),
    });
    a.pipeline = Some("brain-srs.toml".into());
    a.dose_models = vec!["LQ α/β 2 Gy for brain (radionecrosis)".into()];
    a.structures = vec![
        structure(1, "PTV1", "PTV_High", 2.1, 28.0, 33.0),
        structure(2, "brain", "Brain", 1400.0, 2.0, 33.0),
        structure(3, "tronc", "Brainstem", 28.0, 4.0, 33.0),
    ];
    a.site_tables = vec![SiteTable {
        id: "brain_lesions".into(),
        title: "Brain lesions".into(),
        columns: vec!["Lesion".into(), "Volume (cc)".into(), "V12Gy (cc)".into()],
        rows: vec![vec!["GTV1".into(), 0.52.into(), 3.4.into()]],
        notes: vec![],
    }];
    let ev = |date: &str, kind: &str, label: &str| TimelineEvent {
        date: date.into(),
        kind: kind.into(),
        label: label.into(),
    };
    a.timeline = Some(Timeline {
        events: vec![
            ev("2026-02-09", "tdm1", "cycle 3"),
            ev("2026-03-02", "tdm1", "cycle 4"),
            ev("2026-03-23", "tdm1", "cycle 5"),
            // As radtox-analysis writes a course: first and last fractions as its
            // start and end, the others as fractions.
            ev("2026-03-09", "rt_start", "FSRT 3 fx"),
            ev("2026-03-11", "rt_fraction", "FSRT 3 fx"),
            ev("2026-03-13", "rt_end", "FSRT 3 fx"),
        ],
        facts: vec!["T-DM1 on 2026-03-02 is 7 d before SRS (within ±28 d)".into()],
        exposure: (0..50)
            .map(|i| {
                let day = 9 + i;
                let date = match day {
                    ..=28 => format!("2026-02-{day:02}"),
                    _ => format!("2026-03-{:02}", day - 28),
                };
                let since = [0, 21, 42]
                    .iter()
                    .filter(|d| **d <= i)
                    .map(|d| 0.5f64.powf((i - d) as f64 / 4.0))
                    .sum::<f64>();
                (date, since)
            })
            .collect(),
        exposure_model: "one-compartment, terminal half-life 4 d".into(),
    });
    a.flags = vec![Flag {
        rule_id: "B1".into(),
        level: "high".into(),
        status: "raised".into(),
        structure: Some("Brain".into()),
        metric: Some("V12Gy[cc]".into()),
        value: Some(11.2),
        threshold: Some(">= 10".into()),
        timing: vec!["T-DM1 within 28 d of SRS".into()],
        evidence_grade: "C".into(),
        citation: "Stumpf PK et al. J Neurooncol 2019".into(),
        provisional: true,
        evidence_against: vec!["Retrospective, small series".into()],
        sentence: "Radionecrosis risk: brain V12Gy 11.2 cc with T-DM1 within 28 d of SRS.".into(),
        ..Flag::default()
    }];
    a.disclaimer = Some("Decision support only: not a substitute for clinical judgement.".into());
    a
}
