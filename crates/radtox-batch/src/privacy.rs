//! Patient data in outputs: safe file names, keyed pseudonyms and scrubbing.
//!
//! * [`sanitise_component`]: a DICOM value (patient ID, plan label…) made safe as *one*
//!   path component: only ASCII letters, digits, `-` and `_` survive, so `..`, `/`, `\`,
//!   drive letters and control characters cannot appear, whatever the tag held.
//! * [`Pseudonymizer`]: keyed BLAKE3 of a patient ID or name. Without the key the
//!   pseudonym cannot be reversed or recomputed by guessing IDs (an unkeyed hash of a
//!   7-digit hospital number can be brute-forced in seconds).
//! * [`Scrubber`]: replaces identifying strings (patient IDs and names, input paths) in
//!   every string of an output document.

use crate::error::BatchError;
use serde_json::Value;

/// Longest component we emit (file systems allow 255 bytes; keep room for suffixes).
const MAX_COMPONENT: usize = 64;

/// One safe path component built from an untrusted value. Never empty, never `.` or
/// `..`, never contains a separator or a control character.
pub fn sanitise_component(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_COMPONENT)
        .collect();
    // "____" carries no information; a leading '-' could be read as an option by tools.
    let informative = out.chars().any(|c| c.is_ascii_alphanumeric());
    if !informative {
        out = "unknown".to_string();
    }
    if out.starts_with('-') {
        out.replace_range(0..1, "_");
    }
    out
}

/// Keyed pseudonyms. The key is derived from secret material (a key file's bytes or the
/// `RADTOX_PSEUDONYM_KEY` variable) with BLAKE3's key derivation, so any length works.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: [u8; 32],
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.write_str("Pseudonymizer { key: <hidden> }")
    }
}

impl Pseudonymizer {
    /// Domain separation string for the key derivation (BLAKE3 `derive_key` context).
    const CONTEXT: &'static str = "radtox 2026-11 patient pseudonym key v1";

    pub fn from_secret(secret: &[u8]) -> Result<Pseudonymizer, BatchError> {
        let trimmed = secret.trim_ascii();
        if trimmed.len() < 16 {
            return Err(BatchError::PseudonymKey(format!(
                "the key must hold at least 16 bytes (got {}); e.g. `head -c 32 /dev/urandom | base64 > key`",
                trimmed.len()
            )));
        }
        Ok(Pseudonymizer {
            key: blake3::derive_key(Self::CONTEXT, trimmed),
        })
    }

    /// A short fingerprint of the key (a hash of the derived key) recorded in settings,
    /// so outputs made with different keys are not mixed; it reveals nothing of the key.
    pub fn fingerprint(&self) -> String {
        let h = blake3::keyed_hash(&self.key, b"radtox key fingerprint");
        h.to_hex()[..16].to_string()
    }

    /// The pseudonym of a patient identifier: `anon-` + 16 hex digits (64 bits: no
    /// collision expected below billions of patients).
    pub fn patient(&self, id: &str) -> String {
        format!("anon-{}", &self.tag("patient", id)[..16])
    }

    /// The pseudonym of any other identifying string (a path).
    pub fn token(&self, kind: &str, value: &str) -> String {
        format!("{kind}-{}", &self.tag(kind, value)[..12])
    }

    fn tag(&self, kind: &str, value: &str) -> String {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(kind.as_bytes());
        h.update(&[0]);
        h.update(value.as_bytes());
        h.finalize().to_hex().to_string()
    }
}

/// String replacements applied to every string of an output document.
#[derive(Debug, Default, Clone)]
pub struct Scrubber {
    /// (needle, replacement, whole-token only), longest needles first.
    rules: Vec<(String, String, bool)>,
}

impl Scrubber {
    /// Replace `needle` everywhere (paths and other long, unambiguous strings).
    pub fn replace(&mut self, needle: &str, with: &str) {
        if !needle.is_empty() {
            self.rules
                .push((needle.to_string(), with.to_string(), false));
            self.sort();
        }
    }

    /// Replace `needle` only where it is not part of a longer word or number (patient
    /// IDs can be short digit strings that also occur inside dose values or names).
    pub fn replace_token(&mut self, needle: &str, with: &str) {
        let needle = needle.trim();
        if !needle.is_empty() {
            self.rules
                .push((needle.to_string(), with.to_string(), true));
            self.sort();
        }
    }

    fn sort(&mut self) {
        self.rules
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Apply every rule to one string.
    pub fn scrub(&self, text: &str) -> String {
        let mut s = text.to_string();
        for (needle, with, token) in &self.rules {
            s = if *token {
                replace_tokens(&s, needle, with)
            } else {
                s.replace(needle.as_str(), with)
            };
        }
        s
    }

    /// Apply every rule to every string (keys included) of a JSON document.
    pub fn scrub_json(&self, v: &mut Value) {
        if self.is_empty() {
            return;
        }
        match v {
            Value::String(s) => *s = self.scrub(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.scrub_json(i)),
            Value::Object(map) => {
                let old = std::mem::take(map);
                for (k, mut val) in old {
                    self.scrub_json(&mut val);
                    map.insert(self.scrub(&k), val);
                }
            }
            _ => {}
        }
    }
}

/// Replace whole-token occurrences of `needle` (neighbours not alphanumeric).
fn replace_tokens(s: &str, needle: &str, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find(needle) {
        let (before, after) = (&rest[..pos], &rest[pos + needle.len()..]);
        // A decimal point between digits joins them into one number ("12.5" holds no
        // token "12").
        let mut back = before.chars().rev();
        let left_ok = match (back.next(), back.next()) {
            (None, _) => true,
            (Some('.'), Some(d)) if d.is_ascii_digit() => false,
            (Some(c), _) => !c.is_alphanumeric(),
        };
        let mut fwd = after.chars();
        let right_ok = match (fwd.next(), fwd.next()) {
            (None, _) => true,
            (Some('.'), Some(d)) if d.is_ascii_digit() => false,
            (Some(c), _) => !c.is_alphanumeric(),
        };
        out.push_str(before);
        if left_ok && right_ok {
            out.push_str(with);
        } else {
            out.push_str(needle);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_cannot_escape_or_hide() {
        for (raw, want) in [
            ("../../etc", "______etc"),
            ("..", "unknown"),
            ("", "unknown"),
            ("a/b\\c", "a_b_c"),
            ("C:\\x", "C__x"),
            ("Doe^John\n", "Doe_John_"),
            ("-rf", "_rf"),
            ("PAT-001", "PAT-001"),
        ] {
            assert_eq!(sanitise_component(raw), want, "{raw:?}");
        }
        let long = "x".repeat(1000);
        assert_eq!(sanitise_component(&long).len(), MAX_COMPONENT);
    }

    #[test]
    fn pseudonyms_are_keyed_and_stable() {
        let a = Pseudonymizer::from_secret(b"0123456789abcdef-key-a").unwrap();
        let b = Pseudonymizer::from_secret(b"0123456789abcdef-key-b").unwrap();
        assert_eq!(a.patient("12345"), a.patient("12345"));
        assert_ne!(a.patient("12345"), b.patient("12345"));
        assert_ne!(a.patient("12345"), a.patient("12346"));
        assert!(a.patient("12345").starts_with("anon-"));
        assert_eq!(a.patient("x").len(), 5 + 16);
        assert!(Pseudonymizer::from_secret(b"short").is_err());
        assert!(!format!("{a:?}").contains("0123"));
    }

    #[test]
    fn token_replacement_respects_word_boundaries() {
        let mut s = Scrubber::default();
        s.replace_token("12", "anon-x");
        s.replace("/data/Doe^John", "input");
        assert_eq!(
            s.scrub("patient 12, dose 12.5"),
            "patient anon-x, dose 12.5"
        );
        assert_eq!(s.scrub("(12) 3.12 12."), "(anon-x) 3.12 anon-x.");
        assert_eq!(s.scrub("V120 GTV12 12"), "V120 GTV12 anon-x");
        assert_eq!(s.scrub("/data/Doe^John/rd.dcm: bad"), "input/rd.dcm: bad");
        let mut v = serde_json::json!({"a": ["12", {"12": "x 12"}], "n": 12});
        s.scrub_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": ["anon-x", {"anon-x": "x anon-x"}], "n": 12})
        );
    }
}
