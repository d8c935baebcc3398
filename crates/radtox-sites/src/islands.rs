//! Isodose islands: connected components of dose-grid voxels at or above a level, and
//! their attribution to lesions.
//!
//! Topology is decided on the dose grid itself (26-neighbourhood of voxels with dose ≥
//! level); volumes come from partial-volume samples of a region (Brain, External, or
//! the grid's voxels). Each sample at or above the level belongs to the island of the
//! hottest voxel among the corners of its trilinear interpolation cell: a trilinear
//! value is a convex combination of those corners, so that corner is at or above the
//! level too and always has an island. The island volumes therefore add up to the
//! region's isodose volume from the same samples, and do not depend on the grid's
//! voxel boundaries.

use radtox_dose::voxel_extents;
use radtox_geometry::Occupancy;
use radtox_model::DoseGrid;

/// One dose sample with the trilinear cell it was interpolated in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GridSample {
    pub pos: [f64; 3],
    pub dose: f32,
    pub weight_cc: f32,
    /// Lower corner voxel `[ix, iy, iz]` of the trilinear cell.
    base: [u32; 3],
    /// Whether the upper corner along each axis takes part (its weight is non-zero).
    step: [bool; 3],
}

/// Cell index and fraction of `p` along a strictly increasing axis (as the model's
/// interpolation does); `None` outside the span of the voxel centres.
fn locate(v: &[f64], p: f64) -> Option<(usize, f64)> {
    let n = v.len();
    let eps = 1e-6;
    let (first, last) = (*v.first()?, *v.last()?);
    if n == 1 {
        return ((p - first).abs() <= eps).then_some((0, 0.0));
    }
    if p.is_nan() || p < first - eps || p > last + eps {
        return None;
    }
    let i = v.partition_point(|&a| a <= p).saturating_sub(1).min(n - 2);
    let (a, b) = (v.get(i)?, v.get(i + 1)?);
    Some((i, ((p - a) / (b - a)).clamp(0.0, 1.0)))
}

fn grid_sample(grid: &DoseGrid, pos: [f64; 3], weight_cc: f32) -> Option<GridSample> {
    let (ix, tx) = locate(&grid.x, pos[0])?;
    let (iy, ty) = locate(&grid.y, pos[1])?;
    let (iz, tz) = locate(&grid.z, pos[2])?;
    let dose = grid.interpolate(pos)?;
    Some(GridSample {
        pos,
        dose,
        weight_cc,
        base: [ix as u32, iy as u32, iz as u32],
        step: [tx > 0.0, ty > 0.0, tz > 0.0],
    })
}

/// Samples of an occupancy: one per occupied cell (centre, fraction × cell volume);
/// cells whose centre lies outside the dose grid's box are dropped, as in
/// `radtox_geometry::sample_dose`. Only samples with dose ≥ `min_dose` are kept: a
/// region needs none below the lowest level it is attributed at, and a body-sized region
/// would otherwise hold millions of samples.
pub(crate) fn occupancy_samples(
    occ: &Occupancy,
    grid: &DoseGrid,
    min_dose: f32,
) -> Vec<GridSample> {
    let l = occ.lattice();
    let cell = l.cell_volume_cc();
    occ.cells()
        .filter_map(|([iz, iy, ix], f)| {
            grid_sample(grid, l.cell_centre(iz, iy, ix), (f as f64 * cell) as f32)
        })
        .filter(|s| s.dose >= min_dose)
        .collect()
}

/// Every voxel of the grid as a whole-voxel sample (the region when no structure
/// delimits it); voxel extents as in `radtox_dose::isodose_volume_cc`.
/// Voxels with dose below `min_dose` are left out (see [`occupancy_samples`]).
pub(crate) fn voxel_samples(grid: &DoseGrid, min_dose: f32) -> Vec<GridSample> {
    let (ex, ey, ez) = (
        voxel_extents(&grid.x),
        voxel_extents(&grid.y),
        voxel_extents(&grid.z),
    );
    let mut out = Vec::with_capacity(grid.dose.len());
    for ((iz, iy, ix), &d) in grid.dose.indexed_iter() {
        let (Some(x), Some(y), Some(z)) = (grid.x.get(ix), grid.y.get(iy), grid.z.get(iz)) else {
            continue;
        };
        let w = ex.get(ix).copied().unwrap_or(0.0)
            * ey.get(iy).copied().unwrap_or(0.0)
            * ez.get(iz).copied().unwrap_or(0.0)
            / 1000.0;
        if w > 0.0 && d >= min_dose {
            out.push(GridSample {
                pos: [*x, *y, *z],
                dose: d,
                weight_cc: w as f32,
                base: [ix as u32, iy as u32, iz as u32],
                step: [false; 3],
            });
        }
    }
    out
}

/// Island labels of the grid's voxels at one level.
pub(crate) struct Islands {
    level: f32,
    /// Per voxel in `[iz, iy, ix]` C order: 0 below the level, else island id + 1.
    labels: Vec<u32>,
    pub count: usize,
}

impl Islands {
    /// Connected components (26-neighbourhood) of the voxels with dose ≥ `level`.
    pub fn label(grid: &DoseGrid, level: f64) -> Islands {
        let [nz, ny, nx] = grid.dims();
        let level32 = level as f32;
        let dose: Vec<f32> = grid.dose.iter().copied().collect();
        let mut labels = vec![0u32; dose.len()];
        let mut count = 0usize;
        let mut stack = Vec::new();
        for start in 0..dose.len() {
            if labels.get(start) != Some(&0) || !dose.get(start).is_some_and(|&d| d >= level32) {
                continue;
            }
            count += 1;
            let id = count as u32;
            if let Some(l) = labels.get_mut(start) {
                *l = id;
            }
            stack.push(start);
            while let Some(v) = stack.pop() {
                let (iz, rem) = (v / (ny * nx), v % (ny * nx));
                let (iy, ix) = (rem / nx, rem % nx);
                for dz in -1i64..=1 {
                    for dy in -1i64..=1 {
                        for dx in -1i64..=1 {
                            let (z, y, x) = (iz as i64 + dz, iy as i64 + dy, ix as i64 + dx);
                            if z < 0
                                || y < 0
                                || x < 0
                                || z >= nz as i64
                                || y >= ny as i64
                                || x >= nx as i64
                            {
                                continue;
                            }
                            let w = (z as usize * ny + y as usize) * nx + x as usize;
                            let hot = dose.get(w).is_some_and(|&d| d >= level32);
                            if let Some(l) = labels.get_mut(w)
                                && *l == 0
                                && hot
                            {
                                *l = id;
                                stack.push(w);
                            }
                        }
                    }
                }
            }
        }
        Islands {
            level: level32,
            labels,
            count,
        }
    }

    /// Island (0-based) a sample at or above the level belongs to: that of the hottest
    /// corner of its trilinear cell. `None` below the level.
    pub fn island_of(&self, grid: &DoseGrid, s: &GridSample) -> Option<usize> {
        if s.dose.is_nan() || s.dose < self.level {
            return None;
        }
        let [_, ny, nx] = grid.dims();
        let mut best: Option<(f32, usize)> = None;
        for cz in 0..=s.step[2] as u32 {
            for cy in 0..=s.step[1] as u32 {
                for cx in 0..=s.step[0] as u32 {
                    let (x, y, z) = (
                        (s.base[0] + cx) as usize,
                        (s.base[1] + cy) as usize,
                        (s.base[2] + cz) as usize,
                    );
                    let Some(&d) = grid.dose.get([z, y, x]) else {
                        continue;
                    };
                    if best.is_none_or(|(bd, _)| d > bd) {
                        best = Some((d, (z * ny + y) * nx + x));
                    }
                }
            }
        }
        let (_, v) = best?;
        match self.labels.get(v) {
            Some(&l) if l > 0 => Some(l as usize - 1),
            // Rounding can put an interpolated value a hair above every corner.
            _ => None,
        }
    }
}

/// One sample per distinct trilinear cell (same corners), carrying the cell's hottest
/// sample dose. Island ownership only asks whether some sample of a cell reaches the
/// level, and every sample of a cell goes to the same corner's island, so these
/// representatives give the same owners as all samples at a fraction of the cost (a
/// refined lesion has ~10⁵ samples in a few hundred dose cells).
pub(crate) fn cell_representatives(samples: &[GridSample]) -> Vec<GridSample> {
    let mut by_cell: std::collections::HashMap<([u32; 3], [bool; 3]), GridSample> =
        std::collections::HashMap::new();
    for s in samples {
        by_cell
            .entry((s.base, s.step))
            .and_modify(|r| {
                if s.dose > r.dose {
                    *r = *s;
                }
            })
            .or_insert(*s);
    }
    by_cell.into_values().collect()
}

/// What the attribution needs of a lesion.
pub(crate) struct LesionShape<'a> {
    /// The lesion's samples, or their [`cell_representatives`].
    pub samples: &'a [GridSample],
    pub centroid: [f64; 3],
    /// Radius of the sphere of the lesion's volume: the distance to a lesion's
    /// "surface" is approximated as distance to centroid − this radius.
    pub equivalent_radius_mm: f64,
}

/// Isodose volume attributed to each lesion at one level.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attribution {
    pub per_lesion_cc: Vec<f64>,
    /// The lesion's island also contains another lesion (its volume was split).
    pub merged: Vec<bool>,
    /// Isodose volume of the region in islands that contain no lesion.
    pub unattributed_cc: f64,
    pub island_count: usize,
}

/// Attribute the region's isodose volume at `level` to lesions: each island goes to
/// the lesion(s) it contains (a lesion contains an island when any of its own samples
/// at or above the level belongs to it); an island holding several lesions is split
/// sample by sample by the nearest lesion surface (equivalent-sphere distance).
pub(crate) fn attribute(
    grid: &DoseGrid,
    level: f64,
    region: &[GridSample],
    lesions: &[LesionShape<'_>],
) -> Attribution {
    let islands = Islands::label(grid, level);
    let mut owners: Vec<Vec<usize>> = vec![Vec::new(); islands.count];
    for (k, l) in lesions.iter().enumerate() {
        for s in l.samples {
            if let Some(i) = islands.island_of(grid, s)
                && let Some(o) = owners.get_mut(i)
                && !o.contains(&k)
            {
                o.push(k);
            }
        }
    }
    let mut out = Attribution {
        per_lesion_cc: vec![0.0; lesions.len()],
        merged: vec![false; lesions.len()],
        unattributed_cc: 0.0,
        island_count: islands.count,
    };
    for o in &owners {
        if o.len() > 1 {
            for &k in o {
                if let Some(m) = out.merged.get_mut(k) {
                    *m = true;
                }
            }
        }
    }
    for s in region {
        let Some(i) = islands.island_of(grid, s) else {
            continue;
        };
        let w = s.weight_cc as f64;
        let owner = match owners.get(i).map(Vec::as_slice) {
            None | Some([]) => None,
            Some([k]) => Some(*k),
            Some(many) => many.iter().copied().min_by(|&a, &b| {
                surface_distance(&lesions[a], s.pos)
                    .total_cmp(&surface_distance(&lesions[b], s.pos))
            }),
        };
        match owner.and_then(|k| out.per_lesion_cc.get_mut(k)) {
            Some(v) => *v += w,
            None => out.unattributed_cc += w,
        }
    }
    out
}

fn surface_distance(l: &LesionShape<'_>, p: [f64; 3]) -> f64 {
    let d2: f64 = (0..3).map(|a| (p[a] - l.centroid[a]).powi(2)).sum();
    d2.sqrt() - l.equivalent_radius_mm
}

/// Volume-weighted centroid of samples (`None` when empty).
pub(crate) fn centroid(samples: &[GridSample]) -> Option<[f64; 3]> {
    let w: f64 = samples.iter().map(|s| s.weight_cc as f64).sum();
    if w.is_nan() || w <= 0.0 {
        return None;
    }
    let mut c = [0.0; 3];
    for s in samples {
        for (ca, pa) in c.iter_mut().zip(s.pos) {
            *ca += pa * s.weight_cc as f64;
        }
    }
    Some(c.map(|v| v / w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn grid(dose: Array3<f32>) -> DoseGrid {
        let [nz, ny, nx] = [dose.shape()[0], dose.shape()[1], dose.shape()[2]];
        let ax = |n: usize| (0..n).map(|i| i as f64).collect::<Vec<f64>>();
        DoseGrid::new(ax(nx), ax(ny), ax(nz), dose).unwrap()
    }

    #[test]
    fn corner_neighbours_connect_in_26_neighbourhood() {
        let mut d = Array3::zeros((4, 4, 4));
        d[[0, 0, 0]] = 5.0;
        d[[1, 1, 1]] = 5.0; // touches the first by a corner only
        d[[3, 3, 3]] = 5.0; // two voxels away: separate
        let g = grid(d);
        assert_eq!(Islands::label(&g, 1.0).count, 2);
        assert_eq!(Islands::label(&g, 6.0).count, 0);
    }

    #[test]
    fn interpolated_sample_joins_hottest_corner_island() {
        let mut d = Array3::zeros((3, 3, 3));
        d[[1, 1, 0]] = 10.0;
        d[[1, 1, 2]] = 8.0;
        let g = grid(d);
        let isl = Islands::label(&g, 2.0);
        assert_eq!(isl.count, 2);
        // x = 0.5 between the 10 Gy voxel and the 0 Gy centre: 5 Gy, island of x = 0.
        let s = grid_sample(&g, [0.5, 1.0, 1.0], 1.0).unwrap();
        assert!((s.dose - 5.0).abs() < 1e-6);
        let a = isl.island_of(&g, &s).unwrap();
        let s0 = grid_sample(&g, [0.0, 1.0, 1.0], 1.0).unwrap();
        assert_eq!(isl.island_of(&g, &s0), Some(a));
        let s2 = grid_sample(&g, [1.75, 1.0, 1.0], 1.0).unwrap();
        assert_ne!(isl.island_of(&g, &s2), Some(a));
        // Below the level: no island.
        let cold = grid_sample(&g, [1.0, 0.0, 0.0], 1.0).unwrap();
        assert_eq!(isl.island_of(&g, &cold), None);
        // Outside the grid: no sample.
        assert!(grid_sample(&g, [-0.5, 1.0, 1.0], 1.0).is_none());
    }

    #[test]
    fn voxel_samples_cover_the_grid_volume() {
        let g = grid(Array3::from_elem((3, 4, 5), 1.0));
        // Extents: end voxels extend half a spacing out: 5 × 4 × 3 mm³.
        let v: f64 = voxel_samples(&g, f32::NEG_INFINITY)
            .iter()
            .map(|s| s.weight_cc as f64)
            .sum();
        assert!((v - 0.06).abs() < 1e-7); // f32 weights
    }
}
