//! Building and writing the three DICOM-RT objects (RT Dose, RT Structure Set, RT Plan).

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use std::path::{Path, PathBuf};

use crate::layout::{Layout, OffsetStyle, Orientation};
use crate::shapes::CONTOUR_DECIMALS;
use crate::text::{derived_uid, ds};
use crate::{FixtureError, Phantom};

/// Transfer syntax of the written files (all three use the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Ts {
    #[default]
    ExplicitLe,
    ImplicitLe,
    ExplicitBe,
}

impl Ts {
    pub fn uid(self) -> &'static str {
        match self {
            Ts::ExplicitLe => uids::EXPLICIT_VR_LITTLE_ENDIAN,
            Ts::ImplicitLe => uids::IMPLICIT_VR_LITTLE_ENDIAN,
            // Retired in 2004 (hence no current constant) but still met in old exports.
            Ts::ExplicitBe => "1.2.840.10008.1.2.2",
        }
    }

    pub fn big_endian(self) -> bool {
        self == Ts::ExplicitBe
    }
}

/// How to encode a phantom.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOptions {
    pub orientation: Orientation,
    pub transfer_syntax: Ts,
    /// BitsAllocated of the dose: 16 or 32.
    pub bits: u16,
    pub offsets: OffsetStyle,
    /// Write a DVH Sequence (cumulative, CM3) in the RT Dose, computed from the written
    /// contours and the analytic dose (see [`crate::tps_dvh`]).
    pub include_tps_dvh: bool,
    /// Bin width of the DVH Sequence (Gy).
    pub tps_dvh_bin_gy: f64,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            orientation: Orientation::Hfs,
            transfer_syntax: Ts::ExplicitLe,
            bits: 32,
            offsets: OffsetStyle::Relative,
            include_tps_dvh: false,
            tps_dvh_bin_gy: 0.1,
        }
    }
}

impl WriteOptions {
    /// A short text identifying the options, folded into the RT Dose UIDs so that two
    /// encodings of one phantom never share a SOP Instance UID.
    fn signature(&self) -> String {
        format!(
            "{}/{:?}/{}/{:?}/{}/{}",
            self.orientation.code(),
            self.transfer_syntax,
            self.bits,
            self.offsets,
            self.include_tps_dvh,
            self.tps_dvh_bin_gy
        )
    }
}

/// Paths of a written plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenPlan {
    pub dir: PathBuf,
    pub rtdose: PathBuf,
    pub rtstruct: PathBuf,
    pub rtplan: PathBuf,
}

impl WrittenPlan {
    fn in_dir(dir: &Path) -> WrittenPlan {
        WrittenPlan {
            dir: dir.to_path_buf(),
            rtdose: dir.join("rtdose.dcm"),
            rtstruct: dir.join("rtstruct.dcm"),
            rtplan: dir.join("rtplan.dcm"),
        }
    }
}

// Fixed values keep regenerated files byte-identical: no clock, no random numbers.
const DATE: &str = "20240101";
const TIME: &str = "120000";
const MANUFACTURER: &str = "radtox-fixtures";

// --- element helpers -------------------------------------------------------------------

fn put_str(o: &mut InMemDicomObject, tag: Tag, vr: VR, v: &str) {
    o.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
}

fn put_strs(o: &mut InMemDicomObject, tag: Tag, vr: VR, v: Vec<String>) {
    o.put(DataElement::new(tag, vr, PrimitiveValue::Strs(v.into())));
}

fn put_ds(o: &mut InMemDicomObject, tag: Tag, v: &[f64], decimals: usize) {
    put_strs(o, tag, VR::DS, v.iter().map(|x| ds(*x, decimals)).collect());
}

fn put_is(o: &mut InMemDicomObject, tag: Tag, v: i64) {
    put_str(o, tag, VR::IS, &v.to_string());
}

fn put_us(o: &mut InMemDicomObject, tag: Tag, v: u16) {
    o.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
}

fn put_seq(o: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    o.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

fn obj() -> InMemDicomObject {
    InMemDicomObject::new_empty()
}

/// Attributes every object of the plan shares: patient, study, frame of reference,
/// equipment and SOP common (PS3.3 C.7.1.1, C.7.2.1, C.7.4.1, C.7.5.1, C.12.1).
fn common(
    ph: &Phantom,
    class_uid: &str,
    sop_uid: &str,
    modality: &str,
    series: &str,
) -> InMemDicomObject {
    let mut o = obj();
    put_str(&mut o, tags::SOP_CLASS_UID, VR::UI, class_uid);
    put_str(&mut o, tags::SOP_INSTANCE_UID, VR::UI, sop_uid);
    put_str(&mut o, tags::STUDY_DATE, VR::DA, DATE);
    put_str(&mut o, tags::STUDY_TIME, VR::TM, TIME);
    put_str(&mut o, tags::ACCESSION_NUMBER, VR::SH, "");
    put_str(&mut o, tags::MODALITY, VR::CS, modality);
    put_str(&mut o, tags::MANUFACTURER, VR::LO, MANUFACTURER);
    put_str(&mut o, tags::REFERRING_PHYSICIAN_NAME, VR::PN, "");
    put_str(&mut o, tags::PATIENT_NAME, VR::PN, &ph.patient_name);
    put_str(&mut o, tags::PATIENT_ID, VR::LO, &ph.patient_id);
    put_str(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, "");
    put_str(&mut o, tags::PATIENT_SEX, VR::CS, "O");
    put_str(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, &ph.uid("study"));
    put_str(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, series);
    put_str(&mut o, tags::STUDY_ID, VR::SH, "1");
    put_is(&mut o, tags::SERIES_NUMBER, 1);
    put_str(&mut o, tags::OPERATORS_NAME, VR::PN, "");
    put_str(
        &mut o,
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        &ph.uid("frame-of-reference"),
    );
    put_str(&mut o, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
    o
}

/// The three objects of a plan, before encoding.
pub(crate) struct PlanObjects {
    pub dose: InMemDicomObject,
    pub rtstruct: InMemDicomObject,
    pub plan: InMemDicomObject,
    /// Bytes per dose pixel.
    pub bytes_per_pixel: usize,
    pub layout: Layout,
}

pub(crate) fn build(ph: &Phantom, opts: &WriteOptions) -> Result<PlanObjects, FixtureError> {
    ph.check()?;
    if opts.include_tps_dvh && !(opts.tps_dvh_bin_gy > 0.0 && opts.tps_dvh_bin_gy.is_finite()) {
        return Err(FixtureError::InvalidOptions {
            reason: "DVH bin width must be a positive dose".into(),
        });
    }
    let layout = Layout::new(&ph.grid, opts.orientation, &opts.offsets)?;
    let q = ph.quantised_dose(opts.bits, &opts.offsets)?;
    let plan_uid = ph.uid("rtplan-sop");
    let struct_uid = ph.uid("rtstruct-sop");

    // ---- RT Dose (PS3.3 A.18.3, C.8.8.3) ----
    let sig = opts.signature();
    let mut dose = common(
        ph,
        uids::RT_DOSE_STORAGE,
        &derived_uid(&[&ph.name, "rtdose-sop", &sig]),
        "RTDOSE",
        &derived_uid(&[&ph.name, "rtdose-series", &sig]),
    );
    put_is(&mut dose, tags::INSTANCE_NUMBER, 1);
    put_ds(&mut dose, tags::IMAGE_POSITION_PATIENT, &layout.ipp, 6);
    put_ds(&mut dose, tags::IMAGE_ORIENTATION_PATIENT, &layout.iop, 6);
    // SliceThickness is type 2: the frame spacing when uniform, empty otherwise.
    match opts.offsets {
        OffsetStyle::NonUniform(_) => put_str(&mut dose, tags::SLICE_THICKNESS, VR::DS, ""),
        _ => put_ds(&mut dose, tags::SLICE_THICKNESS, &[ph.grid.spacing[2]], 6),
    }
    put_us(&mut dose, tags::SAMPLES_PER_PIXEL, 1);
    put_str(
        &mut dose,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    put_is(&mut dose, tags::NUMBER_OF_FRAMES, layout.frames() as i64);
    dose.put(DataElement::new(
        tags::FRAME_INCREMENT_POINTER,
        VR::AT,
        PrimitiveValue::Tags(vec![tags::GRID_FRAME_OFFSET_VECTOR].into()),
    ));
    put_us(&mut dose, tags::ROWS, layout.rows as u16);
    put_us(&mut dose, tags::COLUMNS, layout.columns as u16);
    put_ds(&mut dose, tags::PIXEL_SPACING, &layout.pixel_spacing, 6);
    put_us(&mut dose, tags::BITS_ALLOCATED, opts.bits);
    put_us(&mut dose, tags::BITS_STORED, opts.bits);
    put_us(&mut dose, tags::HIGH_BIT, opts.bits - 1);
    put_us(&mut dose, tags::PIXEL_REPRESENTATION, 0);
    put_str(&mut dose, tags::DOSE_UNITS, VR::CS, "GY");
    put_str(&mut dose, tags::DOSE_TYPE, VR::CS, "PHYSICAL");
    put_str(&mut dose, tags::DOSE_SUMMATION_TYPE, VR::CS, "PLAN");
    put_ds(
        &mut dose,
        tags::GRID_FRAME_OFFSET_VECTOR,
        &layout.offsets,
        6,
    );
    put_str(&mut dose, tags::DOSE_GRID_SCALING, VR::DS, &q.scaling_ds);
    let mut plan_ref = obj();
    put_str(
        &mut plan_ref,
        tags::REFERENCED_SOP_CLASS_UID,
        VR::UI,
        uids::RT_PLAN_STORAGE,
    );
    put_str(
        &mut plan_ref,
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        &plan_uid,
    );
    put_seq(&mut dose, tags::REFERENCED_RT_PLAN_SEQUENCE, vec![plan_ref]);
    if opts.include_tps_dvh {
        let mut ss_ref = obj();
        put_str(
            &mut ss_ref,
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            uids::RT_STRUCTURE_SET_STORAGE,
        );
        put_str(
            &mut ss_ref,
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            &struct_uid,
        );
        put_seq(
            &mut dose,
            tags::REFERENCED_STRUCTURE_SET_SEQUENCE,
            vec![ss_ref],
        );
        let items = ph
            .structures
            .iter()
            .map(|s| dvh_item(ph, s, opts.tps_dvh_bin_gy))
            .collect();
        put_seq(&mut dose, tags::DVH_SEQUENCE, items);
    }
    let bytes_per_pixel = usize::from(opts.bits / 8);
    let mut px =
        Vec::with_capacity(layout.frames() * layout.rows * layout.columns * bytes_per_pixel);
    for f in 0..layout.frames() {
        for r in 0..layout.rows {
            for c in 0..layout.columns {
                let [ix, iy, iz] = layout.voxel(f, r, c);
                let v = q.pixels.get([iz, iy, ix]).copied().unwrap_or(0);
                // The bytes are laid out here, in file order, so the encoding of
                // 32-bit values in big endian is explicit: each u32 most significant byte
                // first, as pydicom and DCMTK write it.
                match (opts.bits, opts.transfer_syntax.big_endian()) {
                    (16, false) => px.extend_from_slice(&(v as u16).to_le_bytes()),
                    (16, true) => px.extend_from_slice(&(v as u16).to_be_bytes()),
                    (_, false) => px.extend_from_slice(&v.to_le_bytes()),
                    (_, true) => px.extend_from_slice(&v.to_be_bytes()),
                }
            }
        }
    }
    dose.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U8(px.into()),
    ));

    // ---- RT Structure Set (PS3.3 A.19.3, C.8.8.5, C.8.8.6, C.8.8.8) ----
    let mut rs = common(
        ph,
        uids::RT_STRUCTURE_SET_STORAGE,
        &struct_uid,
        "RTSTRUCT",
        &ph.uid("rtstruct-series"),
    );
    put_is(&mut rs, tags::INSTANCE_NUMBER, 1);
    put_str(
        &mut rs,
        tags::STRUCTURE_SET_LABEL,
        VR::SH,
        &ph.structure_set_label(),
    );
    put_str(&mut rs, tags::STRUCTURE_SET_DATE, VR::DA, DATE);
    put_str(&mut rs, tags::STRUCTURE_SET_TIME, VR::TM, TIME);
    let for_uid = ph.uid("frame-of-reference");
    let mut for_item = obj();
    put_str(
        &mut for_item,
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        &for_uid,
    );
    // RTReferencedStudySequence (type 3) is omitted: a phantom has no CT series to name.
    put_seq(
        &mut rs,
        tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE,
        vec![for_item],
    );
    let mut roi_items = Vec::new();
    let mut contour_items = Vec::new();
    let mut obs_items = Vec::new();
    for (i, s) in ph.structures.iter().enumerate() {
        let mut roi = obj();
        put_is(&mut roi, tags::ROI_NUMBER, i64::from(s.roi_number));
        put_str(
            &mut roi,
            tags::REFERENCED_FRAME_OF_REFERENCE_UID,
            VR::UI,
            &for_uid,
        );
        put_str(&mut roi, tags::ROI_NAME, VR::LO, &s.name);
        put_str(
            &mut roi,
            tags::ROI_GENERATION_ALGORITHM,
            VR::CS,
            "AUTOMATIC",
        );
        roi_items.push(roi);

        let mut rc = obj();
        put_strs(
            &mut rc,
            tags::ROI_DISPLAY_COLOR,
            VR::IS,
            s.color.iter().map(|c| c.to_string()).collect(),
        );
        let mut contours = Vec::new();
        for plane in s.contour_planes() {
            for poly in &plane.polygons {
                let mut c = obj();
                put_is(&mut c, tags::CONTOUR_NUMBER, contours.len() as i64 + 1);
                put_str(
                    &mut c,
                    tags::CONTOUR_GEOMETRIC_TYPE,
                    VR::CS,
                    "CLOSED_PLANAR",
                );
                put_is(
                    &mut c,
                    tags::NUMBER_OF_CONTOUR_POINTS,
                    poly.points.len() as i64,
                );
                let mut data = Vec::with_capacity(poly.points.len() * 3);
                for [x, y] in &poly.points {
                    data.extend_from_slice(&[*x, *y, plane.z]);
                }
                put_ds(&mut c, tags::CONTOUR_DATA, &data, CONTOUR_DECIMALS);
                contours.push(c);
            }
        }
        put_seq(&mut rc, tags::CONTOUR_SEQUENCE, contours);
        put_is(
            &mut rc,
            tags::REFERENCED_ROI_NUMBER,
            i64::from(s.roi_number),
        );
        contour_items.push(rc);

        let mut ob = obj();
        put_is(&mut ob, tags::OBSERVATION_NUMBER, i as i64 + 1);
        put_is(
            &mut ob,
            tags::REFERENCED_ROI_NUMBER,
            i64::from(s.roi_number),
        );
        put_str(
            &mut ob,
            tags::RTROI_INTERPRETED_TYPE,
            VR::CS,
            &s.interpreted_type,
        );
        put_str(&mut ob, tags::ROI_INTERPRETER, VR::PN, "");
        obs_items.push(ob);
    }
    put_seq(&mut rs, tags::STRUCTURE_SET_ROI_SEQUENCE, roi_items);
    put_seq(&mut rs, tags::ROI_CONTOUR_SEQUENCE, contour_items);
    put_seq(&mut rs, tags::RTROI_OBSERVATIONS_SEQUENCE, obs_items);

    // ---- RT Plan (PS3.3 A.20.3, C.8.8.9–C.8.8.14) ----
    let mut plan = common(
        ph,
        uids::RT_PLAN_STORAGE,
        &plan_uid,
        "RTPLAN",
        &ph.uid("rtplan-series"),
    );
    put_is(&mut plan, tags::INSTANCE_NUMBER, 1);
    put_str(&mut plan, tags::RT_PLAN_LABEL, VR::SH, &ph.plan_label);
    put_str(&mut plan, tags::RT_PLAN_NAME, VR::LO, &ph.plan_name);
    put_str(&mut plan, tags::RT_PLAN_DATE, VR::DA, DATE);
    put_str(&mut plan, tags::RT_PLAN_TIME, VR::TM, TIME);
    put_str(&mut plan, tags::RT_PLAN_GEOMETRY, VR::CS, "PATIENT");
    let mut ss_ref = obj();
    put_str(
        &mut ss_ref,
        tags::REFERENCED_SOP_CLASS_UID,
        VR::UI,
        uids::RT_STRUCTURE_SET_STORAGE,
    );
    put_str(
        &mut ss_ref,
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        &struct_uid,
    );
    put_seq(
        &mut plan,
        tags::REFERENCED_STRUCTURE_SET_SEQUENCE,
        vec![ss_ref],
    );
    let mut dr = obj();
    put_is(&mut dr, tags::DOSE_REFERENCE_NUMBER, 1);
    put_str(
        &mut dr,
        tags::DOSE_REFERENCE_UID,
        VR::UI,
        &ph.uid("dose-reference"),
    );
    match ph.target_roi {
        Some(roi) => {
            put_str(
                &mut dr,
                tags::DOSE_REFERENCE_STRUCTURE_TYPE,
                VR::CS,
                "VOLUME",
            );
            put_is(&mut dr, tags::REFERENCED_ROI_NUMBER, i64::from(roi));
        }
        None => put_str(&mut dr, tags::DOSE_REFERENCE_STRUCTURE_TYPE, VR::CS, "SITE"),
    }
    put_str(
        &mut dr,
        tags::DOSE_REFERENCE_DESCRIPTION,
        VR::LO,
        "Prescription",
    );
    put_str(&mut dr, tags::DOSE_REFERENCE_TYPE, VR::CS, "TARGET");
    put_ds(
        &mut dr,
        tags::TARGET_PRESCRIPTION_DOSE,
        &[ph.prescription_ds()],
        6,
    );
    put_seq(&mut plan, tags::DOSE_REFERENCE_SEQUENCE, vec![dr]);
    let mut fg = obj();
    put_is(&mut fg, tags::FRACTION_GROUP_NUMBER, 1);
    put_is(
        &mut fg,
        tags::NUMBER_OF_FRACTIONS_PLANNED,
        i64::from(ph.fractions),
    );
    put_is(&mut fg, tags::NUMBER_OF_BEAMS, 0);
    put_is(&mut fg, tags::NUMBER_OF_BRACHY_APPLICATION_SETUPS, 0);
    put_seq(&mut plan, tags::FRACTION_GROUP_SEQUENCE, vec![fg]);
    let mut setup = obj();
    put_str(
        &mut setup,
        tags::PATIENT_POSITION,
        VR::CS,
        opts.orientation.code(),
    );
    put_is(&mut setup, tags::PATIENT_SETUP_NUMBER, 1);
    put_seq(&mut plan, tags::PATIENT_SETUP_SEQUENCE, vec![setup]);

    Ok(PlanObjects {
        dose,
        rtstruct: rs,
        plan,
        bytes_per_pixel,
        layout,
    })
}

/// One DVH Sequence item (PS3.3 C.8.8.4): cumulative, CM3, bins of `bin` Gy.
fn dvh_item(ph: &Phantom, s: &crate::ShapeSpec, bin: f64) -> InMemDicomObject {
    let dvh = crate::tps_dvh::cumulative_dvh(ph, s, bin);
    let mut it = obj();
    let mut r = obj();
    put_is(&mut r, tags::REFERENCED_ROI_NUMBER, i64::from(s.roi_number));
    put_str(&mut r, tags::DVHROI_CONTRIBUTION_TYPE, VR::CS, "INCLUDED");
    put_seq(&mut it, tags::DVH_REFERENCED_ROI_SEQUENCE, vec![r]);
    put_str(&mut it, tags::DVH_TYPE, VR::CS, "CUMULATIVE");
    put_str(&mut it, tags::DOSE_UNITS, VR::CS, "GY");
    put_str(&mut it, tags::DOSE_TYPE, VR::CS, "PHYSICAL");
    put_ds(&mut it, tags::DVH_DOSE_SCALING, &[1.0], 6);
    put_str(&mut it, tags::DVH_VOLUME_UNITS, VR::CS, "CM3");
    put_is(
        &mut it,
        tags::DVH_NUMBER_OF_BINS,
        dvh.volumes_cc.len() as i64,
    );
    let mut data = Vec::with_capacity(dvh.volumes_cc.len() * 2);
    for v in &dvh.volumes_cc {
        data.push(bin);
        data.push(*v);
    }
    put_ds(&mut it, tags::DVH_DATA, &data, 4);
    put_ds(&mut it, tags::DVH_MINIMUM_DOSE, &[dvh.min_gy], 4);
    put_ds(&mut it, tags::DVH_MAXIMUM_DOSE, &[dvh.max_gy], 4);
    put_ds(&mut it, tags::DVH_MEAN_DOSE, &[dvh.mean_gy], 4);
    it
}

/// Our own implementation class UID and version name, so that file meta bytes do not
/// change when dicom-rs is upgraded.
fn meta_builder(ts: Ts) -> FileMetaTableBuilder {
    FileMetaTableBuilder::new()
        .transfer_syntax(ts.uid())
        .implementation_class_uid(derived_uid(&["implementation"]))
        .implementation_version_name("RADTOX_FIX_1")
}

pub(crate) fn save(o: InMemDicomObject, path: &Path, ts: Ts) -> Result<(), FixtureError> {
    let file = o
        .with_meta(meta_builder(ts))
        .map_err(|e| FixtureError::Dicom {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    file.write_to_file(path).map_err(|e| FixtureError::Dicom {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

pub(crate) fn prepare_dir(dir: &Path) -> Result<WrittenPlan, FixtureError> {
    std::fs::create_dir_all(dir).map_err(|source| FixtureError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(WrittenPlan::in_dir(dir))
}

/// Writes `rtdose.dcm`, `rtstruct.dcm` and `rtplan.dcm` for `ph` into `dir` (created if
/// missing). Same inputs give byte-identical files.
pub fn write_plan(
    ph: &Phantom,
    dir: &Path,
    opts: &WriteOptions,
) -> Result<WrittenPlan, FixtureError> {
    let objs = build(ph, opts)?;
    let out = prepare_dir(dir)?;
    let ts = opts.transfer_syntax;
    save(objs.dose, &out.rtdose, ts)?;
    save(objs.rtstruct, &out.rtstruct, ts)?;
    save(objs.plan, &out.rtplan, ts)?;
    Ok(out)
}
