//! Small synthetic DICOM-RT files written with dicom-object for the tests.
#![allow(dead_code)]

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use std::path::{Path, PathBuf};

pub const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
pub const DEFLATED_LE: &str = "1.2.840.10008.1.2.1.99";
pub const RT_DOSE: &str = "1.2.840.10008.5.1.4.1.1.481.2";
pub const RT_STRUCT: &str = "1.2.840.10008.5.1.4.1.1.481.3";
pub const RT_PLAN: &str = "1.2.840.10008.5.1.4.1.1.481.5";
pub const FRAME: &str = "1.2.3.4.5.6.1";

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(name)
}

pub fn ds(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v}"))
        .collect::<Vec<_>>()
        .join("\\")
}

pub fn s(tag: Tag, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(v))
}

pub fn us(tag: Tag, v: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(v))
}

pub fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(
        tag,
        VR::SQ,
        DataSetSequence::new(items, dicom_core::Length::UNDEFINED),
    )
}

pub fn item(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

/// Write `obj` with a file meta group in transfer syntax `ts`.
pub fn write(obj: InMemDicomObject, path: &Path, ts: &str) {
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(ts))
        .expect("meta")
        .write_to_file(path)
        .expect("write");
}

/// Write only the data set, implicit VR little endian: no preamble, no file meta (Monaco).
pub fn write_bare(obj: &InMemDicomObject, path: &Path) {
    let ts = dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN.erased();
    let mut f = std::fs::File::create(path).expect("create");
    obj.write_dataset_with_ts(&mut f, &ts).expect("write");
}

/// An RT Dose description; `samples` are raw stored values in file order.
pub struct DoseSpec {
    pub rows: u16,
    pub columns: u16,
    pub frames: Option<u32>,
    pub bits: u16,
    pub signed: bool,
    pub ipp: [f64; 3],
    pub iop: [f64; 6],
    /// [between rows, between columns]
    pub spacing: [f64; 2],
    pub offsets: Option<Vec<f64>>,
    pub scaling: Option<f64>,
    pub units: Option<&'static str>,
    pub summation: &'static str,
    pub frame_uid: &'static str,
    pub sop_uid: String,
    pub plan_uid: Option<&'static str>,
    pub beams: Vec<i32>,
    pub samples: Vec<i64>,
}

impl DoseSpec {
    /// A HFS grid of `frames`×`rows`×`columns` with 1 mm pixels and frames 1 mm apart.
    pub fn hfs(frames: usize, rows: usize, columns: usize, samples: Vec<i64>) -> DoseSpec {
        DoseSpec {
            rows: rows as u16,
            columns: columns as u16,
            frames: Some(frames as u32),
            bits: 32,
            signed: false,
            ipp: [0.0, 0.0, 0.0],
            iop: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            spacing: [1.0, 1.0],
            offsets: Some((0..frames).map(|k| k as f64).collect()),
            scaling: Some(1e-3),
            units: Some("GY"),
            summation: "PLAN",
            frame_uid: FRAME,
            sop_uid: "1.2.3.4.5.6.100".into(),
            plan_uid: Some("1.2.3.4.5.6.200"),
            beams: vec![],
            samples,
        }
    }

    pub fn object(&self) -> InMemDicomObject {
        let mut e = vec![
            s(tags::SOP_CLASS_UID, VR::UI, RT_DOSE),
            s(tags::SOP_INSTANCE_UID, VR::UI, &self.sop_uid),
            s(tags::MODALITY, VR::CS, "RTDOSE"),
            s(tags::IMAGE_POSITION_PATIENT, VR::DS, &ds(&self.ipp)),
            s(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, &ds(&self.iop)),
            s(tags::FRAME_OF_REFERENCE_UID, VR::UI, self.frame_uid),
            us(tags::SAMPLES_PER_PIXEL, 1),
            s(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
            us(tags::ROWS, self.rows),
            us(tags::COLUMNS, self.columns),
            s(tags::PIXEL_SPACING, VR::DS, &ds(&self.spacing)),
            us(tags::BITS_ALLOCATED, self.bits),
            us(tags::BITS_STORED, self.bits),
            us(tags::HIGH_BIT, self.bits - 1),
            us(tags::PIXEL_REPRESENTATION, self.signed as u16),
            s(tags::DOSE_TYPE, VR::CS, "PHYSICAL"),
            s(tags::DOSE_SUMMATION_TYPE, VR::CS, self.summation),
        ];
        if let Some(n) = self.frames {
            e.push(s(tags::NUMBER_OF_FRAMES, VR::IS, &n.to_string()));
        }
        if let Some(o) = &self.offsets {
            e.push(s(tags::GRID_FRAME_OFFSET_VECTOR, VR::DS, &ds(o)));
        }
        if let Some(sc) = self.scaling {
            e.push(s(tags::DOSE_GRID_SCALING, VR::DS, &format!("{sc:e}")));
        }
        if let Some(u) = self.units {
            e.push(s(tags::DOSE_UNITS, VR::CS, u));
        }
        if let Some(p) = self.plan_uid {
            let beams: Vec<InMemDicomObject> = self
                .beams
                .iter()
                .map(|b| {
                    item(vec![s(
                        tags::REFERENCED_BEAM_NUMBER,
                        VR::IS,
                        &b.to_string(),
                    )])
                })
                .collect();
            let mut plan_item = vec![
                s(tags::REFERENCED_SOP_CLASS_UID, VR::UI, RT_PLAN),
                s(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, p),
            ];
            if !beams.is_empty() {
                plan_item.push(seq(
                    tags::REFERENCED_FRACTION_GROUP_SEQUENCE,
                    vec![item(vec![seq(tags::REFERENCED_BEAM_SEQUENCE, beams)])],
                ));
            }
            e.push(seq(
                tags::REFERENCED_RT_PLAN_SEQUENCE,
                vec![item(plan_item)],
            ));
        }
        let pixel = if self.bits == 16 {
            let w: Vec<u16> = self.samples.iter().map(|&v| v as u16).collect();
            PrimitiveValue::U16(w.into())
        } else {
            let b: Vec<u8> = self
                .samples
                .iter()
                .flat_map(|&v| (v as u32).to_le_bytes())
                .collect();
            PrimitiveValue::U8(b.into())
        };
        e.push(DataElement::new(tags::PIXEL_DATA, VR::OW, pixel));
        InMemDicomObject::from_element_iter(e)
    }

    pub fn write(&self, path: &Path) -> PathBuf {
        write(self.object(), path, EXPLICIT_LE);
        path.to_path_buf()
    }
}

/// One ROI for a synthetic structure set: (number, name, contours as (type, flat xyz data)).
pub struct Roi {
    pub number: i32,
    pub name: &'static str,
    pub color: [u8; 3],
    pub contours: Vec<(&'static str, String)>,
}

pub fn square(x0: f64, y0: f64, side: f64, z: f64) -> String {
    ds(&[
        x0,
        y0,
        z,
        x0 + side,
        y0,
        z,
        x0 + side,
        y0 + side,
        z,
        x0,
        y0 + side,
        z,
    ])
}

/// An RT Struct; ROIContourSequence is written in the *reverse* order of
/// StructureSetROISequence so that positional matching would fail.
pub fn write_struct(path: &Path, rois: &[Roi], frame: &str, sop_uid: &str) -> PathBuf {
    let ss_rois = rois
        .iter()
        .map(|r| {
            item(vec![
                s(tags::ROI_NUMBER, VR::IS, &r.number.to_string()),
                s(tags::REFERENCED_FRAME_OF_REFERENCE_UID, VR::UI, frame),
                s(tags::ROI_NAME, VR::LO, r.name),
            ])
        })
        .collect();
    let contours = rois
        .iter()
        .rev()
        .map(|r| {
            let cs = r
                .contours
                .iter()
                .map(|(kind, data)| {
                    let n = data.split('\\').count() / 3;
                    item(vec![
                        s(tags::CONTOUR_GEOMETRIC_TYPE, VR::CS, kind),
                        s(tags::NUMBER_OF_CONTOUR_POINTS, VR::IS, &n.to_string()),
                        s(tags::CONTOUR_DATA, VR::DS, data),
                    ])
                })
                .collect();
            item(vec![
                s(
                    tags::ROI_DISPLAY_COLOR,
                    VR::IS,
                    &format!("{}\\{}\\{}", r.color[0], r.color[1], r.color[2]),
                ),
                seq(tags::CONTOUR_SEQUENCE, cs),
                s(tags::REFERENCED_ROI_NUMBER, VR::IS, &r.number.to_string()),
            ])
        })
        .collect();
    let observations = rois
        .iter()
        .map(|r| {
            item(vec![
                s(tags::OBSERVATION_NUMBER, VR::IS, &r.number.to_string()),
                s(tags::REFERENCED_ROI_NUMBER, VR::IS, &r.number.to_string()),
                s(
                    tags::RTROI_INTERPRETED_TYPE,
                    VR::CS,
                    if r.name.starts_with("PTV") {
                        "PTV"
                    } else {
                        "ORGAN"
                    },
                ),
            ])
        })
        .collect();
    let obj = InMemDicomObject::from_element_iter(vec![
        s(tags::SOP_CLASS_UID, VR::UI, RT_STRUCT),
        s(tags::SOP_INSTANCE_UID, VR::UI, sop_uid),
        s(tags::MODALITY, VR::CS, "RTSTRUCT"),
        s(tags::STRUCTURE_SET_LABEL, VR::SH, "TEST"),
        seq(
            tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE,
            vec![item(vec![s(tags::FRAME_OF_REFERENCE_UID, VR::UI, frame)])],
        ),
        seq(tags::STRUCTURE_SET_ROI_SEQUENCE, ss_rois),
        seq(tags::ROI_CONTOUR_SEQUENCE, contours),
        seq(tags::RTROI_OBSERVATIONS_SEQUENCE, observations),
    ]);
    write(obj, path, EXPLICIT_LE);
    path.to_path_buf()
}
