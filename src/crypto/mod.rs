//! The cryptography layer: HMAC-SHA256 key rings, HS256 compact JWS, ES256 public keys
//! (device-bound sessions), and base64url.
//!
//! Everything above it signs and verifies through these modules only. Keys never
//! appear in `Debug` output or errors; every MAC is compared in constant time.

pub mod base64url;
pub mod es256;
pub mod jws;
mod keys;

pub use keys::{Key, KeyRing, KeyRingError, MAX_KEYS, MAX_KID_LEN, MAX_SECRET_LEN, MIN_SECRET_LEN, is_valid_kid};
