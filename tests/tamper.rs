//! Tamper tests, cookie-rs style: one macro run over every signed thing the edge reads.
//!
//! Five kinds — the access and refresh cookies, the origin assertion, and the login and
//! logout directives — each get every byte flipped, every truncation, extensions, key
//! confusions (unknown `kid`, same `kid` with another secret) and kind confusions (one
//! cookie presented as the other, one JWS `typ` presented as another). The three JWS kinds
//! also get header and claim attacks (`alg: none`, algorithm swaps, `crit`, wrong
//! `typ`/`aud`, expiry, `iat` in the future, over-long lifetimes). Refusals are checked for
//! their exact variant, and every verifier call runs under `catch_unwind` so a panic names
//! the input that caused it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value, json};

use edge_session::crypto::jws::{self, CLOCK_SKEW, JwsError, MAX_JWS_LEN};
use edge_session::crypto::{Key, KeyRing};
use edge_session::origin::{
    ASSERTION_TTL_SECS, ASSERTION_TYPE, Assertion, DIRECTIVE_MAX_LIFETIME_SECS, EDGE_AUDIENCE, LOGIN_TYPE, LOGOUT_TYPE,
    Login, Logout, LogoutScope, RequestNonce, TokenError,
};
use edge_session::session::SessionState;
use edge_session::session::{
    ACCESS_COOKIE, AccessCredential, CredentialError, FamilyId, Identity, MAX_ACCESS_LEN, MAX_REFRESH_LEN,
    REFRESH_COOKIE, RefreshCredential, RefreshSecret,
};
use edge_session::time::Timestamp;

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const OTHER_SECRET: &str = "fedcba9876543210fedcba9876543210";
/// The origin audience the assertion is issued for (the `ORIGIN_AUDIENCE` default).
const ORIGIN_AUDIENCE: &str = "origin";
const T0: u64 = 1_700_000_000;
/// XOR masks for byte flips: each bit alone, and all bits.
const MASKS: [u8; 9] = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff];

fn t0() -> Timestamp {
    Timestamp::from_secs(T0)
}

fn ring() -> KeyRing {
    KeyRing::parse(&format!("k1:{SECRET}")).unwrap()
}

/// The same secret under another id: a refusal here comes from the `kid` lookup alone.
fn ring_without_k1() -> KeyRing {
    KeyRing::parse(&format!("k2:{SECRET}")).unwrap()
}

fn ring_k1_other_secret() -> KeyRing {
    KeyRing::parse(&format!("k1:{OTHER_SECRET}")).unwrap()
}

/// `k1` present but not the signing key: every key verifies.
fn rotated_ring() -> KeyRing {
    KeyRing::parse(&format!("k0:{OTHER_SECRET},k1:{SECRET}")).unwrap()
}

/// Every refusal of every kind, in one comparable type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refused {
    Credential(CredentialError),
    Jws(JwsError),
    Claims(&'static str),
    Nonce,
}

impl From<TokenError> for Refused {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Jws(e) => Refused::Jws(e),
            TokenError::BadClaims(why) => Refused::Claims(why),
            TokenError::WrongNonce => Refused::Nonce,
        }
    }
}

/// The `X-Edge-Nonce` of the request every directive here answers.
fn nonce() -> RequestNonce {
    RequestNonce::from_bytes([3; 16])
}

type Verify = fn(&str, &KeyRing, Timestamp) -> Result<(), Refused>;

fn verify_access(value: &str, keys: &KeyRing, now: Timestamp) -> Result<(), Refused> {
    AccessCredential::decode(value, keys, now).map(drop).map_err(Refused::Credential)
}

fn verify_refresh(value: &str, keys: &KeyRing, _now: Timestamp) -> Result<(), Refused> {
    RefreshCredential::decode(value, keys).map(drop).map_err(Refused::Credential)
}

fn verify_assertion(value: &str, keys: &KeyRing, now: Timestamp) -> Result<(), Refused> {
    Assertion::verify(value, keys, ORIGIN_AUDIENCE, now).map(drop).map_err(Refused::from)
}

fn verify_login(value: &str, keys: &KeyRing, now: Timestamp) -> Result<(), Refused> {
    Login::verify(value, keys, now, &nonce()).map(drop).map_err(Refused::from)
}

fn verify_logout(value: &str, keys: &KeyRing, now: Timestamp) -> Result<(), Refused> {
    Logout::verify(value, keys, now, &nonce()).map(drop).map_err(Refused::from)
}

/// Runs a verifier; a panic fails the test naming the input.
fn run(verify: Verify, value: &str, keys: &KeyRing, now: Timestamp) -> Result<(), Refused> {
    catch_unwind(AssertUnwindSafe(|| verify(value, keys, now)))
        .unwrap_or_else(|_| panic!("verifier panicked on {value:?}"))
}

fn jws_err(e: JwsError) -> Result<(), Refused> {
    Err(Refused::Jws(e))
}

fn cred_err(e: CredentialError) -> Result<(), Refused> {
    Err(Refused::Credential(e))
}

/// `body.<mac>` with a genuine MAC over `name=body`, as the crate seals cookies.
fn seal(name: &str, body: &str) -> String {
    let tag = ring().signing().mac(&[name.as_bytes(), b"=", body.as_bytes()]);
    format!("{body}.{}", B64.encode(tag))
}

fn decode_segment(token: &str, index: usize) -> Map<String, Value> {
    let segment = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&B64.decode(segment).unwrap()).unwrap()
}

/// A compact JWS from raw JSON texts; an empty signature when `key` is `None`.
fn forge_raw(header: &str, payload: &str, key: Option<&Key>) -> String {
    let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let tag = key.map_or_else(String::new, |k| B64.encode(k.mac(&[input.as_bytes()])));
    format!("{input}.{tag}")
}

fn forge(header: &Map<String, Value>, claims: &Map<String, Value>, key: Option<&Key>) -> String {
    forge_raw(&Value::Object(header.clone()).to_string(), &Value::Object(claims.clone()).to_string(), key)
}

/// The checks every kind gets. Expects `issue()` and `verify` in scope.
macro_rules! tamper_tests {
    (
        unknown_key: $unknown_key:expr,
        bad_mac: $bad_mac:expr,
        malformed: $malformed:expr,
        too_large: ($max_len:expr, $too_large:expr),
        confusions: [$(($what:literal, $other:expr, $refusal:expr)),* $(,)?] $(,)?
    ) => {
        #[test]
        fn genuine_value_verifies_under_any_ring_holding_its_key() {
            assert_eq!(run(verify, &issue(), &ring(), t0()), Ok(()));
            assert_eq!(run(verify, &issue(), &rotated_ring(), t0()), Ok(()));
        }

        #[test]
        fn every_byte_flipped_is_refused() {
            let value = issue();
            let tag_start = value.rfind('.').unwrap() + 1;
            for pos in 0..value.len() {
                for mask in MASKS {
                    let mut bytes = value.clone().into_bytes();
                    bytes[pos] ^= mask;
                    let tampered = String::from_utf8_lossy(&bytes);
                    let Err(refusal) = run(verify, &tampered, &ring(), t0()) else {
                        panic!("flip {mask:#04x} at {pos} accepted: {tampered}");
                    };
                    if pos >= tag_start {
                        assert!(
                            Err(refusal.clone()) == $bad_mac || Err(refusal.clone()) == $malformed,
                            "flip {mask:#04x} at {pos} (in the tag) gave {refusal:?}"
                        );
                    }
                }
            }
        }

        #[test]
        fn every_truncation_is_refused() {
            let value = issue();
            for len in 0..value.len() {
                let cut = &value[..len];
                assert!(run(verify, cut, &ring(), t0()).is_err(), "truncated to {len} accepted: {cut}");
            }
        }

        #[test]
        fn extensions_are_refused() {
            let value = issue();
            let tag = value.rsplit('.').next().unwrap().to_owned();
            let suffixes = [
                "A", "AA", "AAAA", "=", "==", ".", "..", ".A", ".AAAA", " ", "\0", "\u{e9}", ";x", ",x",
                &format!(".{tag}")[..], &format!(".{value}")[..],
            ];
            for suffix in suffixes {
                let longer = format!("{value}{suffix}");
                assert!(run(verify, &longer, &ring(), t0()).is_err(), "extended by {suffix:?} accepted");
            }
            for prefix in ["A", ".", " ", "\u{feff}"] {
                let longer = format!("{prefix}{value}");
                assert!(run(verify, &longer, &ring(), t0()).is_err(), "prefixed by {prefix:?} accepted");
            }
        }

        #[test]
        fn oversized_values_are_refused_before_parsing() {
            let value = issue();
            let at_limit = format!("{value}{}", "A".repeat($max_len - value.len()));
            assert_ne!(run(verify, &at_limit, &ring(), t0()), $too_large, "at the limit is not too large");
            let over = format!("{at_limit}A");
            assert_eq!(run(verify, &over, &ring(), t0()), $too_large);
        }

        #[test]
        fn unknown_kid_is_refused() {
            assert_eq!(run(verify, &issue(), &ring_without_k1(), t0()), $unknown_key);
        }

        #[test]
        fn same_kid_with_another_secret_is_refused() {
            assert_eq!(run(verify, &issue(), &ring_k1_other_secret(), t0()), $bad_mac);
        }

        #[test]
        fn presented_as_another_kind_is_refused() {
            let value = issue();
            $(
                let other: Verify = $other;
                assert_eq!(run(other, &value, &ring(), t0()), $refusal, "{}", $what);
            )*
        }
    };
}

/// Header and claim attacks for the JWS kinds. Expects `issue()` and `verify` in scope.
macro_rules! jws_tamper_tests {
    (typ: $typ:expr, audience: $audience:expr, max_lifetime: $max_lifetime:expr $(,)?) => {
        fn genuine_header() -> Map<String, Value> {
            decode_segment(&issue(), 0)
        }

        fn genuine_claims() -> Map<String, Value> {
            decode_segment(&issue(), 1)
        }

        /// The genuine token with its header edited, MAC recomputed with the right key.
        fn with_header(edit: impl FnOnce(&mut Map<String, Value>)) -> String {
            let mut header = genuine_header();
            edit(&mut header);
            forge(&header, &genuine_claims(), Some(ring().signing()))
        }

        /// The genuine token with its claims edited, MAC recomputed with the right key.
        fn with_claims(edit: impl FnOnce(&mut Map<String, Value>)) -> String {
            let mut claims = genuine_claims();
            edit(&mut claims);
            forge(&genuine_header(), &claims, Some(ring().signing()))
        }

        fn claim(name: &str) -> u64 {
            genuine_claims()[name].as_u64().unwrap()
        }

        fn at(token: &str, now: Timestamp) -> Result<(), Refused> {
            run(verify, token, &ring(), now)
        }

        #[test]
        fn forged_round_trip_is_faithful() {
            // Control for the helpers below: an unedited re-forge verifies.
            assert_eq!(at(&with_header(|_| {}), t0()), Ok(()));
        }

        #[test]
        fn alg_none_is_refused_signed_or_not() {
            let claims = genuine_claims();
            for alg in ["none", "None", "NONE", ""] {
                let bare = json!({"alg": alg, "typ": $typ});
                let with_kid = json!({"alg": alg, "typ": $typ, "kid": "k1"});
                for header in [bare, with_kid] {
                    let header = header.as_object().unwrap();
                    let unsigned = forge(header, &claims, None);
                    assert_eq!(at(&unsigned, t0()), jws_err(JwsError::UnsupportedAlgorithm), "{header:?}");
                    let signed = forge(header, &claims, Some(ring().signing()));
                    assert_eq!(at(&signed, t0()), jws_err(JwsError::UnsupportedAlgorithm), "{header:?}");
                }
            }
        }

        #[test]
        fn other_algorithms_are_refused() {
            let algs = [
                json!("HS384"), json!("HS512"), json!("RS256"), json!("ES256"), json!("PS256"),
                json!("EdDSA"), json!("hs256"), json!("HS256 "), json!(null), json!(256), json!(["HS256"]),
            ];
            for alg in algs {
                let token = with_header(|h| { h.insert("alg".into(), alg.clone()); });
                assert_eq!(at(&token, t0()), jws_err(JwsError::UnsupportedAlgorithm), "alg {alg}");
            }
            let token = with_header(|h| { h.remove("alg"); });
            assert_eq!(at(&token, t0()), jws_err(JwsError::UnsupportedAlgorithm), "no alg");
            // RFC 7515 §5.2: duplicate members resolve to the lexically last.
            let claims = Value::Object(genuine_claims()).to_string();
            let header = format!(r#"{{"alg":"HS256","typ":"{}","kid":"k1","alg":"none"}}"#, $typ);
            let token = forge_raw(&header, &claims, Some(ring().signing()));
            assert_eq!(at(&token, t0()), jws_err(JwsError::UnsupportedAlgorithm), "duplicate alg");
        }

        #[test]
        fn wrong_typ_is_refused() {
            let typs = [ASSERTION_TYPE, LOGIN_TYPE, LOGOUT_TYPE, "", "jwt+edge", "at+jwt", "edge-login+jwt+x"];
            for typ in typs.into_iter().filter(|t| !t.eq_ignore_ascii_case($typ)) {
                let token = with_header(|h| { h.insert("typ".into(), typ.into()); });
                assert_eq!(at(&token, t0()), jws_err(JwsError::WrongType), "typ {typ:?}");
            }
            for typ in [json!(null), json!(1), json!([$typ])] {
                let token = with_header(|h| { h.insert("typ".into(), typ.clone()); });
                assert_eq!(at(&token, t0()), jws_err(JwsError::WrongType), "typ {typ}");
            }
            let token = with_header(|h| { h.remove("typ"); });
            assert_eq!(at(&token, t0()), jws_err(JwsError::WrongType), "no typ");
            // RFC 7515 §4.1.9: media types compare case-insensitively.
            let token = with_header(|h| { h.insert("typ".into(), $typ.to_uppercase().into()); });
            assert_eq!(at(&token, t0()), Ok(()));
        }

        #[test]
        fn crit_header_is_refused() {
            for crit in [json!(["exp"]), json!(["b64"]), json!([]), json!("exp"), json!(null)] {
                let token = with_header(|h| { h.insert("crit".into(), crit.clone()); });
                assert_eq!(at(&token, t0()), jws_err(JwsError::CriticalHeader), "crit {crit}");
            }
        }

        #[test]
        fn kid_is_looked_up_or_every_key_tried() {
            let token = with_header(|h| { h.remove("kid"); });
            assert_eq!(at(&token, t0()), Ok(()), "no kid: every key is tried");
            assert_eq!(run(verify, &token, &rotated_ring(), t0()), Ok(()), "not only the signing key");
            assert_eq!(run(verify, &token, &ring_k1_other_secret(), t0()), jws_err(JwsError::BadSignature));
            for kid in ["", "K1", "k1 ", "k3"] {
                let token = with_header(|h| { h.insert("kid".into(), kid.into()); });
                assert_eq!(at(&token, t0()), jws_err(JwsError::UnknownKey), "kid {kid:?}");
            }
            for kid in [json!(null), json!(1), json!(["k1"])] {
                let token = with_header(|h| { h.insert("kid".into(), kid.clone()); });
                assert_eq!(at(&token, t0()), jws_err(JwsError::Malformed), "kid {kid}");
            }
        }

        #[test]
        fn wrong_audience_is_refused() {
            let wrong = [
                json!(if $audience == EDGE_AUDIENCE { ORIGIN_AUDIENCE } else { EDGE_AUDIENCE }),
                json!(""), json!($audience.to_uppercase()), json!(format!("{} ", $audience)),
                json!([]), json!(["elsewhere"]), json!(5), json!(null), json!({"aud": $audience}),
            ];
            for aud in wrong {
                let token = with_claims(|c| { c.insert("aud".into(), aud.clone()); });
                assert_eq!(at(&token, t0()), jws_err(JwsError::WrongAudience), "aud {aud}");
            }
            let token = with_claims(|c| { c.remove("aud"); });
            assert_eq!(at(&token, t0()), jws_err(JwsError::WrongAudience), "no aud");
        }

        #[test]
        fn expiry_allows_only_the_clock_skew() {
            let exp = claim("exp");
            let token = issue();
            let last_ok = Timestamp::from_millis((exp + CLOCK_SKEW) * 1000 - 1);
            assert_eq!(at(&token, last_ok), Ok(()));
            assert_eq!(at(&token, Timestamp::from_secs(exp + CLOCK_SKEW)), jws_err(JwsError::Expired));
            assert_eq!(at(&token, Timestamp::from_millis(u64::MAX)), jws_err(JwsError::Expired));
        }

        #[test]
        fn iat_in_the_future_is_refused() {
            let iat = claim("iat");
            let token = issue();
            assert_eq!(at(&token, Timestamp::from_secs(iat - CLOCK_SKEW)), Ok(()));
            let early = Timestamp::from_millis((iat - CLOCK_SKEW) * 1000 - 1);
            assert_eq!(at(&token, early), jws_err(JwsError::IssuedInFuture));
            let future = with_claims(|c| {
                c.insert("iat".into(), (T0 + CLOCK_SKEW + 1).into());
                c.insert("exp".into(), (T0 + CLOCK_SKEW + 10).into());
            });
            assert_eq!(at(&future, t0()), jws_err(JwsError::IssuedInFuture));
        }

        #[test]
        fn nbf_in_the_future_is_refused_wherever_a_token_carries_it() {
            let nbf = |value: Value| with_claims(|c| { c.insert("nbf".into(), value.clone()); });
            assert_eq!(at(&nbf(json!(T0 + CLOCK_SKEW)), t0()), Ok(()), "within the skew");
            assert_eq!(at(&nbf(json!(T0 - 600)), t0()), Ok(()), "in the past");
            assert_eq!(at(&nbf(json!(T0 + CLOCK_SKEW + 1)), t0()), jws_err(JwsError::NotYetValid));
            for bad in [json!("now"), json!(-1), json!(null), json!([T0])] {
                assert_eq!(at(&nbf(bad.clone()), t0()), jws_err(JwsError::NotYetValid), "nbf {bad}");
            }
        }

        #[test]
        fn lifetime_is_capped() {
            let iat = claim("iat");
            let longest = with_claims(|c| { c.insert("exp".into(), (iat + $max_lifetime).into()); });
            assert_eq!(at(&longest, t0()), Ok(()));
            let longer = with_claims(|c| { c.insert("exp".into(), (iat + $max_lifetime + 1).into()); });
            assert_eq!(at(&longer, t0()), jws_err(JwsError::LifetimeTooLong));
            let forever = with_claims(|c| { c.insert("exp".into(), u64::MAX.into()); });
            assert_eq!(at(&forever, t0()), jws_err(JwsError::LifetimeTooLong));
        }

        #[test]
        fn times_must_be_numeric_dates() {
            for name in ["exp", "iat"] {
                let token = with_claims(|c| { c.remove(name); });
                assert_eq!(at(&token, t0()), jws_err(JwsError::MissingTime), "no {name}");
                for bad in [json!("soon"), json!(-1), json!(1e300), json!(null), json!([T0])] {
                    let token = with_claims(|c| { c.insert(name.into(), bad.clone()); });
                    assert_eq!(at(&token, t0()), jws_err(JwsError::MissingTime), "{name} {bad}");
                }
            }
        }

        #[test]
        fn non_object_json_is_malformed_even_when_signed() {
            let claims = Value::Object(genuine_claims()).to_string();
            let header = Value::Object(genuine_header()).to_string();
            for (h, p) in [("[]", &claims[..]), ("null", &claims[..]), (&header[..], "[]"), (&header[..], "not json")] {
                let token = forge_raw(h, p, Some(ring().signing()));
                assert_eq!(at(&token, t0()), jws_err(JwsError::Malformed), "{h} / {p}");
            }
        }
    };
}

mod access_cookie {
    use super::*;

    fn issue() -> String {
        let alice = Identity { sub: "alice".into(), ctx: None, auth_time: None, amr: None };
        AccessCredential::new(&alice, FamilyId::from_bytes([1; 16]), t0(), t0() + Duration::from_secs(60))
            .encode(&ring())
    }

    use super::verify_access as verify;

    tamper_tests! {
        unknown_key: cred_err(CredentialError::UnknownKey),
        bad_mac: cred_err(CredentialError::BadMac),
        malformed: cred_err(CredentialError::Malformed),
        too_large: (MAX_ACCESS_LEN, cred_err(CredentialError::TooLarge)),
        confusions: [
            // The MAC covers the cookie name (as cookie-rs does).
            ("access value presented as the refresh cookie", verify_refresh, cred_err(CredentialError::BadMac)),
        ],
    }

    #[test]
    fn expires_at_its_exp_to_the_millisecond() {
        let exp = T0 * 1000 + 60_000;
        assert_eq!(verify(&issue(), &ring(), Timestamp::from_millis(exp - 1)), Ok(()));
        assert_eq!(verify(&issue(), &ring(), Timestamp::from_millis(exp)), cred_err(CredentialError::Expired));
        assert_eq!(verify(&issue(), &ring(), Timestamp::from_millis(u64::MAX)), cred_err(CredentialError::Expired));
    }

    #[test]
    fn a_genuine_mac_over_a_bad_body_is_still_malformed() {
        let payload = |json: Value| B64.encode(json.to_string());
        let sid = FamilyId::from_bytes([1; 16]).to_string();
        let good = json!({"sub": "alice", "sid": sid, "exp": T0 * 1000 + 60_000});
        let bodies = [
            format!("a2.k1.{}", payload(good.clone())),
            format!("A1.k1.{}", payload(good.clone())),
            format!("r1.k1.{}", payload(good.clone())),
            "a1.k1".to_owned(),
            format!("a1.k1.{}.extra", payload(good.clone())),
            "a1.k1.!!!".to_owned(),
            format!("a1.k1.{}", B64.encode("not json")),
            format!("a1.k1.{}=", payload(good.clone())),
            format!("a1.k1.{}", payload(json!({"sub": "alice", "exp": T0 * 1000 + 60_000}))),
            format!("a1.k1.{}", payload(json!({"sid": sid, "exp": T0 * 1000 + 60_000}))),
            format!("a1.k1.{}", payload(json!({"sub": "alice", "sid": "too-short", "exp": T0 * 1000 + 60_000}))),
            format!("a1.k1.{}", payload(json!({"sub": "alice", "sid": sid, "exp": -1}))),
            format!("a1.k1.{}", payload(json!({"sub": "alice", "sid": sid, "exp": 1.5}))),
            format!("a1.k1.{}", payload(json!({"sub": "alice", "sid": sid, "exp": T0 * 1000 + 60_000, "ctx": 5}))),
        ];
        assert_eq!(verify(&seal(ACCESS_COOKIE, &format!("a1.k1.{}", payload(good))), &ring(), t0()), Ok(()));
        for body in bodies {
            assert_eq!(
                verify(&seal(ACCESS_COOKIE, &body), &ring(), t0()),
                cred_err(CredentialError::Malformed),
                "{body}"
            );
        }
    }
}

mod refresh_cookie {
    use super::*;

    fn credential() -> RefreshCredential {
        RefreshCredential {
            family: FamilyId::from_bytes([7; 16]),
            generation: 3,
            secret: RefreshSecret::from_bytes([9; 32]),
        }
    }

    fn issue() -> String {
        credential().encode(&ring())
    }

    use super::verify_refresh as verify;

    tamper_tests! {
        unknown_key: cred_err(CredentialError::UnknownKey),
        bad_mac: cred_err(CredentialError::BadMac),
        malformed: cred_err(CredentialError::Malformed),
        too_large: (MAX_REFRESH_LEN, cred_err(CredentialError::TooLarge)),
        confusions: [
            ("refresh value presented as the access cookie", verify_access, cred_err(CredentialError::BadMac)),
        ],
    }

    #[test]
    fn a_genuine_mac_over_a_bad_body_is_still_malformed() {
        let family = FamilyId::from_bytes([7; 16]).to_string();
        let secret = B64.encode([9; 32]);
        let body = |version: &str, family: &str, generation: &str, secret: &str| {
            format!("{version}.k1.{family}.{generation}.{secret}")
        };
        assert_eq!(verify(&seal(REFRESH_COOKIE, &body("r1", &family, "3", &secret)), &ring(), t0()), Ok(()));
        let max = u64::MAX.to_string();
        assert_eq!(verify(&seal(REFRESH_COOKIE, &body("r1", &family, &max, &secret)), &ring(), t0()), Ok(()));
        let bodies = [
            body("r2", &family, "3", &secret),
            body("a1", &family, "3", &secret),
            body("r1", &family, "03", &secret),
            body("r1", &family, "-3", &secret),
            body("r1", &family, "+3", &secret),
            body("r1", &family, "", &secret),
            body("r1", &family, "18446744073709551616", &secret),
            body("r1", &family[1..], "3", &secret),
            body("r1", "AAAAAAAAAAAAAAAAAAAAAB", "3", &secret), // non-zero trailing bits
            body("r1", &format!("{family}="), "3", &secret),
            body("r1", &family, "3", &secret[1..]),
            body("r1", &family, "3", &format!("{secret}A")),
            format!("{}.extra", body("r1", &family, "3", &secret)),
            format!("r1.k1.{family}.3"),
        ];
        for b in bodies {
            assert_eq!(verify(&seal(REFRESH_COOKIE, &b), &ring(), t0()), cred_err(CredentialError::Malformed), "{b}");
        }
    }
}

mod assertion {
    use super::*;

    fn issue() -> String {
        let alice = Identity {
            sub: "alice".into(),
            ctx: Some(json!({"role": "admin"}).as_object().unwrap().clone()),
            auth_time: None,
            amr: None,
        };
        Assertion::new(
            &alice,
            FamilyId::from_bytes([1; 16]),
            SessionState::Fresh.as_str(),
            ORIGIN_AUDIENCE,
            t0(),
            [5; 16],
        )
        .sign(&ring())
    }

    use super::verify_assertion as verify;

    tamper_tests! {
        unknown_key: jws_err(JwsError::UnknownKey),
        bad_mac: jws_err(JwsError::BadSignature),
        malformed: jws_err(JwsError::Malformed),
        too_large: (MAX_JWS_LEN, jws_err(JwsError::TooLarge)),
        confusions: [
            // A request assertion reflected back by the origin must not log anyone in.
            ("assertion presented as a login", verify_login, jws_err(JwsError::WrongType)),
            ("assertion presented as a logout", verify_logout, jws_err(JwsError::WrongType)),
        ],
    }

    jws_tamper_tests! { typ: ASSERTION_TYPE, audience: ORIGIN_AUDIENCE, max_lifetime: ASSERTION_TTL_SECS }

    #[test]
    fn issuer_must_be_the_edge() {
        for iss in [json!("someone-else"), json!(null), json!(1)] {
            let token = with_claims(|c| {
                c.insert("iss".into(), iss.clone());
            });
            assert!(matches!(at(&token, t0()), Err(Refused::Claims(_))), "iss {iss}");
        }
        let token = with_claims(|c| {
            c.remove("iss");
        });
        assert!(matches!(at(&token, t0()), Err(Refused::Claims(_))));
    }
}

/// For a directive module (after `jws_tamper_tests!`, which defines `with_claims` and
/// `at`): one cached or captured from another request is refused, its nonce not this one's.
macro_rules! nonce_tests {
    () => {
        #[test]
        fn another_requests_nonce_is_refused() {
            let others = [
                json!(RequestNonce::from_bytes([4; 16]).as_str()),
                json!(nonce().as_str().to_lowercase()),
                json!(7),
                json!(null),
            ];
            for other in others {
                let token = with_claims(|c| {
                    c.insert("nonce".into(), other.clone());
                });
                assert_eq!(at(&token, t0()), Err(Refused::Nonce), "nonce {other}");
            }
            let token = with_claims(|c| {
                c.remove("nonce");
            });
            assert_eq!(at(&token, t0()), Err(Refused::Nonce), "no nonce");
        }
    };
}

mod login_directive {
    use super::*;

    fn issue() -> String {
        let ctx = json!({"role": "admin"}).as_object().unwrap().clone();
        Login { sub: "alice".into(), remember: true, ctx: Some(ctx), amr: None, auth_time: None }.sign(
            &ring(),
            t0(),
            nonce().as_str(),
        )
    }

    use super::verify_login as verify;

    tamper_tests! {
        unknown_key: jws_err(JwsError::UnknownKey),
        bad_mac: jws_err(JwsError::BadSignature),
        malformed: jws_err(JwsError::Malformed),
        too_large: (MAX_JWS_LEN, jws_err(JwsError::TooLarge)),
        confusions: [
            ("login presented as a logout", verify_logout, jws_err(JwsError::WrongType)),
            ("login presented as an assertion", verify_assertion, jws_err(JwsError::WrongType)),
        ],
    }

    jws_tamper_tests! { typ: LOGIN_TYPE, audience: EDGE_AUDIENCE, max_lifetime: DIRECTIVE_MAX_LIFETIME_SECS }

    nonce_tests!();

    #[test]
    fn audience_list_naming_the_edge_is_accepted() {
        let token = with_claims(|c| {
            c.insert("aud".into(), json!(["origin", EDGE_AUDIENCE]));
        });
        assert_eq!(at(&token, t0()), Ok(()));
    }

    #[test]
    fn unusable_claims_are_refused() {
        let big_ctx = json!({"blob": "x".repeat(1100)});
        let edits: Vec<(&str, Value)> = vec![
            ("sub", json!("")),
            ("sub", json!("alice\r\nX-Edge-User: admin")),
            ("sub", json!("a\u{0}")),
            ("sub", json!("x".repeat(257))),
            ("sub", json!(5)),
            ("remember", json!("yes")),
            ("remember", json!(1)),
            ("ctx", json!("admin")),
            ("ctx", json!(["admin"])),
            ("ctx", big_ctx),
        ];
        for (name, value) in edits {
            let token = with_claims(|c| {
                c.insert(name.into(), value.clone());
            });
            assert!(matches!(at(&token, t0()), Err(Refused::Claims(_))), "{name}: {value}");
        }
        let token = with_claims(|c| {
            c.remove("sub");
        });
        assert!(matches!(at(&token, t0()), Err(Refused::Claims(_))), "no sub");
        let token = with_claims(|c| {
            c.insert("sub".into(), json!("x".repeat(256)));
        });
        assert_eq!(at(&token, t0()), Ok(()), "256 bytes is the limit, not past it");
    }
}

mod logout_directive {
    use super::*;

    fn issue() -> String {
        Logout { sub: Some("alice".into()), scope: LogoutScope::Everywhere }
            .sign(&ring(), t0(), nonce().as_str())
            .expect("everywhere with a sub")
    }

    use super::verify_logout as verify;

    tamper_tests! {
        unknown_key: jws_err(JwsError::UnknownKey),
        bad_mac: jws_err(JwsError::BadSignature),
        malformed: jws_err(JwsError::Malformed),
        too_large: (MAX_JWS_LEN, jws_err(JwsError::TooLarge)),
        confusions: [
            ("logout presented as a login", verify_login, jws_err(JwsError::WrongType)),
            ("logout presented as an assertion", verify_assertion, jws_err(JwsError::WrongType)),
        ],
    }

    jws_tamper_tests! { typ: LOGOUT_TYPE, audience: EDGE_AUDIENCE, max_lifetime: DIRECTIVE_MAX_LIFETIME_SECS }

    nonce_tests!();

    #[test]
    fn unusable_claims_are_refused() {
        for scope in [json!("all"), json!("Everywhere"), json!(null), json!(1)] {
            let token = with_claims(|c| {
                c.insert("scope".into(), scope.clone());
            });
            assert!(matches!(at(&token, t0()), Err(Refused::Claims(_))), "scope {scope}");
        }
        let token = with_claims(|c| {
            c.remove("sub");
        });
        assert!(matches!(at(&token, t0()), Err(Refused::Claims(_))), "everywhere without sub");
        let token = with_claims(|c| {
            c.insert("sub".into(), json!("bob\n"));
        });
        assert!(matches!(at(&token, t0()), Err(Refused::Claims(_))), "control character in sub");
        let token = with_claims(|c| {
            c.remove("sub");
            c.insert("scope".into(), json!("session"));
        });
        assert_eq!(at(&token, t0()), Ok(()), "a session logout needs no sub");
    }
}

/// An origin misconfigured with `ORIGIN_AUDIENCE=edge-session` still cannot turn a
/// reflected request assertion into a directive: `typ` alone separates them.
#[test]
fn reflected_assertion_with_the_edge_audience_is_not_a_directive() {
    let alice = Identity { sub: "alice".into(), ctx: None, auth_time: None, amr: None };
    let assertion = Assertion::new(
        &alice,
        FamilyId::from_bytes([1; 16]),
        SessionState::Fresh.as_str(),
        EDGE_AUDIENCE,
        t0(),
        [5; 16],
    )
    .sign(&ring());
    assert_eq!(run(verify_login, &assertion, &ring(), t0()), jws_err(JwsError::WrongType));
    assert_eq!(run(verify_logout, &assertion, &ring(), t0()), jws_err(JwsError::WrongType));
}

/// An `aud` list naming us is accepted (RFC 7519 §4.1.3), as every origin package does
/// (the conformance table), and the assertion reads as the audience it matched.
#[test]
fn assertion_audience_list_naming_us_is_accepted_everywhere() {
    let alice = Identity { sub: "alice".into(), ctx: None, auth_time: None, amr: None };
    let mut claims = serde_json::to_value(Assertion::new(
        &alice,
        FamilyId::from_bytes([1; 16]),
        SessionState::Fresh.as_str(),
        ORIGIN_AUDIENCE,
        t0(),
        [5; 16],
    ))
    .unwrap();
    claims["aud"] = json!([ORIGIN_AUDIENCE, "other"]);
    let token = jws::sign(ring().signing(), ASSERTION_TYPE, &claims);
    let expect = jws::Expect { typ: ASSERTION_TYPE, aud: ORIGIN_AUDIENCE, max_lifetime_secs: Some(ASSERTION_TTL_SECS) };
    assert!(jws::verify(&token, &ring(), &expect, t0()).is_ok());
    let verified = Assertion::verify(&token, &ring(), ORIGIN_AUDIENCE, t0()).unwrap();
    assert_eq!((verified.aud.as_str(), verified.sub.as_str()), (ORIGIN_AUDIENCE, "alice"));
    claims["aud"] = json!(["other"]);
    let elsewhere = jws::sign(ring().signing(), ASSERTION_TYPE, &claims);
    assert_eq!(run(verify_assertion, &elsewhere, &ring(), t0()), jws_err(JwsError::WrongAudience));
}
