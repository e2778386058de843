//! Device-bound sessions (DBSC) in the core: every registration and refresh branch as the
//! family's object decides it, the endpoints' steps and answers, tampered and arbitrary
//! proofs. The "browser" here signs with RustCrypto's `p256` from a fixed key; the proof
//! format is checked against RFC 7515's own ES256 example (`known_answers`), and end to
//! end against Chromium (tests/e2e/dbsc.test.mjs).

use std::time::Duration;

use edge_session::config::Config;
use edge_session::crypto::base64url;
use edge_session::crypto::es256::PublicKey;
use edge_session::dbsc::challenge::Purpose;
use edge_session::dbsc::{
    self, CHALLENGE_HEADER, DeviceStep, Proof, ProofError, bound_answer, challenge, instructions, refresh_step,
    refusal_answer, register_step,
};
use edge_session::events::Transport;
use edge_session::messages::{FamilyCommand, Verdict};
use edge_session::objects::{Event, FamilyHandled, FamilyObject};
use edge_session::session::{
    ACCESS_COOKIE, AccessCredential, DeviceRefusal, FamilyId, REFRESH_COOKIE, RefreshCredential, RefreshSecret,
    Refusal, family_row, presented,
};
use edge_session::time::Timestamp;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use proptest::prelude::*;
use serde_json::{Value, json};

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);
const ID: FamilyId = FamilyId::from_bytes([1; 16]);
const OTHER: FamilyId = FamilyId::from_bytes([2; 16]);
const NO_KILL_SWITCH: Timestamp = Timestamp::from_millis(0);

fn config_var(name: &str) -> Option<String> {
    match name {
        "SESSION_KEYS" => Some("k1:0123456789abcdef0123456789abcdef".into()),
        "ORIGIN_SECRET" => Some("o1:fedcba9876543210fedcba9876543210".into()),
        _ => None,
    }
}

fn config() -> Config {
    Config::from_vars(config_var).unwrap()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn earlier(t: Timestamp, secs: u64) -> Timestamp {
    Timestamp::from_millis(t.as_millis() - secs * 1000)
}

/// A browser's device key, made from a fixed scalar so failures reproduce.
struct Device(SigningKey);

impl Device {
    fn new(seed: u8) -> Device {
        Device(SigningKey::from_bytes(&[seed; 32].into()).unwrap())
    }

    fn jwk(&self) -> Value {
        let point = self.0.verifying_key().to_encoded_point(false);
        json!({"kty": "EC", "crv": "P-256", "x": base64url::encode(point.x().unwrap()), "y": base64url::encode(point.y().unwrap())})
    }

    /// A proof over `header` (merged into `alg`/`typ`) and `jti`.
    fn sign_with(&self, header: Value, payload: Value) -> String {
        let header = base64url::encode(header.to_string());
        let payload = base64url::encode(payload.to_string());
        let input = format!("{header}.{payload}");
        let signature: Signature = self.0.sign(input.as_bytes());
        format!("{input}.{}", base64url::encode(signature.to_bytes()))
    }

    /// What Chromium sends to register: the `jwk` in the header.
    fn registration(&self, jti: &str) -> String {
        self.sign_with(json!({"alg": "ES256", "typ": "dbsc+jwt", "jwk": self.jwk()}), json!({"jti": jti}))
    }

    /// What Chromium sends to refresh: no `jwk`.
    fn refresh(&self, jti: &str) -> String {
        self.sign_with(json!({"alg": "ES256", "typ": "dbsc+jwt"}), json!({"jti": jti}))
    }
}

/// A refresh challenge, as a 403 or a refresh answer hands out.
fn mint(family: FamilyId, at: Timestamp, n: u8) -> String {
    challenge::mint(Purpose::Refresh, family, at, [n; 16], &config().session_keys)
}

/// A registration challenge, as only the login response hands out.
fn offer(family: FamilyId, at: Timestamp, n: u8) -> String {
    challenge::mint(Purpose::Register, family, at, [n; 16], &config().session_keys)
}

/// A logged-in object (family `ID`, user "ada") and its refresh cookie value.
fn logged_in(config: &Config) -> (FamilyObject, String) {
    let mut object = FamilyObject::loaded(None, T0);
    let login = FamilyCommand::Login {
        family: ID,
        sub: "ada".into(),
        ctx: None,
        remember: false,
        dbsc_offered: false,
        context: None,
        amr: None,
        auth_time: None,
    };
    let handled = object.handle(login, T0, config, RefreshSecret::from_bytes([9; 32])).unwrap();
    let Verdict::Granted { cookies, .. } = handled.verdict else { panic!("login") };
    let line = cookies.refresh.unwrap();
    let value = line.split(';').next().unwrap().strip_prefix(&format!("{REFRESH_COOKIE}=")).unwrap().to_owned();
    (object, value)
}

fn ask(object: &mut FamilyObject, command: FamilyCommand, now: Timestamp) -> FamilyHandled {
    object.handle(command, now, &config(), RefreshSecret::from_bytes([7; 32])).unwrap()
}

fn bind(object: &mut FamilyObject, device: &Device, jti: &str, now: Timestamp) -> FamilyHandled {
    ask(object, FamilyCommand::BindDevice { proof: device.registration(jti) }, now)
}

fn refresh_with(object: &mut FamilyObject, proof: String, now: Timestamp) -> FamilyHandled {
    ask(object, FamilyCommand::RefreshDevice { proof }, now)
}

fn refused(handled: &FamilyHandled) -> DeviceRefusal {
    match handled.verdict {
        Verdict::DeviceRefused { refusal } => refusal,
        ref other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The access cookie line of a device answer.
fn access_line(handled: &FamilyHandled) -> String {
    match &handled.verdict {
        Verdict::DeviceBound { cookies, .. } => {
            assert_eq!(cookies.refresh, None, "a bound family's answers never carry a refresh cookie");
            cookies.access.clone().expect("an access cookie")
        }
        other => panic!("expected DeviceBound, got {other:?}"),
    }
}

fn event_names(handled: &FamilyHandled) -> Vec<&'static str> {
    handled.events.iter().map(|e: &Event| e.name).collect()
}

/// A bound object: registered at T0 + 1 s with `device`.
fn bound(device: &Device) -> (FamilyObject, String) {
    let (mut object, refresh) = logged_in(&config());
    let handled = bind(&mut object, device, &offer(ID, T0, 1), T0 + secs(1));
    access_line(&handled);
    (object, refresh)
}

// ---------------------------------------------------------------------------------------
// Registration

#[test]
fn registration_binds_the_family_writes_it_and_answers_a_bound_access_cookie() {
    let device = Device::new(3);
    let (mut object, _) = logged_in(&config());
    let handled = bind(&mut object, &device, &offer(ID, T0, 1), T0 + secs(1));
    let line = access_line(&handled);
    assert!(line.starts_with(&format!("{ACCESS_COOKIE}=")) && line.ends_with("Max-Age=300"), "{line}");
    assert!(handled.row.is_some(), "the binding is written before the answer");
    assert_eq!(event_names(&handled), ["dbsc_registered"]);
    let family = object.family().unwrap();
    assert_eq!(family.device_key(), PublicKey::from_jwk(&device.jwk()).as_ref());
    // The row carries the binding through a restart.
    let row = family_row::decode(handled.row.as_deref().unwrap()).unwrap();
    assert_eq!(row.device_key(), family.device_key());
}

#[test]
fn the_bound_access_credential_outlives_its_cookie_by_grace_and_no_more() {
    let (mut object, _) = logged_in(&config());
    let at = T0 + secs(1);
    let line = access_line(&bind(&mut object, &Device::new(3), &offer(ID, T0, 1), at));
    let value = line.split(';').next().unwrap().strip_prefix(&format!("{ACCESS_COOKIE}=")).unwrap();
    let keys = &config().session_keys;
    // Cookie Max-Age 300; grace 30 (a request the browser queued just before it expired).
    assert!(AccessCredential::decode(value, keys, at + secs(329)).is_ok());
    assert!(AccessCredential::decode(value, keys, at + secs(330)).is_err());
}

#[test]
fn a_registration_needs_the_jwk_its_own_signature_and_a_challenge_of_this_family() {
    let device = Device::new(3);
    let thief = Device::new(4);
    let cases: Vec<(&str, String, DeviceRefusal)> = vec![
        ("no jwk", device.refresh(&offer(ID, T0, 1)), DeviceRefusal::BadProof),
        // Anyone holding the cookies gets refresh challenges, a thief with a copied jar too:
        // with one it must not bind an unbound family to its own key.
        ("a refresh challenge", device.registration(&mint(ID, T0, 1)), DeviceRefusal::StaleChallenge),
        (
            "signed by another key than its jwk",
            {
                let header = json!({"alg": "ES256", "typ": "dbsc+jwt", "jwk": device.jwk()});
                thief.sign_with(header, json!({"jti": offer(ID, T0, 1)}))
            },
            DeviceRefusal::BadProof,
        ),
        ("another family's challenge", device.registration(&offer(OTHER, T0, 1)), DeviceRefusal::StaleChallenge),
        (
            "a challenge past its lifetime",
            device.registration(&offer(ID, earlier(T0, 300), 1)),
            DeviceRefusal::StaleChallenge,
        ),
        ("a made-up challenge", device.registration("c1.k1.1700000000000.AAAA.AAAA"), DeviceRefusal::StaleChallenge),
        ("garbage", "garbage".into(), DeviceRefusal::BadProof),
    ];
    for (what, proof, expected) in cases {
        let (mut object, _) = logged_in(&config());
        let handled = ask(&mut object, FamilyCommand::BindDevice { proof }, T0 + secs(1));
        assert_eq!(refused(&handled), expected, "{what}");
        assert!(handled.row.is_none(), "{what}: nothing written");
        assert_eq!(event_names(&handled), ["dbsc_registration_failed"], "{what}");
        assert_eq!(object.family().unwrap().device_key(), None, "{what}: still unbound");
    }
}

#[test]
fn a_bound_family_keeps_its_key_a_retry_with_the_same_key_is_fine_and_a_challenge_is_spent_once() {
    let device = Device::new(3);
    let (mut object, _) = bound(&device);
    let other = bind(&mut object, &Device::new(4), &offer(ID, T0 + secs(2), 2), T0 + secs(3));
    assert_eq!(refused(&other), DeviceRefusal::OtherKey);
    assert_eq!(object.family().unwrap().device_key(), PublicKey::from_jwk(&device.jwk()).as_ref());
    access_line(&bind(&mut object, &device, &offer(ID, T0 + secs(2), 3), T0 + secs(3)));
    // The first registration's challenge was spent, and is no longer the last spent one.
    assert_eq!(refused(&bind(&mut object, &device, &offer(ID, T0, 1), T0 + secs(4))), DeviceRefusal::StaleChallenge);
}

#[test]
fn a_registration_retried_after_its_answer_was_lost_is_answered_again() {
    let device = Device::new(3);
    let (mut object, _) = logged_in(&config());
    let challenge = offer(ID, T0, 1);
    access_line(&bind(&mut object, &device, &challenge, T0 + secs(1)));
    // The answer never reached the browser; it sends the same registration again. Without
    // this the family is bound to a key its browser does not know it holds, and the
    // session dies with its access cookie.
    let retried = bind(&mut object, &device, &challenge, T0 + secs(20));
    assert!(access_line(&retried).ends_with("Max-Age=300"));
    assert_eq!(event_names(&retried), ["dbsc_registered"]);
    // The same challenge with another key is not a retry.
    assert_eq!(refused(&bind(&mut object, &Device::new(4), &challenge, T0 + secs(21))), DeviceRefusal::OtherKey);
    // And past GRACE_SECS from the binding, it is spent for good.
    assert_eq!(refused(&bind(&mut object, &device, &challenge, T0 + secs(31))), DeviceRefusal::StaleChallenge);
    assert_eq!(object.family().unwrap().device_key(), PublicKey::from_jwk(&device.jwk()).as_ref());
}

#[test]
fn a_family_offered_binding_that_comes_back_unbound_is_reported_once() {
    let config = config();
    let login = |offered| FamilyCommand::Login {
        family: ID,
        sub: "ada".into(),
        ctx: None,
        remember: false,
        dbsc_offered: offered,
        context: None,
        amr: None,
        auth_time: None,
    };
    let refresh_cookie = |handled: &FamilyHandled| {
        let Verdict::Granted { cookies, .. } = &handled.verdict else { panic!("login") };
        let line = cookies.refresh.clone().unwrap();
        line.split(';').next().unwrap().strip_prefix(&format!("{REFRESH_COOKIE}=")).unwrap().to_owned()
    };
    let mut object = FamilyObject::loaded(None, T0);
    let cookie = refresh_cookie(&object.handle(login(true), T0, &config, RefreshSecret::from_bytes([9; 32])).unwrap());
    let first = ask(
        &mut object,
        FamilyCommand::Refresh { cookie: cookie.clone(), skipped: None, context: None },
        T0 + secs(61),
    );
    assert!(first.dbsc_not_registered && first.row.is_some(), "reported, and written with the confirmation");
    assert_eq!(event_names(&first), ["dbsc_not_registered"]);
    let again = ask(&mut object, FamilyCommand::Refresh { cookie, skipped: None, context: None }, T0 + secs(122));
    assert!(!again.dbsc_not_registered && event_names(&again).is_empty(), "once per family");
    // Not offered (DBSC=off): nothing to report.
    let mut off = FamilyObject::loaded(None, T0);
    let cookie = refresh_cookie(&off.handle(login(false), T0, &config, RefreshSecret::from_bytes([9; 32])).unwrap());
    assert!(
        !ask(&mut off, FamilyCommand::Refresh { cookie, skipped: None, context: None }, T0 + secs(61))
            .dbsc_not_registered
    );
    // Offered and bound: never reported, and a copy of its refresh cookie is not a report.
    let mut bound_one = FamilyObject::loaded(None, T0);
    let cookie =
        refresh_cookie(&bound_one.handle(login(true), T0, &config, RefreshSecret::from_bytes([9; 32])).unwrap());
    access_line(&bind(&mut bound_one, &Device::new(3), &offer(ID, T0, 1), T0 + secs(1)));
    let copied = ask(&mut bound_one, FamilyCommand::Refresh { cookie, skipped: None, context: None }, T0 + secs(61));
    assert!(!copied.dbsc_not_registered);
    assert_eq!(event_names(&copied), ["dbsc_unbound_refresh_refused"]);
}

#[test]
fn a_skipped_refresh_is_not_the_copied_jar_alarm() {
    let (mut object, refresh) = bound(&Device::new(3));
    let skipped = Some("server_error".to_owned());
    let handled = ask(&mut object, FamilyCommand::Refresh { cookie: refresh, skipped, context: None }, T0 + secs(400));
    assert_eq!(handled.verdict, Verdict::Refused { refusal: Refusal::DeviceBound }, "anonymous all the same");
    assert_eq!(event_names(&handled), ["dbsc_refresh_skipped"]);
    assert!(handled.events[0].fields.contains(&("reason", "server_error".to_owned())));
}

#[test]
fn a_copied_jar_cannot_silence_its_security_event_by_saying_it_skipped() {
    // `Secure-Session-Skipped` is the client's to send: a thief who read the spec sends it
    // too. The event still goes out, with the reason, for the receiver to weigh.
    let with_events = Config::from_vars(|name| match name {
        "EVENTS_SECRET" => Some("e1:abcdefabcdefabcdefabcdefabcdefab".into()),
        other => config_var(other),
    })
    .unwrap();
    let (mut object, refresh) = bound(&Device::new(3));
    for skipped in [Some("unreachable"), None] {
        let command =
            FamilyCommand::Refresh { cookie: refresh.clone(), skipped: skipped.map(str::to_owned), context: None };
        let handled = object.handle(command, T0 + secs(400), &with_events, RefreshSecret::from_bytes([7; 32])).unwrap();
        assert_eq!(handled.verdict, Verdict::Refused { refusal: Refusal::DeviceBound });
    }
    let due = object.due_events(T0 + secs(400), &[Transport::Webhook]);
    let jars: Vec<_> = due.iter().filter(|d| d.event.kind == "session.copied_jar").map(|d| &d.event).collect();
    assert_eq!(jars.len(), 1, "reported once: the same kind is not repeated within a quarter hour");
    assert_eq!(jars[0].skipped.as_deref(), Some("unreachable"));
    assert!(jars[0].device.bound);
}

#[test]
fn no_family_or_an_ended_one_cannot_be_bound() {
    let device = Device::new(3);
    let mut empty = FamilyObject::loaded(None, T0);
    assert_eq!(refused(&bind(&mut empty, &device, &offer(ID, T0, 1), T0)), DeviceRefusal::Ended);
    let (mut object, _) = logged_in(&config());
    ask(&mut object, FamilyCommand::Logout, T0);
    assert_eq!(refused(&bind(&mut object, &device, &offer(ID, T0, 1), T0 + secs(1))), DeviceRefusal::Ended);
    let (mut idle, _) = logged_in(&config());
    let late = T0 + secs(1980); // idle (1800 s) and its step (180 s) after the login
    assert_eq!(refused(&bind(&mut idle, &device, &offer(ID, late, 1), late)), DeviceRefusal::Ended);
}

// ---------------------------------------------------------------------------------------
// A copied cookie jar

#[test]
fn a_bound_familys_refresh_cookie_alone_identifies_no_one_and_never_revokes() {
    let (mut object, refresh) = bound(&Device::new(3));
    for at in [T0 + secs(2), T0 + secs(1000), T0 + secs(1001)] {
        let handled =
            ask(&mut object, FamilyCommand::Refresh { cookie: refresh.clone(), skipped: None, context: None }, at);
        assert_eq!(handled.verdict, Verdict::Refused { refusal: Refusal::DeviceBound });
        assert!(handled.row.is_none(), "nothing written");
        assert_eq!(event_names(&handled), ["dbsc_unbound_refresh_refused"]);
    }
    // A retired generation would be reuse (and revoke) in an unbound family: not here.
    let old = RefreshCredential { family: ID, generation: 1, secret: RefreshSecret::from_bytes([0; 32]) };
    let handled = ask(
        &mut object,
        FamilyCommand::Refresh { cookie: old.encode(&config().session_keys), skipped: None, context: None },
        T0 + secs(5),
    );
    assert_eq!(handled.verdict, Verdict::Refused { refusal: Refusal::DeviceBound });
    assert!(!object.family().unwrap().is_revoked());
    assert!(object.family().unwrap().device_key().is_some());
}

// ---------------------------------------------------------------------------------------
// Refresh

#[test]
fn a_refresh_proof_by_the_bound_key_gets_a_new_access_cookie_once_per_challenge() {
    let device = Device::new(3);
    let (mut object, _) = bound(&device);
    let at = T0 + secs(200);
    let proof = device.refresh(&mint(ID, at, 5));
    let handled = refresh_with(&mut object, proof.clone(), at);
    assert!(access_line(&handled).ends_with("Max-Age=300"));
    assert!(handled.row.is_some(), "the spent challenge is written: single use survives a restart");
    assert_eq!(event_names(&handled), ["dbsc_refreshed"]);
    // The same proof again within GRACE_SECS (refreshes racing, or a retry after a lost
    // answer; the spec asks servers to accept a slightly stale challenge): answered again.
    access_line(&refresh_with(&mut object, proof.clone(), at + secs(29)));
    // Past that: refused, and the browser would get a fresh challenge.
    let replay = refresh_with(&mut object, proof, at + secs(30));
    assert_eq!(refused(&replay), DeviceRefusal::StaleChallenge);
    assert!(replay.row.is_none());
    assert_eq!(event_names(&replay), ["dbsc_refresh_failed"]);
    // An older challenge, never used, is spent too: challenges are spent in issue order,
    // and only the last spent one has the window.
    let older = refresh_with(&mut object, device.refresh(&mint(ID, earlier(at, 10), 6)), at + secs(2));
    assert_eq!(refused(&older), DeviceRefusal::StaleChallenge);
}

#[test]
fn the_last_spent_challenge_is_good_again_only_for_the_bound_key_and_only_while_it_is_the_last() {
    let device = Device::new(3);
    let (mut object, _) = bound(&device);
    let at = T0 + secs(200);
    let first = mint(ID, at, 5);
    access_line(&refresh_with(&mut object, device.refresh(&first), at));
    // Another key over the same challenge: not the device's proof.
    let thief = refresh_with(&mut object, Device::new(4).refresh(&first), at + secs(1));
    assert_eq!(refused(&thief), DeviceRefusal::BadProof);
    // A newer challenge spent: the older one has no window any more.
    access_line(&refresh_with(&mut object, device.refresh(&mint(ID, at + secs(2), 6)), at + secs(2)));
    assert_eq!(
        refused(&refresh_with(&mut object, device.refresh(&first), at + secs(3))),
        DeviceRefusal::StaleChallenge
    );
}

#[test]
fn the_spent_challenge_survives_a_restart() {
    let device = Device::new(3);
    let (mut object, _) = bound(&device);
    let at = T0 + secs(200);
    let proof = device.refresh(&mint(ID, at, 5));
    let row = refresh_with(&mut object, proof.clone(), at).row.unwrap();
    let mut restarted = FamilyObject::loaded(Some(family_row::decode(&row).unwrap()), at + secs(1));
    // When it was spent is written too: its window does not restart with the object.
    access_line(&refresh_with(&mut restarted.clone(), proof.clone(), at + secs(29)));
    assert_eq!(refused(&refresh_with(&mut restarted, proof, at + secs(30))), DeviceRefusal::StaleChallenge);
}

#[test]
fn every_refresh_refusal_branch() {
    let device = Device::new(3);
    let thief = Device::new(4);
    let at = T0 + secs(200);
    let challenge = mint(ID, at, 5);
    let thief_with_jwk =
        thief.sign_with(json!({"alg": "ES256", "typ": "dbsc+jwt", "jwk": thief.jwk()}), json!({"jti": challenge}));
    let cases: Vec<(&str, String, DeviceRefusal)> = vec![
        ("another key", thief.refresh(&challenge), DeviceRefusal::BadProof),
        ("another key that names itself in a jwk", thief_with_jwk, DeviceRefusal::BadProof),
        ("another family's challenge", device.refresh(&mint(OTHER, at, 5)), DeviceRefusal::StaleChallenge),
        ("a registration challenge", device.refresh(&offer(ID, at, 5)), DeviceRefusal::StaleChallenge),
        ("an expired challenge", device.refresh(&mint(ID, earlier(at, 300), 5)), DeviceRefusal::StaleChallenge),
        ("a challenge from the future", device.refresh(&mint(ID, at + secs(31), 5)), DeviceRefusal::StaleChallenge),
        ("not a proof", "a.b.c".into(), DeviceRefusal::BadProof),
    ];
    for (what, proof, expected) in cases {
        let (mut object, _) = bound(&device);
        let handled = refresh_with(&mut object, proof, at);
        assert_eq!(refused(&handled), expected, "{what}");
        assert!(handled.row.is_none(), "{what}");
    }
    // An unbound family has no key to check against.
    let (mut unbound, _) = logged_in(&config());
    assert_eq!(refused(&refresh_with(&mut unbound, device.refresh(&challenge), at)), DeviceRefusal::NotBound);
    // Ended: logged out, expired, or gone.
    let (mut out, _) = bound(&device);
    ask(&mut out, FamilyCommand::Logout, at);
    assert_eq!(refused(&refresh_with(&mut out, device.refresh(&challenge), at)), DeviceRefusal::Ended);
    let (mut idle, _) = bound(&device);
    let late = T0 + secs(1981); // idle (1800 s) and its step (180 s) after the binding
    assert_eq!(refused(&refresh_with(&mut idle, device.refresh(&mint(ID, late, 5)), late)), DeviceRefusal::Ended);
    let mut empty = FamilyObject::loaded(None, at);
    assert_eq!(refused(&refresh_with(&mut empty, device.refresh(&challenge), at)), DeviceRefusal::Ended);
}

#[test]
fn refreshes_keep_an_active_bound_family_alive_past_the_idle_timeout() {
    let device = Device::new(3);
    let (mut object, _) = bound(&device);
    // Every 4 minutes for an hour: well past the 30-minute idle timeout.
    for n in 1..=15u64 {
        let at = T0 + secs(240 * n);
        access_line(&refresh_with(&mut object, device.refresh(&mint(ID, at, n as u8)), at));
    }
}

// ---------------------------------------------------------------------------------------
// Tampering

#[test]
fn every_single_byte_change_to_a_proof_is_refused() {
    let device = Device::new(3);
    let at = T0 + secs(200);
    let proof = device.refresh(&mint(ID, at, 5));
    let (object, _) = bound(&device);
    let replacements = [b'A', b'_', b'.', b'=', 0xff];
    let mut tried = 0;
    for i in 0..proof.len() {
        for &r in &replacements {
            let mut bytes = proof.clone().into_bytes();
            if bytes[i] == r {
                continue;
            }
            bytes[i] = r;
            let tampered = String::from_utf8_lossy(&bytes).into_owned();
            let mut fresh = object.clone();
            let handled = refresh_with(&mut fresh, tampered.clone(), at);
            assert!(matches!(handled.verdict, Verdict::DeviceRefused { .. }), "byte {i} -> {r:#x}: {tampered}");
            tried += 1;
        }
    }
    assert!(tried > 4 * proof.len());
    // The original still works, so the loop tested something.
    let mut fresh = object.clone();
    access_line(&refresh_with(&mut fresh, proof, at));
}

#[test]
fn the_header_rules_refuse_alg_confusion_types_crit_and_bad_keys() {
    let device = Device::new(3);
    let jti = json!({"jti": "x"});
    let cases: Vec<(&str, Value, ProofError)> = vec![
        ("alg none", json!({"alg": "none", "typ": "dbsc+jwt"}), ProofError::UnsupportedAlgorithm),
        ("alg HS256", json!({"alg": "HS256", "typ": "dbsc+jwt"}), ProofError::UnsupportedAlgorithm),
        ("alg RS256", json!({"alg": "RS256", "typ": "dbsc+jwt"}), ProofError::UnsupportedAlgorithm),
        ("alg lowercase", json!({"alg": "es256", "typ": "dbsc+jwt"}), ProofError::UnsupportedAlgorithm),
        ("no alg", json!({"typ": "dbsc+jwt"}), ProofError::UnsupportedAlgorithm),
        ("wrong typ", json!({"alg": "ES256", "typ": "JWT"}), ProofError::WrongType),
        ("no typ", json!({"alg": "ES256"}), ProofError::WrongType),
        ("crit", json!({"alg": "ES256", "typ": "dbsc+jwt", "crit": ["b64"]}), ProofError::CriticalHeader),
        (
            "rsa jwk",
            json!({"alg": "ES256", "typ": "dbsc+jwt", "jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}),
            ProofError::BadKey,
        ),
        (
            "P-384 jwk",
            json!({"alg": "ES256", "typ": "dbsc+jwt", "jwk": {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}}),
            ProofError::BadKey,
        ),
        (
            "private jwk",
            {
                let mut jwk = device.jwk();
                jwk["d"] = json!(base64url::encode([3u8; 32]));
                json!({"alg": "ES256", "typ": "dbsc+jwt", "jwk": jwk})
            },
            ProofError::BadKey,
        ),
        (
            "point off the curve",
            {
                let mut jwk = device.jwk();
                jwk["y"] = json!(base64url::encode([1u8; 32]));
                json!({"alg": "ES256", "typ": "dbsc+jwt", "jwk": jwk})
            },
            ProofError::BadKey,
        ),
    ];
    for (what, header, expected) in cases {
        assert_eq!(Proof::parse(&device.sign_with(header, jti.clone())), Err(expected), "{what}");
    }
    let typ = json!({"alg": "ES256", "typ": "DBSC+JWT"});
    assert!(
        Proof::parse(&device.sign_with(typ, jti.clone())).is_ok(),
        "typ compares case-insensitively (RFC 7515 §4.1.9)"
    );
    for payload in [json!({}), json!({"jti": 5}), json!({"jti": "x".repeat(257)}), json!(["jti"])] {
        let proof = device.sign_with(json!({"alg": "ES256", "typ": "dbsc+jwt"}), payload.clone());
        assert_eq!(Proof::parse(&proof), Err(ProofError::Malformed), "{payload}");
    }
    assert_eq!(Proof::parse(&"a".repeat(5000)), Err(ProofError::TooLarge));
    // A DER signature (what some libraries produce) is not a JWS signature.
    let good = device.refresh("x");
    let (input, _) = good.rsplit_once('.').unwrap();
    let der: Signature = device.0.sign(input.as_bytes());
    let der_proof = format!("{input}.{}", base64url::encode(der.to_der().as_bytes()));
    assert_eq!(Proof::parse(&der_proof), Err(ProofError::Malformed));
}

#[test]
fn the_signature_check_agrees_with_rfc_7515s_es256_example() {
    // RFC 7515 Appendix A.3: an ES256 JWS and its key, made by someone else entirely.
    let jwk = json!({
        "kty": "EC", "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    });
    let key = PublicKey::from_jwk(&jwk).unwrap();
    let input = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    let signature =
        base64url::decode("DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q")
            .unwrap();
    assert!(key.verifies(input.as_bytes(), &signature));
    let mut flipped = signature.clone();
    flipped[10] ^= 1;
    assert!(!key.verifies(input.as_bytes(), &flipped));
    assert!(!key.verifies(b"another message", &signature));
    // The stored form round-trips.
    assert_eq!(PublicKey::from_sec1(&key.to_sec1()), Some(key));
}

// ---------------------------------------------------------------------------------------
// The endpoints, before any object

fn cookie_header(family: FamilyId) -> String {
    let cred = RefreshCredential { family, generation: 1, secret: RefreshSecret::from_bytes([9; 32]) };
    format!("{REFRESH_COOKIE}={}", cred.encode(&config().session_keys))
}

#[test]
fn a_refresh_without_a_proof_is_challenged_by_the_worker_alone() {
    let keys = &config().session_keys;
    let header = cookie_header(ID);
    let p = presented(&header, keys, T0, NO_KILL_SWITCH);
    let id = ID.to_string();
    assert_eq!(refresh_step(Some(&id), None, &p, keys, T0), DeviceStep::Challenge(ID));
    // Chromium sends the id bare; RFC 8941 would quote it. Both name the session.
    assert_eq!(refresh_step(Some(&format!("\"{id}\"")), None, &p, keys, T0), DeviceStep::Challenge(ID));
    // No cookie of that family: no challenge, no object.
    let nobody = presented("", keys, T0, NO_KILL_SWITCH);
    assert_eq!(refresh_step(Some(&id), None, &nobody, keys, T0), DeviceStep::Refuse(DeviceRefusal::NoSession));
    let theirs = cookie_header(OTHER);
    let other = presented(&theirs, keys, T0, NO_KILL_SWITCH);
    assert_eq!(refresh_step(Some(&id), None, &other, keys, T0), DeviceStep::Refuse(DeviceRefusal::NoSession));
    for bad in [None, Some(""), Some("\"\""), Some("not-an-id"), Some("\"unterminated")] {
        assert_eq!(refresh_step(bad, None, &p, keys, T0), DeviceStep::Refuse(DeviceRefusal::NoSession), "{bad:?}");
    }
    let forged = format!("{REFRESH_COOKIE}=r1.k1.{id}.1.AAAA.AAAA");
    let forged = presented(&forged, keys, T0, NO_KILL_SWITCH);
    assert_eq!(refresh_step(Some(&id), None, &forged, keys, T0), DeviceStep::Refuse(DeviceRefusal::NoSession));
}

#[test]
fn only_a_well_formed_proof_with_a_live_challenge_reaches_the_object() {
    let keys = &config().session_keys;
    let header = cookie_header(ID);
    let p = presented(&header, keys, T0, NO_KILL_SWITCH);
    let id = ID.to_string();
    let device = Device::new(3);
    let good = device.refresh(&mint(ID, T0, 1));
    assert_eq!(refresh_step(Some(&id), Some(&good), &p, keys, T0), DeviceStep::Ask { family: ID, proof: &good });
    let quoted = format!("\"{good}\"");
    assert_eq!(refresh_step(Some(&id), Some(&quoted), &p, keys, T0), DeviceStep::Ask { family: ID, proof: &good });
    let stale = device.refresh(&mint(ID, earlier(T0, 301), 1));
    assert_eq!(refresh_step(Some(&id), Some(&stale), &p, keys, T0), DeviceStep::Challenge(ID));
    let theirs = device.refresh(&mint(OTHER, T0, 1));
    assert_eq!(refresh_step(Some(&id), Some(&theirs), &p, keys, T0), DeviceStep::Challenge(ID));
    assert_eq!(refresh_step(Some(&id), Some("junk"), &p, keys, T0), DeviceStep::Refuse(DeviceRefusal::BadProof));

    let registration = device.registration(&offer(ID, T0, 1));
    assert_eq!(
        register_step(Some(&registration), &p, keys, T0, true),
        DeviceStep::Ask { family: ID, proof: &registration }
    );
    assert_eq!(register_step(Some(&registration), &p, keys, T0, false), DeviceStep::Refuse(DeviceRefusal::NotOffered));
    assert_eq!(register_step(Some(&good), &p, keys, T0, true), DeviceStep::Refuse(DeviceRefusal::BadProof), "no jwk");
    assert_eq!(register_step(None, &p, keys, T0, true), DeviceStep::Refuse(DeviceRefusal::BadProof));
    let nobody = presented("", keys, T0, NO_KILL_SWITCH);
    assert_eq!(
        register_step(Some(&registration), &nobody, keys, T0, true),
        DeviceStep::Refuse(DeviceRefusal::NoSession)
    );
}

#[test]
fn answers_use_the_statuses_the_browser_acts_on() {
    let challenge = mint(ID, T0, 1);
    let stale = refusal_answer(DeviceRefusal::StaleChallenge, Some(ID), &challenge);
    assert_eq!(stale.status, 403);
    assert_eq!(stale.headers, vec![(CHALLENGE_HEADER, format!("\"{challenge}\";id=\"{ID}\""))]);
    // Everything else that should end the browser's session is a 4xx other than 403.
    for (refusal, status) in [
        (DeviceRefusal::Ended, 401),
        (DeviceRefusal::NotBound, 401),
        (DeviceRefusal::NoSession, 401),
        (DeviceRefusal::BadProof, 400),
        (DeviceRefusal::OtherKey, 409),
        (DeviceRefusal::NotOffered, 404),
    ] {
        let answer = refusal_answer(refusal, Some(ID), &challenge);
        assert_eq!(answer.status, status, "{refusal:?}");
        assert!(answer.headers.is_empty(), "{refusal:?}: no challenge, so the browser ends its session");
    }
}

#[test]
fn the_session_instructions_are_what_chromium_requires() {
    let v: Value = serde_json::from_str(&instructions(ID)).unwrap();
    assert_eq!(v["session_identifier"], ID.to_string());
    assert_eq!(v["refresh_url"], dbsc::REFRESH_PATH);
    assert_eq!(v["scope"]["include_site"], false, "required, and must be false on localhost");
    let credentials = v["credentials"].as_array().unwrap();
    assert_eq!(credentials.len(), 1);
    assert_eq!(credentials[0]["type"], "cookie");
    assert_eq!(credentials[0]["name"], ACCESS_COOKIE);
    let attributes = credentials[0]["attributes"].as_str().unwrap();
    assert!(
        !attributes.to_ascii_lowercase().contains("max-age"),
        "Chromium refuses a session whose attributes carry one"
    );
    let cookies = edge_session::session::GrantCookies { access: Some("a".into()), refresh: None };
    let answer = bound_answer(ID, &cookies, &mint(ID, T0, 1));
    assert_eq!(answer.status, 200);
    assert!(answer.headers.iter().any(|(n, v)| *n == "Set-Cookie" && v == "a"));
    assert!(answer.headers.iter().any(|(n, _)| *n == CHALLENGE_HEADER), "the next refresh's challenge");
}

#[test]
fn the_registration_offer_names_es256_the_path_and_the_challenge() {
    assert_eq!(dbsc::registration_offer("c"), "(ES256);path=\"/__edge/dbsc/register\";challenge=\"c\"");
}

// ---------------------------------------------------------------------------------------
// Arbitrary input

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_proof_parser(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = Proof::parse(&text);
        let _ = challenge::check(&text, Purpose::Refresh, ID, &config().session_keys, T0);
    }

    #[test]
    fn arbitrary_three_part_tokens_never_bind_or_refresh(
        header in "[A-Za-z0-9_-]{0,80}", payload in "[A-Za-z0-9_-]{0,80}", signature in "[A-Za-z0-9_-]{0,100}",
    ) {
        let token = format!("{header}.{payload}.{signature}");
        let (mut object, _) = bound(&Device::new(3));
        let refreshed = refresh_with(&mut object, token.clone(), T0 + secs(10));
        prop_assert!(matches!(refreshed.verdict, Verdict::DeviceRefused { .. }), "{:?}", refreshed.verdict);
        let (mut unbound, _) = logged_in(&config());
        let registered = ask(&mut unbound, FamilyCommand::BindDevice { proof: token }, T0 + secs(10));
        prop_assert!(matches!(registered.verdict, Verdict::DeviceRefused { .. }), "{:?}", registered.verdict);
    }

    #[test]
    fn arbitrary_json_headers_and_payloads_never_panic(header in any::<String>(), payload in any::<String>()) {
        let device = Device::new(3);
        let proof = device.sign_with(Value::String(header.clone()), Value::String(payload.clone()));
        prop_assert!(Proof::parse(&proof).is_err(), "a JSON string is not an object");
        let header = json!({"alg": "ES256", "typ": "dbsc+jwt", "x": header});
        let _ = Proof::parse(&device.sign_with(header, json!({"jti": payload})));
    }
}

#[test]
fn the_kill_switch_ends_a_bound_family_for_good_at_its_refresh_endpoint() {
    let device = Device::new(3);
    let (mut object, _) = bound(&device);
    let at = T0 + secs(200);
    let mut killed = config();
    killed.policy.not_before = T0 + secs(100);
    let proof = device.refresh(&mint(ID, at, 5));
    let handled =
        object.handle(FamilyCommand::RefreshDevice { proof }, at, &killed, RefreshSecret::from_bytes([7; 32])).unwrap();
    assert_eq!(refused(&handled), DeviceRefusal::Ended);
    assert!(handled.row.is_some() && handled.alarm == Some(at), "revoked, written, and deleted by the alarm now");
    assert!(object.family().unwrap().is_revoked(), "lowering the switch later revives nothing");
}

#[test]
fn a_proof_dated_for_later_is_refused_like_any_token_with_nbf() {
    let device = Device::new(3);
    let (object, _) = bound(&device);
    let at = T0 + secs(200);
    let challenge = mint(ID, at, 5);
    let dated = |nbf: Value| {
        device.sign_with(json!({"alg": "ES256", "typ": "dbsc+jwt"}), json!({"jti": challenge, "nbf": nbf}))
    };
    access_line(&refresh_with(&mut object.clone(), dated(json!(at.as_secs() + 30)), at));
    assert_eq!(
        refused(&refresh_with(&mut object.clone(), dated(json!(at.as_secs() + 31)), at)),
        DeviceRefusal::BadProof
    );
    assert_eq!(refused(&refresh_with(&mut object.clone(), dated(json!("later")), at)), DeviceRefusal::BadProof);
}
