//! The origin side of edge-session: what an app behind the edge uses to know who a
//! request is, to log users in and out, and to list or revoke a user's sessions.
//!
//! The edge (a Cloudflare Worker) owns the session cookies. On every identified request it
//! sends a signed `X-Edge-Assertion` ([`Assertion`]); the origin answers with signed
//! `X-Edge-Login` / `X-Edge-Logout` directives ([`Login`], [`Logout`]) bound to that
//! request's `X-Edge-Nonce`, and calls the edge's admin API with signed tokens
//! ([`AdminRequest`]). All are HS256 JWS under `ORIGIN_SECRET` (a [`KeyRing`]), told
//! apart by `typ` so that none passes for another (RFC 8725 §3.11). The edge itself is
//! built on this crate, so both sides apply the same code. An edge with
//! `ASSERTION_ALG=ES256` signs the assertion with a private key instead, and a service
//! that only verifies identities holds its public JWKS and no secret (feature `es256`).
//!
//! | feature | adds |
//! |---|---|
//! | (none) | the protocol: [`Assertion::verify`], [`Login::sign`], [`Logout::sign`], [`AdminRequest::sign`], [`adoption`] |
//! | `es256` | `Jwks` (`EDGE_JWKS`) and `Assertion::verify_with`: ES256 assertions (p256) |
//! | `tower` | `tower::EdgeLayer`: an `Edge` per request, directives put on the response; with `es256`, ES256 too |
//! | `axum` | `tower` plus the extractors `Edge`, `RequireUser` (401) and `RequirePageUser` (303) |
//! | `client` | `AdminClient`: `list_sessions`, `revoke_session`, `revoke_all` (reqwest, async); with `tower` and `es256`, `EdgeLayer` fetches `EDGE_JWKS_URL` |
//! | `rustls-tls` | `client` with TLS, for an https `EDGE_URL` |
//!
//! Nothing here reads the clock or draws randomness unless a feature says so: the protocol
//! functions take `now` (a [`Timestamp`]) as an argument.
//!
//! # Who is this request?
//!
//! ```
//! use std::time::SystemTime;
//! use edge_session_origin::{Assertion, KeyRing, Timestamp};
//! let secret = KeyRing::parse("o1:0123456789abcdef0123456789abcdef")?; // ORIGIN_SECRET
//! # let now = Timestamp::from(SystemTime::now());
//! # let alice = edge_session_origin::Identity { sub: "alice".into(), ctx: None, auth_time: None, amr: None };
//! # let header = Assertion::new(&alice, edge_session_origin::FamilyId::from_bytes([1; 16]), "fresh", "origin", now, [2; 16]).sign(&secret);
//! // `header` is the request's X-Edge-Assertion; "origin" is ORIGIN_AUDIENCE.
//! match Assertion::verify(&header, &secret, "origin", Timestamp::from(SystemTime::now())) {
//!     Ok(user) => println!("{} in session {} ({})", user.sub, user.sid, user.state),
//!     Err(why) => println!("anonymous: {why}"), // log it; never an error page
//! }
//! # Ok::<(), edge_session_origin::KeyRingError>(())
//! ```
//!
//! # Log in, log out
//!
//! ```
//! use std::time::SystemTime;
//! use edge_session_origin::{KeyRing, Login, Logout, LogoutScope, Timestamp, LOGIN_HEADER, LOGOUT_HEADER};
//! let secret = KeyRing::parse("o1:0123456789abcdef0123456789abcdef")?;
//! let now = Timestamp::from(SystemTime::now());
//! let nonce = "AAAAAAAAAAAAAAAAAAAAAA"; // this request's X-Edge-Nonce
//! let login = Login { sub: "alice".into(), remember: true, ctx: None, amr: None, auth_time: None }.sign(&secret, now, nonce);
//! // LogoutScope::Everywhere needs a sub (whose sessions all end): without one, sign refuses.
//! let logout = Logout { sub: None, scope: LogoutScope::Session }.sign(&secret, now, nonce)?;
//! // Put one of them on the response: (LOGIN_HEADER, login) or (LOGOUT_HEADER, logout).
//! # let _ = (LOGIN_HEADER, login, LOGOUT_HEADER, logout);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # An admin token
//!
//! ```
//! use std::time::SystemTime;
//! use edge_session_origin::{AdminAction, AdminRequest, KeyRing, Timestamp};
//! let secret = KeyRing::parse("o1:0123456789abcdef0123456789abcdef")?;
//! let token = AdminRequest {
//!     sub: "alice".into(),
//!     action: AdminAction::List,
//!     issued_at: Timestamp::from(SystemTime::now()),
//!     jti: "a-fresh-random-id".into(), // single-use: draw it from a CSPRNG
//! }
//! .sign(&secret);
//! // POST {EDGE_URL}/__edge/admin with `Authorization: Bearer {token}`; or, with feature
//! // `client`, AdminClient::list_sessions does all of it.
//! # let _ = token;
//! # Ok::<(), edge_session_origin::KeyRingError>(())
//! ```
//!
//! The trust rule: only the verified assertion proves who a request is. `X-Edge-User`
//! ([`decode_user`]) is a convenience, safe only if the origin is reachable through the
//! edge alone.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod base64url;
pub mod jws;
pub mod keys;

mod admin;
mod adopt;
mod assertion;
mod directives;
mod event;
mod headers;
mod identity;
mod step_up;
mod time;
mod token;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "es256")]
mod jwks;
#[cfg(all(feature = "tower", feature = "es256", feature = "client"))]
mod remote_jwks;
#[cfg(any(feature = "tower", feature = "client"))]
mod system;
#[cfg(feature = "tower")]
pub mod tower;

pub use admin::{ADMIN_MAX_LIFETIME_SECS, ADMIN_TYPE, AdminAction, AdminRequest, Revoked, Session};
pub use adopt::{Adoption, adoption};
#[cfg(feature = "es256")]
pub use assertion::AssertionKeys;
pub use assertion::{ASSERTION_TTL_SECS, ASSERTION_TYPE, Assertion};
#[cfg(feature = "client")]
pub use client::{AdminClient, AdminError, ClientConfigError};
pub use directives::{
    DIRECTIVE_MAX_LIFETIME_SECS, EverywhereNeedsSub, LOGIN_TYPE, LOGOUT_TYPE, Login, Logout, LogoutScope, MAX_AMR,
    MAX_AMR_LEN, RequestNonce,
};
pub use event::{
    Device, EVENT_CONTEXT_CHANGED, EVENT_COPIED_JAR, EVENT_QUEUE_LIFETIME_SECS, EVENT_REUSE_DETECTED, EVENT_REVOKED,
    EVENT_SESSION_CREATED, EVENT_TYPE, EVENT_WEBHOOK_LIFETIME_SECS, SecurityEvent,
};
pub use headers::{
    ASSERTION_HEADER, LOGIN_HEADER, LOGOUT_HEADER, NONCE_HEADER, SESSION_HEADER, STATE_HEADER, STEP_UP_HEADER,
    USER_HEADER, decode_user, encode_user,
};
pub use identity::{FamilyId, Identity, MAX_CTX_LEN, MAX_SUB_LEN};
#[cfg(feature = "es256")]
pub use jwks::{Jwks, JwksError};
pub use keys::{Key, KeyRing, KeyRingError};
pub use step_up::{STEP_UP_TYPE, StepUp};
pub use time::Timestamp;
pub use token::{EDGE_AUDIENCE, EDGE_ISSUER, TokenError};

// The README's code blocks compile as doc tests: what a newcomer copies builds.
#[cfg(all(doctest, feature = "axum", feature = "client", feature = "es256"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
