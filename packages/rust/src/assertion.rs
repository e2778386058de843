//! `X-Edge-Assertion`: the identity the edge hands the origin with every identified
//! request, as a compact JWS any JWT library verifies (`alg: HS256`, `typ: "JWT"`, signed
//! with `ORIGIN_SECRET`; or, with the edge's `ASSERTION_ALG=ES256`, `alg: ES256`, verified
//! with the edge's public JWKS: `Assertion::verify_with`, feature `es256`). It lives 60 s
//! and carries a fresh `jti`, so one that leaks into a log is soon useless.
//!
//! An origin verifies the header on every request (the layer of feature `tower` does
//! it for you); a test of an origin mints one as the edge would:
//!
//! ```
//! use std::time::SystemTime;
//! use edge_session_origin::{Assertion, FamilyId, Identity, KeyRing, Timestamp};
//! let secret = KeyRing::parse("o1:0123456789abcdef0123456789abcdef").unwrap(); // ORIGIN_SECRET
//! let now = Timestamp::from(SystemTime::now());
//! // What the edge sends (in a test, what you send):
//! let alice = Identity { sub: "alice".into(), ctx: None, auth_time: None, amr: None };
//! let header = Assertion::new(&alice, FamilyId::from_bytes([1; 16]), "fresh", "origin", now, [2; 16]).sign(&secret);
//! // What the origin does with `X-Edge-Assertion`:
//! match Assertion::verify(&header, &secret, "origin", now) {
//!     Ok(user) => assert_eq!((user.sub.as_str(), user.state.as_str()), ("alice", "fresh")),
//!     Err(refused) => panic!("anonymous: {refused}"),
//! }
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::base64url;
use crate::identity::{FamilyId, Identity};
#[cfg(feature = "es256")]
use crate::jwks::Jwks;
use crate::jws::{self, Expect};
use crate::keys::KeyRing;
use crate::time::Timestamp;
use crate::token::{EDGE_ISSUER, TokenError};

/// `typ` of the assertion: a plain JWT, so any library verifies it.
pub const ASSERTION_TYPE: &str = "JWT";
/// An assertion lives 60 s: long enough for any origin, short enough to be useless
/// if it leaks into a log.
pub const ASSERTION_TTL_SECS: u64 = 60;

/// The claims of `X-Edge-Assertion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assertion {
    /// `edge-session`.
    pub iss: String,
    /// `ORIGIN_AUDIENCE`.
    pub aud: String,
    /// The user.
    pub sub: String,
    /// The family's id, as `X-Edge-Session` carries it.
    pub sid: String,
    /// `fresh`, `rotated`, `grace` or `recovered`.
    pub state: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires, Unix seconds (`iat` + 60).
    pub exp: u64,
    /// 128 fresh random bits, base64url (empty if a verified token carried none).
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The login's `ctx`, when it gave one.
    pub ctx: Option<Map<String, Value>>,
    /// When the session refreshed from another country, network or browser family than
    /// before (Unix seconds), if it did and the edge runs `ON_CONTEXT_CHANGE=flag`. A
    /// signal, not a verdict (a phone changes networks): before a sensitive action, ask
    /// for the password again unless this session (`sid`) re-entered it for this very
    /// value (keep the value each step-up answered, per `sid`, and ask when it differs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_changed: Option<u64>,
    /// When the user last proved who they are (the login), Unix seconds: OIDC's
    /// `auth_time`. Before a sensitive action, ask for the password again if it is older
    /// than you allow. Absent only from an edge older than this claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// How they proved it (RFC 8176 values), when the login directive said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
}

impl Assertion {
    /// The assertion for one forwarded request; `state` is its `X-Edge-Session-State`
    /// (`fresh`, `rotated`, `grace`, `recovered`), `jti` 128 fresh random bits.
    pub fn new(
        identity: &Identity,
        family: FamilyId,
        state: &str,
        audience: &str,
        now: Timestamp,
        jti: [u8; 16],
    ) -> Assertion {
        Assertion {
            iss: EDGE_ISSUER.into(),
            aud: audience.into(),
            sub: identity.sub.clone(),
            sid: family.to_string(),
            state: state.into(),
            iat: now.as_secs(),
            exp: now.as_secs() + ASSERTION_TTL_SECS,
            jti: base64url::encode(jti),
            ctx: identity.ctx.clone(),
            context_changed: None,
            auth_time: identity.auth_time,
            amr: identity.amr.clone(),
        }
    }

    /// The `X-Edge-Assertion` value, signed with the ring's first key.
    pub fn sign(&self, origin_secret: &KeyRing) -> String {
        jws::sign(origin_secret.signing(), ASSERTION_TYPE, self)
    }

    /// What an origin does with the header: the claims, or why it is refused (then the
    /// request is anonymous). The rules are the ones every origin package applies,
    /// checked by one shared table (`packages/conformance/vectors.json`, run by this
    /// crate's `tests/conformance.rs`).
    pub fn verify(
        token: &str,
        origin_secret: &KeyRing,
        audience: &str,
        now: Timestamp,
    ) -> Result<Assertion, TokenError> {
        verify_with_keys(token, jws::Keys::hs256(origin_secret), audience, now)
    }

    /// [`verify`](Self::verify) with the keys the origin holds (feature `es256`): `HS256`
    /// with `ORIGIN_SECRET`'s ring, `ES256` with the edge's JWKS, or both while the edge
    /// switches from one to the other. Each algorithm is verified with its own keys only;
    /// the other is refused.
    ///
    /// ```
    /// use edge_session_origin::{Assertion, AssertionKeys, Jwks, Timestamp};
    /// let jwks = Jwks::parse(r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"a2",
    ///     "x":"IStGseY_waoLb5O1YCS1RXwz-3OoAYiATJ443RtmAx4","y":"-x5Ao_2cs7e3A7Yp8M16W6kdQTVYAlRIyjOhfFhxEC0"}]}"#)?; // EDGE_JWKS
    /// # let header = "e30.e30.e30";
    /// // `header` is the request's X-Edge-Assertion; "origin" is ORIGIN_AUDIENCE.
    /// match Assertion::verify_with(header, AssertionKeys::Jwks(&jwks), "origin", Timestamp::from(std::time::SystemTime::now())) {
    ///     Ok(user) => println!("{} in session {}", user.sub, user.sid),
    ///     Err(why) => println!("anonymous: {why}"), // log it; never an error page
    /// }
    /// # Ok::<(), edge_session_origin::JwksError>(())
    /// ```
    #[cfg(feature = "es256")]
    pub fn verify_with(
        token: &str,
        keys: AssertionKeys<'_>,
        audience: &str,
        now: Timestamp,
    ) -> Result<Assertion, TokenError> {
        let (hs256, es256) = match keys {
            AssertionKeys::Secret(ring) => (Some(ring), None),
            AssertionKeys::Jwks(jwks) => (None, Some(jwks)),
            AssertionKeys::Both(ring, jwks) => (Some(ring), Some(jwks)),
        };
        verify_with_keys(token, jws::Keys { hs256, es256 }, audience, now)
    }
}

/// The keys an origin verifies assertions with (feature `es256`): see
/// [`Assertion::verify_with`].
#[cfg(feature = "es256")]
#[derive(Debug, Clone, Copy)]
pub enum AssertionKeys<'a> {
    /// `ORIGIN_SECRET` only: `HS256`, as [`Assertion::verify`].
    Secret(&'a KeyRing),
    /// The edge's JWKS only (`EDGE_JWKS`): `ES256`, and no secret held.
    Jwks(&'a Jwks),
    /// Both, while the edge moves from `HS256` to `ES256`: each with its own keys.
    Both(&'a KeyRing, &'a Jwks),
}

fn verify_with_keys(token: &str, keys: jws::Keys<'_>, audience: &str, now: Timestamp) -> Result<Assertion, TokenError> {
    let expect = Expect { typ: ASSERTION_TYPE, aud: audience, max_lifetime_secs: Some(ASSERTION_TTL_SECS) };
    let claims = jws::verify_with(token, keys, &expect, now)?;
    if claims.get("iss").and_then(Value::as_str) != Some(EDGE_ISSUER) {
        return Err(TokenError::BadClaims("iss is not edge-session"));
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let sub = text("sub").filter(|sub| !sub.is_empty()).ok_or(TokenError::BadClaims("sub missing or empty"))?;
    let (Some(sid), Some(state)) = (text("sid"), text("state")) else {
        return Err(TokenError::BadClaims("sid or state missing"));
    };
    let ctx = match claims.get("ctx") {
        None | Some(Value::Null) => None,
        Some(Value::Object(ctx)) => Some(ctx.clone()),
        Some(_) => return Err(TokenError::BadClaims("ctx is not an object")),
    };
    let date = |name, refusal| match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        date => jws::numeric_date(date).map(Some).ok_or(TokenError::BadClaims(refusal)),
    };
    let context_changed = date("context_changed", "context_changed is not a NumericDate")?;
    let auth_time = date("auth_time", "auth_time is not a NumericDate")?;
    let amr = match claims.get("amr") {
        None | Some(Value::Null) => None,
        Some(Value::Array(values)) => Some(
            values
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or(TokenError::BadClaims("amr is not an array of strings"))?,
        ),
        Some(_) => return Err(TokenError::BadClaims("amr is not an array of strings")),
    };
    // `aud` may be an array and times may carry fractions (RFC 7519); jws::verify has
    // checked both, so what is kept is the audience it matched and whole seconds.
    let seconds = |name| jws::numeric_date(claims.get(name)).unwrap_or_default();
    Ok(Assertion {
        iss: EDGE_ISSUER.into(),
        aud: audience.into(),
        sub,
        sid,
        state,
        iat: seconds("iat"),
        exp: seconds("exp"),
        jti: text("jti").unwrap_or_default(),
        ctx,
        context_changed,
        auth_time,
        amr,
    })
}
