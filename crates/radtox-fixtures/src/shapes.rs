//! Analytic structures and their planar contours.
//!
//! Every shape is bounded along z by planes and has, at each z, a cross-section made of
//! ellipses or rectangles, so its contours are exact polygons of known area and its
//! volume and membership are known in closed form.

use radtox_model::{ContourPlane, Polygon, Structure};
use std::f64::consts::PI;

use crate::text::ds_round;

/// Decimal places written for contour coordinates (0.1 µm): far below any contouring
/// precision, yet a point like `-123.4567` stays short, which keeps RT Struct files small.
pub const CONTOUR_DECIMALS: usize = 4;

/// A solid in patient coordinates (LPS, mm). All axes of revolution are parallel to z,
/// the axis perpendicular to axial contour planes.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Sphere {
        centre: [f64; 3],
        radius: f64,
    },
    Ellipsoid {
        centre: [f64; 3],
        radii: [f64; 3],
    },
    /// An elliptic cylinder along z, `centre` at mid-length.
    Cylinder {
        centre: [f64; 3],
        radii: [f64; 2],
        length: f64,
    },
    /// A circular cone along z: full `base_radius` at `base_centre`, apex at
    /// `base_centre.z + height` (a negative height points the apex down).
    Cone {
        base_centre: [f64; 3],
        base_radius: f64,
        height: f64,
    },
    /// An axis-aligned box.
    Box {
        min: [f64; 3],
        max: [f64; 3],
    },
    /// `outer` minus `inner` (a ring or hollow organ wall). `inner` must lie inside
    /// `outer`; on planes that cut both, both outlines are written on the same plane and
    /// the even-odd rule makes the inner one a hole.
    Shell {
        outer: Box<Shape>,
        inner: Box<Shape>,
    },
    /// Several disjoint solids in one ROI (e.g. two vertebrae). Members must not overlap,
    /// since overlapping outlines on one plane would cancel under the even-odd rule.
    Union(Vec<Shape>),
}

/// How a shape is cut into contours.
#[derive(Debug, Clone, PartialEq)]
pub struct ContourSpec {
    /// Distance between contour planes (mm), like the CT slice spacing.
    pub spacing_mm: f64,
    /// Planes lie at `z_offset_mm + k · spacing_mm` for integer k. Choose it so planes
    /// fall mid-slab relative to a shape's flat ends when a test needs the slab volume
    /// (Σ area × spacing) to equal the analytic volume.
    pub z_offset_mm: f64,
    /// Vertices of each ellipse (a regular polygon inscribed in it, first vertex on +x).
    pub vertices_per_circle: usize,
}

impl Default for ContourSpec {
    fn default() -> Self {
        ContourSpec {
            spacing_mm: 2.0,
            z_offset_mm: 0.0,
            vertices_per_circle: 64,
        }
    }
}

/// One ROI of a phantom: a shape with its identity in the RT Structure Set.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeSpec {
    /// ROINumber (3006,0022).
    pub roi_number: i32,
    /// ROIName (3006,0026), clinical style, possibly messy on purpose.
    pub name: String,
    /// RTROIInterpretedType (3006,00A4): EXTERNAL, ORGAN, GTV, PTV, AVOIDANCE, ...
    pub interpreted_type: String,
    /// ROIDisplayColor (3006,002A).
    pub color: [u8; 3],
    pub shape: Shape,
    pub contour: ContourSpec,
}

/// An ellipse as a counter-clockwise inscribed polygon of `n` vertices.
fn ellipse(c: [f64; 2], rx: f64, ry: f64, n: usize) -> Vec<[f64; 2]> {
    (0..n)
        .map(|k| {
            let t = 2.0 * PI * k as f64 / n as f64;
            [c[0] + rx * t.cos(), c[1] + ry * t.sin()]
        })
        .collect()
}

/// Cross-sections smaller than this (mm) are skipped: a plane grazing a pole would give a
/// degenerate polygon.
const MIN_SIZE: f64 = 1e-3;
/// Planes this close to a flat end (mm) are treated as outside, so no plane lies exactly
/// on a face (where "inside" is ambiguous).
const END_EPS: f64 = 1e-9;

impl Shape {
    /// Polygons of the cross-section at plane `z` (counter-clockwise outlines, clockwise
    /// holes), empty when the plane misses the shape.
    pub fn cross_section(&self, z: f64, n: usize) -> Vec<Vec<[f64; 2]>> {
        match self {
            Shape::Sphere { centre, radius } => {
                let dz = z - centre[2];
                let r2 = radius * radius - dz * dz;
                if r2 <= 0.0 || r2.sqrt() < MIN_SIZE {
                    return vec![];
                }
                let r = r2.sqrt();
                vec![ellipse([centre[0], centre[1]], r, r, n)]
            }
            Shape::Ellipsoid { centre, radii } => {
                let u = (z - centre[2]) / radii[2];
                let t = 1.0 - u * u;
                if t <= 0.0 {
                    return vec![];
                }
                let s = t.sqrt();
                if radii[0].min(radii[1]) * s < MIN_SIZE {
                    return vec![];
                }
                vec![ellipse(
                    [centre[0], centre[1]],
                    radii[0] * s,
                    radii[1] * s,
                    n,
                )]
            }
            Shape::Cylinder {
                centre,
                radii,
                length,
            } => {
                if (z - centre[2]).abs() >= length / 2.0 - END_EPS {
                    return vec![];
                }
                vec![ellipse([centre[0], centre[1]], radii[0], radii[1], n)]
            }
            Shape::Cone {
                base_centre,
                base_radius,
                height,
            } => {
                let t = (z - base_centre[2]) / height;
                if t <= END_EPS / height.abs() || t >= 1.0 {
                    return vec![];
                }
                let r = base_radius * (1.0 - t);
                if r < MIN_SIZE {
                    return vec![];
                }
                vec![ellipse([base_centre[0], base_centre[1]], r, r, n)]
            }
            Shape::Box { min, max } => {
                if z <= min[2] + END_EPS || z >= max[2] - END_EPS {
                    return vec![];
                }
                vec![vec![
                    [min[0], min[1]],
                    [max[0], min[1]],
                    [max[0], max[1]],
                    [min[0], max[1]],
                ]]
            }
            Shape::Shell { outer, inner } => {
                let mut polys = outer.cross_section(z, n);
                for mut hole in inner.cross_section(z, n) {
                    hole.reverse();
                    polys.push(hole);
                }
                polys
            }
            Shape::Union(members) => members.iter().flat_map(|m| m.cross_section(z, n)).collect(),
        }
    }

    /// True when `p` is inside the solid (the analytic truth for sampling tests).
    pub fn contains(&self, p: [f64; 3]) -> bool {
        match self {
            Shape::Sphere { centre, radius } => {
                (0..3).map(|a| (p[a] - centre[a]).powi(2)).sum::<f64>() < radius * radius
            }
            Shape::Ellipsoid { centre, radii } => {
                (0..3)
                    .map(|a| ((p[a] - centre[a]) / radii[a]).powi(2))
                    .sum::<f64>()
                    < 1.0
            }
            Shape::Cylinder {
                centre,
                radii,
                length,
            } => {
                (p[2] - centre[2]).abs() < length / 2.0
                    && ((p[0] - centre[0]) / radii[0]).powi(2)
                        + ((p[1] - centre[1]) / radii[1]).powi(2)
                        < 1.0
            }
            Shape::Cone {
                base_centre,
                base_radius,
                height,
            } => {
                let t = (p[2] - base_centre[2]) / height;
                if !(0.0..1.0).contains(&t) {
                    return false;
                }
                let r = base_radius * (1.0 - t);
                (p[0] - base_centre[0]).powi(2) + (p[1] - base_centre[1]).powi(2) < r * r
            }
            Shape::Box { min, max } => (0..3).all(|a| min[a] < p[a] && p[a] < max[a]),
            Shape::Shell { outer, inner } => outer.contains(p) && !inner.contains(p),
            Shape::Union(members) => members.iter().any(|m| m.contains(p)),
        }
    }

    /// Exact volume of the solid (mm³).
    pub fn volume_mm3(&self) -> f64 {
        match self {
            Shape::Sphere { radius, .. } => 4.0 / 3.0 * PI * radius.powi(3),
            Shape::Ellipsoid { radii, .. } => 4.0 / 3.0 * PI * radii[0] * radii[1] * radii[2],
            Shape::Cylinder { radii, length, .. } => PI * radii[0] * radii[1] * length,
            Shape::Cone {
                base_radius,
                height,
                ..
            } => PI * base_radius * base_radius * height.abs() / 3.0,
            Shape::Box { min, max } => (0..3).map(|a| max[a] - min[a]).product(),
            Shape::Shell { outer, inner } => outer.volume_mm3() - inner.volume_mm3(),
            Shape::Union(members) => members.iter().map(Shape::volume_mm3).sum(),
        }
    }

    /// Axis-aligned bounding box `(min, max)`.
    pub fn bounds(&self) -> ([f64; 3], [f64; 3]) {
        let around = |c: [f64; 3], r: [f64; 3]| {
            (
                [c[0] - r[0], c[1] - r[1], c[2] - r[2]],
                [c[0] + r[0], c[1] + r[1], c[2] + r[2]],
            )
        };
        match self {
            Shape::Sphere { centre, radius } => around(*centre, [*radius; 3]),
            Shape::Ellipsoid { centre, radii } => around(*centre, *radii),
            Shape::Cylinder {
                centre,
                radii,
                length,
            } => around(*centre, [radii[0], radii[1], length / 2.0]),
            Shape::Cone {
                base_centre: c,
                base_radius: r,
                height,
            } => {
                let (z0, z1) = if *height >= 0.0 {
                    (c[2], c[2] + height)
                } else {
                    (c[2] + height, c[2])
                };
                ([c[0] - r, c[1] - r, z0], [c[0] + r, c[1] + r, z1])
            }
            Shape::Box { min, max } => (*min, *max),
            Shape::Shell { outer, .. } => outer.bounds(),
            Shape::Union(members) => {
                let mut lo = [f64::INFINITY; 3];
                let mut hi = [f64::NEG_INFINITY; 3];
                for m in members {
                    let (a, b) = m.bounds();
                    for k in 0..3 {
                        lo[k] = lo[k].min(a[k]);
                        hi[k] = hi[k].max(b[k]);
                    }
                }
                (lo, hi)
            }
        }
    }

    /// Why the shape is not well-formed, if it is not.
    pub(crate) fn check(&self) -> Result<(), String> {
        let fin = |v: &[f64]| v.iter().all(|x| x.is_finite());
        let pos = |v: &[f64]| v.iter().all(|x| *x > 0.0 && x.is_finite());
        match self {
            Shape::Sphere { centre, radius } if !fin(centre) || !pos(&[*radius]) => {
                Err("sphere needs a finite centre and a positive radius".into())
            }
            Shape::Ellipsoid { centre, radii } if !fin(centre) || !pos(radii) => {
                Err("ellipsoid needs a finite centre and positive radii".into())
            }
            Shape::Cylinder {
                centre,
                radii,
                length,
            } if !fin(centre) || !pos(radii) || !pos(&[*length]) => {
                Err("cylinder needs a finite centre, positive radii and length".into())
            }
            Shape::Cone {
                base_centre,
                base_radius,
                height,
            } if !fin(base_centre)
                || !pos(&[*base_radius])
                || !height.is_finite()
                || *height == 0.0 =>
            {
                Err("cone needs a finite base, a positive radius and a non-zero height".into())
            }
            Shape::Box { min, max }
                if !fin(min) || !fin(max) || (0..3).any(|a| max[a] <= min[a]) =>
            {
                Err("box needs finite corners with max > min on every axis".into())
            }
            Shape::Shell { outer, inner } => {
                outer.check()?;
                inner.check()?;
                let (oa, ob) = outer.bounds();
                let (ia, ib) = inner.bounds();
                if (0..3).any(|a| ia[a] < oa[a] || ib[a] > ob[a]) {
                    return Err("shell's inner solid extends beyond its outer solid".into());
                }
                Ok(())
            }
            Shape::Union(members) => {
                if members.is_empty() {
                    return Err("union has no member".into());
                }
                for m in members {
                    m.check()?;
                }
                // Disjoint bounding boxes are a sufficient (conservative) test that the
                // even-odd rule will not cancel overlapping outlines.
                for (i, a) in members.iter().enumerate() {
                    for b in &members[i + 1..] {
                        let (a0, a1) = a.bounds();
                        let (b0, b1) = b.bounds();
                        if (0..3).all(|k| a0[k] < b1[k] && b0[k] < a1[k]) {
                            return Err("union members' bounding boxes overlap".into());
                        }
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl ShapeSpec {
    /// z of every contour plane that cuts the shape, rounded as written in the file.
    pub fn plane_zs(&self) -> Vec<f64> {
        let c = &self.contour;
        let (lo, hi) = self.shape.bounds();
        let k0 = ((lo[2] - c.z_offset_mm) / c.spacing_mm).floor() as i64;
        let k1 = ((hi[2] - c.z_offset_mm) / c.spacing_mm).ceil() as i64;
        (k0..=k1)
            .map(|k| ds_round(c.z_offset_mm + k as f64 * c.spacing_mm, CONTOUR_DECIMALS))
            .collect()
    }

    /// The contours exactly as written (coordinates rounded to [`CONTOUR_DECIMALS`]),
    /// as plain model types: what a reader of the written RT Struct should return.
    pub fn contour_planes(&self) -> Vec<ContourPlane> {
        let n = self.contour.vertices_per_circle;
        self.plane_zs()
            .into_iter()
            .filter_map(|z| {
                let polygons: Vec<Polygon> = self
                    .shape
                    .cross_section(z, n)
                    .into_iter()
                    .map(|pts| Polygon {
                        points: pts
                            .into_iter()
                            .map(|[x, y]| {
                                [ds_round(x, CONTOUR_DECIMALS), ds_round(y, CONTOUR_DECIMALS)]
                            })
                            .collect(),
                    })
                    .collect();
                (!polygons.is_empty()).then_some(ContourPlane { z, polygons })
            })
            .collect()
    }

    /// The structure as a reader should return it.
    pub fn to_structure(&self) -> Structure {
        Structure {
            roi_number: self.roi_number,
            name: self.name.clone(),
            interpreted_type: Some(self.interpreted_type.clone()),
            color: Some(self.color),
            planes: self.contour_planes(),
            ignored: vec![],
            slab_thickness_mm: None,
        }
    }

    /// Volume (mm³) of the slab model of the written contours: Σ over planes of the
    /// even-odd polygon area × plane spacing. Differs from [`Shape::volume_mm3`] by the
    /// inscribed-polygon and end-slab discretisation.
    pub fn slab_volume_mm3(&self) -> f64 {
        self.contour_planes()
            .iter()
            .map(|p| {
                // Holes are written clockwise, so the signed sum is the even-odd area for
                // nested, non-crossing outlines.
                p.polygons.iter().map(Polygon::signed_area).sum::<f64>()
            })
            .sum::<f64>()
            * self.contour.spacing_mm
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        let c = &self.contour;
        if !c.spacing_mm.is_finite() || c.spacing_mm <= 0.0 || !c.z_offset_mm.is_finite() {
            return Err("contour spacing must be positive and the offset finite".into());
        }
        if c.vertices_per_circle < 3 {
            return Err("a circle needs at least 3 vertices".into());
        }
        if self.name.is_empty() || self.name.len() > 64 {
            return Err("ROI name must have 1 to 64 characters (LO)".into());
        }
        self.shape.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(shape: Shape, spacing: f64, offset: f64, n: usize) -> ShapeSpec {
        ShapeSpec {
            roi_number: 1,
            name: "T".into(),
            interpreted_type: "ORGAN".into(),
            color: [255, 0, 0],
            shape,
            contour: ContourSpec {
                spacing_mm: spacing,
                z_offset_mm: offset,
                vertices_per_circle: n,
            },
        }
    }

    #[test]
    fn cylinder_slab_volume_is_exact_polygon_prism() {
        // Planes at mid-slab (offset 0.5 with spacing 1, ends at z = ±10): exactly 20
        // planes, each an inscribed 64-gon of area (n/2) r² sin(2π/n).
        let s = spec(
            Shape::Cylinder {
                centre: [0.0, 0.0, 0.0],
                radii: [10.0, 10.0],
                length: 20.0,
            },
            1.0,
            0.5,
            64,
        );
        let planes = s.contour_planes();
        assert_eq!(planes.len(), 20);
        let poly_area = 32.0 * 100.0 * (2.0 * PI / 64.0).sin();
        assert!((s.slab_volume_mm3() - 20.0 * poly_area).abs() < 1e-2);
        assert!((s.shape.volume_mm3() - PI * 100.0 * 20.0).abs() < 1e-9);
    }

    #[test]
    fn box_slab_volume_equals_analytic() {
        let s = spec(
            Shape::Box {
                min: [-5.0, -3.0, 0.0],
                max: [5.0, 3.0, 8.0],
            },
            2.0,
            1.0,
            4,
        );
        assert!((s.slab_volume_mm3() - 480.0).abs() < 1e-9);
        assert!((s.shape.volume_mm3() - 480.0).abs() < 1e-12);
    }

    #[test]
    fn shell_planes_carry_a_clockwise_hole() {
        let s = spec(
            Shape::Shell {
                outer: Box::new(Shape::Cylinder {
                    centre: [0.0; 3],
                    radii: [10.0, 10.0],
                    length: 10.0,
                }),
                inner: Box::new(Shape::Cylinder {
                    centre: [0.0; 3],
                    radii: [5.0, 5.0],
                    length: 10.0 - 1e-6,
                }),
            },
            1.0,
            0.5,
            256,
        );
        let planes = s.contour_planes();
        assert_eq!(planes.len(), 10);
        assert!(planes.iter().all(|p| p.polygons.len() == 2));
        assert!(planes[0].polygons[0].signed_area() > 0.0);
        assert!(planes[0].polygons[1].signed_area() < 0.0);
        let expected = PI * (100.0 - 25.0) * 10.0;
        assert!((s.slab_volume_mm3() - expected).abs() / expected < 1e-3);
        assert!(s.shape.contains([7.0, 0.0, 0.0]));
        assert!(!s.shape.contains([2.0, 0.0, 0.0]));
    }

    #[test]
    fn sphere_slab_volume_converges_to_analytic() {
        let s = spec(
            Shape::Sphere {
                centre: [1.0, 2.0, 3.0],
                radius: 10.0,
            },
            0.1,
            0.05,
            512,
        );
        let v = 4.0 / 3.0 * PI * 1000.0;
        assert!((s.slab_volume_mm3() - v).abs() / v < 1e-3);
    }

    #[test]
    fn cone_cross_section_shrinks_linearly() {
        let cone = Shape::Cone {
            base_centre: [0.0, 0.0, 0.0],
            base_radius: 10.0,
            height: 20.0,
        };
        let sec = cone.cross_section(10.0, 4);
        assert_eq!(sec.len(), 1);
        assert!((sec[0][0][0] - 5.0).abs() < 1e-12);
        assert!(cone.cross_section(20.0, 4).is_empty());
        assert!(cone.cross_section(-0.1, 4).is_empty());
        assert!(cone.contains([4.9, 0.0, 10.0]) && !cone.contains([5.1, 0.0, 10.0]));
    }

    #[test]
    fn malformed_shapes_are_rejected() {
        let overlapping = Shape::Union(vec![
            Shape::Sphere {
                centre: [0.0; 3],
                radius: 5.0,
            },
            Shape::Sphere {
                centre: [4.0, 0.0, 0.0],
                radius: 5.0,
            },
        ]);
        assert!(overlapping.check().is_err());
        assert!(
            Shape::Sphere {
                centre: [0.0; 3],
                radius: -1.0
            }
            .check()
            .is_err()
        );
    }
}
