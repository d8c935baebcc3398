//! Sorting (dose, weight) samples by dose, hottest first, fast enough for millions of
//! samples per structure.
//!
//! Measured on the shared 2-core build machine (examples/bench_dvh.rs): for 800 k
//! samples a comparison sort of (dose, weight) pairs takes ~14 ms of CPU, the whole DVH
//! build with this LSD radix sort ~6 ms. The radix sort is exact: it orders the `f32`
//! values themselves, nothing is binned. Each pair is packed in one `u64`: the
//! order-preserving dose key in the high half, the weight's bits in the low half, so one
//! scatter moves both.

/// Samples below this count are sorted with the standard library's unstable sort; the
/// radix sort's fixed cost (four 256-entry histograms) is not worth it for them.
const SMALL: usize = 512;

/// Radix digits over the 32 key bits: four bytes. 256 buckets keep the scatter's write
/// streams few enough for L1 (2048-bucket 11-bit digits measured slower here), and an
/// even pass count leaves the result in place.
const BUCKETS: usize = 256;
const PASSES: [(u32, u32); 4] = [(32, 8), (40, 8), (48, 8), (56, 8)];

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

/// Packs the valid samples (finite dose, finite positive weight) and sorts them by dose,
/// highest first. Returns the sorted packed pairs (see [`unpack`]) and the number of
/// zipped samples refused (a zero weight with a finite dose is dropped silently: it is
/// a voxel outside the contour, not bad input).
///
/// Packing and the radix histograms share one pass over the input; the sorted pairs are
/// returned packed so the caller can turn the buffer into its cumulative volumes in
/// place (fresh memory costs page faults that rival the sort itself).
pub(crate) fn pack_and_sort(dose: &[f32], weight: &[f32]) -> (Vec<u64>, usize) {
    let mut pairs = Vec::with_capacity(dose.len().min(weight.len()));
    let mut rejected = 0;
    let mut hist = [[0u32; BUCKETS]; 4];
    for (&d, &w) in dose.iter().zip(weight) {
        if d.is_finite() && w.is_finite() && w > 0.0 {
            let x = pack(d, w);
            for (h, &(shift, bits)) in hist.iter_mut().zip(PASSES.iter()) {
                let digit = ((x >> shift) & ((1u64 << bits) - 1)) as usize;
                // Wrapping: counts only matter below u32::MAX samples (larger inputs take
                // the comparison sort below), and must not panic above.
                h[digit] = h[digit].wrapping_add(1);
            }
            pairs.push(x);
        } else if !(w == 0.0 && d.is_finite()) {
            rejected += 1;
        }
    }
    if pairs.len() < SMALL || pairs.len() > u32::MAX as usize {
        pairs.sort_unstable();
    } else {
        radix_passes(&mut pairs, &hist);
    }
    (pairs, rejected)
}

/// Dose and weight of a packed pair.
#[inline]
pub(crate) fn unpack(p: u64) -> (f32, f32) {
    (dose_from_key((p >> 32) as u32), f32::from_bits(p as u32))
}

/// Packs one sample: order-preserving (descending) dose key high, weight bits low.
#[inline]
fn pack(dose: f32, weight: f32) -> u64 {
    ((descending_key(dose) as u64) << 32) | weight.to_bits() as u64
}

/// LSD radix sort of `v` by its upper 32 bits (stable, so ties keep input order), given
/// the digit histograms of `v`.
fn radix_passes(v: &mut [u64], hist: &[[u32; BUCKETS]; 4]) {
    thread_local! {
        // The scatter buffer is reused by every sort on this thread: fresh pages for a
        // million-sample buffer cost as much as a radix pass in page faults.
        static SCRATCH: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buf) => radix_passes_with(v, hist, &mut buf),
        // Not reachable (no re-entrancy), but a fresh buffer is always correct.
        Err(_) => radix_passes_with(v, hist, &mut Vec::new()),
    });
}

fn radix_passes_with(v: &mut [u64], hist: &[[u32; BUCKETS]; 4], buf: &mut Vec<u64>) {
    let n = v.len() as u32;
    buf.clear();
    buf.resize(v.len(), 0);
    // Passes alternate between `v` and the scratch; `in_buf` says where the data is.
    let mut in_buf = false;
    for (h, &(shift, bits)) in hist.iter().zip(PASSES.iter()) {
        // A digit shared by every sample (typical of the exponent bits of doses within one
        // structure) leaves the order unchanged: skip the pass.
        if h.contains(&n) {
            continue;
        }
        let mut offset = [0usize; BUCKETS];
        let mut sum = 0;
        for (o, &c) in offset.iter_mut().zip(h.iter()) {
            *o = sum;
            sum += c as usize;
        }
        let mask = (1u64 << bits) - 1;
        let (src, dst): (&[u64], &mut [u64]) = if in_buf {
            (buf.as_slice(), &mut *v)
        } else {
            (&*v, buf.as_mut_slice())
        };
        for &x in src {
            // Digits are masked to < BUCKETS and offsets come from the histogram of these
            // same values, so the slot always exists whatever the input.
            let o = &mut offset[((x >> shift) & mask) as usize];
            if let Some(slot) = dst.get_mut(*o) {
                *slot = x;
            }
            *o += 1;
        }
        in_buf = !in_buf;
    }
    // The result goes back into `v`'s own allocation (sized for this structure; the
    // scratch may be far larger and must not end up inside a DVH).
    if in_buf {
        v.copy_from_slice(buf);
    }
    // Keep the scratch from pinning memory after a huge structure.
    if buf.capacity() > SCRATCH_KEEP {
        *buf = Vec::new();
    }
}

/// Largest scratch buffer (elements) kept between sorts: 4 M samples = 32 MB.
const SCRATCH_KEEP: usize = 4 << 20;

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
        let (pairs, rejected) = pack_and_sort(&dose, &weight);
        assert_eq!(rejected, 0);
        let (sd, sw): (Vec<f32>, Vec<f32>) = pairs.into_iter().map(unpack).unzip();
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
