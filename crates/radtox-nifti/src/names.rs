//! Label value → structure name sidecars.

use crate::NiftiError;
use std::collections::BTreeMap;
use std::path::Path;

/// Names of the values of a label map, e.g. `1 → "Brain"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelNames {
    pub names: BTreeMap<i64, String>,
}

impl LabelNames {
    pub fn get(&self, label: i64) -> Option<&str> {
        self.names.get(&label).map(String::as_str)
    }

    /// Parse a sidecar's text. Accepted formats (detected from the content):
    ///
    /// * JSON object `{"1": "Brain", "2": "Brainstem"}` (or the reverse,
    ///   `{"Brain": 1}`), or JSON array `[{"value": 1, "name": "Brain"}, …]` (the value
    ///   may also be called `label`, `id` or `index`);
    /// * text lines `1 Brain`, `1: Brain`, `1,Brain`, `1<TAB>Brain`; a trailing
    ///   `R G B A` colour (3D Slicer colour tables, FreeSurfer LUTs) is dropped;
    /// * ITK-SNAP label descriptions: `IDX R G B A VIS MSH "LABEL"`.
    ///
    /// Empty lines and `#` comments are skipped, and so is a first line that does not
    /// start with a number (a CSV header such as `value,name`). Label 0 (background) may
    /// be named; it is never turned into a structure. A value named twice with
    /// different names is an error.
    pub fn parse(text: &str, path: &Path) -> Result<LabelNames, NiftiError> {
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            parse_json(trimmed, path)
        } else {
            parse_lines(text, path)
        }
    }
}

fn insert(
    names: &mut BTreeMap<i64, String>,
    label: i64,
    name: String,
    path: &Path,
    line: usize,
) -> Result<(), NiftiError> {
    if name.is_empty() {
        return Err(NiftiError::LabelNames {
            path: path.to_path_buf(),
            line,
            message: format!("label {label} has an empty name"),
        });
    }
    match names.get(&label) {
        Some(old) if *old != name => Err(NiftiError::LabelNames {
            path: path.to_path_buf(),
            line,
            message: format!("label {label} is named both {old:?} and {name:?}"),
        }),
        _ => {
            names.insert(label, name);
            Ok(())
        }
    }
}

fn json_label(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
        }),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn parse_json(text: &str, path: &Path) -> Result<LabelNames, NiftiError> {
    let err = |message: String| NiftiError::LabelNames {
        path: path.to_path_buf(),
        line: 0,
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| NiftiError::LabelNames {
            path: path.to_path_buf(),
            line: e.line(),
            message: format!("invalid JSON: {e}"),
        })?;
    let mut names = BTreeMap::new();
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.trim().parse::<i64>(), &v) {
                    (Ok(label), serde_json::Value::String(name)) => {
                        insert(&mut names, label, name.trim().to_string(), path, 0)?
                    }
                    (Err(_), _) if json_label(&v).is_some() => {
                        let label = json_label(&v).unwrap_or_default();
                        insert(&mut names, label, k.trim().to_string(), path, 0)?
                    }
                    _ => {
                        return Err(err(format!(
                            "entry {k:?}: {v} is neither \"<value>\": \"<name>\" nor \"<name>\": <value>"
                        )));
                    }
                }
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let label = ["value", "label", "id", "index"]
                    .iter()
                    .find_map(|k| item.get(k).and_then(json_label));
                let name = item.get("name").and_then(|n| n.as_str());
                match (label, name) {
                    (Some(label), Some(name)) => {
                        insert(&mut names, label, name.trim().to_string(), path, 0)?
                    }
                    _ => {
                        return Err(err(format!(
                            "array item {i} needs an integer \"value\" and a string \"name\": {item}"
                        )));
                    }
                }
            }
        }
        _ => return Err(err("expected a JSON object or array".into())),
    }
    Ok(LabelNames { names })
}

/// `"quoted name"` at the end of an ITK-SNAP line, with the fields before it.
fn itksnap_line(line: &str) -> Option<(i64, String)> {
    let open = line.find('"')?;
    let close = line.rfind('"')?;
    if close <= open {
        return None;
    }
    let fields: Vec<&str> = line[..open].split_whitespace().collect();
    // IDX R G B A VIS MSH: seven numbers before the quoted label.
    if fields.len() != 7 || fields.iter().any(|f| f.parse::<f64>().is_err()) {
        return None;
    }
    let label = fields.first()?.parse().ok()?;
    Some((label, line[open + 1..close].trim().to_string()))
}

fn parse_lines(text: &str, path: &Path) -> Result<LabelNames, NiftiError> {
    let mut names = BTreeMap::new();
    let mut first = true;
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((label, name)) = itksnap_line(line) {
            insert(&mut names, label, name, path, line_no)?;
            first = false;
            continue;
        }
        let split = line
            .find(|c: char| c == ':' || c == ',' || c == ';' || c.is_whitespace())
            .unwrap_or(line.len());
        let (head, rest) = line.split_at(split);
        let Ok(label) = head.trim().parse::<i64>() else {
            if first {
                // A header line such as "value,name".
                first = false;
                continue;
            }
            return Err(NiftiError::LabelNames {
                path: path.to_path_buf(),
                line: line_no,
                message: format!("expected \"<integer value> <name>\", found {line:?}"),
            });
        };
        first = false;
        let rest = rest
            .trim_start_matches(|c: char| c == ':' || c == ',' || c == ';' || c.is_whitespace())
            .trim();
        // Colour tables append R G B A: drop four trailing integers 0..=255.
        let tokens: Vec<&str> = rest.split_whitespace().collect();
        let name = if tokens.len() >= 5
            && tokens[tokens.len() - 4..]
                .iter()
                .all(|t| t.parse::<u16>().is_ok_and(|v| v <= 255))
        {
            tokens[..tokens.len() - 4].join(" ")
        } else {
            rest.to_string()
        };
        let name = name.trim().trim_matches('"').trim().to_string();
        insert(&mut names, label, name, path, line_no)?;
    }
    Ok(LabelNames { names })
}

/// Read a label-name sidecar; see [`LabelNames::parse`] for the accepted formats.
pub fn read_label_names(path: &Path) -> Result<LabelNames, NiftiError> {
    let bytes = std::fs::read(path).map_err(|source| NiftiError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| NiftiError::LabelNames {
        path: path.to_path_buf(),
        line: 0,
        message: format!("not UTF-8 text: {e}"),
    })?;
    LabelNames::parse(&text, path)
}
