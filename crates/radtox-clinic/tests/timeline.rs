//! Timing windows at their exact edges, offsets, several courses, and the exposure curve.

mod common;

use common::*;
use radtox_clinic::*;

fn holds(case: &Case, w: &Window) -> bool {
    !case.timeline().window_hits(w).is_empty()
}

/// Window edges are inclusive: the last day in, the next day out, on both sides.
#[test]
fn window_edges() {
    let srs = |dose: &str| Case::new().srs("2026-02-23").dose(dose);
    // Stumpf ±28 d of SRS (2026-02-23): 2026-03-23 is +28, 2026-01-26 is −28.
    assert!(holds(&srs("2026-03-23"), &Window::stumpf()));
    assert!(!holds(&srs("2026-03-24"), &Window::stumpf()));
    assert!(holds(&srs("2026-01-26"), &Window::stumpf()));
    assert!(!holds(&srs("2026-01-25"), &Window::stumpf()));
    // Lebow −21..+7.
    assert!(holds(&srs("2026-03-02"), &Window::lebow()));
    assert!(!holds(&srs("2026-03-03"), &Window::lebow()));
    assert!(holds(&srs("2026-02-02"), &Window::lebow()));
    assert!(!holds(&srs("2026-02-01"), &Window::lebow()));
    // Chun ±365 (2027 is not a leap year: 2027-02-23 is +365).
    assert!(holds(&srs("2027-02-23"), &Window::chun()));
    assert!(!holds(&srs("2027-02-24"), &Window::chun()));
    assert!(holds(&srs("2025-02-23"), &Window::chun()));
    assert!(!holds(&srs("2025-02-22"), &Window::chun()));
    // Koide ±28 of the first day of a WBRT course, not of its last day.
    let wbrt = |dose: &str| {
        Case::new()
            .course(CourseKind::Wbrt, "2026-02-02", "2026-02-13")
            .dose(dose)
    };
    assert!(holds(&wbrt("2026-03-02"), &Window::koide()));
    assert!(!holds(&wbrt("2026-03-03"), &Window::koide()));
    // Dastgheyb ±14 of breast RT start (2026-03-02), symmetric.
    let br = |dose: &str| Case::new().breast("2026-03-02", "2026-04-03").dose(dose);
    assert!(holds(&br("2026-03-16"), &Window::dastgheyb()));
    assert!(!holds(&br("2026-03-17"), &Window::dastgheyb()));
    assert!(holds(&br("2026-02-16"), &Window::dastgheyb()));
    assert!(!holds(&br("2026-02-15"), &Window::dastgheyb()));
    // During RT: first and last day inclusive.
    assert!(holds(&br("2026-03-02"), &Window::during_rt()));
    assert!(holds(&br("2026-04-03"), &Window::during_rt()));
    assert!(!holds(&br("2026-03-01"), &Window::during_rt()));
    assert!(!holds(&br("2026-04-04"), &Window::during_rt()));
}

#[test]
fn windows_only_apply_to_their_course_kinds() {
    // A dose the day after breast RT start is not "within 28 d of SRS".
    let c = Case::new()
        .breast("2026-03-02", "2026-04-03")
        .dose("2026-03-03");
    assert!(!holds(&c, &Window::stumpf()));
    assert!(!holds(&c, &Window::lebow()));
    // And Dastgheyb does not apply to SRS.
    let s = Case::new().srs("2026-02-23").dose("2026-02-24");
    assert!(!holds(&s, &Window::dastgheyb()));
}

#[test]
fn sequential_means_the_first_dose_follows_srs() {
    let seq = Window::chun_sequential();
    assert!(holds(
        &Case::new().srs("2026-02-23").dose("2026-02-24"),
        &seq
    ));
    // Same-day is not "after".
    assert!(!holds(
        &Case::new().srs("2026-02-23").dose("2026-02-23"),
        &seq
    ));
    // A dose before SRS makes the schedule concurrent/preceding, even with later doses.
    assert!(!holds(
        &Case::new()
            .srs("2026-02-23")
            .dose("2026-02-01")
            .dose("2026-03-01"),
        &seq
    ));
    // Beyond Chun's one year it is not in the cohort's pattern.
    assert!(!holds(
        &Case::new().srs("2026-02-23").dose("2027-02-24"),
        &seq
    ));
}

#[test]
fn offsets_pick_the_nearest_dose_with_sign() {
    // Doses before and after SRS: −10 d and +12 d; the nearest is −10.
    let c = Case::new()
        .srs("2026-02-23")
        .dose("2026-02-13")
        .dose("2026-03-07");
    let rows = c.timeline().offsets();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.role, RtDateRole::Single);
    assert_eq!(r.nearest_dose, Some(date("2026-02-13")));
    assert_eq!(r.delta_days, Some(-10));
    // −10 is in Lebow's window even though +12 is not; every window is judged over all doses.
    assert_eq!(r.windows, ["stumpf", "koide", "lebow", "chun"]);
    // Ties go to the earlier dose.
    let tie = Case::new()
        .srs("2026-02-23")
        .dose("2026-02-20")
        .dose("2026-02-26");
    assert_eq!(tie.timeline().offsets()[0].delta_days, Some(-3));
    // No doses: no offset, no window.
    let none = Case::new().srs("2026-02-23").timeline().offsets();
    assert_eq!((none[0].delta_days, none[0].windows.len()), (None, 0));
}

#[test]
fn several_courses_and_srt_fractions() {
    let mut c = Case::new()
        .course(CourseKind::Srt, "2026-01-05", "2026-01-09")
        .breast("2026-03-02", "2026-04-03")
        .dose("2026-01-14")
        .dose("2026-03-16");
    // Every SRT fraction date is known.
    c.courses[0].fraction_dates = ["2026-01-05", "2026-01-07", "2026-01-09"]
        .map(date)
        .to_vec();
    let rows = c.timeline().offsets();
    let summary: Vec<(CourseKind, String, Option<i64>)> = rows
        .iter()
        .map(|r| (r.kind, r.date.to_string(), r.delta_days))
        .collect();
    assert_eq!(
        summary,
        [
            (CourseKind::Srt, "2026-01-05".to_string(), Some(9)),
            (CourseKind::Srt, "2026-01-07".to_string(), Some(7)),
            (CourseKind::Srt, "2026-01-09".to_string(), Some(5)),
            (CourseKind::Breast, "2026-03-02".to_string(), Some(14)),
            (CourseKind::Breast, "2026-04-03".to_string(), Some(-18)),
        ]
    );
    // Lebow (+7) holds for the fractions of 01-07 and 01-09, not of 01-05 (+9).
    let lebow: Vec<bool> = rows
        .iter()
        .map(|r| r.windows.contains(&"lebow".to_string()))
        .collect();
    assert_eq!(lebow, [false, true, true, false, false]);
    // Breast RT start: Dastgheyb (+14) and "during RT" hold; during RT shows on both rows.
    assert_eq!(rows[3].windows, ["dastgheyb", "during_rt"]);
    assert_eq!(rows[4].windows, ["during_rt"]);
    assert_eq!(
        [rows[0].role, rows[1].role, rows[2].role],
        [RtDateRole::First, RtDateRole::Fraction, RtDateRole::Last]
    );
}

#[test]
fn exposure_follows_a_four_day_half_life() {
    let c = Case::new().srs("2026-02-23").dose("2026-02-02");
    let t = c.timeline();
    // Day of the dose: 1.0 by definition; 4 days: 0.5.
    assert_eq!(t.exposure_on(date("2026-02-02")), 1.0);
    assert!((t.exposure_on(date("2026-02-06")) - 0.5).abs() < 1e-15);
    // 21 days: 2^(−21/4) = 0.02628 (2.6%); 28 days: 2^(−7) = 0.0078125 (0.8%).
    let d21 = t.exposure_on(date("2026-02-23"));
    assert!((d21 - 0.026_278_012_976_678_578).abs() < 1e-12, "{d21}");
    assert!((t.exposure_on(date("2026-03-02")) - 0.007_812_5).abs() < 1e-15);
    // Before the dose: nothing.
    assert_eq!(t.exposure_on(date("2026-02-01")), 0.0);
    // The table reports it on the RT date.
    assert!((t.offsets()[0].exposure - d21).abs() < 1e-15);
}

#[test]
fn exposure_scales_with_dose_and_accumulates() {
    let mut c = Case::new()
        .srs("2026-02-23")
        .dose("2026-02-02")
        .dose("2026-02-23");
    c.doses[1].dose_mg_per_kg = 2.4;
    let t = c.timeline();
    // Day 21 of the first dose plus a same-day 2.4 mg/kg dose (2.4/3.6 = 2/3).
    let want = (-21.0f64 / 4.0).exp2() + 2.0 / 3.0;
    assert!((t.exposure_on(date("2026-02-23")) - want).abs() < 1e-12);
}

#[test]
fn exposure_curve_spans_the_courses_plus_28_days() {
    let c = Case::new()
        .course(CourseKind::Srt, "2026-01-05", "2026-01-09")
        .breast("2026-03-02", "2026-04-03")
        .dose("2026-01-14");
    let curve = c.timeline().exposure_curve();
    assert_eq!(curve.first().map(|p| p.date), Some(date("2025-12-08")));
    assert_eq!(curve.last().map(|p| p.date), Some(date("2026-05-01")));
    // Daily samples, no gaps.
    assert_eq!(
        curve.len() as i64,
        date("2026-05-01").days_since(date("2025-12-08")) + 1
    );
    assert!(
        curve
            .windows(2)
            .all(|w| w[1].date.days_since(w[0].date) == 1)
    );
    // Peak on the dose day, then strictly decaying.
    let peak = curve
        .iter()
        .max_by(|a, b| a.level.total_cmp(&b.level))
        .unwrap();
    assert_eq!((peak.date, peak.level), (date("2026-01-14"), 1.0));
    assert!(Case::new().timeline().exposure_curve().is_empty());
}

#[test]
fn delta_wording() {
    assert_eq!(describe_delta(0), "on the day of");
    assert_eq!(describe_delta(1), "1 day after");
    assert_eq!(describe_delta(-21), "21 days before");
}
