//! Reading the `Cookie` header and writing `Set-Cookie`, bounded and strict.
//!
//! Both edge cookies are `__Host-` prefixed, `HttpOnly; Secure; SameSite=Lax; Path=/`
//! (DESIGN §2): `__Host-` makes the browser refuse any `Domain` attribute or non-`/`
//! path, so a sibling subdomain cannot plant (toss) one of our cookies. A legitimate
//! browser therefore never sends two values for one of our names; a header that does
//! is ambiguous and the edge treats that cookie as absent rather than guess. Parsing
//! and stripping use one parser, so what the edge reads and what it hides from the
//! origin cannot disagree.
//!
//! ```
//! use edge_session::cookies::{edge_cookies, strip_edge_cookies};
//! let header = "theme=dark; __Host-es-access=a1.x.y.z";
//! assert_eq!(edge_cookies(header).access, Some("a1.x.y.z"));
//! assert_eq!(strip_edge_cookies(header).as_deref(), Some("theme=dark"));
//! ```

use std::time::Duration;

use cookie::{Cookie, SameSite};

use crate::credential::{ACCESS_COOKIE, REFRESH_COOKIE};

/// Longest `Cookie` header the edge looks into for its credentials.
pub const MAX_COOKIE_HEADER_LEN: usize = 8192;
/// Most cookie pairs examined for credentials in one header.
pub const MAX_COOKIES: usize = 64;

/// The raw values of the edge's two cookies in one request, if each appears exactly once.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EdgeCookies<'a> {
    pub access: Option<&'a str>,
    pub refresh: Option<&'a str>,
}

/// Finds the edge cookies. Oversized headers, headers with too many pairs and
/// duplicated edge cookies yield `None` for what cannot be read unambiguously.
pub fn edge_cookies(header: &str) -> EdgeCookies<'_> {
    if header.len() > MAX_COOKIE_HEADER_LEN {
        return EdgeCookies::default();
    }
    let mut access = Slot::Empty;
    let mut refresh = Slot::Empty;
    for (i, cookie) in pairs(header).enumerate() {
        if i == MAX_COOKIES {
            return EdgeCookies::default();
        }
        match cookie.name_raw() {
            Some(ACCESS_COOKIE) => access.fill(cookie.value_raw().unwrap_or_default()),
            Some(REFRESH_COOKIE) => refresh.fill(cookie.value_raw().unwrap_or_default()),
            _ => {}
        }
    }
    EdgeCookies { access: access.value(), refresh: refresh.value() }
}

/// The header the origin should receive: every pair except the edge's own cookies
/// (the origin must never see, log or echo session credentials). `None` when nothing
/// is left. Pairs that do not parse as `name=value` are dropped.
pub fn strip_edge_cookies(header: &str) -> Option<String> {
    let kept: Vec<String> = pairs(header)
        .filter(|c| c.name() != ACCESS_COOKIE && c.name() != REFRESH_COOKIE)
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// `Set-Cookie` for an edge cookie. `max_age: None` makes a session cookie (gone when
/// the browser closes), as DESIGN §2 wants for a refresh cookie without "remember me".
pub fn set_cookie(name: &str, value: &str, max_age: Option<Duration>) -> String {
    let mut cookie = base(name, value);
    if let Some(age) = max_age {
        let secs = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
        cookie.set_max_age(cookie::time::Duration::seconds(secs));
    }
    cookie.to_string()
}

/// `Set-Cookie` that deletes an edge cookie. Only an explicit logout may send this:
/// an anonymous answer that deletes could clobber a newer login's cookie (Pow #390).
pub fn clear_cookie(name: &str) -> String {
    let mut cookie = base(name, "");
    cookie.set_max_age(cookie::time::Duration::ZERO);
    cookie.to_string()
}

fn base<'a>(name: &'a str, value: &'a str) -> Cookie<'a> {
    Cookie::build((name, value))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .build()
}

fn pairs(header: &str) -> impl Iterator<Item = Cookie<'_>> {
    Cookie::split_parse(header).filter_map(Result::ok)
}

/// Seen-once tracking: a second sighting makes the cookie ambiguous for good.
enum Slot<'a> {
    Empty,
    Once(&'a str),
    Ambiguous,
}

impl<'a> Slot<'a> {
    fn fill(&mut self, value: &'a str) {
        *self = match self {
            Slot::Empty => Slot::Once(value),
            _ => Slot::Ambiguous,
        };
    }

    fn value(&self) -> Option<&'a str> {
        match self {
            Slot::Once(v) => Some(v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_both_cookies_among_others() {
        let h = "a=1; __Host-es-refresh=r1.x; b=2; __Host-es-access=a1.y";
        assert_eq!(
            edge_cookies(h),
            EdgeCookies { access: Some("a1.y"), refresh: Some("r1.x") }
        );
    }

    #[test]
    fn duplicates_are_ambiguous_and_ignored() {
        let h = "__Host-es-refresh=one; __Host-es-refresh=two; __Host-es-access=a";
        assert_eq!(edge_cookies(h), EdgeCookies { access: Some("a"), refresh: None });
    }

    #[test]
    fn lookalike_names_are_not_ours() {
        let h = "es-refresh=x; __host-es-refresh=y; __Host-es-refresh2=z; __Secure-es-access=w";
        assert_eq!(edge_cookies(h), EdgeCookies::default());
    }

    #[test]
    fn oversized_or_crowded_headers_are_not_read() {
        let big = format!("__Host-es-access=a; x={}", "y".repeat(MAX_COOKIE_HEADER_LEN));
        assert_eq!(edge_cookies(&big), EdgeCookies::default());
        let crowded: Vec<String> = (0..MAX_COOKIES).map(|i| format!("c{i}=v")).collect();
        let crowded = format!("{}; __Host-es-access=a", crowded.join("; "));
        assert_eq!(edge_cookies(&crowded), EdgeCookies::default());
    }

    #[test]
    fn stripping_removes_only_edge_cookies_even_from_huge_headers() {
        let h = format!("__Host-es-access=a; keep=1; __Host-es-refresh=r; big={}", "z".repeat(9000));
        let out = strip_edge_cookies(&h).unwrap();
        assert!(out.starts_with("keep=1; big=zzz"));
        assert!(!out.contains("__Host-es"));
        assert_eq!(strip_edge_cookies("__Host-es-access=a"), None);
    }

    #[test]
    fn set_cookie_has_the_design_attributes() {
        let c = set_cookie(ACCESS_COOKIE, "v", Some(Duration::from_secs(60)));
        for attr in ["__Host-es-access=v", "HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=60"] {
            assert!(c.contains(attr), "{c} lacks {attr}");
        }
        assert!(!c.contains("Domain"));
        let session = set_cookie(REFRESH_COOKIE, "v", None);
        assert!(!session.contains("Max-Age") && !session.contains("Expires"), "{session}");
    }

    #[test]
    fn clearing_sets_max_age_zero() {
        let c = clear_cookie(REFRESH_COOKIE);
        assert!(c.starts_with("__Host-es-refresh=;") && c.contains("Max-Age=0"), "{c}");
    }
}
