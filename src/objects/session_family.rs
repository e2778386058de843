//! One session family's Durable Object, as a state machine over its messages.
//!
//! [`FamilyObject`] is the object's memory: the family it holds, if any. Each
//! [`FamilyCommand`] is decided at once, with no `await` between reading the state and
//! the decision, so two racing requests can never both rotate (scenario S3), and a
//! rotation and its grace alias are one decision (S4). What changed is handed back as the
//! row to write; the state stays in memory between requests.
//!
//! ```
//! use edge_session::config::Config;
//! use edge_session::messages::{FamilyCommand, Verdict};
//! use edge_session::objects::FamilyObject;
//! use edge_session::session::{FamilyId, RefreshSecret};
//! use edge_session::time::Timestamp;
//! let config = Config::from_vars(|name| match name {
//!     "SESSION_KEYS" => Some("k1:0123456789abcdef0123456789abcdef".into()),
//!     "ORIGIN_SECRET" => Some("o1:fedcba9876543210fedcba9876543210".into()),
//!     _ => None,
//! }).unwrap();
//! let now = Timestamp::from_secs(1_700_000_000);
//! let mut object = FamilyObject::loaded(None, now);
//! let login = FamilyCommand::Login { family: FamilyId::from_bytes([1; 16]), sub: "ada".into(), ctx: None, remember: false, dbsc_offered: false, context: None, amr: None, auth_time: None };
//! let handled = object.handle(login, now, &config, RefreshSecret::from_bytes([2; 32])).unwrap();
//! assert!(matches!(handled.verdict, Verdict::Granted { .. }) && handled.row.is_some());
//! // A second logout is harmless: nothing to write.
//! assert!(object.handle(FamilyCommand::Logout, now, &config, RefreshSecret::from_bytes([3; 32])).unwrap().row.is_some());
//! assert!(object.handle(FamilyCommand::Logout, now, &config, RefreshSecret::from_bytes([4; 32])).unwrap().row.is_none());
//! ```

use std::fmt;
use std::time::Duration;

use super::Event;
use super::family_events::{ContextVerdict, Reporter};
use crate::config::{Config, Policy};
use crate::crypto::jws::CLOCK_SKEW;
use crate::dbsc::Proof;
use crate::dbsc::challenge::{self, Purpose};
use crate::events::{Delivery, Dropped, FamilyEvents, Transport};
use crate::messages::{FamilyCommand, UserCommand, Verdict};
use crate::session::{
    Decision, DeviceRefusal, Family, Grant, GrantCookies, Identity, Outcome, RefreshCredential, RefreshSecret, Refusal,
    RevokedBy, SessionState, family_row,
};
use crate::time::Timestamp;
use crate::users::outlived;

/// Wait before asking an unreachable user index again to unregister an ended family.
const UNREGISTER_RETRY: Duration = Duration::from_secs(60);

/// A refresh cookie the worker verified and this object cannot: the two hold different
/// `SESSION_KEYS` (a deploy in progress). An error, so the worker answers 503 and does not
/// remember the family as ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnverifiableCookie;

impl fmt::Display for UnverifiableCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("refresh cookie does not verify with this object's SESSION_KEYS")
    }
}

impl std::error::Error for UnverifiableCookie {}

/// What one command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyHandled {
    /// The answer to the worker.
    pub verdict: Verdict,
    /// The family's storage row to write before answering, when the durable state changed.
    /// If that write fails, drop the [`FamilyObject`]: its memory holds a decision storage
    /// does not, and the next command must reload what is durable (the caller answers
    /// 503, so no client saw the decision).
    pub row: Option<String>,
    /// The family's events row (crate::events) to write with `row`, in the same
    /// synchronous step: a decision is never durable without its event.
    pub events_row: Option<String>,
    /// Arm the alarm at this time once the rows are written: the family's deadline (now,
    /// for a revoked family), or sooner to deliver an event.
    pub alarm: Option<Timestamp>,
    /// Events the full outbox dropped: log and count them.
    pub dropped: Vec<Dropped>,
    /// What to log.
    pub events: Vec<Event>,
    /// Report `dbsc_not_registered` to the worker's counters
    /// ([`Decision::dbsc_not_registered`]).
    pub dbsc_not_registered: bool,
    /// Tell the user's index the family's `last_seen` ([`Family::index_due`]).
    pub touch_index: bool,
}

/// What the alarm should do first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmStep {
    /// No family here: nothing to do.
    Nothing,
    /// The family can still be used: come back at its deadline.
    RearmAt(Timestamp),
    /// The family has ended: tell its user's index (this message to the object of `sub`),
    /// then report with [`FamilyObject::after_unregister`].
    Unregister {
        /// Whose index.
        sub: String,
        /// The message to send it.
        command: UserCommand,
        /// Write this row first: the kill switch ended the family, and should the index be
        /// unreachable, the family kept for a retry must stay ended whatever the switch
        /// says by then.
        row: Option<String>,
    },
}

/// What the alarm does once the index was told (or could not be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterUnregister {
    /// Delete all storage; memory already holds no family.
    Delete,
    /// Delete the family's row but keep its undelivered events, and come back at `at` to
    /// deliver them: a family's end never loses what it reported.
    KeepEvents {
        /// The next delivery attempt.
        at: Timestamp,
    },
    /// Keep the (unusable) family and try again at this time, logging `event`.
    RetryAt {
        /// When to try again.
        at: Timestamp,
        /// What to log now.
        event: Event,
    },
}

/// The memory of one family's object: the family it holds, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyObject {
    family: Option<Family>,
    events: FamilyEvents,
}

impl FamilyObject {
    /// The object's memory, from what its storage holds (`None`: no family). A loaded
    /// family is [woken](Family::wake): the hold survives a restart.
    pub fn loaded(stored: Option<Family>, now: Timestamp) -> FamilyObject {
        let family = stored.map(|mut family| {
            family.wake(now);
            family
        });
        FamilyObject { family, events: FamilyEvents::default() }
    }

    /// The object's memory, with what its storage holds for events.
    pub fn with_events(mut self, events: FamilyEvents) -> FamilyObject {
        self.events = events;
        self
    }

    /// The family held, if any.
    pub fn family(&self) -> Option<&Family> {
        self.family.as_ref()
    }

    /// What the object keeps for events: the outbox, the last device seen.
    pub fn events(&self) -> &FamilyEvents {
        &self.events
    }

    /// Decides one command at `now`. `fresh` is the secret a rotation or a login would
    /// issue; it is unused otherwise.
    pub fn handle(
        &mut self,
        command: FamilyCommand,
        now: Timestamp,
        config: &Config,
        fresh: RefreshSecret,
    ) -> Result<FamilyHandled, UnverifiableCookie> {
        let policy = &config.policy;
        let FamilyObject { family: slot, events } = self;
        let mut report = Reporter::new(events, config, now);
        let mut handled = match command {
            FamilyCommand::Refresh { cookie, skipped, context } => {
                let Some(family) = slot.as_mut() else {
                    return Ok(answer(Verdict::Refused { refusal: Refusal::UnknownFamily }));
                };
                // Checked again here: the object trusts nothing the worker relays.
                let presented =
                    RefreshCredential::decode(&cookie, &config.session_keys).map_err(|_| UnverifiableCookie)?;
                let mut decision = family.handle_refresh(&presented, now, policy, fresh);
                let (mut persist, mut ended) = (decision.persist, false);
                match &mut decision.outcome {
                    Outcome::Authenticated(grant) => match report.refreshed(family, context.as_ref()) {
                        ContextVerdict::Carry => {}
                        ContextVerdict::Flag => {
                            family.flag_context_change(now, grant);
                            persist = true;
                        }
                        ContextVerdict::End => {
                            family.revoke();
                            report.revoked(family, RevokedBy::ContextChanged);
                            (persist, ended) = (true, true);
                        }
                    },
                    Outcome::ReuseDetected { revoked } => report.reuse_detected(family, context.as_ref(), *revoked),
                    // The owner's browser would have proved its key: a copied cookie jar.
                    // One that says it skipped is reported too, with its reason: the header
                    // is the client's to send, so it must not silence a thief.
                    Outcome::Refused(Refusal::DeviceBound) => {
                        report.copied_jar(family, context.as_ref(), skipped.as_deref())
                    }
                    Outcome::Refused(_) => {}
                }
                let (mut verdict, events) = verdict_for(&decision, family, config, now, skipped.as_deref());
                if ended {
                    verdict = Verdict::Refused { refusal: Refusal::Revoked };
                }
                let mut handled = if persist { written(verdict, family, policy, now) } else { answer(verdict) };
                handled.events = events;
                handled.dbsc_not_registered = decision.dbsc_not_registered;
                handled.touch_index = decision.touch_index && !ended;
                handled
            }
            FamilyCommand::Login { family: id, sub, ctx, remember, dbsc_offered, context, amr, auth_time } => {
                if slot.is_some() {
                    // 128 random bits never collide: this is a replayed or forged login
                    // message. Refuse it rather than overwrite a live family.
                    return Ok(answer(Verdict::Refused { refusal: Refusal::Revoked }));
                }
                // Authenticated now, by the object's clock, unless the directive says earlier
                // (never later: no login claims a proof from the future).
                let auth_time = Some(auth_time.map_or(now.as_secs(), |at| at.min(now.as_secs())));
                let identity = Identity { sub, ctx, auth_time, amr };
                let (mut family, grant) = Family::login(id, identity, remember, now, fresh, policy);
                if dbsc_offered {
                    family.offer_device_binding();
                }
                let cookies = GrantCookies::new(&grant, &config.session_keys, policy, now);
                let verdict = Verdict::Granted {
                    identity: grant.identity,
                    state: grant.state,
                    cookies,
                    decided_at: now.as_millis(),
                    context_changed: None,
                };
                let family = slot.insert(family);
                report.created(family, context.as_ref());
                written(verdict, family, policy, now)
            }
            FamilyCommand::BindDevice { proof } => {
                let Some(family) = slot.as_mut() else { return Ok(device_refused(DeviceRefusal::Ended)) };
                let killed = family.end_if_killed(policy);
                let bound = bind_device(family, &proof, config, now);
                let registered = bound.is_ok();
                let mut handled =
                    device_handled(bound, "dbsc_registered", "dbsc_registration_failed", family, config, now);
                // A registration always reaches the index: "your devices" shows the binding.
                handled.touch_index |= registered;
                written_if(killed, handled, family, policy, now)
            }
            FamilyCommand::RefreshDevice { proof } => {
                let Some(family) = slot.as_mut() else { return Ok(device_refused(DeviceRefusal::Ended)) };
                let killed = family.end_if_killed(policy);
                let refreshed = refresh_device(family, &proof, config, now);
                let handled = device_handled(refreshed, "dbsc_refreshed", "dbsc_refresh_failed", family, config, now);
                written_if(killed, handled, family, policy, now)
            }
            FamilyCommand::StepUp { sub, amr } => {
                // The worker matched the session to the directive's user; checked again
                // here, since the object trusts nothing the worker relays: a step-up never
                // makes a session someone else's.
                let Some(family) = slot.as_mut().filter(|f| f.identity().sub == sub) else {
                    return Ok(answer(Verdict::Refused { refusal: Refusal::UnknownFamily }));
                };
                let killed = family.end_if_killed(policy);
                let before = family.elevation().cloned();
                match family.step_up(amr, now, policy, fresh) {
                    Some(grant) => {
                        // Held (S10): the step-up lives in this answer's access cookie alone.
                        let durable = family.elevation() != before.as_ref();
                        stepped_up(&grant, durable, family, config, now)
                    }
                    None => {
                        written_if(killed, answer(Verdict::Refused { refusal: Refusal::Expired }), family, policy, now)
                    }
                }
            }
            FamilyCommand::Logout => end(slot.as_mut(), RevokedBy::Logout, &mut report, policy, now),
            FamilyCommand::Revoke { by } => end(slot.as_mut(), by, &mut report, policy, now),
        };
        let (events_changed, dropped) = (report.changed, report.dropped);
        handled.dropped = dropped;
        if events_changed {
            handled.events_row = Some(serde_json::to_string(&self.events).expect("events serialize to JSON"));
        }
        // One alarm per object: whoever sets it must not push back an event's delivery.
        if events_changed || handled.alarm.is_some() {
            handled.alarm = earliest(handled.alarm, self.events.outbox.next_attempt());
        }
        Ok(handled)
    }

    /// The events due for delivery at `now`, each with the transports still to take it.
    pub fn due_events(&self, now: Timestamp, transports: &[Transport]) -> Vec<Delivery> {
        self.events.outbox.due(now, transports)
    }

    /// How the deliveries went: for each event (`jti`), the transports that took it.
    /// Returns the events row to write and what was dropped for good.
    pub fn events_delivered(
        &mut self,
        outcomes: &[(String, Vec<Transport>)],
        transports: &[Transport],
        now: Timestamp,
    ) -> (String, Vec<Dropped>) {
        let dropped =
            outcomes.iter().filter_map(|(jti, took)| self.events.outbox.settle(jti, took, transports, now)).collect();
        (serde_json::to_string(&self.events).expect("events serialize to JSON"), dropped)
    }

    /// When the alarm should next run: the family's deadline or the next delivery, the
    /// earlier; `None` when the object holds nothing.
    pub fn next_alarm(&self, policy: &Policy, now: Timestamp) -> Option<Timestamp> {
        let deadline = self.family.as_ref().map(|f| f.deadline(policy).max(now));
        earliest(deadline, self.events.outbox.next_attempt())
    }

    /// The alarm fired at `now`: the family's deadline may have passed.
    pub fn on_alarm(&mut self, now: Timestamp, policy: &Policy) -> AlarmStep {
        let Some(family) = self.family.as_mut() else { return AlarmStep::Nothing };
        let deadline = family.deadline(policy);
        if deadline > now {
            return AlarmStep::RearmAt(deadline);
        }
        let row = family.end_if_killed(policy).then(|| family_row::encode(family));
        // Leave the user's index first, so no ended family stays listed as a device.
        let command = UserCommand::Unregister { family: family.id(), created_at: family.created_at().as_millis() };
        AlarmStep::Unregister { sub: family.identity().sub.clone(), command, row }
    }

    /// The index was told (`reached`) or could not be. An unreachable index is asked again
    /// in a minute, until it would forget the entry by age anyway; then storage goes.
    pub fn after_unregister(&mut self, reached: bool, now: Timestamp, policy: &Policy) -> AfterUnregister {
        if let Some(family) = self.family.as_ref().filter(|f| !reached && !outlived(f.created_at(), now, policy)) {
            let event = Event::new("unregister_failed", vec![("family", family.id().to_string())]);
            return AfterUnregister::RetryAt { at: now + UNREGISTER_RETRY, event };
        }
        self.family = None;
        match self.events.outbox.next_attempt() {
            Some(at) => AfterUnregister::KeepEvents { at },
            None => AfterUnregister::Delete,
        }
    }
}

/// A registration proof: it carries its key, signs a good challenge, and the family
/// takes the key ([`Family::bind`]).
fn bind_device(family: &mut Family, proof: &str, config: &Config, now: Timestamp) -> Result<Grant, DeviceRefusal> {
    let proof = Proof::parse(proof).map_err(|_| DeviceRefusal::BadProof)?;
    let key = proof.jwk.clone().ok_or(DeviceRefusal::BadProof)?;
    let issued = spendable(&proof, Purpose::Register, family, config, now)?;
    if !proof.signed_by(&key) {
        return Err(DeviceRefusal::BadProof);
    }
    family.bind(key, issued, now, &config.policy)
}

/// A refresh proof: signs a good challenge with the family's bound key; a `jwk` it may
/// carry is ignored ([`Family::refresh_device`]).
fn refresh_device(family: &mut Family, proof: &str, config: &Config, now: Timestamp) -> Result<Grant, DeviceRefusal> {
    let proof = Proof::parse(proof).map_err(|_| DeviceRefusal::BadProof)?;
    let issued = spendable(&proof, Purpose::Refresh, family, config, now)?;
    family.refresh_device(|key| proof.signed_by(key), issued, now, &config.policy)
}

/// When the proof's challenge was issued, checked again here (the object trusts nothing
/// the worker relays); whether it was spent is the family's call.
fn spendable(
    proof: &Proof,
    purpose: Purpose,
    family: &Family,
    config: &Config,
    now: Timestamp,
) -> Result<Timestamp, DeviceRefusal> {
    if proof.not_before.is_some_and(|nbf| nbf > now.as_secs().saturating_add(CLOCK_SKEW)) {
        return Err(DeviceRefusal::BadProof);
    }
    challenge::check(&proof.jti, purpose, family.id(), &config.session_keys, now)
        .map_err(|_| DeviceRefusal::StaleChallenge)
}

/// The answer to a device proof: on success the family is written (the challenge is
/// spent) and logged as `success`; a failure changes nothing and is logged as `failure`.
fn device_handled(
    outcome: Result<Grant, DeviceRefusal>,
    success: &'static str,
    failure: &'static str,
    family: &mut Family,
    config: &Config,
    now: Timestamp,
) -> FamilyHandled {
    let id = family.id().to_string();
    match outcome {
        Ok(grant) => {
            let cookies = GrantCookies::device_bound(&grant, &config.session_keys, &config.policy, now);
            let verdict = Verdict::DeviceBound { identity: grant.identity, cookies, decided_at: now.as_millis() };
            let touch_index = family.index_due(now, &config.policy);
            let mut handled = written(verdict, family, &config.policy, now);
            handled.touch_index = touch_index;
            handled.events = vec![Event::new(success, vec![("family", id), ("sub", family.identity().sub.clone())])];
            handled
        }
        Err(refusal) => {
            let mut handled = device_refused(refusal);
            handled.events = vec![Event::new(failure, vec![("family", id), ("reason", refusal.reason().to_owned())])];
            handled
        }
    }
}

/// A step-up's answer: the family written, and its cookies (a bound family's access
/// cookie only: its key, not a refresh cookie, keeps it going).
fn stepped_up(grant: &Grant, durable: bool, family: &mut Family, config: &Config, now: Timestamp) -> FamilyHandled {
    let keys = &config.session_keys;
    let cookies = if family.device_key().is_some() {
        GrantCookies::device_bound(grant, keys, &config.policy, now)
    } else {
        GrantCookies::new(grant, keys, &config.policy, now)
    };
    let verdict = Verdict::granted(grant, cookies, now);
    let touch_index = family.index_due(now, &config.policy);
    let mut handled = written(verdict, family, &config.policy, now);
    handled.touch_index = touch_index;
    let rotated = if grant.state == SessionState::Rotated { "true" } else { "false" };
    let fields = vec![
        ("family", family.id().to_string()),
        ("sub", family.identity().sub.clone()),
        ("rotated", rotated.to_owned()),
        ("durable", durable.to_string()),
    ];
    handled.events = vec![Event::new("step_up", fields)];
    handled
}

fn device_refused(refusal: DeviceRefusal) -> FamilyHandled {
    answer(Verdict::DeviceRefused { refusal })
}

/// `handled`, with the family written too when `changed` (the kill switch revoked it).
fn written_if(
    changed: bool,
    mut handled: FamilyHandled,
    family: &Family,
    policy: &Policy,
    now: Timestamp,
) -> FamilyHandled {
    if changed && handled.row.is_none() {
        handled.row = Some(family_row::encode(family));
        handled.alarm = Some(family.deadline(policy).max(now));
    }
    handled
}

/// An answer that changes nothing durable.
fn answer(verdict: Verdict) -> FamilyHandled {
    FamilyHandled {
        verdict,
        row: None,
        events_row: None,
        alarm: None,
        events: Vec::new(),
        dropped: Vec::new(),
        dbsc_not_registered: false,
        touch_index: false,
    }
}

/// Ends `family` (a logout, or a revocation `by` someone else) and reports it. Nothing
/// left to end (never existed, deleted, or already revoked): a second logout is harmless
/// and writes nothing.
fn end(
    family: Option<&mut Family>,
    by: RevokedBy,
    report: &mut Reporter<'_>,
    policy: &Policy,
    now: Timestamp,
) -> FamilyHandled {
    match family {
        Some(family) if !family.is_revoked() => {
            family.revoke();
            report.revoked(family, by);
            written(Verdict::Done, family, policy, now)
        }
        _ => answer(Verdict::Done),
    }
}

fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// An answer whose family must be written first, with the alarm at its deadline.
fn written(verdict: Verdict, family: &Family, policy: &Policy, now: Timestamp) -> FamilyHandled {
    let alarm = Some(family.deadline(policy).max(now));
    FamilyHandled { row: Some(family_row::encode(family)), alarm, ..answer(verdict) }
}

fn verdict_for(
    decision: &Decision,
    family: &Family,
    config: &Config,
    now: Timestamp,
    skipped: Option<&str>,
) -> (Verdict, Vec<Event>) {
    let id = || family.id().to_string();
    match &decision.outcome {
        Outcome::Authenticated(grant) => {
            let cookies = GrantCookies::new(grant, &config.session_keys, &config.policy, now);
            let verdict = Verdict::granted(grant, cookies, now);
            let events = if decision.dbsc_not_registered {
                let fields = vec![("family", id()), ("sub", family.identity().sub.clone())];
                vec![Event::new("dbsc_not_registered", fields)]
            } else {
                Vec::new()
            };
            (verdict, events)
        }
        Outcome::Refused(refusal) => {
            let events = match refusal {
                // State lost or rolled back: worth an operator's attention.
                Refusal::FutureGeneration => vec![Event::new("future_generation", vec![("family", id())])],
                // Its browser says it skipped a DBSC refresh (Secure-Session-Skipped): not
                // the copied-jar alarm. A copied jar could claim the same; it still gets
                // nothing, and the skips of one user show in this event's rate.
                Refusal::DeviceBound if skipped.is_some() => {
                    let reason = skipped.unwrap_or_default().to_owned();
                    let fields = vec![("family", id()), ("sub", family.identity().sub.clone()), ("reason", reason)];
                    vec![Event::new("dbsc_refresh_skipped", fields)]
                }
                // The owner's browser refreshes with its key: this is a copied cookie jar.
                Refusal::DeviceBound => {
                    let fields = vec![("family", id()), ("sub", family.identity().sub.clone())];
                    vec![Event::new("dbsc_unbound_refresh_refused", fields)]
                }
                _ => Vec::new(),
            };
            (Verdict::Refused { refusal: *refusal }, events)
        }
        Outcome::ReuseDetected { revoked } => {
            let action = if *revoked { "family_revoked" } else { "request_rejected" };
            let fields = vec![("family", id()), ("sub", family.identity().sub.clone()), ("action", action.to_owned())];
            (Verdict::ReuseDetected { revoked: *revoked }, vec![Event::new("reuse_detected", fields)])
        }
    }
}
