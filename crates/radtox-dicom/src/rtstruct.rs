//! RT Structure Set: ROIs matched across sequences by ROI number, closed planar contours
//! grouped into axial planes.

use crate::error::DicomError;
use crate::object::{Attrs, Kind, Mode, expect_kind, open};
use crate::raw::RawSet;
use dicom_dictionary_std::tags;
use radtox_model::{ContourPlane, IgnoredContour, Polygon, Structure, StructureSet};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Contours whose z differ by at most this much (mm) share a plane, and a contour's
/// points must lie within this much of their mean z to count as axial.
pub const PLANE_TOLERANCE_MM: f64 = 0.01;

/// Read an RT Structure Set. Errors name the file, ROI and attribute; skipped contours
/// (degenerate, non-axial) are reported in [`StructureSet::warnings`].
pub fn read_rt_struct(path: &Path) -> Result<StructureSet, DicomError> {
    let opened = open(path, Mode::Full)?;
    let a = opened.attrs(path);
    expect_kind(&a, Kind::Struct, "an RT Structure Set")?;
    let mut warnings = opened.warnings.clone();

    let mut structures: Vec<Structure> = Vec::new();
    let mut roi_frames: Vec<String> = Vec::new();
    for (n, item) in a.items(tags::STRUCTURE_SET_ROI_SEQUENCE).iter().enumerate() {
        let ctx = format!("StructureSetROISequence item {}", n + 1);
        let r = a.with_context(item, &ctx);
        let roi_number = r
            .i32_opt(tags::ROI_NUMBER)?
            .ok_or_else(|| r.missing(tags::ROI_NUMBER))?;
        if structures.iter().any(|s| s.roi_number == roi_number) {
            return Err(r.bad(
                tags::ROI_NUMBER,
                format!("ROI number {roi_number} is used twice"),
            ));
        }
        if let Some(f) = r.str_opt(tags::REFERENCED_FRAME_OF_REFERENCE_UID) {
            roi_frames.push(f);
        }
        structures.push(Structure {
            roi_number,
            name: r.str_opt(tags::ROI_NAME).unwrap_or_default(),
            interpreted_type: None,
            color: None,
            planes: Vec::new(),
            ignored: Vec::new(),
            slab_thickness_mm: None,
        });
    }

    for (n, item) in a
        .items(tags::RTROI_OBSERVATIONS_SEQUENCE)
        .iter()
        .enumerate()
    {
        let ctx = format!("RTROIObservationsSequence item {}", n + 1);
        let o = a.with_context(item, &ctx);
        let Some(roi) = o.i32_opt(tags::REFERENCED_ROI_NUMBER)? else {
            continue;
        };
        if let Some(s) = structures.iter_mut().find(|s| s.roi_number == roi) {
            s.interpreted_type = o.str_opt(tags::RTROI_INTERPRETED_TYPE);
        }
    }

    // ROIContourSequence items are matched by ReferencedROINumber, never by position.
    // Items are independent, so their contours are parsed in parallel; results (and the
    // first error) keep the file's item order.
    let names: Vec<(i32, &str)> = structures
        .iter()
        .map(|s| (s.roi_number, s.name.as_str()))
        .collect();
    let parsed: Vec<Result<RoiContours, DicomError>> = a
        .items(tags::ROI_CONTOUR_SEQUENCE)
        .par_iter()
        .enumerate()
        .map(|(n, item)| {
            let item_ctx = format!("ROIContourSequence item {}", n + 1);
            let c = a.with_context(item, &item_ctx);
            let roi = c
                .i32_opt(tags::REFERENCED_ROI_NUMBER)?
                .ok_or_else(|| c.missing(tags::REFERENCED_ROI_NUMBER))?;
            let Some(&(_, name)) = names.iter().find(|(r, _)| *r == roi) else {
                return Ok(RoiContours::Undefined(format!(
                    "{item_ctx} refers to ROI {roi}, which StructureSetROISequence does not define: ignored"
                )));
            };
            let roi_ctx = format!("ROI {roi} '{name}'");
            let c = a.with_context(item, &roi_ctx);
            let color = match c.f64s_opt(tags::ROI_DISPLAY_COLOR) {
                Ok(Some(v)) if v.len() == 3 => {
                    Some([v[0], v[1], v[2]].map(|x| x.clamp(0.0, 255.0) as u8))
                }
                _ => None,
            };
            let (planes, ignored, warnings) = read_contours(&c, roi, name)?;
            Ok(RoiContours::Roi {
                roi,
                color,
                planes,
                ignored,
                warnings,
            })
        })
        .collect();
    for result in parsed {
        match result? {
            RoiContours::Undefined(w) => warnings.push(w),
            RoiContours::Roi {
                roi,
                color,
                planes,
                ignored,
                warnings: w,
            } => {
                if let Some(s) = structures.iter_mut().find(|s| s.roi_number == roi) {
                    s.color = color;
                    s.planes = planes;
                    s.ignored = ignored;
                }
                warnings.extend(w);
            }
        }
    }

    let frame_of_reference_uid = a
        .items(tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE)
        .iter()
        .find_map(|f| a.with_context(f, "").str_opt(tags::FRAME_OF_REFERENCE_UID))
        .or_else(|| roi_frames.first().cloned())
        .or_else(|| a.str_opt(tags::FRAME_OF_REFERENCE_UID));
    if let Some(f) = &frame_of_reference_uid
        && let Some(other) = roi_frames.iter().find(|r| *r != f)
    {
        warnings.push(format!(
            "ROIs reference frame of reference {other}, the structure set {f}: using {f}"
        ));
    }

    Ok(StructureSet {
        source: path.to_path_buf(),
        sop_instance_uid: a.str_opt(tags::SOP_INSTANCE_UID),
        frame_of_reference_uid,
        label: a.str_opt(tags::STRUCTURE_SET_LABEL),
        structures,
        warnings,
    })
}

/// What one ROIContourSequence item gave.
enum RoiContours {
    /// The item names an ROI number that StructureSetROISequence does not define.
    Undefined(String),
    Roi {
        roi: i32,
        color: Option<[u8; 3]>,
        planes: Vec<ContourPlane>,
        ignored: Vec<IgnoredContour>,
        warnings: Vec<String>,
    },
}

type Contours = (Vec<ContourPlane>, Vec<IgnoredContour>, Vec<String>);

/// What one ContourSequence item gives.
enum OneContour {
    /// Not CLOSED_PLANAR: its geometric type.
    Ignored(String),
    /// Unusable (empty, not axial, degenerate): the warning.
    Skipped(String),
    /// A closed planar contour at z (mean of its points' z).
    Closed(f64, Polygon),
}

/// One ContourSequence item. `data` is scratch space for the decimal text, reused from
/// contour to contour so that only the polygon itself is allocated.
fn read_contour(
    c: &Attrs,
    item: &RawSet,
    n: usize,
    roi_label: &str,
    data: &mut Vec<f64>,
) -> Result<OneContour, DicomError> {
    let ctx = format!("{roi_label} contour {}", n + 1);
    let k = c.with_context(item, &ctx);
    let kind = k
        .str_opt(tags::CONTOUR_GEOMETRIC_TYPE)
        .unwrap_or_else(|| "CLOSED_PLANAR".to_string());
    if kind != "CLOSED_PLANAR" {
        return Ok(OneContour::Ignored(kind));
    }
    data.clear();
    k.f64s_into(tags::CONTOUR_DATA, data)?;
    let (points, rest) = data.as_chunks::<3>();
    if !rest.is_empty() {
        return Err(k.bad(
            tags::CONTOUR_DATA,
            format!(
                "{} numbers is not a whole number of (x, y, z) points",
                data.len()
            ),
        ));
    }
    if points.is_empty() {
        return Ok(OneContour::Skipped(format!("{ctx}: empty contour skipped")));
    }
    let z = points.iter().map(|p| p[2]).sum::<f64>() / points.len() as f64;
    // Exports carry sub-micron jitter in z: keep the mean. A real spread means the
    // contour is not axial (sagittal/coronal drawing), which the sampler cannot use.
    let spread = points.iter().map(|p| (p[2] - z).abs()).fold(0.0, f64::max);
    if spread > PLANE_TOLERANCE_MM {
        return Ok(OneContour::Skipped(format!(
            "{roi_label}: contour {} near z = {z:.2} mm is not axial (z varies by {:.3} mm): skipped",
            n + 1,
            2.0 * spread
        )));
    }
    let polygon = Polygon {
        points: points.iter().map(|p| [p[0], p[1]]).collect(),
    };
    // Three distinct points are enough to tell a polygon from a degenerate one.
    let mut distinct: [[f64; 2]; 3] = [[0.0; 2]; 3];
    let mut found = 0;
    for p in &polygon.points {
        let seen = distinct.iter().take(found);
        if !seen
            .clone()
            .any(|q| (q[0] - p[0]).abs() < 1e-9 && (q[1] - p[1]).abs() < 1e-9)
        {
            if let Some(slot) = distinct.get_mut(found) {
                *slot = *p;
            }
            found += 1;
            if found >= 3 {
                break;
            }
        }
    }
    if found < 3 || polygon.signed_area().abs() < 1e-9 {
        return Ok(OneContour::Skipped(format!(
            "{roi_label}: degenerate contour {} at z = {z:.2} mm ({} points, zero area) skipped",
            n + 1,
            polygon.points.len()
        )));
    }
    Ok(OneContour::Closed(z, polygon))
}

/// ContourSequence of one ROI → planes (CLOSED_PLANAR) or `ignored` (the other types),
/// plus warnings for what was skipped.
fn read_contours(c: &Attrs, roi_number: i32, name: &str) -> Result<Contours, DicomError> {
    let mut warnings = Vec::new();
    let roi_label = format!("ROI {roi_number} '{name}'");
    let mut contours: Vec<(f64, Polygon)> = Vec::new();
    let mut ignored: BTreeMap<String, usize> = BTreeMap::new();
    // Contours are independent and their decimal text is most of a structure set's
    // reading time (a body has hundreds): parse them in parallel, then take the
    // outcomes (and the first error) in the file's order.
    let outcomes: Vec<Result<OneContour, DicomError>> = c
        .items(tags::CONTOUR_SEQUENCE)
        .par_iter()
        .enumerate()
        .map_init(Vec::new, |data, (n, item)| {
            read_contour(c, item, n, &roi_label, data)
        })
        .collect();
    for o in outcomes {
        match o? {
            OneContour::Ignored(kind) => *ignored.entry(kind).or_default() += 1,
            OneContour::Skipped(why) => warnings.push(why),
            OneContour::Closed(z, polygon) => contours.push((z, polygon)),
        }
    }
    contours.sort_by(|p, q| p.0.total_cmp(&q.0));
    // Merge contours whose z agree within the tolerance into one plane (mean z).
    let mut planes: Vec<(Vec<f64>, Vec<Polygon>)> = Vec::new();
    for (z, polygon) in contours {
        match planes.last_mut() {
            Some((zs, polys)) if zs.first().is_some_and(|z0| z - z0 <= PLANE_TOLERANCE_MM) => {
                zs.push(z);
                polys.push(polygon);
            }
            _ => planes.push((vec![z], vec![polygon])),
        }
    }
    let planes = planes
        .into_iter()
        .map(|(zs, polygons)| ContourPlane {
            z: zs.iter().sum::<f64>() / zs.len() as f64,
            polygons,
        })
        .collect();
    let ignored = ignored
        .into_iter()
        .map(|(geometric_type, count)| IgnoredContour {
            geometric_type,
            count,
        })
        .collect();
    Ok((planes, ignored, warnings))
}
