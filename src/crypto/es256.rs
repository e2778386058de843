//! ES256 (ECDSA over P-256 with SHA-256, RFC 7518 §3.4) public keys and signature checks:
//! what a device-bound session's browser key is and how its proofs are verified.
//!
//! The key arrives as a JWK (RFC 7517 / RFC 7518 §6.2.1: `kty: "EC"`, `crv: "P-256"`,
//! `x`, `y`) and is stored as its 65-byte SEC1 uncompressed point. Parsing checks the
//! point is on the curve (RustCrypto's `p256`), so an invalid-curve key is refused before
//! any signature is checked. A JWS signature is the 64-byte `r || s` (RFC 7518 §3.4), not
//! DER.
//!
//! Why `p256` and not WebCrypto: the check must run inside the family's object as one
//! synchronous decision (no `await` between reading the challenge floor and moving it),
//! and the core is tested on the host. Measured: +12.7 KiB gzip of wasm, see BENCHMARKS.md.
//!
//! ```
//! use edge_session::crypto::es256::PublicKey;
//! let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"});
//! assert!(PublicKey::from_jwk(&jwk).is_none(), "coordinates must be 32 bytes on the curve");
//! ```

use std::fmt;

use p256::EncodedPoint;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;

use super::base64url;

/// A P-256 public key, checked to be a point on the curve.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The key of an EC P-256 JWK; `None` for any other key type, curve, encoding, extra
    /// private part (`d`: a browser never sends it, and we must not store one) or a point
    /// off the curve.
    pub fn from_jwk(jwk: &Value) -> Option<PublicKey> {
        let field = |name| jwk.get(name).and_then(Value::as_str);
        if field("kty") != Some("EC") || field("crv") != Some("P-256") || jwk.get("d").is_some() {
            return None;
        }
        let x = base64url::decode_fixed::<32>(field("x")?)?;
        let y = base64url::decode_fixed::<32>(field("y")?)?;
        let point = EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
        VerifyingKey::from_encoded_point(&point).ok().map(PublicKey)
    }

    /// The key from its stored form ([`PublicKey::to_sec1`]).
    pub fn from_sec1(bytes: &[u8]) -> Option<PublicKey> {
        VerifyingKey::from_sec1_bytes(bytes).ok().map(PublicKey)
    }

    /// The 65-byte SEC1 uncompressed point: how a family stores its device's key.
    pub fn to_sec1(&self) -> Vec<u8> {
        self.0.to_encoded_point(false).as_bytes().to_vec()
    }

    /// Whether `signature` (64 bytes, `r || s`) is this key's ES256 signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = Signature::from_slice(signature) else { return false };
        self.0.verify(message, &signature).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", base64url::encode(self.to_sec1()))
    }
}
