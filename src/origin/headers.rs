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

use crate::crypto::{KeyRing, base64url};
use crate::dbsc::{CHALLENGE_HEADER, REGISTRATION_HEADER};
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

/// Whether a client's request header is passed on to the origin. Not: the identity
/// namespace (the edge writes it), `Cookie` (the edge passes on only the cookies that are
/// not its own), the loop marker (the edge writes it; [`LOOP_HEADER`]), and the hop-by-hop
/// fields (RFC 9110 §7.6.1) the runtime leaves in: `Expect` (forwarded, it has the origin
/// answer `100 Continue`, which the runtime's `fetch` cannot take: the request hangs and
/// the client gets a 500), and the `Proxy-*` fields meant for a proxy before the edge
/// (RFC 9110 §11.7), whose credentials are no business of the origin's.
pub fn forwarded_to_origin(name: &str) -> bool {
    const HOP_BY_HOP: [&str; 7] =
        ["Expect", "Proxy-Authorization", "Proxy-Connection", "Keep-Alive", "TE", "Connection", "Transfer-Encoding"];
    !is_identity_header(name)
        && !name.eq_ignore_ascii_case("cookie")
        && !name.eq_ignore_ascii_case(LOOP_HEADER)
        && !HOP_BY_HOP.iter().any(|hop| name.eq_ignore_ascii_case(hop))
}

/// Marks a request the edge forwarded to its own URL (no `ORIGIN_URL`, no `ORIGIN`
/// binding: a Workers route in front of the origin). On Cloudflare such a subrequest goes
/// to the origin behind the route; under local `wrangler dev` with no origin it comes back
/// to the worker and would recurse without end (seen: workerd at 1.5 GB in 40 s). Outside
/// the `X-Edge-*` namespace so that the origin-side rules do not apply to it.
pub const LOOP_HEADER: &str = "edge-session-hop";

/// The loop marker's value: a MAC of a fixed label under the session key, so that only
/// the edge can write it. A fixed value would let any client have its own request answered
/// 508 before it reaches the origin (a 5xx on demand, in the operator's error rates). The
/// label has no `=`, so it is no cookie's MAC input (`name=body`), and it begins unlike
/// a device challenge's.
pub fn loop_marker(keys: &KeyRing) -> String {
    base64url::encode(keys.signing().mac(&[LOOP_LABEL]))
}

/// Whether `value` is a loop marker this edge wrote, under any key of its ring (a key
/// rotated in between the two hops still counts).
pub fn is_loop_marker(value: &str, keys: &KeyRing) -> bool {
    let Some(tag) = base64url::decode(value) else { return false };
    keys.iter().any(|key| key.verify(&[LOOP_LABEL], &tag))
}

const LOOP_LABEL: &[u8] = b"edge-session loop marker, v1";

/// Whether a response header from the origin is one only the edge may send: the device
/// binding's (`Secure-Session-Registration`, `Secure-Session-Challenge`). The edge is
/// the DBSC server for its own cookies; an origin's registration would have the browser
/// bind them at an endpoint the edge does not answer, or rebind them to a key the edge
/// never saw.
pub fn edge_owned_response_header(name: &str) -> bool {
    [REGISTRATION_HEADER, CHALLENGE_HEADER].iter().any(|owned| name.eq_ignore_ascii_case(owned))
}

/// The response header the origin could delete the edge's cookies with, without a
/// directive.
pub const CLEAR_SITE_DATA: &str = "Clear-Site-Data";

/// An origin's `Clear-Site-Data` value without what would delete the edge's cookies:
/// `"cookies"` is dropped and `"*"` becomes the other types it stands for. Without a
/// verified logout on the same response, a browser obeying `"cookies"` would lose its
/// session while its family lives on unrevoked (the silent logout [`sets_edge_cookie`]
/// prevents). `None` when nothing is left. Types are matched ignoring ASCII case and
/// quotes, more leniently than browsers parse them, so that no spelling slips through.
pub fn clear_site_data_sparing_cookies(value: &str) -> Option<String> {
    const ALL_BUT_COOKIES: [&str; 6] = [
        "\"cache\"",
        "\"storage\"",
        "\"executionContexts\"",
        "\"clientHints\"",
        "\"prefetchCache\"",
        "\"prerenderCache\"",
    ];
    let mut kept: Vec<&str> = Vec::new();
    for item in value.split(',').map(str::trim).filter(|item| !item.is_empty()) {
        let kind = item.trim_matches(|c: char| c == '"' || c.is_ascii_whitespace());
        if kind == "*" {
            kept.extend(ALL_BUT_COOKIES);
        } else if !kind.eq_ignore_ascii_case("cookies") {
            kept.push(item);
        }
    }
    let mut unique: Vec<&str> = Vec::new();
    for item in kept {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    (!unique.is_empty()).then(|| unique.join(", "))
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
    fn what_a_client_sends_that_stops_at_the_edge() {
        for name in ["X-Edge-User", "x_edge_user", "Cookie", "cookie", "edge-session-hop", "EDGE-SESSION-HOP", "Expect"]
        {
            assert!(!forwarded_to_origin(name), "{name}");
        }
        for name in ["proxy-authorization", "Proxy-Connection", "keep-alive", "te", "connection", "transfer-encoding"] {
            assert!(!forwarded_to_origin(name), "{name}");
        }
        for name in ["Upgrade", "Authorization", "Content-Type", "Trailer", "Forwarded", "Expect-CT", "Proxy", "Tea"] {
            assert!(forwarded_to_origin(name), "{name}");
        }
    }

    #[test]
    fn only_the_edge_can_write_its_loop_marker() {
        let ring = KeyRing::parse("k1:0123456789abcdef0123456789abcdef").unwrap();
        let rotated =
            KeyRing::parse("k2:fedcba9876543210fedcba9876543210,k1:0123456789abcdef0123456789abcdef").unwrap();
        let other = KeyRing::parse("k1:another-secret-another-secret-xx").unwrap();
        let marker = loop_marker(&ring);
        assert!(is_loop_marker(&marker, &ring));
        assert!(is_loop_marker(&marker, &rotated), "a key rotated in between the hops");
        assert!(!is_loop_marker(&marker, &other));
        for forged in ["1", "", "true", &marker[1..], &format!("{marker}="), &marker.to_uppercase()] {
            assert!(!is_loop_marker(forged, &ring), "{forged}");
        }
    }

    #[test]
    fn the_origin_cannot_speak_for_the_device_binding() {
        assert!(edge_owned_response_header("Secure-Session-Registration"));
        assert!(edge_owned_response_header("secure-session-challenge"));
        assert!(!edge_owned_response_header("Secure-Session-Skipped"));
        assert!(!edge_owned_response_header("Set-Cookie"));
    }

    #[test]
    fn clear_site_data_keeps_everything_but_the_cookies() {
        let spared = |value| clear_site_data_sparing_cookies(value);
        assert_eq!(spared(r#""cache", "cookies", "storage""#).as_deref(), Some(r#""cache", "storage""#));
        assert_eq!(spared(r#""cookies""#), None);
        assert_eq!(spared(r#" "COOKIES" , cookies,"cookies ""#), None);
        assert_eq!(spared(""), None);
        assert_eq!(
            spared(r#""*""#).as_deref(),
            Some(r#""cache", "storage", "executionContexts", "clientHints", "prefetchCache", "prerenderCache""#)
        );
        assert_eq!(spared(r#""cache", "*""#).as_deref().map(|v| v.matches("cache\"").count()), Some(1));
        assert_eq!(spared(r#""executionContexts""#).as_deref(), Some(r#""executionContexts""#));
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
