//! Voxel masks traced into contour structures, so that a NIfTI plan goes through the
//! same contour-based analysis as a DICOM one (site analyses, derived structures on a
//! refined lattice, sampling uncertainty).
//!
//! A binary mask slice's inside voxels are outlined along voxel edges into closed
//! staircase polygons, one [`ContourPlane`] per slice at the slice's centre, and the
//! structure says its planes are voxel slices
//! ([`Structure::slab_thickness_mm`](radtox_model::Structure)), so each plane stands
//! for exactly its voxels' z extent. The even-odd union of a slice's polygons is then
//! exactly the set of its inside voxels: the structure encloses the mask's voxels, no
//! more and no less.
//!
//! * **Loops.** Each boundary edge of an inside voxel is directed with the inside on its
//!   left, and the edges are chained into loops: outer boundaries run counter-clockwise,
//!   holes clockwise. At a *saddle* vertex (two inside voxels touching only at a corner)
//!   the walk turns left, staying around the voxel it came along, so the two voxels get
//!   separate loops that touch at that vertex only (inside voxels are 4-connected). Every
//!   loop is simple except for such shared vertices, which change no area and no
//!   point-in-polygon answer for a voxel centre. Collinear points are merged.
//! * **Frames.** A mask aligned with the patient axes (any flip and permutation of its
//!   voxel axes) is traced exactly. An *oblique* mask cannot be outlined in patient
//!   planes: it is first resampled by volume onto an axis-aligned lattice of its smallest
//!   voxel size (each voxel split into sub-boxes of at most half a cell), then
//!   thresholded, with a warning giving both volumes.
//! * **Fractional masks** (any value strictly between 0 and 1: partial volumes or
//!   probabilities) are outlined on a lattice [`FRACTIONAL_REFINEMENT`] (4) times finer
//!   per axis: the fractions are interpolated trilinearly between voxel centres and the
//!   sub-voxels with the highest values are inside, as many as hold Σ fraction × voxel
//!   volume. The outline is a level surface of the interpolated field and keeps the
//!   mask's volume to one sub-voxel; a warning gives the level (near ½) and both volumes.

use crate::MaskStructure;
use crate::affine::{apply, axis_map, column_norm};
use radtox_model::{ContourPlane, Polygon, Structure};
use std::collections::{BTreeMap, HashMap};

/// The fraction of a cell at and above which an oblique mask resampled onto an
/// axis-aligned lattice counts the cell as inside.
pub const INSIDE_FRACTION: f32 = 0.5;

/// A mask traced into a contour structure.
#[derive(Debug, Clone, PartialEq)]
pub struct TracedMask {
    pub structure: Structure,
    /// Voxels inside the structure on the lattice the contours follow: the mask's own
    /// voxels for a binary aligned mask, sub-voxels for a fractional one, cells of the
    /// axis-aligned lattice for an oblique one.
    pub voxel_count: usize,
    /// Volume of one voxel of that lattice (mm³).
    pub voxel_volume_mm3: f64,
    /// The mask's own warnings, then what tracing changed (refinement, resampling).
    pub warnings: Vec<String>,
}

impl TracedMask {
    /// `voxel_count` × voxel volume (cc): the volume the contours enclose.
    pub fn volume_cc(&self) -> f64 {
        self.voxel_count as f64 * self.voxel_volume_mm3 / 1000.0
    }
}

/// Inside voxels on an axis-aligned lattice: canonical indices `(iz, iy, ix)` along
/// increasing patient z, y, x; voxel centre = `origin + index × spacing`.
struct AlignedVoxels {
    origin: [f64; 3],
    spacing: [f64; 3],
    /// Per z index, the inside `(ix, iy)` of that slice.
    slices: BTreeMap<i64, Vec<(i64, i64)>>,
}

/// Trace `mask` into a contour [`Structure`] numbered `roi_number` (see the module
/// documentation). An empty mask gives a structure without planes.
pub fn trace_mask(mask: &MaskStructure, roi_number: i32) -> TracedMask {
    let mut warnings = mask.warnings.clone();
    let fractional = mask
        .fraction
        .iter()
        .filter(|&&(_, f)| f > 0.0 && f < 1.0)
        .count();
    // The level a fractional mask was outlined at.
    let mut level: Option<f64> = None;
    let voxels = match axis_map(&mask.affine) {
        Ok(map) => {
            // Canonical index along patient axis w of file index k on voxel axis
            // voxel_axis[w]: k for a positive step, −k for a negative one, so that
            // canonical indices increase with the patient coordinate.
            let spacing = map.step.map(f64::abs);
            let canonical = |lin: usize| {
                let ijk = mask.voxel_index(lin);
                [0, 1, 2].map(|w| {
                    let k = ijk[map.voxel_axis[w]] as i64;
                    if map.step[w] > 0.0 { k } else { -k }
                })
            };
            if fractional > 0 {
                let field: Vec<([i64; 3], f32)> = mask
                    .fraction
                    .iter()
                    .map(|&(lin, f)| (canonical(lin), f))
                    .collect();
                let (v, l) = volume_preserving_refined(&field, map.offset, spacing);
                level = Some(l);
                v
            } else {
                let mut slices: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
                for &(lin, _) in &mask.fraction {
                    let c = canonical(lin);
                    slices.entry(c[2]).or_default().push((c[0], c[1]));
                }
                AlignedVoxels {
                    origin: map.offset,
                    spacing,
                    slices,
                }
            }
        }
        Err((voxel_axis, angle_deg)) => {
            let v = resample_oblique(mask);
            let traced_cc = v.slices.values().map(Vec::len).sum::<usize>() as f64
                * v.spacing.iter().product::<f64>()
                / 1000.0;
            warnings.push(format!(
                "voxel axis {voxel_axis} is oblique to the patient axes by {angle_deg:.3}°: \
                 resampled by volume onto an axis-aligned {:.3} mm lattice and thresholded at \
                 {INSIDE_FRACTION} to be outlined ({:.4} cc as given, {traced_cc:.4} cc traced)",
                v.spacing[0],
                mask.volume_cc()
            ));
            v
        }
    };
    let voxel_count: usize = voxels.slices.values().map(Vec::len).sum();
    let voxel_volume_mm3 = voxels.spacing.iter().product::<f64>();
    if let Some(level) = level {
        warnings.push(format!(
            "{fractional} voxels hold fractions strictly between 0 and 1: outlined on a \
             lattice {}× finer at the level {level:.3} of the fractions interpolated between \
             voxel centres, the level that keeps the mask's volume ({:.4} cc as Σ fraction × \
             voxel volume, {:.4} cc outlined)",
            (mask.voxel_volume_mm3() / voxel_volume_mm3).cbrt().round(),
            mask.volume_cc(),
            voxel_count as f64 * voxel_volume_mm3 / 1000.0
        ));
    }
    let [sx, sy, sz] = voxels.spacing;
    let [x0, y0, z0] = voxels.origin;
    let planes = voxels
        .slices
        .iter()
        .map(|(&iz, cells)| ContourPlane {
            z: z0 + iz as f64 * sz,
            polygons: trace_slice(cells)
                .into_iter()
                .map(|lp| Polygon {
                    // Vertex (vx, vy) is the lower-left corner of voxel (vx, vy).
                    points: lp
                        .into_iter()
                        .map(|(vx, vy)| [x0 + (vx as f64 - 0.5) * sx, y0 + (vy as f64 - 0.5) * sy])
                        .collect(),
                })
                .collect(),
        })
        .collect();
    TracedMask {
        structure: Structure {
            roi_number,
            name: mask.name.clone(),
            interpreted_type: None,
            color: None,
            planes,
            ignored: Vec::new(),
            slab_thickness_mm: Some(sz),
        },
        voxel_count,
        voxel_volume_mm3,
        warnings,
    }
}

/// Step directions along voxel edges, counter-clockwise: +x, +y, −x, −y.
const STEPS: [(i64, i64); 4] = [(1, 0), (0, 1), (-1, 0), (0, -1)];

/// The closed loops outlining a set of voxels `(ix, iy)` of one slice, as vertex
/// indices (vertex `(vx, vy)` is the lower-left corner of voxel `(vx, vy)`), with the
/// inside on the left of every edge and collinear vertices merged.
pub(crate) fn trace_slice(cells: &[(i64, i64)]) -> Vec<Vec<(i64, i64)>> {
    let Some(&(x_min, y_min)) = cells.first() else {
        return Vec::new();
    };
    let (mut lo, mut hi) = ([x_min, y_min], [x_min, y_min]);
    for &(x, y) in cells {
        lo = [lo[0].min(x), lo[1].min(y)];
        hi = [hi[0].max(x), hi[1].max(y)];
    }
    // A dense bitmap of the slice's bounding box with a one-voxel empty border.
    let w = (hi[0] - lo[0] + 3) as usize;
    let h = (hi[1] - lo[1] + 3) as usize;
    let mut inside = vec![false; w * h];
    let at = |x: i64, y: i64| ((y - lo[1] + 1) as usize) * w + (x - lo[0] + 1) as usize;
    for &(x, y) in cells {
        inside[at(x, y)] = true;
    }
    let is_in = |x: i64, y: i64| {
        x >= lo[0] - 1
            && y >= lo[1] - 1
            && x <= hi[0] + 1
            && y <= hi[1] + 1
            && inside.get(at(x, y)).copied().unwrap_or(false)
    };
    // Outgoing boundary edges per vertex, one bit per direction of STEPS. Vertices of
    // the bordered box: (w + 1) × (h + 1), indexed like the cells.
    let vw = w + 1;
    let vat = |x: i64, y: i64| ((y - lo[1] + 1) as usize) * vw + (x - lo[0] + 1) as usize;
    let mut out = vec![0u8; vw * (h + 1)];
    let mut edges = 0usize;
    for &(x, y) in cells {
        if !is_in(x, y) {
            continue;
        }
        // Inside on the left: bottom edge eastwards, right edge northwards, top edge
        // westwards, left edge southwards.
        let sides = [
            (!is_in(x, y - 1), (x, y), 0),
            (!is_in(x + 1, y), (x + 1, y), 1),
            (!is_in(x, y + 1), (x + 1, y + 1), 2),
            (!is_in(x - 1, y), (x, y + 1), 3),
        ];
        for (open, (vx, vy), d) in sides {
            if open && let Some(o) = out.get_mut(vat(vx, vy)) {
                if *o & (1 << d) == 0 {
                    edges += 1;
                }
                *o |= 1 << d;
            }
        }
    }
    let mut loops = Vec::new();
    // Start each loop at the lowest, then leftmost vertex with an unused edge: scanning
    // in index order finds them so.
    let mut start_index = 0usize;
    while edges > 0 {
        let Some(s) = (start_index..out.len()).find(|&i| out[i] != 0) else {
            break;
        };
        start_index = s;
        let (sx, sy) = ((s % vw) as i64 + lo[0] - 1, (s / vw) as i64 + lo[1] - 1);
        // The lowest-leftmost vertex of a loop has edges going east or north only.
        let mut d = if out[s] & 1 != 0 { 0 } else { 1 };
        let (mut x, mut y) = (sx, sy);
        let mut walk: Vec<(i64, i64)> = Vec::new();
        let mut prev: Option<usize> = None;
        while let Some(o) = out.get_mut(vat(x, y)) {
            if let Some(p) = prev {
                // Prefer a left turn (a saddle keeps the voxel it came along), then
                // straight on, then right.
                let choice = [(p + 1) % 4, p, (p + 3) % 4]
                    .into_iter()
                    .find(|&c| *o & (1 << c) != 0);
                match choice {
                    Some(c) => d = c,
                    None => break, // back at the start, every edge used
                }
            } else if *o & (1 << d) == 0 {
                break;
            }
            walk.push((x, y));
            *o &= !(1 << d);
            edges -= 1;
            let (dx, dy) = STEPS[d];
            x += dx;
            y += dy;
            prev = Some(d);
        }
        for lp in split_at_touching_vertices(walk) {
            let corners = without_collinear(&lp);
            if corners.len() >= 4 {
                loops.push(corners);
            }
        }
    }
    loops
}

/// A closed walk split into loops that each visit a vertex once: where the walk comes
/// back to a vertex it passed (a notch reaching a saddle), the part in between is a
/// loop of its own. The edges, hence every even-odd answer and the total signed area,
/// are unchanged.
fn split_at_touching_vertices(walk: Vec<(i64, i64)>) -> Vec<Vec<(i64, i64)>> {
    let mut loops = Vec::new();
    let mut stack: Vec<(i64, i64)> = Vec::with_capacity(walk.len());
    let mut seen: HashMap<(i64, i64), usize> = HashMap::new();
    for v in walk {
        if let Some(&at) = seen.get(&v) {
            let inner: Vec<(i64, i64)> = stack.drain(at..).collect();
            for u in &inner {
                seen.remove(u);
            }
            loops.push(inner);
        }
        seen.insert(v, stack.len());
        stack.push(v);
    }
    loops.push(stack);
    loops
}

/// The corners of a closed rectilinear loop (points where the direction changes).
fn without_collinear(lp: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let n = lp.len();
    (0..n)
        .filter(|&i| {
            let (a, b, c) = (lp[(i + n - 1) % n], lp[i], lp[(i + 1) % n]);
            (b.0 - a.0) * (c.1 - b.1) - (b.1 - a.1) * (c.0 - b.0) != 0
        })
        .map(|i| lp[i])
        .collect()
}

/// How many times finer (per axis) than the mask a fractional mask is outlined.
pub const FRACTIONAL_REFINEMENT: i64 = 4;

/// Most sub-voxels a fractional mask is refined into; larger masks get a coarser
/// refinement (2, then 1) to bound time and memory.
const MAX_REFINED_VOXELS: usize = 16_000_000;

/// A fractional mask's inside on a lattice [`FRACTIONAL_REFINEMENT`] times finer, and
/// the level it was outlined at.
///
/// The fractions are interpolated trilinearly between voxel centres (0 outside the
/// mask) at every sub-voxel centre, and the sub-voxels with the highest values are
/// inside, as many as hold the mask's volume Σ fraction × voxel volume (to one
/// sub-voxel): a level surface of the interpolated field, at the level that keeps the
/// volume. Keeping the level at ½ instead would shrink small convex structures (the
/// partial-volume averaging and the interpolation together move a sphere's ½ level
/// inwards by about a quarter voxel² / radius: −2 % for a 1 cc sphere on 1 mm voxels);
/// thresholding whole voxels would move the boundary by up to half a voxel.
/// `voxels` are canonical indices (increasing with the patient axes).
fn volume_preserving_refined(
    voxels: &[([i64; 3], f32)],
    origin: [f64; 3],
    spacing: [f64; 3],
) -> (AlignedVoxels, f64) {
    let field: HashMap<[i64; 3], f32> = voxels.iter().copied().collect();
    let value = |c: [i64; 3]| field.get(&c).copied().unwrap_or(0.0);
    // Every voxel with a fraction, and its neighbours: interpolation reaches half a
    // voxel past the last non-zero centre.
    let mut visit: Vec<[i64; 3]> = Vec::with_capacity(voxels.len() * 2);
    for (c, _) in voxels {
        for dz in -1..=1 {
            for dy in -1..=1 {
                for dx in -1..=1 {
                    visit.push([c[0] + dx, c[1] + dy, c[2] + dz]);
                }
            }
        }
    }
    visit.sort_unstable();
    visit.dedup();
    let mut k = FRACTIONAL_REFINEMENT;
    while k > 1 && visit.len().saturating_mul((k * k * k) as usize) > MAX_REFINED_VOXELS {
        k /= 2;
    }
    let total: f64 = voxels.iter().map(|(_, f)| f64::from(*f)).sum();
    let target = (total * (k * k * k) as f64).round() as usize;
    // Sub-voxels at value 1 (inside whatever the level), and the others above 0.
    let mut full: Vec<[i64; 3]> = Vec::new();
    let mut partial: Vec<(f64, [i64; 3])> = Vec::new();
    for c in visit {
        // The 27 values the sub-voxel centres of `c` interpolate between.
        let mut lo = f32::INFINITY;
        let mut hi = f32::NEG_INFINITY;
        for dz in -1..=1 {
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let v = value([c[0] + dx, c[1] + dy, c[2] + dz]);
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
        if hi <= 0.0 {
            continue;
        }
        for mz in 0..k {
            for my in 0..k {
                for mx in 0..k {
                    let m = [mx, my, mz];
                    let fine = [0, 1, 2].map(|a| c[a] * k + m[a]);
                    if lo >= 1.0 {
                        full.push(fine);
                        continue;
                    }
                    // Sub-voxel centre in voxel-index units, then trilinear.
                    let p = [0, 1, 2].map(|a| c[a] as f64 + (m[a] as f64 + 0.5) / k as f64 - 0.5);
                    let i0 = p.map(f64::floor);
                    let t = [0, 1, 2].map(|a| p[a] - i0[a]);
                    let mut v = 0.0;
                    for corner in 0..8 {
                        let mut w = 1.0;
                        let mut at = [0i64; 3];
                        for a in 0..3 {
                            let up = (corner >> a) & 1 == 1;
                            at[a] = i0[a] as i64 + i64::from(up);
                            w *= if up { t[a] } else { 1.0 - t[a] };
                        }
                        v += w * f64::from(value(at));
                    }
                    if v >= 1.0 {
                        full.push(fine);
                    } else if v > 0.0 {
                        partial.push((v, fine));
                    }
                }
            }
        }
    }
    // Highest values first; ties in index order, so the choice is reproducible.
    partial.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let need = target.saturating_sub(full.len()).min(partial.len());
    let level = if need > 0 { partial[need - 1].0 } else { 1.0 };
    let mut slices: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for f in full
        .into_iter()
        .chain(partial.into_iter().take(need).map(|p| p.1))
    {
        slices.entry(f[2]).or_default().push((f[0], f[1]));
    }
    let voxels = AlignedVoxels {
        // Sub-voxel 0 of voxel 0 sits (½/k − ½) of a voxel from its centre.
        origin: [0, 1, 2].map(|a| origin[a] + (0.5 / k as f64 - 0.5) * spacing[a]),
        spacing: spacing.map(|s| s / k as f64),
        slices,
    };
    (voxels, level)
}

/// Inside voxels of an oblique mask on an axis-aligned lattice of its smallest voxel
/// size: each mask voxel is split into sub-boxes of at most half a cell (2 to 8 per
/// voxel axis) whose centres add fraction × sub-volume to the cell holding them; cells
/// at or above [`INSIDE_FRACTION`] of their volume are inside.
fn resample_oblique(mask: &MaskStructure) -> AlignedVoxels {
    let a = &mask.affine;
    let norms = [0, 1, 2].map(|c| column_norm(a, c));
    let s = norms.iter().copied().fold(f64::INFINITY, f64::min);
    let mut slices: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    if !(s.is_finite() && s > 0.0) {
        return AlignedVoxels {
            origin: [0.0; 3],
            spacing: [1.0; 3],
            slices,
        };
    }
    let n = norms.map(|l| ((l / (s / 2.0) - 1e-9).ceil() as usize).clamp(2, 8));
    let offsets =
        |m: usize| -> Vec<f64> { (0..m).map(|k| (k as f64 + 0.5) / m as f64 - 0.5).collect() };
    let (ou, ov, ow) = (offsets(n[0]), offsets(n[1]), offsets(n[2]));
    // Each sub-box carries fraction × (voxel volume / sub-boxes) / cell volume.
    let share = mask.voxel_volume_mm3() / (n[0] * n[1] * n[2]) as f64 / (s * s * s);
    let origin = apply(a, [0.0; 3]);
    let mut cells: HashMap<[i64; 3], f64> = HashMap::new();
    for &(lin, f) in &mask.fraction {
        let [i, j, k] = mask.voxel_index(lin);
        let w = f64::from(f) * share;
        for &dw in &ow {
            for &dv in &ov {
                for &du in &ou {
                    let p = apply(a, [i as f64 + du, j as f64 + dv, k as f64 + dw]);
                    let c = [0, 1, 2].map(|r| ((p[r] - origin[r]) / s).round() as i64);
                    *cells.entry(c).or_insert(0.0) += w;
                }
            }
        }
    }
    // Rounding can leave a fully covered cell a hair below ½ only when it is not full.
    for ([x, y, z], v) in cells {
        if v >= f64::from(INSIDE_FRACTION) - 1e-9 {
            slices.entry(z).or_default().push((x, y));
        }
    }
    for v in slices.values_mut() {
        v.sort_unstable();
    }
    AlignedVoxels {
        origin,
        spacing: [s; 3],
        slices,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twice the signed area (shoelace) of a vertex loop.
    fn twice_area(lp: &[(i64, i64)]) -> i64 {
        (0..lp.len())
            .map(|i| {
                let (a, b) = (lp[i], lp[(i + 1) % lp.len()]);
                a.0 * b.1 - b.0 * a.1
            })
            .sum()
    }

    /// Even-odd point-in-polygon of a voxel centre (`x + ½`, `y + ½`) in vertex units.
    fn centre_inside(loops: &[Vec<(i64, i64)>], x: i64, y: i64) -> bool {
        let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
        let mut inside = false;
        for lp in loops {
            for i in 0..lp.len() {
                let (a, b) = (lp[i], lp[(i + 1) % lp.len()]);
                let (ay, by) = (a.1 as f64, b.1 as f64);
                if (ay > py) != (by > py) {
                    let xc = a.0 as f64 + (py - ay) / (by - ay) * (b.0 - a.0) as f64;
                    if px < xc {
                        inside = !inside;
                    }
                }
            }
        }
        inside
    }

    /// Loops of `cells`: Σ signed area equals the voxel count, every voxel centre of a
    /// box around them is inside exactly when it is a cell, no loop holds collinear
    /// points or repeats a vertex except at a saddle.
    fn check(cells: &[(i64, i64)]) -> Vec<Vec<(i64, i64)>> {
        let loops = trace_slice(cells);
        let area: i64 = loops.iter().map(|l| twice_area(l)).sum();
        assert_eq!(area, 2 * cells.len() as i64, "{loops:?}");
        for x in -3..12 {
            for y in -3..12 {
                assert_eq!(
                    centre_inside(&loops, x, y),
                    cells.contains(&(x, y)),
                    "voxel ({x}, {y}) in {loops:?}"
                );
            }
        }
        for lp in &loops {
            for i in 0..lp.len() {
                let (a, b, c) = (lp[i], lp[(i + 1) % lp.len()], lp[(i + 2) % lp.len()]);
                let cross = (b.0 - a.0) * (c.1 - b.1) - (b.1 - a.1) * (c.0 - b.0);
                assert_ne!(cross, 0, "collinear or doubled-back points in {lp:?}");
            }
            let mut v = lp.clone();
            v.sort_unstable();
            v.dedup();
            assert_eq!(v.len(), lp.len(), "a loop visits a vertex twice: {lp:?}");
        }
        loops
    }

    #[test]
    fn single_voxel_is_a_unit_square() {
        let loops = check(&[(2, 3)]);
        assert_eq!(loops, vec![vec![(2, 3), (3, 3), (3, 4), (2, 4)]]);
    }

    #[test]
    fn l_shape_has_six_corners() {
        let loops = check(&[(0, 0), (1, 0), (2, 0), (0, 1), (0, 2)]);
        assert_eq!(loops.len(), 1);
        assert_eq!(loops[0].len(), 6);
    }

    #[test]
    fn ring_has_an_outer_loop_and_a_hole() {
        let mut cells = Vec::new();
        for x in 0..5 {
            for y in 0..5 {
                if !(1..4).contains(&x) || !(1..4).contains(&y) {
                    cells.push((x, y));
                }
            }
        }
        let loops = check(&cells);
        assert_eq!(loops.len(), 2);
        let areas: Vec<i64> = loops.iter().map(|l| twice_area(l)).collect();
        assert_eq!(areas, vec![50, -18]); // outer 5×5 counter-clockwise, hole 3×3 clockwise
    }

    #[test]
    fn diagonal_voxels_get_separate_loops_touching_at_the_saddle() {
        for cells in [[(0, 0), (1, 1)], [(1, 0), (0, 1)]] {
            let loops = check(&cells);
            assert_eq!(loops.len(), 2, "{loops:?}");
            assert!(loops.iter().all(|l| l.len() == 4));
        }
        // A hole touching the outside at a corner, and a chequerboard.
        check(&[
            (0, 0),
            (1, 0),
            (2, 0),
            (0, 1),
            (2, 1),
            (0, 2),
            (1, 2),
            (3, 3),
        ]);
        let board: Vec<(i64, i64)> = (0..6)
            .flat_map(|x| (0..6).map(move |y| (x, y)))
            .filter(|(x, y)| (x + y) % 2 == 0)
            .collect();
        assert_eq!(check(&board).len(), board.len());
    }

    #[test]
    fn random_slices_trace_exactly() {
        // A fixed pseudo-random sequence (xorshift): blobs with holes and saddles.
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for _ in 0..200 {
            let cells: Vec<(i64, i64)> = (0..9)
                .flat_map(|x| (0..9).map(move |y| (x, y)))
                .filter(|_| next() % 100 < 55)
                .collect();
            check(&cells);
        }
    }
}
