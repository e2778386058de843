//! The origin's directives to the edge: [`Login`] (`X-Edge-Login`) and [`Logout`]
//! (`X-Edge-Logout`), response headers signed with `ORIGIN_SECRET`, typed
//! `edge-login+jwt` / `edge-logout+jwt` with `aud: "edge-session"`. The distinct `typ` and
//! `aud` are what stop a reflected request assertion from being replayed as a login
//! (RFC 8725 §3.11–3.12).
//!
//! A directive is bound to the request it answers: every forwarded request carries a
//! fresh [`RequestNonce`] in `X-Edge-Nonce`, and a directive counts only if its `nonce`
//! claim is that request's. A login response that a cache between edge and origin stored,
//! or a directive header someone captured, therefore logs nobody else in (the OpenID
//! Connect `nonce`, applied to the edge ↔ origin hop).
//!
//! An origin signs a directive for the request it answers, with that request's
//! `X-Edge-Nonce`, and puts it on the response:
//!
//! ```
//! use std::time::SystemTime;
//! use edge_session_origin::{
//!     EverywhereNeedsSub, KeyRing, Login, Logout, LogoutScope, RequestNonce, Timestamp, TokenError,
//! };
//! let secret = KeyRing::parse("o1:0123456789abcdef0123456789abcdef").unwrap(); // ORIGIN_SECRET
//! let now = Timestamp::from(SystemTime::now());
//! let nonce = "AAAAAAAAAAAAAAAAAAAAAA"; // the request's X-Edge-Nonce
//! // X-Edge-Login: log alice in, "remember me".
//! let login = Login { sub: "alice".into(), remember: true, ctx: None, amr: None, auth_time: None };
//! let header = login.sign(&secret, now, nonce);
//! // X-Edge-Logout: end this session (LogoutScope::Everywhere with a sub: all of them).
//! let _logout = Logout { sub: None, scope: LogoutScope::Session }.sign(&secret, now, nonce).unwrap();
//! // Everywhere without a sub is refused here, as the edge would refuse it.
//! let nobody = Logout { sub: None, scope: LogoutScope::Everywhere };
//! assert_eq!(nobody.sign(&secret, now, nonce), Err(EverywhereNeedsSub));
//!
//! // The edge accepts it for that request only.
//! let request = RequestNonce::from_bytes([0; 16]);
//! assert_eq!(Login::verify(&header, &secret, now, &request).unwrap(), login);
//! let other = RequestNonce::from_bytes([8; 16]);
//! assert_eq!(Login::verify(&header, &secret, now, &other), Err(TokenError::WrongNonce));
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::base64url;
use crate::identity::{Identity, MAX_CTX_LEN};
use crate::jws::{self, Claims, Expect};
use crate::keys::KeyRing;
use crate::time::Timestamp;
use crate::token::{EDGE_AUDIENCE, TokenError, claims_for_edge, valid_sub};

/// `typ` of `X-Edge-Login`.
pub const LOGIN_TYPE: &str = "edge-login+jwt";
/// `typ` of `X-Edge-Logout`.
pub const LOGOUT_TYPE: &str = "edge-logout+jwt";
/// Longest `exp - iat` a directive may have: five minutes, for an origin's slow page.
pub const DIRECTIVE_MAX_LIFETIME_SECS: u64 = 300;

/// `X-Edge-Nonce`: 128 fresh random bits per forwarded request, base64url (22 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestNonce(String);

impl RequestNonce {
    /// The nonce for one request, from fresh random bytes (the shell draws them).
    pub fn from_bytes(bytes: [u8; 16]) -> RequestNonce {
        RequestNonce(base64url::encode(bytes))
    }

    /// The header value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a directive's claims carry this nonce. Not a secret comparison: the nonce
    /// travelled to the origin in the clear; what makes it binding is the MAC over it.
    pub(crate) fn check(&self, claims: &Claims) -> Result<(), TokenError> {
        match claims.get("nonce").and_then(Value::as_str) {
            Some(nonce) if nonce == self.0 => Ok(()),
            _ => Err(TokenError::WrongNonce),
        }
    }
}

/// `X-Edge-Login`: create a family for `sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The user to log in.
    pub sub: String,
    /// "Remember me".
    pub remember: bool,
    /// Claims to carry in the access cookie and every assertion (≤ 1 KiB).
    pub ctx: Option<Map<String, Value>>,
    /// How the user proved who they are (RFC 8176: `pwd`, `otp`, `mfa`…): carried to the
    /// origin as the assertion's `amr`. At most [`MAX_AMR`] values of at most
    /// [`MAX_AMR_LEN`] characters from `[A-Za-z0-9_.:-]`.
    pub amr: Option<Vec<String>>,
    /// When the user last proved who they are, if not now (Unix seconds): a login the app
    /// makes without a password (a migration bridge adopting its old session, a
    /// remember-me token) says when that proof was, or `0` (never recent), so that a
    /// sensitive action still asks for one. The edge takes the earlier of it and now.
    pub auth_time: Option<u64>,
}

/// Most `amr` values a login may carry.
pub const MAX_AMR: usize = 8;
/// Longest `amr` value (RFC 8176's are at most five characters).
pub const MAX_AMR_LEN: usize = 16;

/// `amr` as a login directive may carry it: an array of 1 to [`MAX_AMR`] short names.
pub(crate) fn valid_amr(value: Option<&Value>) -> Result<Option<Vec<String>>, TokenError> {
    let Some(Value::Array(values)) = value else {
        return match value {
            None | Some(Value::Null) => Ok(None),
            Some(_) => Err(TokenError::BadClaims("amr is not an array")),
        };
    };
    let name = |v: &Value| {
        v.as_str()
            .filter(|s| {
                (1..=MAX_AMR_LEN).contains(&s.len())
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
            })
            .map(str::to_owned)
    };
    match values.iter().map(name).collect::<Option<Vec<_>>>() {
        Some(amr) if (1..=MAX_AMR).contains(&amr.len()) => Ok(Some(amr)),
        _ => Err(TokenError::BadClaims("amr must be 1 to 8 names of [A-Za-z0-9_.:-]{1,16}")),
    }
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
        if let Some(amr) = &self.amr {
            claims.insert("amr".into(), amr.clone().into());
        }
        if let Some(auth_time) = self.auth_time {
            claims.insert("auth_time".into(), auth_time.into());
        }
        jws::sign(origin_secret.signing(), LOGIN_TYPE, &claims)
    }

    /// Verifies an `X-Edge-Login` that answers the request whose nonce is `nonce`.
    pub fn verify(
        token: &str,
        origin_secret: &KeyRing,
        now: Timestamp,
        nonce: &RequestNonce,
    ) -> Result<Login, TokenError> {
        let claims = jws::verify(token, origin_secret, &directive_expect(LOGIN_TYPE), now)?;
        nonce.check(&claims)?;
        let sub = valid_sub(&claims)?;
        let remember = match claims.get("remember") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(TokenError::BadClaims("remember is not a boolean")),
        };
        let ctx = match claims.get("ctx") {
            None | Some(Value::Null) => None,
            Some(Value::Object(ctx)) if serde_json::to_vec(ctx).map_or(0, |v| v.len()) <= MAX_CTX_LEN => {
                Some(ctx.clone())
            }
            Some(Value::Object(_)) => return Err(TokenError::BadClaims("ctx is larger than 1 KiB")),
            Some(_) => return Err(TokenError::BadClaims("ctx is not an object")),
        };
        let amr = valid_amr(claims.get("amr"))?;
        let auth_time = match claims.get("auth_time") {
            None | Some(Value::Null) => None,
            date => Some(jws::numeric_date(date).ok_or(TokenError::BadClaims("auth_time is not a NumericDate"))?),
        };
        Ok(Login { sub, remember, ctx, amr, auth_time })
    }

    /// The identity the new family will carry, logged in at `now`: authenticated then, or
    /// at the directive's earlier `auth_time`.
    pub fn identity(&self, now: Timestamp) -> Identity {
        let auth_time = self.auth_time.map_or(now.as_secs(), |at| at.min(now.as_secs()));
        Identity { sub: self.sub.clone(), ctx: self.ctx.clone(), auth_time: Some(auth_time), amr: self.amr.clone() }
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
    /// The user (required for `everywhere`).
    pub sub: Option<String>,
    /// Which families end.
    pub scope: LogoutScope,
}

impl Logout {
    /// Signs the directive as an origin would, for the request whose `X-Edge-Nonce` is
    /// `nonce`, valid for five minutes from `now`. [`LogoutScope::Everywhere`] without a
    /// `sub` (or with an empty one) is refused: the edge would refuse the directive.
    pub fn sign(&self, origin_secret: &KeyRing, now: Timestamp, nonce: &str) -> Result<String, EverywhereNeedsSub> {
        if self.scope == LogoutScope::Everywhere && self.sub.as_deref().is_none_or(str::is_empty) {
            return Err(EverywhereNeedsSub);
        }
        let mut claims = directive_claims(now, nonce);
        claims.insert("scope".into(), serde_json::to_value(self.scope).expect("enum serializes"));
        if let Some(sub) = &self.sub {
            claims.insert("sub".into(), sub.clone().into());
        }
        Ok(jws::sign(origin_secret.signing(), LOGOUT_TYPE, &claims))
    }

    /// Verifies an `X-Edge-Logout` that answers the request whose nonce is `nonce`.
    pub fn verify(
        token: &str,
        origin_secret: &KeyRing,
        now: Timestamp,
        nonce: &RequestNonce,
    ) -> Result<Logout, TokenError> {
        let claims = jws::verify(token, origin_secret, &directive_expect(LOGOUT_TYPE), now)?;
        nonce.check(&claims)?;
        let scope = match claims.get("scope") {
            None => LogoutScope::Session,
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|_| TokenError::BadClaims("scope is not \"session\" or \"everywhere\""))?,
        };
        let sub = match claims.get("sub") {
            None => None,
            Some(_) => Some(valid_sub(&claims)?),
        };
        if scope == LogoutScope::Everywhere && sub.is_none() {
            return Err(TokenError::BadClaims("scope \"everywhere\" needs sub"));
        }
        Ok(Logout { sub, scope })
    }
}

/// [`Logout::sign`] refused [`LogoutScope::Everywhere`] without a `sub`: the edge would
/// refuse that directive (it logs `directive_rejected`), and the user would stay signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EverywhereNeedsSub;

impl fmt::Display for EverywhereNeedsSub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("scope everywhere needs sub")
    }
}

impl std::error::Error for EverywhereNeedsSub {}

pub(crate) fn directive_expect(typ: &str) -> Expect<'_> {
    Expect { typ, aud: EDGE_AUDIENCE, max_lifetime_secs: Some(DIRECTIVE_MAX_LIFETIME_SECS) }
}

pub(crate) fn directive_claims(now: Timestamp, nonce: &str) -> Claims {
    let mut claims = claims_for_edge(now, DIRECTIVE_MAX_LIFETIME_SECS);
    claims.insert("nonce".into(), nonce.into());
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret() -> KeyRing {
        KeyRing::parse("o1:0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn a_logout_round_trips_and_everywhere_needs_a_sub() {
        let now = Timestamp::from_secs(1_700_000_000);
        let nonce = RequestNonce::from_bytes([5; 16]);
        let everywhere = Logout { sub: Some("ada".into()), scope: LogoutScope::Everywhere };
        assert_eq!(
            Logout::verify(&everywhere.sign(&secret(), now, nonce.as_str()).unwrap(), &secret(), now, &nonce),
            Ok(everywhere)
        );
        // Not signed, as the edge would refuse it; and if it were, the edge does.
        for sub in [None, Some(String::new())] {
            let nobody = Logout { sub, scope: LogoutScope::Everywhere };
            assert_eq!(nobody.sign(&secret(), now, nonce.as_str()), Err(EverywhereNeedsSub));
        }
        let mut claims = directive_claims(now, nonce.as_str());
        claims.insert("scope".into(), "everywhere".into());
        let nobody = jws::sign(secret().signing(), LOGOUT_TYPE, &claims);
        assert!(matches!(Logout::verify(&nobody, &secret(), now, &nonce), Err(TokenError::BadClaims(_))));
        assert_eq!(EverywhereNeedsSub.to_string(), "scope everywhere needs sub");
    }

    #[test]
    fn a_login_carries_its_identity_and_refuses_an_oversized_ctx() {
        let now = Timestamp::from_secs(1_700_000_000);
        let nonce = RequestNonce::from_bytes([5; 16]);
        let ctx = serde_json::json!({"role": "admin"}).as_object().cloned();
        let amr = Some(vec!["pwd".to_owned(), "otp".to_owned()]);
        let login = Login { sub: "ada".into(), remember: false, ctx: ctx.clone(), amr: amr.clone(), auth_time: None };
        let identity = Identity { sub: "ada".into(), ctx, auth_time: Some(now.as_secs()), amr: amr.clone() };
        assert_eq!(login.identity(now), identity);
        let token = login.sign(&secret(), now, nonce.as_str());
        assert_eq!(Login::verify(&token, &secret(), now, &nonce).unwrap().amr, amr);
        // An earlier proof is kept; a later one is now.
        let adopted = Login { auth_time: Some(0), ..login.clone() };
        let token = adopted.sign(&secret(), now, nonce.as_str());
        assert_eq!(Login::verify(&token, &secret(), now, &nonce).unwrap().identity(now).auth_time, Some(0));
        let future = Login { auth_time: Some(now.as_secs() + 999), ..login.clone() };
        assert_eq!(future.identity(now).auth_time, Some(now.as_secs()));
        for bad in [json!("pwd"), json!([]), json!([1]), json!(["a b"]), json!(["x".repeat(17)]), json!(vec!["a"; 9])] {
            let mut claims = directive_claims(now, nonce.as_str());
            claims.insert("sub".into(), "ada".into());
            claims.insert("amr".into(), bad.clone());
            let token = jws::sign(secret().signing(), LOGIN_TYPE, &claims);
            assert!(Login::verify(&token, &secret(), now, &nonce).is_err(), "amr {bad}");
        }
        let big = serde_json::json!({"x": "y".repeat(MAX_CTX_LEN)}).as_object().cloned();
        let token = Login { ctx: big, ..login }.sign(&secret(), now, nonce.as_str());
        assert!(matches!(Login::verify(&token, &secret(), now, &nonce), Err(TokenError::BadClaims(_))));
    }
}
