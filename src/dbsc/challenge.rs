//! DBSC challenges: what a proof must sign, so a proof cannot be made ahead of time.
//!
//! A challenge is `c1.<kid>.<issued ms>.<nonce>.<mac>`, the MAC being HMAC-SHA256 with a
//! `SESSION_KEYS` key over `dbsc-<purpose>=<family id>.<the rest>`. So it is stateless:
//! the worker mints one without waking the family's object, and checks one without it
//! too ([`check`]: this family's, not forged, at most [`CHALLENGE_TTL`] old). Single use
//! is the family's part: it remembers when the last spent challenge was issued and
//! refuses any issued no later (`Family::refresh_device`). The label in the MAC keeps a
//! challenge from ever verifying as a cookie, and the family id keeps one family's
//! challenge from serving another.
//!
//! The purpose matters most. A registration challenge is handed out only on the login
//! response, to the browser that logged in. A refresh challenge goes to anyone holding
//! the family's cookies, a thief with a copied jar included; if it could register, the
//! thief would bind an unbound family to *its* key and lock the owner out. It cannot.
//!
//! ```
//! use edge_session::dbsc::challenge;
//! use edge_session::session::FamilyId;
//! use edge_session::time::Timestamp;
//! use edge_session::KeyRing;
//! let keys = KeyRing::parse("k1:0123456789abcdef0123456789abcdef").unwrap();
//! let (ada, bob) = (FamilyId::from_bytes([1; 16]), FamilyId::from_bytes([2; 16]));
//! let now = Timestamp::from_secs(1_700_000_000);
//! use challenge::Purpose::{Refresh, Register};
//! let c = challenge::mint(Refresh, ada, now, [7; 16], &keys);
//! assert_eq!(challenge::check(&c, Refresh, ada, &keys, now), Ok(now));
//! assert!(challenge::check(&c, Refresh, bob, &keys, now).is_err(), "one family's challenge is not another's");
//! assert!(challenge::check(&c, Register, ada, &keys, now).is_err(), "a refresh challenge never registers");
//! ```

use std::time::Duration;

use crate::crypto::{KeyRing, base64url, jws::CLOCK_SKEW};
use crate::session::FamilyId;
use crate::time::Timestamp;

/// How long a challenge is good for. A `403` challenge is signed within a round trip, but
/// each refresh answer also hands the browser the challenge for its next refresh, which
/// with the default 5-minute cookie comes about 3 minutes later: this covers it, so a
/// refresh is one request and one object call. A proof taken off a compromised device is
/// worth at most this long, and once.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(300);
/// Longest challenge text accepted.
const MAX_CHALLENGE_LEN: usize = 128;
const VERSION: &str = "c1";

/// What a challenge may be signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Binding a new family to a key: issued only on its login response.
    Register,
    /// A new access cookie for a bound family.
    Refresh,
}

impl Purpose {
    /// Domain separation: no cookie or token MAC covers these prefixes.
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Register => b"dbsc-register=",
            Purpose::Refresh => b"dbsc-refresh=",
        }
    }
}

/// Why a challenge is not (or no longer) good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeError {
    /// Not a challenge this edge could have made, or another family's.
    NotOurs,
    /// Older than [`CHALLENGE_TTL`], or from further in the future than clock skew allows.
    Expired,
}

/// A fresh challenge for `family`, issued at `now`; `nonce` is 128 random bits.
pub fn mint(purpose: Purpose, family: FamilyId, now: Timestamp, nonce: [u8; 16], keys: &KeyRing) -> String {
    let key = keys.signing();
    let body = format!("{VERSION}.{}.{}.{}", key.kid(), now.as_millis(), base64url::encode(nonce));
    let tag = key.mac(&[purpose.label(), family.to_string().as_bytes(), b".", body.as_bytes()]);
    format!("{body}.{}", base64url::encode(tag))
}

/// When `text` was issued, if it is a good challenge for `purpose` of `family` at `now`.
pub fn check(
    text: &str,
    purpose: Purpose,
    family: FamilyId,
    keys: &KeyRing,
    now: Timestamp,
) -> Result<Timestamp, ChallengeError> {
    if text.len() > MAX_CHALLENGE_LEN {
        return Err(ChallengeError::NotOurs);
    }
    let (body, tag) = text.rsplit_once('.').ok_or(ChallengeError::NotOurs)?;
    let mut fields = body.split('.');
    let (Some(VERSION), Some(kid), Some(issued), Some(_nonce), None) =
        (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(ChallengeError::NotOurs);
    };
    let key = keys.get(kid).ok_or(ChallengeError::NotOurs)?;
    let tag = base64url::decode_fixed::<32>(tag).ok_or(ChallengeError::NotOurs)?;
    if !key.verify(&[purpose.label(), family.to_string().as_bytes(), b".", body.as_bytes()], &tag) {
        return Err(ChallengeError::NotOurs);
    }
    // Only digits: `u64::from_str` would also take a leading `+`, a second spelling.
    if issued.is_empty() || !issued.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ChallengeError::NotOurs);
    }
    let issued = Timestamp::from_millis(issued.parse().map_err(|_| ChallengeError::NotOurs)?);
    let skew = Duration::from_secs(CLOCK_SKEW);
    if now.since(issued) >= CHALLENGE_TTL || issued > now + skew {
        return Err(ChallengeError::Expired);
    }
    Ok(issued)
}
