//! The two session cookies and their wire formats (docs/design.md §2).
//!
//! * `__Host-es-access` = `a1.<kid>.<payload>.<mac>`: a short-lived identity the edge
//!   checks by MAC and expiry alone (the fast path). `payload` is base64url JSON
//!   `{"sub","sid","iat","exp","ctx"?}` with `iat` and `exp` in Unix milliseconds (`iat`
//!   is 0 in cookies minted before it existed).
//! * `__Host-es-refresh` = `r1.<kid>.<family>.<generation>.<secret>.<mac>`: the rotating
//!   credential of a family, only meaningful to that family's Durable Object.
//!
//! `mac` is HMAC-SHA256 over `<cookie name>=<value up to the last dot>`, base64url: the
//! name is covered so one cookie cannot be replayed as the other (as cookie-rs does), and
//! the version prefix binds the format. The MAC makes the data tamper-proof, **not
//! secret**: anyone holding the cookie can read `sub` and `ctx`. A refresh credential's
//! MAC only filters garbage before a Durable Object is woken; its authority is the
//! 256-bit secret the object compares. Every decode is bounded in size and returns a typed
//! error, never a panic.
//!
//! ```
//! use edge_session::crypto::KeyRing;
//! use edge_session::session::{FamilyId, RefreshCredential, RefreshSecret};
//! let keys = KeyRing::parse("k1:0123456789abcdef0123456789abcdef").unwrap();
//! let cred = RefreshCredential {
//!     family: FamilyId::from_bytes([7; 16]),
//!     generation: 3,
//!     secret: RefreshSecret::from_bytes([9; 32]),
//! };
//! let value = cred.encode(&keys);
//! assert_eq!(RefreshCredential::decode(&value, &keys).unwrap(), cred);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::crypto::base64url::{self, decode_fixed};
use crate::crypto::{Key, KeyRing};
use crate::time::Timestamp;
// The session's id and owner, and the login limits, are the origin protocol's too.
pub use edge_session_origin::{FamilyId, Identity, MAX_CTX_LEN, MAX_SUB_LEN};

/// The short-lived identity: checked at the edge by MAC and expiry alone.
pub const ACCESS_COOKIE: &str = "__Host-es-access";
/// The rotating credential of a family, decided by its object.
pub const REFRESH_COOKIE: &str = "__Host-es-refresh";

/// Longest access cookie value accepted; browsers cap a cookie near 4096 bytes.
pub const MAX_ACCESS_LEN: usize = 3800;
/// Longest refresh cookie value accepted (the real ones are about 140 bytes).
pub const MAX_REFRESH_LEN: usize = 200;

const ACCESS_VERSION: &str = "a1";
const REFRESH_VERSION: &str = "r1";

/// Why a cookie value was not accepted. The edge treats all of them as "absent".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialError {
    /// Longer than the format allows; not even parsed.
    TooLarge,
    /// Not the shape of this format (wrong version, field count, encoding).
    Malformed,
    /// Signed with a key id the ring does not hold (retired, or forged).
    UnknownKey,
    /// The MAC does not match: tampered, forged, or the other cookie's value.
    BadMac,
    /// A genuine access credential past its expiry.
    Expired,
}

impl CredentialError {
    /// Whether a cookie that failed this way looks forged or tampered with: a bad MAC, a
    /// malformed or oversized value. An unknown key id is not: after a key is retired,
    /// every browser still holding a cookie it signed sends one on every request (only
    /// logout deletes cookies), and a forger gains nothing from a key id we lack. An
    /// expired access cookie is normal.
    pub fn looks_forged(self) -> bool {
        matches!(self, CredentialError::BadMac | CredentialError::Malformed | CredentialError::TooLarge)
    }
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLarge => "credential too large",
            Self::Malformed => "credential malformed",
            Self::UnknownKey => "credential signed with an unknown key id",
            Self::BadMac => "credential MAC mismatch",
            Self::Expired => "credential expired",
        })
    }
}

impl std::error::Error for CredentialError {}

/// The 256-bit secret of one generation. Compared in constant time; `Debug` hides it.
#[derive(Clone)]
pub struct RefreshSecret([u8; 32]);

impl RefreshSecret {
    /// A secret of these 256 bits (fresh random ones, from the caller).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        RefreshSecret(bytes)
    }

    /// Its 256 bits.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// SHA-256 of the secret: what the family keeps of a retired generation, so a
    /// leaked database row cannot be replayed as a credential.
    pub fn digest(&self) -> SecretDigest {
        SecretDigest(Sha256::digest(self.0).into())
    }
}

impl PartialEq for RefreshSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for RefreshSecret {}

impl fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshSecret(<redacted>)")
    }
}

/// SHA-256 of a retired [`RefreshSecret`]; compared in constant time.
#[derive(Clone, Copy)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// A digest of these bytes (as stored).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        SecretDigest(bytes)
    }

    /// Its bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for SecretDigest {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SecretDigest {}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

/// A family's refresh credential: which family, which generation, and its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshCredential {
    /// Which family.
    pub family: FamilyId,
    /// Which generation: 1 at login, one more per rotation.
    pub generation: u64,
    /// The generation's secret.
    pub secret: RefreshSecret,
}

impl RefreshCredential {
    /// The cookie value, signed with the ring's first key.
    pub fn encode(&self, keys: &KeyRing) -> String {
        let body = format!(
            "{REFRESH_VERSION}.{}.{}.{}.{}",
            keys.signing().kid(),
            self.family,
            self.generation,
            base64url::encode(self.secret.0)
        );
        seal(REFRESH_COOKIE, body, keys.signing())
    }

    /// Verifies size, MAC and format; nothing inside is trusted before the MAC.
    pub fn decode(value: &str, keys: &KeyRing) -> Result<RefreshCredential, CredentialError> {
        if value.len() > MAX_REFRESH_LEN {
            return Err(CredentialError::TooLarge);
        }
        let body = open(REFRESH_COOKIE, value, keys)?;
        let [version, _kid, family, generation, secret] = split_exact::<5>(body).ok_or(CredentialError::Malformed)?;
        if version != REFRESH_VERSION {
            return Err(CredentialError::Malformed);
        }
        Ok(RefreshCredential {
            family: FamilyId::parse(family).ok_or(CredentialError::Malformed)?,
            generation: parse_generation(generation).ok_or(CredentialError::Malformed)?,
            secret: RefreshSecret(decode_fixed(secret).ok_or(CredentialError::Malformed)?),
        })
    }
}

/// The short-lived identity checked at the edge without waking the family's object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessCredential {
    /// The user.
    pub sub: String,
    /// The family's id.
    pub sid: String,
    /// Issued, Unix milliseconds: the kill switch (`SESSIONS_NOT_BEFORE`) refuses what was
    /// issued before it. 0 for cookies minted before the field existed.
    #[serde(default)]
    pub iat: u64,
    /// Expiry, Unix milliseconds.
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The login's claims.
    pub ctx: Option<serde_json::Map<String, serde_json::Value>>,
    /// When the family refreshed from another context, Unix seconds
    /// (`ON_CONTEXT_CHANGE=flag`): the fast path hands it to the origin like the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_changed: Option<u64>,
    /// When the user last proved who they are, Unix seconds (the identity's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// How (the login directive's `amr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
}

impl AccessCredential {
    /// An access credential for `identity` in `family`, issued at `issued`, valid until
    /// `expires`.
    pub fn new(identity: &Identity, family: FamilyId, issued: Timestamp, expires: Timestamp) -> Self {
        AccessCredential {
            sub: identity.sub.clone(),
            sid: family.to_string(),
            iat: issued.as_millis(),
            exp: expires.as_millis(),
            ctx: identity.ctx.clone(),
            context_changed: None,
            auth_time: identity.auth_time,
            amr: identity.amr.clone(),
        }
    }

    /// Who it identifies.
    pub fn identity(&self) -> Identity {
        Identity { sub: self.sub.clone(), ctx: self.ctx.clone(), auth_time: self.auth_time, amr: self.amr.clone() }
    }

    /// Its family, if `sid` is well formed.
    pub fn family(&self) -> Option<FamilyId> {
        FamilyId::parse(&self.sid)
    }

    /// The cookie value, signed with the ring's first key.
    pub fn encode(&self, keys: &KeyRing) -> String {
        let json = serde_json::to_vec(self).expect("plain struct serializes");
        let body = format!("{ACCESS_VERSION}.{}.{}", keys.signing().kid(), base64url::encode(json));
        seal(ACCESS_COOKIE, body, keys.signing())
    }

    /// Verifies MAC then expiry; the JSON is parsed only once the MAC is good.
    pub fn decode(value: &str, keys: &KeyRing, now: Timestamp) -> Result<AccessCredential, CredentialError> {
        if value.len() > MAX_ACCESS_LEN {
            return Err(CredentialError::TooLarge);
        }
        let body = open(ACCESS_COOKIE, value, keys)?;
        let [version, _kid, payload] = split_exact::<3>(body).ok_or(CredentialError::Malformed)?;
        if version != ACCESS_VERSION {
            return Err(CredentialError::Malformed);
        }
        let json = base64url::decode(payload).ok_or(CredentialError::Malformed)?;
        let cred: AccessCredential = serde_json::from_slice(&json).map_err(|_| CredentialError::Malformed)?;
        if cred.family().is_none() {
            return Err(CredentialError::Malformed);
        }
        if now.as_millis() >= cred.exp {
            return Err(CredentialError::Expired);
        }
        Ok(cred)
    }
}

/// `body.<mac>` with the MAC over `name=body`.
fn seal(name: &str, body: String, key: &Key) -> String {
    let tag = key.mac(&[name.as_bytes(), b"=", body.as_bytes()]);
    format!("{body}.{}", base64url::encode(tag))
}

/// Checks the MAC of `value` (looked up by the `kid` in its second field) and returns
/// the signed body. Nothing inside the body is trusted before this succeeds.
fn open<'a>(name: &str, value: &'a str, keys: &KeyRing) -> Result<&'a str, CredentialError> {
    let (body, tag) = value.rsplit_once('.').ok_or(CredentialError::Malformed)?;
    let kid = body.split('.').nth(1).ok_or(CredentialError::Malformed)?;
    let key = keys.get(kid).ok_or(CredentialError::UnknownKey)?;
    let tag: [u8; 32] = decode_fixed(tag).ok_or(CredentialError::Malformed)?;
    if key.verify(&[name.as_bytes(), b"=", body.as_bytes()], &tag) { Ok(body) } else { Err(CredentialError::BadMac) }
}

/// Splits on `.` into exactly `N` fields.
fn split_exact<const N: usize>(text: &str) -> Option<[&str; N]> {
    let mut fields = [""; N];
    let mut parts = text.split('.');
    for field in fields.iter_mut() {
        *field = parts.next()?;
    }
    parts.next().is_none().then_some(fields)
}

/// Canonical decimal: digits only, no leading zero, fits in u64.
fn parse_generation(text: &str) -> Option<u64> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> KeyRing {
        KeyRing::parse("k1:0123456789abcdef0123456789abcdef").unwrap()
    }

    fn access(exp: u64) -> AccessCredential {
        let id = Identity { sub: "alice".into(), ctx: None, auth_time: None, amr: None };
        AccessCredential::new(
            &id,
            FamilyId::from_bytes([1; 16]),
            Timestamp::from_millis(0),
            Timestamp::from_millis(exp),
        )
    }

    #[test]
    fn access_round_trips_until_expiry() {
        let value = access(5_000).encode(&keys());
        let at = |ms| AccessCredential::decode(&value, &keys(), Timestamp::from_millis(ms));
        assert_eq!(at(4_999).unwrap().sub, "alice");
        assert_eq!(at(5_000), Err(CredentialError::Expired));
    }

    #[test]
    fn generation_must_be_canonical() {
        assert_eq!(parse_generation("0"), Some(0));
        assert_eq!(parse_generation("42"), Some(42));
        for bad in ["", "01", "+1", "-1", "1e3", " 1", "18446744073709551616"] {
            assert_eq!(parse_generation(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn secrets_compare_by_value_and_hide_in_debug() {
        let a = RefreshSecret::from_bytes([3; 32]);
        assert_eq!(a, RefreshSecret::from_bytes([3; 32]));
        assert_ne!(a, RefreshSecret::from_bytes([4; 32]));
        assert!(!format!("{a:?}").contains('3'));
        assert_eq!(a.digest(), RefreshSecret::from_bytes([3; 32]).digest());
    }
}
