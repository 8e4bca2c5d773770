//! Duplicate detection over a stream of rows, keeping 24 bytes a distinct user instead of
//! the rows.
//!
//! Rows reach [`Seen`] in file order (the pipeline's in-order stage), each with the
//! [`Fingerprint`] a worker computed in parallel. The first row with a fingerprint is the
//! one acted on; every later one is marked a duplicate of it. Object ids are compared
//! exactly (their 128 bits); UPNs and mail addresses by a keyed 128-bit hash of the
//! case-folded text (see [`Fingerprint`] for why that is exact in practice).
//!
//! Memory: one slot per distinct user (16 bytes of fingerprint, 8 of first row and line)
//! in open-addressed tables at most three quarters full: about 25–50 MB for a million
//! distinct users; duplicates add nothing. Ids and names have 16 tables each, so that
//! growing never holds two copies of the whole set at once.
//!
//! Speed: a million distinct users do not fit in any cache, so nearly every check is a
//! cache miss. [`Seen::touch`] reads the slot a fingerprint will probe first; the
//! pipeline touches a group of rows' slots before checking them, so that their misses
//! overlap instead of coming one after the other. A slot holds the fingerprint and the
//! first row together, so a check costs one miss where a table with separate control
//! bytes costs two.

use std::hash::{BuildHasher, Hasher, RandomState};

use super::FirstSeen;
use super::keys::Fingerprint;

/// How many independently growing tables each kind of fingerprint is spread over (a
/// power of two: the hash's top bits pick one).
const SHARDS: usize = 16;
const SHARD_BITS: u32 = SHARDS.trailing_zeros();

/// The fewest slots a table has once it holds anything.
const MIN_SLOTS: usize = 64;

/// `a × b` as 128 bits, its halves folded together (as `foldhash` does).
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// One fingerprint (`[0]`, `[1]`) and where it was first seen (`[2]`: the row index plus
/// one, then the line, 32 bits each). All zero is a free slot: no row is stored as zero,
/// and a new table's memory comes zeroed from the system, without being written first.
type Slot = [u64; 3];

fn pack(row: u32, line: u32) -> u64 {
    (u64::from(row) + 1) << 32 | u64::from(line)
}

fn unpack(at: u64) -> FirstSeen {
    FirstSeen {
        row: ((at >> 32) - 1) as usize,
        line: (at & 0xFFFF_FFFF) as usize,
    }
}

/// An open-addressed table with linear probing, at most three quarters full.
#[derive(Default)]
struct Table {
    /// A power of two long, or empty.
    slots: Vec<Slot>,
    len: usize,
}

impl Table {
    fn first_probe(&self, hash: u64) -> Option<&Slot> {
        self.slots
            .get(hash as usize & self.slots.len().wrapping_sub(1))
    }

    /// The slot holding `(hi, lo)`, or the free one where it goes. Never full: at most
    /// three quarters of the slots are taken.
    fn find(&mut self, hash: u64, hi: u64, lo: u64) -> &mut Slot {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let [h, l, at] = self.slots[i];
            if at == 0 || (h == hi && l == lo) {
                return &mut self.slots[i];
            }
            i = (i + 1) & mask;
        }
    }

    /// Makes room for one more slot, doubling the table when it would pass three
    /// quarters full; `hash` recomputes a stored fingerprint's hash.
    fn reserve_one(&mut self, hash: impl Fn(u64, u64) -> u64) {
        if (self.len + 1) * 4 <= self.slots.len() * 3 {
            return;
        }
        let size = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![[0; 3]; size]);
        for s in old.into_iter().filter(|s| s[2] != 0) {
            *self.find(hash(s[0], s[1]), s[0], s[1]) = s;
        }
    }
}

/// The first occurrence of every user seen so far.
pub(crate) struct Seen {
    /// Hash keys, drawn once per read, so that an input file cannot choose object ids
    /// that all land on one probe sequence.
    k0: u64,
    k1: u64,
    ids: Vec<Table>,
    names: Vec<Table>,
}

impl Default for Seen {
    fn default() -> Self {
        let random = || RandomState::new().build_hasher().finish();
        let tables = || (0..SHARDS).map(|_| Table::default()).collect();
        Seen {
            k0: random(),
            k1: random(),
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
    fn hash(k0: u64, k1: u64, hi: u64, lo: u64) -> u64 {
        folded_multiply(hi ^ k0, lo ^ k1)
    }

    /// The shard tables for `fp`, its 128 bits, and its hash.
    fn place(&self, fp: Fingerprint) -> (bool, usize, u64, u64, u64) {
        let (id, hi, lo) = match fp {
            Fingerprint::Id(hi, lo) => (true, hi, lo),
            Fingerprint::Name(hi, lo) => (false, hi, lo),
        };
        let hash = Self::hash(self.k0, self.k1, hi, lo);
        (id, (hash >> (64 - SHARD_BITS)) as usize, hi, lo, hash)
    }

    /// Reads the slot that checking `fp` will look at first, so that a [`Seen::check`]
    /// soon after finds it in the cache. Changes nothing; touching several fingerprints
    /// before checking them lets their cache misses overlap.
    pub(crate) fn touch(&self, fp: Fingerprint) {
        let (id, shard, _, _, hash) = self.place(fp);
        let tables = if id { &self.ids } else { &self.names };
        if let Some(slot) = tables[shard].first_probe(hash) {
            std::hint::black_box(slot[2]);
        }
    }

    /// Records the row `row` (at `line`) with fingerprint `fp`; returns the first
    /// occurrence if this one is a duplicate.
    pub(crate) fn check(
        &mut self,
        fp: Fingerprint,
        row: usize,
        line: usize,
    ) -> Result<Option<FirstSeen>, TooMany> {
        let row = u32::try_from(row)
            .ok()
            .filter(|&r| r != u32::MAX)
            .ok_or(TooMany)?;
        let line = u32::try_from(line).map_err(|_| TooMany)?;
        let (id, shard, hi, lo, hash) = self.place(fp);
        let (k0, k1) = (self.k0, self.k1);
        let table = if id {
            &mut self.ids[shard]
        } else {
            &mut self.names[shard]
        };
        table.reserve_one(|hi, lo| Self::hash(k0, k1, hi, lo));
        let slot = table.find(hash, hi, lo);
        if slot[2] != 0 {
            return Ok(Some(unpack(slot[2])));
        }
        *slot = [hi, lo, pack(row, line)];
        table.len += 1;
        Ok(None)
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
        let id = Fingerprint::Id(1, 2);
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
        assert!(
            seen.check(Fingerprint::Name(9, 9), u32::MAX as usize, 1)
                .is_err()
        );
        assert!(seen.check(Fingerprint::Name(9, 9), 5, usize::MAX).is_err());
        // The largest row index and line that fit are kept exactly.
        let last = u32::MAX as usize - 1;
        assert_eq!(
            seen.check(Fingerprint::Name(0, 0), last, last + 1).unwrap(),
            None
        );
        assert_eq!(
            seen.check(Fingerprint::Name(0, 0), 1, 1).unwrap(),
            Some(FirstSeen {
                row: last,
                line: last + 1
            })
        );
    }

    #[test]
    fn many_keys() {
        let mut seen = Seen::default();
        let key = |i: u64| Fingerprint::Id(i >> 3, i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for i in 0..100_000u64 {
            seen.touch(key(i));
            assert_eq!(seen.check(key(i), i as usize, 1).unwrap(), None);
        }
        for i in 0..100_000u64 {
            seen.touch(key(i));
            let first = seen.check(key(i), 0, 1).unwrap();
            assert_eq!(first.map(|f| f.row), Some(i as usize));
        }
        // Equal in one half only, or of the other kind: another user.
        for i in 0..1_000u64 {
            let Fingerprint::Id(hi, lo) = key(i) else {
                unreachable!()
            };
            for other in [
                Fingerprint::Id(hi, !lo),
                Fingerprint::Id(!hi, lo),
                Fingerprint::Name(hi, lo),
            ] {
                let row = 200_000 + i as usize;
                assert_eq!(seen.check(other, row, 1).unwrap(), None);
            }
        }
    }

    proptest::proptest! {
        /// Against a plain map, with fingerprints from small ranges, so that equal halves,
        /// equal first probes and long probe runs are common.
        #[test]
        fn agrees_with_a_map(
            fps in proptest::collection::vec((proptest::bool::ANY, 0u64..4, 0u64..300), 0..3000),
        ) {
            let mut seen = Seen::default();
            let mut model = std::collections::HashMap::new();
            for (row, &(id, hi, lo)) in fps.iter().enumerate() {
                let fp = if id { Fingerprint::Id(hi, lo) } else { Fingerprint::Name(hi, lo) };
                let line = 2 * row + 1;
                if row % 3 == 0 {
                    seen.touch(fp);
                }
                let got = seen.check(fp, row, line).unwrap();
                let want = match model.entry((id, hi, lo)) {
                    std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(FirstSeen { row, line });
                        None
                    }
                };
                proptest::prop_assert_eq!(got, want);
            }
        }
    }
}
