//! Whole-grid quantities: isodose volumes and the grid's own DVH, the fallback reference
//! for CI and GI when no external contour exists.

use crate::{Domain, Dvh};
use radtox_model::DoseGrid;
use rayon::prelude::*;

/// Extent (mm) of each voxel along an axis of voxel-centre positions: the cell between
/// the midpoints to its neighbours, the end cells extending half a spacing outwards
/// (the usual voxel picture, valid for non-uniform spacing too). A single-position
/// axis has no thickness: its extent is 0.
pub fn voxel_extents(axis: &[f64]) -> Vec<f64> {
    let n = axis.len();
    (0..n)
        .map(|i| {
            let lo = if i == 0 { None } else { axis.get(i - 1) };
            let hi = axis.get(i + 1);
            let here = axis.get(i).copied().unwrap_or(0.0);
            match (lo, hi) {
                (Some(a), Some(b)) => 0.5 * (b - a),
                (None, Some(b)) => b - here,
                (Some(a), None) => here - a,
                (None, None) => 0.0,
            }
        })
        .collect()
}

/// Voxel volumes of each z plane row: per-plane factor (cc per mm² of in-plane area) and
/// the in-plane extents, shared by the functions below.
struct Cells {
    dx: Vec<f64>,
    dy: Vec<f64>,
    dz: Vec<f64>,
}

impl Cells {
    fn of(grid: &DoseGrid) -> Cells {
        Cells {
            dx: voxel_extents(&grid.x),
            dy: voxel_extents(&grid.y),
            dz: voxel_extents(&grid.z),
        }
    }

    #[inline]
    fn volume_cc(&self, iz: usize, iy: usize, ix: usize) -> f64 {
        let g = |v: &Vec<f64>, i: usize| v.get(i).copied().unwrap_or(0.0);
        g(&self.dx, ix) * g(&self.dy, iy) * g(&self.dz, iz) / 1000.0
    }
}

/// Volume (cc) of the voxels of the whole grid with dose ≥ `level_gy`, each voxel
/// counted whole (no partial volumes: the grid has no contour). Parallel over z planes.
/// A NaN level gives 0.
pub fn isodose_volume_cc(grid: &DoseGrid, level_gy: f64) -> f64 {
    let cells = Cells::of(grid);
    let planes: Vec<_> = grid.dose.outer_iter().collect();
    planes
        .par_iter()
        .enumerate()
        .map(|(iz, plane)| {
            plane
                .indexed_iter()
                .filter(|(_, d)| **d as f64 >= level_gy)
                .map(|((iy, ix), _)| cells.volume_cc(iz, iy, ix))
                .sum::<f64>()
        })
        .sum()
}

impl Dvh {
    /// DVH of the whole dose grid, one sample per voxel with its voxel volume: the
    /// reference for CI and GI when the plan has no external contour. Non-finite doses
    /// are left out and counted in [`Dvh::rejected_samples`].
    pub fn from_grid(grid: &DoseGrid) -> Dvh {
        let cells = Cells::of(grid);
        let planes: Vec<_> = grid.dose.outer_iter().collect();
        let per_plane: Vec<(Vec<f32>, Vec<f32>)> = planes
            .par_iter()
            .enumerate()
            .map(|(iz, plane)| {
                plane
                    .indexed_iter()
                    .map(|((iy, ix), &d)| (d, cells.volume_cc(iz, iy, ix) as f32))
                    .unzip()
            })
            .collect();
        let dose: Vec<f32> = per_plane.iter().flat_map(|p| p.0.iter().copied()).collect();
        let weight: Vec<f32> = per_plane.iter().flat_map(|p| p.1.iter().copied()).collect();
        Dvh::from_samples_in(&dose, &weight, Domain::Physical)
    }
}
