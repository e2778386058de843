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
//! let forged = presented("__Host-es-refresh=r1.k1.nope.AAAA", &keys, now, Timestamp::from_millis(0));
//! assert!(matches!(forged.claim, Claim::Nothing));
//! assert!(forged.forged && forged.unverifiable && forged.cookies.presented);
//! ```

use super::anonymous::AnonymousState;
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
    /// With [`Claim::Nothing`] and an edge cookie presented: why the origin sees the
    /// request anonymous (an access cookie that only expired, or something invalid).
    pub refused: Option<AnonymousState>,
}

/// Reads and verifies the edge cookies of a `Cookie` header at `now`. An access cookie
/// issued before `not_before` (the kill switch, `SESSIONS_NOT_BEFORE`) counts as expired:
/// the request goes on to its refresh cookie, whose family the kill switch has ended.
pub fn presented<'a>(cookie_header: &'a str, keys: &KeyRing, now: Timestamp, not_before: Timestamp) -> Presented<'a> {
    let cookies = edge_cookies(cookie_header);
    let access = cookies.access.map(|value| {
        AccessCredential::decode(value, keys, now)
            .and_then(|a| if a.iat < not_before.as_millis() { Err(CredentialError::Expired) } else { Ok(a) })
    });
    let refresh = cookies.refresh.map(|value| (value, RefreshCredential::decode(value, keys).map(|r| r.family)));
    let failures =
        [access.as_ref().and_then(|a| a.as_ref().err()), refresh.as_ref().and_then(|(_, r)| r.as_ref().err())];
    let forged = failures.iter().flatten().any(|e| e.looks_forged());
    let unverifiable = failures.iter().flatten().any(|e| **e != CredentialError::Expired);
    let refresh_family = refresh.as_ref().and_then(|(_, family)| family.ok());
    let only_expired = matches!(access, Some(Err(CredentialError::Expired))) && refresh.is_none();
    let claim = match (access.and_then(Result::ok), refresh) {
        // An access credential names its family; one whose `sid` does not parse is unusable.
        (Some(access), _) if access.family().is_some() => Claim::Access(access),
        (_, Some((cookie, Ok(family)))) => Claim::Refresh { cookie, family },
        _ => Claim::Nothing,
    };
    let refused = (claim == Claim::Nothing && cookies.presented).then_some(if only_expired {
        AnonymousState::Expired
    } else {
        AnonymousState::Invalid
    });
    Presented { claim, cookies, refresh_family, forged, unverifiable, refused }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{ACCESS_COOKIE, Identity, REFRESH_COOKIE, RefreshSecret};
    use std::time::Duration;

    const T: Timestamp = Timestamp::from_secs(1_700_000_000);
    const NO_KILL_SWITCH: Timestamp = Timestamp::from_millis(0);

    fn keys() -> KeyRing {
        KeyRing::parse("k1:0123456789abcdef0123456789abcdef").unwrap()
    }

    fn cookies(expires: Timestamp) -> (String, String) {
        let family = FamilyId::from_bytes([1; 16]);
        let ada = Identity { sub: "ada".into(), ctx: None, auth_time: None, amr: None };
        let access = AccessCredential::new(&ada, family, T, expires).encode(&keys());
        let refresh =
            RefreshCredential { family, generation: 1, secret: RefreshSecret::from_bytes([2; 32]) }.encode(&keys());
        (access, refresh)
    }

    #[test]
    fn a_valid_access_cookie_wins_and_a_forged_refresh_beside_it_still_counts() {
        let (access, _) = cookies(T + Duration::from_secs(60));
        let header = format!("{ACCESS_COOKIE}={access}; {REFRESH_COOKIE}=r1.k1.forged.AAAA");
        let p = presented(&header, &keys(), T, NO_KILL_SWITCH);
        assert!(matches!(p.claim, Claim::Access(_)));
        assert!(p.forged && p.unverifiable);
        assert_eq!(p.refresh_family, None);
    }

    #[test]
    fn an_expired_access_cookie_falls_through_to_the_refresh_cookie_and_is_not_suspect() {
        let (access, refresh) = cookies(T);
        let header = format!("{ACCESS_COOKIE}={access}; {REFRESH_COOKIE}={refresh}");
        let p = presented(&header, &keys(), T, NO_KILL_SWITCH);
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
        let p = presented(&header, &keys(), T, NO_KILL_SWITCH);
        assert_eq!(p.claim, Claim::Nothing);
        assert!(p.unverifiable && !p.forged);
    }

    #[test]
    fn no_edge_cookie_is_nothing_at_all() {
        let p = presented("theme=dark", &keys(), T, NO_KILL_SWITCH);
        assert_eq!(p.claim, Claim::Nothing);
        assert!(!p.forged && !p.unverifiable && !p.cookies.presented);
        assert_eq!(p.refused, None, "never signed in: the origin hears nothing");
    }

    #[test]
    fn a_refused_cookie_says_why_the_request_is_anonymous() {
        let (expired, refresh) = cookies(T);
        let only_expired = format!("{ACCESS_COOKIE}={expired}");
        assert_eq!(presented(&only_expired, &keys(), T, NO_KILL_SWITCH).refused, Some(AnonymousState::Expired));
        for header in [
            format!("{REFRESH_COOKIE}=r1.k1.forged.AAAA"),
            format!("{ACCESS_COOKIE}={expired}; {REFRESH_COOKIE}=garbage"),
            format!("{REFRESH_COOKIE}={refresh}; {REFRESH_COOKIE}={refresh}"),
            format!("{ACCESS_COOKIE}=a1.k9.e30.AAAA"),
        ] {
            assert_eq!(
                presented(&header, &keys(), T, NO_KILL_SWITCH).refused,
                Some(AnonymousState::Invalid),
                "{header}"
            );
        }
        // A cookie that goes on to its object is judged there; one that identifies is not refused.
        let (live, _) = cookies(T + Duration::from_secs(60));
        for header in [format!("{REFRESH_COOKIE}={refresh}"), format!("{ACCESS_COOKIE}={live}")] {
            assert_eq!(presented(&header, &keys(), T, NO_KILL_SWITCH).refused, None, "{header}");
        }
    }

    #[test]
    fn the_kill_switch_refuses_access_cookies_issued_before_it() {
        let (access, refresh) = cookies(T + Duration::from_secs(60));
        let header = format!("{ACCESS_COOKIE}={access}; {REFRESH_COOKIE}={refresh}");
        let killed = presented(&header, &keys(), T, T + Duration::from_millis(1));
        assert!(matches!(killed.claim, Claim::Refresh { .. }), "on to the family, whose object says it ended");
        assert!(!killed.forged && !killed.unverifiable, "not a forgery");
        let alone = format!("{ACCESS_COOKIE}={access}");
        assert_eq!(presented(&alone, &keys(), T, T + Duration::from_millis(1)).refused, Some(AnonymousState::Expired));
        assert!(matches!(presented(&header, &keys(), T, T).claim, Claim::Access(_)), "issued at the switch: fine");
    }
}
