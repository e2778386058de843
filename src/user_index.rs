//! The per-user index of session families (DESIGN §6): what "log out everywhere" ends.
//!
//! One `UserSessions` Durable Object per `sub` holds a [`UserIndex`]. A family registers
//! once it exists; "everywhere" revokes every registered family and remembers when it
//! did, so a login that raced it (created before, registered after) is refused rather
//! than surviving the logout. Entries past the longest family lifetime are pruned, and
//! the index is bounded so one user cannot grow an object without limit.
//!
//! ```
//! use edge_session::config::Policy;
//! use edge_session::credential::FamilyId;
//! use edge_session::time::Timestamp;
//! use edge_session::user_index::{FamilyEntry, UserIndex};
//! let mut index = UserIndex::default();
//! let t = Timestamp::from_secs(1_000);
//! let entry = FamilyEntry { family: FamilyId::from_bytes([1; 16]), created_at: t, remember: false };
//! assert!(index.register(entry.clone(), t, &Policy::default()));
//! assert_eq!(index.revoke_all(t), vec![entry.family]);
//! // A login created before the revocation but registering after it is refused.
//! assert!(!index.register(entry, t, &Policy::default()));
//! ```

use serde::{Deserialize, Serialize};

use crate::config::Policy;
use crate::credential::FamilyId;
use crate::time::Timestamp;

/// Most families one user may hold at once; the oldest are dropped from the index past
/// it (they still end by their own timeouts).
pub const MAX_FAMILIES: usize = 200;

/// One family of the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyEntry {
    #[serde(with = "family_id_text")]
    pub family: FamilyId,
    pub created_at: Timestamp,
    pub remember: bool,
}

/// A user's families and the time of their last "log out everywhere".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIndex {
    pub revoked_before: Option<Timestamp>,
    pub families: Vec<FamilyEntry>,
}

impl UserIndex {
    /// Adds a new family. `false` when it was created before the last revoke-all: the
    /// caller must then revoke the family (it raced a "log out everywhere").
    pub fn register(&mut self, entry: FamilyEntry, now: Timestamp, policy: &Policy) -> bool {
        if self.revoked_before.is_some_and(|cut| entry.created_at <= cut) {
            return false;
        }
        let longest = policy.remember_lifetime.max(policy.session_lifetime);
        self.families.retain(|e| e.created_at + longest > now && e.family != entry.family);
        self.families.push(entry);
        if self.families.len() > MAX_FAMILIES {
            self.families.sort_by_key(|e| e.created_at);
            self.families.drain(..self.families.len() - MAX_FAMILIES);
        }
        true
    }

    /// Forgets every family and returns them, to be revoked by the caller.
    pub fn revoke_all(&mut self, now: Timestamp) -> Vec<FamilyId> {
        self.revoked_before = Some(now);
        self.families.drain(..).map(|e| e.family).collect()
    }
}

mod family_id_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::credential::FamilyId;

    pub fn serialize<S: Serializer>(id: &FamilyId, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FamilyId, D::Error> {
        let text = String::deserialize(d)?;
        FamilyId::parse(&text).ok_or_else(|| serde::de::Error::custom("bad family id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(n: u8, at: Timestamp) -> FamilyEntry {
        FamilyEntry { family: FamilyId::from_bytes([n; 16]), created_at: at, remember: false }
    }

    #[test]
    fn login_after_revoke_all_registers() {
        let mut index = UserIndex::default();
        let t = Timestamp::from_secs(100);
        index.revoke_all(t);
        assert!(index.register(entry(1, t + Duration::from_millis(1)), t, &Policy::default()));
    }

    #[test]
    fn expired_entries_are_pruned_and_the_index_is_bounded() {
        let policy = Policy::default();
        let mut index = UserIndex::default();
        let t0 = Timestamp::from_secs(1_000_000);
        index.register(entry(0, t0), t0, &policy);
        let later = t0 + policy.remember_lifetime + Duration::from_secs(1);
        index.register(entry(1, later), later, &policy);
        assert_eq!(index.families, vec![entry(1, later)]);
        for n in 0..=MAX_FAMILIES as u8 {
            index.register(entry(n, later + Duration::from_secs(n as u64)), later, &policy);
        }
        assert_eq!(index.families.len(), MAX_FAMILIES);
        assert!(!index.families.iter().any(|e| e.family == FamilyId::from_bytes([0; 16])), "oldest dropped");
    }

    #[test]
    fn round_trips_as_json() {
        let mut index = UserIndex::default();
        index.register(entry(3, Timestamp::from_secs(5)), Timestamp::from_secs(5), &Policy::default());
        let json = serde_json::to_string(&index).unwrap();
        assert_eq!(serde_json::from_str::<UserIndex>(&json).unwrap(), index);
    }
}
