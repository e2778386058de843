//! The edge's side of a request, as pure functions the wasm shell calls (DESIGN §4).
//!
//! Which inbound headers must never reach the origin, and which `Set-Cookie` lines a
//! granted identity turns into. Keeping these here means the shell never decides a
//! protocol rule itself.
//!
//! ```
//! use edge_session::edge::is_identity_header;
//! assert!(is_identity_header("X-EDGE-USER"));
//! assert!(is_identity_header("x_edge_assertion"));
//! assert!(!is_identity_header("x-forwarded-for"));
//! ```

use crate::config::Policy;
use crate::cookies::set_cookie;
use crate::credential::{AccessCredential, ACCESS_COOKIE, REFRESH_COOKIE};
use crate::family::Grant;
use crate::keys::KeyRing;
use crate::time::Timestamp;

pub const USER_HEADER: &str = "X-Edge-User";
pub const SESSION_HEADER: &str = "X-Edge-Session";
pub const STATE_HEADER: &str = "X-Edge-Session-State";
pub const ASSERTION_HEADER: &str = "X-Edge-Assertion";
pub const LOGIN_HEADER: &str = "X-Edge-Login";
pub const LOGOUT_HEADER: &str = "X-Edge-Logout";

/// The identity namespace: any header that, after folding case and `_` to `-`, starts
/// with `x-edge-`. Proxies and frameworks often treat `X_Edge_User` as `X-Edge-User`
/// (oauth2-proxy CVE-2025-64484), so every spelling is stripped from client requests.
pub fn is_identity_header(name: &str) -> bool {
    const PREFIX: &[u8] = b"x-edge-";
    let name = name.as_bytes();
    name.len() >= PREFIX.len()
        && name.iter().zip(PREFIX).all(|(&c, &p)| {
            let c = if c == b'_' { b'-' } else { c.to_ascii_lowercase() };
            c == p
        })
}

/// `value` made safe for a header: bytes outside visible ASCII, and `%` itself, are
/// percent-encoded (RFC 3986 style). A `sub` may be any Unicode; header values may not
/// (and CR/LF would be header injection). The assertion carries the exact `sub`.
pub fn header_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
    pub fn new(grant: &Grant, keys: &KeyRing, policy: &Policy, now: Timestamp) -> GrantCookies {
        let access = (!policy.access_ttl.is_zero()).then(|| {
            let cred = AccessCredential::new(&grant.identity, grant.family, now + policy.access_ttl);
            set_cookie(ACCESS_COOKIE, &cred.encode(keys), Some(policy.access_ttl))
        });
        let refresh = grant.refresh.as_ref().map(|cred| {
            // A session cookie unless "remember me"; then it lives as long as the family.
            let max_age = grant.remember_until.map(|until| until.since(now));
            set_cookie(REFRESH_COOKIE, &cred.encode(keys), max_age)
        });
        GrantCookies { access, refresh }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_visible_ascii() {
        assert_eq!(header_value("alice@example.com"), "alice@example.com");
        assert_eq!(header_value("zoë\r\nX-Evil: 1"), "zo%C3%AB%0D%0AX-Evil: 1");
        assert_eq!(header_value("100%"), "100%25");
    }

    #[test]
    fn identity_namespace_in_every_spelling() {
        for name in ["X-Edge-User", "x-edge-session-state", "X_EDGE_ASSERTION", "x-Edge_login", "X-Edge-Anything"] {
            assert!(is_identity_header(name), "{name}");
        }
        for name in ["X-Edge", "X-Edgy-User", "Edge-User", "X-Forwarded-User", "XX-Edge-User", ""] {
            assert!(!is_identity_header(name), "{name}");
        }
    }
}
