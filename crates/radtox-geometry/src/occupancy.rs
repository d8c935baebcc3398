//! Occupancies: the fraction of each lattice cell inside a structure, stored sparsely as
//! runs along x.

use crate::error::GeometryError;
use crate::lattice::Lattice;
use crate::plane::{PlaneEdges, Sweep, spans_at};
use crate::slab::{SlabParams, SlabStack, build_slabs};
use ndarray::Array3;
use radtox_model::Structure;
use rayon::prelude::*;

/// A run of consecutive occupied cells along x in lattice row `(iz, iy)`: cells
/// `ix0 .. ix0 + len`, whose fractions are `fractions[offset .. offset + len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub iz: u32,
    pub iy: u32,
    pub ix0: u32,
    pub len: u32,
    pub offset: usize,
}

/// The fraction (0, 1] of each lattice cell's volume that lies inside a structure.
///
/// Only occupied cells are stored, as runs along x sorted by `(iz, iy, ix0)`; memory is
/// proportional to the structure's volume in cells, never to the whole lattice.
#[derive(Debug, Clone, PartialEq)]
pub struct Occupancy {
    lattice: Lattice,
    runs: Vec<Run>,
    fractions: Vec<f32>,
    /// What the occupancy describes (ROI name or an expression), for messages.
    pub name: String,
    /// ROI number when rasterised from one structure.
    pub roi_number: Option<i32>,
    /// Volume of the contours in the slab model (cc), when rasterised from contours.
    pub contour_volume_cc: Option<f64>,
    /// Skipped planes, polygons and other repairs, naming ROI and plane.
    pub warnings: Vec<String>,
}

impl Occupancy {
    /// An occupancy with no occupied cell.
    pub fn empty(lattice: Lattice, name: impl Into<String>) -> Self {
        Occupancy {
            lattice,
            runs: Vec::new(),
            fractions: Vec::new(),
            name: name.into(),
            roi_number: None,
            contour_volume_cc: None,
            warnings: Vec::new(),
        }
    }

    /// From runs sorted by `(iz, iy, ix0)` whose fractions are consecutive in `fractions`.
    pub(crate) fn from_parts(
        lattice: Lattice,
        runs: Vec<Run>,
        fractions: Vec<f32>,
        name: String,
    ) -> Self {
        Occupancy {
            lattice,
            runs,
            fractions,
            name,
            roi_number: None,
            contour_volume_cc: None,
            warnings: Vec::new(),
        }
    }

    /// Runs and fractions with cell indices shifted by `by` = (dz, dy, dx).
    pub(crate) fn shifted_runs(&self, by: [usize; 3]) -> (Vec<Run>, Vec<f32>) {
        let runs = self
            .runs
            .iter()
            .map(|r| Run {
                iz: r.iz + by[0] as u32,
                iy: r.iy + by[1] as u32,
                ix0: r.ix0 + by[2] as u32,
                ..*r
            })
            .collect();
        (runs, self.fractions.clone())
    }

    pub fn lattice(&self) -> &Lattice {
        &self.lattice
    }

    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// Fractions of all stored cells, in run order.
    pub fn fractions(&self) -> &[f32] {
        &self.fractions
    }

    /// Number of stored (occupied) cells.
    pub fn cell_count(&self) -> usize {
        self.fractions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fractions.is_empty()
    }

    /// Σ fraction × cell volume (cc).
    pub fn volume_cc(&self) -> f64 {
        self.fractions.iter().map(|&f| f as f64).sum::<f64>() * self.lattice.cell_volume_cc()
    }

    /// Every stored cell as `((iz, iy, ix), fraction)`.
    pub fn cells(&self) -> impl Iterator<Item = ([usize; 3], f32)> + '_ {
        self.runs.iter().flat_map(move |r| {
            let f = self
                .fractions
                .get(r.offset..r.offset + r.len as usize)
                .unwrap_or(&[]);
            f.iter()
                .enumerate()
                .map(move |(k, &v)| ([r.iz as usize, r.iy as usize, r.ix0 as usize + k], v))
        })
    }

    /// The occupancy as a dense `[nz, ny, nx]` array (for small lattices and tests).
    pub fn to_dense(&self) -> Array3<f32> {
        let [nz, ny, nx] = self.lattice.dims;
        let mut a = Array3::zeros((nz, ny, nx));
        for (idx, f) in self.cells() {
            if let Some(v) = a.get_mut(idx) {
                *v = f;
            }
        }
        a
    }

    /// An occupancy from a dense `[nz, ny, nx]` array of fractions; values are clamped
    /// to [0, 1] and non-finite values count as 0.
    pub fn from_dense(
        lattice: Lattice,
        dense: &Array3<f32>,
        name: impl Into<String>,
    ) -> Result<Self, GeometryError> {
        lattice.validate()?;
        let [nz, ny, nx] = lattice.dims;
        if dense.shape() != [nz, ny, nx] {
            return Err(GeometryError::InvalidLattice(format!(
                "dense array of shape {:?} does not match lattice dims {:?}",
                dense.shape(),
                lattice.dims
            )));
        }
        let mut runs = Vec::new();
        let mut fractions = Vec::new();
        let mut row = vec![0f32; nx];
        for iz in 0..nz {
            for iy in 0..ny {
                for (ix, r) in row.iter_mut().enumerate() {
                    let v = dense.get([iz, iy, ix]).copied().unwrap_or(0.0);
                    *r = if v.is_finite() {
                        v.clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                }
                emit_runs(iz as u32, iy as u32, 0, &row, &mut runs, &mut fractions);
            }
        }
        let mut o = Occupancy::empty(lattice, name);
        o.runs = runs;
        o.fractions = fractions;
        Ok(o)
    }

    /// Cells inside either structure: fraction `max(a, b)`.
    ///
    /// Partial-volume fractions do not say *where* in a cell each structure lies, so
    /// `max`/`min` are the bounds that are exact when one structure's part of the cell
    /// contains the other's; the error is confined to cells both boundaries cross and
    /// shrinks with the lattice spacing.
    pub fn union(&self, other: &Occupancy) -> Result<Occupancy, GeometryError> {
        self.combine(other, "∪", f32::max)
    }

    /// Cells inside both structures: fraction `min(a, b)`.
    pub fn intersection(&self, other: &Occupancy) -> Result<Occupancy, GeometryError> {
        self.combine(other, "∩", f32::min)
    }

    /// Cells inside `self` and not inside `other`: fraction `a − min(a, b)`.
    pub fn difference(&self, other: &Occupancy) -> Result<Occupancy, GeometryError> {
        self.combine(other, "−", |a, b| a - a.min(b))
    }

    fn combine(
        &self,
        other: &Occupancy,
        op: &str,
        f: impl Fn(f32, f32) -> f32 + Sync,
    ) -> Result<Occupancy, GeometryError> {
        if self.lattice != other.lattice {
            return Err(GeometryError::LatticeMismatch {
                a: self.name.clone(),
                b: other.name.clone(),
            });
        }
        let nx = self.lattice.dims[2];
        let ra = row_index(&self.runs);
        let rb = row_index(&other.runs);
        // Merge the two sorted lists of rows.
        let mut keys: Vec<(u32, u32)> = ra.iter().chain(&rb).map(|r| r.0).collect();
        keys.sort_unstable();
        keys.dedup();
        let find = |rows: &[((u32, u32), usize, usize)], k: (u32, u32)| {
            rows.binary_search_by(|r| r.0.cmp(&k))
                .ok()
                .and_then(|i| rows.get(i))
                .map(|r| (r.1, r.2))
        };
        let parts: Vec<(Vec<Run>, Vec<f32>)> = keys
            .par_chunks(256)
            .map(|chunk| {
                let mut a = vec![0f32; nx];
                let mut b = vec![0f32; nx];
                let mut out = vec![0f32; nx];
                let mut runs = Vec::new();
                let mut fr = Vec::new();
                for &k in chunk {
                    let (lo_a, hi_a) = fill_row(&self.runs, &self.fractions, find(&ra, k), &mut a);
                    let (lo_b, hi_b) =
                        fill_row(&other.runs, &other.fractions, find(&rb, k), &mut b);
                    let lo = lo_a.min(lo_b);
                    let hi = hi_a.max(hi_b);
                    if lo >= hi {
                        continue;
                    }
                    for ix in lo..hi {
                        if let (Some(o), Some(&x), Some(&y)) =
                            (out.get_mut(ix), a.get(ix), b.get(ix))
                        {
                            *o = f(x, y).clamp(0.0, 1.0);
                        }
                    }
                    if let Some(slice) = out.get(lo..hi) {
                        emit_runs(k.0, k.1, lo as u32, slice, &mut runs, &mut fr);
                    }
                    for buf in [&mut a, &mut b, &mut out] {
                        if let Some(s) = buf.get_mut(lo..hi) {
                            s.fill(0.0);
                        }
                    }
                }
                (runs, fr)
            })
            .collect();
        let mut o = Occupancy::empty(
            self.lattice.clone(),
            format!("({}) {op} ({})", self.name, other.name),
        );
        concat_parts(parts, &mut o.runs, &mut o.fractions);
        o.warnings = self
            .warnings
            .iter()
            .chain(&other.warnings)
            .cloned()
            .collect();
        Ok(o)
    }
}

/// For each row `(iz, iy)` that has runs: the range of run indices.
fn row_index(runs: &[Run]) -> Vec<((u32, u32), usize, usize)> {
    let mut out: Vec<((u32, u32), usize, usize)> = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        match out.last_mut() {
            Some(last) if last.0 == (r.iz, r.iy) => last.2 = i + 1,
            _ => out.push(((r.iz, r.iy), i, i + 1)),
        }
    }
    out
}

/// Write the runs `range` of a row into the dense row buffer; returns the touched x range.
fn fill_row(
    runs: &[Run],
    fractions: &[f32],
    range: Option<(usize, usize)>,
    buf: &mut [f32],
) -> (usize, usize) {
    let (mut lo, mut hi) = (usize::MAX, 0);
    let Some((a, b)) = range else {
        return (lo, hi);
    };
    for r in runs.get(a..b).unwrap_or(&[]) {
        let x0 = r.ix0 as usize;
        let x1 = x0 + r.len as usize;
        if let (Some(dst), Some(src)) = (
            buf.get_mut(x0..x1),
            fractions.get(r.offset..r.offset + r.len as usize),
        ) {
            dst.copy_from_slice(src);
            lo = lo.min(x0);
            hi = hi.max(x1);
        }
    }
    (lo, hi)
}

/// Append the maximal stretches of non-zero values of `row` (whose first element is cell
/// `ix_offset`) as runs.
pub(crate) fn emit_runs(
    iz: u32,
    iy: u32,
    ix_offset: u32,
    row: &[f32],
    runs: &mut Vec<Run>,
    fractions: &mut Vec<f32>,
) {
    let mut i = 0;
    while i < row.len() {
        if row.get(i).is_some_and(|&v| v > 0.0) {
            let start = i;
            while row.get(i).is_some_and(|&v| v > 0.0) {
                i += 1;
            }
            runs.push(Run {
                iz,
                iy,
                ix0: ix_offset + start as u32,
                len: (i - start) as u32,
                offset: fractions.len(),
            });
            fractions.extend_from_slice(row.get(start..i).unwrap_or(&[]));
        } else {
            i += 1;
        }
    }
}

/// Concatenate per-chunk runs, fixing their offsets.
pub(crate) fn concat_parts(
    parts: Vec<(Vec<Run>, Vec<f32>)>,
    runs: &mut Vec<Run>,
    fractions: &mut Vec<f32>,
) {
    runs.reserve(parts.iter().map(|p| p.0.len()).sum());
    fractions.reserve(parts.iter().map(|p| p.1.len()).sum());
    for (r, f) in parts {
        let base = fractions.len();
        runs.extend(r.into_iter().map(|mut run| {
            run.offset += base;
            run
        }));
        fractions.extend(f);
    }
}

/// In-plane coverage of one contour plane on the lattice's (y, x) cells, row by row.
#[derive(Debug, Default)]
struct Coverage2D {
    /// Runs of every row (`iz` 0), sorted by `(iy, ix0)`, offsets into `vals`.
    runs: Vec<Run>,
    /// `runs[row_start[iy - iy0] .. row_start[iy - iy0 + 1]]` are the runs of row `iy`:
    /// one flat list instead of a vector per row, which cost an allocation per row.
    iy0: usize,
    row_start: Vec<usize>,
    vals: Vec<f32>,
}

impl Coverage2D {
    fn row(&self, iy: usize) -> &[Run] {
        let Some(i) = iy.checked_sub(self.iy0) else {
            return &[];
        };
        match (self.row_start.get(i), self.row_start.get(i + 1)) {
            (Some(&a), Some(&b)) => self.runs.get(a..b).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// Where a span's coverage goes in a row buffer: cells `a..b` (buffer indices), the
/// covered part of the first and of the last cell.
struct SpanCells {
    a: usize,
    b: usize,
    first: f64,
    last: f64,
}

/// The cells of the span `[x_a, x_b]` in lattice cell units `u = (x - x_low) / sx`,
/// clipped to the buffer's cells `[ix_lo, ix_hi]`, or `None` when nothing is left.
fn span_cells(ua: f64, ub: f64, ix_lo: usize, ix_hi: usize) -> Option<SpanCells> {
    let ua = ua.max(ix_lo as f64);
    let ub = ub.min((ix_hi + 1) as f64);
    if ub <= ua || ub.is_nan() || ua.is_nan() {
        return None;
    }
    let ia = ua.floor() as usize;
    let ib = (ub.ceil() as usize).max(ia + 1); // cells ia..ib
    let (a, b) = (ia - ix_lo, ib - ix_lo);
    if b - a == 1 {
        return Some(SpanCells {
            a,
            b,
            first: ub - ua,
            last: 0.0,
        });
    }
    Some(SpanCells {
        a,
        b,
        first: ia as f64 + 1.0 - ua,
        last: ub - (ib - 1) as f64,
    })
}

/// Add the coverage `w` × (covered part of each cell) of a span to the row buffer.
fn add_span(buf: &mut [f64], c: &SpanCells, w: f64) {
    if c.b - c.a == 1 {
        if let Some(v) = buf.get_mut(c.a) {
            *v += c.first * w;
        }
        return;
    }
    if let Some(v) = buf.get_mut(c.a) {
        *v += c.first * w;
    }
    if let Some(mid) = buf.get_mut(c.a + 1..c.b - 1) {
        mid.iter_mut().for_each(|v| *v += w);
    }
    if let Some(v) = buf.get_mut(c.b - 1) {
        *v += c.last * w;
    }
}

/// Appends one row of a plane's cells to a coverage, in increasing x, merging
/// consecutive non-zero cells into runs and noting the partial ones.
struct RowWriter<'a> {
    cov: &'a mut Coverage2D,
    partial: &'a mut Vec<usize>,
    iy: u32,
    /// The cell after the last one written, while a run is open.
    open_end: Option<usize>,
}

impl RowWriter<'_> {
    /// Cell `ix` with coverage `value` (clamped to [0, 1]; zero ends a run).
    fn cell(&mut self, ix: usize, value: f64) {
        let v = value.clamp(0.0, 1.0) as f32;
        if v.is_nan() || v <= 0.0 {
            self.open_end = None;
            return;
        }
        if v < 1.0 {
            self.partial.push(self.cov.vals.len());
        }
        self.extend_run(ix, 1);
        self.cov.vals.push(v);
    }

    /// `n` wholly covered cells from `ix` on.
    fn full(&mut self, ix: usize, n: usize) {
        if n > 0 {
            self.extend_run(ix, n);
            self.cov.vals.extend(std::iter::repeat_n(1f32, n));
        }
    }

    fn extend_run(&mut self, ix: usize, n: usize) {
        match self.cov.runs.last_mut() {
            Some(r) if self.open_end == Some(ix) => r.len += n as u32,
            _ => self.cov.runs.push(Run {
                iz: 0,
                iy: self.iy,
                ix0: ix as u32,
                len: n as u32,
                offset: self.cov.vals.len(),
            }),
        }
        self.open_end = Some(ix + n);
    }
}

/// One sample line per row: the row's cells straight from its spans (sorted,
/// disjoint; given in lattice cell units), no row buffer. Cells strictly inside a
/// span are whole; a cell shared by consecutive spans sums their parts in span
/// order, as the buffer would.
fn row_from_spans(spans: &[[f64; 2]], ix_lo: usize, ix_hi: usize, out: &mut RowWriter) {
    let mut pending: Option<(usize, f64)> = None;
    for s in spans {
        let Some(c) = span_cells(s[0], s[1], ix_lo, ix_hi) else {
            continue;
        };
        let (a, b) = (ix_lo + c.a, ix_lo + c.b);
        // The span's first cell may hold the previous span's last part.
        let first = match pending.take() {
            Some((k, v)) if k == a => v + c.first,
            Some((k, v)) => {
                out.cell(k, v);
                c.first
            }
            None => c.first,
        };
        if b - a == 1 {
            pending = Some((a, first));
            continue;
        }
        out.cell(a, first);
        out.full(a + 1, b - a - 2);
        pending = Some((b - 1, c.last));
    }
    if let Some((k, v)) = pending {
        out.cell(k, v);
    }
}

/// Several sample lines per row: their spans' parts summed in a row buffer, whose
/// touched cells `lo..hi` are then written and cleared.
fn row_from_buffer(buf: &mut [f64], lo: usize, hi: usize, ix_lo: usize, out: &mut RowWriter) {
    if let Some(seg) = buf.get_mut(lo..hi) {
        for (k, v) in seg.iter_mut().enumerate() {
            out.cell(ix_lo + lo + k, *v);
            *v = 0.0;
        }
    }
}

/// In-plane coverage of a plane: exact along x (span overlaps with each cell), sampled
/// at `subrows` lines per cell along y, then rescaled to the plane's exact area when the
/// plane lies wholly inside the lattice.
fn plane_coverage(pe: &PlaneEdges, area_mm2: f64, lattice: &Lattice, subrows: usize) -> Coverage2D {
    let [_, ny, nx] = lattice.dims;
    let [sx, sy, _] = lattice.spacing;
    let (x_low, y_low) = (lattice.lower_edge(0), lattice.lower_edge(1));
    let cell = |v: f64, low: f64, s: f64| ((v - low) / s).floor();
    let (cx0, cx1) = (cell(pe.min[0], x_low, sx), cell(pe.max[0], x_low, sx));
    let (cy0, cy1) = (cell(pe.min[1], y_low, sy), cell(pe.max[1], y_low, sy));
    if cx1 < 0.0 || cy1 < 0.0 || cx0 >= nx as f64 || cy0 >= ny as f64 {
        return Coverage2D::default();
    }
    let inside = cx0 >= 0.0 && cy0 >= 0.0 && cx1 < nx as f64 && cy1 < ny as f64;
    let ix_lo = cx0.max(0.0) as usize;
    let ix_hi = (cx1 as usize).min(nx - 1); // inclusive
    let iy_lo = cy0.max(0.0) as usize;
    let iy_hi = (cy1 as usize).min(ny - 1);
    let width = ix_hi - ix_lo + 1;
    let m = subrows.max(1);
    let w = 1.0 / m as f64;
    let mut buf = if m > 1 { vec![0f64; width] } else { Vec::new() };
    let mut sweep = Sweep::new(&pe.edges);
    let (mut xs, mut spans) = (Vec::new(), Vec::new());
    // Capacities from the area and a few boundary cells per row, so that the lists
    // rarely grow (reallocation was a visible share of the time).
    let rows = iy_hi + 1 - iy_lo;
    let cells = (area_mm2 / (sx * sy)).min((rows * width) as f64) as usize + 4 * rows;
    let mut cov = Coverage2D {
        iy0: iy_lo,
        row_start: Vec::with_capacity(rows + 1),
        runs: Vec::with_capacity(2 * rows),
        vals: Vec::with_capacity(cells.min(rows * width)),
    };
    let mut partial = Vec::with_capacity(4 * rows);
    let u = |x: f64| (x - x_low) / sx;
    for iy in iy_lo..=iy_hi {
        cov.row_start.push(cov.runs.len());
        let mut out = RowWriter {
            cov: &mut cov,
            partial: &mut partial,
            iy: iy as u32,
            open_end: None,
        };
        if m == 1 {
            let y = y_low + (iy as f64 + 0.5) * sy;
            spans_at(sweep.active_at(y), y, &mut xs, &mut spans);
            spans.iter_mut().for_each(|s| *s = [u(s[0]), u(s[1])]);
            row_from_spans(&spans, ix_lo, ix_hi, &mut out);
            continue;
        }
        // Only the touched cells of the row are written and cleared.
        let (mut lo, mut hi) = (usize::MAX, 0);
        for j in 0..m {
            let y = y_low + (iy as f64 + (j as f64 + 0.5) * w) * sy;
            spans_at(sweep.active_at(y), y, &mut xs, &mut spans);
            for s in &spans {
                if let Some(c) = span_cells(u(s[0]), u(s[1]), ix_lo, ix_hi) {
                    add_span(&mut buf, &c, w);
                    (lo, hi) = (lo.min(c.a), hi.max(c.b));
                }
            }
        }
        row_from_buffer(&mut buf, lo, hi, ix_lo, &mut out);
    }
    cov.row_start.push(cov.runs.len());
    if inside {
        rescale_to_area(&mut cov.vals, partial, area_mm2 / (sx * sy));
    }
    cov
}

/// Adjust the partial (boundary) cells so that Σ fractions equals `target` cells: the
/// midpoint sampling along y misplaces area only at the boundary, so that is where the
/// correction goes. Multiplicative, clamped to [0, 1], a few passes to pass on what the
/// clamping held back.
///
/// `partial`: the indices of the values below 1 (full cells stay full).
fn rescale_to_area(vals: &mut [f32], mut partial: Vec<usize>, target: f64) {
    let mut full = (vals.len() - partial.len()) as f64;
    for _ in 0..6 {
        let sum: f64 = partial
            .iter()
            .filter_map(|&i| vals.get(i))
            .map(|&v| v as f64)
            .sum();
        let delta = target - full - sum;
        // f32 fractions: 1e-6 is as close as the sum can get.
        if delta.abs() <= 1e-6 * target.max(1e-12) || sum <= 0.0 {
            return;
        }
        let k = (1.0 + delta / sum).max(0.0);
        partial.retain(|&i| match vals.get_mut(i) {
            Some(v) => {
                *v = ((*v as f64) * k).min(1.0) as f32;
                if *v >= 1.0 {
                    full += 1.0;
                    false
                } else {
                    true
                }
            }
            None => false,
        });
    }
}

/// Rasterise `structure` on `lattice`: for each cell, the fraction of its volume inside
/// the structure's slab model (see the crate documentation). Along z the overlap of the
/// cell with each slab is exact; in-plane, x is exact and y is sampled at `subrows`
/// lines per cell, rescaled per plane to the exact polygon area.
pub fn rasterize(
    structure: &Structure,
    lattice: &Lattice,
    params: &SlabParams,
    subrows: usize,
) -> Result<Occupancy, GeometryError> {
    lattice.validate()?;
    let stack = build_slabs(structure, params);
    let mut o = rasterize_stack(&stack, lattice, subrows, &structure.name);
    o.roi_number = Some(structure.roi_number);
    Ok(o)
}

pub(crate) fn rasterize_stack(
    stack: &SlabStack,
    lattice: &Lattice,
    subrows: usize,
    name: &str,
) -> Occupancy {
    let mut occ = Occupancy::empty(lattice.clone(), name);
    occ.contour_volume_cc = Some(stack.volume_mm3() / 1000.0);
    occ.warnings = stack.warnings.clone();
    let parts = rasterize_zcells(stack, lattice, subrows).map(|runs, fr| (runs, fr));
    concat_parts(parts, &mut occ.runs, &mut occ.fractions);
    occ
}

/// Prepare the rasterisation of a slab stack one lattice z cell at a time: the
/// in-plane coverage of every slab a z cell needs, and which slabs each z cell
/// overlaps. [`ZCells::map`] and [`ZCells::fold`] then build each z cell's runs in
/// parallel and hand them on, so the sampler consumes each z cell while it is hot in
/// cache, without ever holding the whole occupancy.
pub(crate) fn rasterize_zcells<'a>(
    stack: &'a SlabStack,
    lattice: &'a Lattice,
    subrows: usize,
) -> ZCells<'a> {
    let [nz, _, _] = lattice.dims;
    let sz = lattice.spacing[2];
    let z_low = lattice.lower_edge(2);
    // For every lattice z cell, the slabs it overlaps and the overlapped fraction of the
    // cell's height: exact along z.
    let contrib: Vec<Vec<(usize, f32)>> = (0..nz)
        .map(|iz| {
            let (c0, c1) = (z_low + iz as f64 * sz, z_low + (iz + 1) as f64 * sz);
            let first = stack.slabs.partition_point(|s| s.z_hi <= c0);
            stack.slabs[first.min(stack.slabs.len())..]
                .iter()
                .enumerate()
                .take_while(|(_, s)| s.z_lo < c1)
                .filter_map(|(k, s)| {
                    let ov = (s.z_hi.min(c1) - s.z_lo.max(c0)) / sz;
                    (ov > 1e-9).then_some((first + k, ov.min(1.0) as f32))
                })
                .collect()
        })
        .collect();
    // How many z cells use each slab. A z cell made of one slab that no other z cell
    // uses (every z cell of a body on a lattice aligned with its slabs) rasterises that
    // slab itself when its turn comes ([`ZCells::runs`]): the coverage then becomes the
    // z cell's runs without a copy, while hot in cache, and is never held. The other
    // slabs' coverages are made once up front, in parallel.
    let mut uses = vec![0u32; stack.slabs.len()];
    for c in contrib.iter().flatten() {
        if let Some(n) = uses.get_mut(c.0) {
            *n += 1;
        }
    }
    let lazy: Vec<bool> = contrib
        .iter()
        .map(|c| matches!(c.as_slice(), [(k, _)] if uses.get(*k) == Some(&1)))
        .collect();
    for (c, _) in contrib.iter().zip(&lazy).filter(|(_, l)| **l) {
        for (k, _) in c {
            if let Some(n) = uses.get_mut(*k) {
                *n = 0;
            }
        }
    }
    let coverages: Vec<Option<Coverage2D>> = stack
        .slabs
        .par_iter()
        .zip(stack.edges.par_iter())
        .zip(uses.par_iter())
        .map(|((s, pe), &n)| (n > 0).then(|| plane_coverage(pe, s.area_mm2, lattice, subrows)))
        .collect();
    ZCells {
        stack,
        lattice,
        subrows,
        contrib,
        lazy,
        coverages,
    }
}

/// A slab stack ready to be rasterised z cell by z cell (see [`rasterize_zcells`]).
pub(crate) struct ZCells<'a> {
    stack: &'a SlabStack,
    lattice: &'a Lattice,
    subrows: usize,
    /// Per lattice z cell: (slab index, overlapped fraction of the cell's height).
    contrib: Vec<Vec<(usize, f32)>>,
    /// Per lattice z cell: its one slab is rasterised when the z cell is.
    lazy: Vec<bool>,
    /// Coverages of the slabs that are not rasterised lazily and are needed.
    coverages: Vec<Option<Coverage2D>>,
}

impl ZCells<'_> {
    fn runs(&self, iz: usize) -> (Vec<Run>, Vec<f32>) {
        let c = self.contrib.get(iz).map_or(&[][..], Vec::as_slice);
        if let (Some(true), [(k, w)]) = (self.lazy.get(iz), c) {
            return self.lazy_runs(iz, *k, *w);
        }
        let [_, ny, nx] = self.lattice.dims;
        zcell_runs(iz, c, &self.coverages, nx, ny)
    }

    /// The runs of z cell `iz`, made of slab `k` alone, covering `w` of its height.
    fn lazy_runs(&self, iz: usize, k: usize, w: f32) -> (Vec<Run>, Vec<f32>) {
        let (Some(s), Some(pe)) = (self.stack.slabs.get(k), self.stack.edges.get(k)) else {
            return (Vec::new(), Vec::new());
        };
        let cv = plane_coverage(pe, s.area_mm2, self.lattice, self.subrows);
        let (mut runs, mut vals) = (cv.runs, cv.vals);
        runs.iter_mut().for_each(|r| r.iz = iz as u32);
        // The product with 1 is exact: skip it for whole cells of height.
        if w != 1.0 {
            vals.iter_mut().for_each(|v| *v *= w);
        }
        (runs, vals)
    }

    /// Each z cell's runs (offsets local to its fractions) through `per_zcell`, in
    /// parallel; results in z order.
    pub(crate) fn map<T: Send>(
        &self,
        per_zcell: impl Fn(Vec<Run>, Vec<f32>) -> T + Sync,
    ) -> Vec<T> {
        (0..self.contrib.len())
            .into_par_iter()
            .map(|iz| {
                let (runs, fr) = self.runs(iz);
                per_zcell(runs, fr)
            })
            .collect()
    }

    /// Each z cell's runs folded into an accumulator per parallel task (`init`), the
    /// accumulators then joined in z order by `merge`; at most `tasks` tasks (an
    /// accumulator may be large, e.g. a DVH histogram, so small work gets one).
    ///
    /// The tasks are fixed ranges of z cells, joined one after the other: the result
    /// does not depend on how the threads happened to share the work (floating-point
    /// sums in another order differ in the last digits, and a rerun must give the same
    /// output).
    pub(crate) fn fold<T: Send>(
        &self,
        tasks: usize,
        init: impl Fn() -> T + Sync + Send,
        per_zcell: impl Fn(&mut T, Vec<Run>, Vec<f32>) + Sync + Send,
        merge: impl Fn(T, T) -> T + Sync + Send,
    ) -> Option<T> {
        let n = self.contrib.len();
        fixed_ranges(n, tasks)
            .into_par_iter()
            .map(|range| {
                let mut acc = init();
                for iz in range {
                    let (runs, fr) = self.runs(iz);
                    per_zcell(&mut acc, runs, fr);
                }
                acc
            })
            .collect::<Vec<T>>()
            .into_iter()
            .reduce(merge)
    }
}

/// `0..n` cut into at most `parts` consecutive ranges of (nearly) equal length, none
/// empty: fixed work shares whose results can be joined in a fixed order.
pub(crate) fn fixed_ranges(n: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.clamp(1, n.max(1));
    let per = n.div_ceil(parts).max(1);
    (0..n).step_by(per).map(|a| a..(a + per).min(n)).collect()
}

/// The runs and fractions of lattice z cell `iz` from the coverages of the slabs it
/// overlaps (`c`: slab index and overlapped fraction of the cell's height).
fn zcell_runs(
    iz: usize,
    c: &[(usize, f32)],
    coverages: &[Option<Coverage2D>],
    nx: usize,
    ny: usize,
) -> (Vec<Run>, Vec<f32>) {
    let mut runs = Vec::new();
    let mut fr = Vec::new();
    let covs: Vec<(&Coverage2D, f32)> = c
        .iter()
        .filter_map(|&(k, w)| coverages.get(k).and_then(|o| o.as_ref()).map(|cv| (cv, w)))
        .collect();
    match covs.as_slice() {
        [] => {}
        [(cv, w)] => {
            // The coverage's runs and values in order: its offsets stay valid.
            runs.extend(cv.runs.iter().map(|r| Run {
                iz: iz as u32,
                ..*r
            }));
            fr.extend(cv.vals.iter().map(|v| v * w));
        }
        many => {
            let mut buf = vec![0f32; nx];
            for iy in 0..ny {
                let (mut lo, mut hi) = (usize::MAX, 0);
                for (cv, w) in many {
                    for r in cv.row(iy) {
                        let x0 = r.ix0 as usize;
                        let x1 = x0 + r.len as usize;
                        let src = cv
                            .vals
                            .get(r.offset..r.offset + r.len as usize)
                            .unwrap_or(&[]);
                        if let Some(dst) = buf.get_mut(x0..x1) {
                            dst.iter_mut().zip(src).for_each(|(d, s)| *d += s * w);
                            lo = lo.min(x0);
                            hi = hi.max(x1);
                        }
                    }
                }
                if let Some(seg) = buf.get_mut(lo..hi) {
                    seg.iter_mut().for_each(|v| *v = v.min(1.0));
                    emit_runs(iz as u32, iy as u32, lo as u32, seg, &mut runs, &mut fr);
                    seg.fill(0.0);
                }
            }
        }
    }
    (runs, fr)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row's runs and values written by `f`.
    fn row(f: impl FnOnce(&mut RowWriter)) -> (Vec<Run>, Vec<f32>, Vec<usize>) {
        let mut cov = Coverage2D::default();
        let mut partial = Vec::new();
        let mut out = RowWriter {
            cov: &mut cov,
            partial: &mut partial,
            iy: 3,
            open_end: None,
        };
        f(&mut out);
        (cov.runs, cov.vals, partial)
    }

    #[test]
    fn spans_written_directly_equal_the_row_buffer() {
        // Cell units on cells 2..=12: spans sharing a cell, touching at a point, on a
        // cell boundary, inside one cell, adjacent cells, a sliver, and clipped ends.
        let cases: [&[[f64; 2]]; 5] = [
            &[
                [2.5, 4.25],
                [4.5, 4.75],
                [4.75, 6.0],
                [6.0, 6.5],
                [8.1, 8.2],
            ],
            &[[0.0, 3.0], [3.0, 3.0000001], [11.5, 20.0]],
            &[[5.0, 7.0], [7.2, 9.9], [9.95, 10.0], [10.0, 11.0]],
            &[[6.3, 6.3 + 1e-300]],
            &[[2.0, 13.0]],
        ];
        let (ix_lo, ix_hi) = (2, 12);
        for spans in cases {
            let direct = row(|out| row_from_spans(spans, ix_lo, ix_hi, out));
            let buffered = row(|out| {
                let mut buf = vec![0f64; ix_hi - ix_lo + 1];
                let (mut lo, mut hi) = (usize::MAX, 0);
                for s in spans {
                    if let Some(c) = span_cells(s[0], s[1], ix_lo, ix_hi) {
                        add_span(&mut buf, &c, 1.0);
                        (lo, hi) = (lo.min(c.a), hi.max(c.b));
                    }
                }
                row_from_buffer(&mut buf, lo, hi, ix_lo, out);
            });
            assert_eq!(direct, buffered, "{spans:?}");
        }
    }
}
