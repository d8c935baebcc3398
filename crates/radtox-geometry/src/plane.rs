//! In-plane geometry of one contour plane: even-odd spans along a line of constant y and
//! the exact even-odd area of a set of polygons.

use radtox_model::Polygon;

/// One non-horizontal polygon edge, stored bottom-up so that `y0 < y1`.
///
/// Horizontal edges never cross a line of constant y under the half-open rule used here
/// (an edge covers `y0 <= y < y1`), so they are dropped: they change neither the
/// even-odd spans nor the area.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub y0: f64,
    pub y1: f64,
    /// x at `y0`.
    pub x0: f64,
    /// dx/dy along the edge.
    pub slope: f64,
}

impl Edge {
    #[inline]
    pub fn x_at(&self, y: f64) -> f64 {
        self.x0 + (y - self.y0) * self.slope
    }
}

/// The edges of a plane's polygons with their bounding box.
#[derive(Debug, Clone)]
pub(crate) struct PlaneEdges {
    /// Sorted by `y0`.
    pub edges: Vec<Edge>,
    pub min: [f64; 2],
    pub max: [f64; 2],
}

/// Whether all points of a polygon are finite numbers.
pub(crate) fn polygon_is_finite(p: &Polygon) -> bool {
    p.points
        .iter()
        .all(|q| q[0].is_finite() && q[1].is_finite())
}

/// Collect the edges of `polygons` (the caller has dropped non-finite ones). Returns
/// `None` when there is no non-horizontal edge, i.e. the plane encloses no area.
pub(crate) fn plane_edges<'a>(
    polygons: impl IntoIterator<Item = &'a Polygon>,
) -> Option<PlaneEdges> {
    let mut edges = Vec::new();
    let mut min = [f64::INFINITY; 2];
    let mut max = [f64::NEG_INFINITY; 2];
    for poly in polygons {
        let pts = &poly.points;
        // Fewer than three points enclose nothing.
        if pts.len() < 3 {
            continue;
        }
        for (i, &a) in pts.iter().enumerate() {
            // The closing edge from the last point back to the first is implicit.
            let b = pts.get(i + 1).copied().unwrap_or(pts[0]);
            for k in 0..2 {
                min[k] = min[k].min(a[k]);
                max[k] = max[k].max(a[k]);
            }
            if a[1] == b[1] {
                continue;
            }
            let (lo, hi) = if a[1] < b[1] { (a, b) } else { (b, a) };
            edges.push(Edge {
                y0: lo[1],
                y1: hi[1],
                x0: lo[0],
                slope: (hi[0] - lo[0]) / (hi[1] - lo[1]),
            });
        }
    }
    if edges.is_empty() {
        return None;
    }
    edges.sort_by(|a, b| a.y0.total_cmp(&b.y0));
    Some(PlaneEdges { edges, min, max })
}

/// A sweep over increasing y keeping the edges that straddle the current y.
pub(crate) struct Sweep<'a> {
    edges: &'a [Edge],
    next: usize,
    active: Vec<Edge>,
    last_y: f64,
}

impl<'a> Sweep<'a> {
    pub fn new(edges: &'a [Edge]) -> Self {
        Sweep {
            edges,
            next: 0,
            active: Vec::new(),
            last_y: f64::NEG_INFINITY,
        }
    }

    /// Edges with `y0 <= y < y1`. Calls must come with non-decreasing `y`.
    pub fn active_at(&mut self, y: f64) -> &[Edge] {
        debug_assert!(y >= self.last_y);
        self.last_y = y;
        while let Some(e) = self.edges.get(self.next) {
            if e.y0 > y {
                break;
            }
            self.active.push(*e);
            self.next += 1;
        }
        self.active.retain(|e| e.y1 > y);
        &self.active
    }
}

/// Even-odd spans `[x_a, x_b]` of the line at `y`, appended to `spans` (cleared first);
/// `xs` is scratch space. Spans are disjoint and sorted by x.
pub(crate) fn spans_at(active: &[Edge], y: f64, xs: &mut Vec<f64>, spans: &mut Vec<[f64; 2]>) {
    xs.clear();
    spans.clear();
    xs.extend(active.iter().map(|e| e.x_at(y)));
    xs.sort_by(f64::total_cmp);
    // The half-open rule makes the crossing count even for closed polygons; a stray
    // odd crossing (cannot happen for finite input) would simply be ignored.
    for pair in xs.chunks_exact(2) {
        if pair[1] > pair[0] {
            spans.push([pair[0], pair[1]]);
        }
    }
}

/// Total length of the even-odd spans at `y` among `active`.
fn covered_length(active: &[Edge], y: f64, xs: &mut Vec<f64>) -> f64 {
    xs.clear();
    xs.extend(active.iter().map(|e| e.x_at(y)));
    xs.sort_by(f64::total_cmp);
    xs.chunks_exact(2).map(|p| p[1] - p[0]).sum()
}

/// Exact even-odd area (mm²) enclosed by the edges.
///
/// Scanline integration between consecutive vertex ordinates: inside such a band every
/// active edge is one straight segment, so as long as no two edges cross inside the band
/// the covered length is linear in y and the midpoint rule integrates it exactly. Where
/// edges do cross (self-intersecting or overlapping polygons) the band is split at every
/// crossing ordinate, which again makes the length linear in each piece. The result is
/// the even-odd area for any input: holes subtract, islands in holes add, a figure-eight
/// counts both lobes. For simple nested polygons it equals Σ ±|shoelace area| by nesting
/// depth.
pub(crate) fn even_odd_area(pe: &PlaneEdges) -> f64 {
    let mut ys: Vec<f64> = pe.edges.iter().flat_map(|e| [e.y0, e.y1]).collect();
    ys.sort_by(f64::total_cmp);
    ys.dedup();
    let mut sweep = Sweep::new(&pe.edges);
    let mut xs = Vec::new();
    let mut order: Vec<(f64, f64, f64)> = Vec::new();
    let mut cuts: Vec<f64> = Vec::new();
    let mut area = 0.0;
    for w in ys.windows(2) {
        let (ya, yb) = (w[0], w[1]);
        let active = sweep.active_at(ya);
        if active.is_empty() {
            continue;
        }
        let ym = 0.5 * (ya + yb);
        // Crossing test: sorted by x at mid-band, x at both band ends must stay sorted.
        order.clear();
        order.extend(active.iter().map(|e| (e.x_at(ym), e.x_at(ya), e.x_at(yb))));
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        let scale = (pe.max[0] - pe.min[0]).abs().max(1.0) * 1e-12;
        let crossing = order
            .windows(2)
            .any(|p| p[1].1 < p[0].1 - scale || p[1].2 < p[0].2 - scale);
        if !crossing {
            // `order` is sorted by x at mid-band: the even-odd spans are its pairs.
            let len: f64 = order.chunks_exact(2).map(|p| p[1].0 - p[0].0).sum();
            area += len * (yb - ya);
            continue;
        }
        cuts.clear();
        cuts.push(ya);
        cuts.push(yb);
        for (i, a) in active.iter().enumerate() {
            for b in active.iter().skip(i + 1) {
                let ds = a.slope - b.slope;
                if ds == 0.0 {
                    continue;
                }
                // a.x_at(y) == b.x_at(y)
                let y = (b.x0 - b.slope * b.y0 - a.x0 + a.slope * a.y0) / ds;
                if y > ya && y < yb {
                    cuts.push(y);
                }
            }
        }
        cuts.sort_by(f64::total_cmp);
        cuts.dedup();
        for c in cuts.windows(2) {
            area += covered_length(active, 0.5 * (c[0] + c[1]), &mut xs) * (c[1] - c[0]);
        }
    }
    area
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, s: f64) -> Polygon {
        Polygon {
            points: vec![[x0, y0], [x0 + s, y0], [x0 + s, y0 + s], [x0, y0 + s]],
        }
    }

    #[test]
    fn nested_squares_even_odd() {
        let polys = [
            square(0.0, 0.0, 10.0),
            square(2.0, 2.0, 6.0),
            square(4.0, 4.0, 2.0),
        ];
        let pe = plane_edges(&polys).unwrap();
        assert!((even_odd_area(&pe) - (100.0 - 36.0 + 4.0)).abs() < 1e-9);
    }

    #[test]
    fn figure_eight_counts_both_lobes() {
        // Bow-tie: two triangles of area 0.5 × 2 × 1 = 1 each; the shoelace gives 0.
        let p = Polygon {
            points: vec![[0.0, 0.0], [2.0, 2.0], [2.0, 0.0], [0.0, 2.0]],
        };
        assert!(p.signed_area().abs() < 1e-12);
        let pe = plane_edges([&p]).unwrap();
        assert!((even_odd_area(&pe) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn overlapping_squares_even_odd() {
        // Two 4×4 squares overlapping in a 2×2 square: even-odd area 16 + 16 − 2·4.
        let polys = [square(0.0, 0.0, 4.0), square(2.0, 2.0, 4.0)];
        let pe = plane_edges(&polys).unwrap();
        assert!((even_odd_area(&pe) - 24.0).abs() < 1e-12);
    }
}
