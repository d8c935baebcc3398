//! The HTML report: one self-contained file (inline CSS and SVG, no script, no external
//! asset, works offline and prints) laying out an [`Analysis`]:
//!
//! 1. header and plan summary, with the decision-support disclaimer when there is one;
//! 2. risk flags, coloured by level, with grade, citation, a "provisional" badge and
//!    the evidence against;
//! 3. the structures table, physical-dose and EQD2 metrics side by side;
//! 4. cumulative DVH plots (physical and EQD2), one curve per structure, legend in
//!    TG-263 names;
//! 5. the site tables (brain lesions, heart, marrow, …);
//! 6. the T-DM1 timeline: doses, radiotherapy fractions and the relative drug level;
//! 7. name mapping, TPS DVH check, warnings, inputs and settings.
//!
//! A section whose data is absent is left out (the table of contents only lists what
//! is there). All text from files (structure names, labels) is escaped. Patient names
//! and IDs are not part of [`Analysis`] and input files are shown by file name only,
//! since export directories are often named after the patient. The output has no
//! timestamp: the same analysis gives the same bytes.

mod svg;
mod timeline;

pub use svg::{MAX_CURVE_POINTS, decimate};

use crate::{Analysis, Flag, MetricValue, SiteTable, StructureResult};
use std::fmt::Write;

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in HTML text; DICOM strings may carry them.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A number with as many decimals as its size warrants (doses to 0.01 Gy, small
/// volumes to 0.001 cc); "—" when not finite.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let a = v.abs();
    let s = if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 || a == 0.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    }
}

/// True for metrics in the EQD2 or BED domain (`Mean[EQD2Gy]`, `D2%[BEDGy]`, …).
fn is_eqd2_metric(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.contains("EQD2") || upper.contains("BED")
}

/// The name shown for a structure: its TG-263 name when mapped, else its ROI name.
fn display_name(s: &StructureResult) -> &str {
    s.tg263_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&s.name)
}

/// Render the whole report.
pub fn to_html(a: &Analysis) -> String {
    let mut sections: Vec<(String, String, String)> = Vec::new();
    let mut add = |id: &str, name: &str, body: String| {
        sections.push((id.to_string(), name.to_string(), body));
    };
    if !a.flags.is_empty() {
        add("flags", "Risk flags", flags(a));
    }
    if !a.structures.is_empty() {
        add("structures", "Structures", structures(a));
    }
    if let Some(s) = dvh_section(a, false) {
        add("dvh", "DVH (physical dose)", s);
    }
    if let Some(s) = dvh_section(a, true) {
        add("dvh-eqd2", "DVH (EQD2)", s);
    }
    for t in &a.site_tables {
        add(&site_id(t), &t.title, site_table(t));
    }
    if let Some(t) = &a.timeline {
        add("timeline", "T-DM1 timeline", timeline_section(t));
    }
    if let Some(s) = tps_checks(a) {
        add("tps-check", "TPS DVH check", s);
    }
    if let Some(s) = name_mapping(a) {
        add("names", "Name mapping", s);
    }
    if let Some(s) = warnings(a) {
        add("warnings", "Warnings", s);
    }
    add("provenance", "Inputs and settings", provenance(a));

    let title = match a
        .plan
        .as_ref()
        .and_then(|p| p.label.as_ref().or(p.name.as_ref()))
    {
        Some(l) => format!("radtox report: {l}"),
        None => "radtox report".to_string(),
    };
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"radtox {}\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main class=\"page\">\n",
        esc(&a.radtox_version),
        esc(&title),
        CSS
    );
    let _ = writeln!(
        out,
        "<header class=\"report-header\"><h1>{}</h1><p class=\"sub\">radtox {} · analysis schema {} · decision support, not a prescription</p></header>",
        esc(&title),
        esc(&a.radtox_version),
        a.schema_version
    );
    if let Some(d) = a.disclaimer.as_deref().filter(|d| !d.trim().is_empty()) {
        let _ = writeln!(
            out,
            "<aside class=\"disclaimer\" id=\"disclaimer\" role=\"note\"><strong>Important.</strong> {}</aside>",
            esc(d)
        );
    }
    out.push_str(&summary(a));
    out.push_str("<nav class=\"toc\"><strong>Contents</strong><ol>");
    for (id, name, _) in &sections {
        let _ = write!(out, "<li><a href=\"#{}\">{}</a></li>", esc(id), esc(name));
    }
    out.push_str("</ol></nav>\n");
    for (_, _, body) in sections {
        out.push_str(&body);
        out.push('\n');
    }
    let _ = write!(
        out,
        "<footer>Generated by radtox {}. Figures are computed from the exported plan; check them against the treatment planning system before clinical use.</footer>\n</main>\n</body>\n</html>\n",
        esc(&a.radtox_version)
    );
    out
}

fn site_id(t: &SiteTable) -> String {
    let id: String =
        t.id.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
    format!("site-{id}")
}

/// Key facts of the plan as a definition grid.
fn summary(a: &Analysis) -> String {
    let mut items: Vec<(&str, String)> = Vec::new();
    if let Some(p) = &a.plan {
        if let Some(l) = &p.label {
            items.push(("Plan label", esc(l)));
        }
        if let Some(n) = p.name.as_ref().filter(|n| Some(*n) != p.label.as_ref()) {
            items.push(("Plan name", esc(n)));
        }
        items.push((
            "Fractions",
            p.fractions
                .map_or("not in the plan".into(), |n| n.to_string()),
        ));
        items.push((
            "Prescription",
            p.prescription_gy.map_or("not in the plan".into(), |d| {
                match p.fractions.filter(|n| *n > 0) {
                    Some(n) => format!("{} Gy ({} Gy × {n})", fmt_num(d), fmt_num(d / n as f64)),
                    None => format!("{} Gy", fmt_num(d)),
                }
            }),
        ));
    } else {
        items.push((
            "Plan",
            "no RT Plan: fractions and prescription unknown".into(),
        ));
    }
    if let Some(g) = &a.dose_grid {
        items.push((
            "Dose grid",
            format!(
                "{}×{}×{} voxels, {}×{}×{} mm",
                g.dims[0],
                g.dims[1],
                g.dims[2],
                fmt_num(g.spacing_mm[0]),
                fmt_num(g.spacing_mm[1]),
                fmt_num(g.spacing_mm[2])
            ),
        ));
        items.push((
            "Maximum dose",
            format!("{} Gy ({})", fmt_num(g.max_dose_gy), esc(&g.dose_units)),
        ));
    }
    if !a.inputs.dose_summation.is_empty() {
        items.push(("Dose", esc(&a.inputs.dose_summation)));
    }
    if let Some(p) = &a.pipeline {
        items.push(("Pipeline", esc(p)));
    }
    if !a.dose_models.is_empty() {
        items.push((
            "Dose models",
            a.dose_models
                .iter()
                .map(|m| esc(m))
                .collect::<Vec<_>>()
                .join("<br>"),
        ));
    }
    let raised: Vec<&Flag> = a.flags.iter().filter(|f| f.status == "raised").collect();
    if !a.flags.is_empty() {
        let mut counts = String::new();
        for level in ["very_high", "high", "caution", "info"] {
            let n = raised.iter().filter(|f| f.level == level).count();
            if n > 0 {
                let _ = write!(
                    counts,
                    " <span class=\"badge level-{level}\">{n} {}</span>",
                    level_name(level)
                );
            }
        }
        items.push((
            "Risk flags",
            format!(
                "{} raised of {} evaluated{}",
                raised.len(),
                a.flags.len(),
                counts
            ),
        ));
    }
    let mut out = String::from("<section id=\"summary\" class=\"summary\"><dl>");
    for (k, v) in items {
        let _ = write!(out, "<div><dt>{}</dt><dd>{v}</dd></div>", esc(k));
    }
    out.push_str("</dl></section>\n");
    out
}

fn level_name(level: &str) -> &str {
    match level {
        "very_high" => "very high",
        "high" => "high",
        "caution" => "caution",
        "info" => "info",
        // Flags that were not raised carry no level.
        "none" | "" => "—",
        other => other,
    }
}

/// Level classes are a fixed set: anything else is styled as "unknown" rather than
/// letting a file's string into a class attribute.
fn level_class(level: &str) -> &'static str {
    match level {
        "very_high" => "very_high",
        "high" => "high",
        "caution" => "caution",
        "info" => "info",
        "none" | "" => "none",
        _ => "unknown",
    }
}

fn status_rank(status: &str) -> u8 {
    match status {
        "raised" => 0,
        "indeterminate" => 1,
        "not_evaluated" => 2,
        "not_raised" => 3,
        _ => 4,
    }
}

fn level_rank(level: &str) -> u8 {
    match level {
        "very_high" => 0,
        "high" => 1,
        "caution" => 2,
        "info" => 3,
        _ => 4,
    }
}

fn flags(a: &Analysis) -> String {
    // Raised and borderline flags need reading; the other rules (not evaluated for want
    // of a covariate, not raised, not applicable) go in a compact table below so they
    // do not push the plan's numbers off the first screen. Not evaluated comes first
    // there, its sentence says what is missing.
    let quiet = |f: &&Flag| !matches!(f.status.as_str(), "raised" | "indeterminate");
    let mut main: Vec<&Flag> = a.flags.iter().filter(|f| !quiet(f)).collect();
    let mut quiet: Vec<&Flag> = a.flags.iter().filter(quiet).collect();
    quiet.sort_by_key(|f| status_rank(&f.status));
    // Raised first, most severe first; the engine's order within a group is kept.
    main.sort_by_key(|f| (status_rank(&f.status), level_rank(&f.level)));
    let mut out = String::from(
        "<section id=\"flags\"><h2>Risk flags</h2>\
         <p class=\"note\">Each flag states the rule, the value that triggered it, the published \
         threshold and how strong the evidence is. A <span class=\"badge provisional\">provisional</span> \
         threshold was recalled, not verified in the cited source.</p>",
    );
    if main.is_empty() {
        out.push_str("<p class=\"no-flags\">No rule raised a flag.</p>");
    } else {
        out.push_str(
            "<div class=\"scroll\"><table class=\"flags\"><thead><tr><th>Level</th><th>Status</th><th>Rule</th>\
             <th>Finding</th><th>Value</th><th>Threshold</th><th>Evidence</th></tr></thead><tbody>",
        );
        for f in main {
            out.push_str(&flag_row(f));
        }
        out.push_str("</tbody></table></div>");
    }
    if !quiet.is_empty() {
        let _ = write!(
            out,
            "<h3>Other rules ({}): not evaluated, not raised or not applicable</h3><div class=\"scroll\"><table class=\"flags quiet compact\">\
             <thead><tr><th>Rule</th><th>Status</th><th>Finding</th><th>Evidence</th></tr></thead><tbody>",
            quiet.len()
        );
        for f in quiet {
            let _ = write!(
                out,
                "<tr class=\"flag quiet{}\"><td class=\"rule\">{}</td><td>{}</td><td>{}</td><td class=\"evidence\">{}{}</td></tr>",
                if f.status == "not_evaluated" {
                    " not-evaluated"
                } else {
                    ""
                },
                esc(&f.rule_id),
                esc(&f.status.replace('_', " ")),
                esc(&f.sentence),
                evidence_badges(f),
                if f.citation.is_empty() {
                    String::new()
                } else {
                    format!(" {}", esc(&f.citation))
                },
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
    out
}

fn evidence_badges(f: &Flag) -> String {
    let mut out = String::new();
    if !f.evidence_grade.is_empty() {
        let _ = write!(
            out,
            "<span class=\"badge grade\">grade {}</span> ",
            esc(&f.evidence_grade)
        );
    }
    if f.provisional {
        out.push_str("<span class=\"badge provisional\">provisional</span>");
    }
    out
}

/// One row of the main flags table.
fn flag_row(f: &Flag) -> String {
    let mut out = String::new();
    let lc = level_class(&f.level);
    let status_class = match f.status.as_str() {
        "raised" => "raised",
        "indeterminate" => "indeterminate",
        _ => "quiet",
    };
    let _ = write!(
        out,
        "<tr class=\"flag level-{lc} status-{status_class}\"><td><span class=\"badge level-{lc}\">{}</span></td><td>{}</td><td class=\"rule\">{}</td><td>",
        esc(level_name(&f.level)),
        esc(&f.status.replace('_', " ")),
        esc(&f.rule_id),
    );
    let _ = write!(out, "<p class=\"sentence\">{}</p>", esc(&f.sentence));
    let what: Vec<String> = [f.structure.as_deref(), f.metric.as_deref()]
        .into_iter()
        .flatten()
        .map(esc)
        .collect();
    if !what.is_empty() {
        let _ = write!(out, "<p class=\"detail\">{}</p>", what.join(" · "));
    }
    if !f.timing.is_empty() {
        let _ = write!(
            out,
            "<p class=\"detail\"><em>Timing:</em> {}</p>",
            join_esc(&f.timing, "; ")
        );
    }
    if !f.covariates.is_empty() {
        let _ = write!(
            out,
            "<p class=\"detail\"><em>Covariates:</em> {}</p>",
            join_esc(&f.covariates, "; ")
        );
    }
    let _ = write!(
        out,
        "</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"evidence\">{}",
        f.value.map_or("—".into(), fmt_num),
        f.threshold.as_deref().map_or("—".into(), esc),
        evidence_badges(f),
    );
    if !f.citation.is_empty() {
        let _ = write!(out, "<p class=\"citation\">{}</p>", esc(&f.citation));
    }
    if !f.evidence_against.is_empty() {
        let _ = write!(
            out,
            "<p class=\"against\"><em>Evidence against:</em></p><ul class=\"against\">{}</ul>",
            f.evidence_against
                .iter()
                .map(|e| format!("<li>{}</li>", esc(e)))
                .collect::<String>()
        );
    }
    out.push_str("</td></tr>");
    out
}

fn join_esc(items: &[String], sep: &str) -> String {
    items.iter().map(|s| esc(s)).collect::<Vec<_>>().join(sep)
}

/// Metric names in first-appearance order, split into physical and EQD2/BED.
fn metric_columns(a: &Analysis) -> (Vec<&str>, Vec<&str>) {
    let mut physical: Vec<&str> = Vec::new();
    let mut eqd2: Vec<&str> = Vec::new();
    for m in a.structures.iter().flat_map(|s| &s.metrics) {
        let list = if is_eqd2_metric(&m.name) {
            &mut eqd2
        } else {
            &mut physical
        };
        if !list.contains(&m.name.as_str()) {
            list.push(&m.name);
        }
    }
    (physical, eqd2)
}

fn metric_cell(s: &StructureResult, name: &str) -> String {
    match s.metrics.iter().find(|m| m.name == name) {
        Some(MetricValue { value: Ok(v), .. }) => format!("<td class=\"num\">{}</td>", fmt_num(*v)),
        // The reason is in a tooltip and, for print, in the warnings list below.
        Some(MetricValue { value: Err(e), .. }) => {
            format!("<td class=\"num na\" title=\"{}\">n/a</td>", esc(e))
        }
        None => "<td class=\"num na\">—</td>".into(),
    }
}

fn structures(a: &Analysis) -> String {
    let (physical, eqd2) = metric_columns(a);
    let styles = style_indices(a);
    let mut out = String::from(
        "<section id=\"structures\"><h2>Structures</h2><p class=\"note\">Doses in Gy, volumes in cc. \
         <em>n/a</em>: the metric has no value (hover for the reason). Structures marked \
         <span class=\"badge derived\">derived</span> were built from others.</p>",
    );
    // Physical and EQD2/BED metrics in two tables rather than one: side by side they
    // are wider than a screen or a page.
    if !eqd2.is_empty() {
        out.push_str("<h3>Physical dose</h3>");
    }
    out.push_str(
        "<div class=\"scroll\"><table class=\"structures\"><thead><tr><th></th><th>Structure (TG-263)</th>\
         <th>ROI name</th><th class=\"num\">Volume (cc)</th><th class=\"num\">In dose grid</th>",
    );
    for m in &physical {
        let _ = write!(out, "<th class=\"num\">{}</th>", esc(m));
    }
    out.push_str("</tr></thead><tbody>");
    for (s, style) in a.structures.iter().zip(&styles) {
        let in_grid = match (s.volume_cc, s.volume_in_dose_grid_cc) {
            (Some(v), Some(g)) if v > 0.0 => format!("{:.1} %", 100.0 * g / v),
            _ => "—".into(),
        };
        let _ = write!(
            out,
            "<tr>{}<td class=\"roi\">{}</td><td class=\"num\">{}</td><td class=\"num\">{in_grid}</td>",
            name_cells(s, *style),
            esc(&s.name),
            s.volume_cc.map_or("—".into(), fmt_num),
        );
        for m in &physical {
            out.push_str(&metric_cell(s, m));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    if !eqd2.is_empty() {
        out.push_str(
            "<h3>EQD2 / BED</h3><div class=\"scroll\"><table class=\"structures eqd2\"><thead><tr><th></th>\
             <th>Structure (TG-263)</th><th>Model</th>",
        );
        for m in &eqd2 {
            let _ = write!(out, "<th class=\"num\">{}</th>", esc(m));
        }
        out.push_str("</tr></thead><tbody>");
        for (s, style) in a.structures.iter().zip(&styles) {
            // Structures with no EQD2 value at all (e.g. no α/β) are left out here.
            if !s
                .metrics
                .iter()
                .any(|m| is_eqd2_metric(&m.name) && m.value.is_ok())
                && s.eqd2_model.is_none()
            {
                continue;
            }
            let _ = write!(
                out,
                "<tr>{}<td class=\"detail\">{}</td>",
                name_cells(s, *style),
                s.eqd2_model.as_deref().map_or("—".into(), esc),
            );
            for m in &eqd2 {
                out.push_str(&metric_cell(s, m));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
    out
}

/// The swatch and name cells of a structure row.
fn name_cells(s: &StructureResult, style: Option<usize>) -> String {
    let swatch = match style {
        Some(i) => {
            // A short line in the curve's colour and dash, as in the legend.
            let (c, dash) = svg::style(i);
            let line = match dash {
                "" => "solid",
                "2 2" => "dotted",
                _ => "dashed",
            };
            format!("<span class=\"swatch\" style=\"border-top:3px {line} {c}\"></span>")
        }
        None => String::new(),
    };
    let mut badges = String::new();
    if s.derived {
        badges.push_str(" <span class=\"badge derived\">derived</span>");
    }
    if s.empty {
        badges.push_str(" <span class=\"badge empty\">no contour</span>");
    }
    format!(
        "<td>{swatch}</td><td class=\"name\">{}{badges}</td>",
        esc(display_name(s))
    )
}

/// The plot style (colour index) of each structure: structures with any curve get
/// consecutive indices, so a structure keeps its colour in both plots and the table.
fn style_indices(a: &Analysis) -> Vec<Option<usize>> {
    let mut next = 0;
    a.structures
        .iter()
        .map(|s| {
            let drawable = [s.dvh.as_ref(), s.eqd2_dvh.as_ref()]
                .into_iter()
                .flatten()
                .any(|c| c.volume_cc.iter().any(|v| v.is_finite() && *v > 0.0));
            drawable.then(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

fn dvh_section(a: &Analysis, eqd2: bool) -> Option<String> {
    let styles = style_indices(a);
    let series: Vec<svg::Series> = a
        .structures
        .iter()
        .zip(&styles)
        .filter_map(|(s, style)| {
            let curve = if eqd2 {
                s.eqd2_dvh.as_ref()
            } else {
                s.dvh.as_ref()
            }?;
            let style_index = (*style)?;
            if !curve.volume_cc.iter().any(|v| v.is_finite() && *v > 0.0) {
                return None;
            }
            let label = display_name(s).to_string();
            let tooltip = if label == s.name {
                label.clone()
            } else {
                format!("{label} ({})", s.name)
            };
            Some(svg::Series {
                label,
                tooltip,
                style_index,
                curve,
            })
        })
        .collect();
    if series.is_empty() {
        return None;
    }
    // The prescription marks the physical plot only: its EQD2 depends on α/β.
    let rx_gy = a
        .plan
        .as_ref()
        .and_then(|p| p.prescription_gy)
        .filter(|_| !eqd2);
    let (id, title, x_label) = if eqd2 {
        ("dvh-eqd2", "Cumulative DVH, EQD2", "EQD2 (Gy)")
    } else {
        ("dvh", "Cumulative DVH, physical dose", "Dose (Gy)")
    };
    let without = a
        .structures
        .iter()
        .filter(|s| !s.empty)
        .count()
        .saturating_sub(series.len());
    let mut out = format!(
        "<section id=\"{id}\" class=\"figure\"><h2>{title}</h2><div class=\"scroll\">{}</div>",
        svg::dvh_plot(&format!("{id}-plot"), x_label, &series, rx_gy)
    );
    let mut notes = vec![format!(
        "Volume in % of each structure's volume inside the dose grid; {} curve{}.",
        series.len(),
        if series.len() == 1 { "" } else { "s" }
    )];
    if without > 0 {
        notes.push(format!(
            "{without} contoured structure{} without a{} DVH not drawn.",
            if without == 1 { "" } else { "s" },
            if eqd2 { "n EQD2" } else { "" }
        ));
    }
    if eqd2 {
        let models: Vec<String> = a
            .structures
            .iter()
            .filter(|s| s.eqd2_dvh.is_some())
            .filter_map(|s| s.eqd2_model.clone())
            .fold(Vec::new(), |mut v, m| {
                if !v.contains(&m) {
                    v.push(m);
                }
                v
            });
        if !models.is_empty() {
            notes.push(format!("Model: {}.", models.join("; ")));
        }
    }
    let _ = write!(
        out,
        "<p class=\"note\">{}</p></section>",
        esc(&notes.join(" "))
    );
    Some(out)
}

fn json_cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "<td class=\"na\">—</td>".into(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("<td class=\"num\">{}</td>", fmt_num(f)),
            _ => format!("<td class=\"num\">{}</td>", esc(&n.to_string())),
        },
        serde_json::Value::Bool(b) => format!("<td>{}</td>", if *b { "yes" } else { "no" }),
        serde_json::Value::String(s) => format!("<td>{}</td>", esc(s)),
        other => format!("<td>{}</td>", esc(&other.to_string())),
    }
}

fn site_table(t: &SiteTable) -> String {
    let mut out = format!(
        "<section id=\"{}\" class=\"site\"><h2>{}</h2>",
        esc(&site_id(t)),
        esc(&t.title)
    );
    if t.rows.is_empty() {
        out.push_str("<p class=\"note\">No rows: not available for this plan.</p>");
    } else {
        out.push_str("<div class=\"scroll\"><table><thead><tr>");
        for c in &t.columns {
            let _ = write!(out, "<th>{}</th>", esc(c));
        }
        out.push_str("</tr></thead><tbody>");
        for row in &t.rows {
            out.push_str("<tr>");
            for v in row {
                out.push_str(&json_cell(v));
            }
            // Short rows are padded so the table stays rectangular.
            for _ in row.len()..t.columns.len() {
                out.push_str("<td class=\"na\">—</td>");
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
    }
    for n in &t.notes {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(n));
    }
    out.push_str("</section>");
    out
}

fn timeline_section(t: &crate::Timeline) -> String {
    let mut out = String::from("<section id=\"timeline\" class=\"figure\"><h2>T-DM1 timeline</h2>");
    let (svg, unreadable) = timeline::timeline_svg(t);
    match svg {
        Some(s) => {
            let _ = write!(out, "<div class=\"scroll\">{s}</div>");
        }
        None => out.push_str("<p class=\"note\">No dated event: timeline not available.</p>"),
    }
    if unreadable > 0 {
        let _ = write!(
            out,
            "<p class=\"note\">{unreadable} event{} with an unreadable date not drawn.</p>",
            if unreadable == 1 { "" } else { "s" }
        );
    }
    if !t.exposure_model.is_empty() {
        let _ = write!(
            out,
            "<p class=\"note\">Relative level: {}</p>",
            esc(&t.exposure_model)
        );
    }
    if !t.facts.is_empty() {
        let _ = write!(
            out,
            "<h3>Timing facts</h3><ul class=\"facts\">{}</ul>",
            t.facts
                .iter()
                .map(|f| format!("<li>{}</li>", esc(f)))
                .collect::<String>()
        );
    }
    if !t.events.is_empty() {
        out.push_str("<details><summary>All events</summary><table class=\"compact\"><thead><tr><th>Date</th><th>Event</th><th>Label</th></tr></thead><tbody>");
        for e in &t.events {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&e.date),
                esc(&e.kind.replace('_', " ")),
                esc(&e.label)
            );
        }
        out.push_str("</tbody></table></details>");
    }
    out.push_str("</section>");
    out
}

fn tps_checks(a: &Analysis) -> Option<String> {
    let rows: Vec<&StructureResult> = a
        .structures
        .iter()
        .filter(|s| s.tps_dvh_check.is_some())
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut out = String::from(
        "<section id=\"tps-check\"><h2>TPS DVH check</h2><p class=\"note\">The planning system's own DVH against radtox's.</p>\
         <div class=\"scroll\"><table><thead><tr><th>Structure</th><th class=\"num\">TPS volume (cc)</th><th class=\"num\">Δ volume</th>\
         <th class=\"num\">TPS mean (Gy)</th><th class=\"num\">Δ mean</th><th class=\"num\">Max |ΔV|</th><th class=\"num\">at (Gy)</th></tr></thead><tbody>",
    );
    for s in rows {
        if let Some(c) = &s.tps_dvh_check {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{} %</td><td class=\"num\">{}</td><td class=\"num\">{} %</td><td class=\"num\">{} %</td><td class=\"num\">{}</td></tr>",
                esc(display_name(s)),
                fmt_num(c.tps_volume_cc),
                fmt_num(c.volume_diff_percent),
                fmt_num(c.tps_mean_gy),
                fmt_num(c.mean_diff_percent),
                fmt_num(c.max_cumulative_deviation_percent),
                fmt_num(c.dose_at_max_deviation_gy),
            );
        }
    }
    out.push_str("</tbody></table></div></section>");
    Some(out)
}

fn name_mapping(a: &Analysis) -> Option<String> {
    let m = a.name_mapping.as_ref()?;
    if m.decisions.is_empty() && m.unmapped.is_empty() && m.ambiguous.is_empty() {
        return None;
    }
    let mut out = String::from("<section id=\"names\"><h2>Name mapping</h2>");
    if !m.unmapped.is_empty() {
        let _ = write!(
            out,
            "<p><strong>Not mapped:</strong> {}</p>",
            join_esc(&m.unmapped, ", ")
        );
    }
    for (tg, originals) in &m.ambiguous {
        let _ = write!(
            out,
            "<p><strong>Ambiguous:</strong> {} ← {}</p>",
            esc(tg),
            join_esc(originals, ", ")
        );
    }
    if !m.decisions.is_empty() {
        out.push_str("<div class=\"scroll\"><table class=\"compact\"><thead><tr><th>Clinical name</th><th>TG-263</th><th>Rule</th></tr></thead><tbody>");
        for d in &m.decisions {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"detail\">{}</td></tr>",
                esc(&d.original),
                d.tg263.as_deref().map_or("—".into(), esc),
                esc(&d.rule)
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
    Some(out)
}

fn warnings(a: &Analysis) -> Option<String> {
    let mut items: Vec<String> = a.warnings.iter().map(|w| esc(w)).collect();
    for s in &a.structures {
        for w in &s.warnings {
            items.push(format!("<strong>{}</strong>: {}", esc(&s.name), esc(w)));
        }
        for (i, m) in s.metrics.iter().enumerate() {
            if let Err(e) = &m.value {
                // An empty structure's metrics all fail for the same reason: say it once.
                if s.empty && i > 0 {
                    continue;
                }
                let what = if s.empty {
                    "all metrics".to_string()
                } else {
                    esc(&m.name)
                };
                items.push(format!(
                    "<strong>{}</strong> {what}: {}",
                    esc(&s.name),
                    esc(e)
                ));
            }
        }
    }
    if items.is_empty() {
        return None;
    }
    Some(format!(
        "<section id=\"warnings\"><h2>Warnings</h2><ul class=\"warnings\">{}</ul></section>",
        items
            .iter()
            .map(|i| format!("<li>{i}</li>"))
            .collect::<String>()
    ))
}

/// File name only: export directories are often named after the patient.
fn file_name(p: &str) -> String {
    p.rsplit(['/', '\\']).next().unwrap_or(p).to_string()
}

fn provenance(a: &Analysis) -> String {
    let mut rows: Vec<(&str, String)> = Vec::new();
    if !a.inputs.rtdose.is_empty() {
        rows.push((
            "RT Dose",
            a.inputs
                .rtdose
                .iter()
                .map(|p| esc(&file_name(p)))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    if let Some(p) = &a.inputs.rtstruct {
        rows.push(("RT Structure Set", esc(&file_name(p))));
    }
    if let Some(p) = &a.inputs.rtplan {
        rows.push(("RT Plan", esc(&file_name(p))));
    }
    for n in &a.inputs.discovery_notes {
        rows.push(("Discovery", esc(n)));
    }
    let s = &a.settings;
    if !s.end_caps.is_empty() {
        rows.push(("End caps", esc(&s.end_caps)));
    }
    if s.dvh_bin_width_gy > 0.0 {
        rows.push((
            "DVH bin width",
            format!("{} Gy", fmt_num(s.dvh_bin_width_gy)),
        ));
    }
    if s.min_samples_per_structure > 0 {
        rows.push((
            "Min. samples per structure",
            s.min_samples_per_structure.to_string(),
        ));
    }
    if !s.metrics_requested.is_empty() {
        rows.push(("Metrics", join_esc(&s.metrics_requested, ", ")));
    }
    let mut out = String::from(
        "<section id=\"provenance\"><h2>Inputs and settings</h2><table class=\"compact kv\"><tbody>",
    );
    for (k, v) in rows {
        let _ = write!(out, "<tr><th>{}</th><td>{v}</td></tr>", esc(k));
    }
    out.push_str("</tbody></table></section>");
    out
}

const CSS: &str = r#"
:root{--ink:#1d2430;--muted:#5b6472;--line:#d5d9e0;--head:#f2f4f7;--accent:#1f4e79;
--info:#3b6ea8;--caution:#b7791f;--high:#d9480f;--very_high:#a61e1e;}
*{box-sizing:border-box}
body{margin:0;background:#eef1f5;color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{max-width:1240px;margin:0 auto;background:#fff;padding:0 32px 24px;min-height:100vh}
.report-header{background:var(--accent);color:#fff;margin:0 -32px 18px;padding:18px 32px 14px}
.report-header h1{margin:0;font-size:24px;font-weight:650;letter-spacing:.2px}
.report-header .sub{margin:4px 0 0;opacity:.85;font-size:13px}
h2{font-size:18px;margin:28px 0 8px;padding-bottom:4px;border-bottom:2px solid var(--accent);color:var(--accent)}
h3{font-size:15px;margin:16px 0 6px}
.disclaimer{border:2px solid var(--very_high);background:#fff4f2;padding:10px 14px;border-radius:6px;margin:0 0 16px;font-size:14px}
.summary dl{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:8px 18px;margin:0}
.summary dl div{border-left:3px solid var(--accent);padding:2px 10px;background:#f8f9fb}
.summary dt{font-size:11px;text-transform:uppercase;letter-spacing:.5px;color:var(--muted)}
.summary dd{margin:0;font-weight:550}
.toc{margin:16px 0 0;font-size:13px;color:var(--muted)}
.toc ol{display:inline;padding:0;margin:0 0 0 8px;list-style:none}
.toc li{display:inline;margin-right:14px}
.toc a{color:var(--accent);text-decoration:none}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
thead th{background:var(--head);font-weight:600;white-space:nowrap}
table.eqd2 thead th{background:#eef3fb}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.na{color:#9aa1ab}
tbody tr:nth-child(even){background:#fafbfc}
td.name{font-weight:600;white-space:nowrap}
td.roi{color:var(--muted)}
.swatch{display:inline-block;width:20px;height:0;vertical-align:middle}
.note{color:var(--muted);font-size:12.5px;margin:4px 0}
.badge{display:inline-block;padding:0 6px;border-radius:9px;font-size:11px;font-weight:600;line-height:18px;white-space:nowrap;border:1px solid transparent}
.badge.level-info{background:var(--info);color:#fff}
.badge.level-caution{background:var(--caution);color:#fff}
.badge.level-high{background:var(--high);color:#fff}
.badge.level-very_high{background:var(--very_high);color:#fff}
.badge.level-unknown{background:#888;color:#fff}
.badge.level-none{background:#e4e6ea;color:#555}
.badge.provisional{background:#fff3bf;color:#7a5a00;border-color:#e0c060}
.badge.grade{background:#e7eef8;color:var(--accent);border-color:#bcd}
.badge.derived{background:#eef;color:#446}
.badge.empty{background:#eee;color:#666}
table.flags{width:100%}
table.flags td.rule{font-weight:700;white-space:nowrap}
tr.flag.status-raised.level-info td:first-child{box-shadow:inset 4px 0 var(--info)}
tr.flag.status-raised.level-caution{background:#fff8e6}
tr.flag.status-raised.level-caution td:first-child{box-shadow:inset 4px 0 var(--caution)}
tr.flag.status-raised.level-high{background:#fff0e6}
tr.flag.status-raised.level-high td:first-child{box-shadow:inset 4px 0 var(--high)}
tr.flag.status-raised.level-very_high{background:#fdeaea}
tr.flag.status-raised.level-very_high td:first-child{box-shadow:inset 4px 0 var(--very_high)}
tr.flag.status-indeterminate{background:#f6f6f6}
tr.flag.status-quiet,tr.flag.quiet{color:var(--muted)}
table.flags.quiet{font-size:12px}
table.flags.quiet td:nth-child(2){white-space:nowrap}
table.flags:not(.quiet) td.evidence{width:26%}
tr.flag.not-evaluated td:nth-child(2){color:var(--caution);font-weight:600}
table.flags.quiet td.evidence{font-size:11.5px}
.no-flags{font-weight:600}
tr.flag.status-quiet .badge{opacity:.55}
.flags p{margin:0 0 3px}
.flags .detail,.detail{color:var(--muted);font-size:12px}
.flags .citation{font-size:12px;margin-top:3px}
.flags ul.against{margin:0;padding-left:18px;font-size:12px}
.figure svg{display:block;max-width:100%;height:auto;font-family:inherit}
details summary{cursor:pointer;color:var(--accent);margin:6px 0}
table.compact td,table.compact th{padding:2px 8px}
table.kv th{background:var(--head);white-space:nowrap}
ul.facts li,ul.warnings li{margin:2px 0}
footer{margin-top:28px;padding-top:8px;border-top:1px solid var(--line);color:var(--muted);font-size:12px}
@page{size:landscape;margin:10mm}
@media print{
body{background:#fff;font-size:11px}
table{font-size:10px}
th,td{padding:2px 5px}
thead th{white-space:normal}
.page{max-width:none;padding:0}
.report-header{margin:0 0 10px;padding:8px 0;background:none;color:var(--ink);border-bottom:3px solid var(--accent)}
.toc{display:none}
.scroll{overflow:visible}
section.figure,table tr{break-inside:avoid}
h2{break-after:avoid}
a{color:inherit;text-decoration:none}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"#;
