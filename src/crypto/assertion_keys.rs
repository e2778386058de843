//! `ASSERTION_KEYS`: the P-256 private keys that sign `X-Edge-Assertion` when
//! `ASSERTION_ALG=ES256`, and the public JWKS that verifies it (`GET /__edge/jwks.json`).
//!
//! With HS256, every service that verifies assertions holds `ORIGIN_SECRET`, so any of
//! them could mint assertions for the others. With ES256 a verifying service holds only
//! the public keys. The ring is written like the HMAC rings, `kid:key[,kid:key…]`, each
//! key the base64url of a PKCS#8 DER private key (what `openssl pkcs8 -topk8 -nocrypt
//! -outform DER` and WebCrypto's `exportKey("pkcs8")` produce); the first signs, and all
//! are published, so a key being rotated in or out still verifies.
//!
//! The core signs with RustCrypto's `p256`, RFC 6979 deterministic: no randomness, so it
//! stays testable on the host. The worker signs with the runtime's WebCrypto instead
//! (shell::webcrypto, thirty times faster in wasm), whose nonces come from its CSPRNG.
//!
//! ```
//! use edge_session::crypto::assertion_keys::AssertionKeys;
//! assert!(AssertionKeys::parse("a1:not-a-key").is_err());
//! ```

use std::fmt;

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use serde::Serialize;
use serde_json::{Value, json};

use super::{MAX_KEYS, base64url, is_valid_kid};

/// One signing key and its id.
struct AssertionKey {
    kid: String,
    key: SigningKey,
    /// The PKCS#8 DER as given, for the shell's WebCrypto (its native signing is some
    /// thirty times faster than `p256` compiled to wasm: BENCHMARKS.md).
    pkcs8: Vec<u8>,
}

/// The ring of `ASSERTION_KEYS`: the first signs, all are published.
pub struct AssertionKeys {
    keys: Vec<AssertionKey>,
}

/// Why `ASSERTION_KEYS` was refused. Keys are named by position, never by text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssertionKeysError {
    /// No key, or more than [`MAX_KEYS`].
    Count,
    /// Pair `index` (from 1) is not `kid:key` with a valid id.
    Pair(usize),
    /// Pair `index`'s id is used twice.
    DuplicateKid(usize),
    /// Pair `index` is not the base64url of a P-256 PKCS#8 private key.
    NotAP256Key(usize),
}

impl fmt::Display for AssertionKeysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssertionKeysError::Count => write!(f, "needs 1 to {MAX_KEYS} keys, kid:key[,kid:key…]"),
            AssertionKeysError::Pair(i) => write!(f, "key {i} is not kid:key with a kid of [A-Za-z0-9_-]{{1,16}}"),
            AssertionKeysError::DuplicateKid(i) => write!(f, "key {i} repeats an earlier key's kid"),
            AssertionKeysError::NotAP256Key(i) => {
                write!(f, "key {i} is not base64url of a PKCS#8 P-256 private key (npx edge-session secret --es256)")
            }
        }
    }
}

impl AssertionKeys {
    /// The ring `kid:key[,kid:key…]`, every key checked to be a P-256 private key.
    pub fn parse(text: &str) -> Result<AssertionKeys, AssertionKeysError> {
        let pairs: Vec<&str> = text.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
        if pairs.is_empty() || pairs.len() > MAX_KEYS {
            return Err(AssertionKeysError::Count);
        }
        let mut keys: Vec<AssertionKey> = Vec::new();
        for (i, pair) in pairs.iter().enumerate().map(|(i, p)| (i + 1, p)) {
            let (kid, der) =
                pair.split_once(':').filter(|(kid, _)| is_valid_kid(kid)).ok_or(AssertionKeysError::Pair(i))?;
            if keys.iter().any(|k| k.kid == kid) {
                return Err(AssertionKeysError::DuplicateKid(i));
            }
            let der = base64url::decode(der.trim()).ok_or(AssertionKeysError::NotAP256Key(i))?;
            let key = SigningKey::from_pkcs8_der(&der).map_err(|_| AssertionKeysError::NotAP256Key(i))?;
            keys.push(AssertionKey { kid: kid.to_owned(), key, pkcs8: der });
        }
        Ok(AssertionKeys { keys })
    }

    /// The id of the key that signs.
    pub fn signing_kid(&self) -> &str {
        &self.keys[0].kid
    }

    /// A compact JWS of `claims`, header `{"alg":"ES256","typ":typ,"kid":…}`, signed with
    /// the first key by `p256`: the 64-byte `r || s` of RFC 7518 §3.4.
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> String {
        let input = self.signing_input(typ, claims);
        let signature: Signature = self.keys[0].key.sign(input.as_bytes());
        Self::finish(input, &signature.to_bytes())
    }

    /// What [`sign`](AssertionKeys::sign) signs: `header.payload`, the header naming the
    /// first key. For a signer outside the core (the shell's WebCrypto).
    pub fn signing_input(&self, typ: &str, claims: &impl Serialize) -> String {
        let header = json!({"alg": "ES256", "typ": typ, "kid": self.keys[0].kid});
        let header = base64url::encode(serde_json::to_vec(&header).expect("JSON value serializes"));
        let payload = base64url::encode(serde_json::to_vec(claims).expect("claims serialize to JSON"));
        format!("{header}.{payload}")
    }

    /// The compact JWS of a signing input and its 64-byte `r || s` signature.
    pub fn finish(input: String, signature: &[u8]) -> String {
        format!("{input}.{}", base64url::encode(signature))
    }

    /// The signing key's PKCS#8 DER, for a signer outside the core.
    pub fn signing_pkcs8(&self) -> &[u8] {
        &self.keys[0].pkcs8
    }

    /// `{"keys": [...]}`: every key's public part as a JWK (RFC 7517, RFC 7518 §6.2.1),
    /// with its `kid`, `alg: ES256` and `use: sig`. Never a private part.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| {
                let point = k.key.verifying_key().to_encoded_point(false);
                let (x, y) = (point.x().expect("an uncompressed point"), point.y().expect("an uncompressed point"));
                json!({
                    "kty": "EC", "crv": "P-256", "kid": k.kid, "use": "sig", "alg": "ES256",
                    "x": base64url::encode(x), "y": base64url::encode(y),
                })
            })
            .collect();
        json!({ "keys": keys })
    }
}

impl fmt::Debug for AssertionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("AssertionKeys").field("kids", &kids).field("keys", &"<redacted>").finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::es256::PublicKey;

    // A P-256 key generated for this test only (openssl ecparam -genkey -name prime256v1 |
    // openssl pkcs8 -topk8 -nocrypt -outform DER | base64url).
    const KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguIYSJrGQB6Xr7KQFTONGCuu1jNG1K7cVJlGRUazBoPGhRANCAASAlEMqS806ithe5aS0FxSZX1uVEoFEC_nMG5aNBdEGFLhARdzs4cDNWAJDYnvZ7lpgl0614GTVCjwdO35EKQH0";

    #[test]
    fn a_signed_assertion_verifies_with_its_published_key_and_the_jwks_has_no_private_part() {
        let keys = AssertionKeys::parse(&format!("a1:{KEY}")).unwrap();
        let token = keys.sign("JWT", &json!({"sub": "ada"}));
        let jwks = keys.jwks();
        let jwk = &jwks["keys"][0];
        assert_eq!((jwk["kid"].as_str(), jwk["alg"].as_str()), (Some("a1"), Some("ES256")));
        assert!(jwk.get("d").is_none(), "no private part");
        let public = PublicKey::from_jwk(jwk).expect("a P-256 public JWK");
        let (input, signature) = token.rsplit_once('.').unwrap();
        assert!(public.verifies(input.as_bytes(), &base64url::decode(signature).unwrap()));
        let header: Value =
            serde_json::from_slice(&base64url::decode(input.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "ES256", "typ": "JWT", "kid": "a1"}));
    }

    #[test]
    fn a_bad_ring_is_refused_by_position_never_printing_a_key() {
        for (text, error) in [
            ("", AssertionKeysError::Count),
            ("nokid", AssertionKeysError::Pair(1)),
            (&format!("a1:{KEY},a1:{KEY}") as &str, AssertionKeysError::DuplicateKid(2)),
            (&format!("a1:{KEY},a2:{}", &KEY[..60]), AssertionKeysError::NotAP256Key(2)),
        ] {
            let refused = AssertionKeys::parse(text).unwrap_err();
            assert_eq!(refused, error, "{text}");
            assert!(!refused.to_string().contains(&KEY[10..30]));
        }
        assert!(!format!("{:?}", AssertionKeys::parse(&format!("a1:{KEY}")).unwrap()).contains(&KEY[10..30]));
    }
}
