//! The DBSC proof: a compact JWS the browser signs with its device key.
//!
//! Header `{"alg": "ES256", "typ": "dbsc+jwt", "jwk": {…}}` (the `jwk` only when
//! registering), payload `{"jti": "<challenge>"}`. [`Proof::parse`] checks the shape and
//! nothing that needs a key: `alg` is exactly `ES256` (so `none`, `HS256` with the public
//! key as a secret, and every other confusion are refused, RFC 8725 §3.1), `typ` is
//! `dbsc+jwt` (RFC 8725 §3.11), no `crit`, a `jwk` that is present must be a P-256 public
//! key, and the signature is 64 bytes. [`Proof::signed_by`] then checks the signature.
//! Sizes are bounded before anything is decoded; every failure is a [`ProofError`], never
//! a panic.
//!
//! ```
//! use edge_session::dbsc::{Proof, ProofError};
//! assert_eq!(Proof::parse("eyJhbGciOiJub25lIn0.e30."), Err(ProofError::UnsupportedAlgorithm));
//! assert_eq!(Proof::parse("not a jws"), Err(ProofError::Malformed));
//! ```

use std::fmt;

use serde_json::Value;

use crate::crypto::base64url;
use crate::crypto::es256::PublicKey;
use crate::crypto::jws::{HeaderProblem, check_protected_header, json_object, numeric_date};

/// Longest proof accepted. Chromium's are about 600 bytes with a `jwk`.
pub const MAX_PROOF_LEN: usize = 4096;
/// The proof's `typ` header.
pub const PROOF_TYPE: &str = "dbsc+jwt";
/// Longest `jti` accepted: a challenge the edge issued is far shorter.
const MAX_JTI_LEN: usize = 256;

/// Why a proof was refused before any key was tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofError {
    /// Longer than [`MAX_PROOF_LEN`].
    TooLarge,
    /// Not three base64url parts of JSON objects with a string `jti` and 64-byte signature.
    Malformed,
    /// `alg` is not `ES256` (`none` included).
    UnsupportedAlgorithm,
    /// `typ` missing or not `dbsc+jwt`.
    WrongType,
    /// A `crit` header names extensions we do not understand (RFC 7515 §4.1.11).
    CriticalHeader,
    /// A `jwk` that is not a P-256 public key on the curve.
    BadKey,
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLarge => "proof too large",
            Self::Malformed => "proof malformed",
            Self::UnsupportedAlgorithm => "alg is not ES256",
            Self::WrongType => "typ is not dbsc+jwt",
            Self::CriticalHeader => "unsupported crit header",
            Self::BadKey => "jwk is not a P-256 public key",
        })
    }
}

impl std::error::Error for ProofError {}

/// A well-formed proof, signature not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The challenge it answers.
    pub jti: String,
    /// The key it carries (registration only).
    pub jwk: Option<PublicKey>,
    /// `nbf`, Unix seconds, if it carries one (browsers do not): honoured like every
    /// token's, by the family's object, which holds the clock.
    pub not_before: Option<u64>,
    signing_input: String,
    signature: [u8; 64],
}

impl Proof {
    /// Parses a compact JWS; see the module docs for what is checked.
    pub fn parse(text: &str) -> Result<Proof, ProofError> {
        if text.len() > MAX_PROOF_LEN {
            return Err(ProofError::TooLarge);
        }
        let mut parts = text.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ProofError::Malformed);
        };
        let header = json_object(header_b64).ok_or(ProofError::Malformed)?;
        check_protected_header(&header, "ES256", PROOF_TYPE).map_err(|problem| match problem {
            HeaderProblem::Algorithm => ProofError::UnsupportedAlgorithm,
            HeaderProblem::Type => ProofError::WrongType,
            HeaderProblem::Critical => ProofError::CriticalHeader,
        })?;
        let jwk = match header.get("jwk") {
            Some(jwk) => Some(PublicKey::from_jwk(jwk).ok_or(ProofError::BadKey)?),
            None => None,
        };
        let payload = json_object(payload_b64).ok_or(ProofError::Malformed)?;
        let jti = match payload.get("jti") {
            Some(Value::String(jti)) if jti.len() <= MAX_JTI_LEN => jti.clone(),
            _ => return Err(ProofError::Malformed),
        };
        let not_before = match payload.get("nbf") {
            None => None,
            Some(nbf) => Some(numeric_date(Some(nbf)).ok_or(ProofError::Malformed)?),
        };
        let signature = base64url::decode_fixed::<64>(signature_b64).ok_or(ProofError::Malformed)?;
        let signing_input = text[..header_b64.len() + 1 + payload_b64.len()].to_owned();
        Ok(Proof { jti, jwk, not_before, signing_input, signature })
    }

    /// Whether `key` signed this proof.
    pub fn signed_by(&self, key: &PublicKey) -> bool {
        key.verifies(self.signing_input.as_bytes(), &self.signature)
    }
}
