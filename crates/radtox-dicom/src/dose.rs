//! RT Dose: pixel data (native 16/32-bit in any byte order, RLE Lossless), grid geometry
//! normalised to the canonical [`DoseGrid`] layout, dose attributes and the DVH Sequence.

use crate::error::DicomError;
use crate::object::{Attrs, Kind, expect_kind, open};
use crate::rle::decode_rle_frame;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use ndarray::Array3;
use radtox_model::{
    DoseGrid, DoseInfo, DoseSummationType, DoseUnits, TpsDvh, TpsDvhType, TpsVolumeUnits,
};
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
    let mut opened = open(path, None)?;
    expect_kind(&opened.obj, path, Kind::Dose, "an RT Dose")?;
    // Take PixelData out of the object so its buffer is borrowed, never cloned.
    let pixel = opened
        .obj
        .take(tags::PIXEL_DATA)
        .ok_or_else(|| DicomError::missing(path, tags::PIXEL_DATA, ""))?;
    let a = Attrs::new(&opened.obj, path);
    let mut warnings = std::mem::take(&mut opened.warnings);

    let rows = a.usize(tags::ROWS)?;
    let columns = a.usize(tags::COLUMNS)?;
    if rows == 0 || columns == 0 {
        return Err(a.bad(
            tags::ROWS,
            format!("grid of {rows} rows × {columns} columns is empty"),
        ));
    }
    if let Some(spp) = a.int_opt(tags::SAMPLES_PER_PIXEL)?
        && spp != 1
    {
        return Err(a.bad(
            tags::SAMPLES_PER_PIXEL,
            format!("{spp}: a dose grid has 1 sample per pixel"),
        ));
    }
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
    let raw = match pixel.value() {
        Value::Primitive(PrimitiveValue::U8(b)) => Raw::Bytes(b, big_endian),
        Value::Primitive(PrimitiveValue::U16(w)) => Raw::Words(w, big_endian),
        Value::Primitive(PrimitiveValue::U32(d)) => Raw::Dwords(d),
        Value::Primitive(PrimitiveValue::Empty) => Raw::Bytes(&[], false),
        Value::Primitive(_) => {
            return Err(a.bad(tags::PIXEL_DATA, "pixel data is not a byte or word array"));
        }
        Value::PixelSequence(seq) => {
            if ts != RLE_LOSSLESS {
                return Err(DicomError::unsupported(
                    path,
                    format!(
                        "compressed pixel data in transfer syntax {ts}; only RLE Lossless is decoded"
                    ),
                ));
            }
            // RLE Lossless puts each frame in exactly one fragment (PS3.5 A.4.2).
            let mut out =
                Vec::with_capacity(seq.fragments().len() * frame_samples * bytes_per_sample);
            for (f, frag) in seq.fragments().iter().enumerate() {
                decode_rle_frame(frag, frame_samples, bytes_per_sample, &mut out)
                    .map_err(|m| a.bad(tags::PIXEL_DATA, format!("RLE frame {}: {m}", f + 1)))?;
            }
            rle_buffer = out;
            Raw::Bytes(&rle_buffer, false)
        }
        Value::Sequence(_) => return Err(a.bad(tags::PIXEL_DATA, "is a sequence")),
    };
    if !matches!(
        ts,
        IMPLICIT_LE | EXPLICIT_LE | DEFLATED_LE | EXPLICIT_BE | RLE_LOSSLESS
    ) {
        return Err(DicomError::unsupported(
            path,
            format!("transfer syntax {ts}"),
        ));
    }
    let actual_bytes = raw.byte_len();

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
    let dose = match (bits, signed) {
        (16, false) => geometry.fill(|i| raw.u16(i) as f64 * scaling),
        (16, true) => geometry.fill(|i| raw.u16(i) as i16 as f64 * scaling),
        (_, false) => geometry.fill(|i| raw.u32(i) as f64 * scaling),
        (_, true) => geometry.fill(|i| raw.u32(i) as i32 as f64 * scaling),
    };
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

/// Decoded-but-unconverted samples in file order, whatever container dicom-rs gave.
enum Raw<'a> {
    /// Bytes in file order; `true` = big endian samples.
    Bytes(&'a [u8], bool),
    /// 16-bit words already in native order (OW); a 32-bit sample spans two of them,
    /// most significant first in a big endian file, least significant first otherwise.
    Words(&'a [u16], bool),
    Dwords(&'a [u32]),
}

impl Raw<'_> {
    fn byte_len(&self) -> usize {
        match self {
            Raw::Bytes(b, _) => b.len(),
            Raw::Words(w, _) => w.len() * 2,
            Raw::Dwords(d) => d.len() * 4,
        }
    }

    // Indexing is safe: `fill` only asks for indices below frames×rows×columns, and the
    // byte length was checked against that before.
    #[inline(always)]
    fn u16(&self, i: usize) -> u16 {
        match self {
            Raw::Bytes(b, false) => u16::from_le_bytes([b[2 * i], b[2 * i + 1]]),
            Raw::Bytes(b, true) => u16::from_be_bytes([b[2 * i], b[2 * i + 1]]),
            Raw::Words(w, _) => w[i],
            Raw::Dwords(d) => {
                let v = d[i / 2];
                if i.is_multiple_of(2) {
                    v as u16
                } else {
                    (v >> 16) as u16
                }
            }
        }
    }

    #[inline(always)]
    fn u32(&self, i: usize) -> u32 {
        match self {
            Raw::Bytes(b, false) => {
                u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
            }
            Raw::Bytes(b, true) => {
                u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
            }
            Raw::Words(w, false) => (w[2 * i] as u32) | ((w[2 * i + 1] as u32) << 16),
            Raw::Words(w, true) => ((w[2 * i] as u32) << 16) | (w[2 * i + 1] as u32),
            Raw::Dwords(d) => d[i],
        }
    }
}

/// Where each file index (frame, row, column) lands in the canonical [iz, iy, ix] array.
struct Geometry {
    /// Strictly increasing x, y, z positions.
    axes: [Vec<f64>; 3],
    /// Per file dimension (frame, row, column): flat canonical offset of each index.
    offsets: [Vec<usize>; 3],
    dims: [usize; 3],
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
    fn new(
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
        // Flat strides of the canonical [iz, iy, ix] array.
        let stride = [1, canon_len[0], canon_len[0] * canon_len[1]];
        let mut axes: [Vec<f64>; 3] = Default::default();
        let mut flat: [Vec<usize>; 3] = Default::default();
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
            let mut off = vec![0usize; pos.len()];
            for (canon, &src) in order.iter().enumerate() {
                off[src] = canon * stride[ax];
            }
            axes[ax] = sorted;
            flat[d] = off;
        }
        Ok(Geometry {
            axes,
            offsets: flat,
            dims,
        })
    }

    /// One pass over the file's samples, writing each (scaled) into its canonical place.
    fn fill(&self, sample: impl Fn(usize) -> f64) -> Array3<f32> {
        let [frames, rows, columns] = self.dims;
        let mut out = vec![0f32; frames * rows * columns];
        let [of, or, oc] = &self.offsets;
        let mut i = 0;
        for fo in of {
            for ro in or {
                let base = fo + ro;
                for co in oc {
                    out[base + co] = sample(i) as f32;
                    i += 1;
                }
            }
        }
        let shape = (self.axes[2].len(), self.axes[1].len(), self.axes[0].len());
        // The shape has frames×rows×columns elements by construction.
        Array3::from_shape_vec(shape, out).unwrap_or_else(|_| Array3::zeros(shape))
    }
}
