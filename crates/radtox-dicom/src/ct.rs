//! CT series: slices (one file each) → a Hounsfield-unit volume on the canonical grid.

use crate::dose::Geometry;
use crate::error::DicomError;
use crate::object::{Attrs, Kind, Mode, expect_kind, open};
use crate::raw::RawValue;
use crate::rle::decode_rle_frame;
use dicom_dictionary_std::tags;
use radtox_model::DoseGrid;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A CT volume in Hounsfield units.
#[derive(Debug, Clone, PartialEq)]
pub struct CtVolume {
    /// The canonical grid of [`DoseGrid`] (`[iz, iy, ix]`, increasing axes, LPS mm)
    /// reused for CT: **`grid.dose` holds HU**, not Gy (RescaleSlope × stored value +
    /// RescaleIntercept of each slice).
    pub grid: DoseGrid,
    pub frame_of_reference_uid: Option<String>,
    pub series_instance_uid: Option<String>,
    /// The slice files, sorted along the slice normal (row × column direction cosines),
    /// which is decreasing z for feet-first orientations.
    pub slices: Vec<PathBuf>,
    /// Non-fatal oddities (several series, non-uniform slice spacing, ...).
    pub warnings: Vec<String>,
}

/// Tolerances: direction cosines and pixel spacing must agree this closely between
/// slices; slice origins may drift this much (mm) across the slice plane.
const COSINE_TOLERANCE: f64 = 1e-4;
const SPACING_TOLERANCE_MM: f64 = 1e-3;
const IN_PLANE_TOLERANCE_MM: f64 = 0.01;

/// One slice, read and converted to HU.
struct Slice {
    path: PathBuf,
    ipp: [f64; 3],
    iop: [f64; 6],
    spacing: [f64; 2],
    rows: usize,
    columns: usize,
    frame: Option<String>,
    series: Option<String>,
    hu: Vec<f32>,
}

fn read_slice(path: &Path) -> Result<Slice, DicomError> {
    let opened = open(path, Mode::Full)?;
    let a = opened.attrs(path);
    expect_kind(&a, Kind::Ct, "a CT image")?;
    if let Some(n) = a.int_opt(tags::NUMBER_OF_FRAMES)?
        && n > 1
    {
        return Err(DicomError::unsupported(
            path,
            format!("multi-frame CT ({n} frames); one slice per file is expected"),
        ));
    }
    let (rows, columns) = a.grey_image_size("a CT slice")?;
    let bits = a.usize(tags::BITS_ALLOCATED)?;
    if !matches!(bits, 8 | 16 | 32) {
        return Err(DicomError::unsupported(
            path,
            format!("(0028,0100) BitsAllocated {bits}"),
        ));
    }
    let stored = a.int_opt(tags::BITS_STORED)?.map_or(bits, |b| b as usize);
    if stored == 0 || stored > bits {
        return Err(a.bad(
            tags::BITS_STORED,
            format!("{stored} for {bits} bits allocated"),
        ));
    }
    let signed = match a.int_opt(tags::PIXEL_REPRESENTATION)? {
        None | Some(0) => false,
        Some(1) => true,
        Some(v) => {
            return Err(a.bad(
                tags::PIXEL_REPRESENTATION,
                format!("{v} is neither 0 nor 1"),
            ));
        }
    };
    let slope = a.f64_opt(tags::RESCALE_SLOPE)?.unwrap_or(1.0);
    let intercept = a.f64_opt(tags::RESCALE_INTERCEPT)?.unwrap_or(0.0);
    let ipp = a.f64_array::<3>(tags::IMAGE_POSITION_PATIENT)?;
    let iop = a.f64_array::<6>(tags::IMAGE_ORIENTATION_PATIENT)?;
    let spacing = a.f64_array::<2>(tags::PIXEL_SPACING)?;
    if spacing.iter().any(|s| *s <= 0.0) {
        return Err(a.bad(tags::PIXEL_SPACING, format!("{spacing:?} must be positive")));
    }

    let bytes_per_sample = bits / 8;
    let samples = rows * columns;
    let pixel = a
        .element(tags::PIXEL_DATA)
        .ok_or_else(|| a.missing(tags::PIXEL_DATA))?;
    let ts = opened.transfer_syntax.as_str();
    let rle;
    let (raw, big_endian): (&[u8], bool) = match &pixel.value {
        RawValue::Bytes(s, e) => (
            opened.buf.get(*s..*e).unwrap_or(&[]),
            ts == "1.2.840.10008.1.2.2",
        ),
        RawValue::Fragments(f) if ts == "1.2.840.10008.1.2.5" => {
            let frag = f
                .get(1)
                .and_then(|&(s, e)| opened.buf.get(s..e))
                .ok_or_else(|| a.bad(tags::PIXEL_DATA, "RLE pixel data has no frame"))?;
            let mut out = Vec::with_capacity(samples * bytes_per_sample);
            decode_rle_frame(frag, samples, bytes_per_sample, &mut out)
                .map_err(|m| a.bad(tags::PIXEL_DATA, format!("RLE: {m}")))?;
            rle = out;
            (rle.as_slice(), false)
        }
        RawValue::Fragments(_) => {
            return Err(DicomError::unsupported(
                path,
                format!(
                    "compressed pixel data in transfer syntax {ts}; only RLE Lossless is decoded"
                ),
            ));
        }
        RawValue::Items(_) => return Err(a.bad(tags::PIXEL_DATA, "is a sequence")),
    };
    let need = samples * bytes_per_sample;
    if raw.len() < need {
        return Err(DicomError::PixelDataTooShort {
            path: path.to_path_buf(),
            rows,
            columns,
            frames: 1,
            bytes_per_sample,
            expected: need,
            actual: raw.len(),
        });
    }
    // Only BitsStored bits carry the value (the rest may hold overlays); a signed value
    // is sign-extended from its top stored bit.
    let mask: u64 = if stored >= 64 {
        u64::MAX
    } else {
        (1u64 << stored) - 1
    };
    let to_hu = |v: u64| -> f32 {
        let v = v & mask;
        let value = if signed && stored < 64 && v >> (stored - 1) & 1 == 1 {
            v as i64 - (1i64 << stored)
        } else {
            v as i64
        };
        (value as f64 * slope + intercept) as f32
    };
    let hu: Vec<f32> = raw
        .chunks_exact(bytes_per_sample)
        .take(samples)
        .map(|b| {
            let v = match (b, big_endian) {
                (&[x], _) => u64::from(x),
                (&[x, y], false) => u64::from(u16::from_le_bytes([x, y])),
                (&[x, y], true) => u64::from(u16::from_be_bytes([x, y])),
                (&[x, y, z, w], false) => u64::from(u32::from_le_bytes([x, y, z, w])),
                (&[x, y, z, w], true) => u64::from(u32::from_be_bytes([x, y, z, w])),
                _ => 0,
            };
            to_hu(v)
        })
        .collect();
    Ok(Slice {
        path: path.to_path_buf(),
        ipp,
        iop,
        spacing,
        rows,
        columns,
        frame: a.str_opt(tags::FRAME_OF_REFERENCE_UID),
        series: a.str_opt(tags::SERIES_INSTANCE_UID),
        hu,
    })
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Read CT slices (one file each, any order) into one HU volume. Every slice gives its
/// own geometry: ImagePositionPatient (slices are sorted along the slice normal; the
/// spacing may be non-uniform), and must share ImageOrientationPatient, PixelSpacing,
/// Rows/Columns and FrameOfReferenceUID with the others, else the error names both
/// files. Each slice's RescaleSlope/Intercept apply to its own pixels. Slices are read
/// in parallel.
pub fn read_ct_series(paths: &[PathBuf]) -> Result<CtVolume, DicomError> {
    let Some(first_path) = paths.first() else {
        return Err(DicomError::Export {
            path: PathBuf::new(),
            message: "no CT slice given".into(),
        });
    };
    let mut slices = paths
        .par_iter()
        .map(|p| read_slice(p))
        .collect::<Result<Vec<Slice>, DicomError>>()?;
    let mut warnings = Vec::new();
    let Some(first) = slices.first() else {
        return Err(DicomError::Export {
            path: first_path.clone(),
            message: "no CT slice given".into(),
        });
    };
    let (iop, spacing, rows, columns) = (first.iop, first.spacing, first.rows, first.columns);
    let frame = slices.iter().find_map(|s| s.frame.clone());
    for s in &slices {
        let differs = |what: &str| DicomError::Export {
            path: s.path.clone(),
            message: format!(
                "{what} differs from {}'s: every slice of a CT volume must share it",
                first.path.display()
            ),
        };
        if s.iop
            .iter()
            .zip(&iop)
            .any(|(p, q)| (p - q).abs() > COSINE_TOLERANCE)
        {
            return Err(differs("(0020,0037) ImageOrientationPatient"));
        }
        if s.spacing
            .iter()
            .zip(&spacing)
            .any(|(p, q)| (p - q).abs() > SPACING_TOLERANCE_MM)
        {
            return Err(differs("(0028,0030) PixelSpacing"));
        }
        if (s.rows, s.columns) != (rows, columns) {
            return Err(differs("the image size (Rows × Columns)"));
        }
        if let (Some(f), Some(g)) = (&s.frame, &frame)
            && f != g
        {
            let holder = slices
                .iter()
                .find(|t| t.frame.as_ref() == Some(g))
                .map_or_else(|| first.path.clone(), |t| t.path.clone());
            return Err(DicomError::FrameOfReferenceMismatch {
                first_path: holder,
                first_uid: g.clone(),
                second_path: s.path.clone(),
                second_uid: f.clone(),
            });
        }
    }
    let mut series: Vec<&str> = slices.iter().filter_map(|s| s.series.as_deref()).collect();
    series.sort_unstable();
    series.dedup();
    if series.len() > 1 {
        warnings.push(format!(
            "slices come from {} series sharing one frame of reference and geometry",
            series.len()
        ));
    }
    let series_instance_uid = series.first().map(|s| s.to_string());

    let row_cos = [iop[0], iop[1], iop[2]];
    let col_cos = [iop[3], iop[4], iop[5]];
    let normal = cross(row_cos, col_cos);
    slices.sort_by(|p, q| dot(p.ipp, normal).total_cmp(&dot(q.ipp, normal)));
    let origin = slices.first().map(|s| s.ipp).unwrap_or_default();
    let s0 = dot(origin, normal);
    let mut offsets = Vec::with_capacity(slices.len());
    for (k, s) in slices.iter().enumerate() {
        let d = [
            s.ipp[0] - origin[0],
            s.ipp[1] - origin[1],
            s.ipp[2] - origin[2],
        ];
        if dot(d, row_cos).abs() > IN_PLANE_TOLERANCE_MM
            || dot(d, col_cos).abs() > IN_PLANE_TOLERANCE_MM
        {
            return Err(DicomError::unsupported(
                &s.path,
                format!(
                    "slice origin is shifted within the slice plane relative to {} (gantry tilt?); \
                     only stacks of aligned slices are supported",
                    slices
                        .first()
                        .map_or_else(String::new, |f| f.path.display().to_string())
                ),
            ));
        }
        let offset = dot(s.ipp, normal) - s0;
        if k > 0
            && offsets
                .last()
                .is_some_and(|&prev: &f64| offset - prev < 1e-3)
        {
            return Err(DicomError::bad(
                &s.path,
                tags::IMAGE_POSITION_PATIENT,
                "",
                "another slice lies at the same position along the slice normal",
            ));
        }
        offsets.push(offset);
    }
    let gaps: Vec<f64> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
    if let (Some(lo), Some(hi)) = (
        gaps.iter().copied().reduce(f64::min),
        gaps.iter().copied().reduce(f64::max),
    ) && hi - lo > 1e-3
    {
        warnings.push(format!(
            "slice spacing is not uniform ({lo:.3} to {hi:.3} mm); positions kept as they are"
        ));
    }

    // Stack HU in (slice, row, column) order as little endian f32 and let the RT Dose
    // geometry code place every voxel on the canonical grid.
    let mut stacked = Vec::with_capacity(slices.len() * rows * columns * 4);
    for s in &slices {
        for v in &s.hu {
            stacked.extend_from_slice(&v.to_le_bytes());
        }
    }
    let first = slices
        .first()
        .map(|s| s.path.clone())
        .unwrap_or_else(|| first_path.clone());
    let empty = Default::default();
    let a = Attrs {
        set: &empty,
        buf: &[],
        path: &first,
        context: "",
    };
    let geometry = Geometry::new(
        &a,
        origin,
        iop,
        spacing,
        &offsets,
        [slices.len(), rows, columns],
        &mut warnings,
    )?;
    let hu = geometry.fill(&stacked, |b: [u8; 4]| f32::from_le_bytes(b) as f64);
    let [x, y, z] = geometry.axes;
    let grid = DoseGrid::new(x, y, z, hu).map_err(|e| DicomError::Export {
        path: first.clone(),
        message: format!("CT geometry is inconsistent: {e}"),
    })?;
    Ok(CtVolume {
        grid,
        frame_of_reference_uid: frame,
        series_instance_uid,
        slices: slices.into_iter().map(|s| s.path).collect(),
        warnings,
    })
}
