//! The two phantoms shipped in `fixtures/`.
//!
//! Patient coordinates are DICOM LPS: +x towards the patient's left, +y posterior,
//! +z towards the head. All sizes are in mm.

use crate::{ContourSpec, DoseModel, DoseTerm, GridSpec, Phantom, Shape, ShapeSpec};
use std::f64::consts::PI;

fn roi(
    roi_number: i32,
    name: &str,
    interpreted_type: &str,
    color: [u8; 3],
    shape: Shape,
    contour: &ContourSpec,
) -> ShapeSpec {
    ShapeSpec {
        roi_number,
        name: name.to_owned(),
        interpreted_type: interpreted_type.to_owned(),
        color,
        shape,
        contour: contour.clone(),
    }
}

fn ellipsoid(centre: [f64; 3], radii: [f64; 3]) -> Shape {
    Shape::Ellipsoid { centre, radii }
}

fn cylinder(centre: [f64; 3], radii: [f64; 2], length: f64) -> Shape {
    Shape::Cylinder {
        centre,
        radii,
        length,
    }
}

fn boxed(min: [f64; 3], max: [f64; 3]) -> Shape {
    Shape::Box { min, max }
}

/// Radius (mm) of a sphere of `cc` cm³.
pub(crate) fn sphere_radius_for_cc(cc: f64) -> f64 {
    (3.0 * cc * 1000.0 / (4.0 * PI)).cbrt()
}

/// A left-breast plan, 50 Gy in 25 fractions, with a tangential-like dose: a smooth box
/// of 48.5 Gy (≈ 50 Gy with scatter) over the left breast whose posterior edge (penumbra 4 mm) runs across the
/// anterior heart, LAD and left lung, plus a weak linear scatter gradient.
///
/// The thorax is an elliptic cylinder 350 × 250 mm, 162 mm long. Contour planes lie
/// every 3 mm at z = 1.5 + 3k and every flat end (cylinders, boxes) lies on a multiple
/// of 3 mm, so planes are mid-slab and the slab volume of a box equals its volume. Names are clinical,
/// mostly TG-263 (`Heart`, `Lung_R`, `Breast_L`, `Ventricle_L`, `Bone_Sternum`,
/// `Rib03_L`, `VB_T06`, ...) with two messy ones on purpose (`Lt Lung`, `LAD`).
/// Dose grid: 4 mm in-plane, 5 mm between frames, covering the whole thorax.
pub fn breast_left() -> Phantom {
    let big = ContourSpec {
        spacing_mm: 3.0,
        z_offset_mm: 1.5,
        vertices_per_circle: 48,
    };
    let small = ContourSpec {
        vertices_per_circle: 24,
        ..big.clone()
    };
    let s = vec![
        roi(
            1,
            "External",
            "EXTERNAL",
            [0, 255, 0],
            cylinder([0.0, 0.0, 0.0], [175.0, 125.0], 162.0),
            &big,
        ),
        roi(
            2,
            "Breast_L",
            "CTV",
            [255, 0, 255],
            ellipsoid([70.0, -84.0, 0.0], [42.0, 20.0, 55.0]),
            &big,
        ),
        roi(
            3,
            "Lt Lung",
            "ORGAN",
            [0, 128, 255],
            ellipsoid([80.0, 5.0, 5.0], [55.0, 55.0, 70.0]),
            &big,
        ),
        roi(
            4,
            "Lung_R",
            "ORGAN",
            [0, 192, 255],
            ellipsoid([-80.0, 5.0, 5.0], [58.0, 55.0, 70.0]),
            &big,
        ),
        roi(
            5,
            "Heart",
            "ORGAN",
            [255, 0, 0],
            ellipsoid([20.0, -15.0, -20.0], [50.0, 40.0, 45.0]),
            &big,
        ),
        roi(
            6,
            "Ventricle_L",
            "ORGAN",
            [200, 0, 0],
            ellipsoid([38.0, -12.0, -30.0], [24.0, 22.0, 28.0]),
            &small,
        ),
        roi(
            7,
            "Ventricle_R",
            "ORGAN",
            [160, 0, 60],
            ellipsoid([5.0, -38.0, -30.0], [24.0, 14.0, 26.0]),
            &small,
        ),
        roi(
            8,
            "Atrium_L",
            "ORGAN",
            [255, 120, 120],
            Shape::Sphere {
                centre: [22.0, 12.0, 5.0],
                radius: 16.0,
            },
            &small,
        ),
        roi(
            9,
            "Atrium_R",
            "ORGAN",
            [255, 160, 100],
            Shape::Sphere {
                centre: [-12.0, -10.0, 5.0],
                radius: 16.0,
            },
            &small,
        ),
        roi(
            10,
            "LAD",
            "ORGAN",
            [255, 255, 0],
            cylinder([32.0, -50.0, -25.5], [2.0, 2.0], 51.0),
            &small,
        ),
        roi(
            11,
            "Bone_Sternum",
            "ORGAN",
            [230, 230, 200],
            boxed([-12.0, -75.0, -60.0], [12.0, -62.0, 51.0]),
            &small,
        ),
        roi(
            12,
            "Rib03_L",
            "ORGAN",
            [220, 220, 180],
            boxed([25.0, -62.0, 45.0], [110.0, -54.0, 51.0]),
            &small,
        ),
        roi(
            13,
            "Rib04_L",
            "ORGAN",
            [220, 220, 180],
            boxed([25.0, -62.0, 21.0], [110.0, -54.0, 27.0]),
            &small,
        ),
        roi(
            14,
            "Rib05_L",
            "ORGAN",
            [220, 220, 180],
            boxed([25.0, -62.0, -3.0], [110.0, -54.0, 3.0]),
            &small,
        ),
        roi(
            15,
            "VB_T06",
            "ORGAN",
            [200, 200, 150],
            cylinder([0.0, 78.0, 31.5], [16.0, 14.0], 21.0),
            &small,
        ),
        roi(
            16,
            "VB_T07",
            "ORGAN",
            [200, 200, 150],
            cylinder([0.0, 78.0, 7.5], [16.0, 14.0], 21.0),
            &small,
        ),
        roi(
            17,
            "VB_T08",
            "ORGAN",
            [200, 200, 150],
            cylinder([0.0, 78.0, -16.5], [16.0, 14.0], 21.0),
            &small,
        ),
        roi(
            18,
            "SpinalCord",
            "ORGAN",
            [255, 255, 128],
            cylinder([0.0, 100.0, 0.0], [6.0, 6.0], 150.0),
            &small,
        ),
        roi(
            19,
            "Esophagus",
            "ORGAN",
            [160, 110, 60],
            // A hollow organ: wall between two elliptic cylinders, the lumen a hole.
            Shape::Shell {
                outer: Box::new(cylinder([0.0, 55.0, 0.0], [9.0, 8.0], 150.0)),
                inner: Box::new(cylinder([0.0, 55.0, 0.0], [4.0, 3.5], 150.0)),
            },
            &small,
        ),
    ];
    Phantom {
        name: "breast-left".into(),
        patient_name: "PHANTOM^BREAST".into(),
        patient_id: "RADTOX-PH-BREAST".into(),
        grid: GridSpec {
            origin: [-180.0, -128.0, -80.0],
            spacing: [4.0, 4.0, 5.0],
            dims: [91, 65, 33],
        },
        dose: DoseModel::Sum(vec![
            DoseTerm::SmoothBox {
                centre: [72.0, -85.0, 0.0],
                half_size: [60.0, 27.0, 70.0],
                edge_width: 4.0,
                peak: 48.5,
            },
            DoseTerm::Linear {
                d0: 0.0,
                gradient: [0.01, -0.01, 0.0],
            },
        ]),
        structures: s,
        prescription_gy: 50.0,
        fractions: 25,
        plan_label: "BreastL_50/25".into(),
        plan_name: "Left breast tangents".into(),
        target_roi: Some(2),
    }
}

/// A brain radiosurgery plan, 20 Gy in 1 fraction, three metastases: GTV_1..3 spheres
/// of 0.1, 1 and 5 cm³ with PTVs 1 mm larger. The dose around each lesion is a flat
/// core with a steep sigmoid fall-off (width 2 mm) plus a broad Gaussian bath
/// (σ 15 mm, 2 Gy), tuned so each PTV surface receives 20 Gy.
///
/// Lesions and PTVs are contoured every 1 mm, the larger ROIs every 2 mm (a reader must
/// take each ROI's own plane spacing). Dose grid: 2 mm, covering the lesions (not the whole head).
pub fn brain_srs() -> Phantom {
    let coarse = ContourSpec {
        spacing_mm: 2.0,
        z_offset_mm: 0.0,
        vertices_per_circle: 48,
    };
    let fine = ContourSpec {
        spacing_mm: 1.0,
        z_offset_mm: 0.5,
        vertices_per_circle: 32,
    };
    let lesions = [
        ([-30.0, -40.0, 20.0], 0.1),
        ([35.0, 10.0, 10.0], 1.0),
        ([-15.0, 35.0, -10.0], 5.0),
    ];
    let mut s = vec![
        roi(
            1,
            "External",
            "EXTERNAL",
            [0, 255, 0],
            ellipsoid([0.0, 0.0, 0.0], [76.0, 92.0, 66.0]),
            &coarse,
        ),
        roi(
            2,
            "Brain",
            "ORGAN",
            [255, 200, 150],
            ellipsoid([0.0, 0.0, 6.0], [66.0, 82.0, 54.0]),
            &coarse,
        ),
        roi(
            3,
            "Brainstem",
            "ORGAN",
            [0, 200, 200],
            cylinder([0.0, 18.0, -38.0], [12.0, 11.0], 34.0),
            &coarse,
        ),
        roi(
            4,
            "OpticChiasm",
            "ORGAN",
            [255, 255, 0],
            boxed([-8.0, -22.0, -6.0], [8.0, -14.0, -2.0]),
            &fine,
        ),
    ];
    let bath_sigma = 15.0;
    let bath_peak = 2.0;
    // Logistic fall-off width (mm): 80 % → 20 % of the peak over 2·w·ln 4 ≈ 5.5 mm,
    // a typical radiosurgery penumbra.
    let width = 2.0;
    let mut terms = Vec::new();
    for (i, (centre, cc)) in lesions.iter().enumerate() {
        let r_gtv = sphere_radius_for_cc(*cc);
        let r_ptv = r_gtv + 1.0;
        let k = i as i32 + 1;
        s.push(roi(
            4 + k,
            &format!("GTV_{k}"),
            "GTV",
            [255, 0, 0],
            Shape::Sphere {
                centre: *centre,
                radius: r_gtv,
            },
            &fine,
        ));
        s.push(roi(
            7 + k,
            &format!("PTV_{k}"),
            "PTV",
            [0, 0, 255],
            Shape::Sphere {
                centre: *centre,
                radius: r_ptv,
            },
            &fine,
        ));
        // 20 Gy at the PTV surface: the sigmoid gives 80 % of its peak at
        // r = radius_50 − w·ln 4, and the bath adds its own share there.
        let bath_at_surface = bath_peak * (-0.5 * (r_ptv / bath_sigma).powi(2)).exp();
        terms.push(DoseTerm::SphericalFalloff {
            centre: *centre,
            radius_50: r_ptv + width * 4f64.ln(),
            width,
            peak: (20.0 - bath_at_surface) / 0.8,
        });
        terms.push(DoseTerm::Gaussian {
            centre: *centre,
            sigma: [bath_sigma; 3],
            peak: bath_peak,
        });
    }
    Phantom {
        name: "brain-srs".into(),
        patient_name: "PHANTOM^BRAIN".into(),
        patient_id: "RADTOX-PH-BRAIN".into(),
        // A 2 mm grid over the lesions only, as radiosurgery planning systems compute
        // dose in a sub-volume: a 0.1 cc lesion (r ≈ 2.9 mm) needs it, and External and
        // Brain reaching beyond the grid exercise the "outside the dose grid" path.
        grid: GridSpec {
            origin: [-50.0, -60.0, -30.0],
            spacing: [2.0, 2.0, 2.0],
            dims: [53, 58, 36],
        },
        dose: DoseModel::Sum(terms),
        structures: s,
        prescription_gy: 20.0,
        fractions: 1,
        plan_label: "SRS_3mets".into(),
        plan_name: "Brain SRS 3 lesions".into(),
        target_roi: None,
    }
}

/// The phantoms shipped in the repository's `fixtures/` folder, each with the options
/// it is written with. The breast uses 16-bit pixels (as some planning systems write)
/// and the brain 32-bit ones, so both encodings are exercised by the shipped files; the
/// brain also carries a DVH Sequence.
pub fn shipped() -> Vec<(Phantom, crate::WriteOptions)> {
    vec![
        (
            breast_left(),
            crate::WriteOptions {
                bits: 16,
                ..Default::default()
            },
        ),
        (
            brain_srs(),
            crate::WriteOptions {
                include_tps_dvh: true,
                tps_dvh_bin_gy: 0.1,
                ..Default::default()
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every structure lies inside the External and the dose grid covers the External:
    /// checked on the written contour points, analytically.
    #[test]
    fn structures_lie_inside_external_and_grid() {
        for ph in [breast_left(), brain_srs()] {
            ph.check().unwrap();
            let ext = ph.structures.iter().find(|s| s.name == "External").unwrap();
            let (x, y) = (ph.grid.axis(0), ph.grid.axis(1));
            let z = ph.grid.axis(2);
            for s in &ph.structures {
                for p in s.contour_planes() {
                    for poly in &p.polygons {
                        for [px, py] in &poly.points {
                            // Slightly pulled towards the structure's centre: points on an
                            // outline equal to the External's own are on its boundary.
                            let q = [*px, *py, p.z];
                            if s.name != "External" {
                                assert!(
                                    ext.shape.contains(q),
                                    "{} {:?} outside External",
                                    s.name,
                                    q
                                );
                            }
                            // The brain plan's dose grid covers the lesions only, as
                            // radiosurgery plans do; External, Brain and Brainstem
                            // extend beyond it on purpose.
                            if ph.name == "brain-srs"
                                && ["External", "Brain", "Brainstem"].contains(&s.name.as_str())
                            {
                                continue;
                            }
                            assert!(q[0] >= x[0] && q[0] <= x[x.len() - 1], "{}", s.name);
                            assert!(q[1] >= y[0] && q[1] <= y[y.len() - 1], "{}", s.name);
                            assert!(q[2] >= z[0] && q[2] <= z[z.len() - 1], "{}", s.name);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn srs_lesions_have_their_volumes_and_ptv_surface_gets_20_gy() {
        let ph = brain_srs();
        for (k, cc) in [(1, 0.1), (2, 1.0), (3, 5.0)] {
            let gtv = ph
                .structures
                .iter()
                .find(|s| s.name == format!("GTV_{k}"))
                .unwrap();
            assert!((gtv.shape.volume_mm3() / 1000.0 - cc).abs() < 1e-9);
            let Shape::Sphere { centre, radius } = ph
                .structures
                .iter()
                .find(|s| s.name == format!("PTV_{k}"))
                .unwrap()
                .shape
            else {
                panic!("PTV is a sphere")
            };
            let d = ph.dose.dose_at([centre[0] + radius, centre[1], centre[2]]);
            assert!((d - 20.0).abs() < 0.05, "PTV_{k} surface {d}");
        }
    }

    #[test]
    fn breast_dose_is_tangential_like() {
        let ph = breast_left();
        let d = |p| ph.dose.dose_at(p);
        // Breast centre near 50 Gy; heart centre low; LAD intermediate.
        assert!((d([70.0, -84.0, 0.0]) - 50.0).abs() < 2.5);
        assert!(d([20.0, -15.0, -20.0]) < 3.0);
        let lad = d([32.0, -50.0, -25.0]);
        assert!(lad > 3.0 && lad < 20.0, "{lad}");
    }
}
