//! Security events: what the edge tells the origin about a session, signed.
//!
//! The edge decides that a user logged in, that a stolen refresh credential was reused,
//! that a device-bound session's cookies came without their key (a copied cookie jar),
//! that a session was revoked, or that a session refreshed from another country, network
//! or browser. Each becomes one [`SecurityEvent`], delivered at least once to the
//! operator's webhook (`EVENTS_URL`) or queue as a compact JWS: HS256 under
//! `EVENTS_SECRET`, header `typ: edge-event+jwt`, claims `iss: edge-session`, `aud` (the
//! edge's `ORIGIN_AUDIENCE`), `iat` and `exp` (signed at each delivery attempt: five
//! minutes apart for the webhook, four days for the queue), and the event's own fields. A retried event keeps its `jti`: a receiver
//! drops one it has seen (an event is retried for up to a day, so remember `jti`s that
//! long). No event ever carries a credential.
//!
//! ```
//! use edge_session_origin::{KeyRing, SecurityEvent, Timestamp, EVENT_SESSION_CREATED, EVENT_WEBHOOK_LIFETIME_SECS};
//! let secret = KeyRing::parse("e1:0123456789abcdef0123456789abcdef").unwrap(); // EVENTS_SECRET
//! let now = Timestamp::from_secs(1_700_000_000);
//! let event = SecurityEvent::new("AQEBAQEBAQEBAQEBAQEBAQ.1", EVENT_SESSION_CREATED, "ada", "AQEBAQEBAQEBAQEBAQEBAQ", now);
//! let body = event.sign(secret.signing(), "origin", now, EVENT_WEBHOOK_LIFETIME_SECS); // what the webhook receives
//! let received = SecurityEvent::verify(&body, &secret, "origin", now).unwrap();
//! assert_eq!((received.kind.as_str(), received.sub.as_str()), ("session.created", "ada"));
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity::FamilyId;
use crate::jws::{self, Expect};
use crate::keys::{Key, KeyRing};
use crate::time::Timestamp;
use crate::token::{EDGE_ISSUER, TokenError, valid_sub};

/// `typ` of an event.
pub const EVENT_TYPE: &str = "edge-event+jwt";
/// `exp - iat` of a webhook delivery: it is signed again at each attempt, so a captured
/// delivery replayed later than this is refused. Redeliveries of one event (a 2xx that
/// was lost) come for up to a day: deduplicate by `jti` over a day.
pub const EVENT_WEBHOOK_LIFETIME_SECS: u64 = 300;
/// `exp - iat` of a queue message: four days, a Cloudflare Queue's default retention, so
/// a consumer that fell behind still verifies what the queue kept for it
/// ([`SecurityEvent::verify_queued`]). [`SecurityEvent::verify`], a webhook's check,
/// refuses it: a queue message read from a log or a dead-letter queue and replayed to the
/// webhook would outlive the day its receiver remembers `jti`s.
pub const EVENT_QUEUE_LIFETIME_SECS: u64 = 4 * 24 * 3600;

/// A login created a session.
pub const EVENT_SESSION_CREATED: &str = "session.created";
/// A retired refresh credential came back after its grace window: one of two holders is
/// a thief. `revoked` says whether the session was ended (`ON_REUSE`).
pub const EVENT_REUSE_DETECTED: &str = "session.reuse_detected";
/// A device-bound session's cookies came without a proof of its device key: a copy of
/// the cookie jar. The request was refused; the session is untouched.
pub const EVENT_COPIED_JAR: &str = "session.copied_jar";
/// A session was ended; `by` says who asked.
pub const EVENT_REVOKED: &str = "session.revoked";
/// A session without device binding refreshed from another country, network (ASN) or
/// browser than its last refresh: a signal, not a verdict. `previous` is the context it
/// had, `action` what the edge did about it.
pub const EVENT_CONTEXT_CHANGED: &str = "session.context_changed";

/// The device a session was used from, as the edge saw the request: the client's own
/// `User-Agent` (display only: a client can send anything), Cloudflare's `cf` data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The `User-Agent`, truncated to 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The browser family the user agent names (`Chrome`, `Firefox`, `Safari`, `Edge`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    /// The operating system it names (`Windows`, `macOS`, `iOS`, `Android`, `Linux`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// The country code (`cf.country`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The network's autonomous system number (`cf.asn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// The Cloudflare data center that served the request (`cf.colo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colo: Option<String>,
    /// The session is bound to a key the browser cannot export (DBSC).
    #[serde(default)]
    pub bound: bool,
}

/// One security event. The claims of the JWS, less `iss`, `aud`, `iat` and `exp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEvent {
    /// The event's id: the same on every delivery of it.
    pub jti: String,
    /// What happened: one of the `EVENT_*` names. A receiver should ignore a type it does
    /// not know (newer edges may add some).
    #[serde(rename = "type")]
    pub kind: String,
    /// The user.
    pub sub: String,
    /// The session (`sid` of the assertion, `X-Edge-Session`).
    pub sid: String,
    /// When it happened, Unix seconds.
    pub time: u64,
    /// The device: the one the event's request came from, or for a revocation the one
    /// the session was last seen on.
    #[serde(default)]
    pub device: Device,
    /// `session.reuse_detected`: whether the session was ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<bool>,
    /// `session.revoked`: `logout` (the user, on this session), `everywhere` (a logout
    /// everywhere), `admin` (the admin API), `others` (the admin API's revoke-all sparing
    /// one session: "sign out other devices"), `login` (a new login on the same browser),
    /// `context_changed` (`ON_CONTEXT_CHANGE=end`), `limit` (the user's oldest session,
    /// past the most one user may hold) or `login_failed` (its login could not be
    /// recorded; its cookies were never sent). Ignore a value you do not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// `session.context_changed`: the session's context before this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Device>,
    /// `session.context_changed`: `none` (reported only), `flagged` (the session's
    /// assertions carry `context_changed` from now on: `ON_CONTEXT_CHANGE=flag`) or `ended`
    /// (the session was revoked: `ON_CONTEXT_CHANGE=end`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// `session.copied_jar`: the request said its browser skipped the key's proof, for this
    /// reason (`Secure-Session-Skipped`: `unreachable`, `server_error`, `quota_exceeded`…).
    /// The owner's browser may say so after a failure; so may a thief who read the spec.
    /// Weigh it, do not trust it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl SecurityEvent {
    /// An event with no device and no detail.
    pub fn new(jti: &str, kind: &str, sub: &str, sid: &str, time: Timestamp) -> SecurityEvent {
        SecurityEvent {
            jti: jti.to_owned(),
            kind: kind.to_owned(),
            sub: sub.to_owned(),
            sid: sid.to_owned(),
            time: time.as_secs(),
            device: Device::default(),
            revoked: None,
            by: None,
            previous: None,
            action: None,
            skipped: None,
        }
    }

    /// The compact JWS a receiver gets, signed at `now` for `audience`, valid
    /// `lifetime_secs` ([`EVENT_WEBHOOK_LIFETIME_SECS`] or [`EVENT_QUEUE_LIFETIME_SECS`]).
    pub fn sign(&self, key: &Key, audience: &str, now: Timestamp, lifetime_secs: u64) -> String {
        let Ok(Value::Object(mut claims)) = serde_json::to_value(self) else {
            unreachable!("a struct of strings and numbers serializes to an object")
        };
        claims.insert("iss".into(), EDGE_ISSUER.into());
        claims.insert("aud".into(), audience.into());
        claims.insert("iat".into(), now.as_secs().into());
        claims.insert("exp".into(), (now.as_secs() + lifetime_secs.min(EVENT_QUEUE_LIFETIME_SECS)).into());
        jws::sign(key, EVENT_TYPE, &claims)
    }

    /// Verifies a webhook delivery's body (`keys`: the ring of `EVENTS_SECRET`; `audience`:
    /// the edge's `ORIGIN_AUDIENCE`) and returns the event: HS256 with a key of the ring,
    /// `typ` `edge-event+jwt`, `iss` `edge-session`, `aud`, `iat` and `exp` at most five
    /// minutes apart and current at `now` (30 s of skew), a `jti`, a valid `sub` and `sid`.
    /// A queue message (four days of life) is refused here: replayed to a webhook, it
    /// would outlive the day a receiver remembers `jti`s.
    pub fn verify(body: &str, keys: &KeyRing, audience: &str, now: Timestamp) -> Result<SecurityEvent, TokenError> {
        Self::verify_for(body, keys, audience, now, EVENT_WEBHOOK_LIFETIME_SECS)
    }

    /// [`verify`](Self::verify) for a message taken from the `EVENTS` queue: the same
    /// rules, with up to four days between `iat` and `exp`. Keep its `jti` until its `exp`.
    pub fn verify_queued(
        body: &str,
        keys: &KeyRing,
        audience: &str,
        now: Timestamp,
    ) -> Result<SecurityEvent, TokenError> {
        Self::verify_for(body, keys, audience, now, EVENT_QUEUE_LIFETIME_SECS)
    }

    fn verify_for(
        body: &str,
        keys: &KeyRing,
        audience: &str,
        now: Timestamp,
        lifetime_secs: u64,
    ) -> Result<SecurityEvent, TokenError> {
        let expect = Expect { typ: EVENT_TYPE, aud: audience, max_lifetime_secs: Some(lifetime_secs) };
        let claims = jws::verify(body.trim(), keys, &expect, now).map_err(TokenError::Jws)?;
        if claims.get("iss").and_then(Value::as_str) != Some(EDGE_ISSUER) {
            return Err(TokenError::BadClaims("iss"));
        }
        valid_sub(&claims)?;
        let event: SecurityEvent =
            serde_json::from_value(Value::Object(claims)).map_err(|_| TokenError::BadClaims("event"))?;
        if event.jti.is_empty() || event.kind.is_empty() {
            return Err(TokenError::BadClaims("jti or type"));
        }
        if FamilyId::parse(&event.sid).is_none() {
            return Err(TokenError::BadClaims("sid"));
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "AQEBAQEBAQEBAQEBAQEBAQ";

    fn ring() -> KeyRing {
        KeyRing::parse("e1:0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn a_signed_event_verifies_with_its_ring_and_nothing_else() {
        let now = Timestamp::from_secs(1_700_000_000);
        let mut event = SecurityEvent::new("x.1", EVENT_REUSE_DETECTED, "ada", SID, now);
        event.revoked = Some(true);
        let body = event.sign(ring().signing(), "origin", now, EVENT_WEBHOOK_LIFETIME_SECS);
        assert_eq!(SecurityEvent::verify(&body, &ring(), "origin", now).unwrap(), event);
        let other = KeyRing::parse("e1:fedcba9876543210fedcba9876543210").unwrap();
        assert!(SecurityEvent::verify(&body, &other, "origin", now).is_err());
        assert!(SecurityEvent::verify(&body, &ring(), "another-app", now).is_err());
        let later = Timestamp::from_secs(now.as_secs() + EVENT_WEBHOOK_LIFETIME_SECS + 31);
        assert_eq!(
            SecurityEvent::verify(&body, &ring(), "origin", later),
            Err(TokenError::Jws(jws::JwsError::Expired))
        );
    }

    #[test]
    fn another_token_type_is_not_an_event() {
        let now = Timestamp::from_secs(1_700_000_000);
        let claims = serde_json::json!({"iss": EDGE_ISSUER, "aud": "origin", "iat": now.as_secs(),
            "exp": now.as_secs() + 60, "jti": "j", "type": EVENT_SESSION_CREATED, "sub": "ada", "sid": SID, "time": 1});
        let assertion = jws::sign(ring().signing(), "JWT", &claims);
        assert_eq!(
            SecurityEvent::verify(&assertion, &ring(), "origin", now),
            Err(TokenError::Jws(jws::JwsError::WrongType))
        );
        let unsigned_by_edge = jws::sign(ring().signing(), EVENT_TYPE, &{
            let mut c = claims.clone();
            c["iss"] = "someone".into();
            c
        });
        assert_eq!(SecurityEvent::verify(&unsigned_by_edge, &ring(), "origin", now), Err(TokenError::BadClaims("iss")));
        let bad_sid = jws::sign(ring().signing(), EVENT_TYPE, &{
            let mut c = claims;
            c["sid"] = "../x".into();
            c
        });
        assert_eq!(SecurityEvent::verify(&bad_sid, &ring(), "origin", now), Err(TokenError::BadClaims("sid")));
    }
}
