//! Sorting (dose, weight) samples by dose, hottest first, fast enough for millions of
//! samples per structure.
//!
//! A comparison sort of 2 M pairs costs ~100 ms; an LSD radix sort on the dose's bit
//! pattern costs a few ms and is exact (it orders the `f32` values themselves, nothing is
//! binned). Each pair is packed in one `u64`: the order-preserving dose key in the high
//! half, the weight's bits in the low half, so one scatter moves both.

/// Samples below this count are sorted with the standard library's unstable sort; the
/// radix sort's fixed cost (three 2048-entry histograms) is not worth it for them.
const SMALL: usize = 512;

/// Radix digit widths over the 32 key bits (11 + 11 + 10): 2048-entry histograms fit in L1.
const PASSES: [(u32, u32); 3] = [(32, 11), (43, 11), (54, 10)];

/// Key whose unsigned order is the *descending* numeric order of `f`.
///
/// The usual IEEE-754 trick maps floats to unsigned integers in ascending order (flip all
/// bits of negatives, set the sign bit of positives); the complement reverses it.
#[inline]
fn descending_key(f: f32) -> u32 {
    let b = f.to_bits();
    let ascending = if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    };
    !ascending
}

/// Inverse of [`descending_key`].
#[inline]
fn dose_from_key(k: u32) -> f32 {
    let ascending = !k;
    let b = if ascending & 0x8000_0000 != 0 {
        ascending & 0x7fff_ffff
    } else {
        !ascending
    };
    f32::from_bits(b)
}

/// Sorts the pairs by dose, highest first, and returns them as two vectors. The inputs
/// must already be clean (finite doses, positive weights, equal lengths): see
/// `Dvh::from_samples` for the filtering.
pub(crate) fn sort_descending(pairs: Vec<u64>) -> (Vec<f32>, Vec<f32>) {
    let mut pairs = pairs;
    if pairs.len() < SMALL {
        pairs.sort_unstable();
    } else {
        radix_sort_high_half(&mut pairs);
    }
    let dose = pairs
        .iter()
        .map(|&p| dose_from_key((p >> 32) as u32))
        .collect();
    let weight = pairs.iter().map(|&p| f32::from_bits(p as u32)).collect();
    (dose, weight)
}

/// Packs one sample for [`sort_descending`].
#[inline]
pub(crate) fn pack(dose: f32, weight: f32) -> u64 {
    ((descending_key(dose) as u64) << 32) | weight.to_bits() as u64
}

/// LSD radix sort of `v` by its upper 32 bits (stable, so ties keep input order).
fn radix_sort_high_half(v: &mut Vec<u64>) {
    let n = v.len();
    // One read of the data builds the histograms of all passes.
    let mut hist = [[0usize; 2048]; 3];
    for &x in v.iter() {
        for (h, &(shift, bits)) in hist.iter_mut().zip(PASSES.iter()) {
            let digit = ((x >> shift) & ((1u64 << bits) - 1)) as usize;
            if let Some(c) = h.get_mut(digit) {
                *c += 1;
            }
        }
    }
    let mut buf = vec![0u64; n];
    for (h, &(shift, bits)) in hist.iter().zip(PASSES.iter()) {
        // A digit shared by every sample (typical of the exponent bits of doses within one
        // structure) leaves the order unchanged: skip the pass.
        if h.contains(&n) {
            continue;
        }
        let mut offset = [0usize; 2048];
        let mut sum = 0;
        for (o, &c) in offset.iter_mut().zip(h.iter()) {
            *o = sum;
            sum += c;
        }
        let mask = (1u64 << bits) - 1;
        for &x in v.iter() {
            let digit = ((x >> shift) & mask) as usize;
            // Offsets come from the histogram of these same values, so both lookups
            // are always in range; `get_mut` keeps this panic-free without a branch
            // the optimiser cannot remove.
            if let Some(o) = offset.get_mut(digit)
                && let Some(slot) = buf.get_mut(*o)
            {
                *slot = x;
                *o += 1;
            }
        }
        std::mem::swap(v, &mut buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_matches_float_order() {
        let values = [
            -1e30f32, -3.5, -0.0, 0.0, 1e-40, 0.25, 1.0, 1.0000001, 70.0, 1e30,
        ];
        for w in values.windows(2) {
            assert!(descending_key(w[0]) >= descending_key(w[1]), "{w:?}");
            assert_eq!(
                dose_from_key(descending_key(w[0])).to_bits(),
                w[0].to_bits()
            );
        }
    }

    #[test]
    fn radix_sort_agrees_with_comparison_sort() {
        // Pseudo-random doses over several decades, with ties.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let n = 50_000;
        let dose: Vec<f32> = (0..n)
            .map(|_| {
                let r = next();
                if r % 17 == 0 {
                    12.0
                } else {
                    (r % 1_000_000) as f32 * 7e-5 * if r % 5 == 0 { 0.001 } else { 1.0 }
                }
            })
            .collect();
        let weight: Vec<f32> = (0..n).map(|i| 0.001 + (i % 7) as f32 * 0.01).collect();
        let pairs = dose
            .iter()
            .zip(&weight)
            .map(|(&d, &w)| pack(d, w))
            .collect();
        let (sd, sw) = sort_descending(pairs);
        let mut expected: Vec<(f32, f32)> =
            dose.iter().copied().zip(weight.iter().copied()).collect();
        expected.sort_by(|a, b| b.0.total_cmp(&a.0));
        assert!(sd.windows(2).all(|w| w[0] >= w[1]));
        let got_sum: f64 = sw.iter().map(|&w| w as f64).sum();
        let exp_sum: f64 = weight.iter().map(|&w| w as f64).sum();
        assert!((got_sum - exp_sum).abs() < 1e-9);
        for (g, e) in sd.iter().zip(expected.iter()) {
            assert_eq!(*g, e.0);
        }
        // Each (dose, weight) pair travels together.
        let mut got: Vec<(u32, u32)> = sd
            .iter()
            .zip(&sw)
            .map(|(d, w)| (d.to_bits(), w.to_bits()))
            .collect();
        let mut exp: Vec<(u32, u32)> = dose
            .iter()
            .zip(&weight)
            .map(|(d, w)| (d.to_bits(), w.to_bits()))
            .collect();
        got.sort_unstable();
        exp.sort_unstable();
        assert_eq!(got, exp);
    }
}
