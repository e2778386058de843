//! The rotation rules of docs/design.md §3, one test per rule, on a simulated clock.
//! Windows are short (rotate after 10 s, grace 2 s, recovery 30 s) unless a rule is about
//! the defaults; each
//! boundary is probed a millisecond either side, on a clone of the object.

mod common;

use common::*;
use edge_session::config::{OnReuse, Policy};
use edge_session::messages::{FamilyCommand, Verdict};
use edge_session::objects::FamilyObject;
use edge_session::origin::{DirectivePlan, Login};
use edge_session::session::GrantCookies;
use edge_session::session::{AccessCredential, FamilyId, RefreshCredential};
use edge_session::session::{Family, Outcome, Refusal, SessionState, may_set_refresh};
use edge_session::time::Timestamp;

/// Alice logs in at T0; g1 is presented at T0+10 s and rotates to g2.
fn rotated(policy: Policy) -> (Object, RefreshCredential, RefreshCredential) {
    let (mut obj, login) = Object::login(policy, false, T0);
    let g1 = login.refresh.unwrap();
    let d = obj.present(&g1, T0 + secs(10));
    assert_eq!(state(&d), SessionState::Rotated);
    (obj, g1, grant(&d).refresh.clone().unwrap())
}

const REUSE_REVOKED: Outcome = Outcome::ReuseDetected { revoked: true };

// Row 1, unknown: the alarm deletes the family at its deadline (the shell then finds no
// family: anonymous); the family already refuses from that instant, so deletion never
// turns a live session anonymous.
#[test]
fn unknown_family_is_anonymous() {
    let (mut obj, login) = Object::login(short(), false, T0);
    let g1 = login.refresh.unwrap();
    let d = obj.present(&g1, T0 + secs(1)); // the confirmation writes last_seen
    assert_eq!(d.deadline, T0 + secs(1 + 1800 + 180));
    assert_eq!(state(&obj.clone().present(&g1, T0 + ms(1_980_999))), SessionState::Rotated);
    assert_eq!(obj.present(&g1, d.deadline).outcome, Outcome::Refused(Refusal::Expired));
}

// Row 1, revoked: anonymous, nothing written, and the alarm may delete it now.
#[test]
fn revoked_family_is_anonymous() {
    let (mut obj, login) = Object::login(short(), false, T0);
    obj.family.revoke();
    let before = obj.family.clone();
    let d = obj.present(&login.refresh.unwrap(), T0 + secs(1));
    assert_eq!(d.outcome, Outcome::Refused(Refusal::Revoked));
    assert!(!d.persist);
    assert!(d.deadline <= T0 + secs(1));
    assert_eq!(obj.family, before);
}

// Row 1, idle-expired: IDLE_TIMEOUT_SECS (1800) after the last seen request, plus the step
// `last_seen` may lag it (a tenth: 180 s), so never early and at most a tenth late.
#[test]
fn idle_expired_family_is_anonymous() {
    let (mut obj, login) = Object::login(short(), false, T0);
    let g1 = login.refresh.unwrap();
    assert_eq!(obj.present(&g1, T0 + secs(1)).deadline, T0 + secs(1 + 1800 + 180));
    assert!(matches!(obj.clone().present(&g1, T0 + ms(1_980_999)).outcome, Outcome::Authenticated(_)));
    let before = obj.family.clone();
    let d = obj.present(&g1, T0 + secs(1981));
    assert_eq!(d.outcome, Outcome::Refused(Refusal::Expired));
    assert!(!d.persist);
    assert_eq!(obj.family, before);
}

// Row 1, absolute-expired: SESSION_LIFETIME_SECS after login however active the user is.
#[test]
fn absolute_expired_family_is_anonymous() {
    let policy = Policy { idle_timeout: secs(100), session_lifetime: secs(300), ..short() };
    let (mut obj, login) = Object::login(policy, false, T0);
    let mut jar = Jar::new(&login);
    for t in [50, 100, 150, 200, 250] {
        let d = obj.present(&jar.refresh.clone(), T0 + secs(t));
        jar.read(&d);
        assert_eq!(d.deadline, T0 + secs((t + 100 + 10).min(300)), "at {t}s"); // idle 100 s, step 10 s
    }
    assert_eq!(state(&obj.clone().present(&jar.refresh, T0 + ms(299_999))), SessionState::Rotated);
    let d = obj.present(&jar.refresh, T0 + secs(300));
    assert_eq!(d.outcome, Outcome::Refused(Refusal::Expired));
}

// Row 1, remember: IDLE_TIMEOUT_SECS does not apply, REMEMBER_IDLE_TIMEOUT_SECS does (15
// days by default: a remember-me refresh credential expires after inactivity, RFC 9700);
// REMEMBER_LIFETIME_SECS after login ends it however active the user is.
#[test]
fn remember_family_has_its_own_idle_limit_and_lifetime() {
    let (mut obj, login) = Object::login(short(), true, T0);
    let g1 = login.refresh.clone().unwrap();
    let d = obj.present(&g1, T0 + secs(1800 + 3600));
    assert_eq!((state(&d), handed(&d)), (SessionState::Rotated, Some(2)));
    assert_eq!(d.deadline, T0 + secs(1800 + 3600) + secs(1_296_000 + 129_600), "idle from the last use, and its step");
    let mut jar = Jar::new(&login);
    jar.read(&d);
    // Used every 14 days, it lives its whole 30 days, and not a moment more.
    for day in [14, 28] {
        let d = obj.present(&jar.refresh.clone(), T0 + secs(day * 86_400));
        jar.read(&d);
        assert!(matches!(d.outcome, Outcome::Authenticated(_)), "day {day}");
    }
    assert_eq!(state(&obj.clone().present(&jar.refresh, T0 + ms(2_591_999_999))), SessionState::Rotated);
    assert_eq!(obj.present(&jar.refresh, T0 + secs(2_592_000)).outcome, Outcome::Refused(Refusal::Expired));
}

// Row 1, remember, idle: unused for REMEMBER_IDLE_TIMEOUT_SECS, it is over.
#[test]
fn remember_family_unused_past_its_idle_limit_is_anonymous() {
    let policy = Policy { remember_idle_timeout: secs(3600), ..short() };
    let (mut obj, login) = Object::login(policy, true, T0);
    let g1 = login.refresh.unwrap();
    let d = obj.present(&g1, T0 + secs(600));
    assert_eq!(d.deadline, T0 + secs(600 + 3600 + 360));
    let g2 = grant(&d).refresh.clone().unwrap();
    assert!(matches!(obj.clone().present(&g2, T0 + ms(4_559_999)).outcome, Outcome::Authenticated(_)));
    assert_eq!(obj.present(&g2, T0 + secs(4560)).outcome, Outcome::Refused(Refusal::Expired));
}

// The kill switch: a family created before SESSIONS_NOT_BEFORE has ended, whatever its
// state; one created at or after it is untouched.
#[test]
fn the_kill_switch_ends_every_family_created_before_it() {
    let (mut obj, login) = Object::login(short(), true, T0);
    let g1 = login.refresh.unwrap();
    obj.policy.not_before = T0 + secs(1);
    let d = obj.present(&g1, T0 + secs(5));
    assert_eq!(d.outcome, Outcome::Refused(Refusal::Revoked));
    assert!(d.persist && obj.family.is_revoked(), "ended for good: removing the switch revives nothing");
    assert_eq!(d.deadline, Timestamp::from_millis(0));
    obj.policy.not_before = Timestamp::from_millis(0);
    assert_eq!(obj.present(&g1, T0 + secs(6)).outcome, Outcome::Refused(Refusal::Revoked));
    let (mut after, login) = Object::login(Policy { not_before: T0, ..short() }, false, T0);
    assert!(matches!(after.present(&login.refresh.unwrap(), T0 + secs(5)).outcome, Outcome::Authenticated(_)));
}

// No access credential outlives its family: the edge checks it alone, so a family that
// expires (idle or absolute) or is killed would otherwise go on for an access lifetime.
#[test]
fn an_access_cookie_never_outlives_its_family() {
    let policy = Policy { session_lifetime: secs(100), ..short() };
    let (mut obj, login) = Object::login(policy, false, T0);
    let at = T0 + secs(70);
    let d = obj.present(&login.refresh.unwrap(), at);
    assert_eq!(grant(&d).until, T0 + secs(100));
    let line = GrantCookies::new(grant(&d), &keys(), &policy, at).access.unwrap();
    assert!(line.ends_with("Max-Age=30"), "{line}");
    let (_, value) = pair(&line);
    assert!(AccessCredential::decode(value, &keys(), T0 + ms(99_999)).is_ok());
    assert!(AccessCredential::decode(value, &keys(), T0 + secs(100)).is_err(), "gone with its family");
    // A device-bound access cookie is capped the same way, credential and cookie.
    let bound = GrantCookies::device_bound(grant(&d), &keys(), &policy, at).access.unwrap();
    assert!(bound.ends_with("Max-Age=30"), "{bound}");
    assert!(AccessCredential::decode(pair(&bound).1, &keys(), T0 + secs(100)).is_err());
    // Less than a second left: the cookie is still set (Max-Age=0 would delete it), and
    // the credential inside it still ends with the family.
    let last = GrantCookies::new(grant(&d), &keys(), &policy, T0 + ms(99_500)).access.unwrap();
    assert!(last.ends_with("Max-Age=1"), "{last}");
}

// Row 2: p == g, not due: fresh, no refresh cookie; the first presentation confirms g.
#[test]
fn current_generation_not_due_is_fresh_and_confirms() {
    let (mut obj, login) = Object::login(short(), false, T0);
    let g1 = login.refresh.unwrap();
    let d = obj.present(&g1, T0 + secs(5));
    assert_eq!((state(&d), handed(&d), d.persist), (SessionState::Fresh, None, true));
    assert_eq!(obj.family.confirmed_at(), Some(T0 + secs(5)));
    let d = obj.present(&g1, T0 + ms(9_999));
    assert_eq!((state(&d), handed(&d), d.persist), (SessionState::Fresh, None, false));
    assert_eq!((obj.family.generation(), obj.family.confirmed_at()), (1, Some(T0 + secs(5))));
}

// Row 2, hold: g is due but was re-delivered less than GRACE ago, so no rotation yet.
#[test]
fn due_but_recently_delivered_is_held_fresh() {
    let (mut obj, g1, g2) = rotated(short());
    assert_eq!(state(&obj.present(&g1, T0 + ms(19_500))), SessionState::Recovered);
    let d = obj.present(&g2, T0 + secs(20)); // g2 is due (10 s old) but held
    assert_eq!((state(&d), handed(&d)), (SessionState::Fresh, None));
    assert_eq!((obj.family.generation(), obj.family.confirmed_at()), (2, Some(T0 + secs(20))));
    assert_eq!(state(&obj.present(&g2, T0 + ms(21_499))), SessionState::Fresh);
    let d = obj.present(&g2, T0 + ms(21_500)); // GRACE after the re-delivery
    assert_eq!((state(&d), handed(&d)), (SessionState::Rotated, Some(3)));
}

// Row 3: p == g, due (age ≥ ROTATE_AFTER), not held: rotate to g+1 with the fresh secret.
#[test]
fn due_and_not_held_rotates() {
    let policy = short();
    let (mut family, login) = Family::login(FAMILY, alice(), false, T0, secret(0), &policy);
    let g1 = login.refresh.unwrap();
    let early = family.clone().handle_refresh(&g1, T0 + ms(9_999), &policy, secret(1));
    assert_eq!((state(&early), handed(&early)), (SessionState::Fresh, None));
    let d = family.handle_refresh(&g1, T0 + secs(10), &policy, secret(7));
    let g2 = RefreshCredential { family: FAMILY, generation: 2, secret: secret(7) };
    assert_eq!(state(&d), SessionState::Rotated);
    assert_eq!(grant(&d).refresh, Some(g2));
    assert!(d.persist);
    assert_eq!((family.generation(), family.issued_at(), family.confirmed_at()), (2, T0 + secs(10), None));
    assert_eq!(family.delivered_at(), T0 + secs(10));
    assert_eq!(family.previous(), Some(secret(0).digest()));
}

// Row 4: p == g-1 within GRACE of the rotation: same user, re-delivered the current g.
#[test]
fn previous_generation_within_grace_of_rotation_is_grace_alias() {
    let (mut obj, g1, g2) = rotated(short());
    let d = obj.present(&g1, T0 + ms(11_999));
    assert_eq!(state(&d), SessionState::GraceAlias);
    assert_eq!(grant(&d).identity, alice());
    assert_eq!(grant(&d).refresh.as_ref(), Some(&g2));
    assert!(!d.persist);
    assert_eq!((obj.family.generation(), obj.family.confirmed_at()), (2, None)); // g1 does not confirm g2
    assert_eq!(obj.family.delivered_at(), T0 + ms(11_999));
    assert_eq!(state(&obj.present(&g1, T0 + secs(12))), SessionState::Recovered);
    // grace over
}

// Row 4: the window counts from the later of the rotation and g's first presentation.
#[test]
fn grace_counts_from_confirmation_not_rotation() {
    let (mut obj, g1, g2) = rotated(short());
    assert_eq!(state(&obj.present(&g2, T0 + ms(11_500))), SessionState::Fresh);
    let d = obj.present(&g1, T0 + ms(13_499)); // 3.5 s after the rotation
    assert_eq!((state(&d), grant(&d).refresh.as_ref()), (SessionState::GraceAlias, Some(&g2)));
    assert_eq!(obj.present(&g1, T0 + ms(13_500)).outcome, REUSE_REVOKED);
}

// Row 5: after grace, g never presented, within RECOVERY of the rotation: re-deliver g.
#[test]
fn previous_generation_after_grace_unconfirmed_is_recovered() {
    let (mut obj, g1, g2) = rotated(short());
    for t in [12_000, 25_000, 39_999] {
        let d = obj.present(&g1, T0 + ms(t));
        assert_eq!(state(&d), SessionState::Recovered, "at {t} ms");
        assert_eq!(grant(&d).refresh.as_ref(), Some(&g2));
        assert!(!d.persist);
        assert_eq!((obj.family.generation(), obj.family.confirmed_at()), (2, None));
    }
}

// Row 6: p == g-1 after grace once g was presented: reuse; the family is revoked.
#[test]
fn previous_generation_after_grace_confirmed_is_reuse_and_revokes() {
    let (mut obj, g1, g2) = rotated(short());
    obj.present(&g2, T0 + ms(10_500));
    let d = obj.present(&g1, T0 + ms(12_500));
    assert_eq!(d.outcome, REUSE_REVOKED);
    assert!(d.persist && obj.family.is_revoked());
    assert!(d.deadline <= T0 + ms(12_500));
    assert_eq!(obj.present(&g2, T0 + secs(13)).outcome, Outcome::Refused(Refusal::Revoked));
}

// Row 6: an unconfirmed g is re-delivered only until RECOVERY after its rotation.
#[test]
fn recovery_ends_after_recovery_secs() {
    let (mut obj, g1, _) = rotated(short());
    assert_eq!(state(&obj.clone().present(&g1, T0 + ms(39_999))), SessionState::Recovered);
    let d = obj.present(&g1, T0 + secs(40));
    assert_eq!(d.outcome, REUSE_REVOKED);
    assert!(d.persist && obj.family.is_revoked());
}

// Row 6: p < g-1 is reuse even inside the grace window of the latest rotation.
#[test]
fn older_generation_is_reuse() {
    let (mut obj, g1, g2) = rotated(short());
    let d = obj.present(&g2, T0 + secs(20));
    assert_eq!((state(&d), handed(&d)), (SessionState::Rotated, Some(3)));
    let d = obj.present(&g1, T0 + ms(20_001));
    assert_eq!(d.outcome, REUSE_REVOKED);
    assert!(d.persist && obj.family.is_revoked());
}

// Row 6: a wrong secret for g or for g-1 (even within grace) is reuse.
#[test]
fn wrong_secret_is_reuse() {
    let forged = |generation| RefreshCredential { family: FAMILY, generation, secret: secret(99) };
    let (mut obj, _login) = Object::login(short(), false, T0);
    assert_eq!(obj.present(&forged(1), T0 + secs(1)).outcome, REUSE_REVOKED);
    assert!(obj.family.is_revoked());
    let (mut obj, _, _) = rotated(short());
    assert_eq!(obj.present(&forged(1), T0 + ms(10_100)).outcome, REUSE_REVOKED);
    assert!(obj.family.is_revoked());
}

// Row 6, ON_REUSE=reject: this request is refused, nothing changes, the owner carries on.
#[test]
fn on_reuse_reject_refuses_without_revoking() {
    let (mut obj, g1, g2) = rotated(Policy { on_reuse: OnReuse::Reject, ..short() });
    obj.present(&g2, T0 + ms(10_500));
    let before = obj.family.clone();
    let d = obj.present(&g1, T0 + secs(13));
    assert_eq!(d.outcome, Outcome::ReuseDetected { revoked: false });
    assert!(!d.persist);
    assert_eq!(obj.family, before);
    assert_eq!(state(&obj.present(&g2, T0 + secs(14))), SessionState::Fresh);
}

// Row 7: p > g was never issued (state lost or rolled back): anonymous, family kept.
#[test]
fn future_generation_is_anonymous_and_family_kept() {
    let (mut obj, login) = Object::login(short(), false, T0);
    let before = obj.family.clone();
    let future = RefreshCredential { family: FAMILY, generation: 2, secret: secret(5) };
    let d = obj.present(&future, T0 + secs(1));
    assert_eq!(d.outcome, Outcome::Refused(Refusal::FutureGeneration));
    assert!(!d.persist);
    assert_eq!(obj.family, before);
    assert_eq!(state(&obj.present(&login.refresh.unwrap(), T0 + secs(2))), SessionState::Fresh);
}

// Login: a new family at g1, unconfirmed, handed out now (the shell always writes it).
#[test]
fn login_creates_generation_one_unconfirmed() {
    let (family, grant) = Family::login(FAMILY, alice(), false, T0, secret(3), &short());
    assert_eq!(grant.state, SessionState::Fresh);
    assert_eq!(grant.refresh, Some(RefreshCredential { family: FAMILY, generation: 1, secret: secret(3) }));
    assert_eq!(grant.remember_until, None);
    assert_eq!((family.generation(), family.confirmed_at(), family.previous()), (1, None, None));
    assert_eq!((family.created_at(), family.issued_at(), family.delivered_at()), (T0, T0, T0));
    assert!(!family.is_revoked());
}

// Login: the family the login request presented is revoked, at once (no fixation).
#[test]
fn login_revokes_the_family_it_replaces() {
    let (old, login) = Object::login(short(), false, T0);
    let presented = login.refresh.unwrap();
    // A response to a request that presented the old family carries a login directive.
    let directive = Login { sub: "alice".into(), remember: false, ctx: None, amr: None, auth_time: None };
    let plan = DirectivePlan::new(Some(directive), None, Some(presented.family), true).unwrap();
    assert_eq!(plan.end_family, Some(FAMILY), "the plan ends the presented family");
    assert!(plan.login.is_some() && !plan.clear_cookies, "a login replaces cookies, it does not delete them");
    // Carried out by the old family's object: it is revoked at once.
    let config = edge_session::Config::from_vars(|name| match name {
        "SESSION_KEYS" => Some("k1:0123456789abcdef0123456789abcdef".into()),
        "ORIGIN_SECRET" => Some("o1:fedcba9876543210fedcba9876543210".into()),
        _ => None,
    })
    .unwrap();
    let mut object = FamilyObject::loaded(Some(old.family.clone()), T0);
    object.handle(FamilyCommand::Logout, T0 + secs(1), &config, secret(7)).unwrap();
    assert!(object.family().unwrap().is_revoked());
    assert!(object.family().unwrap().deadline(&config.policy) <= T0 + secs(1), "its alarm deletes it now");
    let cookie = FamilyCommand::Refresh { cookie: presented.encode(&keys()), skipped: None, context: None };
    let replay = object.handle(cookie, T0 + secs(5), &config, secret(8)).unwrap();
    assert_eq!(replay.verdict, Verdict::Refused { refusal: Refusal::Revoked });
}

// Persist: written only on change — confirmation, rotation, revocation — never for a
// plain fresh request or a grace/recovered re-delivery.
#[test]
fn persist_only_when_the_durable_state_changes() {
    let (mut obj, login) = Object::login(short(), false, T0);
    let g1 = login.refresh.unwrap();
    let mut step = |cred: &RefreshCredential, t: u64| obj.present(cred, T0 + ms(t)).persist;
    assert!(step(&g1, 1_000)); // first confirmation
    assert!(!step(&g1, 5_000)); // fresh
    assert!(step(&g1, 10_000)); // rotation
    let (mut obj, g1, g2) = rotated(short());
    let mut step = |cred: &RefreshCredential, t: u64| obj.present(cred, T0 + ms(t)).persist;
    assert!(!step(&g1, 11_000)); // grace
    assert!(!step(&g1, 15_000)); // recovered
    assert!(step(&g2, 15_100)); // first confirmation of g2
    assert!(!step(&g2, 16_000)); // fresh
    assert!(step(&g1, 18_000)); // reuse: revocation
}

// Persist: last_seen is written with anything else, else once it is a step behind: a tenth
// of the idle timeout (180 s at the defaults), which the idle deadline adds back.
#[test]
fn last_seen_is_persisted_at_most_once_a_step() {
    let (mut obj, login) = Object::login(Policy::default(), false, T0);
    let g1 = login.refresh.unwrap();
    assert!(obj.present(&g1, T0 + secs(1)).persist); // first confirmation: last_seen moves with it
    for (t, written, last_seen) in [
        (60_000, false, 1_000),
        (180_999, false, 1_000),
        (181_000, true, 181_000),
        (200_000, false, 181_000),
        (360_999, false, 181_000),
        (361_000, true, 361_000),
    ] {
        let d = obj.present(&g1, T0 + ms(t));
        assert_eq!(d.persist, written, "at {t} ms");
        assert_eq!(obj.family.last_seen(), T0 + ms(last_seen), "at {t} ms");
        assert_eq!(d.deadline, T0 + ms(last_seen) + secs(1800 + 180), "at {t} ms");
    }
}

// Deadline: idle, then absolute when nearer; remember has its own of both; revoked is now.
#[test]
fn deadline_is_idle_absolute_remember_or_now() {
    let policy = Policy { session_lifetime: secs(3000), ..short() };
    let (mut obj, login) = Object::login(policy, false, T0);
    assert_eq!(obj.family.deadline(&policy), T0 + secs(1800 + 180)); // idle, and its step
    let d = obj.present(&login.refresh.unwrap(), T0 + secs(1500));
    assert_eq!(d.deadline, T0 + secs(3000)); // absolute (idle would be 3480)
    let (remember, _) = Object::login(policy, true, T0);
    assert_eq!(remember.family.deadline(&policy), T0 + secs(1_296_000 + 129_600)); // remember idle
    let long_idle = Policy { remember_idle_timeout: secs(3_000_000), ..policy };
    assert_eq!(remember.family.deadline(&long_idle), T0 + secs(2_592_000)); // remember lifetime
    obj.family.revoke();
    assert!(obj.family.deadline(&policy) <= T0);
}

// The defaults, and their windows at the edges: grace 30 s, recovery 30 min.
#[test]
fn default_windows_at_their_edges() {
    let p = Policy::default();
    let windows = [p.rotate_after, p.grace, p.recovery, p.access_ttl, p.idle_timeout];
    assert_eq!(windows, [secs(900), secs(30), secs(1800), secs(60), secs(1800)]);
    assert_eq!((p.session_lifetime, p.remember_lifetime, p.on_reuse), (secs(43_200), secs(2_592_000), OnReuse::Revoke));
    let (mut obj, login) = Object::login(p, true, T0);
    let g1 = login.refresh.unwrap();
    assert_eq!(state(&obj.clone().present(&g1, T0 + ms(899_999))), SessionState::Fresh);
    assert_eq!(state(&obj.present(&g1, T0 + secs(900))), SessionState::Rotated);
    assert_eq!(state(&obj.clone().present(&g1, T0 + ms(929_999))), SessionState::GraceAlias);
    assert_eq!(state(&obj.clone().present(&g1, T0 + secs(930))), SessionState::Recovered);
    assert_eq!(state(&obj.clone().present(&g1, T0 + ms(2_699_999))), SessionState::Recovered);
    assert_eq!(obj.present(&g1, T0 + secs(2700)).outcome, REUSE_REVOKED);
}

// Slow rule: a refresh value may be set only within GRACE of the object's decision.
#[test]
fn slow_rule_may_set_refresh_only_within_grace_of_the_decision() {
    let decided = T0 + secs(10);
    assert!(may_set_refresh(decided, decided, &short()));
    assert!(may_set_refresh(decided, decided + ms(1_999), &short()));
    assert!(!may_set_refresh(decided, decided + secs(2), &short()));
    assert!(may_set_refresh(decided, decided + ms(29_999), &Policy::default()));
    assert!(!may_set_refresh(decided, decided + secs(30), &Policy::default()));
}

/// The `name=value` part of a `Set-Cookie` line.
fn pair(line: &str) -> (&str, &str) {
    line.split(';').next().unwrap().split_once('=').unwrap()
}

// Cookies: an access cookie only when ACCESS_TTL > 0, for that long.
#[test]
fn access_cookie_only_when_access_ttl_is_positive() {
    let (_, login) = Object::login(short(), false, T0);
    let cookies = GrantCookies::new(&login, &keys(), &short(), T0);
    let access = cookies.access.unwrap();
    assert!(access.contains("Max-Age=60"), "{access}");
    let (name, value) = pair(&access);
    let cred = AccessCredential::decode(value, &keys(), T0).unwrap();
    assert_eq!((name, cred.sub.as_str(), cred.exp), ("__Host-es-access", "alice", (T0 + secs(60)).as_millis()));
    assert_eq!(cred.family(), Some(FAMILY));
    let off = Policy { access_ttl: secs(0), ..short() };
    let cookies = GrantCookies::new(&login, &keys(), &off, T0);
    assert_eq!(cookies.access, None);
    assert!(cookies.refresh.is_some());
}

// Cookies: without "remember me" the refresh cookie is a session cookie; fresh sets none.
#[test]
fn refresh_cookie_is_a_session_cookie_without_remember() {
    let (mut obj, g1, g2) = rotated(short());
    let d = obj.present(&g2, T0 + secs(11));
    assert_eq!(GrantCookies::new(grant(&d), &keys(), &short(), T0 + secs(11)).refresh, None);
    let d = obj.present(&g1, T0 + ms(11_500));
    let line = GrantCookies::new(grant(&d), &keys(), &short(), T0 + ms(11_500)).refresh.unwrap();
    assert!(!line.contains("Max-Age") && !line.contains("Expires"), "{line}");
    let (name, value) = pair(&line);
    assert_eq!((name, RefreshCredential::decode(value, &keys()).unwrap()), ("__Host-es-refresh", g2));
}

// Cookies: a remember-me refresh cookie's Max-Age is the family's remaining lifetime.
#[test]
fn remember_refresh_cookie_lives_for_the_rest_of_the_family() {
    let (mut obj, login) = Object::login(short(), true, T0);
    assert_eq!(login.remember_until, Some(T0 + secs(2_592_000)));
    let line = GrantCookies::new(&login, &keys(), &short(), T0).refresh.unwrap();
    assert!(line.contains("Max-Age=2592000"), "{line}");
    let d = obj.present(&login.refresh.unwrap(), T0 + secs(10));
    let line = GrantCookies::new(grant(&d), &keys(), &short(), T0 + secs(10)).refresh.unwrap();
    assert!(line.contains("Max-Age=2591990"), "{line}");
}

// Cookies: no answer of the core ever turns into a deletion (Pow #366/#390).
#[test]
fn grant_cookies_are_never_a_deletion() {
    let (mut obj, login) = Object::login(short(), true, T0);
    let g1 = login.refresh.clone().unwrap();
    let mut grants = vec![(login, T0)];
    for t in [5_000, 10_000, 11_000, 15_000] {
        let d = obj.present(&g1, T0 + ms(t));
        grants.push((grant(&d).clone(), T0 + ms(t)));
    }
    let states: Vec<_> = grants.iter().map(|(g, _)| g.state).collect();
    use SessionState::*;
    assert_eq!(states, [Fresh, Fresh, Rotated, GraceAlias, Recovered]);
    for (g, now) in &grants {
        let cookies = GrantCookies::new(g, &keys(), &short(), *now);
        for line in cookies.access.iter().chain(&cookies.refresh) {
            assert!(!pair(line).1.is_empty() && !line.contains("Max-Age=0") && !line.contains("Expires"), "{line}");
        }
    }
}

/// A credential of another family is refused without judging its secret: counting it as
/// reuse would let a routing mistake revoke an innocent family.
#[test]
fn credential_of_another_family_is_unknown_and_changes_nothing() {
    let (mut object, login) = Object::login(short(), false, T0);
    let mut foreign = login.refresh.clone().unwrap();
    foreign.family = FamilyId::from_bytes([0xee; 16]);
    let before = object.family.clone();
    let d = object.present(&foreign, T0 + secs(1));
    assert_eq!(d.outcome, Outcome::Refused(Refusal::UnknownFamily));
    assert!(!d.persist);
    assert_eq!(object.family, before);
}
