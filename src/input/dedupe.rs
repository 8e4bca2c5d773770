//! Duplicate detection over a stream of rows, keeping 24 bytes a distinct user instead of
//! the rows.
//!
//! Rows reach [`Seen`] in file order (the pipeline's in-order stage), each with the
//! [`Fingerprint`] a worker computed in parallel. The first row with a fingerprint is the
//! one acted on; every later one is marked a duplicate of it. Object ids are compared
//! exactly (their 128 bits); UPNs and mail addresses by a keyed 128-bit hash of the
//! case-folded text (see [`Fingerprint`] for why that is exact in practice).
//!
//! Memory: one hash-table slot per distinct user (16 bytes of fingerprint, 8 of first row
//! and line, plus the table's spare room): about 25–50 MB for a million distinct users;
//! duplicates add nothing. The table is split in 16 shards so that growing it never holds
//! two copies of the whole table at once.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, Hasher, RandomState};

use super::FirstSeen;
use super::keys::Fingerprint;

/// How many independently growing tables the fingerprints are spread over.
const SHARDS: usize = 16;

/// A fast keyed hasher for 128-bit keys (folded multiplication, as `foldhash` does).
/// Keyed with random numbers drawn once per read, so an input file cannot choose object
/// ids that all land in one bucket.
#[derive(Clone, Copy)]
struct Keyed {
    seed: u64,
    multiplier: u64,
}

impl Keyed {
    fn new() -> Keyed {
        let random = || RandomState::new().build_hasher().finish();
        Keyed {
            seed: random(),
            multiplier: random() | 1,
        }
    }
}

fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

struct KeyedHasher {
    state: u64,
    multiplier: u64,
}

impl Hasher for KeyedHasher {
    fn finish(&self) -> u64 {
        self.state
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.state = folded_multiply(self.state ^ n, self.multiplier);
    }
}

impl BuildHasher for Keyed {
    type Hasher = KeyedHasher;

    fn build_hasher(&self) -> KeyedHasher {
        KeyedHasher {
            state: self.seed,
            multiplier: self.multiplier,
        }
    }
}

type Table = HashMap<(u64, u64), (u32, u32), Keyed>;

/// The first occurrence of every user seen so far.
pub(crate) struct Seen {
    ids: Vec<Table>,
    names: Vec<Table>,
}

impl Default for Seen {
    fn default() -> Self {
        let keyed = Keyed::new();
        let tables = || (0..SHARDS).map(|_| Table::with_hasher(keyed)).collect();
        Seen {
            ids: tables(),
            names: tables(),
        }
    }
}

/// Rows or lines past `u32::MAX`: too many to track (and far more than a file can hold
/// in practice).
#[derive(Debug)]
pub(crate) struct TooMany;

impl Seen {
    /// Records the row `row` (at `line`) with fingerprint `fp`; returns the first
    /// occurrence if this one is a duplicate.
    pub(crate) fn check(
        &mut self,
        fp: Fingerprint,
        row: usize,
        line: usize,
    ) -> Result<Option<FirstSeen>, TooMany> {
        let here = (
            u32::try_from(row).map_err(|_| TooMany)?,
            u32::try_from(line).map_err(|_| TooMany)?,
        );
        let (tables, key) = match fp {
            Fingerprint::Id(id) => (&mut self.ids, ((id >> 64) as u64, id as u64)),
            Fingerprint::Name(a, b) => (&mut self.names, (a, b)),
        };
        // Raw bits pick the shard (a table's own hash must stay independent of it).
        let shard = (key.0 ^ key.1) as usize % SHARDS;
        let first = match tables[shard].entry(key) {
            Entry::Occupied(e) => Some(*e.get()),
            Entry::Vacant(v) => {
                v.insert(here);
                None
            }
        };
        Ok(first.map(|(row, line)| FirstSeen {
            row: row as usize,
            line: line as usize,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_occurrence_wins() {
        let mut seen = Seen::default();
        let a = Fingerprint::Name(1, 2);
        let b = Fingerprint::Name(1, 3);
        let id = Fingerprint::Id(1 << 64 | 2);
        assert_eq!(seen.check(a, 0, 2).unwrap(), None);
        assert_eq!(seen.check(b, 1, 3).unwrap(), None);
        assert_eq!(seen.check(id, 2, 4).unwrap(), None, "ids and names apart");
        assert_eq!(
            seen.check(a, 3, 7).unwrap(),
            Some(FirstSeen { row: 0, line: 2 })
        );
        assert_eq!(
            seen.check(id, 4, 9).unwrap(),
            Some(FirstSeen { row: 2, line: 4 })
        );
        assert!(seen.check(Fingerprint::Name(9, 9), usize::MAX, 1).is_err());
    }

    #[test]
    fn many_keys() {
        let mut seen = Seen::default();
        for i in 0..100_000u128 {
            assert_eq!(seen.check(Fingerprint::Id(i), i as usize, 1).unwrap(), None);
        }
        for i in 0..100_000u128 {
            let first = seen.check(Fingerprint::Id(i), 0, 1).unwrap();
            assert_eq!(first.map(|f| f.row), Some(i as usize));
        }
    }
}
