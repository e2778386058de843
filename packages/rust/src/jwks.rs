//! The edge's JWKS (feature `es256`): the public keys that verify `X-Edge-Assertion` when
//! the edge signs it with ES256 (`ASSERTION_ALG=ES256`). The edge serves them at
//! `GET /__edge/jwks.json`; a service that only verifies identities holds them, and no
//! secret that could mint an assertion.
//!
//! [`Jwks::parse`] reads `EDGE_JWKS` (the JWKS text) and refuses, as a configuration
//! error, anything that is not `{"keys": [...]}`, a set without a usable key, and any key
//! with a private part (`d`): a private key pasted into an origin's configuration is a
//! leak to fix, not a key to use.
//!
//! ```
//! use edge_session_origin::{Jwks, JwksError};
//! // What GET /__edge/jwks.json answers (x and y: the key's public point).
//! let jwks = Jwks::parse(r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"a2","use":"sig","alg":"ES256",
//!     "x":"IStGseY_waoLb5O1YCS1RXwz-3OoAYiATJ443RtmAx4","y":"-x5Ao_2cs7e3A7Yp8M16W6kdQTVYAlRIyjOhfFhxEC0"}]}"#)?;
//! assert_eq!(jwks.len(), 1);
//! assert_eq!(Jwks::parse(r#"{"keys":[]}"#).unwrap_err(), JwksError::NoUsableKey);
//! # Ok::<(), JwksError>(())
//! ```

use std::fmt;

use p256::EncodedPoint;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;

use crate::base64url;
use crate::jws::JwsError;

/// One usable key: an EC P-256 public key for signatures, with its `kid` if it has one.
#[derive(Clone)]
struct JwksKey {
    kid: Option<String>,
    key: VerifyingKey,
}

/// The usable keys of a JWKS (RFC 7517): those that can verify an ES256 assertion. Any
/// other key (another type or curve, `use` other than `sig`, `alg` other than `ES256`, a
/// point off the curve) is skipped, as RFC 7517 §5 asks of keys one does not understand.
#[derive(Clone)]
pub struct Jwks {
    keys: Vec<JwksKey>,
}

/// Why a JWKS was refused. It never quotes the document: a pasted private key is in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksError {
    /// Not JSON.
    NotJson,
    /// Not an object with a `keys` array.
    NotAJwks,
    /// Key `index` (from 1) has a private part (`d`).
    PrivateKey(usize),
    /// No key can verify ES256: none is EC P-256 with `x` and `y` on the curve, `use`
    /// absent or `sig`, `alg` absent or `ES256`.
    NoUsableKey,
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwksError::NotJson => f.write_str("not JSON"),
            JwksError::NotAJwks => f.write_str(r#"not a JWKS ({"keys": [...]})"#),
            JwksError::PrivateKey(i) => {
                write!(f, "key {i} has a private part (d): publish public keys only, and replace that key")
            }
            JwksError::NoUsableKey => {
                f.write_str("no usable key (kty EC, crv P-256, x and y on the curve, use sig, alg ES256)")
            }
        }
    }
}

impl std::error::Error for JwksError {}

impl Jwks {
    /// `EDGE_JWKS`: the JWKS text, as `GET /__edge/jwks.json` serves it.
    pub fn parse(text: &str) -> Result<Jwks, JwksError> {
        let value: Value = serde_json::from_str(text).map_err(|_| JwksError::NotJson)?;
        Jwks::from_value(&value)
    }

    /// A JWKS already parsed as JSON; the same rules as [`Jwks::parse`].
    pub fn from_value(value: &Value) -> Result<Jwks, JwksError> {
        let keys = key_list(value)?;
        if let Some(i) = keys.iter().position(|key| key.get("d").is_some()) {
            return Err(JwksError::PrivateKey(i + 1));
        }
        Jwks::usable(keys)
    }

    /// A JWKS fetched from `EDGE_JWKS_URL`: a key with a private part is skipped, not an
    /// error (the edge never serves one; skipping it keeps the good keys verifying).
    #[cfg(all(feature = "tower", feature = "client"))]
    pub(crate) fn fetched(body: &[u8]) -> Result<Jwks, JwksError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| JwksError::NotJson)?;
        let keys = key_list(&value)?;
        Jwks::usable(keys.iter().filter(|key| key.get("d").is_none()))
    }

    fn usable<'a>(keys: impl IntoIterator<Item = &'a Value>) -> Result<Jwks, JwksError> {
        let keys: Vec<JwksKey> = keys.into_iter().filter_map(usable_key).collect();
        if keys.is_empty() {
            return Err(JwksError::NoUsableKey);
        }
        Ok(Jwks { keys })
    }

    /// No key: what a layer holds before its first fetch succeeds.
    #[cfg(all(feature = "tower", feature = "client"))]
    pub(crate) fn empty() -> Jwks {
        Jwks { keys: Vec::new() }
    }

    /// How many usable keys it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds none (never: parsing refuses a set without a usable key).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `signature` (the JWS's third part) is an ES256 signature of
    /// `signing_input` by the key `kid` names, or, without `kid`, by any key.
    pub(crate) fn verify(&self, kid: Option<&str>, signing_input: &[u8], signature: &str) -> Result<(), JwsError> {
        // Exactly 64 bytes, r || s (RFC 7518 §3.4), in canonical base64url (86 characters,
        // no padding, no stray bits): a DER signature, or any other spelling of the same
        // bytes, is refused before a key is looked at.
        let bytes = base64url::decode_fixed::<64>(signature).ok_or(JwsError::Malformed)?;
        // from_slice refuses r or s outside [1, N-1]. Both s and N-s verify: JWS does not
        // ask for the low one, and the edge does not produce it.
        let signature = Signature::from_slice(&bytes).map_err(|_| JwsError::BadSignature)?;
        let verifies = |key: &JwksKey| key.key.verify(signing_input, &signature).is_ok();
        match kid {
            // A kid is a promise: only the one key it names is tried, and a kid naming no
            // key, or two, is refused even if another key would verify.
            Some(kid) => {
                let mut named = self.keys.iter().filter(|key| key.kid.as_deref() == Some(kid));
                match (named.next(), named.next()) {
                    (Some(key), None) => verifies(key).then_some(()).ok_or(JwsError::BadSignature),
                    _ => Err(JwsError::UnknownKey),
                }
            }
            // Without kid every key is tried: all are the edge's, trusted alike.
            None => self.keys.iter().any(verifies).then_some(()).ok_or(JwsError::BadSignature),
        }
    }
}

impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<Option<&str>> = self.keys.iter().map(|key| key.kid.as_deref()).collect();
        f.debug_struct("Jwks").field("kids", &kids).finish()
    }
}

/// The `keys` array of a JWKS.
fn key_list(value: &Value) -> Result<&Vec<Value>, JwksError> {
    value.get("keys").and_then(Value::as_array).ok_or(JwksError::NotAJwks)
}

/// The key of a JWK that can verify ES256, or `None`.
fn usable_key(jwk: &Value) -> Option<JwksKey> {
    let field = |name| jwk.get(name).and_then(Value::as_str);
    let absent_or = |name, expected| jwk.get(name).is_none() || field(name) == Some(expected);
    if field("kty") != Some("EC") || field("crv") != Some("P-256") || jwk.get("d").is_some() {
        return None;
    }
    if !absent_or("use", "sig") || !absent_or("alg", "ES256") {
        return None;
    }
    let kid = match jwk.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return None,
    };
    // 32 bytes each, canonical base64url; from_encoded_point refuses a point off the curve
    // and the identity: neither is a key the edge could have signed with.
    let x = base64url::decode_fixed::<32>(field("x")?)?;
    let y = base64url::decode_fixed::<32>(field("y")?)?;
    let point = EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
    let key = VerifyingKey::from_encoded_point(&point).ok()?;
    Some(JwksKey { kid, key })
}
