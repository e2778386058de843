//! The origin-facing admin API: list a user's sessions, revoke one or all.
//!
//! The origin calls `POST /__edge/admin` on its own hostname with
//! `Authorization: Bearer <JWS>`, an HS256 JWS signed with `ORIGIN_SECRET` and typed
//! `edge-admin+jwt`. Every parameter is a signed claim (there is no unsigned body), so a
//! token says exactly one thing about one user. Each token carries a random `jti`, and
//! the user's object refuses a revocation whose `jti` it has already seen while the token
//! could still verify: a captured token cannot be replayed to sign out a later login.
//! The distinct `typ` keeps directives, assertions and
//! admin tokens from standing in for one another (RFC 8725 §3.11).
//!
//! The answers: `list` is `{"sub", "sessions": [`[`Session`]`]}`; `revoke` and
//! `revoke_all` are [`Revoked`]. Feature `client` makes the calls (`AdminClient`); the
//! token alone is this:
//!
//! ```
//! use std::time::SystemTime;
//! use edge_session_origin::{AdminAction, AdminRequest, FamilyId, KeyRing, Timestamp};
//! let secret = KeyRing::parse("o1:0123456789abcdef0123456789abcdef").unwrap(); // ORIGIN_SECRET
//! let now = Timestamp::from(SystemTime::now());
//! // "Sign out all other devices" for alice, keeping the session she called from.
//! let except = FamilyId::parse("AQEBAQEBAQEBAQEBAQEBAQ");
//! let request = AdminRequest {
//!     sub: "alice".into(),
//!     action: AdminAction::RevokeAll { except },
//!     issued_at: now,
//!     jti: "f3GZ1c0aXbQ2".into(), // random per token, 8–64 characters of [A-Za-z0-9_-]
//! };
//! let bearer = request.sign(&secret); // POST {EDGE_URL}/__edge/admin, Authorization: Bearer …
//! assert_eq!(AdminRequest::verify(&bearer, &secret, now).unwrap().action, request.action);
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity::FamilyId;
use crate::jws::{self, Claims, Expect};
use crate::keys::KeyRing;
use crate::time::Timestamp;
use crate::token::{EDGE_AUDIENCE, TokenError, claims_for_edge, valid_sub};

/// `typ` of an admin token.
pub const ADMIN_TYPE: &str = "edge-admin+jwt";
/// An admin token is minted just before its call: a minute is plenty, and a leaked one
/// is soon useless.
pub const ADMIN_MAX_LIFETIME_SECS: u64 = 60;

/// What the origin asks about one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAction {
    /// `act: "list"`: the user's live sessions.
    List,
    /// `act: "revoke", sid`: end one session ("sign out this device").
    Revoke {
        /// The session to end (its `sid`).
        family: FamilyId,
    },
    /// `act: "revoke_all"`, optional `except`: end every session but `except` ("sign out
    /// all other devices", `except` being the caller's own `X-Edge-Session`).
    RevokeAll {
        /// A session to keep (its `sid`).
        except: Option<FamilyId>,
    },
}

/// One admin call: what to do, for which user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRequest {
    /// The user whose sessions the call is about.
    pub sub: String,
    /// What to do.
    pub action: AdminAction,
    /// `iat`, whole seconds.
    pub issued_at: Timestamp,
    /// The token's id: 8–64 characters of `[A-Za-z0-9_-]`, random per token.
    pub jti: String,
}

impl AdminRequest {
    /// Signs the request as an origin would, valid for a minute from `issued_at`.
    pub fn sign(&self, origin_secret: &KeyRing) -> String {
        let mut claims = claims_for_edge(self.issued_at, ADMIN_MAX_LIFETIME_SECS);
        claims.insert("sub".into(), self.sub.clone().into());
        claims.insert("jti".into(), self.jti.clone().into());
        let act = match &self.action {
            AdminAction::List => "list",
            AdminAction::Revoke { family } => {
                claims.insert("sid".into(), family.to_string().into());
                "revoke"
            }
            AdminAction::RevokeAll { except } => {
                if let Some(except) = except {
                    claims.insert("except".into(), except.to_string().into());
                }
                "revoke_all"
            }
        };
        claims.insert("act".into(), act.into());
        jws::sign(origin_secret.signing(), ADMIN_TYPE, &claims)
    }

    /// Verifies a bearer token at `now`: type, audience, lifetime (≤ 60 s), `jti`, and
    /// every claim of its action.
    pub fn verify(token: &str, origin_secret: &KeyRing, now: Timestamp) -> Result<AdminRequest, TokenError> {
        let expect = Expect { typ: ADMIN_TYPE, aud: EDGE_AUDIENCE, max_lifetime_secs: Some(ADMIN_MAX_LIFETIME_SECS) };
        let claims = jws::verify(token, origin_secret, &expect, now)?;
        let sub = valid_sub(&claims)?;
        let action = match claims.get("act").and_then(Value::as_str) {
            Some("list") => AdminAction::List,
            Some("revoke") => AdminAction::Revoke {
                family: session_claim(&claims, "sid")?.ok_or(TokenError::BadClaims("revoke needs sid"))?,
            },
            Some("revoke_all") => AdminAction::RevokeAll { except: session_claim(&claims, "except")? },
            _ => return Err(TokenError::BadClaims("act must be \"list\", \"revoke\" or \"revoke_all\"")),
        };
        let jti = match claims.get("jti").and_then(Value::as_str) {
            Some(jti)
                if (8..=64).contains(&jti.len())
                    && jti.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                jti
            }
            _ => return Err(TokenError::BadClaims("jti must be 8–64 characters of [A-Za-z0-9_-]")),
        };
        // jws::verify checked `iat` is a NumericDate, not in the future beyond the skew.
        let issued_at = jws::numeric_date(claims.get("iat")).map_or(now, Timestamp::from_secs);
        Ok(AdminRequest { sub, action, issued_at, jti: jti.to_owned() })
    }

    /// Until when this token could still verify (`iat` + the longest lifetime + skew):
    /// how long its `jti` must be remembered to refuse a replay.
    pub fn valid_until(&self) -> Timestamp {
        self.issued_at + std::time::Duration::from_secs(ADMIN_MAX_LIFETIME_SECS + jws::CLOCK_SKEW)
    }
}

/// One of a user's live sessions, as `list` answers it. Times are Unix seconds, like JWT
/// claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The session's id: what the origin sees as `X-Edge-Session` (mark "this device").
    pub sid: String,
    /// When it logged in.
    pub created_at: u64,
    /// When it last refreshed, to the minute (at least `created_at`; requests served by
    /// its access cookie alone are not seen).
    pub last_seen: u64,
    /// "Remember me".
    pub remember: bool,
    /// Bound to a device key (DBSC).
    pub device_bound: bool,
    /// The login's `User-Agent`, truncated: client-supplied, display only.
    pub user_agent: Option<String>,
    /// The browser family that user agent names (`Chrome`, `Firefox`, `Safari`, `Edge`…),
    /// for "Chrome on Windows" in a device list. Absent from edges older than it.
    #[serde(default)]
    pub browser: Option<String>,
    /// The operating system it names (`Windows`, `macOS`, `iOS`, `Android`, `Linux`…).
    #[serde(default)]
    pub os: Option<String>,
    /// The login's country code (Cloudflare's `cf.country`), when known.
    pub country: Option<String>,
}

/// The answer to `revoke` and `revoke_all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    /// Sessions ended.
    pub revoked: u64,
    /// Ended in the user's index, not yet in the session itself: the edge retries every
    /// minute until it is.
    pub pending: u64,
}

/// An optional session id claim; present but malformed is an error, not "absent".
fn session_claim(claims: &Claims, name: &'static str) -> Result<Option<FamilyId>, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            value.as_str().and_then(FamilyId::parse).map(Some).ok_or(TokenError::BadClaims("session id malformed"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Login, Logout, LogoutScope, RequestNonce};

    fn secret() -> KeyRing {
        KeyRing::parse("o1:0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn every_action_round_trips() {
        let now = Timestamp::from_secs(1_700_000_000);
        let sid = FamilyId::from_bytes([7; 16]);
        for action in [
            AdminAction::List,
            AdminAction::Revoke { family: sid },
            AdminAction::RevokeAll { except: None },
            AdminAction::RevokeAll { except: Some(sid) },
        ] {
            let request = AdminRequest { sub: "ada".into(), action, issued_at: now, jti: "abcdefgh".into() };
            assert_eq!(AdminRequest::verify(&request.sign(&secret()), &secret(), now), Ok(request));
        }
    }

    #[test]
    fn directives_are_not_admin_tokens_and_vice_versa() {
        let now = Timestamp::from_secs(1_700_000_000);
        let nonce = RequestNonce::from_bytes([5; 16]);
        let login = Login { sub: "ada".into(), remember: false, ctx: None, amr: None, auth_time: None }.sign(
            &secret(),
            now,
            nonce.as_str(),
        );
        let logout = Logout { sub: Some("ada".into()), scope: LogoutScope::Everywhere }
            .sign(&secret(), now, nonce.as_str())
            .unwrap();
        for token in [login, logout] {
            assert_eq!(AdminRequest::verify(&token, &secret(), now), Err(TokenError::Jws(jws::JwsError::WrongType)));
        }
        let admin =
            AdminRequest { sub: "ada".into(), action: AdminAction::List, issued_at: now, jti: "abcdefgh".into() }
                .sign(&secret());
        assert!(Login::verify(&admin, &secret(), now, &nonce).is_err());
    }

    #[test]
    fn expired_or_malformed_claims_are_refused() {
        let now = Timestamp::from_secs(1_700_000_000);
        let token =
            AdminRequest { sub: "ada".into(), action: AdminAction::List, issued_at: now, jti: "abcdefgh".into() }
                .sign(&secret());
        let later = Timestamp::from_secs(now.as_secs() + ADMIN_MAX_LIFETIME_SECS + jws::CLOCK_SKEW + 1);
        assert!(AdminRequest::verify(&token, &secret(), later).is_err());
        let sign = |claims: serde_json::Value| jws::sign(secret().signing(), ADMIN_TYPE, &claims);
        let base = serde_json::json!({"aud": EDGE_AUDIENCE, "iat": now.as_secs(), "exp": now.as_secs() + 60, "sub": "ada", "jti": "abcdefgh"});
        let with = |extra: serde_json::Value| {
            let mut claims = base.clone();
            claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            sign(claims)
        };
        for bad in [
            with(serde_json::json!({"act": "delete_everything"})),
            with(serde_json::json!({"act": "revoke"})),
            with(serde_json::json!({"act": "revoke", "sid": "not-a-family"})),
            with(serde_json::json!({"act": "revoke_all", "except": 5})),
            with(serde_json::json!({"act": "list", "sub": ""})),
            with(serde_json::json!({"act": "list", "exp": now.as_secs() + 3600})),
            with(serde_json::json!({"act": "list", "jti": "short"})),
            with(serde_json::json!({"act": "list", "jti": "has spaces in it"})),
            with(serde_json::json!({"act": "list", "jti": null})),
        ] {
            assert!(AdminRequest::verify(&bad, &secret(), now).is_err());
        }
    }
}
