//! Every parser the edge exposes to the outside, fed arbitrary and near-valid input.
//!
//! Property for all of them: a typed error or a value, never a panic, and never an
//! acceptance of something nobody signed. Round trips: encode → decode is the identity
//! for random credentials, sign → verify for random claims. (The `Cookie` header has its
//! own file, `cookie_header.rs`, with a reference reading to compare against.) Accepted inputs are checked
//! against the rules they passed (postconditions), not against a second implementation.
//! Case counts keep the whole file near 6 s in a debug build on two cores.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use edge_session::config::{Config, MAX_GRACE_SECS};
use edge_session::crypto::jws::{self, CLOCK_SKEW, Expect};
use edge_session::crypto::{KeyRing, MAX_KEYS, MAX_SECRET_LEN, MIN_SECRET_LEN, is_valid_kid};
use edge_session::origin::{
    ASSERTION_TTL_SECS, ASSERTION_TYPE, Assertion, DIRECTIVE_MAX_LIFETIME_SECS, EDGE_AUDIENCE, EDGE_ISSUER, LOGIN_TYPE,
    LOGOUT_TYPE, Login, Logout, LogoutScope, MAX_AMR, MAX_AMR_LEN, RequestNonce,
};
use edge_session::session::SessionState;
use edge_session::session::{
    AccessCredential, FamilyId, Identity, MAX_ACCESS_LEN, MAX_CTX_LEN, MAX_REFRESH_LEN, MAX_SUB_LEN, RefreshCredential,
    RefreshSecret,
};
use edge_session::time::Timestamp;

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const OTHER_SECRET: &str = "fedcba9876543210fedcba9876543210";
const ORIGIN_AUDIENCE: &str = "origin";
const T0: u64 = 1_700_000_000;

fn ring() -> KeyRing {
    KeyRing::parse(&format!("k1:{SECRET}")).unwrap()
}

fn t0() -> Timestamp {
    Timestamp::from_secs(T0)
}

/// The `X-Edge-Nonce` of the request every directive here answers.
const NONCE: &str = "CQkJCQkJCQkJCQkJCQkJCQ";

fn nonce() -> RequestNonce {
    let nonce = RequestNonce::from_bytes([9; 16]);
    assert_eq!(nonce.as_str(), NONCE);
    nonce
}

/// Case counts are sized per property: the whole file runs in about 6 s (debug, two
/// cores) in `npm test`. `FUZZ_SCALE=N` multiplies every count for a longer run on
/// demand (`npm run fuzz`).
fn cases(n: u32) -> ProptestConfig {
    let scale: u32 = std::env::var("FUZZ_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    ProptestConfig { cases: n.saturating_mul(scale.max(1)), ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------------------
// Strategies

/// Arbitrary text: any Unicode string, or arbitrary bytes made UTF-8.
fn garbage() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), vec(any::<u8>(), 0..300).prop_map(|b| String::from_utf8_lossy(&b).into_owned())]
}

/// Dot-joined base64url segments, optionally behind a real-looking prefix.
fn dotted(prefixes: &'static [&'static str]) -> impl Strategy<Value = String> {
    let segment = prop_oneof!["[A-Za-z0-9_-]{0,64}", Just(B64.encode([0u8; 32])), "[A-Za-z0-9_=+/ -]{0,8}"];
    (prop::sample::select(prefixes), vec(segment, 0..8)).prop_map(|(p, s)| format!("{p}{}", s.join(".")))
}

/// One of a few literal strings.
fn one_of(values: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(values).prop_map(String::from)
}

/// A genuine value with a random range replaced by random base64url text.
fn spliced(genuine: String) -> impl Strategy<Value = (String, String)> {
    let len = genuine.len();
    (0..=len, 0..=len, "[A-Za-z0-9_.=-]{0,12}").prop_map(move |(a, b, insert)| {
        let (a, b) = (a.min(b), a.max(b));
        (genuine.clone(), format!("{}{insert}{}", &genuine[..a], &genuine[b..]))
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    // No floats: serde_json parses them best-effort, which would make round trips flaky.
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            btree_map("[a-z]{0,6}", inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    btree_map("[a-z_]{1,8}", json_value(), 0..5).prop_map(|m| m.into_iter().collect())
}

/// A `sub` a login accepts: 1–256 bytes, no control characters.
fn valid_sub() -> impl Strategy<Value = String> {
    prop_oneof!["[^\\p{Cc}]{1,40}", Just("\"".repeat(MAX_SUB_LEN)), "[a-z]{256}"]
        .prop_filter("1–256 bytes", |s| !s.is_empty() && s.len() <= MAX_SUB_LEN)
}

/// A `ctx` a login accepts: an object of at most 1 KiB serialized.
fn valid_ctx() -> impl Strategy<Value = Option<Map<String, Value>>> {
    prop::option::of(json_object())
        .prop_filter("≤ 1 KiB", |c| c.as_ref().is_none_or(|c| serde_json::to_vec(c).unwrap().len() <= MAX_CTX_LEN))
}

fn identity() -> impl Strategy<Value = Identity> {
    (valid_sub(), valid_ctx()).prop_map(|(sub, ctx)| Identity { sub, ctx, auth_time: None, amr: None })
}

/// Secrets a key ring accepts (no whitespace, control characters or commas).
fn ring_secret() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_=+/!@#$%^&*:.~-]{32,80}"
}

/// A valid ring: 1–8 pairs with distinct valid kids; the text and the kids in order.
fn valid_ring() -> impl Strategy<Value = (String, Vec<String>)> {
    let pairs = btree_map("[A-Za-z0-9_-]{1,16}", ring_secret(), 1..=MAX_KEYS)
        .prop_map(|m| m.into_iter().collect::<Vec<_>>())
        .prop_shuffle();
    (pairs, prop::sample::select(vec![",", ", ", " , "])).prop_map(|(pairs, sep)| {
        let text = pairs.iter().map(|(k, s)| format!("{k}:{s}")).collect::<Vec<_>>().join(sep);
        (text, pairs.into_iter().map(|(k, _)| k).collect())
    })
}

/// Near-valid ring text: pairs whose parts are sometimes wrong.
fn ring_text() -> impl Strategy<Value = String> {
    let kid = prop_oneof![3 => "[A-Za-z0-9_-]{1,16}", 1 => "[ -~]{0,20}", 1 => "\\PC{0,4}"];
    let secret = prop_oneof![3 => ring_secret(), 1 => "[ -~]{0,40}", 1 => "[a-z]{500,520}", 1 => "\\PC{28,36}"];
    let pair = prop_oneof![4 => (kid, secret).prop_map(|(k, s)| format!("{k}:{s}")), 1 => "[ -~]{0,20}"];
    vec(pair, 0..11).prop_map(|p| p.join(","))
}

// ---------------------------------------------------------------------------------------
// Credentials

fn genuine_refresh() -> String {
    RefreshCredential {
        family: FamilyId::from_bytes([7; 16]),
        generation: 3,
        secret: RefreshSecret::from_bytes([9; 32]),
    }
    .encode(&ring())
}

fn genuine_access() -> String {
    let alice = Identity { sub: "alice".into(), ctx: None, auth_time: None, amr: None };
    AccessCredential::new(&alice, FamilyId::from_bytes([1; 16]), t0(), t0() + Duration::from_secs(60)).encode(&ring())
}

proptest! {
    #![proptest_config(cases(1500))]

    #[test]
    fn refresh_decode_refuses_what_nobody_signed(
        value in prop_oneof![garbage(), dotted(&["r1.k1.", "r1.", "a1.k1.", ""])],
    ) {
        prop_assert!(RefreshCredential::decode(&value, &ring()).is_err());
    }

    #[test]
    fn refresh_decode_refuses_every_splice((genuine, value) in spliced(genuine_refresh())) {
        let result = RefreshCredential::decode(&value, &ring());
        prop_assert_eq!(result.is_ok(), value == genuine);
    }

    #[test]
    fn access_decode_refuses_what_nobody_signed(
        value in prop_oneof![garbage(), dotted(&["a1.k1.", "a1.", "r1.k1.", ""])],
        now in any::<u64>(),
    ) {
        prop_assert!(AccessCredential::decode(&value, &ring(), Timestamp::from_millis(now)).is_err());
    }

    #[test]
    fn access_decode_refuses_every_splice((genuine, value) in spliced(genuine_access())) {
        let result = AccessCredential::decode(&value, &ring(), t0());
        prop_assert_eq!(result.is_ok(), value == genuine);
    }
}

proptest! {
    #![proptest_config(cases(500))]

    #[test]
    fn refresh_round_trips_under_any_ring(
        (text, kids) in valid_ring(),
        family in any::<[u8; 16]>(),
        generation in prop_oneof![any::<u64>(), Just(u64::MAX), 0..10u64],
        secret in any::<[u8; 32]>(),
    ) {
        let keys = KeyRing::parse(&text).unwrap();
        let (family, secret) = (FamilyId::from_bytes(family), RefreshSecret::from_bytes(secret));
        let cred = RefreshCredential { family, generation, secret };
        let value = cred.encode(&keys);
        prop_assert!(value.len() <= MAX_REFRESH_LEN, "{} bytes", value.len());
        let signed_by = format!(".{}.", kids[0]);
        prop_assert!(value.contains(&signed_by));
        prop_assert_eq!(RefreshCredential::decode(&value, &keys), Ok(cred));
    }

    #[test]
    fn any_identity_a_login_accepts_fits_an_access_cookie(
        identity in identity(),
        family in any::<[u8; 16]>(),
        ttl_ms in 1..u64::MAX / 2,
        now in 0..u64::MAX / 2,
    ) {
        let now = Timestamp::from_millis(now);
        let cred = AccessCredential::new(&identity, FamilyId::from_bytes(family), now, now + Duration::from_millis(ttl_ms));
        let value = cred.encode(&ring());
        prop_assert!(value.len() <= MAX_ACCESS_LEN, "{} bytes", value.len());
        let decoded = AccessCredential::decode(&value, &ring(), now).unwrap();
        prop_assert_eq!(decoded.identity(), identity);
        prop_assert_eq!(decoded, cred);
    }
}

// ---------------------------------------------------------------------------------------
// JWS and directives

/// A header field or claim: mostly one of `good`, sometimes one of `bad`, sometimes absent.
fn pick(good: Vec<Value>, bad: Vec<Value>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        40 => prop::sample::select(good).prop_map(Some),
        2 => prop::sample::select(bad).prop_map(Some),
        1 => Just(None),
    ]
}

fn time_claim(good: std::ops::Range<i64>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        16 => good.prop_map(|d| Some(json!(T0 as i64 + d))),
        1 => Just(Some(json!(T0 as f64 + 0.5))),
        1 => prop::sample::select(vec![json!("soon"), json!(-1), json!(null), json!(u64::MAX)]).prop_map(Some),
        1 => Just(None),
    ]
}

/// A token with a random header and random claims, each field usually valid, signed
/// with the right key (0), the right kid with another secret (1), or not at all (2).
#[derive(Debug, Clone)]
struct Forged {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signer: u8,
    token: String,
}

fn forged() -> impl Strategy<Value = Forged> {
    // Each token is aimed at one kind (its typ, aud and lifetime), then fields go wrong.
    let targets = vec![
        (LOGIN_TYPE, EDGE_AUDIENCE, 300i64),
        (LOGOUT_TYPE, EDGE_AUDIENCE, 300),
        (ASSERTION_TYPE, ORIGIN_AUDIENCE, 60),
    ];
    prop::sample::select(targets).prop_flat_map(|(typ, aud, lifetime)| forged_for(typ, aud, lifetime))
}

fn forged_for(typ: &'static str, aud: &'static str, lifetime: i64) -> impl Strategy<Value = Forged> {
    let header = (
        pick(vec![json!("HS256")], vec![json!("none"), json!("HS384"), json!("hs256"), json!(null)]),
        pick(
            vec![json!(typ), json!(typ.to_uppercase())],
            vec![json!(LOGIN_TYPE), json!(LOGOUT_TYPE), json!(ASSERTION_TYPE), json!("jwt+x"), json!(""), json!(1)],
        ),
        pick(vec![json!("k1")], vec![json!("k2"), json!(""), json!(7)]),
        prop::option::weighted(0.05, Just(json!(["exp"]))),
        json_object(),
    );
    let directive_claims = (
        pick(
            vec![json!(aud)],
            vec![
                json!([ORIGIN_AUDIENCE, EDGE_AUDIENCE]),
                json!(EDGE_AUDIENCE),
                json!(ORIGIN_AUDIENCE),
                json!([]),
                json!(5),
            ],
        ),
        time_claim(-60..60),
        time_claim(-30..lifetime + 30),
        pick(
            vec![json!("alice"), json!("x".repeat(MAX_SUB_LEN))],
            vec![json!(""), json!("bob\r\n"), json!(5), json!("x".repeat(300))],
        ),
        pick(vec![json!(true), json!(false)], vec![json!("yes")]),
        pick(vec![json!({"role": "admin"}), json!(null)], vec![json!("admin"), json!({"blob": "x".repeat(1100)})]),
        pick(vec![json!("session"), json!("everywhere")], vec![json!("all")]),
        pick(vec![json!(NONCE)], vec![json!("AAAAAAAAAAAAAAAAAAAAAA"), json!(NONCE.to_lowercase()), json!(7)]),
    );
    let assertion_claims = (
        pick(vec![json!(EDGE_ISSUER)], vec![json!("elsewhere")]),
        pick(vec![json!(FamilyId::from_bytes([1; 16]).to_string())], vec![json!(1)]),
        pick(vec![json!("fresh"), json!("grace")], vec![json!(null)]),
        pick(vec![json!("AAAAAAAAAAAAAAAAAAAAAA")], vec![json!([])]),
        // Usually absent (as the edge sends it); sometimes before, at or after the skew.
        prop_oneof![3 => Just(None), 1 => time_claim(-60..60)],
        json_object(),
    );
    let signer = prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)];
    (header, directive_claims, assertion_claims, signer).prop_map(|(header, directive, assertion, signer)| {
        let (alg, typ, kid, crit, mut header) = header;
        let (aud, iat, exp, sub, remember, ctx, scope, nonce) = directive;
        let (iss, sid, state, jti, nbf, mut claims) = assertion;
        for (name, value) in [("alg", alg), ("typ", typ), ("kid", kid), ("crit", crit)] {
            header.remove(name);
            if let Some(v) = value {
                header.insert(name.into(), v);
            }
        }
        let fields = [
            ("aud", aud),
            ("iat", iat),
            ("exp", exp),
            ("sub", sub),
            ("remember", remember),
            ("ctx", ctx),
            ("scope", scope),
            ("nonce", nonce),
            ("iss", iss),
            ("sid", sid),
            ("state", state),
            ("jti", jti),
            ("nbf", nbf),
        ];
        for (name, value) in fields {
            claims.remove(name);
            if let Some(v) = value {
                claims.insert(name.into(), v);
            }
        }
        let input = format!(
            "{}.{}",
            B64.encode(Value::Object(header.clone()).to_string()),
            B64.encode(Value::Object(claims.clone()).to_string())
        );
        let tag = match signer {
            0 => B64.encode(ring().signing().mac(&[input.as_bytes()])),
            1 => B64.encode(KeyRing::parse(&format!("k1:{OTHER_SECRET}")).unwrap().signing().mac(&[input.as_bytes()])),
            _ => String::new(),
        };
        Forged { token: format!("{input}.{tag}"), header, claims, signer }
    })
}

fn near_now() -> impl Strategy<Value = Timestamp> {
    let t0 = T0 * 1000;
    prop_oneof![4 => t0 - 120_000..t0 + 120_000, 1 => t0 - 800_000..t0 + 800_000].prop_map(Timestamp::from_millis)
}

/// A NumericDate as `jws` reads it: integer seconds, or fractional ones truncated.
fn numeric(value: &Value) -> u64 {
    value.as_u64().unwrap_or_else(|| value.as_f64().unwrap() as u64)
}

/// What any accepted token must satisfy (the rules of `jws::verify`, as postconditions).
fn assert_acceptable(f: &Forged, expect: &Expect<'_>, now: Timestamp) -> Result<(), TestCaseError> {
    prop_assert_eq!(f.signer, 0, "accepted without the key");
    prop_assert_eq!(f.header.get("alg"), Some(&json!("HS256")));
    let typ = f.header.get("typ").and_then(Value::as_str).unwrap_or_default();
    prop_assert!(typ.eq_ignore_ascii_case(expect.typ), "typ {:?}", typ);
    prop_assert!(!f.header.contains_key("crit"));
    let aud_ok = match f.claims.get("aud") {
        Some(Value::String(a)) => a == expect.aud,
        Some(Value::Array(list)) => list.contains(&json!(expect.aud)),
        _ => false,
    };
    prop_assert!(aud_ok, "aud {:?}", f.claims.get("aud"));
    let (exp, iat) = (numeric(&f.claims["exp"]), numeric(&f.claims["iat"]));
    prop_assert!(now.as_secs() < exp.saturating_add(CLOCK_SKEW), "expired");
    prop_assert!(iat <= now.as_secs() + CLOCK_SKEW, "issued in the future");
    if let Some(nbf) = f.claims.get("nbf") {
        prop_assert!(nbf.as_f64().is_some_and(|n| n >= 0.0 && (n as u64) <= now.as_secs() + CLOCK_SKEW), "nbf {nbf}");
    }
    if let Some(max) = expect.max_lifetime_secs {
        prop_assert!(exp.saturating_sub(iat) <= max, "lifetime");
    }
    Ok(())
}

fn assert_valid_sub(sub: &str) -> Result<(), TestCaseError> {
    prop_assert!(!sub.is_empty() && sub.len() <= MAX_SUB_LEN && !sub.chars().any(char::is_control), "sub {:?}", sub);
    Ok(())
}

const STATES: [SessionState; 4] =
    [SessionState::Fresh, SessionState::Rotated, SessionState::GraceAlias, SessionState::Recovered];
const LOGIN_EXPECT: Expect<'static> =
    Expect { typ: LOGIN_TYPE, aud: EDGE_AUDIENCE, max_lifetime_secs: Some(DIRECTIVE_MAX_LIFETIME_SECS) };
const LOGOUT_EXPECT: Expect<'static> =
    Expect { typ: LOGOUT_TYPE, aud: EDGE_AUDIENCE, max_lifetime_secs: Some(DIRECTIVE_MAX_LIFETIME_SECS) };
const ASSERTION_EXPECT: Expect<'static> =
    Expect { typ: ASSERTION_TYPE, aud: ORIGIN_AUDIENCE, max_lifetime_secs: Some(ASSERTION_TTL_SECS) };

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn jws_verifiers_refuse_what_nobody_signed(
        token in prop_oneof![garbage(), dotted(&["eyJhbGciOiJIUzI1NiJ9.", "eyJhbGciOiJub25lIn0.", ""])],
        now in any::<u64>(),
    ) {
        let now = Timestamp::from_millis(now);
        for expect in [LOGIN_EXPECT, LOGOUT_EXPECT, ASSERTION_EXPECT] {
            prop_assert!(jws::verify(&token, &ring(), &expect, now).is_err());
        }
        prop_assert!(Login::verify(&token, &ring(), now, &nonce()).is_err());
        prop_assert!(Logout::verify(&token, &ring(), now, &nonce()).is_err());
        prop_assert!(Assertion::verify(&token, &ring(), ORIGIN_AUDIENCE, now).is_err());
    }
}

proptest! {
    #![proptest_config(cases(600))]

    #[test]
    fn jws_verify_accepts_only_what_passes_every_rule(f in forged(), now in near_now()) {
        for expect in [LOGIN_EXPECT, LOGOUT_EXPECT, ASSERTION_EXPECT] {
            if let Ok(claims) = jws::verify(&f.token, &ring(), &expect, now) {
                prop_assert_eq!(&claims, &f.claims);
                assert_acceptable(&f, &expect, now)?;
            }
        }
    }

    #[test]
    fn directives_accept_only_usable_claims(f in forged(), now in near_now()) {
        if let Ok(login) = Login::verify(&f.token, &ring(), now, &nonce()) {
            assert_acceptable(&f, &LOGIN_EXPECT, now)?;
            prop_assert_eq!(f.claims.get("nonce"), Some(&json!(NONCE)), "another request's login accepted");
            assert_valid_sub(&login.sub)?;
            prop_assert!(login.ctx.map_or(0, |c| serde_json::to_vec(&c).unwrap().len()) <= MAX_CTX_LEN);
        }
        if let Ok(logout) = Logout::verify(&f.token, &ring(), now, &nonce()) {
            assert_acceptable(&f, &LOGOUT_EXPECT, now)?;
            prop_assert_eq!(f.claims.get("nonce"), Some(&json!(NONCE)), "another request's logout accepted");
            if let Some(sub) = &logout.sub { assert_valid_sub(sub)?; }
            prop_assert!(logout.scope == LogoutScope::Session || logout.sub.is_some());
        }
        if let Ok(assertion) = Assertion::verify(&f.token, &ring(), ORIGIN_AUDIENCE, now) {
            assert_acceptable(&f, &ASSERTION_EXPECT, now)?;
            prop_assert_eq!(assertion.iss, EDGE_ISSUER);
            prop_assert_eq!(assertion.aud, ORIGIN_AUDIENCE);
        }
    }
}

proptest! {
    #![proptest_config(cases(600))]

    #[test]
    fn jws_sign_verify_round_trips_any_claims(extra in json_object(), age in 0..=DIRECTIVE_MAX_LIFETIME_SECS) {
        let mut claims = extra;
        claims.remove("nbf"); // a registered claim with its own rule (tamper.rs)
        claims.insert("aud".into(), EDGE_AUDIENCE.into());
        claims.insert("iat".into(), T0.into());
        claims.insert("exp".into(), (T0 + DIRECTIVE_MAX_LIFETIME_SECS).into());
        let token = jws::sign(ring().signing(), LOGIN_TYPE, &claims);
        let now = Timestamp::from_secs(T0 + age);
        prop_assert_eq!(jws::verify(&token, &ring(), &LOGIN_EXPECT, now), Ok(claims));
    }

    #[test]
    fn login_round_trips(
        identity in identity(),
        remember in any::<bool>(),
        age in 0..DIRECTIVE_MAX_LIFETIME_SECS + CLOCK_SKEW,
    ) {
        let login = Login { sub: identity.sub, remember, ctx: identity.ctx, amr: None, auth_time: None };
        let token = login.sign(&ring(), t0(), NONCE);
        prop_assert_eq!(Login::verify(&token, &ring(), Timestamp::from_secs(T0 + age), &nonce()), Ok(login));
    }

    #[test]
    fn logout_round_trips(
        sub in prop::option::of(valid_sub()),
        everywhere in any::<bool>(),
        age in 0..DIRECTIVE_MAX_LIFETIME_SECS + CLOCK_SKEW,
    ) {
        let scope = if everywhere && sub.is_some() { LogoutScope::Everywhere } else { LogoutScope::Session };
        let logout = Logout { sub, scope };
        let token = logout.sign(&ring(), t0(), NONCE).expect("everywhere only with a sub");
        prop_assert_eq!(Logout::verify(&token, &ring(), Timestamp::from_secs(T0 + age), &nonce()), Ok(logout));
    }

    #[test]
    fn assertion_round_trips(
        identity in identity(),
        family in any::<[u8; 16]>(),
        state in prop::sample::select(&STATES[..]),
        audience in "[ -~]{1,40}",
        jti in any::<[u8; 16]>(),
        age in 0..ASSERTION_TTL_SECS + CLOCK_SKEW,
    ) {
        let assertion = Assertion::new(&identity, FamilyId::from_bytes(family), state.as_str(), &audience, t0(), jti);
        let token = assertion.sign(&ring());
        prop_assert_eq!(Assertion::verify(&token, &ring(), &audience, Timestamp::from_secs(T0 + age)), Ok(assertion));
    }
}

// ---------------------------------------------------------------------------------------
// Key rings and configuration

const SECS_VARS: [&str; 7] = [
    "ROTATE_AFTER_SECS",
    "GRACE_SECS",
    "RECOVERY_SECS",
    "ACCESS_TTL_SECS",
    "IDLE_TIMEOUT_SECS",
    "SESSION_LIFETIME_SECS",
    "REMEMBER_LIFETIME_SECS",
];
const OTHER_VARS: [&str; 5] = ["ORIGIN_URL", "ORIGIN_AUDIENCE", "ON_REUSE", "SESSION_KEYS", "ORIGIN_SECRET"];

/// Mostly a value that fits the other windows, sometimes one that does not, or garbage.
fn secs_value(name: &str) -> impl Strategy<Value = Option<String>> {
    let usual = match name {
        "GRACE_SECS" => 1..400u64, // a quarter past the 300 s cap
        "ACCESS_TTL_SECS" => 0..600,
        _ => 120..100_000,
    };
    let value = prop_oneof![
        12 => usual.prop_map(|n| n.to_string()),
        1 => (0u64..4000).prop_map(|n| n.to_string()),
        1 => one_of(&["0", "-1", " 30 ", "", "  ", "1e3", "30s", "315360000", "315360001", "18446744073709551616"]),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => garbage(),
    ];
    prop::option::weighted(0.7, value)
}

fn other_value(name: &'static str) -> BoxedStrategy<Option<String>> {
    let value = match name {
        "ORIGIN_URL" => prop_oneof![
            6 => one_of(&["http://127.0.0.1:8788/app", "https://example.com", "https://[::1]:1/", ""]),
            1 => one_of(&["ftp://x", "not a url", "http://", "file:///etc/passwd", "data:text/plain,x"]),
            1 => garbage(),
        ]
        .boxed(),
        "ORIGIN_AUDIENCE" => prop_oneof![6 => "[ -~]{0,40}", 1 => "[a-z]{250,260}", 1 => garbage()].boxed(),
        "ON_REUSE" => prop_oneof![
            6 => one_of(&["revoke", "reject", " reject "]),
            1 => one_of(&["REVOKE", "ignore"]),
            1 => garbage(),
        ]
        .boxed(),
        _ => prop_oneof![8 => valid_ring().prop_map(|(t, _)| t), 1 => ring_text(), 1 => garbage()].boxed(),
    };
    prop::option::weighted(0.9, value).boxed()
}

fn config_vars() -> impl Strategy<Value = HashMap<&'static str, Option<String>>> {
    let others: Vec<_> = OTHER_VARS.iter().map(|n| other_value(n)).collect();
    let secs: Vec<_> = SECS_VARS.iter().map(|n| secs_value(n)).collect();
    (secs, others).prop_map(|(secs, others)| {
        SECS_VARS.iter().copied().zip(secs).chain(OTHER_VARS.iter().copied().zip(others)).collect()
    })
}

/// The secrets in a ring text, as the parser would split them.
fn secrets_of(text: &str) -> Vec<&str> {
    text.split(',').filter_map(|p| p.trim().split_once(':')).map(|(_, s)| s).collect()
}

proptest! {
    #![proptest_config(cases(400))]

    #[test]
    fn key_ring_parse_yields_a_valid_ring_or_a_reason(text in prop_oneof![garbage(), ring_text()]) {
        if let Ok(keys) = KeyRing::parse(&text) {
            let kids: Vec<&str> = keys.iter().map(|k| k.kid()).collect();
            prop_assert!((1..=MAX_KEYS).contains(&kids.len()));
            prop_assert!(kids.iter().all(|k| is_valid_kid(k)));
            let mut unique = kids.clone();
            unique.sort_unstable();
            unique.dedup();
            prop_assert_eq!(unique.len(), kids.len(), "duplicate kid");
            prop_assert_eq!(keys.signing().kid(), kids[0]);
            for secret in secrets_of(&text) {
                let n = secret.chars().count();
                prop_assert!((MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&n));
            }
        }
    }

    #[test]
    fn key_ring_parse_accepts_every_valid_ring((text, kids) in valid_ring()) {
        let keys = KeyRing::parse(&text).unwrap();
        prop_assert_eq!(keys.iter().map(|k| k.kid().to_owned()).collect::<Vec<_>>(), kids);
    }

    #[test]
    fn config_is_valid_or_names_its_problems(vars in config_vars()) {
        let result = Config::from_vars(|name| vars.get(name).cloned().flatten());
        match result {
            Ok(config) => {
                let p = config.policy;
                prop_assert!(p.grace < p.rotate_after && p.grace <= p.recovery);
                prop_assert!(p.grace.as_secs() <= MAX_GRACE_SECS);
                let read = [
                    p.rotate_after, p.grace, p.recovery, p.access_ttl,
                    p.idle_timeout, p.session_lifetime, p.remember_lifetime,
                ];
                for (name, got) in SECS_VARS.iter().zip(read) {
                    prop_assert!(*name == "ACCESS_TTL_SECS" || !got.is_zero(), "{} is zero", name);
                    if let Some(n) = vars[name].as_deref().and_then(|v| v.trim().parse::<u64>().ok()) {
                        prop_assert_eq!(got, Duration::from_secs(n), "{}", name);
                    }
                }
                if let Some(url) = &config.origin_url {
                    let target = url.target("https://edge.example/p?q");
                    prop_assert!(target.starts_with("http://") || target.starts_with("https://"));
                    prop_assert!(target.ends_with("/p?q"), "{}", target);
                }
                prop_assert!(!config.origin_audience.is_empty() && config.origin_audience.len() <= 256);
                let origin = vars["ORIGIN_SECRET"].clone().unwrap_or_default();
                let session = vars["SESSION_KEYS"].clone().unwrap_or_default();
                let origin_secrets = secrets_of(&origin);
                prop_assert!(secrets_of(&session).iter().all(|s| !origin_secrets.contains(s)), "a shared secret was accepted");
            }
            Err(err) => {
                prop_assert!(!err.problems.is_empty());
                let shown = err.to_string();
                for problem in &err.problems {
                    prop_assert!(SECS_VARS.contains(&problem.variable) || OTHER_VARS.contains(&problem.variable));
                }
                // Never a secret's value: checked for secrets long enough to be unmistakable.
                for name in ["SESSION_KEYS", "ORIGIN_SECRET"] {
                    let text = vars[name].clone().unwrap_or_default();
                    for secret in secrets_of(&text).into_iter().filter(|s| s.len() >= 16) {
                        prop_assert!(!shown.contains(secret), "{} leaked in {:?}", name, shown);
                        let debug = format!("{err:?}");
                        prop_assert!(!debug.contains(secret));
                    }
                }
            }
        }
    }
}

/// The largest identity a login accepts — `sub` and `ctx` made of characters JSON must
/// escape — still fits the access cookie's size limit.
#[test]
fn worst_case_identity_fits_an_access_cookie() {
    let mut ctx = Map::new();
    ctx.insert("k".into(), Value::from("\"".repeat(MAX_CTX_LEN / 2)));
    while serde_json::to_vec(&ctx).unwrap().len() > MAX_CTX_LEN {
        let Value::String(s) = ctx.get_mut("k").unwrap() else { unreachable!() };
        s.pop();
    }
    let amr = Some(vec!["x".repeat(MAX_AMR_LEN); MAX_AMR]);
    let identity = Identity { sub: "\"".repeat(MAX_SUB_LEN), ctx: Some(ctx), auth_time: Some(u64::MAX), amr };
    let mut cred = AccessCredential::new(
        &identity,
        FamilyId::from_bytes([0xff; 16]),
        Timestamp::from_millis(u64::MAX),
        Timestamp::from_millis(u64::MAX),
    );
    cred.context_changed = Some(u64::MAX);
    let value = cred.encode(&KeyRing::parse(&format!("{}:{SECRET}", "k".repeat(16))).unwrap());
    assert!(value.len() <= MAX_ACCESS_LEN, "{} bytes", value.len());
}
