//! In-plane geometry of one contour plane: even-odd spans along a line of constant y and
//! the exact even-odd area of a set of polygons.

use radtox_model::Polygon;
use std::borrow::Borrow;

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
    /// The distinct ordinates of the edges' end points, increasing: the bands of the
    /// area integration ([`even_odd_area`]).
    pub ys: Vec<f64>,
    pub min: [f64; 2],
    pub max: [f64; 2],
}

/// Whether all points of a polygon are finite numbers.
pub(crate) fn polygon_is_finite(p: &Polygon) -> bool {
    p.points
        .iter()
        .all(|q| q[0].is_finite() && q[1].is_finite())
}

/// A key whose integer order is `f64::total_cmp`'s order (comparisons of plain
/// integers are cheaper than `total_cmp` in a sort).
#[inline]
fn total_order_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// `(key, index)` of `vals` in increasing order (`total_cmp` order), `lo`..`hi` their
/// range.
///
/// A bucket sort: contour vertices spread fairly evenly over the plane's y range, so
/// with one bucket per value on average the buckets hold a few values each, sorted
/// exactly; the bucket of a value is monotone in it, so the buckets' concatenation is
/// sorted. Expected linear time instead of the n log n comparisons of a sort, and never
/// worse than a sort: a crowded bucket is sorted like any slice.
fn sorted_order(vals: &[f64], lo: f64, hi: f64) -> Vec<(u64, u32)> {
    let n = vals.len();
    let keyed = vals
        .iter()
        .enumerate()
        .map(|(i, &v)| (total_order_key(v), i as u32));
    let scale = n as f64 / (hi - lo);
    if n < 32 || !(scale.is_finite() && scale > 0.0) {
        let mut v: Vec<(u64, u32)> = keyed.collect();
        v.sort_unstable_by_key(|o| o.0);
        return v;
    }
    // Monotone in y: a rounded subtraction and product, then the floor.
    let bucket = |y: f64| (((y - lo) * scale) as usize).min(n - 1);
    // next[b]: where the next point of bucket b goes (after the counting pass, the
    // bucket's start; after the scattering pass, its end).
    let mut next = vec![0usize; n + 1];
    for &v in vals {
        if let Some(c) = next.get_mut(bucket(v) + 1) {
            *c += 1;
        }
    }
    for b in 1..=n {
        let before = next.get(b - 1).copied().unwrap_or(0);
        if let Some(c) = next.get_mut(b) {
            *c += before;
        }
    }
    let mut out = vec![(0u64, 0u32); n];
    for (k, i) in keyed {
        let Some(at) = vals.get(i as usize).and_then(|&v| next.get_mut(bucket(v))) else {
            continue;
        };
        if let Some(o) = out.get_mut(*at) {
            *o = (k, i);
        }
        *at += 1;
    }
    // Bucket b now spans next[b - 1]..next[b] (bucket 0 starts at 0).
    let mut start = 0;
    for &end in next.get(..n).unwrap_or(&[]) {
        if end > start + 1
            && let Some(b) = out.get_mut(start..end)
        {
            b.sort_unstable_by_key(|o| o.0);
        }
        start = end;
    }
    out
}

/// Collect the edges of `polygons` (the caller has dropped non-finite ones). Returns
/// `None` when there is no non-horizontal edge, i.e. the plane encloses no area.
///
/// The edges are made in polygon order (sequential, and whether the next edge goes up
/// or down is predictable along a contour), then ordered by `y0` with a bucket sort.
/// The band ordinates are the edges' starts and the tops (vertices ending edges but
/// starting none, a few per polygon), merged.
pub(crate) fn plane_edges<P: Borrow<Polygon>>(polygons: &[P]) -> Option<PlaneEdges> {
    // Fewer than three points enclose nothing.
    let used = || {
        polygons
            .iter()
            .map(P::borrow)
            .filter(|p| p.points.len() >= 3)
    };
    let n: usize = used().map(|p| p.points.len()).sum();
    let mut edges = Vec::with_capacity(n);
    let mut tops = Vec::new();
    let mut min = [f64::INFINITY; 2];
    let mut max = [f64::NEG_INFINITY; 2];
    for poly in used() {
        let pts = &poly.points;
        let mut prev = pts.last().map_or(f64::NAN, |p| p[1]);
        for (i, &a) in pts.iter().enumerate() {
            // The closing edge from the last point back to the first is implicit.
            let Some(&b) = pts.get(i + 1).or(pts.first()) else {
                continue;
            };
            for k in 0..2 {
                min[k] = min[k].min(a[k]);
                max[k] = max[k].max(a[k]);
            }
            if prev <= a[1] && b[1] <= a[1] && (prev < a[1] || b[1] < a[1]) {
                tops.push(a[1]);
            }
            prev = a[1];
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
    let y0: Vec<f64> = edges.iter().map(|e| e.y0).collect();
    let edges: Vec<Edge> = sorted_order(&y0, min[1], max[1])
        .iter()
        .filter_map(|&(_, i)| edges.get(i as usize).copied())
        .collect();
    tops.sort_unstable_by(f64::total_cmp);
    let ys = merge_distinct(&edges, &tops);
    Some(PlaneEdges {
        edges,
        ys,
        min,
        max,
    })
}

/// The distinct values of the edges' starts and of `tops`, both increasing, increasing.
fn merge_distinct(edges: &[Edge], tops: &[f64]) -> Vec<f64> {
    // Written unconditionally, kept when new: duplicates (staircase contours) come at
    // random, a branch on them would be mispredicted.
    let mut out = vec![0f64; edges.len() + tops.len() + 1];
    let mut len = 0;
    let mut last = f64::NAN;
    let mut push = |v: f64, out: &mut [f64]| {
        if let Some(o) = out.get_mut(len) {
            *o = v;
        }
        len += (v != last) as usize;
        last = v;
    };
    let mut t = tops.iter().copied().peekable();
    for e in edges {
        while let Some(top) = t.next_if(|&top| top < e.y0) {
            push(top, &mut out);
        }
        push(e.y0, &mut out);
    }
    t.for_each(|top| push(top, &mut out));
    out.truncate(len);
    out
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
            // Most edges of a finely sampled contour lie between two scan lines: never
            // made active, they cost no push and no removal.
            if e.y1 > y {
                self.active.push(*e);
            }
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
    let scale = (pe.max[0] - pe.min[0]).abs().max(1.0) * 1e-12;
    // Active edges with their x at the current band's middle, kept sorted by it: from
    // one band to the next the order barely changes, so an insertion sort restores it
    // in about one pass instead of sorting every band afresh.
    let mut active: Vec<(f64, Edge)> = Vec::new();
    let mut next = 0;
    let mut xs = Vec::new();
    let mut cuts: Vec<f64> = Vec::new();
    let mut area = 0.0;
    for w in pe.ys.windows(2) {
        let (ya, yb) = (w[0], w[1]);
        active.retain(|(_, e)| e.y1 > ya);
        while let Some(e) = pe.edges.get(next).filter(|e| e.y0 <= ya) {
            active.push((0.0, *e));
            next += 1;
        }
        if active.is_empty() {
            continue;
        }
        let ym = 0.5 * (ya + yb);
        active.iter_mut().for_each(|(x, e)| *x = e.x_at(ym));
        insertion_sort_by_x(&mut active);
        if !crosses(&active, ya, yb, scale) {
            // Sorted by x at mid-band: the even-odd spans are its pairs.
            let len: f64 = active.chunks_exact(2).map(|p| p[1].0 - p[0].0).sum();
            area += len * (yb - ya);
            continue;
        }
        cuts.clear();
        cuts.push(ya);
        cuts.push(yb);
        for (i, (_, a)) in active.iter().enumerate() {
            for (_, b) in active.iter().skip(i + 1) {
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
        let edges: Vec<Edge> = active.iter().map(|a| a.1).collect();
        for c in cuts.windows(2) {
            area += covered_length(&edges, 0.5 * (c[0] + c[1]), &mut xs) * (c[1] - c[0]);
        }
    }
    area
}

/// Stable insertion sort by the cached x (`total_cmp` order): linear for the nearly
/// sorted active lists of consecutive bands.
fn insertion_sort_by_x(v: &mut [(f64, Edge)]) {
    for i in 1..v.len() {
        let mut j = i;
        while let Some([a, b]) = j.checked_sub(1).and_then(|k| v.get_mut(k..=j)) {
            if a.0.total_cmp(&b.0).is_le() {
                break;
            }
            std::mem::swap(a, b);
            j -= 1;
        }
    }
}

/// Whether two edges of `active` (sorted by x at mid-band) swap places within the band
/// `[ya, yb]`, beyond the rounding tolerance `scale`: then the covered length is not
/// linear across the band.
fn crosses(active: &[(f64, Edge)], ya: f64, yb: f64, scale: f64) -> bool {
    let mut prev: Option<(f64, f64)> = None;
    for (_, e) in active {
        let (xa, xb) = (e.x_at(ya), e.x_at(yb));
        if let Some((pa, pb)) = prev
            && (xa < pa - scale || xb < pb - scale)
        {
            return true;
        }
        prev = Some((xa, xb));
    }
    false
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
    fn bucket_sort_orders_like_total_cmp() {
        // Duplicates, ±0, a far outlier crowding all other points into one bucket.
        let mut ys: Vec<f64> = (0..200).map(|i| ((i * 37) % 101) as f64 * 0.25).collect();
        ys.extend([0.0, -0.0, -0.0, 1e9, 3.5, 3.5, -7.0]);
        ys.extend((0..100).map(|i| 1e-9 * i as f64));
        let (lo, hi) = (-7.0, 1e9);
        let got: Vec<u64> = sorted_order(&ys, lo, hi).iter().map(|o| o.0).collect();
        let mut want: Vec<u64> = ys.iter().map(|&y| total_order_key(y)).collect();
        want.sort_unstable();
        assert_eq!(got, want);
        let mut sorted = ys.clone();
        sorted.sort_by(f64::total_cmp);
        let back: Vec<f64> = sorted_order(&ys, lo, hi)
            .iter()
            .map(|o| ys[o.1 as usize])
            .collect();
        assert_eq!(
            back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            sorted.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn band_ordinates_are_the_distinct_edge_ends() {
        // Plateaus at the top and bottom, a repeated closing point, spikes, a second
        // polygon sharing ordinates, a polygon with every edge horizontal but one pair.
        let polys = [
            Polygon {
                points: vec![
                    [0.0, 0.0],
                    [1.0, 0.0],
                    [2.0, 1.0],
                    [3.0, 1.0],
                    [3.5, 3.0],
                    [3.0, 2.0],
                    [2.5, 3.0],
                    [1.0, 3.0],
                    [0.5, 1.5],
                    [0.0, 0.0],
                ],
            },
            Polygon {
                points: vec![[5.0, 1.0], [6.0, -0.5], [7.0, 1.0], [6.0, 3.0], [5.5, 3.0]],
            },
            Polygon {
                points: vec![[8.0, 2.0], [9.0, 2.0], [9.0, 2.5], [8.0, 2.5]],
            },
        ];
        let pe = plane_edges(&polys).unwrap();
        let mut want: Vec<f64> = pe.edges.iter().flat_map(|e| [e.y0, e.y1]).collect();
        want.sort_by(f64::total_cmp);
        want.dedup();
        assert_eq!(pe.ys, want);
        assert!(pe.edges.windows(2).all(|w| w[0].y0 <= w[1].y0));
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
        let pe = plane_edges(&[&p]).unwrap();
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
