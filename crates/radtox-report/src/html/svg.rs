//! Hand-written SVG: cumulative DVH plots, axis ticks and curve decimation.
//!
//! No plotting dependency: a DVH plot is two axes, a grid and one `<path>` per
//! structure, which is a few dozen lines of SVG text. Coordinates are written with one
//! decimal (0.1 px is far below what a screen or printer resolves) and every curve is
//! decimated to at most [`MAX_CURVE_POINTS`] points so a 60 Gy curve at 0.01 Gy bins
//! (6 000 points) does not weigh 100 kB per structure.

use super::esc;
use crate::DvhCurve;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt::Write;

/// Most points kept per drawn curve.
pub const MAX_CURVE_POINTS: usize = 400;

/// Decimation stops early once no dropped point is further than this from the drawn
/// line (in SVG px): below that the difference is invisible.
const TOLERANCE_PX: f64 = 0.15;

/// Colours of the curves, in order (Tableau 10 then darker companions). Beyond the
/// palette the colours repeat with a dash pattern so curves stay distinguishable.
pub const PALETTE: [&str; 16] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
];
const DASHES: [&str; 4] = ["", "7 3", "2 2", "9 3 2 3"];

/// Colour and dash pattern of the `index`-th curve.
pub fn style(index: usize) -> (&'static str, &'static str) {
    let colour = PALETTE[index % PALETTE.len()];
    let dash = DASHES[(index / PALETTE.len()) % DASHES.len()];
    (colour, dash)
}

/// One curve to draw with its legend entry.
pub struct Series<'a> {
    pub label: String,
    /// Full name shown as a tooltip (the label may be shortened).
    pub tooltip: String,
    pub style_index: usize,
    pub curve: &'a DvhCurve,
}

/// Keep at most `max_points` of `pts`, choosing them by the Ramer–Douglas–Peucker
/// criterion in priority order: the point farthest from the current polyline is added
/// first. Unlike plain RDP with a fixed tolerance this bounds the count, and unlike
/// uniform thinning it keeps the shoulders and tails of a DVH where the shape is.
/// The first and last points are always kept.
pub fn decimate(pts: &[(f64, f64)], max_points: usize, tolerance: f64) -> Vec<(f64, f64)> {
    let n = pts.len();
    if n <= max_points.max(2) {
        return pts.to_vec();
    }
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[n - 1] = true;
    let mut kept = 2;
    let mut heap = BinaryHeap::new();
    if let Some(c) = farthest(pts, 0, n - 1) {
        heap.push(c);
    }
    while kept < max_points {
        let Some(c) = heap.pop() else { break };
        if c.distance <= tolerance {
            break;
        }
        keep[c.index] = true;
        kept += 1;
        heap.extend(farthest(pts, c.start, c.index));
        heap.extend(farthest(pts, c.index, c.end));
    }
    pts.iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(p, _)| *p)
        .collect()
}

/// A candidate split: the point of `start..end` farthest from the chord.
struct Candidate {
    distance: f64,
    start: usize,
    end: usize,
    index: usize,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            // Ties: the earlier point first, so the result does not depend on heap order.
            .then_with(|| other.index.cmp(&self.index))
    }
}

fn farthest(pts: &[(f64, f64)], start: usize, end: usize) -> Option<Candidate> {
    if end <= start + 1 {
        return None;
    }
    let a = *pts.get(start)?;
    let b = *pts.get(end)?;
    let mut best: Option<Candidate> = None;
    for (offset, p) in pts.get(start + 1..end)?.iter().enumerate() {
        let d = segment_distance(*p, a, b);
        if best.as_ref().is_none_or(|c| d > c.distance) {
            best = Some(Candidate {
                distance: d,
                start,
                end,
                index: start + 1 + offset,
            });
        }
    }
    best
}

/// Distance from `p` to the segment `a`–`b`.
fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - qx).powi(2) + (p.1 - qy).powi(2)).sqrt()
}

/// A "nice" tick step (1, 2, 2.5 or 5 × 10ⁿ) giving about `target` intervals over `range`.
pub fn nice_step(range: f64, target: usize) -> f64 {
    if !(range.is_finite() && range > 0.0) {
        return 1.0;
    }
    let raw = range / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let f = raw / magnitude;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Axis end and step for data in `0..=max`: the end is a whole number of steps.
pub fn axis(max: f64) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let step = nice_step(max, 8);
    let end = (max / step - 1e-9).ceil().max(1.0) * step;
    (end, step)
}

/// Tick label: at most two decimals, trailing zeros dropped ("2.5", "10", "0.25").
pub fn tick_label(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// A polyline as SVG path data (`M x y L x y …`), one decimal per coordinate.
pub fn path_data(pts: &[(f64, f64)]) -> String {
    let mut d = String::with_capacity(pts.len() * 14);
    for (i, (x, y)) in pts.iter().enumerate() {
        let _ = write!(d, "{}{x:.1} {y:.1}", if i == 0 { "M" } else { " L" });
    }
    d
}

/// Geometry of a plot: the SVG is `width` × `height`, the data area starts at
/// (`left`, `top`) and is `plot_w` × `plot_h`.
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    top: f64,
    plot_w: f64,
    plot_h: f64,
}

const LEGEND_ROW: f64 = 17.0;
const SIDE_LEGEND_MAX: usize = 20;
const BELOW_LEGEND_COLUMNS: usize = 4;

/// A cumulative DVH plot (volume in % of each structure's volume against dose), one
/// `<path class="dvh-curve">` per series, legend on the right.
///
/// Volumes are relative because structures of 0.05 cc and 1 500 cc share the plot; the
/// absolute volumes are in the structures table.
pub fn dvh_plot(id: &str, x_label: &str, series: &[Series], rx_gy: Option<f64>) -> String {
    // Up to 20 structures the legend sits on the right; more would make the figure
    // taller than a screen, so they go below the plot in four columns.
    let side = series.len() <= SIDE_LEGEND_MAX;
    let rows = if side {
        series.len()
    } else {
        series.len().div_ceil(BELOW_LEGEND_COLUMNS)
    };
    let (top, plot_h) = (18.0, 330.0);
    let f = if side {
        Frame {
            width: 980.0,
            height: (40.0 + LEGEND_ROW * rows as f64).max(400.0),
            left: 64.0,
            top,
            plot_w: 660.0,
            plot_h,
        }
    } else {
        Frame {
            width: 980.0,
            height: top + plot_h + 88.0 + LEGEND_ROW * rows as f64,
            left: 64.0,
            top,
            plot_w: 896.0,
            plot_h,
        }
    };
    let dose_max = series
        .iter()
        .flat_map(|s| s.curve.dose_gy.iter().copied())
        .filter(|d| d.is_finite())
        .fold(0.0_f64, f64::max);
    let (x_end, x_step) = axis(dose_max);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" id="{id}" class="plot dvh-plot" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{al}">"#,
        id = esc(id),
        w = f.width,
        h = f.height,
        al = esc(&format!("Cumulative DVH, {x_label}")),
    );
    let _ = write!(
        out,
        r##"<rect x="{}" y="{}" width="{}" height="{}" fill="#fff" stroke="#444" stroke-width="1"/>"##,
        f.left, f.top, f.plot_w, f.plot_h
    );
    // Grid and ticks: x every step, y every 10 %.
    let mut grid = String::new();
    let mut labels = String::new();
    let n_x = (x_end / x_step).round() as usize;
    for i in 0..=n_x {
        let v = i as f64 * x_step;
        let x = f.left + v / x_end * f.plot_w;
        let _ = write!(grid, "M{x:.1} {:.1} V{:.1} ", f.top, f.top + f.plot_h);
        let _ = write!(
            labels,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            f.top + f.plot_h + 16.0,
            tick_label(v)
        );
    }
    for i in 0..=10 {
        let v = i as f64 * 10.0;
        let y = f.top + f.plot_h - v / 100.0 * f.plot_h;
        let _ = write!(grid, "M{:.1} {y:.1} H{:.1} ", f.left, f.left + f.plot_w);
        let _ = write!(
            labels,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            f.left - 6.0,
            y + 4.0,
            tick_label(v)
        );
    }
    let _ = write!(
        out,
        r##"<path class="grid" d="{}" stroke="#ddd" stroke-width="0.8" fill="none"/>"##,
        grid.trim_end()
    );
    let _ = write!(
        out,
        r##"<g class="tick-labels" font-size="11" fill="#333">{labels}</g>"##
    );
    let _ = write!(
        out,
        r##"<text class="axis-title" x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="#222">{}</text>"##,
        f.left + f.plot_w / 2.0,
        f.top + f.plot_h + 38.0,
        esc(x_label)
    );
    let _ = write!(
        out,
        r##"<text class="axis-title" transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle" font-size="12" fill="#222">Volume (%)</text>"##,
        f.top + f.plot_h / 2.0
    );

    // Curves, clipped to the plot area (a dose beyond the axis end cannot occur, but a
    // stroke at 100 % would otherwise spill half its width over the frame).
    let _ = write!(
        out,
        r#"<clipPath id="{id}-clip"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath><g clip-path="url(#{id}-clip)" fill="none" stroke-width="1.8" stroke-linejoin="round">"#,
        f.left - 1.0,
        f.top - 1.0,
        f.plot_w + 2.0,
        f.plot_h + 2.0,
        id = esc(id),
    );
    for s in series {
        let total = s
            .curve
            .volume_cc
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0_f64, f64::max);
        if total <= 0.0 {
            continue;
        }
        let pts: Vec<(f64, f64)> = s
            .curve
            .dose_gy
            .iter()
            .zip(&s.curve.volume_cc)
            .filter(|(d, v)| d.is_finite() && v.is_finite())
            .map(|(d, v)| {
                (
                    f.left + d / x_end * f.plot_w,
                    f.top + f.plot_h - (v / total).clamp(0.0, 1.0) * f.plot_h,
                )
            })
            .collect();
        if pts.is_empty() {
            continue;
        }
        let pts = decimate(&pts, MAX_CURVE_POINTS, TOLERANCE_PX);
        let (colour, dash) = style(s.style_index);
        let dash_attr = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = write!(
            out,
            r#"<path class="dvh-curve" data-structure="{}" stroke="{colour}"{dash_attr} d="{}"><title>{}</title></path>"#,
            esc(&s.tooltip),
            path_data(&pts),
            esc(&s.tooltip)
        );
    }
    out.push_str("</g>");

    // Prescription dose, when known and on the axis.
    if let Some(rx) = rx_gy.filter(|d| d.is_finite() && *d > 0.0 && *d <= x_end) {
        let x = f.left + rx / x_end * f.plot_w;
        let _ = write!(
            out,
            r##"<g class="prescription"><line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#555" stroke-width="1" stroke-dasharray="5 4"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#444">Rx {} Gy</text></g>"##,
            f.top,
            f.top + f.plot_h,
            x + 4.0,
            f.top + f.plot_h - 6.0,
            tick_label(rx)
        );
    }

    // Legend.
    let (lx, ly, chars) = if side {
        (f.left + f.plot_w + 24.0, f.top + 10.0, 30)
    } else {
        (f.left, f.top + f.plot_h + 62.0, 30)
    };
    let _ = write!(
        out,
        r##"<g class="legend" font-size="12" fill="#222"><text x="{lx:.1}" y="{ly:.1}" font-weight="600">Structure (TG-263)</text>"##,
    );
    for (i, s) in series.iter().enumerate() {
        // Column-major below the plot, so names read down a column as in the table.
        let (col, row) = (i / rows.max(1), i % rows.max(1));
        let x = lx + col as f64 * 226.0;
        let y = ly + 20.0 + LEGEND_ROW * row as f64;
        let (colour, dash) = style(s.style_index);
        let dash_attr = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = write!(
            out,
            r#"<g class="legend-entry"><title>{}</title><line x1="{x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2.5"{dash_attr}/><text x="{:.1}" y="{y:.1}">{}</text></g>"#,
            esc(&s.tooltip),
            y - 4.0,
            x + 22.0,
            y - 4.0,
            x + 28.0,
            esc(&shorten(&s.label, chars)),
        );
    }
    out.push_str("</g></svg>");
    out
}

/// `s` cut to `max` characters with an ellipsis (legend space is fixed).
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_bounds_the_count_and_keeps_the_ends() {
        // A sigmoid (DVH shoulder) sampled at 6 000 points.
        let pts: Vec<(f64, f64)> = (0..6000)
            .map(|i| {
                let x = i as f64 * 0.1;
                (x, 300.0 / (1.0 + ((x - 300.0) / 20.0).exp()))
            })
            .collect();
        let d = decimate(&pts, MAX_CURVE_POINTS, 0.0);
        assert_eq!(d.len(), MAX_CURVE_POINTS);
        assert_eq!(d.first(), pts.first());
        assert_eq!(d.last(), pts.last());
        // Every original point lies within 0.5 px of the decimated polyline.
        for p in &pts {
            let dist = d
                .windows(2)
                .map(|w| segment_distance(*p, w[0], w[1]))
                .fold(f64::INFINITY, f64::min);
            assert!(dist < 0.5, "{p:?} is {dist} px off");
        }
    }

    #[test]
    fn a_straight_line_collapses_to_its_ends() {
        let pts: Vec<(f64, f64)> = (0..1000).map(|i| (i as f64, 2.0 * i as f64)).collect();
        assert_eq!(decimate(&pts, 400, 0.01), vec![(0.0, 0.0), (999.0, 1998.0)]);
    }

    #[test]
    fn a_step_keeps_its_corners() {
        // Flat at 100 until x = 50, then flat at 0: the two corners must survive.
        let pts: Vec<(f64, f64)> = (0..=100)
            .map(|i| (i as f64, if i <= 50 { 100.0 } else { 0.0 }))
            .collect();
        let d = decimate(&pts, 10, 0.01);
        assert!(
            d.contains(&(50.0, 100.0)) && d.contains(&(51.0, 0.0)),
            "{d:?}"
        );
        assert_eq!(d.len(), 4);
    }

    #[test]
    fn nice_axes() {
        let close = |a: (f64, f64), b: (f64, f64)| {
            assert!(
                (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9,
                "{a:?} != {b:?}"
            )
        };
        close(axis(63.2), (70.0, 10.0));
        close(axis(24.0), (25.0, 5.0));
        close(axis(0.0), (1.0, 0.2));
        close(axis(20.0), (20.0, 2.5));
        close(axis(1.2), (1.2, 0.2));
        assert_eq!(tick_label(2.5), "2.5");
        assert_eq!(tick_label(10.0), "10");
        assert_eq!(tick_label(0.25), "0.25");
    }
}
