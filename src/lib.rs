//! edge-session: rotating session credentials at the CDN edge, without lost sessions.
//!
//! Apps that rotate session credentials lose sessions: ten AJAX requests race one
//! rotation and nine are logged out, or the response carrying the new credential is lost
//! and the next click logs the user out. edge-session owns the session cookies in a
//! Cloudflare Worker in front of the app. Every *family* of credentials (all that descend
//! from one login) has one Durable Object, the single serialized place where it rotates;
//! requests racing a rotation are answered as the same user and handed the newest
//! credential before anything reaches the origin, which reads a signed identity from
//! request headers. A credential reused after its short grace window is treated as
//! stolen, and its family is revoked.
//!
//! ```text
//! browser ──cookies──▶ worker (wasm, stateless, every PoP)
//!                        │ 1. strip inbound X-Edge-* headers; read the two cookies strictly
//!                        │ 2. access cookie valid?   ── yes ─▶ identity, no object call
//!                        │ 3. refresh cookie MAC ok? ── yes ─▶ the family's Durable Object
//!                        │        one decision at a time: fresh / rotated / grace /
//!                        │        recovered, or refused / reuse (the family is revoked)
//!                        │ 4. forward: identity headers, a signed assertion, a fresh nonce
//!                        │ 5. the origin's login / logout directives → objects
//!                        │ 6. Set-Cookie (a deletion only on logout), private, no-store;
//!                        ▼    a login offers DBSC: /__edge/dbsc/* bind and refresh it
//!                     origin (any language; verifies a standard JWT)
//! ```
//!
//! # Design: a pure core and a thin shell
//!
//! The crate is sans-IO, like quinn-proto and rustls: everything but the shell is plain
//! Rust with no clock, no randomness and no I/O. Time and fresh random bytes are
//! arguments, so every rule builds and is tested on the host with `cargo test`, on a
//! simulated clock. The shell (wasm32 only, the `worker` crate) decodes requests, calls
//! the core, persists what it says, and encodes answers; it decides nothing.
//!
//! The layers import only downward:
//!
//! | layer | holds |
//! |---|---|
//! | [`time`] | [`Timestamp`]: Unix milliseconds, passed in |
//! | [`crypto`] | HMAC-SHA256 key rings, HS256 JWS, ES256 public keys, base64url |
//! | [`config`] | the worker's variables, validated together |
//! | [`session`] | the cookies and their formats, the family state machine ([`session::Family`]) and its device binding, `Cookie` / `Set-Cookie`, the storage row |
//! | [`dbsc`] | device-bound sessions: the proof, challenges, the two endpoints |
//! | [`users`] | one index per user of the user's families |
//! | [`origin`] | what edge and origin say: identity headers, the assertion, directives, admin tokens, signed events |
//! | [`events`] | security events: the device a request came from, a family's outbox |
//! | [`messages`] | the JSON between the worker and its Durable Objects |
//! | [`objects`] | what each Durable Object does with a message |
//! | [`metrics`] | request outcomes and per-window counters |
//! | `shell` | the Worker, its two Durable Object classes (wasm32 only) |
//!
//! The contract (formats, the rotation rules and why each exists, the origin protocol,
//! configuration) is written out in `docs/` at the repository's root.
//!
//! # Getting started: one family, one rotation, one racing tab
//!
//! ```
//! use std::time::Duration;
//! use edge_session::session::{Family, FamilyId, Identity, Outcome, RefreshSecret, SessionState};
//! use edge_session::{Policy, Timestamp};
//!
//! let policy = Policy::default(); // rotate after 15 min, grace 30 s
//! let t0 = Timestamp::from_secs(1_700_000_000);
//! let ada = Identity { sub: "ada".into(), ctx: None, auth_time: None, amr: None };
//! // A login: generation 1. Fresh secrets come from the caller (the shell's CSPRNG).
//! let (mut family, login) = Family::login(FamilyId::from_bytes([1; 16]), ada, false, t0, RefreshSecret::from_bytes([2; 32]), &policy);
//! let g1 = login.refresh.unwrap();
//!
//! // Fifteen minutes later, the first request rotates to generation 2…
//! let later = t0 + policy.rotate_after;
//! let Outcome::Authenticated(rotated) = family.handle_refresh(&g1, later, &policy, RefreshSecret::from_bytes([3; 32])).outcome else { panic!() };
//! assert_eq!(rotated.state, SessionState::Rotated);
//!
//! // …and a tab that raced it with generation 1 is the same user, handed generation 2.
//! let racing = later + Duration::from_millis(80);
//! let Outcome::Authenticated(alias) = family.handle_refresh(&g1, racing, &policy, RefreshSecret::from_bytes([4; 32])).outcome else { panic!() };
//! assert_eq!((alias.state, alias.refresh), (SessionState::GraceAlias, rotated.refresh));
//! ```
//!
//! The protocol shared with origins ([`origin::Assertion`], [`origin::Login`] /
//! [`origin::Logout`], admin tokens, key rings, [`Timestamp`], session ids) is the
//! `edge-session-origin` crate (`packages/rust`), re-exported here: an origin written in
//! Rust depends on that crate alone, and runs the edge's own code.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod config;
pub mod crypto;
pub mod dbsc;
pub mod events;
pub mod messages;
pub mod metrics;
pub mod objects;
pub mod origin;
pub mod session;
pub mod time;
pub mod users;

#[cfg(target_arch = "wasm32")]
mod shell;

pub use config::{Config, Policy};
pub use crypto::KeyRing;
pub use time::Timestamp;
