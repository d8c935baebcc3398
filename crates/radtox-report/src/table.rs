//! The human-readable table of `radtox analyze`: a short header about the plan, one row
//! per structure with one column per requested metric, then the TPS DVH check and the
//! warnings. Plain text, aligned, no colours (it is also pasted into e-mails and notes).

use crate::{Analysis, StructureResult};
use std::fmt::Write;

pub(crate) fn render(a: &Analysis) -> String {
    let mut out = String::new();
    header(a, &mut out);
    structures(a, &mut out);
    tps_checks(a, &mut out);
    pipeline_notes(a, &mut out);
    site_tables(a, &mut out);
    timeline(a, &mut out);
    flags(a, &mut out);
    let per_structure = a
        .structures
        .iter()
        .flat_map(|s| s.warnings.iter().map(move |w| format!("{}: {w}", s.name)));
    let all: Vec<String> = a.warnings.iter().cloned().chain(per_structure).collect();
    if !all.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for w in &all {
            let _ = writeln!(out, "  - {w}");
        }
    }
    out
}

fn header(a: &Analysis, out: &mut String) {
    let _ = writeln!(out, "radtox {} analysis", a.radtox_version);
    if let Some(p) = &a.plan {
        let label = p
            .label
            .as_deref()
            .or(p.name.as_deref())
            .unwrap_or("(no label)");
        let fx = p
            .fractions
            .map_or("? fx".to_string(), |n| format!("{n} fx"));
        let rx = p
            .prescription_gy
            .map_or("no prescription".to_string(), |d| format!("Rx {d:.2} Gy"));
        let _ = writeln!(out, "Plan: {label}, {fx}, {rx}");
    }
    if let Some(g) = &a.dose_grid {
        let _ = writeln!(
            out,
            "Dose grid: {}×{}×{} voxels at {:.2}×{:.2}×{:.2} mm, max {:.3} {}",
            g.dims[0],
            g.dims[1],
            g.dims[2],
            g.spacing_mm[0],
            g.spacing_mm[1],
            g.spacing_mm[2],
            g.max_dose_gy,
            g.dose_units
        );
    }
    if !a.inputs.dose_summation.is_empty() {
        let _ = writeln!(out, "Dose: {}", a.inputs.dose_summation);
    }
    let _ = writeln!(out);
}

/// Column names: every metric requested for any structure, in first-seen order.
fn metric_columns(a: &Analysis) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for s in &a.structures {
        for m in &s.metrics {
            if !cols.contains(&m.name) {
                cols.push(m.name.clone());
            }
        }
    }
    cols
}

fn cell(s: &StructureResult, col: &str) -> String {
    match s.metrics.iter().find(|m| m.name == col).map(|m| &m.value) {
        Some(Ok(v)) => format_value(*v),
        Some(Err(_)) => "n/a".into(),
        None => String::new(),
    }
}

fn format_value(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else if v.abs() >= 0.1 || v == 0.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

fn structures(a: &Analysis, out: &mut String) {
    let cols = metric_columns(a);
    let mut rows: Vec<Vec<String>> = vec![
        ["ROI", "Structure", "Volume[cc]", "InGrid[cc]"]
            .iter()
            .map(|s| s.to_string())
            .chain(cols.iter().cloned())
            .collect(),
    ];
    let opt = |v: Option<f64>| v.map_or("-".to_string(), format_value);
    for s in &a.structures {
        let mut r = vec![
            s.roi_number.to_string(),
            structure_label(s),
            opt(s.volume_cc),
            opt(s.volume_in_dose_grid_cc),
        ];
        r.extend(cols.iter().map(|c| cell(s, c)));
        rows.push(r);
    }
    write_aligned(&rows, out);
    let empty: Vec<&str> = a
        .structures
        .iter()
        .filter(|s| s.empty)
        .map(|s| s.name.as_str())
        .collect();
    if !empty.is_empty() {
        let _ = writeln!(
            out,
            "\nNo closed planar contour (no volume, no metrics): {}",
            empty.join(", ")
        );
    }
    let failures: Vec<String> = a
        .structures
        .iter()
        .filter(|s| !s.empty)
        .flat_map(|s| {
            s.metrics.iter().filter_map(move |m| {
                let e = m.value.as_ref().err()?;
                Some(format!("{} {}: {}", s.name, m.name, e))
            })
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\nn/a:");
        for f in failures {
            let _ = writeln!(out, "  - {f}");
        }
    }
}

fn tps_checks(a: &Analysis, out: &mut String) {
    let with: Vec<_> = a
        .structures
        .iter()
        .filter_map(|s| Some((s, s.tps_dvh_check.as_ref()?)))
        .collect();
    if with.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nCheck against the planning system's DVHs (RT Dose DVH Sequence):"
    );
    let mut rows = vec![
        [
            "ROI",
            "Structure",
            "TPS Vol[cc]",
            "ΔVol[%]",
            "TPS Mean[Gy]",
            "ΔMean[%]",
            "max ΔV[%]",
            "at[Gy]",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>(),
    ];
    for (s, c) in with {
        rows.push(vec![
            s.roi_number.to_string(),
            s.name.clone(),
            format_value(c.tps_volume_cc),
            format!("{:+.2}", c.volume_diff_percent),
            format_value(c.tps_mean_gy),
            format!("{:+.2}", c.mean_diff_percent),
            format!("{:.2}", c.max_cumulative_deviation_percent),
            format!("{:.2}", c.dose_at_max_deviation_gy),
        ]);
    }
    write_aligned(&rows, out);
}

/// Left-align the first two columns (identifiers), right-align the numbers.
fn write_aligned(rows: &[Vec<String>], out: &mut String) {
    let ncol = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..ncol)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::new();
        for (c, text) in r.iter().enumerate() {
            let pad = width[c].saturating_sub(text.chars().count());
            if c < 2 {
                line.push_str(text);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(text);
            }
            line.push_str("  ");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// The structure's name, with its TG-263 name when a pipeline mapped it to another,
/// and marks for derived and empty structures.
fn structure_label(s: &StructureResult) -> String {
    let mut l = s.name.clone();
    if let Some(t) = s.tg263_name.as_deref().filter(|t| *t != s.name) {
        let _ = write!(l, " → {t}");
    }
    if s.derived {
        l.push_str(" (derived)");
    }
    if s.empty {
        l.push_str(" (empty)");
    }
    l
}

/// Pipeline, EQD2 models and the names that could not be mapped.
fn pipeline_notes(a: &Analysis, out: &mut String) {
    if let Some(p) = &a.pipeline {
        let _ = writeln!(out, "\nPipeline: {p}");
    }
    for m in &a.dose_models {
        let _ = writeln!(out, "Dose model: {m}");
    }
    if let Some(n) = &a.name_mapping {
        if !n.unmapped.is_empty() {
            let _ = writeln!(out, "Not mapped to TG-263: {}", n.unmapped.join(", "));
        }
        for (t, originals) in &n.ambiguous {
            let _ = writeln!(
                out,
                "Ambiguous: {} all map to {t} (none used under that name)",
                originals.join(", ")
            );
        }
    }
}

fn timeline(a: &Analysis, out: &mut String) {
    let Some(t) = &a.timeline else { return };
    let _ = writeln!(out, "\nT-DM1 timeline:");
    for e in &t.events {
        let _ = writeln!(out, "  {}  {:<11} {}", e.date, e.kind, e.label);
    }
    for f in &t.facts {
        let _ = writeln!(out, "  - {f}");
    }
}

/// Raised and indeterminate flags in full (level, rule, value against threshold,
/// grade, citation), the other rules in one line each, then the disclaimer.
fn flags(a: &Analysis, out: &mut String) {
    if a.flags.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nRisk flags:");
    let shown: Vec<_> = a
        .flags
        .iter()
        .filter(|f| f.status == "raised" || f.status == "indeterminate")
        .collect();
    if shown.is_empty() {
        let _ = writeln!(out, "  none raised");
    }
    for f in shown {
        let level = f.level.to_uppercase().replace('_', " ");
        let status = if f.status == "indeterminate" {
            " (INDETERMINATE: within the uncertainty of the threshold)"
        } else {
            ""
        };
        let quantity = match (&f.structure, &f.metric, f.value) {
            (Some(s), Some(m), Some(v)) => format!(
                " {s} {m} = {}{}",
                format_value(v),
                f.threshold
                    .as_deref()
                    .map_or(String::new(), |t| format!(" (threshold {t})"))
            ),
            (_, _, Some(v)) => format!(
                " value {}{}",
                format_value(v),
                f.threshold
                    .as_deref()
                    .map_or(String::new(), |t| format!(" (threshold {t})"))
            ),
            _ => String::new(),
        };
        let _ = writeln!(out, "  [{level}] {}{quantity}{status}", f.rule_id);
        for t in &f.timing {
            let _ = writeln!(out, "      timing: {t}");
        }
        let _ = writeln!(
            out,
            "      grade {}; {}{}",
            f.evidence_grade,
            f.citation,
            if f.provisional {
                " (provisional: a number is recalled, not verified)"
            } else {
                ""
            }
        );
        if !f.sentence.is_empty() {
            let _ = writeln!(out, "      {}", f.sentence);
        }
        for e in &f.evidence_against {
            let _ = writeln!(out, "      evidence against: {e}");
        }
    }
    let others: Vec<String> = a
        .flags
        .iter()
        .filter(|f| f.status != "raised" && f.status != "indeterminate")
        .map(|f| format!("{} {}", f.rule_id, f.status.replace('_', " ")))
        .collect();
    if !others.is_empty() {
        let _ = writeln!(out, "  Other rules: {}", others.join(", "));
    }
    if let Some(d) = &a.disclaimer {
        let _ = writeln!(out, "  Disclaimer: {d}");
    }
}

/// Each site analysis as a titled, aligned table with its notes.
fn site_tables(a: &Analysis, out: &mut String) {
    for t in &a.site_tables {
        let _ = writeln!(out, "\n{}:", t.title);
        let mut rows = vec![t.columns.clone()];
        for r in &t.rows {
            rows.push(
                r.iter()
                    .map(|v| match v {
                        serde_json::Value::Null => "-".to_string(),
                        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                        serde_json::Value::Number(n) => {
                            n.as_f64().map_or(n.to_string(), format_value)
                        }
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
                        other => other.to_string(),
                    })
                    .collect(),
            );
        }
        write_aligned(&rows, out);
        for n in &t.notes {
            let _ = writeln!(out, "  note: {n}");
        }
    }
}
