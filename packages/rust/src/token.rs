//! What every token between the edge and the origin shares: the edge's own name as
//! audience and issuer, the claims of a token addressed to the edge, the `sub` rule, and
//! [`TokenError`], why one was refused.

use std::fmt;

use serde_json::Value;

use crate::identity::MAX_SUB_LEN;
use crate::jws::{Claims, JwsError};
use crate::time::Timestamp;

/// `aud` of directives and admin tokens: they are addressed to the edge.
pub const EDGE_AUDIENCE: &str = "edge-session";
/// `iss` of assertions.
pub const EDGE_ISSUER: &str = "edge-session";

/// Why a token (directive, assertion, admin token) was refused. `Display` is the short
/// `reason` the edge logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Signature, type, audience or time checks failed.
    Jws(JwsError),
    /// Signed correctly, but the claims are unusable (missing `sub`, oversized `ctx`…).
    BadClaims(&'static str),
    /// Signed correctly, but its `nonce` is missing or another request's: a cached or
    /// captured directive.
    WrongNonce,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Jws(e) => write!(f, "{e}"),
            Self::BadClaims(why) => write!(f, "claims: {why}"),
            Self::WrongNonce => f.write_str("nonce"),
        }
    }
}

impl std::error::Error for TokenError {}

impl From<JwsError> for TokenError {
    fn from(e: JwsError) -> Self {
        TokenError::Jws(e)
    }
}

/// `aud`, `iat` and `exp` of a token addressed to the edge, valid `lifetime_secs`.
pub(crate) fn claims_for_edge(now: Timestamp, lifetime_secs: u64) -> Claims {
    let mut claims = Claims::new();
    claims.insert("aud".into(), EDGE_AUDIENCE.into());
    claims.insert("iat".into(), now.as_secs().into());
    claims.insert("exp".into(), (now.as_secs() + lifetime_secs).into());
    claims
}

/// A `sub` the edge will carry: 1–256 characters, no control characters (it goes into
/// a request header, where CR/LF would be header injection).
pub(crate) fn valid_sub(claims: &Claims) -> Result<String, TokenError> {
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() && sub.len() <= MAX_SUB_LEN && !sub.chars().any(char::is_control) => {
            Ok(sub.to_owned())
        }
        _ => Err(TokenError::BadClaims("sub must be 1–256 characters without control characters")),
    }
}
