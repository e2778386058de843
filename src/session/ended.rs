//! Families one isolate knows have ended, so that their cookies stop waking objects.
//!
//! A browser keeps sending the refresh cookie of an ended family (logged out elsewhere,
//! revoked, stolen, expired) until that cookie expires, up to `REMEMBER_LIFETIME_SECS`.
//! Its MAC still verifies, so without this every asset it loads would cost a Durable
//! Object call, only to hear "unknown family". A family is remembered once its object
//! answered that it holds nothing (the alarm deleted the ended family): that never
//! changes, since ids are 128 random bits and never reused, so remembering it is always
//! right. The set is bounded, forgetting the oldest first; a forgotten family merely costs
//! one more object call.
//!
//! ```
//! use edge_session::session::{EndedFamilies, FamilyId};
//! let mut ended = EndedFamilies::with_capacity(2);
//! let [a, b, c] = [1, 2, 3].map(|n| FamilyId::from_bytes([n; 16]));
//! ended.insert(a);
//! ended.insert(b);
//! ended.insert(c);
//! assert!(!ended.contains(a) && ended.contains(b) && ended.contains(c));
//! ```

use std::collections::{BTreeSet, VecDeque};

use super::credential::FamilyId;

/// How many ended families an isolate remembers: 16 bytes each, twice (set and order).
pub const DEFAULT_CAPACITY: usize = 4096;

/// A bounded set of ended families, oldest forgotten first.
#[derive(Debug, Clone)]
pub struct EndedFamilies {
    capacity: usize,
    members: BTreeSet<FamilyId>,
    oldest_first: VecDeque<FamilyId>,
}

impl Default for EndedFamilies {
    fn default() -> Self {
        EndedFamilies::with_capacity(DEFAULT_CAPACITY)
    }
}

impl EndedFamilies {
    /// An empty set that remembers at most `capacity` families (at least one).
    pub fn with_capacity(capacity: usize) -> EndedFamilies {
        EndedFamilies { capacity: capacity.max(1), members: BTreeSet::new(), oldest_first: VecDeque::new() }
    }

    /// Whether `family` is known to have ended.
    pub fn contains(&self, family: FamilyId) -> bool {
        self.members.contains(&family)
    }

    /// Remembers that `family` ended.
    pub fn insert(&mut self, family: FamilyId) {
        if !self.members.insert(family) {
            return;
        }
        self.oldest_first.push_back(family);
        if self.oldest_first.len() > self.capacity
            && let Some(forgotten) = self.oldest_first.pop_front()
        {
            self.members.remove(&forgotten);
        }
    }

    /// How many families are remembered.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_idempotent() {
        let mut ended = EndedFamilies::with_capacity(3);
        for n in 0..10u8 {
            ended.insert(FamilyId::from_bytes([n; 16]));
            ended.insert(FamilyId::from_bytes([n; 16]));
            assert!(ended.len() <= 3);
        }
        assert_eq!(ended.len(), 3);
        assert!((7..10).all(|n| ended.contains(FamilyId::from_bytes([n; 16]))));
        assert!(!ended.contains(FamilyId::from_bytes([6; 16])));
    }
}
