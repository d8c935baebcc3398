//! `--shard K/N`: which plans this process handles.
//!
//! A plan belongs to shard `1 + (h mod N)` where `h` is the first 8 bytes of the BLAKE3
//! hash of its key. The assignment depends on the plan alone, not on which other plans
//! exist or in what order they were found, so N machines scanning the same archive agree
//! without talking to each other, and adding plans to the archive does not move old ones.

use crate::error::BatchError;
use serde::Serialize;

/// Shard K of N (1-based, as Slurm's `--array=1-N` and `SLURM_ARRAY_TASK_ID` count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole archive.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Does the item with stable key `key` belong to this shard?
    pub fn contains(&self, key: &str) -> bool {
        shard_of(key, self.count) == self.index
    }
}

/// The 1-based shard of `key` among `count` shards.
pub fn shard_of(key: &str, count: u32) -> u32 {
    let h = blake3::hash(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.as_bytes()[..8]);
    let count = u64::from(count.max(1));
    // The remainder is < count ≤ u32::MAX, so the conversion cannot fail.
    u32::try_from(u64::from_le_bytes(first) % count).unwrap_or(0) + 1
}

impl std::str::FromStr for Shard {
    type Err = BatchError;
    fn from_str(s: &str) -> Result<Shard, BatchError> {
        let err = |reason: &str| BatchError::Shard {
            given: s.to_string(),
            reason: reason.to_string(),
        };
        let (k, n) = s.split_once('/').ok_or_else(|| err("no '/'"))?;
        let k: u32 = k
            .trim()
            .parse()
            .map_err(|_| err("K is not a whole number"))?;
        let n: u32 = n
            .trim()
            .parse()
            .map_err(|_| err("N is not a whole number"))?;
        if n == 0 || k == 0 || k > n {
            return Err(err("K must lie between 1 and N"));
        }
        Ok(Shard { index: k, count: n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            "2/5".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 5 }
        );
        for bad in ["0/3", "4/3", "1/0", "x/2", "3", "1/-2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_key_in_exactly_one_shard_and_roughly_balanced() {
        let n = 4;
        let mut counts = [0usize; 4];
        for i in 0..4000 {
            let key = format!("plan-{i}");
            let owners: Vec<u32> = (1..=n)
                .filter(|k| {
                    Shard {
                        index: *k,
                        count: n,
                    }
                    .contains(&key)
                })
                .collect();
            assert_eq!(owners.len(), 1);
            counts[(owners[0] - 1) as usize] += 1;
        }
        // 1000 expected per shard; binomial sd ≈ 27, so ±150 is > 5 sd.
        assert!(counts.iter().all(|c| (850..1150).contains(c)), "{counts:?}");
    }
}
