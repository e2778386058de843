//! What the edge and the origin say to each other (DESIGN §4), as typed JWS claims.
//!
//! * [`Assertion`] — `X-Edge-Assertion`, the edge → origin identity (`typ: "JWT"`, so any
//!   JWT library verifies it).
//! * [`Login`] / [`Logout`] — `X-Edge-Login` / `X-Edge-Logout`, origin → edge directives,
//!   typed `edge-login+jwt` / `edge-logout+jwt` with `aud: "edge-session"`. The distinct
//!   `typ` and `aud` are what stop a reflected request assertion from being replayed as a
//!   login (RFC 8725 §3.11–3.12).
//!
//! A directive is bound to the request it answers: every forwarded request carries a
//! fresh [`RequestNonce`] in `X-Edge-Nonce`, and a directive counts only if its `nonce`
//! claim is that request's. A login response that a cache between edge and origin stored,
//! or a directive header someone captured, therefore logs nobody else in (the OpenID
//! Connect `nonce`, applied to the edge ↔ origin hop).
//!
//! ```
//! use edge_session::directive::{DirectiveError, Login, RequestNonce};
//! use edge_session::keys::KeyRing;
//! use edge_session::time::Timestamp;
//! let secret = KeyRing::parse("o1:0123456789abcdef0123456789abcdef").unwrap();
//! let now = Timestamp::from_secs(1_700_000_000);
//! let nonce = RequestNonce::from_bytes([7; 16]);
//! let login = Login { sub: "alice".into(), remember: true, ctx: None };
//! let header = login.sign(&secret, now, nonce.as_str());
//! assert_eq!(Login::verify(&header, &secret, now, &nonce).unwrap(), login);
//! // The same header answering another request is refused.
//! let other = RequestNonce::from_bytes([8; 16]);
//! assert_eq!(Login::verify(&header, &secret, now, &other), Err(DirectiveError::WrongNonce));
//! ```

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::credential::{FamilyId, Identity, MAX_CTX_LEN, MAX_SUB_LEN};
use crate::family::SessionState;
use crate::jws::{self, Claims, Expect, JwsError};
use crate::keys::KeyRing;
use crate::time::Timestamp;

/// `aud` of directives: they are addressed to the edge.
pub const EDGE_AUDIENCE: &str = "edge-session";
/// `iss` of assertions.
pub const EDGE_ISSUER: &str = "edge-session";
pub const ASSERTION_TYPE: &str = "JWT";
pub const LOGIN_TYPE: &str = "edge-login+jwt";
pub const LOGOUT_TYPE: &str = "edge-logout+jwt";
/// An assertion lives 60 s: long enough for any origin, short enough to be useless
/// if it leaks into a log.
pub const ASSERTION_TTL_SECS: u64 = 60;
/// Longest `exp - iat` a directive may have (DESIGN §4: ≤ 5 min).
pub const DIRECTIVE_MAX_LIFETIME_SECS: u64 = 300;

/// Why a directive was ignored. `Display` is the short `reason` the edge logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectiveError {
    /// Signature, type, audience or time checks failed.
    Jws(JwsError),
    /// Signed correctly but the claims are unusable (missing `sub`, oversized `ctx`…).
    BadClaims(&'static str),
    /// Signed correctly, but its `nonce` is missing or another request's: a cached or
    /// captured directive.
    WrongNonce,
}

impl fmt::Display for DirectiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Jws(e) => write!(f, "{e}"),
            Self::BadClaims(why) => write!(f, "claims: {why}"),
            Self::WrongNonce => f.write_str("nonce"),
        }
    }
}

impl std::error::Error for DirectiveError {}

impl From<JwsError> for DirectiveError {
    fn from(e: JwsError) -> Self {
        DirectiveError::Jws(e)
    }
}

/// `X-Edge-Nonce`: 128 fresh random bits per forwarded request, base64url (22 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestNonce(String);

impl RequestNonce {
    /// The nonce for one request, from fresh random bytes (the shell draws them).
    pub fn from_bytes(bytes: [u8; 16]) -> RequestNonce {
        RequestNonce(B64.encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a directive's claims carry this nonce. Not a secret comparison: the nonce
    /// travelled to the origin in the clear; what makes it binding is the MAC over it.
    fn check(&self, claims: &Claims) -> Result<(), DirectiveError> {
        match claims.get("nonce").and_then(Value::as_str) {
            Some(nonce) if nonce == self.0 => Ok(()),
            _ => Err(DirectiveError::WrongNonce),
        }
    }
}

/// `X-Edge-Login`: create a family for `sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub sub: String,
    pub remember: bool,
    pub ctx: Option<Map<String, Value>>,
}

impl Login {
    /// Signs the directive as an origin would, for the request whose `X-Edge-Nonce` is
    /// `nonce`, valid for five minutes from `now`.
    pub fn sign(&self, origin_secret: &KeyRing, now: Timestamp, nonce: &str) -> String {
        let mut claims = directive_claims(now, nonce);
        claims.insert("sub".into(), self.sub.clone().into());
        claims.insert("remember".into(), self.remember.into());
        if let Some(ctx) = &self.ctx {
            claims.insert("ctx".into(), Value::Object(ctx.clone()));
        }
        jws::sign(origin_secret.signing(), LOGIN_TYPE, &claims)
    }

    /// Verifies an `X-Edge-Login` that answers the request whose nonce is `nonce`.
    pub fn verify(token: &str, origin_secret: &KeyRing, now: Timestamp, nonce: &RequestNonce) -> Result<Login, DirectiveError> {
        let claims = jws::verify(token, origin_secret, &directive_expect(LOGIN_TYPE), now)?;
        nonce.check(&claims)?;
        let sub = valid_sub(&claims)?;
        let remember = match claims.get("remember") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(DirectiveError::BadClaims("remember is not a boolean")),
        };
        let ctx = match claims.get("ctx") {
            None | Some(Value::Null) => None,
            Some(Value::Object(ctx)) if serde_json::to_vec(ctx).map_or(0, |v| v.len()) <= MAX_CTX_LEN => {
                Some(ctx.clone())
            }
            Some(Value::Object(_)) => return Err(DirectiveError::BadClaims("ctx is larger than 1 KiB")),
            Some(_) => return Err(DirectiveError::BadClaims("ctx is not an object")),
        };
        Ok(Login { sub, remember, ctx })
    }

    pub fn identity(&self) -> Identity {
        Identity { sub: self.sub.clone(), ctx: self.ctx.clone() }
    }
}

/// Which families a logout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogoutScope {
    /// The family of the request the directive answers.
    Session,
    /// Every family of `sub`.
    Everywhere,
}

/// `X-Edge-Logout`: end this session, or every session of `sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logout {
    pub sub: Option<String>,
    pub scope: LogoutScope,
}

impl Logout {
    /// Signs the directive as an origin would, for the request whose `X-Edge-Nonce` is
    /// `nonce`, valid for five minutes from `now`.
    pub fn sign(&self, origin_secret: &KeyRing, now: Timestamp, nonce: &str) -> String {
        let mut claims = directive_claims(now, nonce);
        claims.insert("scope".into(), serde_json::to_value(self.scope).expect("enum serializes"));
        if let Some(sub) = &self.sub {
            claims.insert("sub".into(), sub.clone().into());
        }
        jws::sign(origin_secret.signing(), LOGOUT_TYPE, &claims)
    }

    /// Verifies an `X-Edge-Logout` that answers the request whose nonce is `nonce`.
    pub fn verify(token: &str, origin_secret: &KeyRing, now: Timestamp, nonce: &RequestNonce) -> Result<Logout, DirectiveError> {
        let claims = jws::verify(token, origin_secret, &directive_expect(LOGOUT_TYPE), now)?;
        nonce.check(&claims)?;
        let scope = match claims.get("scope") {
            None => LogoutScope::Session,
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|_| DirectiveError::BadClaims("scope is not \"session\" or \"everywhere\""))?,
        };
        let sub = match claims.get("sub") {
            None => None,
            Some(_) => Some(valid_sub(&claims)?),
        };
        if scope == LogoutScope::Everywhere && sub.is_none() {
            return Err(DirectiveError::BadClaims("scope \"everywhere\" needs sub"));
        }
        Ok(Logout { sub, scope })
    }
}

/// The claims of `X-Edge-Assertion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assertion {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub sid: String,
    pub state: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Map<String, Value>>,
}

impl Assertion {
    /// The assertion for one forwarded request; `jti` is 128 fresh random bits.
    pub fn new(
        identity: &Identity,
        family: FamilyId,
        state: SessionState,
        audience: &str,
        now: Timestamp,
        jti: [u8; 16],
    ) -> Assertion {
        Assertion {
            iss: EDGE_ISSUER.into(),
            aud: audience.into(),
            sub: identity.sub.clone(),
            sid: family.to_string(),
            state: state.as_str().into(),
            iat: now.as_secs(),
            exp: now.as_secs() + ASSERTION_TTL_SECS,
            jti: B64.encode(jti),
            ctx: identity.ctx.clone(),
        }
    }

    pub fn sign(&self, origin_secret: &KeyRing) -> String {
        jws::sign(origin_secret.signing(), ASSERTION_TYPE, self)
    }

    /// What an origin does with the header (a Rust origin can call this directly).
    pub fn verify(token: &str, origin_secret: &KeyRing, audience: &str, now: Timestamp) -> Result<Assertion, DirectiveError> {
        let expect = Expect { typ: ASSERTION_TYPE, aud: audience, max_lifetime_secs: Some(ASSERTION_TTL_SECS) };
        let claims = jws::verify(token, origin_secret, &expect, now)?;
        if claims.get("iss").and_then(Value::as_str) != Some(EDGE_ISSUER) {
            return Err(DirectiveError::BadClaims("iss is not edge-session"));
        }
        serde_json::from_value(Value::Object(claims)).map_err(|_| DirectiveError::BadClaims("assertion claims malformed"))
    }
}

fn directive_expect(typ: &str) -> Expect<'_> {
    Expect { typ, aud: EDGE_AUDIENCE, max_lifetime_secs: Some(DIRECTIVE_MAX_LIFETIME_SECS) }
}

fn directive_claims(now: Timestamp, nonce: &str) -> Claims {
    let mut claims = directive_claims_for(now, DIRECTIVE_MAX_LIFETIME_SECS);
    claims.insert("nonce".into(), nonce.into());
    claims
}

/// `aud`, `iat` and `exp` of a token addressed to the edge, valid `lifetime_secs`.
pub(crate) fn directive_claims_for(now: Timestamp, lifetime_secs: u64) -> Claims {
    let mut claims = Claims::new();
    claims.insert("aud".into(), EDGE_AUDIENCE.into());
    claims.insert("iat".into(), now.as_secs().into());
    claims.insert("exp".into(), (now.as_secs() + lifetime_secs).into());
    claims
}

/// A `sub` the edge will carry: 1–256 characters, no control characters (it goes into
/// a request header, where CR/LF would be header injection).
pub(crate) fn valid_sub(claims: &Claims) -> Result<String, DirectiveError> {
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() && sub.len() <= MAX_SUB_LEN && !sub.chars().any(char::is_control) => {
            Ok(sub.to_owned())
        }
        _ => Err(DirectiveError::BadClaims("sub must be 1–256 characters without control characters")),
    }
}
