//! Shared helpers for the integration tests: deterministic shuffling and analytic
//! sample sets.
#![allow(dead_code)]

/// Deterministic xorshift permutation so tests exercise the sort with unsorted input.
pub fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut s = seed | 1;
    for i in (1..v.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let j = (s % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// `n` samples uniform in dose on [a, b] (cell midpoints), each `w` cc, shuffled.
pub fn uniform(a: f64, b: f64, n: usize, w: f32) -> (Vec<f32>, Vec<f32>) {
    let mut dose: Vec<f32> = (0..n)
        .map(|k| (a + (k as f64 + 0.5) * (b - a) / n as f64) as f32)
        .collect();
    shuffle(&mut dose, 0x9e37_79b9_7f4a_7c15);
    (dose, vec![w; n])
}

pub fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} (tolerance {tol})"
    );
}
