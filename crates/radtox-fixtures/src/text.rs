//! Deterministic UIDs and DICOM text value formatting (DS, IS).

/// FNV-1a over 128 bits. A fixed, documented hash (unlike `std`'s `DefaultHasher`, whose
/// algorithm may change between Rust releases) so UIDs stay identical across toolchains
/// and regenerated fixtures stay byte-identical.
fn fnv1a_128(parts: &[&str]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h = OFFSET;
    for (i, part) in parts.iter().enumerate() {
        // A separator byte keeps ("ab","c") and ("a","bc") apart.
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(PRIME);
        }
        for b in part.bytes() {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

/// A deterministic UID under the `2.25` arc (DICOM PS3.5 §B.2: a UID made of the
/// decimal form of a 128-bit number), derived from the phantom name and the role of the
/// UID (e.g. `"study"`, `"rtdose-sop"`). 2.25 needs no registered organisation root and
/// the result is at most 44 characters, well within the 64 allowed.
pub fn derived_uid(parts: &[&str]) -> String {
    // Prefix with a fixed namespace so radtox UIDs never collide with another tool
    // hashing the same phantom name.
    let mut all = Vec::with_capacity(parts.len() + 1);
    all.push("radtox-fixtures/v1");
    all.extend_from_slice(parts);
    // Any 128-bit value is a valid 2.25 component: its decimal rendering never has a
    // leading zero (PS3.5 §9.1).
    format!("2.25.{}", fnv1a_128(&all))
}

/// Format a value as a DICOM Decimal String (VR DS: at most 16 characters) with at most
/// `decimals` digits after the point, trailing zeros trimmed. Values too small to show
/// at that precision (but not zero) use exponent notation so that small scalings such as
/// DoseGridScaling keep their significant digits.
pub fn ds(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        // Callers validate their inputs; a non-finite value here is a programming error,
        // but writing "0" is safer than writing an unparsable DS.
        return "0".to_owned();
    }
    if v != 0.0 && v.abs() < 10f64.powi(-(decimals.min(12) as i32)) * 100.0 {
        return ds_sig(v, 6);
    }
    let mut d = decimals;
    loop {
        let s = trim_zeros(format!("{v:.d$}"));
        if s.len() <= 16 || d == 0 {
            return s;
        }
        d -= 1;
    }
}

/// A DS with `sig` significant digits in exponent notation (e.g. `1.23457e-8`),
/// shortened if needed to fit the 16-character limit.
pub fn ds_sig(v: f64, sig: usize) -> String {
    let mut p = sig.saturating_sub(1);
    loop {
        let s = format!("{v:.p$e}");
        // Trim zeros in the mantissa only.
        let s = match s.split_once('e') {
            Some((m, e)) => format!("{}e{}", trim_zeros(m.to_owned()), e),
            None => s,
        };
        if s.len() <= 16 || p == 0 {
            return s;
        }
        p -= 1;
    }
}

fn trim_zeros(s: String) -> String {
    let t = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if t == "-0" { "0".to_owned() } else { t }
}

/// The value a reader gets back from [`ds`]: used so that the expected values this crate
/// hands to tests are exactly the written ones, not the unrounded ones.
pub fn ds_round(v: f64, decimals: usize) -> f64 {
    ds(v, decimals).parse().unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_fits_sixteen_chars_and_round_trips() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -1.5,
            123.456789123,
            -987654321.123456,
            1.2345678e-8,
            5e-4,
            4.0e12,
        ] {
            let s = ds(v, 6);
            assert!(s.len() <= 16, "{s}");
            let back: f64 = s.parse().unwrap();
            assert!((back - v).abs() <= 1e-6 * v.abs().max(1.0), "{v} -> {s}");
        }
        assert_eq!(ds(-0.0, 4), "0");
        assert_eq!(ds(2.50, 4), "2.5");
        assert_eq!(ds(-100.0, 4), "-100");
        assert_eq!(ds_sig(1.0 / 3.0 * 1e-8, 6), "3.33333e-9");
    }

    #[test]
    fn uids_are_valid_deterministic_and_distinct() {
        let a = derived_uid(&["breast-left", "study"]);
        let b = derived_uid(&["breast-left", "series"]);
        let c = derived_uid(&["breast-lef", "tstudy"]);
        assert_eq!(a, derived_uid(&["breast-left", "study"]));
        assert_ne!(a, b);
        assert_ne!(a, c);
        for u in [&a, &b, &c] {
            assert!(u.len() <= 64);
            assert!(u.starts_with("2.25."));
            let tail = &u[5..];
            assert!(tail.chars().all(|ch| ch.is_ascii_digit()));
            assert!(!tail.starts_with('0'));
        }
    }
}
