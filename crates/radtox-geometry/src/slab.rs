//! The slab model: each contour plane of a structure stands for a slab of constant
//! cross-section between the midpoints to its neighbouring planes.

use crate::plane::{PlaneEdges, even_odd_area, plane_edges, polygon_is_finite};
use radtox_model::{Polygon, Structure};
use rayon::prelude::*;

/// How a structure ends beyond its outermost contour planes (and at gaps in z).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndCaps {
    /// The end plane's slab reaches half the adjacent contour spacing beyond the plane,
    /// like every other plane's slab (what most planning systems do).
    #[default]
    HalfSlab,
    /// The solid ends exactly at the outermost contour planes: an end plane contributes
    /// only the half slab towards its neighbour.
    Flat,
}

/// The slab of one contour plane.
#[derive(Debug, Clone)]
pub struct Slab {
    /// Index into [`Structure::planes`].
    pub plane_index: usize,
    /// The contour plane's z (mm).
    pub z: f64,
    /// Lower and upper z (mm) of the slab.
    pub z_lo: f64,
    pub z_hi: f64,
    /// Exact even-odd area of the plane's polygons (mm²).
    pub area_mm2: f64,
}

impl Slab {
    pub fn thickness(&self) -> f64 {
        self.z_hi - self.z_lo
    }
}

/// Parameters of the slab model.
#[derive(Debug, Clone, Copy)]
pub struct SlabParams {
    pub end_caps: EndCaps,
    /// Thickness (mm) given to a plane with no neighbour to take a spacing from (a
    /// structure with one plane, or an isolated plane whose structure has no regular
    /// spacing either).
    pub single_plane_thickness_mm: f64,
    /// A spacing larger than this factor times the larger neighbouring spacing is a gap
    /// (two lesions in one ROI): the planes on both sides get end caps.
    pub gap_factor: f64,
}

/// A structure's slabs plus its planes' edges (reused for rasterisation).
#[derive(Debug, Clone)]
pub(crate) struct SlabStack {
    pub slabs: Vec<Slab>,
    /// `edges[i]` belongs to `slabs[i]`.
    pub edges: Vec<PlaneEdges>,
    pub warnings: Vec<String>,
}

impl SlabStack {
    /// Contour volume in mm³ (exact for the slab model).
    pub fn volume_mm3(&self) -> f64 {
        self.slabs.iter().map(|s| s.area_mm2 * s.thickness()).sum()
    }
}

/// Build the slabs of `structure`. Planes with no enclosed area, non-finite z or
/// non-finite points are skipped with a warning naming ROI and plane.
pub(crate) fn build_slabs(structure: &Structure, params: &SlabParams) -> SlabStack {
    let mut warnings = Vec::new();
    let roi = |w: String| format!("ROI {} '{}': {w}", structure.roi_number, structure.name);
    // (plane index, z, edges, area) of usable planes.
    // Per plane: the edges and exact area, or why the plane is skipped. Planes are
    // independent, and a BODY has tens of thousands of vertices: in parallel.
    type Checked = (Option<(usize, f64, PlaneEdges, f64)>, Vec<String>);
    let checked: Vec<Checked> = structure
        .planes
        .par_iter()
        .enumerate()
        .map(|(i, plane)| {
            let mut w = Vec::new();
            if plane.polygons.is_empty() {
                return (None, w);
            }
            if !plane.z.is_finite() {
                w.push(roi(format!("plane {i} has a non-finite z; skipped")));
                return (None, w);
            }
            let finite: Vec<&Polygon> = plane
                .polygons
                .iter()
                .filter(|p| polygon_is_finite(p))
                .collect();
            let bad = plane.polygons.len() - finite.len();
            if bad > 0 {
                w.push(roi(format!(
                    "plane z={:.2} mm: {bad} polygon(s) with non-finite points skipped",
                    plane.z
                )));
            }
            let edges = plane_edges(&finite);
            let area = edges.as_ref().map_or(0.0, even_odd_area);
            match edges {
                Some(e) if area > 0.0 && area.is_finite() => (Some((i, plane.z, e, area)), w),
                _ => {
                    w.push(roi(format!(
                        "plane z={:.2} mm encloses no area; skipped",
                        plane.z
                    )));
                    (None, w)
                }
            }
        })
        .collect();
    let mut used: Vec<(usize, f64, PlaneEdges, f64)> = Vec::new();
    for (u, w) in checked {
        used.extend(u);
        warnings.extend(w);
    }
    // The model promises sorted planes; a reader bug must not break the slab model.
    used.sort_by(|a, b| a.1.total_cmp(&b.1));
    let before = used.len();
    used.dedup_by(|b, a| {
        // Keep the first plane of a duplicated z; merging polygons would change the
        // even-odd result, so a duplicate is reported rather than guessed at.
        b.1 == a.1
    });
    if used.len() < before {
        warnings.push(roi(format!(
            "{} plane(s) with a duplicated z skipped",
            before - used.len()
        )));
    }

    // Voxel slices (structures traced from masks) know their own thickness.
    let fixed = structure
        .slab_thickness_mm
        .filter(|t| t.is_finite() && *t > 0.0);
    if let Some(t) = fixed {
        let (slabs, edges) = used
            .into_iter()
            .map(|(plane_index, z, pe, area)| {
                let slab = Slab {
                    plane_index,
                    z,
                    z_lo: z - t / 2.0,
                    z_hi: z + t / 2.0,
                    area_mm2: area,
                };
                (slab, pe)
            })
            .unzip();
        return SlabStack {
            slabs,
            edges,
            warnings,
        };
    }

    let n = used.len();
    let z: Vec<f64> = used.iter().map(|u| u.1).collect();
    let d: Vec<f64> = z.windows(2).map(|w| w[1] - w[0]).collect();
    // is_gap[k]: spacing d[k] (between planes k and k+1) is a break in the structure.
    let is_gap: Vec<bool> = (0..d.len())
        .map(|k| {
            let prev = k.checked_sub(1).and_then(|j| d.get(j)).copied();
            let next = d.get(k + 1).copied();
            match (prev, next) {
                (None, None) => false,
                (p, q) => {
                    let local = p.unwrap_or(0.0).max(q.unwrap_or(0.0));
                    d[k] > params.gap_factor * local
                }
            }
        })
        .collect();
    // Typical spacing for isolated planes inside a multi-plane structure: the median of
    // the regular (non-gap) spacings.
    let mut regular: Vec<f64> = d
        .iter()
        .zip(&is_gap)
        .filter(|(_, g)| !**g)
        .map(|(s, _)| *s)
        .collect();
    regular.sort_by(f64::total_cmp);
    let isolated_thickness = regular
        .get(regular.len() / 2)
        .copied()
        .unwrap_or(params.single_plane_thickness_mm);
    if is_gap.iter().any(|g| *g) {
        warnings.push(roi(format!(
            "{} gap(s) in z larger than {}× the neighbouring contour spacing: treated as separate parts with end caps",
            is_gap.iter().filter(|g| **g).count(),
            params.gap_factor
        )));
    }

    let mut slabs = Vec::with_capacity(n);
    let mut edges = Vec::with_capacity(n);
    for (k, (plane_index, zk, pe, area)) in used.into_iter().enumerate() {
        // Spacing to the neighbour below/above inside the same part, if any.
        let below = k
            .checked_sub(1)
            .filter(|&j| !is_gap.get(j).copied().unwrap_or(true))
            .and_then(|j| d.get(j).copied());
        let above = if is_gap.get(k).copied().unwrap_or(true) {
            None
        } else {
            d.get(k).copied()
        };
        let (lo, hi) = match (below, above) {
            (Some(b), Some(a)) => (b / 2.0, a / 2.0),
            (None, None) => {
                let t = if n == 1 {
                    params.single_plane_thickness_mm
                } else {
                    isolated_thickness
                };
                (t / 2.0, t / 2.0)
            }
            (None, Some(a)) => match params.end_caps {
                EndCaps::HalfSlab => (a / 2.0, a / 2.0),
                EndCaps::Flat => (0.0, a / 2.0),
            },
            (Some(b), None) => match params.end_caps {
                EndCaps::HalfSlab => (b / 2.0, b / 2.0),
                EndCaps::Flat => (b / 2.0, 0.0),
            },
        };
        slabs.push(Slab {
            plane_index,
            z: zk,
            z_lo: zk - lo,
            z_hi: zk + hi,
            area_mm2: area,
        });
        edges.push(pe);
    }
    SlabStack {
        slabs,
        edges,
        warnings,
    }
}
