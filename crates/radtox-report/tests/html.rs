//! The HTML report's structure: escaping, one path per curve, sections present only
//! with their data, balanced tags, no external resource, curve coordinates on known
//! analytic DVHs.

use radtox_report::html::{MAX_CURVE_POINTS, to_html};
use radtox_report::{
    Analysis, DvhCurve, Flag, GridSummary, MetricValue, NameDecision, NameMapping, PlanSummary,
    SiteTable, StructureResult, Timeline, TimelineEvent,
};

/// A linear cumulative DVH: 100 % at 0 Gy falling to 0 at `max_gy`, `n` points.
fn linear_dvh(volume_cc: f64, max_gy: f64, n: usize) -> DvhCurve {
    let dose_gy: Vec<f64> = (0..n).map(|i| max_gy * i as f64 / (n - 1) as f64).collect();
    let volume_cc = dose_gy
        .iter()
        .map(|d| volume_cc * (1.0 - d / max_gy))
        .collect();
    DvhCurve { dose_gy, volume_cc }
}

/// A smooth sigmoid DVH at 0.01 Gy bins: thousands of points to decimate.
fn sigmoid_dvh(volume_cc: f64, d50: f64, max_gy: f64) -> DvhCurve {
    let n = (max_gy / 0.01) as usize + 1;
    let dose_gy: Vec<f64> = (0..n).map(|i| i as f64 * 0.01).collect();
    let volume_cc = dose_gy
        .iter()
        .map(|d| volume_cc / (1.0 + ((d - d50) / 1.5).exp()))
        .collect();
    DvhCurve { dose_gy, volume_cc }
}

fn structure(roi: i32, name: &str, tg263: Option<&str>, dvh: Option<DvhCurve>) -> StructureResult {
    StructureResult {
        roi_number: roi,
        name: name.into(),
        tg263_name: tg263.map(Into::into),
        empty: dvh.is_none(),
        volume_cc: dvh.as_ref().map(|c| c.volume_cc[0]),
        volume_in_dose_grid_cc: dvh.as_ref().map(|c| c.volume_cc[0]),
        metrics: vec![
            MetricValue::ok("Mean[Gy]", 12.5),
            MetricValue::ok("Mean[EQD2Gy]", 15.25),
        ],
        dvh,
        ..StructureResult::default()
    }
}

/// An analysis with every section filled.
fn full() -> Analysis {
    let mut a = Analysis::new("0.1.0");
    a.plan = Some(PlanSummary {
        label: Some("SRS 3 mets".into()),
        name: None,
        fractions: Some(3),
        prescription_gy: Some(27.0),
    });
    a.dose_grid = Some(GridSummary {
        dims: [100, 100, 50],
        spacing_mm: [2.0, 2.0, 2.0],
        max_dose_gy: 31.2,
        dose_units: "GY".into(),
        frame_of_reference_uid: Some("1.2.3".into()),
    });
    a.inputs.rtdose = vec!["/exports/DOE^JANE_12345/rtdose.dcm".into()];
    a.inputs.rtstruct = Some("/exports/DOE^JANE_12345/rtstruct.dcm".into());
    let mut ptv = structure(
        1,
        "PTV 1",
        Some("PTV_High"),
        Some(sigmoid_dvh(2.0, 28.0, 35.0)),
    );
    ptv.eqd2_dvh = Some(sigmoid_dvh(2.0, 60.0, 80.0));
    ptv.eqd2_model = Some("LQ α/β 10 Gy, 3 fx".into());
    let mut brain = structure(
        2,
        "Brain",
        Some("Brain"),
        Some(linear_dvh(1400.0, 30.0, 3001)),
    );
    brain.eqd2_dvh = Some(linear_dvh(1400.0, 50.0, 5001));
    brain
        .metrics
        .push(MetricValue::err("V12Gy[cc]", "outside the grid"));
    let evil = structure(
        3,
        "<script>alert('x')</script>",
        None,
        Some(linear_dvh(5.0, 20.0, 201)),
    );
    let empty = structure(4, "Couch", None, None);
    a.structures = vec![ptv, brain, evil, empty];
    a.site_tables = vec![SiteTable {
        id: "brain_lesions".into(),
        title: "Brain lesions".into(),
        columns: vec!["Lesion".into(), "Volume (cc)".into(), "V12Gy (cc)".into()],
        rows: vec![
            vec!["GTV 1".into(), 0.52.into(), serde_json::Value::Null],
            vec!["GTV <2>".into(), 1.25.into()],
        ],
        notes: vec!["V12Gy of brain minus GTVs.".into()],
    }];
    a.timeline = Some(Timeline {
        events: vec![
            TimelineEvent {
                date: "2026-02-23".into(),
                kind: "tdm1".into(),
                label: "cycle 4".into(),
            },
            TimelineEvent {
                date: "2026-03-16".into(),
                kind: "tdm1".into(),
                label: "cycle 5".into(),
            },
            TimelineEvent {
                date: "2026-03-02".into(),
                kind: "srs".into(),
                label: "SRS".into(),
            },
            TimelineEvent {
                date: "2026-03-03".into(),
                kind: "rt_fraction".into(),
                label: "fx 2".into(),
            },
            TimelineEvent {
                date: "2026-03-04".into(),
                kind: "rt_fraction".into(),
                label: "fx 3".into(),
            },
            TimelineEvent {
                date: "2026-02-30".into(),
                kind: "rt_fraction".into(),
                label: "bad date".into(),
            },
        ],
        facts: vec!["T-DM1 on 2026-02-23 is 7 d before SRS (within ±28 d)".into()],
        exposure: (0..40)
            .map(|i| {
                let day = 23 + i;
                let date = match day {
                    ..=28 => format!("2026-02-{day:02}"),
                    29..=59 => format!("2026-03-{:02}", day - 28),
                    _ => format!("2026-04-{:02}", day - 59),
                };
                (date, 0.5f64.powf(i as f64 / 4.0))
            })
            .collect(),
        exposure_model: "one-compartment, half-life 4 d".into(),
    });
    a.flags = vec![
        Flag {
            rule_id: "B1".into(),
            level: "high".into(),
            status: "raised".into(),
            structure: Some("Brain".into()),
            metric: Some("V12Gy[cc]".into()),
            value: Some(11.2),
            threshold: Some(">= 10".into()),
            timing: vec!["T-DM1 within 28 d of SRS".into()],
            covariates: vec![],
            evidence_grade: "C".into(),
            citation: "Stumpf PK et al. 2019".into(),
            provisional: true,
            evidence_against: vec!["Small series; no dose–response shown".into()],
            sentence: "Radionecrosis risk: brain V12Gy 11.2 cc with T-DM1 within 28 d.".into(),
        },
        Flag {
            rule_id: "H7".into(),
            level: "caution".into(),
            status: "not_raised".into(),
            sentence: "Heart mean below threshold.".into(),
            evidence_grade: "B".into(),
            citation: "Someone 2020".into(),
            ..Flag::default()
        },
    ];
    a.disclaimer = Some("Decision support only; not a substitute for clinical judgement.".into());
    a.name_mapping = Some(NameMapping {
        decisions: vec![NameDecision {
            original: "PTV 1".into(),
            tg263: Some("PTV_High".into()),
            rule: "alias".into(),
        }],
        unmapped: vec!["Couch".into()],
        ambiguous: vec![],
    });
    a.warnings = vec!["dose grid does not cover the whole body".into()];
    a
}

/// Check that every opened element is closed in order (void elements and `/>` aside)
/// and return the number of elements.
fn check_balanced(html: &str) -> Result<usize, String> {
    const VOID: [&str; 7] = ["meta", "br", "hr", "img", "input", "link", "col"];
    let mut stack: Vec<String> = Vec::new();
    let mut count = 0;
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        if rest.starts_with("<!--") {
            let end = rest.find("-->").ok_or("unclosed comment")?;
            rest = &rest[end + 3..];
            continue;
        }
        let end = rest.find('>').ok_or("unclosed tag")?;
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if name.is_empty() {
            return Err(format!("bad tag <{tag}>"));
        }
        count += 1;
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        if name == "style" {
            // Raw text: skip to its end tag.
            let end = rest.find("</style>").ok_or("unclosed style")?;
            rest = &rest[end + "</style>".len()..];
            continue;
        }
        stack.push(name);
    }
    if stack.is_empty() {
        Ok(count)
    } else {
        Err(format!("unclosed: {stack:?}"))
    }
}

/// The content of the element whose opening tag contains `marker`.
fn element<'a>(html: &'a str, marker: &str, tag: &str) -> &'a str {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} missing"));
    let open = html[..start].rfind(&format!("<{tag}")).unwrap();
    let end = html[start..].find(&format!("</{tag}>")).unwrap() + start;
    &html[open..end]
}

#[test]
fn full_report_is_well_formed_and_has_every_section() {
    let html = to_html(&full());
    let n = check_balanced(&html).unwrap();
    assert!(n > 200, "{n} elements");
    for id in [
        "id=\"disclaimer\"",
        "id=\"summary\"",
        "id=\"flags\"",
        "id=\"structures\"",
        "id=\"dvh\"",
        "id=\"dvh-eqd2\"",
        "id=\"site-brain_lesions\"",
        "id=\"timeline\"",
        "id=\"names\"",
        "id=\"warnings\"",
        "id=\"provenance\"",
    ] {
        assert!(html.contains(id), "{id} missing");
    }
    // The disclaimer comes before the flags it qualifies.
    assert!(html.find("id=\"disclaimer\"") < html.find("id=\"flags\""));
    // The same analysis gives the same bytes (no timestamp).
    assert_eq!(html, to_html(&full()));
}

#[test]
fn structure_names_from_files_are_escaped() {
    let html = to_html(&full());
    assert!(!html.contains("<script"), "raw script tag in the report");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("GTV &lt;2&gt;"));
    check_balanced(&html).unwrap();
}

#[test]
fn self_contained_no_script_no_external_resource() {
    let html = to_html(&full());
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"));
    assert!(!lower.contains(" src="));
    assert!(!lower.contains("<link"));
    assert!(!lower.contains("@import"));
    // The only URL is the SVG namespace, which is a name, not a fetch.
    let urls = lower.matches("http").count();
    let ns = lower
        .matches("xmlns=\"http://www.w3.org/2000/svg\"")
        .count();
    assert_eq!(urls, ns);
    assert_eq!(ns, 3, "DVH, EQD2 DVH and timeline SVGs");
}

#[test]
fn one_path_per_curve_with_tg263_legend() {
    let html = to_html(&full());
    let physical = element(&html, "id=\"dvh-plot\"", "svg");
    // PTV, Brain and the escaped one; the empty Couch has no curve.
    assert_eq!(physical.matches("class=\"dvh-curve\"").count(), 3);
    assert_eq!(physical.matches("class=\"legend-entry\"").count(), 3);
    assert!(
        physical.contains(">PTV_High</text>"),
        "TG-263 name in legend"
    );
    assert!(physical.contains(">Brain</text>"));
    assert!(
        !physical.contains(">PTV 1</text>"),
        "ROI name shown instead of TG-263"
    );
    let eqd2 = element(&html, "id=\"dvh-eqd2-plot\"", "svg");
    assert_eq!(eqd2.matches("class=\"dvh-curve\"").count(), 2);
    assert!(eqd2.contains("EQD2 (Gy)"));
    // Same colour for the same structure in both plots.
    let colour = |svg: &str, name: &str| {
        let i = svg.find(&format!("data-structure=\"{name}")).unwrap();
        svg[i..].split("stroke=\"").nth(1).unwrap()[..7].to_string()
    };
    assert_eq!(colour(physical, "Brain"), colour(eqd2, "Brain"));
    assert_ne!(colour(physical, "Brain"), colour(physical, "PTV_High"));
}

#[test]
fn physical_and_eqd2_metrics_in_separate_tables() {
    let html = to_html(&full());
    let section = element(&html, "id=\"structures\"", "section");
    assert_eq!(section.matches("<table").count(), 2);
    let physical = &section[..section.find("<h3>EQD2 / BED</h3>").unwrap()];
    let eqd2 = &section[section.find("<h3>EQD2 / BED</h3>").unwrap()..];
    assert!(physical.contains(">Mean[Gy]</th>") && !physical.contains("EQD2Gy"));
    assert!(eqd2.contains(">Mean[EQD2Gy]</th>") && !eqd2.contains(">Mean[Gy]</th>"));
    assert!(
        eqd2.contains("LQ α/β 10 Gy, 3 fx"),
        "the model is named per structure"
    );
    // 12.5 and 15.25 Gy with two decimals; the failed V12Gy shows n/a with its reason.
    assert!(physical.contains(">12.50</td>") && eqd2.contains(">15.25</td>"));
    assert!(physical.contains("title=\"outside the grid\">n/a</td>"));
}

#[test]
fn curves_are_decimated_to_at_most_400_points() {
    let html = to_html(&full());
    let physical = element(&html, "id=\"dvh-plot\"", "svg");
    for path in physical.split("class=\"dvh-curve\"").skip(1) {
        let d = path
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let points = d.matches(['M', 'L']).count();
        assert!((2..=MAX_CURVE_POINTS).contains(&points), "{points} points");
    }
}

#[test]
fn a_linear_dvh_is_drawn_corner_to_corner() {
    // One structure, V(d) = 100 % · (1 − d/50 Gy): the axis ends at 50 Gy, the curve is
    // a straight line from the top-left to the bottom-right corner of the plot area
    // (x 64…724, y 18…348 in SVG units) and decimates to its two ends.
    let mut a = Analysis::new("0.1.0");
    a.structures = vec![structure(
        1,
        "Cord",
        Some("SpinalCord"),
        Some(linear_dvh(30.0, 50.0, 5001)),
    )];
    let html = to_html(&a);
    let svg = element(&html, "id=\"dvh-plot\"", "svg");
    assert!(svg.contains("d=\"M64.0 18.0 L724.0 348.0\""), "{svg}");
    // Ticks every 10 Gy up to 50, and 0…100 % every 10 %.
    for t in ["0", "10", "20", "30", "40", "50"] {
        assert!(
            svg.contains(&format!("text-anchor=\"middle\">{t}</text>")),
            "tick {t}"
        );
    }
    assert!(svg.contains("text-anchor=\"end\">100</text>"));
    assert!(
        !svg.contains("prescription"),
        "no plan, no prescription line"
    );

    // A 20 Gy prescription is a dashed line at 20/50 of the 660-unit-wide plot area.
    a.plan = Some(PlanSummary {
        prescription_gy: Some(20.0),
        ..PlanSummary::default()
    });
    let html = to_html(&a);
    let svg = element(&html, "id=\"dvh-plot\"", "svg");
    assert!(
        svg.contains("<line x1=\"328.0\" y1=\"18.0\" x2=\"328.0\" y2=\"348.0\""),
        "{svg}"
    );
    assert!(svg.contains(">Rx 20 Gy</text>"));
}

#[test]
fn many_structures_legend_below_and_size_bounded() {
    // 60 structures with 6 001-point curves (0.01 Gy bins to 60 Gy).
    let mut a = Analysis::new("0.1.0");
    a.structures = (0..60)
        .map(|i| {
            let mut s = structure(
                i,
                &format!("Structure with a rather long name number {i}"),
                None,
                Some(sigmoid_dvh(10.0 + i as f64, 1.0 + i as f64 * 0.9, 60.0)),
            );
            s.eqd2_dvh = None;
            s
        })
        .collect();
    let start = std::time::Instant::now();
    let html = to_html(&a);
    let elapsed = start.elapsed();
    eprintln!(
        "60 × 6001-point curves: {} kB in {elapsed:?}",
        html.len() / 1024
    );
    check_balanced(&html).unwrap();
    let svg = element(&html, "id=\"dvh-plot\"", "svg");
    assert_eq!(svg.matches("class=\"dvh-curve\"").count(), 60);
    assert_eq!(svg.matches("class=\"legend-entry\"").count(), 60);
    // Legend below: the plot spans the width, the figure is 15 rows of legend tall.
    assert!(svg.contains("viewBox=\"0 0 980 691\""), "{}", &svg[..200]);
    assert!(svg.contains(">Structure with a rather long …</text>"));
    // Colours repeat dashed beyond the 16-colour palette.
    assert!(svg.contains("stroke-dasharray=\"7 3\""));
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
    // Kept for a look in a browser.
    let _ = std::fs::write(
        concat!(env!("CARGO_TARGET_TMPDIR"), "/report-many-structures.html"),
        &html,
    );
}

#[test]
fn empty_sections_are_omitted() {
    let a = Analysis::new("0.1.0");
    let html = to_html(&a);
    check_balanced(&html).unwrap();
    for id in [
        "id=\"flags\"",
        "id=\"structures\"",
        "id=\"dvh\"",
        "id=\"dvh-eqd2\"",
        "id=\"timeline\"",
        "id=\"names\"",
        "id=\"warnings\"",
        "id=\"disclaimer\"",
        "<svg",
    ] {
        assert!(!html.contains(id), "{id} present in an empty report");
    }
    assert!(html.contains("id=\"provenance\""));
    // Structures without EQD2 curves: the physical plot only.
    let mut a = Analysis::new("0.1.0");
    a.structures = vec![structure(
        1,
        "Heart",
        None,
        Some(linear_dvh(500.0, 10.0, 11)),
    )];
    a.structures[0].metrics.retain(|m| m.name == "Mean[Gy]");
    let html = to_html(&a);
    assert!(html.contains("id=\"dvh-plot\""));
    assert!(!html.contains("id=\"dvh-eqd2\""));
    assert!(
        !html.contains("EQD2 / BED"),
        "no EQD2 column group without EQD2 metrics"
    );
    check_balanced(&html).unwrap();
}

#[test]
fn flags_show_level_grade_citation_and_doubts() {
    let html = to_html(&full());
    let flags = element(&html, "id=\"flags\"", "section");
    let raised = flags
        .find("class=\"flag level-high status-raised\"")
        .unwrap();
    // Rules that did not fire are listed after, in their own compact table.
    let quiet_table = flags.find("Other rules (1): not evaluated").unwrap();
    let quiet = flags
        .find("<td class=\"rule\">H7</td><td>not raised</td>")
        .unwrap();
    assert!(
        raised < quiet_table && quiet_table < quiet,
        "raised flags come first"
    );
    assert_eq!(flags.matches("<table").count(), 2);
    assert!(flags.contains("<span class=\"badge level-high\">high</span>"));
    assert!(flags.contains("grade C"));
    assert!(flags.contains("Stumpf PK et al. 2019"));
    assert!(flags.contains("<span class=\"badge provisional\">provisional</span>"));
    assert!(flags.contains("Small series; no dose–response shown"));
    assert!(flags.contains("&gt;= 10"));
    // A rule not evaluated (a covariate missing) leads the compact table.
    let mut a = full();
    a.flags.push(Flag {
        rule_id: "C6".into(),
        level: "none".into(),
        status: "not_evaluated".into(),
        sentence: "Not evaluated (C6): covariate laterality not supplied.".into(),
        ..Flag::default()
    });
    let html = to_html(&a);
    let flags = element(&html, "id=\"flags\"", "section");
    assert!(flags.contains("Other rules (2)"));
    let c6 = flags
        .find("<tr class=\"flag quiet not-evaluated\"><td class=\"rule\">C6</td>")
        .unwrap();
    let h7 = flags.find("<td class=\"rule\">H7</td>").unwrap();
    assert!(c6 < h7);
    // An unknown level from a file does not reach the class attribute.
    let mut a = full();
    a.flags[0].level = "x\" onclick=\"y".into();
    let html = to_html(&a);
    assert!(html.contains("level-unknown"));
    assert!(!html.contains("onclick=\"y"));
}

#[test]
fn timeline_has_doses_fractions_and_exposure() {
    let html = to_html(&full());
    let svg = element(&html, "id=\"timeline-plot\"", "svg");
    assert_eq!(svg.matches("class=\"tdm1-dose\"").count(), 2);
    assert_eq!(
        svg.matches("class=\"rt-fraction\"").count(),
        2,
        "the bad date is not drawn"
    );
    assert_eq!(svg.matches("class=\"srs\"").count(), 1);
    assert_eq!(svg.matches("class=\"exposure-curve\"").count(), 1);
    assert!(html.contains("1 event with an unreadable date not drawn"));
    assert!(html.contains("within ±28 d"));
    assert!(svg.contains("Date (2026-02-23 to 2026-04-03)"));
}

#[test]
fn a_course_start_and_end_are_fractions_too() {
    // radtox-analysis writes a 5-fraction course as start, 3 fractions, end.
    let mut a = Analysis::new("0.1.0");
    let mut events = vec![TimelineEvent {
        date: "2026-05-04".into(),
        kind: "rt_start".into(),
        label: "Breast 5 fx".into(),
    }];
    for d in 5..=7 {
        events.push(TimelineEvent {
            date: format!("2026-05-{d:02}"),
            kind: "rt_fraction".into(),
            label: "Breast 5 fx".into(),
        });
    }
    events.push(TimelineEvent {
        date: "2026-05-08".into(),
        kind: "rt_end".into(),
        label: "Breast 5 fx".into(),
    });
    a.timeline = Some(Timeline {
        events,
        ..Timeline::default()
    });
    let html = to_html(&a);
    let svg = element(&html, "id=\"timeline-plot\"", "svg");
    assert_eq!(svg.matches("class=\"rt-fraction\"").count(), 5);
    assert_eq!(svg.matches("class=\"rt_start\"").count(), 1);
    assert_eq!(svg.matches("class=\"rt_end\"").count(), 1);
    // One course band from 4 to 8 May.
    assert_eq!(svg.matches("class=\"rt-course\"").count(), 1);
    assert!(svg.contains("<title>2026-05-04 to 2026-05-08 Breast 5 fx</title>"));
    // No exposure curve without exposure values, and no T-DM1 marker without doses.
    assert!(!svg.contains("exposure-curve") && !svg.contains("tdm1-dose"));
    check_balanced(&html).unwrap();
}

#[test]
fn no_patient_identifiers_from_paths() {
    let html = to_html(&full());
    assert!(
        !html.contains("DOE"),
        "directory names can be patient names"
    );
    assert!(!html.contains("12345"));
    assert!(html.contains("rtdose.dcm"));
}

#[test]
fn render_dispatches_html() {
    let html = radtox_report::render(&full(), radtox_report::Format::Html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
}
