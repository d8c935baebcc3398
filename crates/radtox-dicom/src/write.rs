//! Writing a dose grid as an RT Dose (e.g. an EQD2 map next to the source plan).

use crate::error::DicomError;
use crate::object::{Kind, Mode, RT_DOSE_CLASS, RT_PLAN_CLASS, expect_kind, open};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use radtox_model::DoseGrid;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

/// What to write beside the grid: identity copied from the source objects, and the
/// caller's description of the dose.
#[derive(Clone, PartialEq)]
pub struct RtDoseWriteSpec {
    /// Copied from the source, so the new dose sits in the same study.
    pub study_instance_uid: String,
    /// Copied from the source: the grid's coordinates are in this frame.
    pub frame_of_reference_uid: String,
    /// Patient module, copied verbatim from the source file (never logged: `Debug`
    /// redacts them).
    pub patient_name: Option<String>,
    pub patient_id: Option<String>,
    pub patient_birth_date: Option<String>,
    pub patient_sex: Option<String>,
    /// SOP Instance UID of the RT Plan the dose belongs to (ReferencedRTPlanSequence).
    pub referenced_plan_uid: Option<String>,
    /// DoseType (3004,0004): "PHYSICAL", or "EFFECTIVE" for EQD2/BED maps.
    pub dose_type: String,
    /// SeriesDescription (0008,103E), e.g. "radtox EQD2".
    pub series_description: String,
    /// DoseComment (3004,0006), e.g. "EQD2 LQ α/β=2 Gy, 5 fx".
    pub dose_comment: String,
    /// `None`: new random UIDs (`2.25.<128 random bits>`). `Some(seed)`: UIDs derived
    /// from the seed, so that re-running the same job rewrites the same object.
    pub uid_seed: Option<String>,
}

impl std::fmt::Debug for RtDoseWriteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("RtDoseWriteSpec")
            .field("study_instance_uid", &self.study_instance_uid)
            .field("frame_of_reference_uid", &self.frame_of_reference_uid)
            .field("patient_name", &redact(&self.patient_name))
            .field("patient_id", &redact(&self.patient_id))
            .field("patient_birth_date", &redact(&self.patient_birth_date))
            .field("patient_sex", &redact(&self.patient_sex))
            .field("referenced_plan_uid", &self.referenced_plan_uid)
            .field("dose_type", &self.dose_type)
            .field("series_description", &self.series_description)
            .field("dose_comment", &self.dose_comment)
            .field("uid_seed", &self.uid_seed)
            .finish()
    }
}

impl RtDoseWriteSpec {
    /// Identity (patient, study, frame of reference, referenced plan) taken from a
    /// source RT Dose file; DoseType EFFECTIVE, with the given description and comment.
    pub fn from_source_dose(
        source: &Path,
        series_description: &str,
        dose_comment: &str,
    ) -> Result<RtDoseWriteSpec, DicomError> {
        let opened = open(source, Mode::Header)?;
        let a = opened.attrs(source);
        expect_kind(&a, Kind::Dose, "an RT Dose")?;
        Ok(RtDoseWriteSpec {
            study_instance_uid: a
                .str_opt(tags::STUDY_INSTANCE_UID)
                .ok_or_else(|| a.missing(tags::STUDY_INSTANCE_UID))?,
            frame_of_reference_uid: a
                .str_opt(tags::FRAME_OF_REFERENCE_UID)
                .ok_or_else(|| a.missing(tags::FRAME_OF_REFERENCE_UID))?,
            patient_name: a.str_opt(tags::PATIENT_NAME),
            patient_id: a.str_opt(tags::PATIENT_ID),
            patient_birth_date: a.str_opt(tags::PATIENT_BIRTH_DATE),
            patient_sex: a.str_opt(tags::PATIENT_SEX),
            referenced_plan_uid: a.first_item_str(
                tags::REFERENCED_RT_PLAN_SEQUENCE,
                tags::REFERENCED_SOP_INSTANCE_UID,
            ),
            dose_type: "EFFECTIVE".into(),
            series_description: series_description.into(),
            dose_comment: dose_comment.into(),
            uid_seed: None,
        })
    }
}

/// What [`write_rt_dose`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenDose {
    pub path: PathBuf,
    pub sop_instance_uid: String,
    pub series_instance_uid: String,
    /// DoseGridScaling as written (Gy per pixel unit): the read-back resolution.
    pub dose_grid_scaling: f64,
}

/// Relative tolerance for an axis to count as uniformly spaced (PixelSpacing is one
/// number per in-plane axis).
const UNIFORM_TOLERANCE: f64 = 1e-4;

/// Write `grid` (Gy, canonical layout) as an RT Dose: head-first-supine orientation,
/// 32-bit unsigned pixels with DoseGridScaling = max/(2³²−1) (rounded up to what DS can
/// hold, so no pixel overflows), relative GridFrameOffsetVector (z may be non-uniform;
/// x and y must be uniform), DoseUnits GY, DoseSummationType PLAN, explicit VR little
/// endian. New SOP Instance and Series UIDs; study, frame of reference and patient from
/// `spec`. The file is written to a temporary name and renamed, so a reader never sees
/// half a file.
pub fn write_rt_dose(
    path: &Path,
    grid: &DoseGrid,
    spec: &RtDoseWriteSpec,
) -> Result<WrittenDose, DicomError> {
    let fail = |message: String| DicomError::Export {
        path: path.to_path_buf(),
        message,
    };
    let spacing = |v: &[f64], axis: char| -> Result<f64, DicomError> {
        let n = v.len();
        if n < 2 {
            // One position: any spacing describes it; 1 mm is a harmless convention.
            return Ok(1.0);
        }
        let (first, last) = (
            v.first().copied().unwrap_or(0.0),
            v.last().copied().unwrap_or(0.0),
        );
        let step = (last - first) / (n - 1) as f64;
        if v.windows(2)
            .any(|w| ((w[1] - w[0]) - step).abs() > UNIFORM_TOLERANCE * step.abs().max(1.0))
        {
            return Err(fail(format!(
                "{axis} positions are not uniformly spaced; an RT Dose has one pixel spacing per in-plane axis"
            )));
        }
        Ok(step)
    };
    let first = |v: &[f64], axis: char| {
        v.first()
            .copied()
            .ok_or_else(|| fail(format!("the {axis} axis of the grid is empty")))
    };
    let origin = [
        first(&grid.x, 'x')?,
        first(&grid.y, 'y')?,
        first(&grid.z, 'z')?,
    ];
    let dx = spacing(&grid.x, 'x')?;
    let dy = spacing(&grid.y, 'y')?;
    let [nz, ny, nx] = grid.dims();
    if nx > u16::MAX as usize || ny > u16::MAX as usize {
        return Err(fail(format!(
            "{ny} rows × {nx} columns exceed DICOM's 65535"
        )));
    }
    if let Some(bad) = grid.dose.iter().find(|v| !v.is_finite() || **v < 0.0) {
        return Err(fail(format!(
            "dose value {bad} cannot be stored as unsigned RT Dose pixels"
        )));
    }
    let max = grid.max_dose() as f64;
    let (scaling, scaling_ds) = dose_grid_scaling(max);

    let (sop_uid, series_uid) = match &spec.uid_seed {
        Some(seed) => (
            derived_uid(&[seed, "rtdose-sop"]),
            derived_uid(&[seed, "rtdose-series"]),
        ),
        None => (random_uid(), random_uid()),
    };

    let mut o = InMemDicomObject::new_empty();
    let s = |o: &mut InMemDicomObject, tag: Tag, vr: VR, v: &str| {
        o.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    };
    s(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    s(&mut o, tags::SOP_CLASS_UID, VR::UI, RT_DOSE_CLASS);
    s(&mut o, tags::SOP_INSTANCE_UID, VR::UI, &sop_uid);
    s(&mut o, tags::STUDY_DATE, VR::DA, "");
    s(&mut o, tags::STUDY_TIME, VR::TM, "");
    s(&mut o, tags::ACCESSION_NUMBER, VR::SH, "");
    s(&mut o, tags::MODALITY, VR::CS, "RTDOSE");
    s(&mut o, tags::MANUFACTURER, VR::LO, "radtox");
    s(&mut o, tags::REFERRING_PHYSICIAN_NAME, VR::PN, "");
    s(
        &mut o,
        tags::SERIES_DESCRIPTION,
        VR::LO,
        &spec.series_description,
    );
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    s(&mut o, tags::PATIENT_NAME, VR::PN, &opt(&spec.patient_name));
    s(&mut o, tags::PATIENT_ID, VR::LO, &opt(&spec.patient_id));
    s(
        &mut o,
        tags::PATIENT_BIRTH_DATE,
        VR::DA,
        &opt(&spec.patient_birth_date),
    );
    s(&mut o, tags::PATIENT_SEX, VR::CS, &opt(&spec.patient_sex));
    s(&mut o, tags::SLICE_THICKNESS, VR::DS, "");
    s(
        &mut o,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        &spec.study_instance_uid,
    );
    s(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, &series_uid);
    s(&mut o, tags::STUDY_ID, VR::SH, "");
    s(&mut o, tags::SERIES_NUMBER, VR::IS, "");
    s(&mut o, tags::INSTANCE_NUMBER, VR::IS, "1");
    let ds = |v: &[f64]| v.iter().map(|x| ds16(*x)).collect::<Vec<_>>().join("\\");
    s(&mut o, tags::IMAGE_POSITION_PATIENT, VR::DS, &ds(&origin));
    s(
        &mut o,
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        "1\\0\\0\\0\\1\\0",
    );
    s(
        &mut o,
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        &spec.frame_of_reference_uid,
    );
    s(&mut o, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
    o.put(DataElement::new(
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(1u16),
    ));
    s(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    s(&mut o, tags::NUMBER_OF_FRAMES, VR::IS, &nz.to_string());
    o.put(DataElement::new(
        tags::FRAME_INCREMENT_POINTER,
        VR::AT,
        PrimitiveValue::Tags(vec![tags::GRID_FRAME_OFFSET_VECTOR].into()),
    ));
    o.put(DataElement::new(
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(ny as u16),
    ));
    o.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(nx as u16),
    ));
    // PixelSpacing is (between rows = y, between columns = x).
    s(&mut o, tags::PIXEL_SPACING, VR::DS, &ds(&[dy, dx]));
    for (tag, v) in [
        (tags::BITS_ALLOCATED, 32u16),
        (tags::BITS_STORED, 32),
        (tags::HIGH_BIT, 31),
        (tags::PIXEL_REPRESENTATION, 0),
    ] {
        o.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
    }
    s(&mut o, tags::DOSE_UNITS, VR::CS, "GY");
    s(&mut o, tags::DOSE_TYPE, VR::CS, &spec.dose_type);
    s(&mut o, tags::DOSE_COMMENT, VR::LO, &spec.dose_comment);
    s(&mut o, tags::DOSE_SUMMATION_TYPE, VR::CS, "PLAN");
    let offsets: Vec<f64> = grid.z.iter().map(|z| z - origin[2]).collect();
    s(
        &mut o,
        tags::GRID_FRAME_OFFSET_VECTOR,
        VR::DS,
        &ds(&offsets),
    );
    s(&mut o, tags::DOSE_GRID_SCALING, VR::DS, &scaling_ds);
    if let Some(plan) = &spec.referenced_plan_uid {
        let mut item = InMemDicomObject::new_empty();
        s(
            &mut item,
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            RT_PLAN_CLASS,
        );
        s(&mut item, tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, plan);
        o.put(DataElement::new(
            tags::REFERENCED_RT_PLAN_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![item]),
        ));
    }
    // Canonical [iz, iy, ix] with increasing axes is exactly HFS storage order.
    let mut pixels = Vec::with_capacity(grid.dose.len() * 4);
    for v in grid.dose.iter() {
        let p = (*v as f64 / scaling).round().clamp(0.0, u32::MAX as f64) as u32;
        pixels.extend_from_slice(&p.to_le_bytes());
    }
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U8(pixels.into()),
    ));

    let meta = FileMetaTableBuilder::new()
        .transfer_syntax("1.2.840.10008.1.2.1")
        .media_storage_sop_class_uid(RT_DOSE_CLASS)
        .media_storage_sop_instance_uid(&sop_uid)
        .implementation_class_uid(derived_uid(&["radtox", "implementation"]))
        .implementation_version_name("RADTOX_1");
    let file = o
        .with_meta(meta)
        .map_err(|e| fail(format!("building the file meta group: {e}")))?;
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rtdose.dcm".into());
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    file.write_to_file(&tmp)
        .map_err(|e| fail(format!("writing: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        DicomError::Io {
            path: path.to_path_buf(),
            source,
        }
    })?;
    Ok(WrittenDose {
        path: path.to_path_buf(),
        sop_instance_uid: sop_uid,
        series_instance_uid: series_uid,
        dose_grid_scaling: scaling,
    })
}

/// DoseGridScaling for a maximum dose: max/(2³²−1) written with 10 significant digits
/// (DS holds 16 characters), rounded up so that max/scaling never exceeds u32::MAX.
/// Returns the value the text denotes (what readers will multiply by) and the text.
fn dose_grid_scaling(max: f64) -> (f64, String) {
    if max <= 0.0 {
        return (1.0, "1".into());
    }
    let exact = max / u32::MAX as f64;
    let mut candidate = exact;
    for _ in 0..4 {
        let text = format!("{candidate:.9e}");
        if let Ok(v) = text.parse::<f64>()
            && v >= exact
        {
            return (v, text);
        }
        candidate *= 1.0 + 1e-9;
    }
    let text = format!("{:.9e}", exact * 1.000_001);
    (text.parse().unwrap_or(exact * 1.000_001), text)
}

/// A decimal string of at most 16 characters (DS), as exact as that allows.
fn ds16(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    for decimals in (0..=10).rev() {
        let s = format!("{v:.decimals$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{v:.6e}")
}

/// `2.25.` + a 128-bit integer (PS3.5 B.2): from the hash of `parts` (FNV-1a 128).
pub(crate) fn derived_uid(parts: &[&str]) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1F;
            h = h.wrapping_mul(0x0000000001000000000000000000013B);
        }
        for &b in p.as_bytes() {
            h ^= u128::from(b);
            h = h.wrapping_mul(0x0000000001000000000000000000013B);
        }
    }
    format!("2.25.{h}")
}

/// `2.25.` + 128 random bits: SipHash with the process's random keys over the time, a
/// counter and the process id (no random-number crate needed for uniqueness).
fn random_uid() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(now);
        h.write_u64(n);
        h.write_u32(std::process::id());
        h.write_u64(salt);
        h.finish()
    };
    let v = (u128::from(half(1)) << 64) | u128::from(half(2));
    format!("2.25.{v}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_text_fits_ds_and_never_overflows() {
        for max in [1e-6, 0.5, 1.0, 2.0, 63.7, 81.234567, 1e4] {
            let (s, text) = dose_grid_scaling(max);
            assert!(text.len() <= 16, "{text}");
            assert_eq!(text.parse::<f64>().unwrap(), s);
            assert!(max / s <= u32::MAX as f64, "{max}: {s}");
            assert!(max / s > u32::MAX as f64 * 0.999_999, "{max}: {s}");
        }
    }

    #[test]
    fn ds_strings_fit_sixteen_characters() {
        for v in [0.0, -123.456789012345, 1e-7, 12345678.9, -0.5, 250.0] {
            let s = ds16(v);
            assert!(s.len() <= 16, "{s}");
            let back: f64 = s.parse().unwrap();
            assert!((back - v).abs() <= 1e-6 * v.abs().max(1.0), "{v} → {s}");
        }
    }

    #[test]
    fn uids_are_valid_and_distinct() {
        let a = random_uid();
        let b = random_uid();
        assert_ne!(a, b);
        for u in [&a, &b, &derived_uid(&["x", "y"])] {
            assert!(u.len() <= 64 && u.starts_with("2.25."), "{u}");
            assert!(!u[5..].starts_with('0') || u.len() == 6, "{u}");
        }
        assert_eq!(derived_uid(&["x", "y"]), derived_uid(&["x", "y"]));
        assert_ne!(derived_uid(&["x", "y"]), derived_uid(&["xy"]));
    }
}
