//! A small DICOM data set parser over one in-memory buffer.
//!
//! Why not dicom-object's in-memory objects: they turn every DS/IS value into owned
//! `String`s (one allocation per number), which made a 1.9 MB RT Struct take ~25 ms and
//! classifying a directory parse every contour. Here an element's value is only a byte
//! range of the file buffer; numbers are parsed on demand, and values nobody asks for
//! are never touched. Sequences become nested [`RawSet`]s; encapsulated pixel data
//! becomes a list of fragment ranges.
//!
//! Elements stored with VR UN (PS3.5 §6.2.2) take the dictionary VR of their tag, and a
//! UN element whose dictionary VR is SQ (or whose length is undefined) is parsed as an
//! implicit VR little endian sequence; this repairs files rewritten by gdcmconv.

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_dictionary_std::{StandardDataDictionary, tags};

/// Encoding of a data set: explicit or implicit VR, byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Syntax {
    pub explicit: bool,
    pub big_endian: bool,
}

pub(crate) const IMPLICIT_LE: Syntax = Syntax {
    explicit: false,
    big_endian: false,
};
pub(crate) const EXPLICIT_LE: Syntax = Syntax {
    explicit: true,
    big_endian: false,
};
pub(crate) const EXPLICIT_BE: Syntax = Syntax {
    explicit: true,
    big_endian: true,
};

/// `(group << 16) | element`, so that numeric order is DICOM tag order.
pub(crate) type TagKey = u32;

pub(crate) const fn key(tag: Tag) -> TagKey {
    ((tag.0 as u32) << 16) | tag.1 as u32
}

const ITEM: TagKey = 0xFFFE_E000;
const ITEM_END: TagKey = 0xFFFE_E00D;
const SEQUENCE_END: TagKey = 0xFFFE_E0DD;
const UNDEFINED: u32 = u32::MAX;
const PIXEL_DATA: TagKey = 0x7FE0_0010;
/// Nesting deeper than this is refused rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 64;

#[derive(Debug)]
pub(crate) enum RawValue {
    /// `start..end` of the buffer.
    Bytes(usize, usize),
    Items(Vec<RawSet>),
    /// Encapsulated pixel data: fragment ranges, the basic offset table first.
    Fragments(Vec<(usize, usize)>),
}

#[derive(Debug)]
pub(crate) struct RawElement {
    pub tag: TagKey,
    /// VR as written, or the dictionary's for implicit VR and repaired UN elements.
    pub vr: [u8; 2],
    pub value: RawValue,
}

/// One data set (the file's top level or a sequence item), elements in file order.
#[derive(Debug, Default)]
pub(crate) struct RawSet {
    pub elements: Vec<RawElement>,
    /// Byte order of binary values in this set (UN-repaired items are little endian).
    pub big_endian: bool,
}

impl RawSet {
    pub fn get(&self, tag: Tag) -> Option<&RawElement> {
        let k = key(tag);
        self.elements.iter().find(|e| e.tag == k)
    }
}

/// Why parsing stopped. `needed` is how many buffer bytes the parser wanted (more than
/// the buffer holds when the data is cut short), so a header reader can read more.
#[derive(Debug, Clone)]
pub(crate) struct ParseError {
    pub tag: Option<TagKey>,
    pub offset: usize,
    pub message: String,
    pub needed: Option<usize>,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.tag {
            Some(t) => write!(
                f,
                "{} at byte {} in element {}",
                self.message,
                self.offset,
                crate::error::TagName(Tag((t >> 16) as u16, t as u16))
            ),
            None => write!(f, "{} at byte {}", self.message, self.offset),
        }
    }
}

/// The dictionary VR of a tag, as two letters; `UN` for private or unknown tags.
pub(crate) fn dictionary_vr(tag: TagKey) -> [u8; 2] {
    let t = Tag((tag >> 16) as u16, tag as u16);
    if t.group() % 2 == 1 {
        return *b"UN";
    }
    if let Ok(i) = RT_VRS.binary_search_by_key(&tag, |(t, _)| key(*t)) {
        return RT_VRS.get(i).map_or(*b"UN", |(_, vr)| *vr);
    }
    match StandardDataDictionary.by_tag(t).map(|e| e.vr()) {
        Some(VirtualVr::Exact(vr)) => vr_letters(vr),
        // Pixel/overlay data: OW is the implicit VR little endian choice (PS3.5 A.1).
        Some(VirtualVr::Px) | Some(VirtualVr::Ox) | Some(VirtualVr::Lt) => *b"OW",
        // US/SS: the sign is decided by PixelRepresentation; unsigned is the common case.
        Some(VirtualVr::Xs) => *b"US",
        // VirtualVr is non-exhaustive.
        _ => *b"UN",
    }
}

fn vr_letters(vr: dicom_core::VR) -> [u8; 2] {
    vr.to_bytes()
}

/// The dictionary VRs of the attributes found in RT Dose, RT Structure Set, RT Plan and
/// CT files (real exports and the fixtures), in tag order. Implicit VR files look every
/// element up; the standard dictionary builds hash maps of its ~5 000 entries on first
/// use (about 0.3 ms, which both reader threads wait for), and this table spares that
/// for the usual files. Other tags still go to the dictionary; a test checks that every
/// entry here agrees with it. Retired attributes are listed too: exports still write them.
#[allow(deprecated)]
const RT_VRS: &[(Tag, [u8; 2])] = &[
    (tags::SPECIFIC_CHARACTER_SET, *b"CS"),
    (tags::IMAGE_TYPE, *b"CS"),
    (tags::INSTANCE_CREATION_DATE, *b"DA"),
    (tags::INSTANCE_CREATION_TIME, *b"TM"),
    (tags::INSTANCE_CREATOR_UID, *b"UI"),
    (tags::SOP_CLASS_UID, *b"UI"),
    (tags::SOP_INSTANCE_UID, *b"UI"),
    (tags::STUDY_DATE, *b"DA"),
    (tags::SERIES_DATE, *b"DA"),
    (tags::CONTENT_DATE, *b"DA"),
    (tags::STUDY_TIME, *b"TM"),
    (tags::SERIES_TIME, *b"TM"),
    (tags::CONTENT_TIME, *b"TM"),
    (tags::ACCESSION_NUMBER, *b"SH"),
    (tags::MODALITY, *b"CS"),
    (tags::MANUFACTURER, *b"LO"),
    (tags::INSTITUTION_NAME, *b"LO"),
    (tags::REFERRING_PHYSICIAN_NAME, *b"PN"),
    (tags::CODE_VALUE, *b"SH"),
    (tags::CODING_SCHEME_DESIGNATOR, *b"SH"),
    (tags::CODE_MEANING, *b"LO"),
    (tags::STATION_NAME, *b"SH"),
    (tags::STUDY_DESCRIPTION, *b"LO"),
    (tags::SERIES_DESCRIPTION, *b"LO"),
    (tags::INSTITUTIONAL_DEPARTMENT_NAME, *b"LO"),
    (tags::OPERATORS_NAME, *b"PN"),
    (tags::MANUFACTURER_MODEL_NAME, *b"LO"),
    (tags::REFERENCED_SOP_CLASS_UID, *b"UI"),
    (tags::REFERENCED_SOP_INSTANCE_UID, *b"UI"),
    (tags::PATIENT_NAME, *b"PN"),
    (tags::PATIENT_ID, *b"LO"),
    (tags::PATIENT_BIRTH_DATE, *b"DA"),
    (tags::PATIENT_SEX, *b"CS"),
    (tags::CONTRAST_BOLUS_AGENT, *b"LO"),
    (tags::SLICE_THICKNESS, *b"DS"),
    (tags::KVP, *b"DS"),
    (tags::DATA_COLLECTION_DIAMETER, *b"DS"),
    (tags::DEVICE_SERIAL_NUMBER, *b"LO"),
    (tags::SOFTWARE_VERSIONS, *b"LO"),
    (tags::CONTRAST_BOLUS_VOLUME, *b"DS"),
    (tags::CONTRAST_BOLUS_TOTAL_DOSE, *b"DS"),
    (tags::RECONSTRUCTION_DIAMETER, *b"DS"),
    (tags::DISTANCE_SOURCE_TO_DETECTOR, *b"DS"),
    (tags::DISTANCE_SOURCE_TO_PATIENT, *b"DS"),
    (tags::GANTRY_DETECTOR_TILT, *b"DS"),
    (tags::TABLE_HEIGHT, *b"DS"),
    (tags::ROTATION_DIRECTION, *b"CS"),
    (tags::EXPOSURE_TIME, *b"IS"),
    (tags::X_RAY_TUBE_CURRENT, *b"IS"),
    (tags::EXPOSURE, *b"IS"),
    (tags::GENERATOR_POWER, *b"IS"),
    (tags::CONVOLUTION_KERNEL, *b"SH"),
    (tags::PATIENT_POSITION, *b"CS"),
    (tags::STUDY_INSTANCE_UID, *b"UI"),
    (tags::SERIES_INSTANCE_UID, *b"UI"),
    (tags::STUDY_ID, *b"SH"),
    (tags::SERIES_NUMBER, *b"IS"),
    (tags::ACQUISITION_NUMBER, *b"IS"),
    (tags::INSTANCE_NUMBER, *b"IS"),
    (tags::IMAGE_POSITION_PATIENT, *b"DS"),
    (tags::IMAGE_ORIENTATION_PATIENT, *b"DS"),
    (tags::FRAME_OF_REFERENCE_UID, *b"UI"),
    (tags::POSITION_REFERENCE_INDICATOR, *b"LO"),
    (tags::SLICE_LOCATION, *b"DS"),
    (tags::SAMPLES_PER_PIXEL, *b"US"),
    (tags::PHOTOMETRIC_INTERPRETATION, *b"CS"),
    (tags::NUMBER_OF_FRAMES, *b"IS"),
    (tags::FRAME_INCREMENT_POINTER, *b"AT"),
    (tags::ROWS, *b"US"),
    (tags::COLUMNS, *b"US"),
    (tags::PIXEL_SPACING, *b"DS"),
    (tags::BITS_ALLOCATED, *b"US"),
    (tags::BITS_STORED, *b"US"),
    (tags::HIGH_BIT, *b"US"),
    (tags::PIXEL_REPRESENTATION, *b"US"),
    (tags::WINDOW_CENTER, *b"DS"),
    (tags::WINDOW_WIDTH, *b"DS"),
    (tags::RESCALE_INTERCEPT, *b"DS"),
    (tags::RESCALE_SLOPE, *b"DS"),
    (tags::PRIMARY_FLUENCE_MODE_SEQUENCE, *b"SQ"),
    (tags::FLUENCE_MODE, *b"CS"),
    (tags::DVH_TYPE, *b"CS"),
    (tags::DOSE_UNITS, *b"CS"),
    (tags::DOSE_TYPE, *b"CS"),
    (tags::DOSE_SUMMATION_TYPE, *b"CS"),
    (tags::GRID_FRAME_OFFSET_VECTOR, *b"DS"),
    (tags::DOSE_GRID_SCALING, *b"DS"),
    (tags::TISSUE_HETEROGENEITY_CORRECTION, *b"CS"),
    (tags::DVH_SEQUENCE, *b"SQ"),
    (tags::DVH_DOSE_SCALING, *b"DS"),
    (tags::DVH_VOLUME_UNITS, *b"CS"),
    (tags::DVH_NUMBER_OF_BINS, *b"IS"),
    (tags::DVH_DATA, *b"DS"),
    (tags::DVH_REFERENCED_ROI_SEQUENCE, *b"SQ"),
    (tags::DVHROI_CONTRIBUTION_TYPE, *b"CS"),
    (tags::DVH_MINIMUM_DOSE, *b"DS"),
    (tags::DVH_MAXIMUM_DOSE, *b"DS"),
    (tags::DVH_MEAN_DOSE, *b"DS"),
    (tags::STRUCTURE_SET_LABEL, *b"SH"),
    (tags::STRUCTURE_SET_NAME, *b"LO"),
    (tags::STRUCTURE_SET_DATE, *b"DA"),
    (tags::STRUCTURE_SET_TIME, *b"TM"),
    (tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE, *b"SQ"),
    (tags::RT_REFERENCED_STUDY_SEQUENCE, *b"SQ"),
    (tags::RT_REFERENCED_SERIES_SEQUENCE, *b"SQ"),
    (tags::CONTOUR_IMAGE_SEQUENCE, *b"SQ"),
    (tags::STRUCTURE_SET_ROI_SEQUENCE, *b"SQ"),
    (tags::ROI_NUMBER, *b"IS"),
    (tags::REFERENCED_FRAME_OF_REFERENCE_UID, *b"UI"),
    (tags::ROI_NAME, *b"LO"),
    (tags::ROI_DESCRIPTION, *b"ST"),
    (tags::ROI_DISPLAY_COLOR, *b"IS"),
    (tags::ROI_VOLUME, *b"DS"),
    (tags::ROI_GENERATION_ALGORITHM, *b"CS"),
    (tags::ROI_CONTOUR_SEQUENCE, *b"SQ"),
    (tags::CONTOUR_SEQUENCE, *b"SQ"),
    (tags::CONTOUR_GEOMETRIC_TYPE, *b"CS"),
    (tags::NUMBER_OF_CONTOUR_POINTS, *b"IS"),
    (tags::CONTOUR_NUMBER, *b"IS"),
    (tags::CONTOUR_DATA, *b"DS"),
    (tags::RTROI_OBSERVATIONS_SEQUENCE, *b"SQ"),
    (tags::OBSERVATION_NUMBER, *b"IS"),
    (tags::REFERENCED_ROI_NUMBER, *b"IS"),
    (tags::ROI_OBSERVATION_LABEL, *b"SH"),
    (tags::RTROI_IDENTIFICATION_CODE_SEQUENCE, *b"SQ"),
    (tags::ROI_OBSERVATION_DESCRIPTION, *b"ST"),
    (tags::RTROI_INTERPRETED_TYPE, *b"CS"),
    (tags::ROI_INTERPRETER, *b"PN"),
    (tags::ROI_PHYSICAL_PROPERTIES_SEQUENCE, *b"SQ"),
    (tags::ROI_PHYSICAL_PROPERTY, *b"CS"),
    (tags::ROI_PHYSICAL_PROPERTY_VALUE, *b"DS"),
    (tags::RT_PLAN_LABEL, *b"SH"),
    (tags::RT_PLAN_NAME, *b"LO"),
    (tags::RT_PLAN_DATE, *b"DA"),
    (tags::RT_PLAN_TIME, *b"TM"),
    (tags::TREATMENT_PROTOCOLS, *b"LO"),
    (tags::PLAN_INTENT, *b"CS"),
    (tags::RT_PLAN_GEOMETRY, *b"CS"),
    (tags::PRESCRIPTION_DESCRIPTION, *b"ST"),
    (tags::DOSE_REFERENCE_SEQUENCE, *b"SQ"),
    (tags::DOSE_REFERENCE_NUMBER, *b"IS"),
    (tags::DOSE_REFERENCE_UID, *b"UI"),
    (tags::DOSE_REFERENCE_STRUCTURE_TYPE, *b"CS"),
    (tags::DOSE_REFERENCE_DESCRIPTION, *b"LO"),
    (tags::DOSE_REFERENCE_POINT_COORDINATES, *b"DS"),
    (tags::DOSE_REFERENCE_TYPE, *b"CS"),
    (tags::DELIVERY_MAXIMUM_DOSE, *b"DS"),
    (tags::TARGET_PRESCRIPTION_DOSE, *b"DS"),
    (tags::ORGAN_AT_RISK_MAXIMUM_DOSE, *b"DS"),
    (tags::TOLERANCE_TABLE_SEQUENCE, *b"SQ"),
    (tags::TOLERANCE_TABLE_NUMBER, *b"IS"),
    (tags::TOLERANCE_TABLE_LABEL, *b"SH"),
    (tags::GANTRY_ANGLE_TOLERANCE, *b"DS"),
    (tags::BEAM_LIMITING_DEVICE_ANGLE_TOLERANCE, *b"DS"),
    (tags::BEAM_LIMITING_DEVICE_TOLERANCE_SEQUENCE, *b"SQ"),
    (tags::BEAM_LIMITING_DEVICE_POSITION_TOLERANCE, *b"DS"),
    (tags::PATIENT_SUPPORT_ANGLE_TOLERANCE, *b"DS"),
    (tags::TABLE_TOP_VERTICAL_POSITION_TOLERANCE, *b"DS"),
    (tags::TABLE_TOP_LONGITUDINAL_POSITION_TOLERANCE, *b"DS"),
    (tags::TABLE_TOP_LATERAL_POSITION_TOLERANCE, *b"DS"),
    (tags::RT_PLAN_RELATIONSHIP, *b"CS"),
    (tags::FRACTION_GROUP_SEQUENCE, *b"SQ"),
    (tags::FRACTION_GROUP_NUMBER, *b"IS"),
    (tags::NUMBER_OF_FRACTIONS_PLANNED, *b"IS"),
    (tags::NUMBER_OF_BEAMS, *b"IS"),
    (tags::BEAM_DOSE_SPECIFICATION_POINT, *b"DS"),
    (tags::BEAM_DOSE, *b"DS"),
    (tags::BEAM_METERSET, *b"DS"),
    (tags::BEAM_DOSE_POINT_DEPTH, *b"FL"),
    (tags::BEAM_DOSE_POINT_EQUIVALENT_DEPTH, *b"FL"),
    (tags::BEAM_DOSE_POINT_SSD, *b"FL"),
    (tags::BEAM_DOSE_TYPE, *b"CS"),
    (tags::ALTERNATE_BEAM_DOSE, *b"DS"),
    (tags::ALTERNATE_BEAM_DOSE_TYPE, *b"CS"),
    (tags::NUMBER_OF_BRACHY_APPLICATION_SETUPS, *b"IS"),
    (tags::BEAM_SEQUENCE, *b"SQ"),
    (tags::TREATMENT_MACHINE_NAME, *b"SH"),
    (tags::PRIMARY_DOSIMETER_UNIT, *b"CS"),
    (tags::SOURCE_AXIS_DISTANCE, *b"DS"),
    (tags::BEAM_LIMITING_DEVICE_SEQUENCE, *b"SQ"),
    (tags::RT_BEAM_LIMITING_DEVICE_TYPE, *b"CS"),
    (tags::SOURCE_TO_BEAM_LIMITING_DEVICE_DISTANCE, *b"DS"),
    (tags::NUMBER_OF_LEAF_JAW_PAIRS, *b"IS"),
    (tags::LEAF_POSITION_BOUNDARIES, *b"DS"),
    (tags::BEAM_NUMBER, *b"IS"),
    (tags::BEAM_NAME, *b"LO"),
    (tags::BEAM_DESCRIPTION, *b"ST"),
    (tags::BEAM_TYPE, *b"CS"),
    (tags::RADIATION_TYPE, *b"CS"),
    (tags::REFERENCE_IMAGE_NUMBER, *b"IS"),
    (tags::TREATMENT_DELIVERY_TYPE, *b"CS"),
    (tags::NUMBER_OF_WEDGES, *b"IS"),
    (tags::NUMBER_OF_COMPENSATORS, *b"IS"),
    (tags::NUMBER_OF_BOLI, *b"IS"),
    (tags::NUMBER_OF_BLOCKS, *b"IS"),
    (tags::CUMULATIVE_DOSE_REFERENCE_COEFFICIENT, *b"DS"),
    (tags::FINAL_CUMULATIVE_METERSET_WEIGHT, *b"DS"),
    (tags::NUMBER_OF_CONTROL_POINTS, *b"IS"),
    (tags::CONTROL_POINT_SEQUENCE, *b"SQ"),
    (tags::CONTROL_POINT_INDEX, *b"IS"),
    (tags::NOMINAL_BEAM_ENERGY, *b"DS"),
    (tags::DOSE_RATE_SET, *b"DS"),
    (tags::BEAM_LIMITING_DEVICE_POSITION_SEQUENCE, *b"SQ"),
    (tags::LEAF_JAW_POSITIONS, *b"DS"),
    (tags::GANTRY_ANGLE, *b"DS"),
    (tags::GANTRY_ROTATION_DIRECTION, *b"CS"),
    (tags::BEAM_LIMITING_DEVICE_ANGLE, *b"DS"),
    (tags::BEAM_LIMITING_DEVICE_ROTATION_DIRECTION, *b"CS"),
    (tags::PATIENT_SUPPORT_ANGLE, *b"DS"),
    (tags::PATIENT_SUPPORT_ROTATION_DIRECTION, *b"CS"),
    (tags::TABLE_TOP_ECCENTRIC_ANGLE, *b"DS"),
    (tags::TABLE_TOP_ECCENTRIC_ROTATION_DIRECTION, *b"CS"),
    (tags::TABLE_TOP_VERTICAL_POSITION, *b"DS"),
    (tags::TABLE_TOP_LONGITUDINAL_POSITION, *b"DS"),
    (tags::TABLE_TOP_LATERAL_POSITION, *b"DS"),
    (tags::ISOCENTER_POSITION, *b"DS"),
    (tags::SOURCE_TO_SURFACE_DISTANCE, *b"DS"),
    (tags::CUMULATIVE_METERSET_WEIGHT, *b"DS"),
    (tags::TABLE_TOP_PITCH_ANGLE, *b"FL"),
    (tags::TABLE_TOP_PITCH_ROTATION_DIRECTION, *b"CS"),
    (tags::TABLE_TOP_ROLL_ANGLE, *b"FL"),
    (tags::TABLE_TOP_ROLL_ROTATION_DIRECTION, *b"CS"),
    (tags::GANTRY_PITCH_ANGLE, *b"FL"),
    (tags::GANTRY_PITCH_ROTATION_DIRECTION, *b"CS"),
    (tags::PATIENT_SETUP_SEQUENCE, *b"SQ"),
    (tags::PATIENT_SETUP_NUMBER, *b"IS"),
    (tags::SETUP_TECHNIQUE, *b"CS"),
    (tags::SETUP_TECHNIQUE_DESCRIPTION, *b"ST"),
    (tags::REFERENCED_RT_PLAN_SEQUENCE, *b"SQ"),
    (tags::REFERENCED_BEAM_SEQUENCE, *b"SQ"),
    (tags::REFERENCED_BEAM_NUMBER, *b"IS"),
    (tags::REFERENCED_FRACTION_GROUP_SEQUENCE, *b"SQ"),
    (tags::REFERENCED_FRACTION_GROUP_NUMBER, *b"IS"),
    (tags::REFERENCED_REFERENCE_IMAGE_SEQUENCE, *b"SQ"),
    (tags::REFERENCED_DOSE_REFERENCE_SEQUENCE, *b"SQ"),
    (tags::REFERENCED_DOSE_REFERENCE_NUMBER, *b"IS"),
    (tags::REFERENCED_STRUCTURE_SET_SEQUENCE, *b"SQ"),
    (tags::REFERENCED_PATIENT_SETUP_NUMBER, *b"IS"),
    (tags::REFERENCED_TOLERANCE_TABLE_NUMBER, *b"IS"),
    (tags::APPROVAL_STATUS, *b"CS"),
    (tags::REVIEW_DATE, *b"DA"),
    (tags::REVIEW_TIME, *b"TM"),
    (tags::REVIEWER_NAME, *b"PN"),
    (tags::PIXEL_DATA, *b"OW"),
];

/// VRs whose explicit header has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2).
fn long_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"SV"
            | b"UV"
    )
}

pub(crate) struct Parser<'a> {
    pub buf: &'a [u8],
    /// Set when an element written as UN took its dictionary VR.
    pub repaired_un: std::cell::Cell<bool>,
    /// Where `top_level` stopped because its stop function said so.
    pub stopped_at: std::cell::Cell<Option<usize>>,
}

impl<'a> Parser<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Parser {
            buf,
            repaired_un: std::cell::Cell::new(false),
            stopped_at: std::cell::Cell::new(None),
        }
    }
}

/// What to do at a top-level tag: `true` stops the parse before that element.
pub(crate) type StopFn<'s> = &'s mut dyn FnMut(TagKey, &[RawElement]) -> bool;

impl<'a> Parser<'a> {
    fn err(&self, tag: Option<TagKey>, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            tag,
            offset,
            message: message.into(),
            needed: None,
        }
    }

    fn short(&self, tag: Option<TagKey>, offset: usize, needed: usize) -> ParseError {
        ParseError {
            tag,
            offset,
            message: format!(
                "data end after {} bytes where {needed} are needed",
                self.buf.len()
            ),
            needed: Some(needed),
        }
    }

    fn u16_at(&self, pos: usize, be: bool, tag: Option<TagKey>) -> Result<u16, ParseError> {
        match self.buf.get(pos..pos + 2) {
            Some(&[a, b]) => Ok(if be {
                u16::from_be_bytes([a, b])
            } else {
                u16::from_le_bytes([a, b])
            }),
            _ => Err(self.short(tag, pos, pos + 2)),
        }
    }

    fn u32_at(&self, pos: usize, be: bool, tag: Option<TagKey>) -> Result<u32, ParseError> {
        match self.buf.get(pos..pos + 4) {
            Some(&[a, b, c, d]) => Ok(if be {
                u32::from_be_bytes([a, b, c, d])
            } else {
                u32::from_le_bytes([a, b, c, d])
            }),
            _ => Err(self.short(tag, pos, pos + 4)),
        }
    }

    fn tag_at(&self, pos: usize, be: bool) -> Result<TagKey, ParseError> {
        let g = self.u16_at(pos, be, None)? as u32;
        let e = self.u16_at(pos + 2, be, None)? as u32;
        Ok((g << 16) | e)
    }

    /// The top level from `pos` to the end of the buffer. Stops before the first tag for
    /// which `stop` says so. On a parse error the elements read so far are returned
    /// with the error (a truncated RT Plan keeps what precedes the damage).
    pub fn top_level(
        &self,
        pos: usize,
        syntax: Syntax,
        stop: StopFn<'_>,
    ) -> (RawSet, Option<ParseError>) {
        let mut set = RawSet {
            elements: Vec::new(),
            big_endian: syntax.big_endian,
        };
        let mut p = pos;
        while p < self.buf.len() {
            let tag = match self.tag_at(p, syntax.big_endian) {
                Ok(t) => t,
                Err(e) => return (set, Some(e)),
            };
            if stop(tag, &set.elements) {
                self.stopped_at.set(Some(p));
                break;
            }
            match self.element(p, syntax, 0) {
                Ok((el, next)) => {
                    set.elements.push(el);
                    p = next;
                }
                Err(e) => return (set, Some(e)),
            }
        }
        (set, None)
    }

    /// Elements from `pos` up to `end`, or (end `None`) up to and including an item
    /// delimitation item. Returns the set and the position after it.
    fn dataset(
        &self,
        pos: usize,
        end: Option<usize>,
        syntax: Syntax,
        depth: usize,
    ) -> Result<(RawSet, usize), ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err(None, pos, "sequences nested too deeply"));
        }
        let mut set = RawSet {
            elements: Vec::new(),
            big_endian: syntax.big_endian,
        };
        let mut p = pos;
        loop {
            match end {
                Some(e) if p >= e => return Ok((set, p)),
                _ => {}
            }
            let tag = self.tag_at(p, syntax.big_endian)?;
            if tag == ITEM_END {
                // Ends an undefined-length item; tolerated inside a defined-length one,
                // which some writers add anyway.
                return Ok((set, p + 8));
            }
            let (el, next) = self.element(p, syntax, depth)?;
            set.elements.push(el);
            p = next;
        }
    }

    /// One element at `pos`: returns it and the position after it.
    fn element(
        &self,
        pos: usize,
        syntax: Syntax,
        depth: usize,
    ) -> Result<(RawElement, usize), ParseError> {
        let be = syntax.big_endian;
        let tag = self.tag_at(pos, be)?;
        let t = Some(tag);
        if tag >> 16 == 0xFFFE {
            return Err(self.err(t, pos, "item or delimitation tag where an element belongs"));
        }
        let (mut vr, len, header) = if syntax.explicit {
            let vr = match self.buf.get(pos + 4..pos + 6) {
                Some(&[a, b]) => [a, b],
                _ => return Err(self.short(t, pos, pos + 6)),
            };
            if !(vr[0].is_ascii_uppercase() && vr[1].is_ascii_uppercase()) {
                return Err(self.err(t, pos, "value representation is not two letters"));
            }
            if long_vr(vr) {
                (vr, self.u32_at(pos + 8, be, t)?, 12)
            } else {
                (vr, self.u16_at(pos + 6, be, t)? as u32, 8)
            }
        } else {
            (dictionary_vr(tag), self.u32_at(pos + 4, be, t)?, 8)
        };
        let start = pos + header;
        let mut inner = syntax;
        if &vr == b"UN" && syntax.explicit {
            let dict = dictionary_vr(tag);
            if &dict != b"UN" || len == UNDEFINED {
                self.repaired_un.set(true);
            }
            if &dict == b"SQ" || (len == UNDEFINED && tag != PIXEL_DATA) {
                // PS3.5 §6.2.2: a UN sequence's content is implicit VR little endian.
                vr = *b"SQ";
                inner = IMPLICIT_LE;
            } else {
                vr = dict;
            }
        }
        if len == UNDEFINED && &vr != b"SQ" && tag != PIXEL_DATA {
            // Only sequences (and encapsulated pixel data) have undefined length; in
            // implicit VR this is how private sequences, unknown to the dictionary, look.
            vr = *b"SQ";
        }
        if &vr == b"SQ" {
            let (items, next) = self.items(start, len, inner, depth + 1, tag)?;
            return Ok((
                RawElement {
                    tag,
                    vr,
                    value: RawValue::Items(items),
                },
                next,
            ));
        }
        if len == UNDEFINED {
            if tag != PIXEL_DATA {
                return Err(self.err(
                    t,
                    pos,
                    "undefined length on an element that is not a sequence",
                ));
            }
            let (frags, next) = self.fragments(start, be, tag)?;
            return Ok((
                RawElement {
                    tag,
                    vr,
                    value: RawValue::Fragments(frags),
                },
                next,
            ));
        }
        let end = start + len as usize;
        if end > self.buf.len() {
            return Err(self.short(t, pos, end));
        }
        Ok((
            RawElement {
                tag,
                vr,
                value: RawValue::Bytes(start, end),
            },
            end,
        ))
    }

    fn items(
        &self,
        start: usize,
        len: u32,
        syntax: Syntax,
        depth: usize,
        owner: TagKey,
    ) -> Result<(Vec<RawSet>, usize), ParseError> {
        let be = syntax.big_endian;
        let limit = if len == UNDEFINED {
            None
        } else {
            let end = start + len as usize;
            if end > self.buf.len() {
                return Err(self.short(Some(owner), start, end));
            }
            Some(end)
        };
        let mut items = Vec::new();
        let mut p = start;
        loop {
            if let Some(end) = limit
                && p >= end
            {
                return Ok((items, p));
            }
            let tag = self.tag_at(p, be).map_err(|mut e| {
                e.tag = Some(owner);
                e
            })?;
            let item_len = self.u32_at(p + 4, be, Some(owner))?;
            match tag {
                SEQUENCE_END => return Ok((items, p + 8)),
                ITEM => {
                    let body = p + 8;
                    let (set, next) = if item_len == UNDEFINED {
                        self.dataset(body, None, syntax, depth)?
                    } else {
                        let end = body + item_len as usize;
                        if end > self.buf.len() {
                            return Err(self.short(Some(owner), p, end));
                        }
                        let (set, _) = self.dataset(body, Some(end), syntax, depth)?;
                        (set, end)
                    };
                    items.push(set);
                    p = next;
                }
                _ => {
                    return Err(self.err(
                        Some(owner),
                        p,
                        "sequence holds something that is not an item",
                    ));
                }
            }
        }
    }

    fn fragments(
        &self,
        start: usize,
        be: bool,
        owner: TagKey,
    ) -> Result<(Vec<(usize, usize)>, usize), ParseError> {
        let mut out = Vec::new();
        let mut p = start;
        loop {
            let tag = self.tag_at(p, be).map_err(|mut e| {
                e.tag = Some(owner);
                e
            })?;
            let len = self.u32_at(p + 4, be, Some(owner))?;
            match tag {
                SEQUENCE_END => return Ok((out, p + 8)),
                ITEM if len != UNDEFINED => {
                    let end = p + 8 + len as usize;
                    if end > self.buf.len() {
                        return Err(self.short(Some(owner), p, end));
                    }
                    out.push((p + 8, end));
                    p = end;
                }
                _ => return Err(self.err(Some(owner), p, "malformed pixel data fragment")),
            }
        }
    }
}

/// Split backslash-separated decimal text (DS, IS) into numbers without allocating per
/// value, in one pass over the bytes. `Err(index)` names the first value (0-based) that
/// is not a number (an empty value between backslashes included).
pub(crate) fn parse_decimals(bytes: &[u8], out: &mut Vec<f64>) -> Result<(), usize> {
    let mut i = 0;
    let mut index = 0;
    loop {
        while bytes.get(i).is_some_and(|&c| is_pad(c)) {
            i += 1;
        }
        if i >= bytes.len() {
            // Nothing at all is an empty value (no numbers); nothing after a backslash
            // is an empty last value, which is an error.
            return if index == 0 { Ok(()) } else { Err(index) };
        }
        let (v, end) = match plain_decimal(bytes, i) {
            Some(found) => found,
            None => any_decimal(bytes, i).ok_or(index)?,
        };
        i = end;
        while bytes.get(i).is_some_and(|&c| is_pad(c)) {
            i += 1;
        }
        let more = match bytes.get(i) {
            None => false,
            Some(b'\\') => {
                i += 1;
                true
            }
            // Padding inside a value ("1 2"): not a number.
            Some(_) => return Err(index),
        };
        out.push(v);
        index += 1;
        if !more {
            return Ok(());
        }
    }
}

/// DICOM padding (space, NUL) and whitespace.
fn is_pad(c: u8) -> bool {
    c == b' ' || c == 0 || c.is_ascii_whitespace()
}

/// The common shapes of decimal text, `[+-]digits[.digits][e[+-]digits]` (at most 18
/// digits, either run may be empty but not both) ending at a backslash, padding or the
/// end: its value (Clinger: a mantissa below 2^53 times or divided by an exact power of
/// ten is correctly rounded) and where it ends. `None` sends anything else to [`any_decimal`], which gives
/// the same value for these shapes, only more slowly.
#[inline]
fn plain_decimal(bytes: &[u8], start: usize) -> Option<(f64, usize)> {
    let mut i = start;
    let negative = bytes.get(i) == Some(&b'-');
    if negative || bytes.get(i) == Some(&b'+') {
        i += 1;
    }
    // Digits past the 18th may wrap the mantissa: such values are refused below.
    let mut mantissa: u64 = 0;
    let mut digit_run = |i: &mut usize| {
        let run = *i;
        while let Some(d) = bytes
            .get(*i)
            .map(|c| c.wrapping_sub(b'0'))
            .filter(|d| *d < 10)
        {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
            *i += 1;
        }
        *i - run
    };
    let mut digits = digit_run(&mut i);
    let mut fraction = 0;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        fraction = digit_run(&mut i);
        digits += fraction;
    }
    let mut exponent: i64 = 0;
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        let negative = bytes.get(i) == Some(&b'-');
        if negative || bytes.get(i) == Some(&b'+') {
            i += 1;
        }
        let run = i;
        while let Some(d) = bytes
            .get(i)
            .map(|c| c.wrapping_sub(b'0'))
            .filter(|d| *d < 10)
        {
            exponent = exponent * 10 + i64::from(d);
            i += 1;
            if i - run > 4 {
                return None;
            }
        }
        if i == run {
            return None;
        }
        if negative {
            exponent = -exponent;
        }
    }
    let ends = bytes.get(i).is_none_or(|&c| c == b'\\' || is_pad(c));
    if !ends || digits == 0 || digits > 18 || mantissa >= 1 << 53 {
        return None;
    }
    // One operation on two exact operands: correctly rounded, as the standard parser.
    let scale = exponent - fraction as i64;
    let v = match usize::try_from(scale) {
        Ok(up) => mantissa as f64 * POW10.get(up)?,
        Err(_) => mantissa as f64 / POW10.get(usize::try_from(-scale).ok()?)?,
    };
    Some((if negative { -v } else { v }, i))
}

/// Any other value from `start` up to a backslash, padding or the end (more than 18
/// digits, long exponents, text that is not a number): the standard parser's value and
/// where the value ends, or `None` if it is not a number.
fn any_decimal(bytes: &[u8], start: usize) -> Option<(f64, usize)> {
    let rest = bytes.get(start..)?;
    let len = rest
        .iter()
        .position(|&c| c == b'\\' || is_pad(c))
        .unwrap_or(rest.len());
    let text = std::str::from_utf8(rest.get(..len)?).ok()?;
    Some((text.parse::<f64>().ok()?, start + len))
}

/// Powers of ten exactly representable as f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Strip DICOM padding (space, NUL) and surrounding whitespace.
pub(crate) fn trim(b: &[u8]) -> &[u8] {
    let pad = |c: &u8| *c == b' ' || *c == 0 || c.is_ascii_whitespace();
    let start = b.iter().position(|c| !pad(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !pad(c)).map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rt_vr_table_is_sorted_and_agrees_with_the_dictionary() {
        assert!(RT_VRS.windows(2).all(|w| key(w[0].0) < key(w[1].0)));
        for &(tag, vr) in RT_VRS {
            let dict = match StandardDataDictionary.by_tag(tag).map(|e| e.vr()) {
                Some(VirtualVr::Exact(vr)) => vr_letters(vr),
                Some(VirtualVr::Px) | Some(VirtualVr::Ox) | Some(VirtualVr::Lt) => *b"OW",
                Some(VirtualVr::Xs) => *b"US",
                _ => *b"UN",
            };
            assert_eq!(vr, dict, "{tag}");
        }
    }

    #[test]
    fn fast_path_equals_the_standard_parser() {
        for s in [
            "0",
            "-0",
            "1.5",
            "-123.456",
            "0.1",
            "0.3",
            "+7.",
            ".25",
            "-.125",
            "12345678.123456",
            "999999999999999999",
            "0.000000000000000000001",
            "3.14159265358979",
            "1e3",
            "1.5E-2",
            "123456789012345678901",
            "9007199254740993",
        ] {
            let want: f64 = s.parse().unwrap();
            let mut got = Vec::new();
            parse_decimals(s.as_bytes(), &mut got).unwrap();
            assert_eq!(got[0].to_bits(), want.to_bits(), "{s}");
        }
        for bad in [
            ".", "-", "1.2.3", "1-2", "abc", "1\\\\2", "1\\", "1 2", "\\1",
        ] {
            let mut got = Vec::new();
            assert!(parse_decimals(bad.as_bytes(), &mut got).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_decimals_equal_the_standard_parser() {
        // Every shape the plain path takes, and its neighbours that it must refuse.
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut text = String::new();
        let mut want = Vec::new();
        for _ in 0..20_000 {
            let mut s = String::new();
            match next(4) {
                0 => s.push('-'),
                1 => s.push('+'),
                _ => {}
            }
            for _ in 0..next(12) {
                s.push(char::from(b'0' + next(10) as u8));
            }
            if next(3) > 0 {
                s.push('.');
                for _ in 0..next(12) {
                    s.push(char::from(b'0' + next(10) as u8));
                }
            }
            if s.trim_start_matches(['-', '+'])
                .trim_start_matches('.')
                .is_empty()
            {
                s.push('7');
            }
            if next(4) == 0 {
                s.push(['e', 'E'][next(2) as usize]);
                s.push_str(["", "-", "+"][next(3) as usize]);
                for _ in 0..1 + next(3) {
                    s.push(char::from(b'0' + next(10) as u8));
                }
            }
            want.push(s.parse::<f64>().unwrap().to_bits());
            if !text.is_empty() {
                text.push_str(["\\", " \\", "\\ "][next(3) as usize]);
            }
            text.push_str(&s);
        }
        let mut got = Vec::new();
        parse_decimals(text.as_bytes(), &mut got).unwrap();
        let got: Vec<u64> = got.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn decimals_with_padding_signs_and_exponents() {
        let mut v = Vec::new();
        parse_decimals(b" 1.5\\-2\\+3e-1\\.5 \0", &mut v).unwrap();
        assert_eq!(v, vec![1.5, -2.0, 0.3, 0.5]);
        v.clear();
        assert_eq!(parse_decimals(b"1\\x\\3", &mut v), Err(1));
        v.clear();
        assert_eq!(parse_decimals(b"  ", &mut v), Ok(()));
        assert!(v.is_empty());
    }

    #[test]
    fn nested_undefined_length_sequence_in_explicit_le() {
        // (3006,0039) SQ undefined { item undefined { (3006,0084) IS "7" } } delimiter
        let mut b = Vec::new();
        b.extend_from_slice(&[0x06, 0x30, 0x39, 0x00, b'S', b'Q', 0, 0]);
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        b.extend_from_slice(&[0x06, 0x30, 0x84, 0x00, b'I', b'S', 2, 0, b'7', b' ']);
        b.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let p = Parser::new(&b);
        let (set, err) = p.top_level(0, EXPLICIT_LE, &mut |_, _| false);
        assert!(err.is_none(), "{err:?}");
        let RawValue::Items(items) = &set.elements[0].value else {
            panic!("not a sequence")
        };
        assert_eq!(items.len(), 1);
        let RawValue::Bytes(s, e) = items[0].elements[0].value else {
            panic!("not bytes")
        };
        assert_eq!(&b[s..e], b"7 ");
    }

    #[test]
    fn private_undefined_length_sequence_in_implicit_vr() {
        // (0009,1010) private, undefined length { item { (0009,1011) "ab" } }, then
        // (0010,0020) "ID".
        let mut b = Vec::new();
        b.extend_from_slice(&[0x09, 0x00, 0x10, 0x10]);
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        b.extend_from_slice(&[0x09, 0x00, 0x11, 0x10, 2, 0, 0, 0, b'a', b'b']);
        b.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0x10, 0x00, 0x20, 0x00, 2, 0, 0, 0, b'I', b'D']);
        let (set, err) = Parser::new(&b).top_level(0, IMPLICIT_LE, &mut |_, _| false);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(set.elements.len(), 2);
        assert!(matches!(&set.elements[0].value, RawValue::Items(i) if i.len() == 1));
        assert_eq!(&set.elements[1].vr, b"LO");
    }

    #[test]
    fn truncated_value_reports_bytes_needed() {
        let b = [0x08, 0x00, 0x16, 0x00, b'U', b'I', 10, 0, b'1', b'.'];
        let (set, err) = Parser::new(&b).top_level(0, EXPLICIT_LE, &mut |_, _| false);
        assert!(set.elements.is_empty());
        assert_eq!(err.and_then(|e| e.needed), Some(18));
    }
}
