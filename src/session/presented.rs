//! What the edge cookies of one request amount to, before any object is asked.
//!
//! Both cookies are verified, even when the access cookie alone identifies the request
//! (one more MAC, about a microsecond): a forged refresh cookie beside a valid access
//! cookie is still someone probing the keys, and must be counted. A cookie that does not
//! verify is absent: no 5xx, no object call.
//!
//! ```
//! use edge_session::KeyRing;
//! use edge_session::session::{presented, Claim};
//! use edge_session::time::Timestamp;
//! let keys = KeyRing::parse("k1:0123456789abcdef0123456789abcdef").unwrap();
//! let now = Timestamp::from_secs(1_700_000_000);
//! let forged = presented("__Host-es-refresh=r1.k1.nope.AAAA", &keys, now);
//! assert!(matches!(forged.claim, Claim::Nothing));
//! assert!(forged.forged && forged.unverifiable && forged.cookies.presented);
//! ```

use super::cookie_header::{EdgeCookies, edge_cookies};
use super::credential::{AccessCredential, CredentialError, FamilyId, RefreshCredential};
use crate::crypto::KeyRing;
use crate::time::Timestamp;

/// What identifies a request, as far as its cookies alone can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim<'a> {
    /// A valid access cookie: the fast path, no object asked.
    Access(AccessCredential),
    /// A refresh cookie whose MAC verified: its family's object decides.
    Refresh {
        /// The cookie's raw value, for the object to verify again.
        cookie: &'a str,
        /// The family it names.
        family: FamilyId,
    },
    /// Nothing that verifies.
    Nothing,
}

/// One request's edge cookies, verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented<'a> {
    /// What identifies the request.
    pub claim: Claim<'a>,
    /// The raw cookies, as read from the header.
    pub cookies: EdgeCookies<'a>,
    /// The family the refresh cookie names, if its MAC verified (a login replaces it).
    pub refresh_family: Option<FamilyId>,
    /// Some cookie failed verification the way a forgery does ([`CredentialError::looks_forged`]).
    pub forged: bool,
    /// Some cookie failed verification for any reason but an access cookie's expiry.
    pub unverifiable: bool,
}

/// Reads and verifies the edge cookies of a `Cookie` header at `now`.
pub fn presented<'a>(cookie_header: &'a str, keys: &KeyRing, now: Timestamp) -> Presented<'a> {
    let cookies = edge_cookies(cookie_header);
    let access = cookies.access.map(|value| AccessCredential::decode(value, keys, now));
    let refresh = cookies.refresh.map(|value| (value, RefreshCredential::decode(value, keys).map(|r| r.family)));
    let failures =
        [access.as_ref().and_then(|a| a.as_ref().err()), refresh.as_ref().and_then(|(_, r)| r.as_ref().err())];
    let forged = failures.iter().flatten().any(|e| e.looks_forged());
    let unverifiable = failures.iter().flatten().any(|e| **e != CredentialError::Expired);
    let refresh_family = refresh.as_ref().and_then(|(_, family)| family.ok());
    let claim = match (access.and_then(Result::ok), refresh) {
        // An access credential names its family; one whose `sid` does not parse is unusable.
        (Some(access), _) if access.family().is_some() => Claim::Access(access),
        (_, Some((cookie, Ok(family)))) => Claim::Refresh { cookie, family },
        _ => Claim::Nothing,
    };
    Presented { claim, cookies, refresh_family, forged, unverifiable }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{ACCESS_COOKIE, Identity, REFRESH_COOKIE, RefreshSecret};
    use std::time::Duration;

    const T: Timestamp = Timestamp::from_secs(1_700_000_000);

    fn keys() -> KeyRing {
        KeyRing::parse("k1:0123456789abcdef0123456789abcdef").unwrap()
    }

    fn cookies(expires: Timestamp) -> (String, String) {
        let family = FamilyId::from_bytes([1; 16]);
        let ada = Identity { sub: "ada".into(), ctx: None };
        let access = AccessCredential::new(&ada, family, expires).encode(&keys());
        let refresh =
            RefreshCredential { family, generation: 1, secret: RefreshSecret::from_bytes([2; 32]) }.encode(&keys());
        (access, refresh)
    }

    #[test]
    fn a_valid_access_cookie_wins_and_a_forged_refresh_beside_it_still_counts() {
        let (access, _) = cookies(T + Duration::from_secs(60));
        let header = format!("{ACCESS_COOKIE}={access}; {REFRESH_COOKIE}=r1.k1.forged.AAAA");
        let p = presented(&header, &keys(), T);
        assert!(matches!(p.claim, Claim::Access(_)));
        assert!(p.forged && p.unverifiable);
        assert_eq!(p.refresh_family, None);
    }

    #[test]
    fn an_expired_access_cookie_falls_through_to_the_refresh_cookie_and_is_not_suspect() {
        let (access, refresh) = cookies(T);
        let header = format!("{ACCESS_COOKIE}={access}; {REFRESH_COOKIE}={refresh}");
        let p = presented(&header, &keys(), T);
        assert_eq!(p.claim, Claim::Refresh { cookie: refresh.as_str(), family: FamilyId::from_bytes([1; 16]) });
        assert!(!p.forged && !p.unverifiable);
        assert_eq!(p.refresh_family, Some(FamilyId::from_bytes([1; 16])));
    }

    #[test]
    fn a_key_we_lack_is_unverifiable_but_not_forged() {
        let retired = KeyRing::parse("k9:fedcba9876543210fedcba9876543210").unwrap();
        let family = FamilyId::from_bytes([3; 16]);
        let old =
            RefreshCredential { family, generation: 1, secret: RefreshSecret::from_bytes([2; 32]) }.encode(&retired);
        let header = format!("{REFRESH_COOKIE}={old}");
        let p = presented(&header, &keys(), T);
        assert_eq!(p.claim, Claim::Nothing);
        assert!(p.unverifiable && !p.forged);
    }

    #[test]
    fn no_edge_cookie_is_nothing_at_all() {
        let p = presented("theme=dark", &keys(), T);
        assert_eq!(p.claim, Claim::Nothing);
        assert!(!p.forged && !p.unverifiable && !p.cookies.presented);
    }
}
