//! Pretty JSON with arrays of numbers kept on one line.
//!
//! `serde_json::to_string_pretty` puts every array element on a line of its own. An
//! analysis is mostly DVH curves (a few thousand numbers per structure), so half of its
//! bytes were indentation and writing it took longer than sampling a small plan. Here
//! objects and arrays of objects are indented as before, while an array whose first
//! element is a number (or null) is written `[0.0, 0.01, 0.02]`. Only whitespace
//! differs: the document parses to the same value.

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use std::io::{self, Write};

/// `value` as pretty JSON, arrays of numbers on one line.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    to_string_with_capacity(value, 1 << 16)
}

/// [`to_string`] into a buffer of `capacity` bytes to begin with. A document of
/// megabytes written into a growing buffer is copied into ever larger fresh ones (each
/// page of which is a page fault); reserving its likely size once avoids that, and
/// reserving too much costs nothing: the untouched part is never backed by memory.
pub fn to_string_with_capacity<T: Serialize + ?Sized>(
    value: &T,
    capacity: usize,
) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(capacity);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, NumberRows::default());
    value.serialize(&mut ser)?;
    // serde_json writes UTF-8 only.
    String::from_utf8(out).map_err(|e| serde_json::Error::io(io::Error::other(e)))
}

/// How the elements of one open array are laid out.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// Not decided yet: the array has no element so far.
    Open,
    /// One element per line (objects, arrays, strings, booleans).
    Lines,
    /// On one line (numbers and nulls).
    Row,
}

/// [`PrettyFormatter`] except for arrays of numbers (see the module documentation).
/// Each array's layout is decided by its first element; the newline and indentation
/// before an element are therefore written only once the element's kind is known.
struct NumberRows {
    pretty: PrettyFormatter<'static>,
    arrays: Vec<Layout>,
    /// An element of the innermost array starts next (`Some(first)`): its separator
    /// is still to be written.
    pending: Option<bool>,
}

impl Default for NumberRows {
    fn default() -> Self {
        NumberRows {
            pretty: PrettyFormatter::with_indent(b"  "),
            arrays: Vec::new(),
            pending: None,
        }
    }
}

impl NumberRows {
    /// Write the pending array-element separator for an element of kind `row`
    /// (a number or null) or not.
    fn element<W: ?Sized + Write>(&mut self, w: &mut W, row: bool) -> io::Result<()> {
        let Some(first) = self.pending.take() else {
            return Ok(());
        };
        let layout = self.arrays.last_mut();
        let layout = match layout {
            Some(l) if *l == Layout::Open => {
                *l = if row { Layout::Row } else { Layout::Lines };
                *l
            }
            Some(l) => *l,
            None => Layout::Lines,
        };
        match layout {
            Layout::Row => {
                if first {
                    Ok(())
                } else {
                    w.write_all(b" ")
                }
            }
            // The comma is written already (see `begin_array_value`).
            _ => self.pretty.begin_array_value(w, true),
        }
    }
}

/// Scalar writers: settle the pending separator, then write as the compact formatter.
macro_rules! scalars {
    ($($name:ident($($arg:ident: $ty:ty),*) row $row:expr;)*) => {
        $(
            fn $name<W: ?Sized + Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> io::Result<()> {
                self.element(w, $row)?;
                CompactFormatter.$name(w $(, $arg)*)
            }
        )*
    };
}

impl Formatter for NumberRows {
    scalars! {
        write_null() row true;
        write_bool(value: bool) row false;
        write_i8(value: i8) row true;
        write_i16(value: i16) row true;
        write_i32(value: i32) row true;
        write_i64(value: i64) row true;
        write_i128(value: i128) row true;
        write_u8(value: u8) row true;
        write_u16(value: u16) row true;
        write_u32(value: u32) row true;
        write_u64(value: u64) row true;
        write_u128(value: u128) row true;
        write_f32(value: f32) row true;
        write_f64(value: f64) row true;
        write_number_str(value: &str) row true;
    }

    fn begin_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.element(w, false)?;
        self.pretty.begin_string(w)
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.element(w, false)?;
        self.arrays.push(Layout::Open);
        self.pretty.begin_array(w)
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pending = None;
        match self.arrays.pop() {
            // The pretty formatter's closing newline and indentation, after elements
            // on lines of their own; a row (or an empty array) closes on its line.
            Some(Layout::Lines) => self.pretty.end_array(w),
            _ => {
                let mut sink = io::sink();
                self.pretty.end_array(&mut sink)?;
                w.write_all(b"]")
            }
        }
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        // The comma now, the rest once the element's kind is known: ",\n" and the
        // indentation for elements on lines of their own, ", " in a row.
        if !first {
            w.write_all(b",")?;
        }
        self.pending = Some(first);
        Ok(())
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(w)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.element(w, false)?;
        self.pretty.begin_object(w)
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object(w)
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_key(w)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn numbers_in_rows_everything_else_as_pretty_json() {
        let v = json!({
            "dvh": {"dose_gy": [0.0, 0.5, 1.25], "volume_cc": [3, null, -1e-300]},
            "empty": [],
            "warnings": ["a \"quoted\" word", "b"],
            "structures": [{"name": "Heart", "metrics": {"Mean[Gy]": 3.2}}, {"rows": [[1, 2], []]}],
            "flag": true
        });
        let text = super::to_string(&v).unwrap();
        // Same document.
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
        // Rows of numbers, pretty everything else.
        assert!(text.contains("\"dose_gy\": [0.0, 0.5, 1.25]"), "{text}");
        assert!(text.contains("\"volume_cc\": [3, null, -1e-300]"), "{text}");
        assert!(text.contains("\"empty\": []"), "{text}");
        assert!(
            text.contains("\"warnings\": [\n    \"a \\\"quoted\\\" word\",\n    \"b\"\n  ]"),
            "{text}"
        );
        assert!(
            text.contains("\"rows\": [\n        [1, 2],\n        []\n      ]"),
            "{text}"
        );
        assert!(text.contains("\"Mean[Gy]\": 3.2"), "{text}");
        // Objects are indented exactly as serde_json's pretty printer does.
        let obj = json!({"a": {"b": 1, "c": "x"}});
        assert_eq!(
            super::to_string(&obj).unwrap(),
            serde_json::to_string_pretty(&obj).unwrap()
        );
    }
}
