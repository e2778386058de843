//! The family state machine: every rotation rule (docs/design.md §3), decided one request
//! at a time.
//!
//! A [`Family`] is all credentials descended from one login. Its Durable Object holds
//! it and calls [`Family::handle_refresh`] for each refresh credential presented, one
//! at a time; the rotation and the grace alias are therefore one atomic decision (Pow
//! #435, scenario S4). Each [`Decision`] says who the request is, which cookies to
//! set, whether the durable state changed, and when the family stops being usable (the
//! alarm deadline). Time and fresh secrets are arguments: the core never reads a clock or
//! draws randomness.
//!
//! ```
//! use edge_session::config::Policy;
//! use edge_session::session::{Family, FamilyId, Identity, Outcome, RefreshSecret, SessionState};
//! use edge_session::time::Timestamp;
//! use std::time::Duration;
//!
//! let policy = Policy::default();
//! let t0 = Timestamp::from_secs(1_700_000_000);
//! let alice = Identity { sub: "alice".into(), ctx: None, auth_time: None, amr: None };
//! let (mut family, login) =
//!     Family::login(FamilyId::from_bytes([1; 16]), alice, false, t0, RefreshSecret::from_bytes([2; 32]), &policy);
//! let g1 = login.refresh.unwrap();
//! let later = t0 + policy.rotate_after;
//! let d = family.handle_refresh(&g1, later, &policy, RefreshSecret::from_bytes([3; 32]));
//! let Outcome::Authenticated(grant) = d.outcome else { panic!() };
//! assert_eq!(grant.state, SessionState::Rotated);
//! // A racing tab still holding g1, a moment later: same user, handed the new credential.
//! let d = family.handle_refresh(&g1, later + Duration::from_millis(100), &policy, RefreshSecret::from_bytes([4; 32]));
//! let Outcome::Authenticated(alias) = d.outcome else { panic!() };
//! assert_eq!(alias.state, SessionState::GraceAlias);
//! assert_eq!(alias.refresh, grant.refresh);
//! ```

use std::time::Duration;

use super::credential::{FamilyId, Identity, RefreshCredential, RefreshSecret, SecretDigest};
use crate::config::{OnReuse, Policy};
use crate::crypto::es256::PublicKey;
use crate::time::Timestamp;

/// How the origin is told the request was identified (`X-Edge-Session-State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SessionState {
    /// The current credential, or a valid access cookie.
    Fresh,
    /// This request rotated the family to a new generation.
    Rotated,
    /// A just-retired credential inside the grace window: answered as the same user.
    GraceAlias,
    /// A retired credential whose successor was never presented: its response was lost.
    Recovered,
}

impl SessionState {
    /// The `X-Edge-Session-State` value.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Fresh => "fresh",
            SessionState::Rotated => "rotated",
            SessionState::GraceAlias => "grace",
            SessionState::Recovered => "recovered",
        }
    }
}

/// Why a refresh credential earned no identity (the request goes on anonymous).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Refusal {
    /// No such family (never existed, or deleted after it ended).
    UnknownFamily,
    /// Revoked by logout or by reuse detection.
    Revoked,
    /// Past the idle timeout or the absolute lifetime.
    Expired,
    /// A generation this family never issued: its state was lost or rolled back.
    /// Logged; the family is kept.
    FutureGeneration,
    /// The family is bound to a device key (DBSC): its refresh cookie alone identifies no
    /// one, and it never counts as reuse. A copied cookie jar in use; logged.
    DeviceBound,
}

/// An identity granted to a request, and the credentials to hand it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The family.
    pub family: FamilyId,
    /// Who the request is.
    pub identity: Identity,
    /// How it was identified.
    pub state: SessionState,
    /// The refresh credential to set, when this answer hands one out.
    pub refresh: Option<RefreshCredential>,
    /// Until when a "remember me" refresh cookie should live; `None` for a session cookie.
    pub remember_until: Option<Timestamp>,
    /// The family's deadline as of this answer (idle or absolute): no access credential
    /// handed out with it may outlive it, so a revocation by expiry is never late.
    pub until: Timestamp,
    /// When the family refreshed from another context, flagged (`ON_CONTEXT_CHANGE=flag`).
    pub context_changed: Option<Timestamp>,
}

/// What a presented refresh credential amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
// One per decision, moved once and never stored in bulk: boxing the grant buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// The request is this user.
    Authenticated(Grant),
    /// No identity: the request goes on anonymous.
    Refused(Refusal),
    /// A retired credential outside every window, or a wrong secret: a stolen copy is
    /// in play (RFC 9700 §4.14.2). `revoked` says whether the family was revoked.
    ReuseDetected {
        /// Whether the family was revoked.
        revoked: bool,
    },
}

/// The result of one decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What the credential amounts to.
    pub outcome: Outcome,
    /// The durable state changed and must be written before answering.
    pub persist: bool,
    /// When the family stops being usable; the alarm deletes it then.
    pub deadline: Timestamp,
    /// The login offered device binding (DBSC) and the browser came back without
    /// binding: reported once per family (`dbsc_not_registered`), so a downgrade (a
    /// sibling stripping the registration, a browser that lost it) shows on a dashboard.
    pub dbsc_not_registered: bool,
    /// Tell the user's index the family's `last_seen` ([`Family::index_due`]).
    pub touch_index: bool,
}

/// The state of one session family (docs/design.md §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    pub(crate) id: FamilyId,
    pub(crate) identity: Identity,
    pub(crate) remember: bool,
    pub(crate) created_at: Timestamp,
    /// Moved when the family is written anyway, else once it is a step (a tenth of the
    /// idle timeout) behind, so a steady stream of requests writes at most once per step;
    /// the idle deadline adds the step back, so it is late by at most the step, never early.
    pub(crate) last_seen: Timestamp,
    /// When the user's index was last told `last_seen` ([`Family::index_due`]).
    pub(crate) index_seen: Timestamp,
    pub(crate) generation: u64,
    /// Kept (not only hashed) so it can be re-delivered to racing or recovering requests.
    pub(crate) secret: RefreshSecret,
    /// When `generation` was issued: the login or the rotation that made it.
    pub(crate) issued_at: Timestamp,
    /// When `generation` was first presented back; `None` while unconfirmed.
    pub(crate) confirmed_at: Option<Timestamp>,
    /// When `generation` was last handed out. Lives in memory only (a re-delivery does
    /// not write), so a family loaded from storage must be [woken](Family::wake).
    pub(crate) delivered_at: Timestamp,
    /// Digest of generation − 1's secret, retired at `issued_at`.
    pub(crate) previous: Option<SecretDigest>,
    pub(crate) revoked: bool,
    /// The browser key the family is bound to (DBSC), once it registered one.
    pub(crate) device_key: Option<PublicKey>,
    /// When the last challenge a device proof spent was issued: a challenge issued no
    /// later than this is spent, so each one is good for one proof.
    pub(crate) challenge_floor: Timestamp,
    /// When that challenge was spent: the same proof may come again for `GRACE_SECS`
    /// (a retried registration, racing refreshes; crate::session::device).
    pub(crate) challenge_spent_at: Timestamp,
    /// The login response offered device binding (DBSC), and the family has neither bound
    /// nor been reported as not binding yet.
    pub(crate) binding_offered: bool,
    /// When it last refreshed from another context (crate::events::context_changed) under
    /// `ON_CONTEXT_CHANGE=flag`: every credential it grants from then on carries the time
    /// to the origin, which can ask for the password again before a sensitive action.
    pub(crate) context_changed: Option<Timestamp>,
    /// When the current generation was last really handed out: `delivered_at` without
    /// the object's [wake](Family::wake), in memory (a stored family starts from the
    /// stored `delivered_at`). A step-up's hold is judged by it.
    pub(crate) handed_out_at: Timestamp,
    /// Loaded from storage ([`Family::wake`]): re-deliveries before it are unknown.
    pub(crate) woken: bool,
    /// The current generation's secret before a step-up replaced it in place, while that
    /// generation lasts: its holders are the session's, from before the step-up.
    pub(crate) replaced: Option<SecretDigest>,
    /// The step-up that raised the session's `auth_time`, for the credentials issued
    /// since ([`Family::step_up`]).
    pub(crate) elevation: Option<Elevation>,
}

/// A step-up: the `auth_time` and `amr` it proved, and the first generation it applies
/// to. Only a credential issued by the step-up or after it carries them; presenting one
/// from before ends it (the session's `auth_time` falls back to its login's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elevation {
    /// The generation the step-up issued (or replaced in place).
    pub from: u64,
    /// When the user proved who they are, Unix seconds.
    pub auth_time: u64,
    /// How (the directive's `amr`).
    pub amr: Option<Vec<String>>,
}

/// Read-only views of the state, for the objects that hold a family and for tests.
impl Family {
    /// The family's id (`sid` to the origin).
    pub fn id(&self) -> FamilyId {
        self.id
    }

    /// Who the family belongs to.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Whether the login asked for "remember me".
    pub fn remember(&self) -> bool {
        self.remember
    }

    /// When the login created it.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// When a credential of it was last accepted, coarsened to a minute at most.
    pub fn last_seen(&self) -> Timestamp {
        self.last_seen
    }

    /// The current generation: 1 at login, one more per rotation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// When the current generation was issued.
    pub fn issued_at(&self) -> Timestamp {
        self.issued_at
    }

    /// When the current generation was first presented back; `None` while unconfirmed.
    pub fn confirmed_at(&self) -> Option<Timestamp> {
        self.confirmed_at
    }

    /// When the current generation was last handed out (in memory only).
    pub fn delivered_at(&self) -> Timestamp {
        self.delivered_at
    }

    /// The digest of the previous generation's secret, if there was one.
    pub fn previous(&self) -> Option<SecretDigest> {
        self.previous
    }

    /// Revoked by logout, a replacing login, or reuse detection.
    pub fn is_revoked(&self) -> bool {
        self.revoked
    }

    /// The device key the family is bound to, if it registered one (DBSC).
    pub fn device_key(&self) -> Option<&PublicKey> {
        self.device_key.as_ref()
    }

    /// When it last refreshed from another context, flagged (`ON_CONTEXT_CHANGE=flag`).
    pub fn context_changed(&self) -> Option<Timestamp> {
        self.context_changed
    }

    /// The step-up in force, if any ([`Family::step_up`]).
    pub fn elevation(&self) -> Option<&Elevation> {
        self.elevation.as_ref()
    }
}

impl Family {
    /// A new family at generation 1. A login always creates a new family (no session
    /// fixation); the caller revokes any family the login request itself presented.
    pub fn login(
        id: FamilyId,
        identity: Identity,
        remember: bool,
        now: Timestamp,
        secret: RefreshSecret,
        policy: &Policy,
    ) -> (Family, Grant) {
        let family = Family {
            id,
            identity,
            remember,
            created_at: now,
            last_seen: now,
            index_seen: now,
            generation: 1,
            secret,
            issued_at: now,
            confirmed_at: None,
            delivered_at: now,
            handed_out_at: now,
            woken: false,
            previous: None,
            revoked: false,
            device_key: None,
            challenge_floor: Timestamp::from_millis(0),
            challenge_spent_at: Timestamp::from_millis(0),
            binding_offered: false,
            context_changed: None,
            replaced: None,
            elevation: None,
        };
        let grant = family.grant(policy, SessionState::Fresh, true);
        (family, grant)
    }

    /// The login response offered this family device binding (DBSC). If its browser comes
    /// back without binding, the decision says so once ([`Decision::dbsc_not_registered`]).
    pub fn offer_device_binding(&mut self) {
        self.binding_offered = true;
    }

    /// It refreshed from another context at `now` (`ON_CONTEXT_CHANGE=flag`): `grant`, the
    /// refresh's own, and every later one carry the time. The caller writes the family.
    pub fn flag_context_change(&mut self, now: Timestamp, grant: &mut Grant) {
        self.context_changed = Some(now);
        grant.context_changed = Some(now);
    }

    /// Decides one presented refresh credential (of this family) at `now`. `fresh` is
    /// the secret a rotation would issue; it is unused otherwise.
    pub fn handle_refresh(
        &mut self,
        presented: &RefreshCredential,
        now: Timestamp,
        policy: &Policy,
        fresh: RefreshSecret,
    ) -> Decision {
        let mut persist = false;
        let mut outcome = self.decide(presented, now, policy, fresh, &mut persist);
        let mut dbsc_not_registered = false;
        if let Outcome::Authenticated(grant) = &mut outcome {
            // Written anyway (a confirmation, a rotation), or a step behind: `last_seen`
            // moves to now.
            if persist || now >= self.last_seen + self.last_seen_step(policy) {
                self.last_seen = now;
                persist = true;
            }
            grant.until = self.deadline(policy);
            // Its refresh cookie identified it, so it is unbound: the browser has had the
            // registration offer since the login response, and did not take it.
            if self.binding_offered {
                self.binding_offered = false;
                dbsc_not_registered = true;
                persist = true;
            }
        }
        let touch_index = persist && matches!(outcome, Outcome::Authenticated(_)) && self.index_due(now, policy);
        Decision { outcome, persist, deadline: self.deadline(policy), dbsc_not_registered, touch_index }
    }

    fn decide(
        &mut self,
        presented: &RefreshCredential,
        now: Timestamp,
        policy: &Policy,
        fresh: RefreshSecret,
        persist: &mut bool,
    ) -> Outcome {
        // The shell routes by family id; a credential of another family is not ours to
        // judge (counting its secret as "wrong" would revoke an innocent family).
        if presented.family != self.id {
            return Outcome::Refused(Refusal::UnknownFamily);
        }
        *persist |= self.end_if_killed(policy);
        if self.revoked {
            return Outcome::Refused(Refusal::Revoked);
        }
        if now >= self.deadline(policy) {
            return Outcome::Refused(Refusal::Expired);
        }
        // Bound: only a proof from the device's key refreshes it (crate::dbsc). A copied
        // refresh cookie must neither identify nor disturb the family, so no reuse check.
        if self.device_key.is_some() {
            return Outcome::Refused(Refusal::DeviceBound);
        }
        let p = presented.generation;
        let g = self.generation;
        if p > g {
            return Outcome::Refused(Refusal::FutureGeneration);
        }
        let digest = presented.secret.digest();
        // A credential from before the step-up (a racing tab, a lost step-up response, or a
        // jar copied earlier: they cannot be told apart) ends it before anything is decided,
        // so nothing it is granted, re-delivered or recovered carries the step-up.
        if self.elevation.as_ref().is_some_and(|e| p < e.from || (p == e.from && self.replaced == Some(digest))) {
            self.elevation = None;
            *persist = true;
        }
        if p == g && presented.secret == self.secret {
            if self.confirmed_at.is_none() {
                self.confirmed_at = Some(now);
                *persist = true;
            }
            let due = now.since(self.issued_at) >= policy.rotate_after;
            // Hold: never rotate while g may still be on its way to the browser, so every
            // response carrying g lands before g+1 exists (jar monotonicity, S10).
            let held = now.since(self.delivered_at) < policy.grace;
            if !due || held {
                return Outcome::Authenticated(self.grant(policy, SessionState::Fresh, false));
            }
            self.rotate(now, fresh);
            *persist = true;
            return Outcome::Authenticated(self.grant(policy, SessionState::Rotated, true));
        }
        // The retired credentials: the previous generation, and the current one under the
        // secret a step-up replaced (it was current until then), with the same windows.
        let retired = (p + 1 == g && self.previous == Some(digest)) || (p == g && self.replaced == Some(digest));
        if retired {
            // Grace counts from the later of the rotation and the first use of g: requests
            // created before the browser absorbed g can wait in its queue (S8, S11).
            let anchor = self.confirmed_at.map_or(self.issued_at, |c| c.max(self.issued_at));
            if now.since(anchor) < policy.grace {
                self.delivered_at = now;
                self.handed_out_at = now;
                return Outcome::Authenticated(self.grant(policy, SessionState::GraceAlias, true));
            }
            // g never came back: the rotating response was lost (S2); re-deliver it.
            if self.confirmed_at.is_none() && now.since(self.issued_at) < policy.recovery {
                self.delivered_at = now;
                self.handed_out_at = now;
                return Outcome::Authenticated(self.grant(policy, SessionState::Recovered, true));
            }
        }
        // Anything else is a copy used after its owner moved on (S5, S9).
        let revoke = policy.on_reuse == OnReuse::Revoke;
        if revoke {
            self.revoked = true;
            *persist = true;
        }
        Outcome::ReuseDetected { revoked: revoke }
    }

    fn rotate(&mut self, now: Timestamp, fresh: RefreshSecret) {
        self.previous = Some(self.secret.digest());
        self.generation += 1;
        self.secret = fresh;
        self.issued_at = now;
        self.confirmed_at = None;
        self.delivered_at = now;
        self.handed_out_at = now;
        self.replaced = None;
    }

    /// The user proved who they are again at `now` (the origin's step-up directive, by
    /// `amr`): the session's `auth_time` moves to now, for the credential this answer
    /// hands out and those issued after it only. A credential from before (a racing tab,
    /// a lost response, or a cookie jar copied earlier, which cannot be told apart) never
    /// carries it, and presenting one ends the step-up. The family keeps its id, its place
    /// in "your devices" and its device key.
    ///
    /// The credential changes without a new generation while the current one was never
    /// presented back (rotating past it would leave a lost response's holder two
    /// generations behind, which is reuse), by a rotation otherwise. When the current
    /// generation was handed out less than `GRACE_SECS` ago (the hold, S10), a response
    /// carrying it may still land after this one and put it back in the owner's jar, so
    /// nothing durable changes: the step-up lives in this answer's access cookie alone. A
    /// bound family (DBSC) needs no new credential: only its device refreshes it.
    /// `None` when the family can no longer be used. Persist after.
    pub fn step_up(
        &mut self,
        amr: Option<Vec<String>>,
        now: Timestamp,
        policy: &Policy,
        fresh: RefreshSecret,
    ) -> Option<Grant> {
        self.end_if_killed(policy);
        if self.revoked || now >= self.deadline(policy) {
            return None;
        }
        self.last_seen = now; // it is written
        // Never backwards: a clock that stepped back must not make an old proof look newer.
        let before = self.elevation.as_ref().map_or(self.identity.auth_time, |e| Some(e.auth_time));
        let auth_time = now.as_secs().max(before.unwrap_or(0));
        let held = self.step_up_held(now, policy);
        let state = if self.device_key.is_some() {
            SessionState::Fresh
        } else if held {
            let elevated = Elevation { from: self.generation, auth_time, amr };
            let mut grant = self.grant(policy, SessionState::Fresh, false);
            grant.identity = elevated.applied_to(&self.identity);
            return Some(grant);
        } else if self.confirmed_at.is_none() {
            // Like a rotation, but g-1 stays the previous generation: its holder may be the
            // owner, whose rotating response was lost, and recovery still answers it.
            self.replaced = Some(self.secret.digest());
            self.secret = fresh;
            self.issued_at = now;
            self.delivered_at = now;
            self.handed_out_at = now;
            SessionState::Rotated
        } else {
            self.rotate(now, fresh);
            SessionState::Rotated
        };
        self.elevation = Some(Elevation { from: self.generation, auth_time, amr });
        Some(self.grant(policy, state, state == SessionState::Rotated))
    }

    /// The family was just loaded from storage. Its object may have been reset (every
    /// deploy and crash resets every object) while responses carrying the current
    /// generation were still on their way, and `delivered_at` was in memory only: treat
    /// the generation as handed out now, so the hold keeps it from rotating for
    /// `GRACE_SECS` after the object wakes. Otherwise a late response could push a jar
    /// back a generation after the next rotation (S10), and that is read as theft.
    pub fn wake(&mut self, now: Timestamp) {
        self.delivered_at = self.delivered_at.max(now);
        self.woken = true;
    }

    /// Whether a step-up must not hand out a new credential now (it then lives in its
    /// answer's access cookie alone), because the owner could lose the session:
    /// - the current credential was handed out less than `GRACE_SECS` ago: a response
    ///   carrying it may land after the step-up's and push the new one out (S10);
    /// - a retired credential's grace is open: its holder, a queued tab, would be two
    ///   generations behind after another rotation, which is reuse;
    /// - a secret a step-up replaced has a successor never presented: that answer may be
    ///   lost, and a second replacement would leave the first secret unrecoverable;
    /// - the object woke from storage while a re-delivery, which is never written, could
    ///   have been made before and still be landing.
    fn step_up_held(&self, now: Timestamp, policy: &Policy) -> bool {
        let retired = self.previous.is_some() || self.replaced.is_some();
        let unconfirmed = self.confirmed_at.is_none();
        let anchor = self.confirmed_at.map_or(self.issued_at, |c| c.max(self.issued_at));
        let redelivery_landing = now.since(anchor) < policy.grace * 2
            || (unconfirmed && now.since(self.issued_at) < policy.recovery + policy.grace);
        now.since(self.handed_out_at) < policy.grace
            || (retired && now.since(anchor) < policy.grace)
            || (self.replaced.is_some() && unconfirmed)
            || (self.woken && retired && redelivery_landing)
    }

    /// Ends the family (logout, or a login that replaced it). Persist afterwards.
    pub fn revoke(&mut self) {
        self.revoked = true;
    }

    /// When the family can no longer be used: now if revoked or created before the kill
    /// switch (`SESSIONS_NOT_BEFORE`), else the earlier of its absolute lifetime and its
    /// idle timeout (`REMEMBER_*` for "remember me").
    pub fn deadline(&self, policy: &Policy) -> Timestamp {
        if self.revoked || self.killed(policy) {
            return Timestamp::from_millis(0);
        }
        let (lifetime, idle) = if self.remember {
            (policy.remember_lifetime, policy.remember_idle_timeout)
        } else {
            (policy.session_lifetime, policy.idle_timeout)
        };
        (self.created_at + lifetime).min(self.last_seen + idle + self.last_seen_step(policy))
    }

    /// Created before the operator's kill switch: ended, whatever its state says.
    fn killed(&self, policy: &Policy) -> bool {
        self.created_at < policy.not_before
    }

    /// A family the kill switch ended is revoked for good the first time it is seen, so
    /// that lowering or removing the switch later revives nothing. `true` when this call
    /// revoked it: write the family (its alarm then deletes it).
    pub fn end_if_killed(&mut self, policy: &Policy) -> bool {
        let ends = self.killed(policy) && !self.revoked;
        self.revoked |= ends;
        ends
    }

    /// How far `last_seen` may lag the last use before it is written: a tenth of the
    /// family's idle limit. The idle deadline adds it back, so a session ends at most a
    /// tenth of its idle limit late, and never early.
    fn last_seen_step(&self, policy: &Policy) -> Duration {
        let idle = if self.remember { policy.remember_idle_timeout } else { policy.idle_timeout };
        idle / 10
    }

    /// The family is being written at `now`: whether the user's index ("your devices")
    /// should hear of its `last_seen` too. At most every half `IDLE_TIMEOUT_SECS`, and
    /// at least every 15 minutes (as at the defaults), whatever the family's own idle
    /// limit: told with every family write, the index would cost as many writes again
    /// (docs/cost.md). `true` marks it told.
    pub fn index_due(&mut self, now: Timestamp, policy: &Policy) -> bool {
        let step = (policy.idle_timeout / 2).min(Duration::from_secs(15 * 60));
        let due = now >= self.index_seen + step;
        if due {
            self.index_seen = now;
        }
        due
    }

    /// The refresh credential of the current generation.
    pub fn current_credential(&self) -> RefreshCredential {
        RefreshCredential { family: self.id, generation: self.generation, secret: self.secret.clone() }
    }

    pub(crate) fn grant(&self, policy: &Policy, state: SessionState, with_refresh: bool) -> Grant {
        let identity = match &self.elevation {
            Some(elevation) => elevation.applied_to(&self.identity),
            None => self.identity.clone(),
        };
        Grant {
            family: self.id,
            identity,
            state,
            refresh: with_refresh.then(|| self.current_credential()),
            remember_until: self.remember.then(|| self.created_at + policy.remember_lifetime),
            until: self.deadline(policy),
            context_changed: self.context_changed,
        }
    }
}

impl Elevation {
    /// The session's identity as this step-up proved it.
    pub fn applied_to(&self, identity: &Identity) -> Identity {
        Identity { auth_time: Some(self.auth_time), amr: self.amr.clone(), ..identity.clone() }
    }
}

/// The slow rule: a refresh value decided at `decided_at` may be set on a
/// response only within `grace` of that decision. A later response could push the
/// browser back a generation (S10); recovery re-delivers the value if nobody else did.
pub fn may_set_refresh(decided_at: Timestamp, now: Timestamp, policy: &Policy) -> bool {
    now.since(decided_at) < policy.grace
}
