//! The headers of the edge ↔ origin hop: their names, the identity namespace that no
//! client may send, the injective `X-Edge-User` encoding, and what a response carrying a
//! credential must say to caches. Keeping these here means the shell never decides a
//! protocol rule itself.
//!
//! ```
//! use edge_session::origin::is_identity_header;
//! assert!(is_identity_header("X-EDGE-USER"));
//! assert!(is_identity_header("x_edge_assertion"));
//! assert!(!is_identity_header("x-forwarded-for"));
//! ```

/// The user, [encoded](encode_user); a convenience beside the assertion.
pub const USER_HEADER: &str = "X-Edge-User";
/// The family's id (`sid`).
pub const SESSION_HEADER: &str = "X-Edge-Session";
/// `fresh`, `rotated`, `grace` or `recovered`.
pub const STATE_HEADER: &str = "X-Edge-Session-State";
/// The signed [`Assertion`](super::Assertion).
pub const ASSERTION_HEADER: &str = "X-Edge-Assertion";
/// The origin's [`Login`](super::Login) directive.
pub const LOGIN_HEADER: &str = "X-Edge-Login";
/// The origin's [`Logout`](super::Logout) directive.
pub const LOGOUT_HEADER: &str = "X-Edge-Logout";
/// The [`RequestNonce`](super::RequestNonce) of a forwarded request.
pub const NONCE_HEADER: &str = "X-Edge-Nonce";

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

/// `X-Edge-User`: `sub` with every byte outside `[A-Za-z0-9._~@+-]` percent-encoded,
/// `%` included. Injective, so two users never share a header value (`"mallet"` and
/// `"mallet "` differ), and always a safe header value (CR/LF would be header injection;
/// a `sub` may be any Unicode). Decode it with any percent-decoder that leaves `+` alone
/// (`decodeURIComponent`, Python's `unquote`); the assertion carries the exact `sub`.
pub fn encode_user(sub: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(sub.len());
    for &b in sub.as_bytes() {
        if b.is_ascii_alphanumeric() || b"._~@+-".contains(&b) {
            out.push(b as char);
        } else {
            out.extend(['%', HEX[usize::from(b >> 4)] as char, HEX[usize::from(b & 15)] as char]);
        }
    }
    out
}

/// What a response on which the edge sets a cookie carries, whatever the origin said: a
/// shared cache that stored it would hand this user's credential to everyone after them
/// (a rotation landing on a `public, max-age` asset). RFC 9111 §5.2.2.5 `no-store`,
/// §5.2.2.7 `private`.
pub const CREDENTIAL_CACHE_CONTROL: &str = "private, no-store";

/// Origin response headers that could let a cache store a response the edge sets a cookie
/// on; they are removed and [`CREDENTIAL_CACHE_CONTROL`] is set instead. Besides
/// `Cache-Control` and `Expires`, the targeted fields a CDN obeys before it (RFC 9213
/// `CDN-Cache-Control`, Cloudflare's own, and `Surrogate-Control`).
pub const CACHE_HEADERS: [&str; 5] =
    ["Cache-Control", "Expires", "CDN-Cache-Control", "Cloudflare-CDN-Cache-Control", "Surrogate-Control"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_header_is_safe_and_injective() {
        assert_eq!(encode_user("alice@example.com"), "alice@example.com");
        assert_eq!(encode_user("a.b_c~d+e-F9"), "a.b_c~d+e-F9");
        assert_eq!(encode_user("zoë\r\nX-Evil: 1"), "zo%C3%AB%0D%0AX-Evil%3A%201");
        assert_eq!(encode_user("100%"), "100%25");
        assert_ne!(encode_user("mallet"), encode_user("mallet "));
        assert_ne!(encode_user("a%20"), encode_user("a "));
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
