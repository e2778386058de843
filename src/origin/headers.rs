//! The edge's own header rules (the names and the `X-Edge-User` encoding are the origin
//! crate's): the identity namespace that no client may send, and what a response
//! carrying a credential must say to caches. Keeping these here means the shell never
//! decides a protocol rule itself.
//!
//! ```
//! use edge_session::origin::is_identity_header;
//! assert!(is_identity_header("X-EDGE-USER"));
//! assert!(is_identity_header("x_edge_assertion"));
//! assert!(!is_identity_header("x-forwarded-for"));
//! ```

use crate::session::{ACCESS_COOKIE, REFRESH_COOKIE};

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

/// Whether a response header from the origin sets (or deletes) one of the edge's own
/// cookies. It is dropped: only the edge writes them. The origin cannot forge one without
/// `SESSION_KEYS`, but it could overwrite or delete the user's (a silent logout, a
/// compromised dependency's denial of service). Names compared ignoring ASCII case and
/// surrounding space, as browsers compare the `__Host-` prefix.
pub fn sets_edge_cookie(name: &str, value: &str) -> bool {
    if !name.eq_ignore_ascii_case("set-cookie") {
        return false;
    }
    // A nameless cookie (`=__Host-es-refresh=x`) is stored by some browsers as a cookie
    // whose name is the value's text before its own `=`: the same name, planted.
    let line = value.trim_start_matches(|c: char| c == '=' || c.is_ascii_whitespace());
    let cookie = line.split(['=', ';']).next().unwrap_or("").trim();
    [ACCESS_COOKIE, REFRESH_COOKIE].iter().any(|edge| cookie.eq_ignore_ascii_case(edge))
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
    fn the_origin_cannot_set_or_delete_the_edge_cookies() {
        assert!(sets_edge_cookie("Set-Cookie", "__Host-es-refresh=evil; Path=/; Secure"));
        assert!(sets_edge_cookie("set-cookie", " __host-ES-access =; Max-Age=0"));
        assert!(sets_edge_cookie("SET-COOKIE", "__Host-es-access"));
        assert!(sets_edge_cookie("Set-Cookie", "=__Host-es-refresh=evil; Path=/"));
        assert!(sets_edge_cookie("Set-Cookie", " = __Host-es-access=x"));
        assert!(!sets_edge_cookie("Set-Cookie", "theme=dark; __Host-es-refresh=x"));
        assert!(!sets_edge_cookie("Set-Cookie", "__Host-es-refreshed=1"));
        assert!(!sets_edge_cookie("X-Set-Cookie", "__Host-es-refresh=evil"));
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
