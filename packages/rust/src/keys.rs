//! Key rings for `SESSION_KEYS` and `ORIGIN_SECRET`: `kid:secret` pairs, comma-separated.
//!
//! The first key signs, every key verifies, so keys rotate without logging anyone out
//! (docs/design.md §5). The HMAC key is the UTF-8 bytes of `secret` as written, so an origin
//! passes the same string to its JWT library. Key bytes never appear in `Debug` output or
//! in errors; MACs are compared in constant time.
//!
//! ```
//! use edge_session_origin::KeyRing;
//! let ring = KeyRing::parse("new:0123456789abcdef0123456789abcdef, old:fedcba9876543210fedcba9876543210").unwrap();
//! assert_eq!(ring.signing().kid(), "new");
//! let tag = ring.signing().mac(&[b"hello"]);
//! assert!(ring.get("new").unwrap().verify(&[b"hello"], &tag));
//! assert!(!ring.get("old").unwrap().verify(&[b"hello"], &tag));
//! ```

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Shortest accepted secret: 32 characters (≥ 128 bits even for hex).
pub const MIN_SECRET_LEN: usize = 32;
/// Longest accepted secret; anything longer is a paste error, not more security.
pub const MAX_SECRET_LEN: usize = 512;
/// More keys than this is a misconfiguration (and a verification cost per request).
pub const MAX_KEYS: usize = 8;
/// Longest key id; ids travel in every cookie and JWS header.
pub const MAX_KID_LEN: usize = 16;

/// One HMAC-SHA256 key with its id.
pub struct Key {
    kid: String,
    /// The keyed state (inner and outer pads already absorbed): cloning it per MAC saves
    /// two of the SHA-256 compressions that re-keying would cost on every request.
    keyed: HmacSha256,
}

impl Key {
    /// A key from raw bytes, for known-answer tests and origin kits whose keys are not
    /// text. Ring parsing ([`KeyRing::parse`]) is the way configuration makes keys.
    pub fn from_bytes(kid: &str, secret: &[u8]) -> Key {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        let keyed = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        Key { kid: kid.to_owned(), keyed }
    }

    /// The key's id, as written in the ring (`kid` of cookies and JWS headers).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// HMAC-SHA256 over the concatenation of `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.hmac(parts).finalize().into_bytes().into()
    }

    /// Constant-time check of `tag` against the MAC of `parts` (via `subtle`, inside
    /// `hmac::Mac::verify_slice`): no timing oracle for forging a tag byte by byte.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        self.hmac(parts).verify_slice(tag).is_ok()
    }

    fn hmac(&self, parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        for part in parts {
            mac.update(part);
        }
        mac
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("kid", &self.kid).field("secret", &"<redacted>").finish()
    }
}

/// Several keys; the first signs, all verify.
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<Key>,
}

/// Why a key ring string was refused. Keys are named by position, never by id: in a
/// malformed string (a comma inside a secret) the "id" may be a piece of a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRingError {
    /// No `kid:secret` pair at all.
    Empty,
    /// More than [`MAX_KEYS`] pairs.
    TooManyKeys,
    /// Pair number `index` (1-based) has no `:` between id and secret.
    MissingSeparator {
        /// Position in the ring, from 1.
        index: usize,
    },
    /// Pair number `index` has a key id outside `[A-Za-z0-9_-]{1,16}`.
    BadKeyId {
        /// Position in the ring, from 1.
        index: usize,
    },
    /// Key number `index` is shorter than [`MIN_SECRET_LEN`] or longer than [`MAX_SECRET_LEN`].
    BadSecretLength {
        /// Position in the ring, from 1.
        index: usize,
    },
    /// Key number `index` contains whitespace or control characters.
    BadSecretCharacter {
        /// Position in the ring, from 1.
        index: usize,
    },
    /// Key number `index` reuses an earlier key's id.
    DuplicateKeyId {
        /// Position in the ring, from 1.
        index: usize,
    },
}

impl fmt::Display for KeyRingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "no key given; expected `kid:secret[,kid:secret…]`"),
            Self::TooManyKeys => write!(f, "more than {MAX_KEYS} keys"),
            Self::MissingSeparator { index } => {
                write!(f, "key #{index} has no `:` between key id and secret")
            }
            Self::BadKeyId { index } => {
                write!(f, "key #{index} has a key id outside [A-Za-z0-9_-]{{1,{MAX_KID_LEN}}}")
            }
            Self::BadSecretLength { index } => {
                write!(f, "key #{index}: secret must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN} characters")
            }
            Self::BadSecretCharacter { index } => {
                write!(f, "key #{index}: secret contains whitespace or control characters")
            }
            Self::DuplicateKeyId { index } => write!(f, "key #{index} reuses an earlier key id"),
        }
    }
}

impl std::error::Error for KeyRingError {}

/// `[A-Za-z0-9_-]{1,16}`: safe inside cookie values and JWS headers without escaping.
pub fn is_valid_kid(kid: &str) -> bool {
    (1..=MAX_KID_LEN).contains(&kid.len()) && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl KeyRing {
    /// Parses `kid:secret[,kid:secret…]`; whitespace around pairs is ignored.
    pub fn parse(text: &str) -> Result<KeyRing, KeyRingError> {
        let pairs: Vec<&str> = text.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
        if pairs.is_empty() {
            return Err(KeyRingError::Empty);
        }
        if pairs.len() > MAX_KEYS {
            return Err(KeyRingError::TooManyKeys);
        }
        let mut keys: Vec<Key> = Vec::with_capacity(pairs.len());
        for (i, pair) in pairs.iter().enumerate() {
            let index = i + 1;
            let (kid, secret) = pair.split_once(':').ok_or(KeyRingError::MissingSeparator { index })?;
            if !is_valid_kid(kid) {
                return Err(KeyRingError::BadKeyId { index });
            }
            if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&secret.chars().count()) {
                return Err(KeyRingError::BadSecretLength { index });
            }
            if secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(KeyRingError::BadSecretCharacter { index });
            }
            keys.push(Key::from_bytes(kid, secret.as_bytes()));
        }
        KeyRing::from_keys(keys)
    }

    /// A ring from keys made with [`Key::from_bytes`] (binary keys, known-answer tests);
    /// the same count and id rules as [`KeyRing::parse`].
    pub fn from_keys(keys: Vec<Key>) -> Result<KeyRing, KeyRingError> {
        if keys.is_empty() {
            return Err(KeyRingError::Empty);
        }
        if keys.len() > MAX_KEYS {
            return Err(KeyRingError::TooManyKeys);
        }
        for (i, key) in keys.iter().enumerate() {
            if !is_valid_kid(&key.kid) {
                return Err(KeyRingError::BadKeyId { index: i + 1 });
            }
            if keys[..i].iter().any(|k| k.kid == key.kid) {
                return Err(KeyRingError::DuplicateKeyId { index: i + 1 });
            }
        }
        Ok(KeyRing { keys })
    }

    /// The key that signs new credentials and assertions.
    pub fn signing(&self) -> &Key {
        &self.keys[0]
    }

    /// The key with id `kid`, if the ring has it.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Every key, signing key first.
    pub fn iter(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter()
    }

    /// Whether some key of `self` has the same secret as some key of `other`, whatever
    /// their ids. Compared through their MACs of one fixed message: equal secrets give
    /// equal tags, and no key byte is ever read back.
    pub fn shares_a_secret_with(&self, other: &KeyRing) -> bool {
        const PROBE: &[u8] = b"edge-session: do these key rings share a secret?";
        self.keys.iter().any(|mine| {
            let tag = mine.mac(&[PROBE]);
            other.keys.iter().any(|theirs| theirs.verify(&[PROBE], &tag))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S32: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn first_key_signs_and_all_verify() {
        let ring = KeyRing::parse(&format!("a:{S32}x, b:{S32}y")).unwrap();
        assert_eq!(ring.signing().kid(), "a");
        let tag = ring.get("b").unwrap().mac(&[b"m"]);
        assert!(ring.get("b").unwrap().verify(&[b"m"], &tag));
        assert!(!ring.get("a").unwrap().verify(&[b"m"], &tag));
    }

    #[test]
    fn mac_parts_concatenate() {
        let ring = KeyRing::parse(&format!("a:{S32}")).unwrap();
        let k = ring.signing();
        assert_eq!(k.mac(&[b"ab", b"c"]), k.mac(&[b"abc"]));
    }

    #[test]
    fn refusals_name_the_problem_and_never_the_secret() {
        let secret = "SUPERSECRETVALUE-do-not-print-it";
        let cases = [
            ("", KeyRingError::Empty),
            (secret, KeyRingError::MissingSeparator { index: 1 }),
            (&format!("bad kid:{secret}")[..], KeyRingError::BadKeyId { index: 1 }),
            ("k:short", KeyRingError::BadSecretLength { index: 1 }),
            (&format!("k:{secret} x")[..], KeyRingError::BadSecretCharacter { index: 1 }),
            (&format!("k:{secret},k:{secret}")[..], KeyRingError::DuplicateKeyId { index: 2 }),
            // A comma inside a secret: the tail must not be echoed as a key id.
            (&format!("k:{secret},SUPERSECRET:x")[..], KeyRingError::BadSecretLength { index: 2 }),
        ];
        for (text, expected) in cases {
            let err = KeyRing::parse(text).unwrap_err();
            assert_eq!(err, expected, "for {text:?}");
            assert!(!err.to_string().contains("SUPERSECRET"));
            assert!(!format!("{err:?}").contains("SUPERSECRET"));
        }
    }

    #[test]
    fn too_many_keys_is_refused() {
        let text: Vec<String> = (0..=MAX_KEYS).map(|i| format!("k{i}:{S32}")).collect();
        assert_eq!(KeyRing::parse(&text.join(",")).unwrap_err(), KeyRingError::TooManyKeys);
    }

    #[test]
    fn rings_that_share_a_secret_are_detected_whatever_the_ids() {
        let a = KeyRing::parse(&format!("a:{S32}x, b:{S32}y")).unwrap();
        assert!(a.shares_a_secret_with(&KeyRing::parse(&format!("other:{S32}y")).unwrap()));
        assert!(!a.shares_a_secret_with(&KeyRing::parse(&format!("a:{S32}z")).unwrap()));
    }

    #[test]
    fn debug_hides_key_bytes() {
        let ring = KeyRing::parse(&format!("a:{S32}")).unwrap();
        assert!(!format!("{ring:?}").contains(S32));
    }
}
