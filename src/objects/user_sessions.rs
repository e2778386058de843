//! One user's Durable Object (`UserSessions`): its index of families, as a state machine
//! over its messages.
//!
//! A revocation is written (as pending) before any family is told, and leaves pending
//! only once the family's object confirmed it; the families that did not answer are
//! retried by the object's alarm every [`REVOKE_RETRY`].
//!
//! ```
//! use edge_session::config::Policy;
//! use edge_session::messages::UserCommand;
//! use edge_session::session::{FamilyId, RevokedBy};
//! use edge_session::time::Timestamp;
//! use edge_session::users::{FamilyEntry, UserIndex};
//! let (policy, now) = (Policy::default(), Timestamp::from_secs(1_000));
//! let mut index = UserIndex::default();
//! let entry = FamilyEntry::new(FamilyId::from_bytes([1; 16]), now, false, None, None);
//! assert!(index.handle(UserCommand::Register { entry }, now, &policy).reply.accepted);
//! let handled = index.handle(UserCommand::RevokeAll { except: None, token: None }, now, &policy);
//! // A "log out everywhere" directive (no admin token): written as pending, then told.
//! assert_eq!(handled.revoke, vec![(FamilyId::from_bytes([1; 16]), RevokedBy::Everywhere)]);
//! ```

use std::time::Duration;

use super::Event;
use crate::config::Policy;
use crate::messages::{UserCommand, UserReply};
use crate::session::{FamilyId, RevokedBy};
use crate::time::Timestamp;
use crate::users::UserIndex;

/// Wait before revoking again the families that did not answer.
pub const REVOKE_RETRY: Duration = Duration::from_secs(60);

/// What one [`UserCommand`] did: the reply, whether the index must be written, and the
/// families the caller must now revoke (after writing), then report with
/// [`UserIndex::revocations_settled`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserHandled {
    /// The answer (its `revoked` and `pending` are the caller's to fill in).
    pub reply: UserReply,
    /// The index changed: write it before answering.
    pub changed: bool,
    /// Families whose objects must be told to end, now, and who asked.
    pub revoke: Vec<(FamilyId, RevokedBy)>,
    /// What to log.
    pub events: Vec<Event>,
}

/// What the caller does once the revocations it sent were answered or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationsSettled {
    /// The index changed: write it.
    pub changed: bool,
    /// Some families did not answer: arm the alarm at this time to try them again.
    pub alarm: Option<Timestamp>,
    /// What to log.
    pub events: Vec<Event>,
}

impl UserIndex {
    /// Carries out one message to the user's object.
    pub fn handle(&mut self, command: UserCommand, now: Timestamp, policy: &Policy) -> UserHandled {
        let pending_before = self.pending.clone();
        let mut events = Vec::new();
        let (reply, changed) = match command {
            UserCommand::Register { entry } => {
                let accepted = self.register(entry, now, policy);
                if !accepted && self.is_full() {
                    // Revocations are not being confirmed: logins wait until they are.
                    events.push(Event::new("index_full", vec![("pending", self.pending.len().to_string())]));
                }
                (UserReply { accepted, ..UserReply::default() }, accepted)
            }
            UserCommand::Touch { family, at, device_bound } => {
                (UserReply::default(), self.touch(family, Timestamp::from_millis(at), device_bound))
            }
            UserCommand::Unregister { family, created_at } => {
                (UserReply::default(), self.unregister(family, Timestamp::from_millis(created_at), now))
            }
            UserCommand::List => {
                let sessions = self.live_families(now, policy);
                (UserReply { sessions, ..UserReply::default() }, false)
            }
            UserCommand::Revoke { token: Some(token), .. } | UserCommand::RevokeAll { token: Some(token), .. }
                if !self.spend(&token, now) =>
            {
                (UserReply { replayed: true, ..UserReply::default() }, false)
            }
            // A spent token must be remembered even if nothing else changed.
            UserCommand::Revoke { family, token } => (UserReply::default(), self.revoke(family) || token.is_some()),
            UserCommand::RevokeAll { except, token } => {
                // With a token it is the admin API (sparing a session: "sign out other
                // devices"); without, a "log out everywhere" directive.
                let by = match (&token, except) {
                    (None, _) => RevokedBy::Everywhere,
                    (Some(_), Some(_)) => RevokedBy::Others,
                    (Some(_), None) => RevokedBy::Admin,
                };
                self.revoke_all(now, except, by);
                (UserReply::default(), true)
            }
        };
        // Whatever this command moved into `pending` is the caller's to revoke now, and
        // must be written before it does.
        let revoke: Vec<_> =
            self.pending_revocations().into_iter().filter(|(f, _)| !pending_before.contains(f)).collect();
        UserHandled { reply, changed: changed || !revoke.is_empty(), revoke, events }
    }

    /// The families' objects were told to end: `done` confirmed, `failed` did not answer.
    pub fn revocations_settled(
        &mut self,
        done: &[FamilyId],
        failed: &[FamilyId],
        now: Timestamp,
    ) -> RevocationsSettled {
        let changed = self.confirm_revoked(done);
        let events = failed.iter().map(|f| Event::new("revoke_failed", vec![("family", f.to_string())])).collect();
        let alarm = (!failed.is_empty()).then(|| now + REVOKE_RETRY);
        RevocationsSettled { changed, alarm, events }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::{FamilyEntry, MAX_FAMILIES, TokenUse};

    fn entry(n: u8, at: Timestamp) -> FamilyEntry {
        FamilyEntry::new(FamilyId::from_bytes([n; 16]), at, false, None, None)
    }

    #[test]
    fn failed_revocations_are_logged_and_retried_confirmed_ones_leave_pending() {
        let policy = Policy::default();
        let mut index = UserIndex::default();
        let t = Timestamp::from_secs(1_000);
        for n in 1..=2 {
            index.register(entry(n, t), t, &policy);
        }
        let [one, two] = [1, 2].map(|n| FamilyId::from_bytes([n; 16]));
        let handled = index.handle(UserCommand::RevokeAll { except: None, token: None }, t, &policy);
        assert_eq!(handled.revoke, vec![(one, RevokedBy::Everywhere), (two, RevokedBy::Everywhere)]);
        let settled = index.revocations_settled(&[one], &[two], t);
        assert!(settled.changed);
        assert_eq!(settled.alarm, Some(t + REVOKE_RETRY));
        assert_eq!(settled.events, vec![Event::new("revoke_failed", vec![("family", two.to_string())])]);
        assert_eq!(index.pending, vec![two]);
        let quiet = index.revocations_settled(&[two], &[], t);
        assert!(quiet.changed && quiet.alarm.is_none() && quiet.events.is_empty());
    }

    /// A revocation the index answered as pending is never dropped, however many pile
    /// up; logins are refused instead, and come back once revocations are confirmed.
    #[test]
    fn pending_revocations_are_never_dropped_and_a_full_index_refuses_logins() {
        let policy = Policy::default();
        let mut index = UserIndex::default();
        let t = Timestamp::from_secs(1_000);
        let id = |n: usize| {
            FamilyId::from_bytes([(n % 256) as u8, (n / 256) as u8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
        };
        let mut revoked = Vec::new();
        for round in 0..3 {
            for n in 0..MAX_FAMILIES {
                let e = FamilyEntry::new(id(round * MAX_FAMILIES + n), t + Duration::from_millis(1), false, None, None);
                let accepted = index.register(e, t + Duration::from_millis(1), &policy);
                assert_eq!(accepted, round < 2, "round {round}, login {n}");
            }
            revoked.extend(index.revoke_all(t, None, RevokedBy::Everywhere));
            // Each round's logins come after the last revoke-all.
            index.revoked_before = None;
        }
        assert_eq!(revoked.len(), 2 * MAX_FAMILIES);
        assert_eq!(index.pending, revoked, "every revocation still pending, none dropped");
        let refused = index.handle(UserCommand::Register { entry: entry(9, t) }, t, &policy);
        assert!(!refused.reply.accepted);
        assert_eq!(refused.events, vec![Event::new("index_full", vec![("pending", "400".into())])]);
        assert!(index.confirm_revoked(&revoked[..10]));
        assert!(index.register(entry(9, t), t, &policy), "room again once objects confirm");
    }

    #[test]
    fn revocations_stay_pending_until_confirmed_or_ended() {
        let policy = Policy::default();
        let mut index = UserIndex::default();
        let t = Timestamp::from_secs(1_000);
        for n in 1..=3 {
            index.register(entry(n, t), t, &policy);
        }
        let [one, two, three] = [1, 2, 3].map(|n| FamilyId::from_bytes([n; 16]));
        let handled = index.handle(UserCommand::RevokeAll { except: None, token: None }, t, &policy);
        assert_eq!(handled.revoke.iter().map(|(f, _)| *f).collect::<Vec<_>>(), vec![one, two, three]);
        assert!(index.confirm_revoked(&[one]));
        // A family whose object is deleted is certainly ended.
        assert!(index.unregister(two, t, t));
        assert_eq!(index.pending, vec![three], "still to be revoked");
        let again = index.handle(UserCommand::RevokeAll { except: None, token: None }, t, &policy);
        assert!(again.revoke.is_empty(), "a pending family is not handed out twice");
    }

    #[test]
    fn an_admin_token_revokes_once() {
        let policy = Policy::default();
        let mut index = UserIndex::default();
        let t = Timestamp::from_secs(1_000);
        let token = TokenUse { jti: "token-1".into(), valid_until: (t + Duration::from_secs(90)).as_millis() };
        let revoke_all = || UserCommand::RevokeAll { except: None, token: Some(token.clone()) };
        index.register(entry(1, t), t, &policy);
        assert_eq!(
            index.handle(revoke_all(), t, &policy).revoke,
            vec![(FamilyId::from_bytes([1; 16]), RevokedBy::Admin)]
        );
        // A login after it; the same token replayed within its life reaches nothing.
        let later = t + Duration::from_secs(30);
        index.register(entry(2, later), later, &policy);
        let replay = index.handle(revoke_all(), later, &policy);
        assert!(replay.reply.replayed && replay.revoke.is_empty() && !replay.changed);
        assert_eq!(index.live_families(later, &policy).len(), 1);
        // Past its life the jti is forgotten (the token itself no longer verifies).
        let expired = t + Duration::from_secs(91);
        assert!(index.spend(&TokenUse { jti: "token-2".into(), valid_until: expired.as_millis() + 1 }, expired));
        assert_eq!(index.spent.len(), 1, "token-1 forgotten");
    }

    #[test]
    fn sign_out_other_devices_is_told_apart_from_an_operators_revocation() {
        let policy = Policy::default();
        let t = Timestamp::from_secs(1_000);
        let token =
            |jti: &str| Some(TokenUse { jti: jti.into(), valid_until: (t + Duration::from_secs(90)).as_millis() });
        let mine = FamilyId::from_bytes([1; 16]);
        let mut index = UserIndex::default();
        index.register(entry(1, t), t, &policy);
        index.register(entry(2, t), t, &policy);
        let others = index.handle(UserCommand::RevokeAll { except: Some(mine), token: token("a") }, t, &policy);
        assert_eq!(others.revoke, vec![(FamilyId::from_bytes([2; 16]), RevokedBy::Others)]);
        let all = index.handle(UserCommand::RevokeAll { except: None, token: token("b") }, t, &policy);
        assert_eq!(all.revoke, vec![(mine, RevokedBy::Admin)]);
    }
}
