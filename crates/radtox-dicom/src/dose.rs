//! RT Dose: pixel data (native 16/32-bit in any byte order, RLE Lossless), grid geometry
//! normalised to the canonical [`DoseGrid`] layout, dose attributes and the DVH Sequence.

use crate::error::DicomError;
use crate::object::{Attrs, Kind, Mode, expect_kind, open};
use crate::raw::RawValue;
use crate::rle::decode_rle_frame;
use dicom_dictionary_std::tags;
use ndarray::Array3;
use radtox_model::{
    DoseGrid, DoseInfo, DoseSummationType, DoseUnits, TpsDvh, TpsDvhType, TpsVolumeUnits,
};
use rayon::prelude::*;
use std::path::Path;

/// One RT Dose file, read.
#[derive(Debug, Clone, PartialEq)]
pub struct RtDose {
    /// Dose in Gy (or relative units, see `info.units`) on the canonical grid.
    pub grid: DoseGrid,
    pub info: DoseInfo,
    /// The planning system's DVHs from the DVH Sequence (3004,0050), if any.
    pub tps_dvhs: Vec<TpsDvh>,
    /// Non-fatal oddities (absent DoseUnits, offset vector longer than the frames, ...).
    pub warnings: Vec<String>,
}

const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const DEFLATED_LE: &str = "1.2.840.10008.1.2.1.99";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

/// Tolerance on direction cosines for a grid to count as axis-aligned.
const COSINE_TOLERANCE: f64 = 1e-3;

/// Read an RT Dose file into a canonical dose grid (Gy × DoseGridScaling applied).
pub fn read_rt_dose(path: &Path) -> Result<RtDose, DicomError> {
    // Everything but the pixels is parsed from memory; native pixel data is then read
    // straight from the file into the grid, plane by plane in parallel, never held
    // whole. Encapsulated (RLE) and deflated pixel data are read with the rest.
    let first = open(path, Mode::BeforePixels)?;
    expect_kind(&first.attrs(path), Kind::Dose, "an RT Dose")?;
    let (opened, located) = match first.pixel_data_offset {
        Some(offset) => match locate_pixels(path, &first, offset)? {
            Some(loc) => (first, Some(loc)),
            None => (open(path, Mode::Full)?, None),
        },
        None => (first, None),
    };
    let a = opened.attrs(path);
    let mut warnings = opened.warnings.clone();

    let (rows, columns) = a.grey_image_size("a dose grid")?;
    let bits = a.usize(tags::BITS_ALLOCATED)?;
    if bits != 16 && bits != 32 {
        return Err(DicomError::unsupported(
            path,
            format!("(0028,0100) BitsAllocated {bits}: RT Dose must be 16 or 32 bits"),
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
    let scaling = a.f64(tags::DOSE_GRID_SCALING)?;
    if scaling <= 0.0 {
        return Err(a.bad(
            tags::DOSE_GRID_SCALING,
            format!("{scaling} is not positive"),
        ));
    }
    let position = a.f64_array::<3>(tags::IMAGE_POSITION_PATIENT)?;
    let orientation = a.f64_array::<6>(tags::IMAGE_ORIENTATION_PATIENT)?;
    let spacing = a.f64_array::<2>(tags::PIXEL_SPACING)?;
    if spacing.iter().any(|s| *s <= 0.0) {
        return Err(a.bad(tags::PIXEL_SPACING, format!("{spacing:?} must be positive")));
    }
    let declared_frames = match a.int_opt(tags::NUMBER_OF_FRAMES)? {
        None => None,
        Some(n) if n >= 1 => Some(n as usize),
        Some(n) => return Err(a.bad(tags::NUMBER_OF_FRAMES, format!("{n} frames"))),
    };
    let offsets = a.f64s_opt(tags::GRID_FRAME_OFFSET_VECTOR)?;

    // --- pixel data: a view over the decoded samples, in file order (frame, row, column).
    let bytes_per_sample = bits / 8;
    let frame_samples = rows * columns;
    let ts = opened.transfer_syntax.as_str();
    let big_endian = ts == EXPLICIT_BE;
    let rle_buffer;
    let pixel_value = match &located {
        Some(_) => None,
        None => Some(
            &a.element(tags::PIXEL_DATA)
                .ok_or_else(|| DicomError::missing(path, tags::PIXEL_DATA, ""))?
                .value,
        ),
    };
    let pixels: Pixels = match (pixel_value, located) {
        (_, Some(loc)) => Pixels::File(loc),
        (None, None) => return Err(DicomError::missing(path, tags::PIXEL_DATA, "")),
        (Some(RawValue::Bytes(start, end)), None) => {
            Pixels::Memory(opened.buf.get(*start..*end).unwrap_or(&[]))
        }
        (Some(RawValue::Fragments(fragments)), None) => {
            if ts != RLE_LOSSLESS {
                return Err(DicomError::unsupported(
                    path,
                    format!(
                        "compressed pixel data in transfer syntax {ts}; only RLE Lossless is decoded"
                    ),
                ));
            }
            // RLE Lossless puts each frame in exactly one fragment (PS3.5 A.4.2); the
            // first item is the basic offset table.
            let frames = fragments.get(1..).unwrap_or(&[]);
            let mut out = Vec::with_capacity(frames.len() * frame_samples * bytes_per_sample);
            for (f, &(s, e)) in frames.iter().enumerate() {
                let frag = opened.buf.get(s..e).unwrap_or(&[]);
                decode_rle_frame(frag, frame_samples, bytes_per_sample, &mut out)
                    .map_err(|m| a.bad(tags::PIXEL_DATA, format!("RLE frame {}: {m}", f + 1)))?;
            }
            rle_buffer = out;
            Pixels::Memory(&rle_buffer)
        }
        (Some(RawValue::Items(_)), None) => {
            return Err(a.bad(tags::PIXEL_DATA, "is a sequence"));
        }
    };
    // RLE output is little endian whatever the transfer syntax.
    let big_endian = big_endian && !matches!(pixel_value, Some(RawValue::Fragments(_)));
    if !matches!(
        ts,
        IMPLICIT_LE | EXPLICIT_LE | DEFLATED_LE | EXPLICIT_BE | RLE_LOSSLESS
    ) {
        return Err(DicomError::unsupported(
            path,
            format!("transfer syntax {ts}"),
        ));
    }
    let actual_bytes = pixels.len();

    // Frame count. NumberOfFrames absent means one frame (PS3.3 C.7.6.6). The offset
    // vector alone never decides (pydicom's rtdose_1frame.dcm has 15 offsets and one
    // frame of pixel data). Only when the pixel data holds exactly as many whole frames as
    // there are offsets do both independent sources agree on a multi-frame grid whose
    // NumberOfFrames was dropped; we then trust them and warn.
    let frames = match declared_frames {
        Some(n) => n,
        None => {
            let whole = actual_bytes / (frame_samples * bytes_per_sample);
            let exact = actual_bytes % (frame_samples * bytes_per_sample) <= 1;
            match &offsets {
                Some(o) if whole > 1 && exact && o.len() == whole => {
                    warnings.push(format!(
                        "NumberOfFrames (0028,0008) is absent but PixelData holds exactly {whole} frames, \
                         one per GridFrameOffsetVector value: read {whole} frames"
                    ));
                    whole
                }
                _ => 1,
            }
        }
    };
    let expected = frames * frame_samples * bytes_per_sample;
    if actual_bytes < expected {
        return Err(DicomError::PixelDataTooShort {
            path: path.to_path_buf(),
            rows,
            columns,
            frames,
            bytes_per_sample,
            expected,
            actual: actual_bytes,
        });
    }
    if actual_bytes > expected + 1 {
        warnings.push(format!(
            "PixelData holds {actual_bytes} bytes, {expected} needed for {frames} frame(s) of {rows}×{columns}: \
             the rest is ignored"
        ));
    }

    let offsets = match offsets {
        None if frames == 1 => vec![0.0],
        None => return Err(a.missing(tags::GRID_FRAME_OFFSET_VECTOR)),
        Some(o) if o.len() < frames => {
            return Err(a.bad(
                tags::GRID_FRAME_OFFSET_VECTOR,
                format!("{} values for {frames} frames", o.len()),
            ));
        }
        Some(mut o) => {
            if o.len() > frames {
                warnings.push(format!(
                    "GridFrameOffsetVector (3004,000C) has {} values for {frames} frame(s): extra values ignored",
                    o.len()
                ));
                o.truncate(frames);
            }
            o
        }
    };

    let geometry = Geometry::new(
        &a,
        position,
        orientation,
        spacing,
        &offsets,
        [frames, rows, columns],
        &mut warnings,
    )?;
    // One conversion from the file bytes to f32, straight into the canonical layout.
    let dose = match (bits, signed, big_endian) {
        (16, false, false) => fill(&geometry, &pixels, |b: [u8; 2]| {
            u16::from_le_bytes(b) as f64 * scaling
        }),
        (16, false, true) => fill(&geometry, &pixels, |b: [u8; 2]| {
            u16::from_be_bytes(b) as f64 * scaling
        }),
        (16, true, false) => fill(&geometry, &pixels, |b: [u8; 2]| {
            i16::from_le_bytes(b) as f64 * scaling
        }),
        (16, true, true) => fill(&geometry, &pixels, |b: [u8; 2]| {
            i16::from_be_bytes(b) as f64 * scaling
        }),
        (_, false, false) => fill(&geometry, &pixels, |b: [u8; 4]| {
            u32_to_f64(u32::from_le_bytes(b)) * scaling
        }),
        (_, false, true) => fill(&geometry, &pixels, |b: [u8; 4]| {
            u32_to_f64(u32::from_be_bytes(b)) * scaling
        }),
        (_, true, false) => fill(&geometry, &pixels, |b: [u8; 4]| {
            i32::from_le_bytes(b) as f64 * scaling
        }),
        (_, true, true) => fill(&geometry, &pixels, |b: [u8; 4]| {
            i32::from_be_bytes(b) as f64 * scaling
        }),
    }
    .map_err(|source| DicomError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let [x, y, z] = geometry.axes;
    let grid = DoseGrid::new(x, y, z, dose).map_err(|e| {
        a.bad(
            tags::IMAGE_POSITION_PATIENT,
            format!("grid geometry is inconsistent: {e}"),
        )
    })?;

    let mut units = match a
        .str_opt(tags::DOSE_UNITS)
        .map(|s| s.to_ascii_uppercase())
        .as_deref()
    {
        Some("GY") => DoseUnits::Gy,
        Some("RELATIVE") => DoseUnits::Relative,
        Some("CGY") => DoseUnits::Gy, // converted below
        Some(other) => return Err(a.bad(tags::DOSE_UNITS, format!("unknown units '{other}'"))),
        None => {
            warnings.push(
                "DoseUnits (3004,0002) is absent: units unknown (assumed Gy downstream)".into(),
            );
            DoseUnits::Unknown
        }
    };
    let mut grid = grid;
    if a.str_opt(tags::DOSE_UNITS)
        .is_some_and(|s| s.eq_ignore_ascii_case("CGY"))
    {
        // Not a defined term for RT Dose, but seen in the wild; the numbers are cGy.
        grid.dose.mapv_inplace(|v| v * 0.01);
        warnings.push(
            "DoseUnits (3004,0002) is CGY (not a DICOM defined term): converted to Gy".into(),
        );
        units = DoseUnits::Gy;
    }

    let summation = match a.str_opt(tags::DOSE_SUMMATION_TYPE) {
        None => {
            warnings.push("DoseSummationType (3004,000A) is absent".into());
            DoseSummationType::Other(String::new())
        }
        Some(s) => summation_type(&s),
    };
    let (referenced_plan_uid, referenced_beams) = referenced_plan(&a)?;
    let info = DoseInfo {
        source: path.to_path_buf(),
        sop_instance_uid: a.str_opt(tags::SOP_INSTANCE_UID),
        frame_of_reference_uid: a.str_opt(tags::FRAME_OF_REFERENCE_UID),
        units,
        dose_type: a.str_opt(tags::DOSE_TYPE),
        summation,
        referenced_plan_uid,
        referenced_beams,
        orientation,
    };
    let tps_dvhs = read_dvh_sequence(&a, &mut warnings)?;
    Ok(RtDose {
        grid,
        info,
        tps_dvhs,
        warnings,
    })
}

fn summation_type(s: &str) -> DoseSummationType {
    match s.to_ascii_uppercase().as_str() {
        "PLAN" => DoseSummationType::Plan,
        "MULTI_PLAN" => DoseSummationType::MultiPlan,
        "FRACTION" => DoseSummationType::Fraction,
        "BEAM" => DoseSummationType::Beam,
        "BRACHY" => DoseSummationType::Brachy,
        "FRACTION_SESSION" => DoseSummationType::FractionSession,
        "BEAM_SESSION" => DoseSummationType::BeamSession,
        "BRACHY_SESSION" => DoseSummationType::BrachySession,
        "CONTROL_POINT" => DoseSummationType::ControlPoint,
        "RECORD" => DoseSummationType::Record,
        _ => DoseSummationType::Other(s.to_string()),
    }
}

/// ReferencedRTPlanSequence → (plan SOP Instance UID, beam numbers of its fraction groups).
fn referenced_plan(a: &Attrs) -> Result<(Option<String>, Vec<i32>), DicomError> {
    let Some(item) = a.items(tags::REFERENCED_RT_PLAN_SEQUENCE).first() else {
        return Ok((None, Vec::new()));
    };
    let ctx = "ReferencedRTPlanSequence item 1";
    let p = a.with_context(item, ctx);
    let uid = p.str_opt(tags::REFERENCED_SOP_INSTANCE_UID);
    let mut beams = Vec::new();
    for fg in p.items(tags::REFERENCED_FRACTION_GROUP_SEQUENCE) {
        let f = a.with_context(fg, ctx);
        for b in f.items(tags::REFERENCED_BEAM_SEQUENCE) {
            if let Some(n) = a
                .with_context(b, ctx)
                .i32_opt(tags::REFERENCED_BEAM_NUMBER)?
            {
                beams.push(n);
            }
        }
    }
    Ok((uid, beams))
}

/// DVH Sequence (3004,0050) → planning-system DVHs. DVHMinimum/Maximum/MeanDose are not
/// read: dicompyler's example stores them in percent although DoseUnits says GY.
fn read_dvh_sequence(a: &Attrs, warnings: &mut Vec<String>) -> Result<Vec<TpsDvh>, DicomError> {
    let mut out = Vec::new();
    for (n, item) in a.items(tags::DVH_SEQUENCE).iter().enumerate() {
        let ctx = format!("DVH Sequence item {}", n + 1);
        let d = a.with_context(item, &ctx);
        let roi_number = d
            .items(tags::DVH_REFERENCED_ROI_SEQUENCE)
            .first()
            .ok_or_else(|| d.missing(tags::DVH_REFERENCED_ROI_SEQUENCE))
            .and_then(|r| {
                d.with_context(r, &ctx)
                    .i32_opt(tags::REFERENCED_ROI_NUMBER)?
                    .ok_or_else(|| d.missing(tags::REFERENCED_ROI_NUMBER))
            })?;
        let dvh_type = match d.str_opt(tags::DVH_TYPE).as_deref() {
            Some("CUMULATIVE") => TpsDvhType::Cumulative,
            Some("DIFFERENTIAL") => TpsDvhType::Differential,
            Some("NATURAL") => TpsDvhType::Natural,
            Some(o) => return Err(d.bad(tags::DVH_TYPE, format!("unknown DVH type '{o}'"))),
            None => return Err(d.missing(tags::DVH_TYPE)),
        };
        let to_gy = match d
            .str_opt(tags::DOSE_UNITS)
            .map(|s| s.to_ascii_uppercase())
            .as_deref()
        {
            Some("GY") => 1.0,
            Some("CGY") => 0.01,
            other => {
                warnings.push(format!(
                    "{ctx} (ROI {roi_number}): DoseUnits {} is not absolute dose; DVH skipped",
                    other.unwrap_or("absent")
                ));
                continue;
            }
        };
        let volume_units = match d.str_opt(tags::DVH_VOLUME_UNITS).as_deref() {
            Some("CM3") => TpsVolumeUnits::Cm3,
            Some("PERCENT") => TpsVolumeUnits::Percent,
            Some("PER_U") => TpsVolumeUnits::PerU,
            Some(o) => {
                return Err(d.bad(
                    tags::DVH_VOLUME_UNITS,
                    format!("unknown volume units '{o}'"),
                ));
            }
            None => return Err(d.missing(tags::DVH_VOLUME_UNITS)),
        };
        let scaling = d.f64_opt(tags::DVH_DOSE_SCALING)?.unwrap_or(1.0);
        let data = d.f64s(tags::DVH_DATA)?;
        if data.len() % 2 != 0 {
            return Err(d.bad(
                tags::DVH_DATA,
                format!("{} values: not (dose, volume) pairs", data.len()),
            ));
        }
        if let Some(bins) = d.int_opt(tags::DVH_NUMBER_OF_BINS)?
            && bins as usize != data.len() / 2
        {
            warnings.push(format!(
                "{ctx} (ROI {roi_number}): DVHNumberOfBins is {bins} but DVHData holds {} pairs",
                data.len() / 2
            ));
        }
        let (bin_widths_gy, volumes) = data
            .chunks_exact(2)
            .map(|p| (p[0] * scaling * to_gy, p[1]))
            .unzip();
        out.push(TpsDvh {
            roi_number,
            dvh_type,
            volume_units,
            bin_widths_gy,
            volumes,
        });
    }
    Ok(out)
}

/// The stored samples: in memory (decoded RLE, deflated files) or still in the file.
enum Pixels<'a> {
    Memory(&'a [u8]),
    File(PixelLocation),
}

impl Pixels<'_> {
    fn len(&self) -> usize {
        match self {
            Pixels::Memory(b) => b.len(),
            Pixels::File(loc) => loc.len,
        }
    }
}

/// Native PixelData left in the file by [`Mode::BeforePixels`].
struct PixelLocation {
    file: std::fs::File,
    /// File offset of the first sample.
    start: u64,
    len: usize,
}

/// Read the PixelData element header at `offset`: where its value starts and how long
/// it is. `None` for encapsulated (undefined length) pixel data.
fn locate_pixels(
    path: &Path,
    opened: &crate::object::Opened,
    offset: u64,
) -> Result<Option<PixelLocation>, DicomError> {
    let io = |source| DicomError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut head = [0u8; 12];
    let got = read_at(&file, &mut head, offset).map_err(io)?;
    let ts = opened.transfer_syntax.as_str();
    let be = ts == EXPLICIT_BE;
    let explicit = ts != IMPLICIT_LE;
    let u32_at = |i: usize| -> Option<u32> {
        let b: [u8; 4] = head.get(i..i + 4)?.try_into().ok()?;
        Some(if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let u16_at = |i: usize| -> Option<u16> {
        let b: [u8; 2] = head.get(i..i + 2)?.try_into().ok()?;
        Some(if be {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let long_vr = matches!(
        head.get(4..6),
        Some(b"OB" | b"OW" | b"OF" | b"OD" | b"OL" | b"UN")
    );
    let (len, header) = match (explicit, long_vr) {
        (true, true) => (u32_at(8), 12),
        (true, false) => (u16_at(6).map(u32::from), 8),
        (false, _) => (u32_at(4), 8),
    };
    let cut = || DicomError::Unreadable {
        path: path.to_path_buf(),
        message: format!(
            "the file ends inside the (7FE0,0010) PixelData element header at byte {offset}"
        ),
    };
    if got < header {
        return Err(cut());
    }
    let len = len.ok_or_else(cut)?;
    if len == u32::MAX {
        return Ok(None);
    }
    let start = offset + header as u64;
    if start + u64::from(len) > size {
        return Err(DicomError::Unreadable {
            path: path.to_path_buf(),
            message: format!(
                "(7FE0,0010) PixelData claims {len} bytes but the file ends {} bytes after its start",
                size.saturating_sub(start)
            ),
        });
    }
    Ok(Some(PixelLocation {
        file,
        start,
        len: len as usize,
    }))
}

/// Read up to `buf.len()` bytes at `offset` (fewer only at the end of the file).
fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        let rest = buf.get_mut(done..).unwrap_or(&mut []);
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(file, rest, offset + done as u64)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(file, rest, offset + done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// u32 → f64 exactly, through the bits of 2^52 + v, which vectorises where a plain
/// conversion of unsigned 32-bit integers does not (x86-64 baseline has no such
/// instruction).
#[inline(always)]
fn u32_to_f64(v: u32) -> f64 {
    f64::from_bits(0x4330_0000_0000_0000 | u64::from(v)) - 4_503_599_627_370_496.0
}

/// The canonical grid from the samples wherever they are.
fn fill<const N: usize>(
    geometry: &Geometry,
    pixels: &Pixels,
    convert: impl Fn([u8; N]) -> f64 + Sync,
) -> std::io::Result<Array3<f32>> {
    match pixels {
        Pixels::Memory(raw) => Ok(geometry.fill(raw, convert)),
        Pixels::File(loc) => geometry.fill_from_file(loc, convert),
    }
}

/// Where each file index (frame, row, column) lands in the canonical [iz, iy, ix] array.
pub(crate) struct Geometry {
    /// Strictly increasing x, y, z positions.
    pub(crate) axes: [Vec<f64>; 3],
    /// Per canonical axis (x, y, z) and index along it: the flat sample index
    /// contribution in the file's (frame, row, column) order.
    sources: [Vec<usize>; 3],
    /// Samples per file frame (rows × columns).
    frame_samples: usize,
}

/// The patient axis (0 = x, 1 = y, 2 = z) and sign of an axis-aligned direction cosine
/// vector, or `None` if it is oblique.
fn axis_of(v: [f64; 3]) -> Option<(usize, f64)> {
    let (axis, big) = v
        .iter()
        .enumerate()
        .max_by(|p, q| p.1.abs().total_cmp(&q.1.abs()))?;
    let ok = (big.abs() - 1.0).abs() <= COSINE_TOLERANCE
        && v.iter()
            .enumerate()
            .all(|(i, c)| i == axis || c.abs() <= COSINE_TOLERANCE);
    ok.then_some((axis, big.signum()))
}

impl Geometry {
    /// `dims` = [frames, rows, columns]. Voxel (k, i, j) is at
    /// IPP + j·Δc·row_cosine + i·Δr·column_cosine + offset_k·normal (PS3.3 C.7.6.2.1.1,
    /// C.8.8.3.2), where PixelSpacing = [Δr between rows, Δc between columns].
    pub(crate) fn new(
        a: &Attrs,
        ipp: [f64; 3],
        iop: [f64; 6],
        spacing: [f64; 2],
        offsets: &[f64],
        dims: [usize; 3],
        warnings: &mut Vec<String>,
    ) -> Result<Geometry, DicomError> {
        let row_cos = [iop[0], iop[1], iop[2]];
        let col_cos = [iop[3], iop[4], iop[5]];
        let oblique = || {
            DicomError::unsupported(
                a.path,
                format!(
                    "(0020,0037) ImageOrientationPatient {iop:?} is not axis-aligned (within {COSINE_TOLERANCE}); \
                     oblique dose grids are not supported"
                ),
            )
        };
        let (r_axis, r_sign) = axis_of(row_cos).ok_or_else(oblique)?;
        let (c_axis, c_sign) = axis_of(col_cos).ok_or_else(oblique)?;
        if r_axis == c_axis {
            return Err(a.bad(
                tags::IMAGE_ORIENTATION_PATIENT,
                format!("{iop:?}: row and column directions are parallel"),
            ));
        }
        let n_axis = 3 - r_axis - c_axis;
        // Sign of (e_r × e_c) along n: +1 for a cyclic (x,y,z) order, −1 otherwise.
        let cyclic = (r_axis + 1) % 3 == c_axis;
        let n_sign = r_sign * c_sign * if cyclic { 1.0 } else { -1.0 };

        // Offsets are relative (first = 0) or absolute (first = IPP along the normal).
        let first = offsets.first().copied().unwrap_or(0.0);
        let ipp_normal = ipp[n_axis] * n_sign;
        let relative: Vec<f64> = if first.abs() < 1e-3 {
            offsets.to_vec()
        } else if (first - ipp_normal).abs() < 1e-3 {
            offsets.iter().map(|o| o - first).collect()
        } else {
            warnings.push(format!(
                "GridFrameOffsetVector (3004,000C) starts at {first}, neither 0 (relative) nor the \
                 image position along the slice normal {ipp_normal} (absolute): read as relative"
            ));
            offsets.to_vec()
        };
        let [frames, rows, columns] = dims;
        let frame_pos: Vec<f64> = relative.iter().map(|o| ipp[n_axis] + n_sign * o).collect();
        let row_pos: Vec<f64> = (0..rows)
            .map(|i| ipp[c_axis] + c_sign * i as f64 * spacing[0])
            .collect();
        let col_pos: Vec<f64> = (0..columns)
            .map(|j| ipp[r_axis] + r_sign * j as f64 * spacing[1])
            .collect();
        debug_assert_eq!(frame_pos.len(), frames);

        let file_axes = [n_axis, c_axis, r_axis];
        let mut canon_len = [0usize; 3];
        for (d, &ax) in file_axes.iter().enumerate() {
            canon_len[ax] = dims[d];
        }
        // Flat strides of the file's (frame, row, column) order.
        let file_stride = [rows * columns, columns, 1];
        let mut axes: [Vec<f64>; 3] = Default::default();
        let mut sources: [Vec<usize>; 3] = Default::default();
        for (d, pos) in [frame_pos, row_pos, col_pos].into_iter().enumerate() {
            let ax = file_axes[d];
            let mut order: Vec<usize> = (0..pos.len()).collect();
            order.sort_by(|&p, &q| pos[p].total_cmp(&pos[q]));
            let sorted: Vec<f64> = order.iter().map(|&k| pos[k]).collect();
            if sorted.windows(2).any(|w| w[1] - w[0] < 1e-6) {
                return Err(a.bad(
                    tags::GRID_FRAME_OFFSET_VECTOR,
                    format!(
                        "repeated plane positions along the {} axis",
                        ['x', 'y', 'z'][ax]
                    ),
                ));
            }
            let stride = file_stride.get(d).copied().unwrap_or(0);
            sources[ax] = order.iter().map(|&src| src * stride).collect();
            axes[ax] = sorted;
        }
        Ok(Geometry {
            axes,
            sources,
            frame_samples: rows * columns,
        })
    }

    /// The canonical [iz, iy, ix] array, each voxel converted once from its `N`-byte
    /// file sample; z-planes are filled in parallel (they are independent). The caller
    /// checked that `raw` holds every sample; a short buffer would leave zeros, not panic.
    pub(crate) fn fill<const N: usize>(
        &self,
        raw: &[u8],
        convert: impl Fn([u8; N]) -> f64 + Sync,
    ) -> Array3<f32> {
        let [sx, sy, sz] = &self.sources;
        let (nx, ny, nz) = (sx.len(), sy.len(), sz.len());
        let mut out = crate::pages::zeroed_huge::<f32>(nx * ny * nz);
        out.par_chunks_mut((nx * ny).max(1))
            .zip(sz.par_iter())
            .for_each(|(plane, &z_src)| self.fill_plane(plane, raw, z_src, &convert));
        self.shaped(out)
    }

    fn shaped(&self, out: Vec<f32>) -> Array3<f32> {
        let shape = (
            self.sources[2].len(),
            self.sources[1].len(),
            self.sources[0].len(),
        );
        // The shape has nz×ny×nx elements by construction.
        Array3::from_shape_vec(shape, out).unwrap_or_else(|_| Array3::zeros(shape))
    }

    /// The same from samples still in the file. When every canonical z-plane is one file
    /// frame (axial grids, the usual case) each plane is read on its own, in parallel,
    /// into a buffer that stays in cache; otherwise the samples are read whole first.
    fn fill_from_file<const N: usize>(
        &self,
        loc: &PixelLocation,
        convert: impl Fn([u8; N]) -> f64 + Sync,
    ) -> std::io::Result<Array3<f32>> {
        let [sx, sy, sz] = &self.sources;
        let (nx, ny, nz) = (sx.len(), sy.len(), sz.len());
        let fs = self.frame_samples.max(1);
        let in_frame = |v: &[usize]| v.iter().copied().max().unwrap_or(0);
        let axial = sz.iter().all(|z| z % fs == 0) && in_frame(sx) + in_frame(sy) < fs;
        if !axial {
            let mut raw = vec![0u8; loc.len];
            read_at(&loc.file, &mut raw, loc.start)?;
            return Ok(self.fill(&raw, convert));
        }
        let mut out = crate::pages::zeroed_huge::<f32>(nx * ny * nz);
        out.par_chunks_mut((nx * ny).max(1))
            .zip(sz.par_iter())
            .try_for_each_init(Vec::new, |buf: &mut Vec<u8>, (plane, &z_src)| {
                buf.resize(fs * N, 0);
                let got = read_at(&loc.file, buf, loc.start + (z_src * N) as u64)?;
                // The element length was checked against the samples needed; a file
                // shrinking under us reads as zeros rather than garbage.
                buf.get_mut(got..).unwrap_or(&mut []).fill(0);
                self.fill_plane(plane, buf, 0, &convert);
                Ok::<(), std::io::Error>(())
            })?;
        Ok(self.shaped(out))
    }

    /// One canonical z-plane from `raw`, whose file frame starts at sample `z_src`.
    fn fill_plane<const N: usize>(
        &self,
        plane: &mut [f32],
        raw: &[u8],
        z_src: usize,
        convert: &(impl Fn([u8; N]) -> f64 + Sync),
    ) {
        let [sx, sy, _] = &self.sources;
        let nx = sx.len();
        let sample = |i: usize| {
            raw.get(N * i..N * i + N)
                .and_then(|b| <[u8; N]>::try_from(b).ok())
                .map_or(0.0, convert)
        };
        // When x runs along the file's columns, in either direction, a canonical row is
        // one contiguous run of file samples: convert it as a slice (vectorisable).
        let x0 = sx.first().copied().unwrap_or(0);
        let forward = sx.iter().enumerate().all(|(i, &s)| s == x0 + i);
        let x_last = sx.last().copied().unwrap_or(0);
        let backward = sx
            .iter()
            .enumerate()
            .all(|(i, &s)| s == x_last + (nx - 1 - i));
        for (row, &y_src) in plane.chunks_exact_mut(nx.max(1)).zip(sy) {
            let base = z_src + y_src;
            let run_start = if forward {
                Some(base + x0)
            } else if backward {
                Some(base + x_last)
            } else {
                None
            };
            let run = run_start.and_then(|s| raw.get(N * s..N * (s + nx)));
            match run {
                Some(bytes) if forward => {
                    for (v, b) in row.iter_mut().zip(bytes.chunks_exact(N)) {
                        *v = <[u8; N]>::try_from(b).map_or(0.0, convert) as f32;
                    }
                }
                Some(bytes) => {
                    for (v, b) in row.iter_mut().zip(bytes.chunks_exact(N).rev()) {
                        *v = <[u8; N]>::try_from(b).map_or(0.0, convert) as f32;
                    }
                }
                None => {
                    for (v, &x_src) in row.iter_mut().zip(sx) {
                        *v = sample(base + x_src) as f32;
                    }
                }
            }
        }
    }
}
