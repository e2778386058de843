//! The cryptography layer: HMAC-SHA256 key rings, HS256 compact JWS, ES256 public keys
//! (device-bound sessions), ES256 assertion keys, and base64url.
//!
//! Everything above it signs and verifies through these modules only. Keys never
//! appear in `Debug` output or errors; every MAC is compared in constant time. Key rings,
//! HS256 and base64url are the origin crate's (`packages/rust`), so the edge and a Rust
//! origin run the same code; ES256 is the edge's alone.

pub mod assertion_keys;
pub mod es256;

pub use edge_session_origin::keys::{
    Key, KeyRing, KeyRingError, MAX_KEYS, MAX_KID_LEN, MAX_SECRET_LEN, MIN_SECRET_LEN, is_valid_kid,
};
pub use edge_session_origin::{base64url, jws};
