//! HS256 compact JWS (RFC 7515) with the checks an edge needs, and nothing else.
//!
//! Used for the origin assertion, the origin's login/logout directives and admin tokens.
//! [`verify`] accepts a token only if `alg` is exactly `HS256` (so `none` and algorithm
//! confusion are refused, RFC 8725 §3.1), `typ` is the one the caller expects (so a
//! reflected assertion cannot be replayed as a login, RFC 8725 §3.11), no `crit` header
//! is present, the MAC matches in constant time, `aud` names us, `exp` has not passed, and
//! neither `iat` nor `nbf` (when present) is in the future, each with [`CLOCK_SKEW`]
//! allowance. The clock is an
//! argument. Claims are parsed only after the MAC is good.
//!
//! An assertion may also be ES256 (feature `es256`, `Assertion::verify_with`): the same
//! checks, its signature verified with the edge's public keys (`Jwks`) instead of a ring,
//! and each algorithm only ever with its own keys.
//!
//! Why not the `jsonwebtoken` crate: its validation reads the system clock (which panics
//! on wasm32 and breaks the sans-IO core), it does not check `typ`, and it pulls in a
//! crypto backend choice; this file is a thin, fully tested layer over `hmac`.
//!
//! ```
//! use edge_session_origin::{jws, KeyRing, Timestamp};
//! let keys = KeyRing::parse("o1:0123456789abcdef0123456789abcdef").unwrap();
//! let now = Timestamp::from_secs(1_700_000_000);
//! let claims = serde_json::json!({"aud": "edge-session", "iat": now.as_secs(), "exp": now.as_secs() + 60});
//! let token = jws::sign(keys.signing(), "edge-login+jwt", &claims);
//! let expect = jws::Expect { typ: "edge-login+jwt", aud: "edge-session", max_lifetime_secs: Some(300) };
//! assert!(jws::verify(&token, &keys, &expect, now).is_ok());
//! let wrong_type = jws::Expect { typ: "JWT", ..expect };
//! assert_eq!(jws::verify(&token, &keys, &wrong_type, now), Err(jws::JwsError::WrongType));
//! ```

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::base64url;
use crate::keys::{Key, KeyRing};
use crate::time::Timestamp;

/// Longest token accepted (a login with a 1 KiB `ctx` is well under 2 KiB).
pub const MAX_JWS_LEN: usize = 8192;
/// Longest decoded protected header accepted.
const MAX_HEADER_LEN: usize = 512;
/// Allowance for clocks that disagree between origin and edge.
pub const CLOCK_SKEW: u64 = 30;

/// A JWS payload: a JSON object.
pub type Claims = Map<String, Value>;

/// What a verifier requires of a token.
#[derive(Clone, Copy, Debug)]
pub struct Expect<'a> {
    /// Required `typ` header (compared ASCII case-insensitively, RFC 7515 §4.1.9).
    pub typ: &'a str,
    /// Required audience: `aud` equal to it, or an array containing it.
    pub aud: &'a str,
    /// Longest allowed `exp - iat`, when the token type has one.
    pub max_lifetime_secs: Option<u64>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsError {
    /// Longer than [`MAX_JWS_LEN`].
    TooLarge,
    /// Not three base64url parts of JSON objects.
    Malformed,
    /// `alg` is not one the verifier holds keys for: not `HS256` (including `none`), or
    /// `ES256` verified with the edge's JWKS (feature `es256`).
    UnsupportedAlgorithm,
    /// `typ` missing or not the expected one.
    WrongType,
    /// A `crit` header names extensions we do not understand (RFC 7515 §4.1.11).
    CriticalHeader,
    /// `kid` names no key we hold.
    UnknownKey,
    /// The MAC does not match any candidate key.
    BadSignature,
    /// `aud` missing or not ours.
    WrongAudience,
    /// `exp` or `iat` missing or not a number.
    MissingTime,
    /// `exp` has passed.
    Expired,
    /// `iat` is in the future.
    IssuedInFuture,
    /// `nbf` is in the future, or not a number (RFC 7519 §4.1.5).
    NotYetValid,
    /// `exp - iat` exceeds what this token type allows.
    LifetimeTooLong,
}

impl fmt::Display for JwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLarge => "token too large",
            Self::Malformed => "token malformed",
            Self::UnsupportedAlgorithm => "alg not accepted",
            Self::WrongType => "wrong typ",
            Self::CriticalHeader => "unsupported crit header",
            Self::UnknownKey => "unknown kid",
            Self::BadSignature => "bad signature",
            Self::WrongAudience => "wrong aud",
            Self::MissingTime => "exp or iat missing",
            Self::Expired => "expired",
            Self::IssuedInFuture => "iat in the future",
            Self::NotYetValid => "nbf in the future",
            Self::LifetimeTooLong => "lifetime too long",
        })
    }
}

impl std::error::Error for JwsError {}

/// Signs `claims` as a compact JWS with header `{"alg":"HS256","typ":typ,"kid":…}`.
pub fn sign(key: &Key, typ: &str, claims: &impl Serialize) -> String {
    let header = serde_json::json!({"alg": "HS256", "typ": typ, "kid": key.kid()});
    let header = base64url::encode(serde_json::to_vec(&header).expect("JSON value serializes"));
    let payload = base64url::encode(serde_json::to_vec(claims).expect("claims serialize to JSON"));
    let signing_input = format!("{header}.{payload}");
    let tag = key.mac(&[signing_input.as_bytes()]);
    format!("{signing_input}.{}", base64url::encode(tag))
}

/// Verifies `token` against `keys` and `expect` at `now`; returns its claims. HS256 only.
pub fn verify(token: &str, keys: &KeyRing, expect: &Expect<'_>, now: Timestamp) -> Result<Claims, JwsError> {
    verify_with(token, Keys::hs256(keys), expect, now)
}

/// The keys a verification accepts, one set per algorithm: each algorithm is verified with
/// its own keys only (RFC 8725 §3.1), so a public key is never taken as an HMAC secret.
#[derive(Clone, Copy)]
pub(crate) struct Keys<'a> {
    /// `HS256`: the ring (`ORIGIN_SECRET`).
    pub(crate) hs256: Option<&'a KeyRing>,
    /// `ES256`: the edge's public keys.
    #[cfg(feature = "es256")]
    pub(crate) es256: Option<&'a crate::jwks::Jwks>,
}

impl<'a> Keys<'a> {
    /// `HS256` with `ring`, and no other algorithm.
    pub(crate) fn hs256(ring: &'a KeyRing) -> Keys<'a> {
        Keys {
            hs256: Some(ring),
            #[cfg(feature = "es256")]
            es256: None,
        }
    }
}

/// The keys that check one token's signature, chosen by its `alg`.
enum Signer<'a> {
    Hmac(&'a KeyRing),
    #[cfg(feature = "es256")]
    Ecdsa(&'a crate::jwks::Jwks),
}

/// [`verify`] with the keys of every algorithm the caller accepts.
pub(crate) fn verify_with(
    token: &str,
    keys: Keys<'_>,
    expect: &Expect<'_>,
    now: Timestamp,
) -> Result<Claims, JwsError> {
    let (header_b64, payload_b64, signature_b64) = split(token)?;
    let header = decode_object(header_b64)?;
    // The algorithm is the header's, but only among those the caller holds keys for:
    // `none`, and any algorithm without keys here, is refused before the signature.
    let (alg, signer) = match header.get("alg").and_then(Value::as_str) {
        Some("HS256") => keys.hs256.map(|ring| ("HS256", Signer::Hmac(ring))),
        #[cfg(feature = "es256")]
        Some("ES256") => keys.es256.map(|jwks| ("ES256", Signer::Ecdsa(jwks))),
        _ => None,
    }
    .ok_or(JwsError::UnsupportedAlgorithm)?;
    check_header(&header, alg, expect.typ)?;
    let kid = match header.get("kid") {
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(JwsError::Malformed),
        None => None,
    };
    let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    match signer {
        Signer::Hmac(ring) => verify_mac(ring, kid, signing_input, signature_b64)?,
        #[cfg(feature = "es256")]
        Signer::Ecdsa(jwks) => jwks.verify(kid, signing_input, signature_b64)?,
    }
    let claims = decode_object(payload_b64)?;
    check_claims(&claims, expect, now)?;
    Ok(claims)
}

/// The three parts of a compact JWS, after the size checks that come before any parsing.
fn split(token: &str) -> Result<(&str, &str, &str), JwsError> {
    if token.len() > MAX_JWS_LEN {
        return Err(JwsError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    if header_b64.len() > MAX_HEADER_LEN * 4 / 3 + 4 {
        return Err(JwsError::Malformed);
    }
    Ok((header_b64, payload_b64, signature_b64))
}

/// The protected header of a token [`verify_with`] would parse, or `None`: what the layer
/// reads to know whether an assertion asks for the JWKS (`alg`) and which key (`kid`).
#[cfg(all(feature = "es256", feature = "tower", feature = "client"))]
pub(crate) fn header_of(token: &str) -> Option<Claims> {
    split(token).ok().and_then(|(header_b64, _, _)| json_object(header_b64))
}

/// HS256: the MAC by the ring key `kid` names, or, without `kid`, by any key.
fn verify_mac(ring: &KeyRing, kid: Option<&str>, signing_input: &[u8], tag_b64: &str) -> Result<(), JwsError> {
    let tag = base64url::decode(tag_b64).ok_or(JwsError::Malformed)?;
    let key_matches = |key: &Key| key.verify(&[signing_input], &tag);
    let verified = match kid {
        Some(kid) => key_matches(ring.get(kid).ok_or(JwsError::UnknownKey)?),
        // A JWS without `kid` is tried against each key: all are ours and trusted alike.
        None => ring.iter().any(key_matches),
    };
    verified.then_some(()).ok_or(JwsError::BadSignature)
}

fn check_header(header: &Claims, alg: &str, typ: &str) -> Result<(), JwsError> {
    check_protected_header(header, alg, typ).map_err(|problem| match problem {
        HeaderProblem::Algorithm => JwsError::UnsupportedAlgorithm,
        HeaderProblem::Type => JwsError::WrongType,
        HeaderProblem::Critical => JwsError::CriticalHeader,
    })
}

/// What is wrong with a JWS protected header (see [`check_protected_header`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderProblem {
    /// `alg` is not the one algorithm accepted (`none` included).
    Algorithm,
    /// `typ` missing or not the expected one.
    Type,
    /// A `crit` header names extensions we do not understand.
    Critical,
}

/// The header checks every JWS here shares: `alg` exactly `alg` (RFC 8725 §3.1), `typ`
/// the expected one, compared case-insensitively (RFC 7515 §4.1.9; RFC 8725 §3.11), and
/// no `crit` (RFC 7515 §4.1.11). Public so that the edge's ES256 device proofs (DBSC)
/// check their headers by the same rule.
pub fn check_protected_header(header: &Claims, alg: &str, typ: &str) -> Result<(), HeaderProblem> {
    if header.get("alg").and_then(Value::as_str) != Some(alg) {
        return Err(HeaderProblem::Algorithm);
    }
    match header.get("typ").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case(typ) => {}
        _ => return Err(HeaderProblem::Type),
    }
    if header.contains_key("crit") {
        return Err(HeaderProblem::Critical);
    }
    Ok(())
}

fn check_claims(claims: &Claims, expect: &Expect<'_>, now: Timestamp) -> Result<(), JwsError> {
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expect.aud,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expect.aud)),
        _ => false,
    };
    if !aud_ok {
        return Err(JwsError::WrongAudience);
    }
    let exp = numeric_date(claims.get("exp")).ok_or(JwsError::MissingTime)?;
    let iat = numeric_date(claims.get("iat")).ok_or(JwsError::MissingTime)?;
    let now = now.as_secs();
    if now >= exp.saturating_add(CLOCK_SKEW) {
        return Err(JwsError::Expired);
    }
    if iat > now.saturating_add(CLOCK_SKEW) {
        return Err(JwsError::IssuedInFuture);
    }
    // Optional, but honoured when present: a token its issuer dated for later is not
    // valid yet, whoever relays it now.
    if let Some(nbf) = claims.get("nbf") {
        match numeric_date(Some(nbf)) {
            Some(nbf) if nbf <= now.saturating_add(CLOCK_SKEW) => {}
            _ => return Err(JwsError::NotYetValid),
        }
    }
    if let Some(max) = expect.max_lifetime_secs
        && exp.saturating_sub(iat) > max
    {
        return Err(JwsError::LifetimeTooLong);
    }
    Ok(())
}

/// A NumericDate (RFC 7519 §2): non-negative seconds, fractions allowed and truncated.
pub fn numeric_date(value: Option<&Value>) -> Option<u64> {
    let value = value?;
    value.as_u64().or_else(|| {
        let f = value.as_f64()?;
        (f.is_finite() && f >= 0.0 && f < u64::MAX as f64).then_some(f as u64)
    })
}

fn decode_object(b64: &str) -> Result<Claims, JwsError> {
    json_object(b64).ok_or(JwsError::Malformed)
}

/// A base64url JSON object (a JWS header or payload), or `None`.
pub fn json_object(b64: &str) -> Option<Claims> {
    serde_json::from_slice(&base64url::decode(b64)?).ok()
}
