//! Plans with one defect injected, for testing that readers fail cleanly.

use dicom_core::value::Value;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use std::path::Path;

use crate::write::{build, prepare_dir, save};
use crate::{FixtureError, Phantom, WriteOptions, WrittenPlan};

/// One defect. Every fault leaves the other two files of the plan intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `rtdose.dcm` has zero bytes.
    EmptyFile,
    /// `rtdose.dcm` is a text file (no preamble, no `DICM`).
    NotDicom,
    /// `rtdose.dcm` is cut in the middle of its PixelData value (the element header
    /// promises more bytes than the file holds).
    TruncatedDose,
    /// A well-formed `rtdose.dcm` whose PixelData lacks the last frame: fewer bytes than
    /// Rows × Columns × NumberOfFrames × BitsAllocated/8.
    ShortPixelData,
    /// `rtdose.dcm` without DoseGridScaling (3004,000E).
    MissingDoseGridScaling,
    /// The first contour of the first ROI has a ContourData value `"n/a"`.
    NonNumericContourData,
    /// `rtdose.dcm` has a FrameOfReferenceUID different from the structure set's.
    MismatchedFrameOfReference,
    /// The first ROI gets an extra CLOSED_PLANAR contour of two points (zero area) on
    /// its first plane.
    DegenerateContour,
}

impl Fault {
    pub const ALL: [Fault; 8] = [
        Fault::EmptyFile,
        Fault::NotDicom,
        Fault::TruncatedDose,
        Fault::ShortPixelData,
        Fault::MissingDoseGridScaling,
        Fault::NonNumericContourData,
        Fault::MismatchedFrameOfReference,
        Fault::DegenerateContour,
    ];
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FixtureError + '_ {
    move |source| FixtureError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn invalid(ph: &Phantom, reason: &str) -> FixtureError {
    FixtureError::InvalidPhantom {
        phantom: ph.name.clone(),
        reason: reason.to_owned(),
    }
}

/// Writes the plan of `ph` (default [`WriteOptions`]) into `dir` with `fault` injected.
pub fn write_faulty(ph: &Phantom, dir: &Path, fault: Fault) -> Result<WrittenPlan, FixtureError> {
    let opts = WriteOptions::default();
    let mut objs = build(ph, &opts)?;
    let out = prepare_dir(dir)?;
    let ts = opts.transfer_syntax;
    match fault {
        Fault::EmptyFile | Fault::NotDicom | Fault::TruncatedDose => {}
        Fault::ShortPixelData => {
            let frame = objs.layout.rows * objs.layout.columns * objs.bytes_per_pixel;
            let el = objs
                .dose
                .get(tags::PIXEL_DATA)
                .ok_or_else(|| invalid(ph, "no pixel data"))?;
            let bytes = el
                .value()
                .to_bytes()
                .map_err(|e| invalid(ph, &e.to_string()))?;
            let keep = bytes.len().saturating_sub(frame);
            let short = bytes[..keep].to_vec();
            objs.dose.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::U8(short.into()),
            ));
        }
        Fault::MissingDoseGridScaling => {
            objs.dose.remove_element(tags::DOSE_GRID_SCALING);
        }
        Fault::MismatchedFrameOfReference => {
            objs.dose.put(DataElement::new(
                tags::FRAME_OF_REFERENCE_UID,
                VR::UI,
                PrimitiveValue::from(ph.uid("another-frame-of-reference")),
            ));
        }
        Fault::NonNumericContourData | Fault::DegenerateContour => {
            // dicom-object offers no mutable element access: copy the ROI Contour
            // Sequence, edit the copy and put it back.
            let mut seq = objs
                .rtstruct
                .get(tags::ROI_CONTOUR_SEQUENCE)
                .cloned()
                .ok_or_else(|| invalid(ph, "the phantom has no structure"))?;
            let roi = seq
                .items_mut()
                .and_then(|items| items.first_mut())
                .ok_or_else(|| invalid(ph, "the phantom has no structure"))?;
            let mut contours = roi
                .get(tags::CONTOUR_SEQUENCE)
                .cloned()
                .ok_or_else(|| invalid(ph, "the first structure has no contour"))?;
            let items = contours
                .items_mut()
                .ok_or_else(|| invalid(ph, "the first structure has no contour"))?;
            let first = items
                .first_mut()
                .ok_or_else(|| invalid(ph, "the first structure has no contour"))?;
            let mut data: Vec<String> = match first.get(tags::CONTOUR_DATA).map(|e| e.value()) {
                Some(Value::Primitive(PrimitiveValue::Strs(v))) => v.to_vec(),
                _ => return Err(invalid(ph, "contour data is not text")),
            };
            if fault == Fault::NonNumericContourData {
                if let Some(v) = data.get_mut(1) {
                    *v = "n/a".to_owned();
                }
                first.put(DataElement::new(
                    tags::CONTOUR_DATA,
                    VR::DS,
                    PrimitiveValue::Strs(data.into()),
                ));
            } else {
                // Two distinct points of the first polygon, on its plane.
                let two: Vec<String> = data.iter().take(6).cloned().collect();
                let mut c = first.clone();
                let number = items.len() + 1;
                c.put(DataElement::new(
                    tags::CONTOUR_NUMBER,
                    VR::IS,
                    PrimitiveValue::from(number.to_string()),
                ));
                c.put(DataElement::new(
                    tags::NUMBER_OF_CONTOUR_POINTS,
                    VR::IS,
                    PrimitiveValue::from("2"),
                ));
                c.put(DataElement::new(
                    tags::CONTOUR_DATA,
                    VR::DS,
                    PrimitiveValue::Strs(two.into()),
                ));
                items.push(c);
            }
            roi.put(contours);
            objs.rtstruct.put(seq);
        }
    }
    save(objs.dose, &out.rtdose, ts)?;
    save(objs.rtstruct, &out.rtstruct, ts)?;
    save(objs.plan, &out.rtplan, ts)?;
    match fault {
        Fault::EmptyFile => std::fs::write(&out.rtdose, b"").map_err(io(&out.rtdose))?,
        Fault::NotDicom => std::fs::write(
            &out.rtdose,
            "This is not a DICOM file: a plain text file named like an RT Dose, \
             long enough to pass the 132-byte preamble and magic-code check.\n"
                .repeat(3),
        )
        .map_err(io(&out.rtdose))?,
        Fault::TruncatedDose => {
            let len = std::fs::metadata(&out.rtdose)
                .map_err(io(&out.rtdose))?
                .len();
            // PixelData is the last element and holds most of the file: dropping the
            // last third of one frame's worth and more cuts inside its value.
            let frame = (objs.layout.rows * objs.layout.columns * objs.bytes_per_pixel) as u64;
            let cut = len.saturating_sub(frame + frame / 3).max(len / 2);
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&out.rtdose)
                .map_err(io(&out.rtdose))?;
            f.set_len(cut).map_err(io(&out.rtdose))?;
        }
        _ => {}
    }
    Ok(out)
}
