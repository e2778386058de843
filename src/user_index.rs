//! The per-user index of session families (DESIGN §6): "your devices", and what "log out
//! everywhere" ends.
//!
//! One `UserSessions` Durable Object per `sub` holds a [`UserIndex`]. A family registers
//! once it exists, is touched when its `last_seen` moves, and unregisters when its object
//! is deleted (logout, theft, expiry all end there). Messages from different objects
//! arrive in any order, so the index is built to converge whatever the order:
//!
//! * a revoke-all remembers when it ran, so a login that raced it (created before,
//!   registered after) is refused rather than surviving the logout;
//! * an unregister that overtakes its family's register leaves a short-lived tombstone,
//!   so the late register is refused rather than listing a family that has ended.
//!
//! Entries past the longest family lifetime are pruned, and the index is bounded so one
//! user cannot grow an object without limit.
//!
//! ```
//! use edge_session::config::Policy;
//! use edge_session::credential::FamilyId;
//! use edge_session::time::Timestamp;
//! use edge_session::user_index::{FamilyEntry, UserIndex};
//! let mut index = UserIndex::default();
//! let t = Timestamp::from_secs(1_000);
//! let entry = FamilyEntry::new(FamilyId::from_bytes([1; 16]), t, false, Some("Firefox"), Some("CH"));
//! assert!(index.register(entry.clone(), t, &Policy::default()));
//! assert_eq!(index.revoke_all(t, None), vec![entry.family]);
//! // A login created before the revocation but registering after it is refused.
//! assert!(!index.register(entry, t, &Policy::default()));
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Policy;
use crate::credential::FamilyId;
use crate::time::Timestamp;
use crate::wire::{UserCommand, UserReply};

/// Most families one user may hold at once; the oldest are dropped from the index past
/// it (they still end by their own timeouts).
pub const MAX_FAMILIES: usize = 200;

/// How long a tombstone outlives its family's creation. A family registers within one
/// request of being created (object calls time out after 5 s), so a register can only
/// be overtaken by its unregister within seconds; minutes leave room for clock skew
/// between objects.
pub const TOMBSTONE_TTL: Duration = Duration::from_secs(600);

/// Longest user agent kept: enough to tell devices apart, bounded storage per entry.
pub const MAX_USER_AGENT_LEN: usize = 256;

/// One family of the user, as "your devices" shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyEntry {
    /// The family id: `X-Edge-Session` and the assertion's `sid`.
    #[serde(with = "family_id_text")]
    pub family: FamilyId,
    pub created_at: Timestamp,
    /// When the family last refreshed (coarsened like the family's own, ≤ once a minute;
    /// requests served from an access cookie alone are not seen). Defaults to 0 for
    /// entries stored before it existed.
    #[serde(default)]
    pub last_seen: Timestamp,
    pub remember: bool,
    /// The login request's `User-Agent`, truncated; client-supplied, display only.
    pub user_agent: Option<String>,
    /// The login request's country (Cloudflare's `cf.country`), when known.
    pub country: Option<String>,
}

impl FamilyEntry {
    /// An entry for a family created at `created_at`. The user agent is truncated and
    /// stripped of control characters, the country kept only if it looks like a
    /// two-character country code: both come from the client and end up in an admin UI.
    pub fn new(
        family: FamilyId,
        created_at: Timestamp,
        remember: bool,
        user_agent: Option<&str>,
        country: Option<&str>,
    ) -> FamilyEntry {
        let user_agent = user_agent.map(clean_user_agent).filter(|ua| !ua.is_empty());
        let country = country.filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphanumeric()));
        FamilyEntry { family, created_at, last_seen: created_at, remember, user_agent, country: country.map(str::to_owned) }
    }
}

fn clean_user_agent(ua: &str) -> String {
    let mut kept = String::new();
    for c in ua.chars().filter(|c| !c.is_control()) {
        if kept.len() + c.len_utf8() > MAX_USER_AGENT_LEN {
            break;
        }
        kept.push(c);
    }
    kept
}

/// A family that ended before it registered (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    #[serde(with = "family_id_text")]
    pub family: FamilyId,
    pub created_at: Timestamp,
}

/// A user's families and the time of their last "log out everywhere".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIndex {
    pub revoked_before: Option<Timestamp>,
    pub families: Vec<FamilyEntry>,
    #[serde(default)]
    pub ended: Vec<Tombstone>,
}

impl UserIndex {
    /// Adds a new family. `false` when it must not exist (it raced a revoke-all, or it
    /// already ended): the caller then revokes it.
    pub fn register(&mut self, entry: FamilyEntry, now: Timestamp, policy: &Policy) -> bool {
        if self.revoked_before.is_some_and(|cut| entry.created_at <= cut) {
            return false;
        }
        if self.ended.iter().any(|t| t.family == entry.family) {
            return false;
        }
        self.prune(now, policy);
        self.families.retain(|e| e.family != entry.family);
        self.families.push(entry);
        if self.families.len() > MAX_FAMILIES {
            self.families.sort_by_key(|e| e.created_at);
            self.families.drain(..self.families.len() - MAX_FAMILIES);
        }
        true
    }

    /// The family refreshed at `at`. `true` when the index changed (worth a write).
    pub fn touch(&mut self, family: FamilyId, at: Timestamp) -> bool {
        match self.families.iter_mut().find(|e| e.family == family) {
            Some(entry) if at > entry.last_seen => {
                entry.last_seen = at;
                true
            }
            _ => false,
        }
    }

    /// The family's object was deleted: it leaves the index. If it was not listed yet and
    /// is young enough that its register may still be in flight, a tombstone refuses
    /// that register. `true` when the index changed.
    pub fn unregister(&mut self, family: FamilyId, created_at: Timestamp, now: Timestamp) -> bool {
        let listed = self.families.len();
        self.families.retain(|e| e.family != family);
        if self.families.len() < listed {
            return true;
        }
        self.ended.retain(|t| t.created_at + TOMBSTONE_TTL > now);
        if created_at + TOMBSTONE_TTL <= now || self.ended.iter().any(|t| t.family == family) {
            return false;
        }
        self.ended.push(Tombstone { family, created_at });
        if self.ended.len() > MAX_FAMILIES {
            self.ended.remove(0);
        }
        true
    }

    /// Removes one family (an admin's "sign out this device") and says whether it was
    /// listed; only a listed family may be revoked through its user's index.
    pub fn revoke(&mut self, family: FamilyId) -> bool {
        let listed = self.families.len();
        self.families.retain(|e| e.family != family);
        self.families.len() < listed
    }

    /// Forgets every family but `except` ("sign out all other devices") and returns them,
    /// to be revoked by the caller. Any family created until now that registers later
    /// is refused.
    pub fn revoke_all(&mut self, now: Timestamp, except: Option<FamilyId>) -> Vec<FamilyId> {
        self.revoked_before = Some(now);
        let (kept, revoked) = self.families.drain(..).partition(|e| Some(e.family) == except);
        self.families = kept;
        revoked.into_iter().map(|e: FamilyEntry| e.family).collect()
    }

    /// The live families, oldest first. Entries past the longest lifetime are dropped:
    /// their families have ended even if the unregister never arrived.
    pub fn sessions(&mut self, now: Timestamp, policy: &Policy) -> &[FamilyEntry] {
        self.prune(now, policy);
        self.families.sort_by_key(|e| e.created_at);
        &self.families
    }

    fn prune(&mut self, now: Timestamp, policy: &Policy) {
        self.families.retain(|e| !outlived(e.created_at, now, policy));
        self.ended.retain(|t| t.created_at + TOMBSTONE_TTL > now);
    }
}

/// What one [`UserCommand`] did: the reply, whether the index must be written, and the
/// families the caller must now revoke (after writing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub reply: UserReply,
    pub changed: bool,
    pub revoke: Vec<FamilyId>,
}

impl UserIndex {
    /// Carries out one message to the user's object. `None` when a family id in it is
    /// malformed (the object answers 400).
    pub fn handle(&mut self, command: UserCommand, now: Timestamp, policy: &Policy) -> Option<Handled> {
        let reply = UserReply::default();
        let quiet = |changed| Handled { reply: UserReply::default(), changed, revoke: Vec::new() };
        Some(match command {
            UserCommand::Register { entry } => {
                let accepted = self.register(entry, now, policy);
                Handled { reply: UserReply { accepted, ..reply }, changed: accepted, revoke: Vec::new() }
            }
            UserCommand::Touch { family, at } => quiet(self.touch(FamilyId::parse(&family)?, Timestamp::from_millis(at))),
            UserCommand::Unregister { family, created_at } => {
                quiet(self.unregister(FamilyId::parse(&family)?, Timestamp::from_millis(created_at), now))
            }
            UserCommand::List => {
                let sessions = self.sessions(now, policy).to_vec();
                Handled { reply: UserReply { sessions, ..reply }, changed: false, revoke: Vec::new() }
            }
            UserCommand::Revoke { family } => {
                let family = FamilyId::parse(&family)?;
                let revoke: Vec<_> = self.revoke(family).then_some(family).into_iter().collect();
                Handled { reply: UserReply { revoked: revoke.len(), ..reply }, changed: !revoke.is_empty(), revoke }
            }
            UserCommand::RevokeAll { except } => {
                let except = match except {
                    Some(text) => Some(FamilyId::parse(&text)?),
                    None => None,
                };
                let revoke = self.revoke_all(now, except);
                Handled { reply: UserReply { accepted: true, revoked: revoke.len(), ..reply }, changed: true, revoke }
            }
        })
    }
}

/// Whether a family created at `created_at` is past the longest lifetime: the index
/// forgets it on its own, whether or not its unregister ever arrives.
pub fn outlived(created_at: Timestamp, now: Timestamp, policy: &Policy) -> bool {
    created_at + policy.remember_lifetime.max(policy.session_lifetime) <= now
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

    fn entry(n: u8, at: Timestamp) -> FamilyEntry {
        FamilyEntry::new(FamilyId::from_bytes([n; 16]), at, false, None, None)
    }

    #[test]
    fn login_after_revoke_all_registers() {
        let mut index = UserIndex::default();
        let t = Timestamp::from_secs(100);
        index.revoke_all(t, None);
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
    fn an_unregister_that_overtakes_its_register_refuses_it() {
        let policy = Policy::default();
        let mut index = UserIndex::default();
        let t = Timestamp::from_secs(1_000);
        assert!(index.unregister(entry(1, t).family, t, t));
        assert!(!index.register(entry(1, t), t, &policy));
        assert!(index.sessions(t, &policy).is_empty());
        // An old family's unregister needs no tombstone: its register is long done.
        let late = t + TOMBSTONE_TTL;
        assert!(!index.unregister(entry(2, t).family, t, late));
        assert!(index.ended.is_empty(), "the first tombstone expired too");
    }

    #[test]
    fn revoke_all_can_spare_the_current_family() {
        let policy = Policy::default();
        let mut index = UserIndex::default();
        let t = Timestamp::from_secs(1_000);
        for n in 1..=3 {
            index.register(entry(n, t), t, &policy);
        }
        let mine = FamilyId::from_bytes([2; 16]);
        let revoked = index.revoke_all(t, Some(mine));
        assert_eq!(revoked, vec![FamilyId::from_bytes([1; 16]), FamilyId::from_bytes([3; 16])]);
        assert_eq!(index.sessions(t, &policy).iter().map(|e| e.family).collect::<Vec<_>>(), vec![mine]);
    }

    #[test]
    fn touch_moves_last_seen_forward_only() {
        let mut index = UserIndex::default();
        let t = Timestamp::from_secs(1_000);
        index.register(entry(1, t), t, &Policy::default());
        let family = FamilyId::from_bytes([1; 16]);
        assert!(index.touch(family, t + Duration::from_secs(60)));
        assert!(!index.touch(family, t + Duration::from_secs(30)), "a late, older touch changes nothing");
        assert!(!index.touch(FamilyId::from_bytes([9; 16]), t), "unknown family");
        assert_eq!(index.families[0].last_seen, t + Duration::from_secs(60));
    }

    #[test]
    fn client_supplied_metadata_is_bounded_and_cleaned() {
        let id = FamilyId::from_bytes([1; 16]);
        let t = Timestamp::from_secs(1);
        let long = format!("Mozilla\r\nX-Injected: 1{}", "é".repeat(400));
        let e = FamilyEntry::new(id, t, true, Some(&long), Some("<script>"));
        let ua = e.user_agent.unwrap();
        assert!(ua.len() <= MAX_USER_AGENT_LEN && !ua.contains('\n') && ua.starts_with("MozillaX-Injected"));
        assert_eq!(e.country, None);
        assert_eq!(FamilyEntry::new(id, t, true, Some("\u{7}"), Some("CH")).user_agent, None);
        assert_eq!(FamilyEntry::new(id, t, true, None, Some("CH")).country.as_deref(), Some("CH"));
    }

    #[test]
    fn round_trips_as_json() {
        let mut index = UserIndex::default();
        index.register(entry(3, Timestamp::from_secs(5)), Timestamp::from_secs(5), &Policy::default());
        index.unregister(FamilyId::from_bytes([4; 16]), Timestamp::from_secs(5), Timestamp::from_secs(5));
        let json = serde_json::to_string(&index).unwrap();
        assert_eq!(serde_json::from_str::<UserIndex>(&json).unwrap(), index);
    }
}
