//! Isotropic margins (expansion, contraction) of occupancies by a Euclidean distance
//! transform on the occupancy's lattice.
//!
//! Method: the occupancy is binarised at fraction ½, the exact Euclidean distance
//! transform of the mask and of its complement (Felzenszwalb & Huttenlocher's separable
//! lower-envelope algorithm, with the lattice's anisotropic spacing, carrying the index
//! of the nearest centre) gives each cell centre its nearest centre on the other side.
//! The signed distance to the surface is that distance minus how far the surface lies
//! beyond the nearest centre, estimated from its partial volume (f = ½ + depth/h, h the
//! geometric mean of the spacings): the sub-cell information of the fractions is kept.
//! The margin's surface is φ = +m (expansion) or φ = −m (contraction); a cell's new
//! fraction is the partial-volume ramp ½ − (φ ∓ m)/h, clamped to [0, 1].
//!
//! Accuracy (tests, cylinder R 10 mm × H 20 mm, whose slab model is exact, default
//! lattice ≈ 0.5 mm): grown by 1–5 mm within 0.2 % of the Steiner volume, shrunk within
//! 1.5 % (0.07 mm of surface offset), converging with finer cells. The margin applies to
//! the slab model: for a sphere contoured every Δ the dilation follows the outer
//! corners of the staircase and comes out larger by about Δ/6 of surface offset.
//! Memory: two dense `f32` and two `u32` arrays of the (padded) lattice.

use crate::error::GeometryError;
use crate::lattice::Lattice;
use crate::occupancy::{Occupancy, concat_parts, emit_runs};
use ndarray::{Array3, Axis};
use rayon::prelude::*;

impl Occupancy {
    /// The structure grown by `mm` in every direction. The lattice is extended (by whole
    /// cells, so cell positions are unchanged) to hold the grown structure.
    pub fn expand(&self, mm: f64) -> Result<Occupancy, GeometryError> {
        check_margin(&self.name, mm)?;
        let l = self.lattice();
        let pad = [0usize, 1, 2].map(|a| (mm / l.spacing[a]).ceil() as usize + 1);
        let padded = self.padded(pad)?;
        let mut o = margin(&padded, mm)?;
        o.name = format!("{} + {mm} mm", self.name);
        Ok(o)
    }

    /// The structure shrunk by `mm` in every direction (same lattice).
    pub fn contract(&self, mm: f64) -> Result<Occupancy, GeometryError> {
        check_margin(&self.name, mm)?;
        // Cells beyond the lattice count as outside: pad by one cell so that a structure
        // touching the lattice's faces shrinks away from them too.
        let padded = self.padded([1, 1, 1])?;
        let shrunk = margin(&padded, -mm)?;
        let mut o = shrunk.cropped(self.lattice().clone(), [1, 1, 1]);
        o.name = format!("{} − {mm} mm", self.name);
        o.warnings = self.warnings.clone();
        Ok(o)
    }

    /// The same occupancy on a lattice extended by `pad[a]` cells on both sides of axis
    /// `a` (0 = x, 1 = y, 2 = z).
    pub fn padded(&self, pad: [usize; 3]) -> Result<Occupancy, GeometryError> {
        let l = self.lattice();
        let lattice = Lattice::new(
            [0, 1, 2].map(|a| l.origin[a] - pad[a] as f64 * l.spacing[a]),
            l.spacing,
            [
                l.dims[0] + 2 * pad[2],
                l.dims[1] + 2 * pad[1],
                l.dims[2] + 2 * pad[0],
            ],
        )?;
        let (runs, fractions) = self.shifted_runs([pad[2], pad[1], pad[0]]);
        let mut o = Occupancy::from_parts(lattice, runs, fractions, self.name.clone());
        o.roi_number = self.roi_number;
        o.contour_volume_cc = None;
        o.warnings = self.warnings.clone();
        Ok(o)
    }

    /// Cells of `self` on `lattice`, whose cell (0,0,0) is cell `offset` (iz, iy, ix)
    /// of `self`'s lattice; cells outside `lattice` are dropped.
    fn cropped(&self, lattice: Lattice, offset: [usize; 3]) -> Occupancy {
        let [nz, ny, nx] = lattice.dims;
        let mut runs = Vec::new();
        let mut fractions = Vec::new();
        let mut row = Vec::new();
        for r in self.runs() {
            let (iz, iy) = (r.iz as usize, r.iy as usize);
            let (Some(z), Some(y)) = (iz.checked_sub(offset[0]), iy.checked_sub(offset[1])) else {
                continue;
            };
            if z >= nz || y >= ny {
                continue;
            }
            let src = self
                .fractions()
                .get(r.offset..r.offset + r.len as usize)
                .unwrap_or(&[]);
            row.clear();
            let mut first = None;
            for (k, &f) in src.iter().enumerate() {
                let x = (r.ix0 as usize + k).checked_sub(offset[2]);
                if let Some(x) = x.filter(|&x| x < nx) {
                    first.get_or_insert(x);
                    row.push(f);
                }
            }
            if let Some(x0) = first {
                emit_runs(
                    z as u32,
                    y as u32,
                    x0 as u32,
                    &row,
                    &mut runs,
                    &mut fractions,
                );
            }
        }
        Occupancy::from_parts(lattice, runs, fractions, self.name.clone())
    }
}

fn check_margin(name: &str, mm: f64) -> Result<(), GeometryError> {
    if mm.is_finite() && mm >= 0.0 {
        Ok(())
    } else {
        Err(GeometryError::InvalidMargin {
            structure: name.to_string(),
            mm,
        })
    }
}

/// Signed margin: `m > 0` grows, `m < 0` shrinks, on the occupancy's own lattice.
fn margin(occ: &Occupancy, m: f64) -> Result<Occupancy, GeometryError> {
    let l = occ.lattice().clone();
    let dense = occ.to_dense();
    let frac = dense.as_slice().unwrap_or(&[]);
    let inside = dense.mapv(|f| f >= 0.5);
    // Distance from each centre to the nearest inside centre (and which one), and to
    // the nearest outside centre.
    let (d_out, f_out) = squared_edt(&inside, true, l.spacing);
    let (d_in, f_in) = squared_edt(&inside, false, l.spacing);
    let h = (l.spacing[0] * l.spacing[1] * l.spacing[2]).cbrt();
    // How far the surface lies beyond a boundary centre, from its partial volume (the
    // 1-D ramp f = ½ + depth/h): this is what keeps the sub-cell information that the
    // binarisation dropped.
    let depth_in = |i: u32| {
        frac.get(i as usize)
            .map_or(0.0, |&f| (f as f64 - 0.5).clamp(0.0, 0.5) * h)
    };
    let depth_out = |i: u32| {
        frac.get(i as usize)
            .map_or(0.0, |&f| (0.5 - f as f64).clamp(0.0, 0.5) * h)
    };
    let [nz, ny, nx] = l.dims;
    let parts: Vec<_> = (0..nz)
        .into_par_iter()
        .map(|iz| {
            let mut runs = Vec::new();
            let mut fr = Vec::new();
            let mut row = vec![0f32; nx];
            for iy in 0..ny {
                for (ix, v) in row.iter_mut().enumerate() {
                    let idx = [iz, iy, ix];
                    let is_in = inside.get(idx).copied().unwrap_or(false);
                    // Signed distance to the surface, negative inside.
                    let phi = if is_in {
                        let d = d_in.get(idx).map_or(f64::INFINITY, |d| (*d as f64).sqrt());
                        -(d - f_in.get(idx).map_or(0.0, |&p| depth_out(p)))
                    } else {
                        let d = d_out.get(idx).map_or(f64::INFINITY, |d| (*d as f64).sqrt());
                        d - f_out.get(idx).map_or(0.0, |&p| depth_in(p))
                    };
                    *v = if phi.is_finite() {
                        (0.5 - (phi - m) / h).clamp(0.0, 1.0) as f32
                    } else if phi < 0.0 {
                        1.0 // no outside cell at all
                    } else {
                        0.0 // no inside cell at all
                    };
                }
                emit_runs(iz as u32, iy as u32, 0, &row, &mut runs, &mut fr);
            }
            (runs, fr)
        })
        .collect();
    let mut runs = Vec::new();
    let mut fractions = Vec::new();
    concat_parts(parts, &mut runs, &mut fractions);
    let mut o = Occupancy::from_parts(l, runs, fractions, occ.name.clone());
    o.roi_number = occ.roi_number;
    o.warnings = occ.warnings.clone();
    Ok(o)
}

/// Squared Euclidean distance (mm²) from every cell centre to the nearest centre where
/// `mask == target` (`f32::INFINITY` when there is none), and the C-order linear index
/// of that nearest centre.
fn squared_edt(mask: &Array3<bool>, target: bool, spacing: [f64; 3]) -> (Array3<f32>, Array3<u32>) {
    let mut d = mask.mapv(|m| if m == target { 0.0f32 } else { f32::INFINITY });
    let mut feat = Array3::from_shape_fn(mask.raw_dim(), |(z, y, x)| {
        let s = mask.shape();
        ((z * s[1] + y) * s[2] + x) as u32
    });
    // Axis 2 is x (spacing[0]), axis 1 is y, axis 0 is z.
    for (axis, s) in [(2usize, spacing[0]), (1, spacing[1]), (0, spacing[2])] {
        let n = d.len_of(Axis(axis));
        let lanes: Vec<_> = d
            .lanes_mut(Axis(axis))
            .into_iter()
            .zip(feat.lanes_mut(Axis(axis)))
            .collect();
        lanes.into_par_iter().for_each_init(
            || {
                (
                    vec![0f32; n],
                    vec![0u32; n],
                    vec![0f32; n],
                    vec![0usize; n],
                    vec![0usize; n],
                    vec![0f64; n + 1],
                )
            },
            |(f, fi, out, arg, v, z), (mut lane, mut flane)| {
                for (a, b) in f.iter_mut().zip(lane.iter()) {
                    *a = *b;
                }
                for (a, b) in fi.iter_mut().zip(flane.iter()) {
                    *a = *b;
                }
                edt_1d(f, s, out, arg, v, z);
                for (a, b) in lane.iter_mut().zip(out.iter()) {
                    *a = *b;
                }
                for (a, &p) in flane.iter_mut().zip(arg.iter()) {
                    *a = fi.get(p).copied().unwrap_or(*a);
                }
            },
        );
    }
    (d, feat)
}

/// One-dimensional squared distance transform of sampled function `f` on points
/// `i·s` (Felzenszwalb & Huttenlocher 2012): `out[q] = min_p f[p] + ((q − p)s)²`, and
/// `arg[q]` the minimising `p`.
fn edt_1d(f: &[f32], s: f64, out: &mut [f32], arg: &mut [usize], v: &mut [usize], z: &mut [f64]) {
    let pos = |i: usize| i as f64 * s;
    let mut k: usize = 0;
    let mut any = false;
    for (q, &fq) in f.iter().enumerate() {
        let fq = fq as f64;
        if !fq.is_finite() {
            continue;
        }
        if !any {
            any = true;
            v[0] = q;
            z[0] = f64::NEG_INFINITY;
            z[1] = f64::INFINITY;
            continue;
        }
        // z[0] = −∞, so the loop stops at k = 0 at the latest.
        loop {
            let p = v[k];
            let fp = f[p] as f64;
            let sct = ((fq + pos(q) * pos(q)) - (fp + pos(p) * pos(p))) / (2.0 * (pos(q) - pos(p)));
            if sct <= z[k] {
                k -= 1;
                continue;
            }
            k += 1;
            v[k] = q;
            z[k] = sct;
            z[k + 1] = f64::INFINITY;
            break;
        }
    }
    if !any {
        out.fill(f32::INFINITY);
        arg.iter_mut().enumerate().for_each(|(i, a)| *a = i);
        return;
    }
    let mut j = 0;
    for (q, (o, a)) in out.iter_mut().zip(arg.iter_mut()).enumerate() {
        while z[j + 1] < pos(q) {
            j += 1;
        }
        let p = v[j];
        let dq = pos(q) - pos(p);
        *o = (f[p] as f64 + dq * dq) as f32;
        *a = p;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edt_1d_against_brute_force() {
        let f = [
            f32::INFINITY,
            0.0,
            f32::INFINITY,
            f32::INFINITY,
            4.0,
            f32::INFINITY,
            0.0,
            f32::INFINITY,
        ];
        let n = f.len();
        let (mut out, mut arg, mut v, mut z) = (
            vec![0f32; n],
            vec![0usize; n],
            vec![0usize; n],
            vec![0f64; n + 1],
        );
        edt_1d(&f, 1.5, &mut out, &mut arg, &mut v, &mut z);
        for q in 0..n {
            let want = (0..n)
                .map(|p| f[p] as f64 + ((q as f64 - p as f64) * 1.5).powi(2))
                .fold(f64::INFINITY, f64::min);
            assert!(
                (out[q] as f64 - want).abs() < 1e-4,
                "q {q}: {} vs {want}",
                out[q]
            );
            let p = arg[q];
            assert!((f[p] as f64 + ((q as f64 - p as f64) * 1.5).powi(2) - want).abs() < 1e-4);
        }
        let none = [f32::INFINITY; 4];
        let mut out = vec![0f32; 4];
        edt_1d(&none, 1.0, &mut out, &mut arg, &mut v, &mut z);
        assert!(out.iter().all(|o| o.is_infinite()));
    }
}
