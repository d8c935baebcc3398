//! The treatment timeline as SVG: the relative T-DM1 serum level as a line on top,
//! then one lane of T-DM1 doses (diamonds) and one lane of radiotherapy (a tick per
//! fraction, a star per radiosurgery session, brackets at the course start and end),
//! on a shared date axis.

use super::esc;
use super::svg::{decimate, path_data, tick_label};
use crate::Timeline;
use std::fmt::Write;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Parse an ISO `YYYY-MM-DD` date to a day number; `None` for anything else
/// (including 2026-02-30).
pub fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.get(..2)?.parse().ok()?;
    // Years outside 1..=9999 are typos, and would overflow the day arithmetic.
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let day = days_from_civil(y, m, d);
    // Round trip rejects days past the end of the month.
    (civil_from_days(day) == (y, m, d)).then_some(day)
}

/// Fill of a radiotherapy course band (a pale tint of the fraction colour).
const COURSE_FILL: &str = "#f3d9c6";

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn short_date(day: i64) -> String {
    let (_, m, d) = civil_from_days(day);
    let month = MONTHS.get((m as usize).wrapping_sub(1)).unwrap_or(&"?");
    format!("{d} {month}")
}

fn iso(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The timeline SVG, or `None` when no event nor exposure value has a readable date.
/// The second value counts the events whose date could not be read (reported as text).
pub fn timeline_svg(t: &Timeline) -> (Option<String>, usize) {
    let events: Vec<(i64, &crate::TimelineEvent)> = t
        .events
        .iter()
        .filter_map(|e| parse_date(&e.date).map(|d| (d, e)))
        .collect();
    let unreadable = t.events.len() - events.len();
    let exposure: Vec<(i64, f64)> = t
        .exposure
        .iter()
        .filter_map(|(d, v)| Some((parse_date(d)?, *v)).filter(|(_, v)| v.is_finite()))
        .collect();
    let days = events
        .iter()
        .map(|(d, _)| *d)
        .chain(exposure.iter().map(|(d, _)| *d));
    let (Some(first), Some(last)) = (days.clone().min(), days.max()) else {
        return (None, unreadable);
    };
    // A few days of margin so markers at the ends are not cut in half.
    let (start, end) = (first - 3, last.max(first + 1) + 3);
    let span = (end - start) as f64;

    let (width, left, plot_w) = (980.0, 118.0, 840.0);
    let (top, curve_h) = (34.0, 150.0);
    let drug_y = top + curve_h + 34.0;
    let rt_y = drug_y + 40.0;
    let axis_y = rt_y + 26.0;
    let height = axis_y + 40.0;
    let x_of = |day: i64| left + (day - start) as f64 / span * plot_w;

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" id="timeline-plot" class="plot timeline-plot" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="T-DM1 doses, radiotherapy fractions and relative T-DM1 level over time">"#
    );

    // Legend along the top.
    let _ = write!(
        out,
        r##"<g class="legend" font-size="12" fill="#222"><line x1="{l}" y1="12" x2="{l2}" y2="12" stroke="#6a3d9a" stroke-width="2.2"/><text x="{t1}" y="16">Relative T-DM1 level</text><path d="M{d1} 6 l6 6 l-6 6 l-6 -6 z" fill="#6a3d9a"/><text x="{t2}" y="16">T-DM1 dose</text><line x1="{r1}" y1="5" x2="{r1}" y2="19" stroke="#b15928" stroke-width="2"/><text x="{t3}" y="16">RT fraction</text><path d="{star}" fill="#e31a1c"/><text x="{t4}" y="16">Radiosurgery</text><rect x="{c1}" y="7" width="22" height="10" fill="{COURSE_FILL}" stroke="#b15928" stroke-width="0.8"/><text x="{t5}" y="16">RT course</text></g>"##,
        l = left,
        l2 = left + 24.0,
        t1 = left + 30.0,
        d1 = left + 190.0,
        t2 = left + 202.0,
        r1 = left + 300.0,
        t3 = left + 308.0,
        star = star_path(left + 410.0, 12.0, 7.0),
        t4 = left + 422.0,
        c1 = left + 530.0,
        t5 = left + 558.0,
    );

    // Exposure panel: frame, level gridlines, the curve.
    let level_max = exposure
        .iter()
        .map(|(_, v)| *v)
        .fold(1.0_f64, f64::max)
        .min(10.0);
    let y_of = |v: f64| top + curve_h - (v / level_max).clamp(0.0, 1.0) * curve_h;
    let _ = write!(
        out,
        r##"<rect x="{left}" y="{top}" width="{plot_w}" height="{curve_h}" fill="#fff" stroke="#444"/>"##
    );
    let mut grid = String::new();
    let mut labels = String::new();
    let steps = (level_max / 0.25).ceil() as usize;
    let level_step = if steps > 8 { 0.5 } else { 0.25 };
    let mut v = 0.0;
    while v <= level_max + 1e-9 {
        let y = y_of(v);
        let _ = write!(grid, "M{left} {y:.1} H{:.1} ", left + plot_w);
        let _ = write!(
            labels,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + 4.0,
            tick_label(v)
        );
        v += level_step;
    }

    // Date ticks: a step of 1, 2, 7, 14 or 28 days, or whole months, for ≤ 12 labels.
    let step = [1, 2, 7, 14, 28]
        .into_iter()
        .find(|s| (end - start) / s <= 12)
        .unwrap_or(((end - start) / 12 / 28 + 1) * 28);
    let mut tick = first;
    while tick <= end {
        let x = x_of(tick);
        if x >= left - 0.5 {
            let _ = write!(grid, "M{x:.1} {top} V{axis_y:.1} ");
            let _ = write!(
                labels,
                r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                axis_y + 16.0,
                short_date(tick)
            );
        }
        tick += step;
    }
    let _ = write!(
        out,
        r##"<path class="grid" d="{}" stroke="#e3e3e3" stroke-width="0.8" fill="none"/><g class="tick-labels" font-size="11" fill="#333">{labels}</g>"##,
        grid.trim_end()
    );
    let _ = write!(
        out,
        r##"<text class="axis-title" x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="#222">Date ({} to {})</text>"##,
        left + plot_w / 2.0,
        axis_y + 34.0,
        iso(first),
        iso(last)
    );
    let _ = write!(
        out,
        r##"<text class="axis-title" transform="translate({:.1} {:.1}) rotate(-90)" text-anchor="middle" font-size="12" fill="#222">Relative level</text>"##,
        left - 48.0,
        top + curve_h / 2.0,
    );
    if exposure.len() >= 2 {
        let pts: Vec<(f64, f64)> = exposure.iter().map(|(d, v)| (x_of(*d), y_of(*v))).collect();
        let pts = decimate(&pts, super::svg::MAX_CURVE_POINTS, 0.15);
        let _ = write!(
            out,
            r##"<path class="exposure-curve" d="{}" fill="none" stroke="#6a3d9a" stroke-width="2.2" stroke-linejoin="round"><title>{}</title></path>"##,
            path_data(&pts),
            esc(if t.exposure_model.is_empty() {
                "Relative T-DM1 level"
            } else {
                &t.exposure_model
            })
        );
    }

    // Lanes.
    let _ = write!(
        out,
        r##"<g font-size="12" fill="#222" font-weight="600"><text x="{:.1}" y="{:.1}" text-anchor="end">T-DM1</text><text x="{:.1}" y="{:.1}" text-anchor="end">Radiotherapy</text></g><path d="M{left} {drug_y} H{:.1} M{left} {rt_y} H{:.1}" stroke="#bbb" stroke-width="1"/>"##,
        left - 8.0,
        drug_y + 4.0,
        left - 8.0,
        rt_y + 4.0,
        left + plot_w,
        left + plot_w,
    );
    // Each course as a band from its start to its end (drawn first, under the ticks):
    // patient files often give only the first and last fraction dates.
    for (start_day, start) in events.iter().filter(|(_, e)| e.kind == "rt_start") {
        let ends = || {
            events
                .iter()
                .filter(|(d, e)| e.kind == "rt_end" && d >= start_day)
        };
        // The end of the same course (same label), else the next end.
        let Some((end_day, _)) = ends()
            .find(|(_, e)| e.label == start.label)
            .or_else(|| ends().next())
        else {
            continue;
        };
        let _ = write!(
            out,
            r##"<rect class="rt-course" x="{:.1}" y="{:.1}" width="{:.1}" height="12" fill="{COURSE_FILL}"><title>{}</title></rect>"##,
            x_of(*start_day),
            rt_y - 6.0,
            x_of(*end_day) - x_of(*start_day),
            esc(&format!(
                "{} to {} {}",
                start.date,
                iso(*end_day),
                start.label
            ))
        );
    }
    for (day, e) in &events {
        let x = x_of(*day);
        let title = format!("{} {}", e.date, e.label);
        match e.kind.as_str() {
            "tdm1" => {
                let _ = write!(
                    out,
                    r##"<line class="tdm1-rule" x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{:.1}" stroke="#6a3d9a" stroke-width="0.8" stroke-dasharray="3 3" opacity="0.6"/><path class="tdm1-dose" d="M{x:.1} {:.1} l7 7 l-7 7 l-7 -7 z" fill="#6a3d9a"><title>{}</title></path>"##,
                    top + curve_h,
                    drug_y - 7.0,
                    esc(&title)
                );
            }
            "rt_fraction" => {
                let _ = write!(
                    out,
                    r##"<line class="rt-fraction" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#b15928" stroke-width="2"><title>{}</title></line>"##,
                    rt_y - 9.0,
                    rt_y + 9.0,
                    esc(&title)
                );
            }
            "srs" => {
                let _ = write!(
                    out,
                    r##"<path class="srs" d="{}" fill="#e31a1c"><title>{}</title></path>"##,
                    star_path(x, rt_y, 9.0),
                    esc(&title)
                );
            }
            "rt_start" | "rt_end" => {
                // A bracket opening towards the course: "[" at the start, "]" at the end,
                // its upright just outside the day so a fraction tick stays visible.
                let dir = if e.kind == "rt_start" { 5.0 } else { -5.0 };
                let upright = x - 0.8 * dir;
                // The first and last fractions are only given as the course's start and
                // end: they get their tick too.
                let _ = write!(
                    out,
                    r##"<line class="rt-fraction" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#b15928" stroke-width="2"/><path class="{}" d="M{:.1} {:.1} h{} v24 h{dir}" fill="none" stroke="#b15928" stroke-width="1.6"><title>{}</title></path>"##,
                    rt_y - 9.0,
                    rt_y + 9.0,
                    e.kind,
                    upright + dir,
                    rt_y - 12.0,
                    -dir,
                    esc(&title)
                );
            }
            _ => {
                let _ = write!(
                    out,
                    r##"<circle class="event" cx="{x:.1}" cy="{rt_y:.1}" r="4" fill="#555"><title>{}</title></circle>"##,
                    esc(&title)
                );
            }
        }
    }
    out.push_str("</svg>");
    (Some(out), unreadable)
}

/// A five-pointed star centred on (`cx`, `cy`) with outer radius `r`.
fn star_path(cx: f64, cy: f64, r: f64) -> String {
    let mut d = String::new();
    for i in 0..10 {
        let radius = if i % 2 == 0 { r } else { r * 0.45 };
        let angle = std::f64::consts::PI * (i as f64) / 5.0 - std::f64::consts::FRAC_PI_2;
        let _ = write!(
            d,
            "{}{:.1} {:.1} ",
            if i == 0 { "M" } else { "L" },
            cx + radius * angle.cos(),
            cy + radius * angle.sin()
        );
    }
    d.push('Z');
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(parse_date("2024-02-29"), Some(days_from_civil(2024, 2, 29)));
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("99999999999999-01-01"), None);
        assert_eq!(parse_date("-2026-01-01"), None);
        assert_eq!(
            parse_date("2026-03-01")
                .zip(parse_date("2026-02-27"))
                .map(|(a, b)| a - b),
            Some(2)
        );
        for day in [-1000, 0, 19_000, 20_513] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(short_date(days_from_civil(2026, 3, 2)), "2 Mar");
    }
}
