//! Reading the `Cookie` header for the edge's two cookies, and what of it the origin gets.
//!
//! **Reading is strict.** Pairs are separated by `;` and nothing else, and only ASCII
//! space and tab (WSP, RFC 5234) are trimmed around a name and a value, as RFC 6265bis's
//! name-value parsing does. A name is ours only if it is byte for byte
//! `__Host-es-access` or `__Host-es-refresh`. A parser that trims Unicode whitespace
//! (`str::trim`, which the `cookie` crate uses, or JavaScript's `String.trim`) reads
//! `\u{2000}__Host-es-refresh` as our refresh cookie, yet a browser stores that name as
//! an ordinary, unprefixed cookie that any sibling subdomain may set with `Domain=`:
//! session fixation, and a planted duplicate that logout cannot delete.
//!
//! The whole header is scanned, in one pass and without allocating, so unrelated
//! cookies never hide ours, however many there are (the platform's header limit is the
//! only bound). Two values for one of our names make that cookie ambiguous, and it is
//! treated as absent: a `__Host-` cookie cannot be set by a sibling (no `Domain`, `Path=/`
//! only), so a legitimate browser never sends two, and the edge does not guess.
//!
//! **Forwarding is conservative.** The origin receives the header minus every pair named
//! like an edge cookie, whether it follows `;` or `,` (a runtime joins several `Cookie`
//! lines with `", "`), with any non-printing bytes around the name ignored and ASCII
//! case folded; every other byte is unchanged. A credential after a `,` is never *read*,
//! though: a sibling could set one cookie whose value is `1,__Host-es-refresh=…` and toss
//! its own credential in that way.
//!
//! ```
//! use edge_session::session::{edge_cookies, strip_edge_cookies};
//! let header = "theme=dark; __Host-es-access=a1.x.y.z";
//! assert_eq!(edge_cookies(header).access, Some("a1.x.y.z"));
//! assert_eq!(edge_cookies("\u{2000}__Host-es-access=a1.x.y.z").access, None);
//! assert_eq!(strip_edge_cookies(header).as_deref(), Some("theme=dark"));
//! assert_eq!(strip_edge_cookies("a=1, __Host-es-refresh=r1.x").as_deref(), Some("a=1"));
//! ```

use std::borrow::Cow;

use super::credential::{ACCESS_COOKIE, REFRESH_COOKIE};

/// The raw values of the edge's two cookies in one request, each if it appears exactly
/// once under its exact name.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EdgeCookies<'a> {
    /// `__Host-es-access`, if it appeared exactly once.
    pub access: Option<&'a str>,
    /// `__Host-es-refresh`, if it appeared exactly once.
    pub refresh: Option<&'a str>,
    /// Some pair carried one of our exact names, even if its value is ambiguous or
    /// garbage: the browser holds an edge cookie. A cross-site form post, which withholds
    /// `SameSite=Lax` cookies, never does.
    pub presented: bool,
}

/// Finds the edge cookies in a `Cookie` header (see the module docs for the rules).
pub fn edge_cookies(header: &str) -> EdgeCookies<'_> {
    let mut access = Slot::Empty;
    let mut refresh = Slot::Empty;
    for pair in header.split(';') {
        // RFC 6265bis: a piece without `=` has an empty name; it is never ours.
        let Some((name, value)) = pair.split_once('=') else { continue };
        match trim_wsp(name) {
            ACCESS_COOKIE => access.fill(trim_wsp(value)),
            REFRESH_COOKIE => refresh.fill(trim_wsp(value)),
            _ => {}
        }
    }
    EdgeCookies {
        presented: !matches!((&access, &refresh), (Slot::Empty, Slot::Empty)),
        access: access.value(),
        refresh: refresh.value(),
    }
}

/// The `Cookie` header the origin should receive: the request's header without any pair
/// named like an edge cookie (the origin must never see, log or echo a credential), every
/// other byte as it came. Borrowed when nothing was removed; `None` when nothing is left.
pub fn strip_edge_cookies(header: &str) -> Option<Cow<'_, str>> {
    // Copied only from the first piece removed on: until then the output is a prefix of
    // the header. A kept piece brings the separator before it, unless it is the first kept.
    let mut stripped: Option<String> = None;
    let mut kept_any = false;
    for piece in pieces(header) {
        if piece.edge_like {
            stripped.get_or_insert_with(|| header[..piece.start].to_owned());
            continue;
        }
        if let Some(out) = &mut stripped {
            if kept_any {
                out.push_str(piece.separator);
            }
            out.push_str(piece.text);
        }
        kept_any = true;
    }
    match stripped {
        None => (!header.is_empty()).then_some(Cow::Borrowed(header)),
        Some(out) => (!trim_wsp(&out).is_empty()).then_some(Cow::Owned(out)),
    }
}

/// Trims ASCII space and horizontal tab, and nothing else.
fn trim_wsp(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// One piece of a `Cookie` header split for forwarding, on `;` and `,` alike.
struct Piece<'a> {
    /// Where the piece begins in the header, its separator included.
    start: usize,
    /// The `;` or `,` before this piece with the spaces and tabs after it; empty for the
    /// first piece.
    separator: &'a str,
    text: &'a str,
    /// Named like an edge cookie: removed before forwarding.
    edge_like: bool,
}

/// The header's pieces in order. Nested `split`s on single bytes (memchr-fast) rather
/// than one split on both: each raw piece is followed by exactly one separator byte.
fn pieces(header: &str) -> impl Iterator<Item = Piece<'_>> {
    header.split(';').flat_map(|part| part.split(',')).scan(0, move |next, raw| {
        let at = *next;
        *next += raw.len() + 1;
        let piece = if at == 0 {
            Piece { start: 0, separator: "", text: raw, edge_like: named_like_edge_cookie(raw) }
        } else {
            let text = raw.trim_start_matches([' ', '\t']);
            let separator = &header[at - 1..at + raw.len() - text.len()];
            Piece { start: at - 1, separator, text, edge_like: named_like_edge_cookie(text) }
        };
        Some(piece)
    })
}

/// Whether a forwarded piece's name, ignoring every non-printing or non-ASCII character
/// around it and ASCII case, is one of ours. Deliberately looser than reading: the origin
/// may trim or decode names in its own way, and what it cannot see it cannot leak.
fn named_like_edge_cookie(piece: &str) -> bool {
    let name = piece.split_once('=').map_or(piece, |(name, _)| name);
    let name = name.trim_matches(|c: char| !c.is_ascii_graphic());
    name.eq_ignore_ascii_case(ACCESS_COOKIE) || name.eq_ignore_ascii_case(REFRESH_COOKIE)
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

    fn found<'a>(access: Option<&'a str>, refresh: Option<&'a str>) -> EdgeCookies<'a> {
        EdgeCookies { access, refresh, presented: true }
    }

    #[test]
    fn finds_both_cookies_among_others() {
        let h = "a=1; __Host-es-refresh=r1.x; b=2; __Host-es-access=a1.y";
        assert_eq!(edge_cookies(h), found(Some("a1.y"), Some("r1.x")));
    }

    #[test]
    fn duplicates_are_ambiguous_and_ignored() {
        let h = "__Host-es-refresh=one; __Host-es-refresh=two; __Host-es-access=a";
        assert_eq!(edge_cookies(h), found(Some("a"), None));
    }

    #[test]
    fn lookalike_names_are_not_ours() {
        let h = "es-refresh=x; __host-es-refresh=y; __Host-es-refresh2=z; __Secure-es-access=w";
        assert_eq!(edge_cookies(h), EdgeCookies::default());
    }

    /// The session-fixation bug of lenient parsers: Unicode whitespace is part of a name.
    #[test]
    fn only_ascii_space_and_tab_are_trimmed() {
        for space in ["\u{2000}", "\u{a0}", "\u{3000}", "\u{feff}", "\u{b}", "\u{c}", "\r", "\n", "\u{85}"] {
            let planted = format!("{space}__Host-es-refresh=r1.evil");
            assert_eq!(edge_cookies(&planted), EdgeCookies::default(), "{space:?} before the name");
            let planted = format!("__Host-es-refresh{space}=r1.evil");
            assert_eq!(edge_cookies(&planted), EdgeCookies::default(), "{space:?} after the name");
        }
        assert_eq!(edge_cookies(" \t__Host-es-refresh \t= \tr1.x\t ").refresh, Some("r1.x"));
    }

    #[test]
    fn a_credential_after_a_comma_is_never_read() {
        assert_eq!(edge_cookies("x=1,__Host-es-refresh=r1.evil"), EdgeCookies::default());
        assert_eq!(edge_cookies("a=1, __Host-es-access=a1.x").access, None);
    }

    #[test]
    fn unrelated_cookies_never_hide_ours() {
        let many: Vec<String> = (0..150).map(|i| format!("_ga{i}=GA1.2.{}", "9".repeat(80))).collect();
        let h = format!("{}; __Host-es-access=a1.x", many.join("; "));
        assert!(h.len() > 8192);
        assert_eq!(edge_cookies(&h).access, Some("a1.x"));
    }

    #[test]
    fn presented_says_whether_any_edge_name_came() {
        assert!(!edge_cookies("theme=dark; \u{2000}__Host-es-access=x").presented);
        assert!(edge_cookies("__Host-es-refresh=garbage").presented);
        assert!(edge_cookies("__Host-es-access=1; __Host-es-access=2").presented);
    }

    #[test]
    fn stripping_removes_every_edge_like_pair_and_keeps_every_other_byte() {
        let cases = [
            ("__Host-es-access=a; keep=1; __Host-es-refresh=r; big=zz", Some("keep=1; big=zz")),
            ("a=1, __Host-es-refresh=r1.x", Some("a=1")),
            ("x=1,__Host-es-refresh=r1.x;y=2", Some("x=1;y=2")),
            ("flag; a=1; __Host-es-access=x", Some("flag; a=1")),
            ("  odd  ;; a = 1 ;__Host-es-access=x", Some("  odd  ;; a = 1 ")),
            ("\u{2000}__Host-es-refresh=planted; __HOST-ES-ACCESS=x; b=2", Some("b=2")),
            (
                "__Host-es-refresh\u{a0}=x; note=__Host-es-access; __Host-es-access2=y",
                Some("note=__Host-es-access; __Host-es-access2=y"),
            ),
            ("__Host-es-access=a", None),
            ("__Host-es-access=a; ", None),
            ("", None),
        ];
        for (header, expected) in cases {
            assert_eq!(strip_edge_cookies(header).as_deref(), expected, "{header:?}");
        }
    }

    #[test]
    fn stripping_borrows_when_nothing_is_ours() {
        let h = "prefs=a,b,c; theme=dark";
        assert!(matches!(strip_edge_cookies(h), Some(Cow::Borrowed(same)) if same == h));
    }
}
