//! Opening files whatever their framing (preamble or not, file meta or not, deflated,
//! truncated), header-only reads for classification, and typed attribute access with
//! error context over the [`raw`](crate::raw) parser's data sets.

use crate::error::DicomError;
use crate::raw::{
    EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, ParseError, Parser, RawElement, RawSet, RawValue,
    Syntax, TagKey, key, parse_decimals, trim,
};
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// A parsed data set, the buffer its values point into, and what we learnt about its
/// encoding.
pub(crate) struct Opened {
    /// The data set bytes (the file, or the inflated data set of a deflated file).
    pub buf: Vec<u8>,
    pub root: RawSet,
    /// Transfer syntax UID (from the file meta, or the one assumed when there is none).
    pub transfer_syntax: String,
    pub warnings: Vec<String>,
    /// Set when the data set could only be read up to some damage (see [`Mode::Salvage`]).
    pub damage: Option<String>,
    /// [`Mode::BeforePixels`]: file offset of the PixelData element, which was not read.
    pub pixel_data_offset: Option<u64>,
}

impl Opened {
    pub fn attrs<'a>(&'a self, path: &'a Path) -> Attrs<'a> {
        Attrs {
            set: &self.root,
            buf: &self.buf,
            path,
            context: "",
        }
    }
}

/// How much of a file to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The whole data set; any damage is an error.
    Full,
    /// The whole data set, but damage keeps what precedes it (truncated RT Plans).
    Salvage,
    /// Only the attributes that say what the object is and what it refers to.
    Header,
    /// Everything before (7FE0,0010) PixelData, whose offset is recorded so that the
    /// pixels can be read straight from the file. Deflated files are read whole.
    BeforePixels,
}

const DICM: &[u8; 4] = b"DICM";
const IMPLICIT_LE_UID: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE_UID: &str = "1.2.840.10008.1.2.1";
const DEFLATED_LE_UID: &str = "1.2.840.10008.1.2.1.99";
const EXPLICIT_BE_UID: &str = "1.2.840.10008.1.2.2";
/// First read of a header-only scan; grown when the wanted attributes lie further.
const HEADER_CHUNK: usize = 64 * 1024;

/// Open `path` as DICOM.
pub(crate) fn open(path: &Path, mode: Mode) -> Result<Opened, DicomError> {
    let io = |source| DicomError::Io {
        path: path.to_path_buf(),
        source,
    };
    if matches!(mode, Mode::Full | Mode::Salvage) {
        let buf = crate::pages::read_file(path).map_err(io)?;
        return parse(path, buf, mode, true);
    }
    let mut file = std::fs::File::open(path).map_err(io)?;
    let size = usize::try_from(file.metadata().map_err(io)?.len()).unwrap_or(usize::MAX);
    let mut want = HEADER_CHUNK.min(size);
    let mut buf = Vec::new();
    loop {
        // Read on from what we have: a grown header read never re-reads bytes.
        let before = buf.len();
        if before < want {
            file.seek(SeekFrom::Start(before as u64)).map_err(io)?;
            (&mut file)
                .take((want - before) as u64)
                .read_to_end(&mut buf)
                .map_err(io)?;
        }
        // A file that shrank since its size was taken ends where reading stops.
        let whole = buf.len() >= size || (before > 0 && buf.len() == before);
        match parse_inner(path, std::mem::take(&mut buf), mode, whole) {
            Err(Retry { buf: b, needed }) if !whole => {
                buf = b;
                want = needed.max(want.saturating_mul(4)).min(size);
            }
            other => return other.map_err_into(),
        }
    }
}

/// Outcome of parsing a possibly incomplete buffer.
enum ParseFailure {
    Error(DicomError),
    /// The buffer is a prefix of the file and more bytes are needed.
    Retry {
        buf: Vec<u8>,
        needed: usize,
    },
}
use ParseFailure::Retry;

impl ParseFailure {
    fn into_error(self) -> DicomError {
        match self {
            ParseFailure::Error(e) => e,
            // Only produced when the buffer is not the whole file; `open` handles it.
            Retry { needed, .. } => DicomError::Unreadable {
                path: Default::default(),
                message: format!("needed {needed} bytes"),
            },
        }
    }
}

impl From<DicomError> for ParseFailure {
    fn from(e: DicomError) -> Self {
        ParseFailure::Error(e)
    }
}

trait ResultExt<T> {
    fn map_err_into(self) -> Result<T, DicomError>;
}

impl<T> ResultExt<T> for Result<T, ParseFailure> {
    fn map_err_into(self) -> Result<T, DicomError> {
        self.map_err(|e| e.into_error())
    }
}

fn parse(path: &Path, buf: Vec<u8>, mode: Mode, whole: bool) -> Result<Opened, DicomError> {
    parse_inner(path, buf, mode, whole).map_err_into()
}

fn unreadable(path: &Path, e: &ParseError) -> DicomError {
    DicomError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn parse_inner(path: &Path, buf: Vec<u8>, mode: Mode, whole: bool) -> Result<Opened, ParseFailure> {
    let not_dicom = |reason: &str| DicomError::NotDicom {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if buf.is_empty() {
        return Err(not_dicom("the file is empty").into());
    }
    let mut warnings = Vec::new();
    let start = if buf.get(128..132) == Some(DICM) {
        Some(132)
    } else if buf.get(0..4) == Some(DICM) {
        Some(4)
    } else {
        None
    };
    let retry_or = |buf: Vec<u8>, e: &ParseError| -> ParseFailure {
        match e.needed {
            Some(n) if !whole && n > buf.len() => Retry { buf, needed: n },
            _ => ParseFailure::Error(unreadable(path, e)),
        }
    };

    let (data_start, syntax, ts_uid, deflated) = match start {
        Some(meta_start) => {
            // File meta group: always explicit VR little endian (PS3.10 7.1).
            let parser = Parser::new(&buf);
            let (meta, err) =
                parser.top_level(meta_start, EXPLICIT_LE, &mut |tag, _| tag >> 16 != 0x0002);
            if let Some(e) = err {
                return Err(retry_or(buf, &e));
            }
            let end = meta_end(&meta).unwrap_or(meta_start);
            let ts = meta
                .get(tags::TRANSFER_SYNTAX_UID)
                .and_then(|e| bytes_of(e, &buf))
                .map(|b| String::from_utf8_lossy(trim(b)).into_owned())
                .ok_or_else(|| DicomError::missing(path, tags::TRANSFER_SYNTAX_UID, ""))?;
            let (syntax, deflated) = match ts.as_str() {
                IMPLICIT_LE_UID => (IMPLICIT_LE, false),
                EXPLICIT_BE_UID => (EXPLICIT_BE, false),
                DEFLATED_LE_UID => (EXPLICIT_LE, true),
                // Every other known syntax stores the data set in explicit VR little
                // endian; only its pixel data is compressed (decided by the reader).
                other if TransferSyntaxRegistry.get(other).is_some() => (EXPLICIT_LE, false),
                other => {
                    return Err(DicomError::unsupported(
                        path,
                        format!("unknown transfer syntax {other}"),
                    )
                    .into());
                }
            };
            (end, syntax, ts, deflated)
        }
        None => {
            let syntax = sniff_bare(&buf).map_err(not_dicom)?;
            let (uid, name) = if syntax.explicit {
                (EXPLICIT_LE_UID, "Explicit VR Little Endian")
            } else {
                (IMPLICIT_LE_UID, "Implicit VR Little Endian")
            };
            warnings.push(format!("no preamble or file meta group; read as {name}"));
            (0, syntax, uid.to_string(), false)
        }
    };

    let buf = if deflated {
        if !whole {
            // The inflated stream cannot be read piecewise: read the whole file.
            return Err(Retry {
                needed: usize::MAX,
                buf,
            });
        }
        inflate(path, buf.get(data_start..).unwrap_or(&[]))?
    } else {
        buf
    };
    let data_start = if deflated { 0 } else { data_start };

    let parser = Parser::new(&buf);
    let mut header_stop = |tag: TagKey, els: &[RawElement]| header_limit(tag, els, &buf);
    let mut never = |_: TagKey, _: &[RawElement]| false;
    let mut before_pixels = |tag: TagKey, _: &[RawElement]| tag >= key(tags::PIXEL_DATA);
    let stop: &mut dyn FnMut(TagKey, &[RawElement]) -> bool = match mode {
        Mode::Header => &mut header_stop,
        // Offsets in an inflated buffer are not file offsets: read such files whole.
        Mode::BeforePixels if !deflated => &mut before_pixels,
        _ => &mut never,
    };
    let (root, err) = parser.top_level(data_start, syntax, stop);
    let repaired_un = parser.repaired_un.get();
    let pixel_data_offset = match mode {
        Mode::BeforePixels => parser.stopped_at.get().map(|p| p as u64),
        _ => None,
    };
    let damage = match err {
        None => None,
        Some(e) => {
            if let Some(n) = e.needed
                && !whole
                && n > buf.len()
            {
                drop(root);
                return Err(Retry { buf, needed: n });
            }
            if mode == Mode::Salvage && !root.elements.is_empty() {
                Some(e.to_string())
            } else if root.elements.is_empty() && start.is_none() {
                return Err(
                    not_dicom(&format!("no DICOM data element could be read ({e})")).into(),
                );
            } else {
                return Err(unreadable(path, &e).into());
            }
        }
    };
    let mut opened = Opened {
        buf: Vec::new(),
        root,
        transfer_syntax: ts_uid,
        warnings,
        damage,
        pixel_data_offset,
    };
    if repaired_un {
        opened.warnings.push(
            "attributes stored with VR UN were re-read as implicit VR little endian so that \
             the dictionary VR applies (PS3.5 §6.2.2)"
                .into(),
        );
    }
    opened.buf = buf;
    Ok(opened)
}

/// Where the file meta group ends: after its last element.
fn meta_end(meta: &RawSet) -> Option<usize> {
    meta.elements.last().map(|e| match &e.value {
        RawValue::Bytes(_, end) => *end,
        // The meta group holds no sequences; fall back to the group length otherwise.
        _ => 0,
    })
}

/// A data set with no preamble and no file meta group (Monaco RT Dose, old RT Structs):
/// only accepted when it starts like one, and its encoding is sniffed from the first
/// element. A bare data set starts with the identifying groups (0008 normally); anything
/// else is far more likely text or another format than DICOM.
fn sniff_bare(head: &[u8]) -> Result<Syntax, &'static str> {
    let (Some(g), Some(rest)) = (head.get(0..2), head.get(4..8)) else {
        return Err("too short to hold a data element");
    };
    let group = u16::from_le_bytes([g[0], g[1]]);
    if !(0x0002..=0x0020).contains(&group) || group % 2 != 0 {
        return Err("no \"DICM\" marker and the first bytes are not a DICOM data element");
    }
    let explicit = rest[0].is_ascii_uppercase()
        && rest[1].is_ascii_uppercase()
        && dicom_core::VR::from_binary([rest[0], rest[1]]).is_some();
    if !explicit {
        // The first attributes (character set, SOP class, group length) are short: a
        // long or undefined first length means another format, and would otherwise make
        // a header read walk a large non-DICOM file.
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        if len > 1024 {
            return Err("no \"DICM\" marker and the first element's length is implausible");
        }
    }
    Ok(if explicit { EXPLICIT_LE } else { IMPLICIT_LE })
}

fn inflate(path: &Path, data: &[u8]) -> Result<Vec<u8>, DicomError> {
    let mut out = Vec::with_capacity(data.len() * 4);
    flate2::read::DeflateDecoder::new(data)
        .read_to_end(&mut out)
        .map_err(|e| DicomError::Unreadable {
            path: path.to_path_buf(),
            message: format!("deflated data set does not inflate: {e}"),
        })?;
    Ok(out)
}

const SOP_CLASS_UID: TagKey = key(tags::SOP_CLASS_UID);
const MODALITY: TagKey = key(tags::MODALITY);

/// Header-only reads stop at the first top-level tag past the last attribute that says
/// what the object refers to, which depends on what it is: the references of an RT Plan
/// come after its beams, those of an RT Dose after its DVHs, while an RT Struct's frame
/// of reference comes before its contours.
fn header_limit(tag: TagKey, els: &[RawElement], buf: &[u8]) -> bool {
    if tag <= MODALITY {
        return false;
    }
    let text = |k: TagKey| {
        els.iter()
            .find(|e| e.tag == k)
            .and_then(|e| bytes_of(e, buf))
            .map(trim)
    };
    let class = text(SOP_CLASS_UID).and_then(|b| std::str::from_utf8(b).ok());
    let modality = text(MODALITY).and_then(|b| std::str::from_utf8(b).ok());
    let limit = match kind_from(class, modality) {
        Kind::Struct => key(tags::ROI_CONTOUR_SEQUENCE),
        Kind::Dose => key(tags::REFERENCED_RT_PLAN_SEQUENCE) + 1,
        Kind::Plan => key(tags::REFERENCED_STRUCTURE_SET_SEQUENCE) + 1,
        // CT and anything else: identity, study, series and frame of reference only.
        _ => key(tags::FRAME_OF_REFERENCE_UID) + 1,
    };
    tag >= limit
}

pub(crate) fn bytes_of<'b>(e: &RawElement, buf: &'b [u8]) -> Option<&'b [u8]> {
    match e.value {
        RawValue::Bytes(s, end) => buf.get(s..end),
        _ => None,
    }
}

/// Text in the file's character set. UTF-8 (ISO_IR 192, and plain ASCII) is taken as
/// is; anything else is read as Latin-1 (ISO_IR 100), the common European default,
/// so that a name is never lost, only possibly mis-spelt.
pub(crate) fn decode_text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|&c| c as char).collect(),
    }
}

/// Typed, context-carrying access to one data set (the file's top level or a sequence
/// item). `context` names where we are ("ROI 3 'Heart'", "DVH item 2") for messages.
#[derive(Clone, Copy)]
pub(crate) struct Attrs<'a> {
    pub set: &'a RawSet,
    pub buf: &'a [u8],
    pub path: &'a Path,
    pub context: &'a str,
}

impl<'a> Attrs<'a> {
    pub fn with_context(self, set: &'a RawSet, context: &'a str) -> Self {
        Attrs {
            set,
            buf: self.buf,
            path: self.path,
            context,
        }
    }

    /// The element when present (empty or not).
    pub fn element(&self, tag: Tag) -> Option<&'a RawElement> {
        self.set.get(tag)
    }

    /// The value bytes when present and not only padding.
    fn present(&self, tag: Tag) -> Option<(&'a RawElement, &'a [u8])> {
        let e = self.set.get(tag)?;
        let b = bytes_of(e, self.buf)?;
        let text = !matches!(
            &e.vr,
            b"FD" | b"FL" | b"US" | b"SS" | b"UL" | b"SL" | b"OB" | b"OW" | b"OF" | b"OD"
        );
        let empty = if text {
            trim(b).is_empty()
        } else {
            b.is_empty()
        };
        (!empty).then_some((e, b))
    }

    pub fn missing(&self, tag: Tag) -> DicomError {
        DicomError::missing(self.path, tag, self.context)
    }

    pub fn bad(&self, tag: Tag, message: impl Into<String>) -> DicomError {
        DicomError::bad(self.path, tag, self.context, message)
    }

    /// Text value, trimmed of DICOM padding (space, NUL); `None` when absent or empty.
    pub fn str_opt(&self, tag: Tag) -> Option<String> {
        let (_, b) = self.present(tag)?;
        let t = trim(b);
        (!t.is_empty()).then(|| decode_text(t))
    }

    /// Numbers of a DS/IS (text) or binary numeric element, appended to `out`.
    pub fn f64s_into(&self, tag: Tag, out: &mut Vec<f64>) -> Result<bool, DicomError> {
        let Some((e, b)) = self.present(tag) else {
            return Ok(false);
        };
        let be = self.set.big_endian;
        let width = match &e.vr {
            b"FD" => 8,
            b"FL" | b"UL" | b"SL" => 4,
            b"US" | b"SS" => 2,
            _ => 0,
        };
        if width == 0 {
            let before = out.len();
            parse_decimals(b, out).map_err(|i| {
                let shown: String = decode_text(trim(b)).chars().take(60).collect();
                self.bad(tag, format!("value {} of '{shown}' is not a number", i + 1))
            })?;
            if let Some(i) = out
                .get(before..)
                .and_then(|v| v.iter().position(|x| !x.is_finite()))
            {
                return Err(self.bad(tag, format!("value {} is not finite", i + 1)));
            }
            return Ok(true);
        }
        if b.len() % width != 0 {
            return Err(self.bad(
                tag,
                format!(
                    "{} bytes is not a whole number of {width}-byte values",
                    b.len()
                ),
            ));
        }
        for c in b.chunks_exact(width) {
            let v = match (&e.vr, c) {
                (b"FD", &[a0, a1, a2, a3, a4, a5, a6, a7]) => {
                    let x = [a0, a1, a2, a3, a4, a5, a6, a7];
                    if be {
                        f64::from_be_bytes(x)
                    } else {
                        f64::from_le_bytes(x)
                    }
                }
                (b"FL", &[a0, a1, a2, a3]) => {
                    let x = [a0, a1, a2, a3];
                    (if be {
                        f32::from_be_bytes(x)
                    } else {
                        f32::from_le_bytes(x)
                    }) as f64
                }
                (b"UL", &[a0, a1, a2, a3]) => {
                    let x = [a0, a1, a2, a3];
                    (if be {
                        u32::from_be_bytes(x)
                    } else {
                        u32::from_le_bytes(x)
                    }) as f64
                }
                (b"SL", &[a0, a1, a2, a3]) => {
                    let x = [a0, a1, a2, a3];
                    (if be {
                        i32::from_be_bytes(x)
                    } else {
                        i32::from_le_bytes(x)
                    }) as f64
                }
                (b"US", &[a0, a1]) => {
                    (if be {
                        u16::from_be_bytes([a0, a1])
                    } else {
                        u16::from_le_bytes([a0, a1])
                    }) as f64
                }
                (b"SS", &[a0, a1]) => {
                    (if be {
                        i16::from_be_bytes([a0, a1])
                    } else {
                        i16::from_le_bytes([a0, a1])
                    }) as f64
                }
                _ => return Err(self.bad(tag, "not a list of numbers")),
            };
            if !v.is_finite() {
                return Err(self.bad(tag, "value is not finite"));
            }
            out.push(v);
        }
        Ok(true)
    }

    pub fn f64s_opt(&self, tag: Tag) -> Result<Option<Vec<f64>>, DicomError> {
        let mut v = Vec::new();
        Ok(self.f64s_into(tag, &mut v)?.then_some(v))
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

    /// First value as an integer. IS may be written "1.0" by some systems; integral
    /// decimals are accepted.
    pub fn int_opt(&self, tag: Tag) -> Result<Option<i64>, DicomError> {
        let Some((e, b)) = self.present(tag) else {
            return Ok(None);
        };
        let binary = matches!(&e.vr, b"US" | b"SS" | b"UL" | b"SL" | b"FD" | b"FL");
        if !binary {
            let first = trim(b)
                .split(|&c| c == b'\\')
                .next()
                .map(trim)
                .unwrap_or(&[]);
            if let Some(v) = std::str::from_utf8(first).ok().and_then(|s| s.parse().ok()) {
                return Ok(Some(v));
            }
        }
        match self.f64_opt(tag) {
            Ok(Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(Some(f as i64)),
            Ok(None) => Ok(None),
            _ => Err(self.bad(tag, "not an integer")),
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

    /// (Rows, Columns) of a single-sample (grey-level) image such as an RT Dose grid or
    /// a CT slice, `what` naming it in the errors: both positive, SamplesPerPixel 1
    /// when given.
    pub fn grey_image_size(&self, what: &str) -> Result<(usize, usize), DicomError> {
        let rows = self.usize(tags::ROWS)?;
        let columns = self.usize(tags::COLUMNS)?;
        if rows == 0 || columns == 0 {
            return Err(self.bad(
                tags::ROWS,
                format!("{what} of {rows} rows × {columns} columns is empty"),
            ));
        }
        if let Some(spp) = self.int_opt(tags::SAMPLES_PER_PIXEL)?
            && spp != 1
        {
            return Err(self.bad(
                tags::SAMPLES_PER_PIXEL,
                format!("{spp}: {what} has 1 sample per pixel"),
            ));
        }
        Ok((rows, columns))
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
    pub fn items(&self, tag: Tag) -> &'a [RawSet] {
        match self.set.get(tag).map(|e| &e.value) {
            Some(RawValue::Items(items)) => items,
            _ => &[],
        }
    }

    /// Text of the first item's `tag` in sequence `seq`.
    pub fn first_item_str(&self, seq: Tag, tag: Tag) -> Option<String> {
        self.items(seq)
            .first()
            .and_then(|i| self.with_context(i, self.context).str_opt(tag))
    }
}

/// SOP Class UID and Modality, used to say what a file is when it is not what was asked.
pub(crate) fn kind_of(a: &Attrs) -> String {
    let modality = a.str_opt(tags::MODALITY).unwrap_or_default();
    let class = a.str_opt(tags::SOP_CLASS_UID).unwrap_or_default();
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

fn kind_from(class: Option<&str>, modality: Option<&str>) -> Kind {
    match class {
        Some(RT_DOSE_CLASS) => return Kind::Dose,
        Some(RT_STRUCT_CLASS) => return Kind::Struct,
        Some(RT_PLAN_CLASS) | Some(RT_ION_PLAN_CLASS) => return Kind::Plan,
        Some(CT_CLASS) | Some(ENHANCED_CT_CLASS) => return Kind::Ct,
        _ => {}
    }
    match modality {
        Some("RTDOSE") => Kind::Dose,
        Some("RTSTRUCT") => Kind::Struct,
        Some("RTPLAN") | Some("RTIONPLAN") => Kind::Plan,
        Some("CT") => Kind::Ct,
        Some(_) => Kind::Other,
        None if class.is_some() => Kind::Other,
        None => Kind::Unknown,
    }
}

pub(crate) fn classify(a: &Attrs) -> Kind {
    kind_from(
        a.str_opt(tags::SOP_CLASS_UID).as_deref(),
        a.str_opt(tags::MODALITY).as_deref(),
    )
}

/// Fail unless the object is of `want` kind (an object with neither SOP Class UID nor
/// Modality is given the benefit of the doubt: missing attributes are reported later).
pub(crate) fn expect_kind(a: &Attrs, want: Kind, expected: &'static str) -> Result<(), DicomError> {
    let k = classify(a);
    if k == want || k == Kind::Unknown {
        Ok(())
    } else {
        Err(DicomError::WrongKind {
            path: a.path.to_path_buf(),
            expected,
            found: kind_of(a),
        })
    }
}
