//! The scenarios of docs/scenarios.md (S1–S11) at the core level, on a simulated clock.
//! A `Jar` stands for the browser's refresh cookie: it reads the responses the browser
//! receives and panics if it is ever pushed back a generation.

mod common;

use common::*;
use edge_session::config::{MAX_GRACE_SECS, Policy};
use edge_session::session::GrantCookies;
use edge_session::session::{AccessCredential, CredentialError, RefreshCredential};
use edge_session::session::{Decision, Outcome, Refusal, SessionState::*};
use edge_session::time::Timestamp;

const REUSE_REVOKED: Outcome = Outcome::ReuseDetected { revoked: true };

/// The value of a `Set-Cookie` line.
fn value(line: &str) -> &str {
    line.split(';').next().unwrap().split_once('=').unwrap().1
}

/// The refresh credential the response's `Set-Cookie` carries; asserts it is no deletion.
fn refresh_cookie(d: &Decision, policy: &Policy, now: Timestamp) -> RefreshCredential {
    let line = GrantCookies::new(grant(d), &keys(), policy, now).refresh.expect("a refresh cookie");
    assert!(!line.contains("Max-Age=0") && !value(&line).is_empty(), "{line}");
    RefreshCredential::decode(value(&line), &keys()).unwrap()
}

// S1 (Pow #366/#390): B raced A's rotation with g1; it is served as alice and carries g2.
#[test]
fn s1_cookie_clobbered_by_racing_request() {
    let (mut obj, login) = Object::login(short(), false, T0);
    let g1 = login.refresh.clone().unwrap(); // A and B both leave with g1
    let a = obj.present(&g1, T0 + secs(10));
    let b = obj.present(&g1, T0 + ms(10_050));
    assert_eq!((state(&a), state(&b)), (Rotated, GraceAlias));
    assert_eq!(grant(&b).identity, alice());
    let g2 = refresh_cookie(&a, &short(), T0 + secs(10));
    assert_eq!((g2.generation, refresh_cookie(&b, &short(), T0 + ms(10_050))), (2, g2.clone()));
    for order in [[&a, &b], [&b, &a]] {
        let mut jar = Jar::new(&login);
        order.into_iter().for_each(|d| jar.read(d));
        assert_eq!(jar.refresh, g2);
    }
}

// S2 (Pow #356/#398): the rotating response is lost; g1 is answered grace, then
// recovered, both re-delivering g2, and the user stays logged in (the defaults).
#[test]
fn s2_response_lost_after_rotation() {
    let (mut obj, login) = Object::login(Policy::default(), false, T0);
    let mut jar = Jar::new(&login);
    let lost = obj.present(&jar.refresh.clone(), T0 + secs(900)); // page navigated away
    let g2 = grant(&lost).refresh.clone().unwrap();
    let d = obj.present(&jar.refresh.clone(), T0 + secs(910)); // aborted too
    assert_eq!((state(&d), grant(&d).refresh.as_ref()), (GraceAlias, Some(&g2)));
    let d = obj.present(&jar.refresh.clone(), T0 + secs(1500));
    assert_eq!((state(&d), grant(&d).refresh.as_ref()), (Recovered, Some(&g2)));
    jar.read(&d);
    assert_eq!(jar.refresh, g2);
    let d = obj.present(&jar.refresh.clone(), T0 + secs(1501));
    assert_eq!((state(&d), handed(&d)), (Fresh, None));
    assert_eq!(obj.family.confirmed_at(), Some(T0 + secs(1501)));
}

// S3 (Pow #414): eight requests present g1 at the instant it is due: one rotation, one g2.
#[test]
fn s3_requests_race_the_rotation_lock() {
    let (mut obj, login) = Object::login(short(), false, T0);
    let g1 = login.refresh.clone().unwrap();
    let answers: Vec<Decision> = (0..8).map(|_| obj.present(&g1, T0 + secs(10))).collect();
    let states: Vec<_> = answers.iter().map(state).collect();
    assert_eq!(states, [Rotated, GraceAlias, GraceAlias, GraceAlias, GraceAlias, GraceAlias, GraceAlias, GraceAlias]);
    let g2 = obj.family.current_credential();
    assert_eq!(g2.generation, 2);
    for d in &answers {
        assert_eq!((&grant(d).identity, grant(d).refresh.as_ref()), (&alice(), Some(&g2)));
    }
}

// S4 (Pow #435): the rotation and the alias are one decision, so request 2 is grace.
#[test]
fn s4_alias_recorded_in_the_rotating_decision() {
    let (mut obj, login) = Object::login(short(), false, T0);
    let g1 = login.refresh.clone().unwrap();
    let r1 = obj.present(&g1, T0 + secs(10)); // steps 1–2: request 1 rotates
    // The alias exists as soon as the decision returns, before any before-send step.
    assert_eq!((obj.family.generation(), obj.family.previous()), (2, Some(g1.secret.digest())));
    let r2 = obj.present(&g1, T0 + ms(10_001)); // steps 3–4: request 2 with g1
    assert_eq!(state(&r2), GraceAlias);
    assert_eq!(grant(&r2).refresh, grant(&r1).refresh);
    let mut jar = Jar::new(&login); // step 6: both finish, in either order
    jar.read(&r2);
    jar.read(&r1);
    assert_eq!(jar.generation(), 2);
}

// S5 (Pow #435 test): g1 works 100 ms after the rotation; after grace (g2 used) it is
// refused and the family revoked (RFC 9700 §4.14.2; the defaults).
#[test]
fn s5_session_id_reusable_for_a_short_time_only() {
    let (mut obj, login) = Object::login(Policy::default(), false, T0);
    let g1 = login.refresh.unwrap();
    let g2 = grant(&obj.present(&g1, T0 + secs(900))).refresh.clone().unwrap();
    let d = obj.present(&g1, T0 + ms(900_100));
    assert_eq!((state(&d), &grant(&d).identity), (GraceAlias, &alice()));
    assert_eq!(state(&obj.present(&g2, T0 + ms(900_200))), Fresh);
    let d = obj.present(&g1, T0 + ms(930_200)); // GRACE after g2's first use
    assert_eq!(d.outcome, REUSE_REVOKED);
    assert!(d.persist);
    assert_eq!(obj.present(&g2, T0 + secs(931)).outcome, Outcome::Refused(Refusal::Revoked));
}

// S6 (Pow #435 test): a remember-me credential revives the session after the access
// cookie expired; the old one works within grace only (the defaults).
#[test]
fn s6_remember_me_credential_reusable_then_not() {
    let policy = Policy::default();
    let (mut obj, login) = Object::login(policy, true, T0);
    let g1 = login.refresh.clone().unwrap();
    let access = GrantCookies::new(&login, &keys(), &policy, T0).access.unwrap();
    let later = T0 + secs(7200); // two hours on: past the access TTL and the idle timeout
    assert_eq!(AccessCredential::decode(value(&access), &keys(), later), Err(CredentialError::Expired));
    let d = obj.present(&g1, later);
    assert_eq!(state(&d), Rotated);
    let cookies = GrantCookies::new(grant(&d), &keys(), &policy, later);
    assert_eq!(AccessCredential::decode(value(&cookies.access.unwrap()), &keys(), later).unwrap().sub, "alice");
    assert!(cookies.refresh.unwrap().contains("Max-Age=2584800"));
    let g2 = grant(&d).refresh.clone().unwrap();
    assert_eq!(state(&obj.present(&g1, later + ms(100))), GraceAlias);
    assert_eq!(state(&obj.present(&g2, later + ms(200))), Fresh);
    assert_eq!(obj.present(&g1, later + ms(30_200)).outcome, REUSE_REVOKED);
}

// S7 (Pow #739): three tabs load at once with the access cookie expired: all authenticated.
#[test]
fn s7_several_tabs_with_expired_short_session() {
    let policy = Policy::default();
    let (mut obj, login) = Object::login(policy, true, T0);
    let mut jar = Jar::new(&login);
    let g1 = jar.refresh.clone();
    let now = T0 + secs(1000); // access expired long ago, g1 due
    let tabs: Vec<Decision> = (0..3).map(|i| obj.present(&g1, now + ms(i * 5))).collect();
    assert_eq!(tabs.iter().map(state).collect::<Vec<_>>(), [Rotated, GraceAlias, GraceAlias]);
    for d in tabs.iter().rev() {
        assert_eq!(grant(d).identity, alice());
        assert!(GrantCookies::new(grant(d), &keys(), &policy, now).access.is_some());
        jar.read(d);
    }
    assert_eq!(jar.refresh, obj.family.current_credential());
}

// S8 (Pow #739): requests queued with g1 arrive late but within GRACE: authenticated.
#[test]
fn s8_queued_requests() {
    let (mut obj, login) = Object::login(short(), false, T0);
    let mut jar = Jar::new(&login);
    let g1 = jar.refresh.clone(); // the queued requests were created with g1
    let a = obj.present(&g1, T0 + secs(10));
    jar.read(&a);
    assert_eq!(state(&obj.present(&jar.refresh.clone(), T0 + ms(10_100))), Fresh); // g2 in use
    for t in [11_000, 11_500, 11_999] {
        let d = obj.present(&g1, T0 + ms(t));
        assert_eq!((state(&d), handed(&d)), (GraceAlias, Some(2)), "at {t} ms");
        jar.read(&d);
    }
    assert_eq!(jar.generation(), 2);
}

// S9: a copied credential replayed after its owner moved on: refused, family revoked,
// the owner's next request anonymous. Within grace a thief looks like a racing tab.
#[test]
fn s9_theft() {
    let (mut obj, login) = Object::login(short(), false, T0);
    let mut jar = Jar::new(&login);
    let stolen = jar.refresh.clone();
    let mut racing = obj.clone();
    for t in [10_000, 10_500, 20_000] {
        let d = obj.present(&jar.refresh.clone(), T0 + ms(t));
        jar.read(&d);
    }
    assert_eq!(jar.generation(), 3);
    let d = obj.present(&stolen, T0 + secs(60));
    assert_eq!(d.outcome, REUSE_REVOKED); // the shell logs this security event
    assert!(d.persist);
    assert_eq!(obj.present(&jar.refresh, T0 + secs(61)).outcome, Outcome::Refused(Refusal::Revoked));
    racing.present(&login.refresh.clone().unwrap(), T0 + secs(10));
    assert_eq!(state(&racing.present(&stolen, T0 + ms(10_100))), GraceAlias);
    assert_eq!(MAX_GRACE_SECS, 300);
}

// S10, first half (hold): g2 was re-delivered at 20.5 s, so although due it is not
// rotated until GRACE later — no g3 exists while that response may be on its way.
#[test]
fn s10_hold_stops_rotation_after_a_re_delivery() {
    let (mut obj, login) = Object::login(short(), false, T0);
    let g1 = login.refresh.clone().unwrap();
    let g2 = grant(&obj.present(&g1, T0 + secs(10))).refresh.clone().unwrap();
    obj.present(&g2, T0 + secs(19)); // first use of g2
    let x = obj.present(&g1, T0 + ms(20_500)); // a late g1 request: grace re-delivers g2
    assert_eq!((state(&x), handed(&x)), (GraceAlias, Some(2)));
    for t in [21_000, 22_499] {
        let d = obj.present(&g2, T0 + ms(t)); // g2 is due (issued at 10 s)
        assert_eq!((state(&d), handed(&d), obj.family.generation()), (Fresh, None, 2), "at {t} ms");
    }
    let d = obj.present(&g2, T0 + ms(22_500));
    assert_eq!((state(&d), handed(&d)), (Rotated, Some(3)));
}

// S10, second half (slow rule): X's response carrying g2 leaves more than GRACE after
// its decision, after g3 was stored: it does not set the cookie; the jar keeps g3.
#[test]
fn s10_late_old_value_never_pushes_the_jar_back() {
    let policy = short();
    let (mut obj, login) = Object::login(policy, false, T0);
    let mut jar = Jar::new(&login);
    let g1 = jar.refresh.clone();
    jar.read(&obj.present(&g1, T0 + secs(10)));
    obj.present(&jar.refresh.clone(), T0 + secs(19));
    let x = obj.present(&g1, T0 + ms(20_500)); // decided at 20.5 s; slow origin
    let y = obj.present(&jar.refresh.clone(), T0 + ms(22_500));
    assert_eq!(handed(&y), Some(3));
    jar.read(&y);
    jar.read_late(&x, T0 + ms(20_500), T0 + ms(22_600), &policy); // slow rule drops g2
    assert_eq!(jar.generation(), 3);
    assert_eq!(state(&obj.present(&jar.refresh.clone(), T0 + secs(23))), Fresh); // g3 used
    let mut pushed_back = obj.clone(); // had the jar gone back to g2, after a pause:
    let g2 = grant(&x).refresh.clone().unwrap();
    assert_eq!(pushed_back.present(&g2, T0 + secs(90)).outcome, REUSE_REVOKED);
    let d = obj.present(&jar.refresh, T0 + secs(90));
    assert_eq!((state(&d), handed(&d)), (Rotated, Some(4)));
}

// S10 / slow rule: a dropped slow response is re-delivered by recovery if nobody else did.
#[test]
fn s10_dropped_slow_response_is_recovered() {
    let policy = short();
    let (mut obj, login) = Object::login(policy, false, T0);
    let mut jar = Jar::new(&login);
    let slow = obj.present(&jar.refresh.clone(), T0 + secs(10));
    jar.read_late(&slow, T0 + secs(10), T0 + secs(13), &policy);
    assert_eq!(jar.generation(), 1);
    let d = obj.present(&jar.refresh.clone(), T0 + secs(20));
    assert_eq!((state(&d), grant(&d).refresh.as_ref()), (Recovered, grant(&slow).refresh.as_ref()));
    jar.read(&d);
    assert_eq!(jar.generation(), 2);
}

// S11: requests queued behind a slow rotation arrive > GRACE after the rotation but
// < GRACE after the browser's first use of g2: grace (counted from confirmation).
#[test]
fn s11_request_queued_behind_slow_rotation() {
    let policy = short();
    let (mut obj, login) = Object::login(policy, false, T0);
    let mut jar = Jar::new(&login);
    let g1 = jar.refresh.clone(); // queued requests created with g1 until 11.8 s
    let a = obj.present(&g1, T0 + secs(10));
    jar.read_late(&a, T0 + secs(10), T0 + ms(11_800), &policy); // slow, but within GRACE
    assert_eq!(jar.generation(), 2);
    assert_eq!(state(&obj.present(&jar.refresh.clone(), T0 + ms(11_900))), Fresh);
    for t in [13_000, 13_899] {
        let d = obj.present(&g1, T0 + ms(t));
        assert_eq!((state(&d), handed(&d)), (GraceAlias, Some(2)), "at {t} ms");
        jar.read(&d);
    }
    assert_eq!(obj.present(&g1, T0 + ms(13_900)).outcome, REUSE_REVOKED);
}
