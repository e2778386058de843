//! edge-session: rotating session credentials at the CDN edge, without lost sessions.
//!
//! The crate is a pure core plus a thin wasm shell (DESIGN §1). The core — credential
//! formats, the family state machine, HS256 JWS, cookie handling and configuration — has
//! no clock, no randomness and no I/O: `now` and fresh random bytes are arguments, so it
//! builds and tests on the host with `cargo test`. The shell (`shell`, wasm32 only) reads
//! the clock, draws randomness, talks to Durable Objects and the origin, and never
//! branches on protocol rules.

pub mod admin;
pub mod config;
pub mod cookies;
pub mod credential;
pub mod directive;
pub mod edge;
pub mod ended_families;
pub mod family;
pub mod jws;
pub mod keys;
pub mod metrics;
pub mod stored;
pub mod time;
pub mod user_index;
pub mod wire;

#[cfg(target_arch = "wasm32")]
mod shell;
