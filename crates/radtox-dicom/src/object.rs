//! Opening files whatever their framing (preamble or not, file meta or not, truncated),
//! repairing VR UN elements, and typed attribute access with error context.

use crate::error::DicomError;
use dicom_core::header::HasLength;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::entries::{
    EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN,
};
use std::io::Read;
use std::path::Path;

/// A parsed data set plus what we learnt about its encoding.
pub(crate) struct Opened {
    pub obj: InMemDicomObject,
    /// Transfer syntax UID (from the file meta, or the one assumed when there is none).
    pub transfer_syntax: String,
    pub warnings: Vec<String>,
}

const DICM: &[u8; 4] = b"DICM";

/// Open `path` as DICOM. `until`: stop before this top-level tag (used to skip PixelData
/// when only classifying, and to salvage truncated RT Plans).
pub(crate) fn open(path: &Path, until: Option<Tag>) -> Result<Opened, DicomError> {
    let io = |source| DicomError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut head = Vec::with_capacity(132);
    std::fs::File::open(path)
        .map_err(io)?
        .take(132)
        .read_to_end(&mut head)
        .map_err(io)?;
    if head.is_empty() {
        return Err(DicomError::NotDicom {
            path: path.to_path_buf(),
            reason: "the file is empty".into(),
        });
    }
    let has_meta = head.get(128..132) == Some(DICM) || head.get(0..4) == Some(DICM);
    let mut opened = if has_meta {
        let mut options = OpenFileOptions::new();
        if let Some(tag) = until {
            options = options.read_until(tag);
        }
        // dicom-rs detects the preamble itself when "DICM" is at 0 or 128.
        let file = options.open_file(path).map_err(|e| {
            use dicom_object::ReadError as R;
            match e {
                R::ReadUnrecognizedTransferSyntax { .. }
                | R::ReadUnsupportedTransferSyntax { .. }
                | R::ReadUnsupportedTransferSyntaxWithSuggestion { .. } => {
                    DicomError::unsupported(path, e.to_string())
                }
                _ => DicomError::Unreadable {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                },
            }
        })?;
        let transfer_syntax = file
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_string();
        Opened {
            obj: file.into_inner(),
            transfer_syntax,
            warnings: Vec::new(),
        }
    } else {
        open_bare_dataset(path, &head)?
    };
    if contains_un(&opened.obj) {
        let obj = std::mem::replace(&mut opened.obj, InMemDicomObject::new_empty());
        opened.obj = reread_un(obj, path)?;
        opened.warnings.push(
            "attributes stored with VR UN were re-read as implicit VR little endian so that \
             the dictionary VR applies (PS3.5 §6.2.2)"
                .into(),
        );
    }
    Ok(opened)
}

/// A data set with no preamble and no file meta group (Monaco RT Dose, old RT Structs).
/// `read_preamble(Never)` would break ordinary files, so this path is only taken when
/// there is no "DICM" marker at all; the encoding is sniffed from the first element.
fn open_bare_dataset(path: &Path, head: &[u8]) -> Result<Opened, DicomError> {
    let not_dicom = |reason: &str| DicomError::NotDicom {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let (Some(g), Some(rest)) = (head.get(0..2), head.get(4..8)) else {
        return Err(not_dicom("too short to hold a data element"));
    };
    let group = u16::from_le_bytes([g[0], g[1]]);
    // A bare data set starts with the identifying groups (0008 normally); anything else is
    // far more likely text or another format than DICOM.
    if !(0x0002..=0x0020).contains(&group) || group % 2 != 0 {
        return Err(not_dicom(
            "no \"DICM\" marker and the first bytes are not a DICOM data element",
        ));
    }
    let explicit = VR::from_binary([rest[0], rest[1]]).is_some()
        && rest[0].is_ascii_uppercase()
        && rest[1].is_ascii_uppercase();
    let io = |source| DicomError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if !explicit {
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        if len != u32::MAX && u64::from(len) > size {
            return Err(not_dicom(
                "no \"DICM\" marker and the first element's length exceeds the file size",
            ));
        }
    }
    let ts = if explicit {
        EXPLICIT_VR_LITTLE_ENDIAN.erased()
    } else {
        IMPLICIT_VR_LITTLE_ENDIAN.erased()
    };
    // Streamed from the file: no whole-file copy next to the parsed PixelData.
    let reader = std::io::BufReader::new(file);
    let obj = InMemDicomObject::read_dataset_with_ts(reader, &ts).map_err(|e| {
        DicomError::Unreadable {
            path: path.to_path_buf(),
            message: format!("no file meta group; read as {}: {e}", ts.name()),
        }
    })?;
    Ok(Opened {
        obj,
        transfer_syntax: ts.uid().to_string(),
        warnings: vec![format!(
            "no preamble or file meta group; read as {}",
            ts.name()
        )],
    })
}

fn contains_un(obj: &InMemDicomObject) -> bool {
    obj.iter().any(|e| match e.value() {
        Value::Sequence(s) => s.items().iter().any(contains_un),
        // Private UN elements have no dictionary VR to recover: left as they are.
        _ => e.vr() == VR::UN && e.header().tag.group() % 2 == 0,
    })
}

/// Rebuild `obj` with every VR UN element re-read as implicit VR little endian, so that
/// e.g. DoseGridScaling written as UN "1.0e-6" becomes a DS again (and a UN sequence a
/// real sequence). Elements are moved, not copied.
fn reread_un(obj: InMemDicomObject, path: &Path) -> Result<InMemDicomObject, DicomError> {
    let mut kept = Vec::new();
    let mut implicit = Vec::new();
    for elem in obj {
        let (header, value) = elem.into_parts();
        match value {
            Value::Sequence(seq) => {
                let len = seq.length();
                let items = seq
                    .into_items()
                    .into_iter()
                    .map(|item| reread_un(item, path))
                    .collect::<Result<Vec<_>, _>>()?;
                kept.push(DataElement::new_with_len(
                    header.tag,
                    header.vr,
                    len,
                    Value::Sequence(DataSetSequence::new(items, len)),
                ));
            }
            Value::Primitive(p) if header.vr() == VR::UN && header.tag.group() % 2 == 0 => {
                let bytes: &[u8] = match &p {
                    PrimitiveValue::U8(b) => b,
                    PrimitiveValue::Empty => &[],
                    _ => {
                        kept.push(DataElement::new(header.tag, header.vr, Value::Primitive(p)));
                        continue;
                    }
                };
                implicit.extend_from_slice(&header.tag.group().to_le_bytes());
                implicit.extend_from_slice(&header.tag.element().to_le_bytes());
                implicit.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                implicit.extend_from_slice(bytes);
            }
            other => kept.push(DataElement::new(header.tag, header.vr, other)),
        }
    }
    let mut out = InMemDicomObject::from_element_iter(kept);
    if !implicit.is_empty() {
        let fixed = InMemDicomObject::read_dataset_with_ts(
            &implicit[..],
            &IMPLICIT_VR_LITTLE_ENDIAN.erased(),
        )
        .map_err(|e| DicomError::Unreadable {
            path: path.to_path_buf(),
            message: format!("re-reading VR UN elements as implicit VR little endian: {e}"),
        })?;
        for elem in fixed {
            out.put(elem);
        }
    }
    Ok(out)
}

/// Typed, context-carrying access to one data set (the file's top level or a sequence
/// item). `context` names where we are ("ROI 3 'Heart'", "DVH item 2") for messages.
#[derive(Clone, Copy)]
pub(crate) struct Attrs<'a> {
    pub obj: &'a InMemDicomObject,
    pub path: &'a Path,
    pub context: &'a str,
}

impl<'a> Attrs<'a> {
    pub fn new(obj: &'a InMemDicomObject, path: &'a Path) -> Self {
        Attrs {
            obj,
            path,
            context: "",
        }
    }

    pub fn with_context(self, obj: &'a InMemDicomObject, context: &'a str) -> Self {
        Attrs {
            obj,
            path: self.path,
            context,
        }
    }

    /// The element when present with a non-empty value. `get` rather than `element`:
    /// dicom-rs errors capture a backtrace, far too slow for optional attributes.
    fn present(&self, tag: Tag) -> Option<&'a dicom_object::mem::InMemElement> {
        self.obj.get(tag).filter(|e| match e.value() {
            Value::Primitive(p) => !p.is_empty() && !matches!(p, PrimitiveValue::Str(s) if s.trim_matches([' ', '\0']).is_empty()),
            _ => true,
        })
    }

    pub fn missing(&self, tag: Tag) -> DicomError {
        DicomError::missing(self.path, tag, self.context)
    }

    pub fn bad(&self, tag: Tag, message: impl Into<String>) -> DicomError {
        DicomError::bad(self.path, tag, self.context, message)
    }

    /// Text value, trimmed of DICOM padding (space, NUL); `None` when absent or empty.
    pub fn str_opt(&self, tag: Tag) -> Option<String> {
        let e = self.present(tag)?;
        let s = e.to_str().ok()?;
        let s = s.trim_matches([' ', '\0']);
        (!s.is_empty()).then(|| s.to_string())
    }

    pub fn f64s_opt(&self, tag: Tag) -> Result<Option<Vec<f64>>, DicomError> {
        let Some(e) = self.present(tag) else {
            return Ok(None);
        };
        let v = e
            .to_multi_float64()
            .map_err(|err| self.bad(tag, format!("not a list of numbers ({err})")))?;
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(self.bad(tag, format!("value {} is not finite", i + 1)));
        }
        Ok(Some(v))
    }

    pub fn f64s(&self, tag: Tag) -> Result<Vec<f64>, DicomError> {
        self.f64s_opt(tag)?.ok_or_else(|| self.missing(tag))
    }

    /// Exactly `N` numbers.
    pub fn f64_array<const N: usize>(&self, tag: Tag) -> Result<[f64; N], DicomError> {
        let v = self.f64s(tag)?;
        <[f64; N]>::try_from(v.as_slice())
            .map_err(|_| self.bad(tag, format!("expected {N} values, found {}", v.len())))
    }

    pub fn f64_opt(&self, tag: Tag) -> Result<Option<f64>, DicomError> {
        match self.f64s_opt(tag)? {
            None => Ok(None),
            Some(v) => v
                .first()
                .copied()
                .map(Some)
                .ok_or_else(|| self.bad(tag, "no value")),
        }
    }

    pub fn f64(&self, tag: Tag) -> Result<f64, DicomError> {
        self.f64_opt(tag)?.ok_or_else(|| self.missing(tag))
    }

    pub fn int_opt(&self, tag: Tag) -> Result<Option<i64>, DicomError> {
        let Some(e) = self.present(tag) else {
            return Ok(None);
        };
        // IS may be written "1.0" by some systems; accept integral decimals.
        match e.to_int::<i64>() {
            Ok(v) => Ok(Some(v)),
            Err(_) => match e.to_float64() {
                Ok(f) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(Some(f as i64)),
                _ => Err(self.bad(tag, "not an integer")),
            },
        }
    }

    pub fn int(&self, tag: Tag) -> Result<i64, DicomError> {
        self.int_opt(tag)?.ok_or_else(|| self.missing(tag))
    }

    /// An unsigned count/size (Rows, Columns, BitsAllocated, ...).
    pub fn usize(&self, tag: Tag) -> Result<usize, DicomError> {
        let v = self.int(tag)?;
        usize::try_from(v).map_err(|_| self.bad(tag, format!("{v} is negative")))
    }

    pub fn i32_opt(&self, tag: Tag) -> Result<Option<i32>, DicomError> {
        match self.int_opt(tag)? {
            None => Ok(None),
            Some(v) => i32::try_from(v)
                .map(Some)
                .map_err(|_| self.bad(tag, format!("{v} is out of range"))),
        }
    }

    /// Items of a sequence; empty when absent.
    pub fn items(&self, tag: Tag) -> &'a [InMemDicomObject] {
        self.obj.get(tag).and_then(|e| e.items()).unwrap_or(&[])
    }
}

/// SOP Class UID and Modality, used to say what a file is when it is not what was asked.
pub(crate) fn kind_of(obj: &InMemDicomObject) -> String {
    let get = |tag| {
        obj.get(tag)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_matches([' ', '\0']).to_string())
            .unwrap_or_default()
    };
    let modality = get(tags::MODALITY);
    let class = get(tags::SOP_CLASS_UID);
    match (modality.is_empty(), class.is_empty()) {
        (true, true) => "an object with neither Modality nor SOP Class UID".into(),
        (false, true) => format!("Modality {modality}"),
        (true, false) => format!("SOP Class {class}"),
        (false, false) => format!("Modality {modality} (SOP Class {class})"),
    }
}

pub(crate) const RT_DOSE_CLASS: &str = "1.2.840.10008.5.1.4.1.1.481.2";
pub(crate) const RT_STRUCT_CLASS: &str = "1.2.840.10008.5.1.4.1.1.481.3";
pub(crate) const RT_PLAN_CLASS: &str = "1.2.840.10008.5.1.4.1.1.481.5";
pub(crate) const RT_ION_PLAN_CLASS: &str = "1.2.840.10008.5.1.4.1.1.481.8";
pub(crate) const CT_CLASS: &str = "1.2.840.10008.5.1.4.1.1.2";
pub(crate) const ENHANCED_CT_CLASS: &str = "1.2.840.10008.5.1.4.1.1.2.1";

/// What kind of object a data set is, from SOP Class UID, else Modality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dose,
    Struct,
    Plan,
    Ct,
    /// Some other SOP Class / Modality.
    Other,
    /// Neither SOP Class UID nor Modality present.
    Unknown,
}

pub(crate) fn classify(obj: &InMemDicomObject) -> Kind {
    let a = Attrs::new(obj, Path::new(""));
    match a.str_opt(tags::SOP_CLASS_UID).as_deref() {
        Some(RT_DOSE_CLASS) => return Kind::Dose,
        Some(RT_STRUCT_CLASS) => return Kind::Struct,
        Some(RT_PLAN_CLASS) | Some(RT_ION_PLAN_CLASS) => return Kind::Plan,
        Some(CT_CLASS) | Some(ENHANCED_CT_CLASS) => return Kind::Ct,
        _ => {}
    }
    match a.str_opt(tags::MODALITY).as_deref() {
        Some("RTDOSE") => Kind::Dose,
        Some("RTSTRUCT") => Kind::Struct,
        Some("RTPLAN") | Some("RTIONPLAN") => Kind::Plan,
        Some("CT") => Kind::Ct,
        Some(_) => Kind::Other,
        None if a.str_opt(tags::SOP_CLASS_UID).is_some() => Kind::Other,
        None => Kind::Unknown,
    }
}

/// Fail unless the object is of `want` kind (an object with neither SOP Class UID nor
/// Modality is given the benefit of the doubt: missing attributes are reported later).
pub(crate) fn expect_kind(
    obj: &InMemDicomObject,
    path: &Path,
    want: Kind,
    expected: &'static str,
) -> Result<(), DicomError> {
    let k = classify(obj);
    if k == want || k == Kind::Unknown {
        Ok(())
    } else {
        Err(DicomError::WrongKind {
            path: path.to_path_buf(),
            expected,
            found: kind_of(obj),
        })
    }
}
