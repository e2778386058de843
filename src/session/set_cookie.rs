//! Writing `Set-Cookie` for the edge's two cookies, and the lines one granted identity
//! turns into.
//!
//! Both cookies are `__Host-` prefixed with `Path=/; Secure; HttpOnly; SameSite=Lax`:
//! `__Host-` makes the browser refuse a `Domain` attribute or another path, so a sibling
//! subdomain cannot set a cookie under our name; `HttpOnly` keeps it from scripts;
//! `SameSite=Lax` keeps it off cross-site subrequests and POSTs. Values are ones the edge
//! made (base64url and dots), so nothing needs quoting, and the lines are written by hand.
//!
//! ```
//! use edge_session::session::{clear_cookie, set_cookie, REFRESH_COOKIE};
//! use std::time::Duration;
//! assert_eq!(
//!     set_cookie(REFRESH_COOKIE, "r1.v", Some(Duration::from_secs(60))),
//!     "__Host-es-refresh=r1.v; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=60"
//! );
//! assert!(clear_cookie(REFRESH_COOKIE).ends_with("Max-Age=0"));
//! ```

use std::fmt::Write;
use std::time::Duration;

use super::credential::{ACCESS_COOKIE, AccessCredential, REFRESH_COOKIE};
use super::family::Grant;
use crate::config::Policy;
use crate::crypto::KeyRing;
use crate::time::Timestamp;

/// `Set-Cookie` for an edge cookie. `max_age: None` makes a session cookie (gone when the
/// browser closes), as a refresh cookie without "remember me" is. The value is one the
/// edge made (base64url and dots), so nothing needs quoting.
pub fn set_cookie(name: &str, value: &str, max_age: Option<Duration>) -> String {
    debug_assert!(value.bytes().all(is_cookie_octet), "edge cookie values are cookie-octets");
    let mut line = attributes(name, value);
    if let Some(age) = max_age {
        let _ = write!(line, "; Max-Age={}", age.as_secs());
    }
    line
}

/// `Set-Cookie` that deletes an edge cookie. Only an explicit logout may send this: an
/// anonymous answer that deletes could clobber a newer login's cookie (Pow #390).
pub fn clear_cookie(name: &str) -> String {
    let mut line = attributes(name, "");
    line.push_str("; Max-Age=0");
    line
}

/// The attributes of both cookies (see the module docs).
fn attributes(name: &str, value: &str) -> String {
    format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax")
}

/// RFC 6265 §4.1.1 `cookie-octet`: visible ASCII but `"`, `,`, `;` and `\`.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

/// The `Set-Cookie` lines for one granted identity.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct GrantCookies {
    /// The short-lived access cookie; none when the fast path is off (`ACCESS_TTL_SECS=0`).
    pub access: Option<String>,
    /// The family's refresh cookie, when the grant hands one out.
    pub refresh: Option<String>,
}

impl GrantCookies {
    /// The lines for `grant`, signed with the ring's first key at `now`. The access
    /// cookie lives `ACCESS_TTL_SECS`, never past the family's own deadline: the edge
    /// checks it alone, so it must not outlive the family's idle or absolute limit.
    pub fn new(grant: &Grant, keys: &KeyRing, policy: &Policy, now: Timestamp) -> GrantCookies {
        let access = (!policy.access_ttl.is_zero()).then(|| {
            let expires = (now + policy.access_ttl).min(grant.until);
            set_cookie(ACCESS_COOKIE, &access(grant, now, expires).encode(keys), Some(max_age(now, expires)))
        });
        let refresh = grant.refresh.as_ref().map(|cred| {
            // A session cookie unless "remember me"; then it lives as long as the family.
            let max_age = grant.remember_until.map(|until| max_age(now, until));
            set_cookie(REFRESH_COOKIE, &cred.encode(keys), max_age)
        });
        GrantCookies { access, refresh }
    }

    /// The access cookie of a device-bound family: it lives `DBSC_ACCESS_TTL_SECS`, and no
    /// refresh cookie goes with it (the device's key is the refresh credential). The
    /// credential itself stays valid `GRACE_SECS` longer than the cookie: the browser
    /// refreshes when its cookie is gone, and a request it made just before can wait in
    /// its queue; it must still be this user when it arrives.
    /// Neither the cookie nor the credential outlives the family's deadline.
    pub fn device_bound(grant: &Grant, keys: &KeyRing, policy: &Policy, now: Timestamp) -> GrantCookies {
        let cookie_expires = (now + policy.bound_access_ttl).min(grant.until);
        let expires = (now + policy.bound_access_ttl + policy.grace).min(grant.until);
        let line =
            set_cookie(ACCESS_COOKIE, &access(grant, now, expires).encode(keys), Some(max_age(now, cookie_expires)));
        GrantCookies { access: Some(line), refresh: None }
    }
}

/// The access credential of `grant`, issued `now`, valid until `expires`.
fn access(grant: &Grant, now: Timestamp, expires: Timestamp) -> AccessCredential {
    let context_changed = grant.context_changed.map(Timestamp::as_secs);
    AccessCredential { context_changed, ..AccessCredential::new(&grant.identity, grant.family, now, expires) }
}

/// `Max-Age` for a cookie that must be gone by `expires`: whole seconds, rounded up so a
/// cookie granted less than a second before its family's deadline is still set (the edge
/// refuses the credential inside it at `expires` anyway), and never 0, which deletes.
fn max_age(now: Timestamp, expires: Timestamp) -> Duration {
    Duration::from_secs(expires.since(now).as_millis().div_ceil(1000).max(1) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_has_the_host_prefix_attributes() {
        let c = set_cookie(ACCESS_COOKIE, "v", Some(Duration::from_secs(60)));
        assert_eq!(c, "__Host-es-access=v; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=60");
        let session = set_cookie(REFRESH_COOKIE, "v", None);
        assert!(!session.contains("Max-Age") && !session.contains("Expires"), "{session}");
    }

    #[test]
    fn clearing_sets_max_age_zero() {
        let c = clear_cookie(REFRESH_COOKIE);
        assert_eq!(c, "__Host-es-refresh=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0");
    }
}
