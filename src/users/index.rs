//! The per-user index of session families: "your devices", and what "log out
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
//! use edge_session::session::{FamilyId, RevokedBy};
//! use edge_session::time::Timestamp;
//! use edge_session::users::{FamilyEntry, UserIndex};
//! let mut index = UserIndex::default();
//! let t = Timestamp::from_secs(1_000);
//! let entry = FamilyEntry::new(FamilyId::from_bytes([1; 16]), t, false, Some("Firefox"), Some("CH"));
//! assert!(index.register(entry.clone(), t, &Policy::default()));
//! assert_eq!(index.revoke_all(t, None, RevokedBy::Everywhere), vec![entry.family]);
//! // A login created before the revocation but registering after it is refused.
//! assert!(!index.register(entry, t, &Policy::default()));
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Policy;
use crate::session::{FamilyId, RevokedBy};
use crate::time::Timestamp;

/// Most families one user may hold at once; a login past it revokes the oldest.
pub const MAX_FAMILIES: usize = 200;

/// Most families the index tracks at once: listed, or revoked and waiting for their
/// objects to confirm. A pending revocation is never dropped, so storage is bounded the
/// other way: once objects have been unreachable long enough to fill this, new logins
/// are refused (503, and `index_full` is logged) until the revocations drain.
pub const MAX_TRACKED: usize = 2 * MAX_FAMILIES;

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
    pub family: FamilyId,
    /// When the login created it.
    pub created_at: Timestamp,
    /// When the family last refreshed (coarsened like the family's own, ≤ once a minute;
    /// requests served from an access cookie alone are not seen). Defaults to 0 for
    /// entries stored before it existed.
    #[serde(default)]
    pub last_seen: Timestamp,
    /// "Remember me".
    pub remember: bool,
    /// Bound to a key the browser cannot export (DBSC): a copy of its cookies is worth
    /// one access-cookie lifetime at most.
    #[serde(default)]
    pub device_bound: bool,
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
        FamilyEntry {
            family,
            created_at,
            last_seen: created_at,
            remember,
            device_bound: false,
            user_agent,
            country: country.map(str::to_owned),
        }
    }
}

/// `ua` without control or invisible formatting characters, at most
/// [`MAX_USER_AGENT_LEN`] bytes (whole characters): it is shown in admin screens and sent
/// in events, where a right-to-left override would make "Chrome" display as another name.
pub fn clean_user_agent(ua: &str) -> String {
    let mut kept = String::new();
    for c in ua.chars().filter(|&c| !c.is_control() && !is_invisible_format(c)) {
        if kept.len() + c.len_utf8() > MAX_USER_AGENT_LEN {
            break;
        }
        kept.push(c);
    }
    kept
}

/// Characters that display as nothing, or as a line break: Unicode's format characters
/// (category Cf: bidirectional overrides, zero-width characters, the soft hyphen, the byte
/// order mark, tag characters that smuggle hidden text), the line and paragraph
/// separators (Zl, Zp), and the invisible letters (Hangul fillers, the combining grapheme
/// joiner). Cf, Zl and Zp as of Unicode 16, listed by Python's `unicodedata` (Unicode 14)
/// plus the Egyptian format controls Unicode 15 added (U+13439 to U+1343F).
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{ad}' | '\u{34f}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{890}'..='\u{891}'
        | '\u{8e2}' | '\u{115f}'..='\u{1160}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{3164}' | '\u{feff}' | '\u{ffa0}'
        | '\u{fff9}'..='\u{fffb}' | '\u{110bd}' | '\u{110cd}' | '\u{13430}'..='\u{1343f}' | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}' | '\u{e0001}' | '\u{e0020}'..='\u{e007f}')
}

/// An admin token being used: refused if its `jti` was already spent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUse {
    /// The token's `jti`.
    pub jti: String,
    /// Unix ms until which the token could still verify (its `jti` is kept that long).
    pub valid_until: u64,
}

/// A family that ended before it registered (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// The family.
    pub family: FamilyId,
    /// When it was created: the tombstone lasts until then + [`TOMBSTONE_TTL`].
    pub created_at: Timestamp,
}

/// A user's families, the time of their last "log out everywhere", and the revocations
/// their objects have not confirmed yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIndex {
    pub(crate) revoked_before: Option<Timestamp>,
    pub(crate) families: Vec<FamilyEntry>,
    #[serde(default)]
    pub(crate) ended: Vec<Tombstone>,
    /// Revoked here, not yet confirmed by their objects: retried until they are, so a
    /// revocation the index claims is never dropped by one failed call.
    #[serde(default)]
    pub(crate) pending: Vec<FamilyId>,
    /// Who asked for each pending revocation, so a retry reports the same (an entry
    /// from before this was kept has none: see [`UserIndex::pending_revocations`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) pending_by: Vec<(FamilyId, RevokedBy)>,
    /// Admin tokens already used to revoke, kept while they could still verify.
    #[serde(default)]
    pub(crate) spent: Vec<TokenUse>,
}

impl UserIndex {
    /// Adds a new family. `false` when it must not exist (it raced a revoke-all, it
    /// already ended, or the index is [full](UserIndex::is_full)): the caller then
    /// revokes it. Past [`MAX_FAMILIES`] the oldest families are revoked (moved to
    /// `pending`), never just forgotten: a forgotten family would escape "log out
    /// everywhere".
    pub fn register(&mut self, entry: FamilyEntry, now: Timestamp, policy: &Policy) -> bool {
        if self.revoked_before.is_some_and(|cut| entry.created_at <= cut) {
            return false;
        }
        if self.ended.iter().any(|t| t.family == entry.family) {
            return false;
        }
        self.prune(now, policy);
        // Revocations only move families from listed to pending, so refusing here keeps
        // listed + pending within MAX_TRACKED without ever dropping a revocation.
        if self.is_full() {
            return false;
        }
        self.families.retain(|e| e.family != entry.family);
        self.families.push(entry);
        if self.families.len() > MAX_FAMILIES {
            self.families.sort_by_key(|e| e.created_at);
            let evicted: Vec<_> = self.families.drain(..self.families.len() - MAX_FAMILIES).map(|e| e.family).collect();
            self.add_pending(evicted, RevokedBy::Limit);
        }
        true
    }

    /// The family refreshed at `at`, or (`device_bound`) its browser bound it to a key.
    /// `true` when the index changed (worth a write).
    pub fn touch(&mut self, family: FamilyId, at: Timestamp, device_bound: bool) -> bool {
        let Some(entry) = self.families.iter_mut().find(|e| e.family == family) else { return false };
        // A binding is for good (crate::session::Family::bind): a late, unbound touch
        // never clears it.
        let newly_bound = device_bound && !entry.device_bound;
        entry.device_bound |= device_bound;
        let later = at > entry.last_seen;
        if later {
            entry.last_seen = at;
        }
        later || newly_bound
    }

    /// The family's object was deleted: it leaves the index (and `pending`: it has
    /// certainly ended). If it was not listed yet and is young enough that its register
    /// may still be in flight, a tombstone refuses that register. `true` when the index
    /// changed.
    pub fn unregister(&mut self, family: FamilyId, created_at: Timestamp, now: Timestamp) -> bool {
        let before = (self.families.len(), self.pending.len());
        self.families.retain(|e| e.family != family);
        self.pending.retain(|f| *f != family);
        self.pending_by.retain(|(f, _)| *f != family);
        if (self.families.len(), self.pending.len()) != before {
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

    /// Revokes one family (an admin's "sign out this device"): `false` unless it is
    /// listed, so a family can only be revoked through its own user's index.
    pub fn revoke(&mut self, family: FamilyId) -> bool {
        let listed = self.families.len();
        self.families.retain(|e| e.family != family);
        let revoked = self.families.len() < listed;
        if revoked {
            self.add_pending(vec![family], RevokedBy::Admin);
        }
        revoked
    }

    /// Revokes every family but `except` ("sign out all other devices") for `by` and
    /// returns them. Any family created until now that registers later is refused.
    pub fn revoke_all(&mut self, now: Timestamp, except: Option<FamilyId>, by: RevokedBy) -> Vec<FamilyId> {
        self.revoked_before = Some(now);
        let (kept, revoked) = self.families.drain(..).partition(|e: &FamilyEntry| Some(e.family) == except);
        self.families = kept;
        let revoked: Vec<_> = revoked.into_iter().map(|e| e.family).collect();
        self.add_pending(revoked.clone(), by);
        revoked
    }

    /// Records an admin token's use. `false` if it was used before: a replay, to be
    /// refused. Bounded: past [`MAX_FAMILIES`] remembered tokens the oldest is forgotten.
    pub fn spend(&mut self, token: &TokenUse, now: Timestamp) -> bool {
        self.spent.retain(|t| t.valid_until > now.as_millis());
        if self.spent.iter().any(|t| t.jti == token.jti) {
            return false;
        }
        self.spent.push(token.clone());
        if self.spent.len() > MAX_FAMILIES {
            self.spent.remove(0);
        }
        true
    }

    /// Their objects confirmed these revocations. `true` when the index changed.
    pub fn confirm_revoked(&mut self, done: &[FamilyId]) -> bool {
        let before = self.pending.len();
        self.pending.retain(|f| !done.contains(f));
        self.pending_by.retain(|(f, _)| !done.contains(f));
        self.pending.len() < before
    }

    /// The live families, oldest first. Entries past the longest lifetime are dropped:
    /// their families have ended even if the unregister never arrived. Families created
    /// before the kill switch (`SESSIONS_NOT_BEFORE`) are not listed, but stay in the index
    /// until their objects unregister them, so "log out everywhere" and an admin revoke
    /// still reach them should the switch ever be lowered.
    pub fn live_families(&mut self, now: Timestamp, policy: &Policy) -> Vec<FamilyEntry> {
        self.prune(now, policy);
        self.families.sort_by_key(|e| e.created_at);
        self.families.iter().filter(|e| e.created_at >= policy.not_before).cloned().collect()
    }

    fn prune(&mut self, now: Timestamp, policy: &Policy) {
        self.families.retain(|e| !outlived(e.created_at, now, policy));
        self.ended.retain(|t| t.created_at + TOMBSTONE_TTL > now);
    }

    /// Families revoked here whose objects have not confirmed yet.
    pub fn pending(&self) -> &[FamilyId] {
        &self.pending
    }

    /// The pending revocations with who asked for each. One recorded before the index
    /// kept that was a "log out everywhere" or an admin's: reported as `everywhere`.
    pub fn pending_revocations(&self) -> Vec<(FamilyId, RevokedBy)> {
        let by =
            |f: &FamilyId| self.pending_by.iter().find(|(g, _)| g == f).map_or(RevokedBy::Everywhere, |(_, by)| *by);
        self.pending.iter().map(|f| (*f, by(f))).collect()
    }

    /// When this index's storage may be deleted: it lists no live family and no
    /// revocation is pending, and what it still remembers has lapsed by then: tombstones,
    /// spent admin tokens, and the last revoke-all, which must outlast any login that
    /// raced it ([`TOMBSTONE_TTL`], like a tombstone). `None` while it holds anything
    /// else. Without this, every user who ever logged in would keep an object forever.
    pub fn deletable_at(&self, now: Timestamp, policy: &Policy) -> Option<Timestamp> {
        let holds_a_family = self.families.iter().any(|e| !outlived(e.created_at, now, policy));
        if holds_a_family || !self.pending.is_empty() {
            return None;
        }
        let tombstones = self.ended.iter().map(|t| t.created_at + TOMBSTONE_TTL);
        let tokens = self.spent.iter().map(|t| Timestamp::from_millis(t.valid_until));
        let cut = self.revoked_before.map(|cut| cut + TOMBSTONE_TTL);
        Some(tombstones.chain(tokens).chain(cut).max().unwrap_or(now))
    }

    /// When the object's alarm should next look at deleting this index: when it becomes
    /// [deletable](UserIndex::deletable_at), or else once every family it lists is past
    /// the longest lifetime (a family whose unregister never arrived is over by then
    /// anyway). `None` while revocations are pending: their retry alarm comes first, and
    /// looks again after.
    pub fn cleanup_at(&self, now: Timestamp, policy: &Policy) -> Option<Timestamp> {
        if !self.pending.is_empty() {
            return None;
        }
        let lifetime = policy.remember_lifetime.max(policy.session_lifetime);
        let last_outlived = self.families.iter().map(|e| e.created_at + lifetime).max();
        self.deletable_at(now, policy).or(last_outlived)
    }

    /// Listed and pending families fill [`MAX_TRACKED`]: new logins are refused until
    /// the pending revocations are confirmed.
    pub fn is_full(&self) -> bool {
        self.families.len() + self.pending.len() >= MAX_TRACKED
    }

    /// Unbounded by itself: what bounds it is [`UserIndex::register`] refusing logins
    /// while the index [is full](UserIndex::is_full).
    fn add_pending(&mut self, families: Vec<FamilyId>, by: RevokedBy) {
        let new: Vec<_> = families.into_iter().filter(|f| !self.pending.contains(f)).collect();
        self.pending_by.extend(new.iter().map(|f| (*f, by)));
        self.pending.extend(new);
    }
}

/// Whether a family created at `created_at` is past the longest lifetime: the index
/// forgets it on its own, whether or not its unregister ever arrives.
pub fn outlived(created_at: Timestamp, now: Timestamp, policy: &Policy) -> bool {
    created_at + policy.remember_lifetime.max(policy.session_lifetime) <= now
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
        index.revoke_all(t, None, RevokedBy::Everywhere);
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
        let oldest = FamilyId::from_bytes([0; 16]);
        assert!(!index.families.iter().any(|e| e.family == oldest), "oldest dropped");
        assert_eq!(index.pending, vec![oldest], "and revoked, not forgotten");
    }

    #[test]
    fn the_kill_switch_empties_the_list() {
        let t = Timestamp::from_secs(1_000);
        let mut index = UserIndex::default();
        index.register(entry(1, t), t, &Policy::default());
        index.register(entry(2, t + Duration::from_secs(10)), t, &Policy::default());
        let killed = Policy { not_before: t + Duration::from_secs(5), ..Policy::default() };
        let listed: Vec<_> =
            index.live_families(t + Duration::from_secs(20), &killed).iter().map(|e| e.family).collect();
        assert_eq!(listed, [FamilyId::from_bytes([2; 16])], "only the login after the switch");
        // Still indexed: revoke-all and an admin revoke reach it until its object is gone.
        assert_eq!(index.deletable_at(t + Duration::from_secs(20), &killed), None);
        assert!(index.revoke(FamilyId::from_bytes([1; 16])), "an admin revoke still finds it");
    }

    #[test]
    fn an_unregister_that_overtakes_its_register_refuses_it() {
        let policy = Policy::default();
        let mut index = UserIndex::default();
        let t = Timestamp::from_secs(1_000);
        assert!(index.unregister(entry(1, t).family, t, t));
        assert!(!index.register(entry(1, t), t, &policy));
        assert!(index.live_families(t, &policy).is_empty());
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
        let revoked = index.revoke_all(t, Some(mine), RevokedBy::Admin);
        assert_eq!(revoked, vec![FamilyId::from_bytes([1; 16]), FamilyId::from_bytes([3; 16])]);
        assert_eq!(index.live_families(t, &policy).iter().map(|e| e.family).collect::<Vec<_>>(), vec![mine]);
    }

    #[test]
    fn touch_moves_last_seen_forward_only() {
        let mut index = UserIndex::default();
        let t = Timestamp::from_secs(1_000);
        index.register(entry(1, t), t, &Policy::default());
        let family = FamilyId::from_bytes([1; 16]);
        assert!(index.touch(family, t + Duration::from_secs(60), false));
        assert!(!index.touch(family, t + Duration::from_secs(30), false), "a late, older touch changes nothing");
        assert!(!index.touch(FamilyId::from_bytes([9; 16]), t, true), "unknown family");
        assert_eq!(index.families[0].last_seen, t + Duration::from_secs(60));
        assert!(!index.families[0].device_bound);
        assert!(index.touch(family, t, true), "a binding is news even with an older time");
        assert!(!index.touch(family, t + Duration::from_secs(10), false), "and no touch undoes it");
        assert!(index.families[0].device_bound);
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
    fn an_index_is_deletable_once_it_holds_nothing_that_still_matters() {
        let policy = Policy::default();
        let t = Timestamp::from_secs(1_000);
        let mut index = UserIndex::default();
        assert_eq!(index.deletable_at(t, &policy), Some(t), "never held anything");
        index.register(entry(1, t), t, &policy);
        assert_eq!(index.deletable_at(t, &policy), None, "a live family");
        let later = t + Duration::from_secs(5);
        index.revoke_all(later, None, RevokedBy::Everywhere);
        assert_eq!(index.deletable_at(later, &policy), None, "a pending revocation");
        index.confirm_revoked(&[FamilyId::from_bytes([1; 16])]);
        assert_eq!(index.deletable_at(later, &policy), Some(later + TOMBSTONE_TTL), "the revoke-all's cut first");
        // A spent admin token outlives the cut; a tombstone too.
        let token = TokenUse { jti: "j".into(), valid_until: (later + TOMBSTONE_TTL).as_millis() + 1 };
        assert!(index.spend(&token, later));
        index.unregister(FamilyId::from_bytes([2; 16]), later + Duration::from_secs(60), later);
        let last = later + Duration::from_secs(60) + TOMBSTONE_TTL;
        assert_eq!(index.deletable_at(later, &policy), Some(last));
        // An entry past the longest lifetime is gone whether or not it was unregistered.
        let mut stale = UserIndex::default();
        stale.register(entry(3, t), t, &policy);
        let much_later = t + policy.remember_lifetime.max(policy.session_lifetime);
        assert_eq!(stale.cleanup_at(t, &policy), Some(much_later), "the alarm comes back then");
        assert_eq!(stale.deletable_at(much_later, &policy), Some(much_later));
        // Pending revocations own the alarm (a retry every minute).
        stale.revoke_all(t, None, RevokedBy::Everywhere);
        assert_eq!(stale.cleanup_at(t, &policy), None);
    }

    #[test]
    fn a_user_agent_keeps_no_control_or_invisible_formatting_character() {
        // "Chrome" followed by a right-to-left override and "exe.", as a screen shows it.
        assert_eq!(clean_user_agent("Chrome\u{202e}exe.\u{200b}\u{feff}\u{ad}\r\n\u{85}x"), "Chromeexe.x");
        // Line separators, tag characters (hidden text), an invisible Hangul letter.
        assert_eq!(clean_user_agent("a\u{2028}b\u{2029}c\u{e0001}\u{e0068}\u{e0069}d\u{3164}e\u{13439}"), "abcde");
        assert_eq!(
            clean_user_agent("Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/145.0 Ünïcode"),
            "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/145.0 Ünïcode"
        );
        let long = "é".repeat(MAX_USER_AGENT_LEN);
        assert_eq!(clean_user_agent(&long).len(), MAX_USER_AGENT_LEN, "whole characters, within the bound");
    }

    #[test]
    fn round_trips_as_json() {
        let mut index = UserIndex::default();
        index.register(entry(3, Timestamp::from_secs(5)), Timestamp::from_secs(5), &Policy::default());
        index.unregister(FamilyId::from_bytes([4; 16]), Timestamp::from_secs(5), Timestamp::from_secs(5));
        index.revoke_all(Timestamp::from_secs(5), None, RevokedBy::Everywhere);
        let json = serde_json::to_string(&index).unwrap();
        assert_eq!(serde_json::from_str::<UserIndex>(&json).unwrap(), index);
    }
}
