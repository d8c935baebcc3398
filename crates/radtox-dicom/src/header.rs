//! Header-only reads: what a file is and what it refers to, from the attributes before
//! its bulk (contours, beams, pixels), for directory scans and archive discovery.

use crate::error::DicomError;
use crate::object::{Kind, Mode, classify, open};
use dicom_dictionary_std::tags;
use std::path::Path;

/// The identifying attributes of one DICOM file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    pub kind: Kind,
    pub sop_instance_uid: Option<String>,
    pub study_instance_uid: Option<String>,
    pub series_instance_uid: Option<String>,
    /// The object's own FrameOfReferenceUID; for an RT Struct the one its
    /// ReferencedFrameOfReferenceSequence (else its ROIs) names.
    pub frame_of_reference_uid: Option<String>,
    /// RT Dose → referenced RT Plan; RT Plan → referenced RT Struct (SOP Instance UIDs).
    pub reference: Option<String>,
    /// Patient ID, only to group files and pseudonymise keys; never logged.
    pub patient_id: Option<String>,
    /// RT Struct: the image series it was drawn on (RTReferencedSeriesSequence).
    pub referenced_series: Vec<String>,
}

pub(crate) fn read_header(path: &Path) -> Result<Header, DicomError> {
    let opened = open(path, Mode::Header)?;
    let a = opened.attrs(path);
    let kind = classify(&a);
    let frame = match kind {
        Kind::Struct => a
            .first_item_str(
                tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE,
                tags::FRAME_OF_REFERENCE_UID,
            )
            .or_else(|| {
                a.first_item_str(
                    tags::STRUCTURE_SET_ROI_SEQUENCE,
                    tags::REFERENCED_FRAME_OF_REFERENCE_UID,
                )
            })
            .or_else(|| a.str_opt(tags::FRAME_OF_REFERENCE_UID)),
        _ => a.str_opt(tags::FRAME_OF_REFERENCE_UID),
    };
    let reference = match kind {
        Kind::Dose => a.first_item_str(
            tags::REFERENCED_RT_PLAN_SEQUENCE,
            tags::REFERENCED_SOP_INSTANCE_UID,
        ),
        Kind::Plan => a.first_item_str(
            tags::REFERENCED_STRUCTURE_SET_SEQUENCE,
            tags::REFERENCED_SOP_INSTANCE_UID,
        ),
        _ => None,
    };
    let mut referenced_series = Vec::new();
    if kind == Kind::Struct {
        for f in a.items(tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE) {
            let f = a.with_context(f, "");
            for st in f.items(tags::RT_REFERENCED_STUDY_SEQUENCE) {
                let st = a.with_context(st, "");
                for se in st.items(tags::RT_REFERENCED_SERIES_SEQUENCE) {
                    referenced_series
                        .extend(a.with_context(se, "").str_opt(tags::SERIES_INSTANCE_UID));
                }
            }
        }
    }
    Ok(Header {
        kind,
        sop_instance_uid: a.str_opt(tags::SOP_INSTANCE_UID),
        study_instance_uid: a.str_opt(tags::STUDY_INSTANCE_UID),
        series_instance_uid: a.str_opt(tags::SERIES_INSTANCE_UID),
        frame_of_reference_uid: frame,
        reference,
        patient_id: a.str_opt(tags::PATIENT_ID),
        referenced_series,
    })
}
