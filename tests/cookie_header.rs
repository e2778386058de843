//! The `Cookie` header reader and the forwarding filter, against hostile bytes.
//!
//! The oracle is [`reference_reading`], written from RFC 6265bis's words over raw bytes
//! and sharing no code with `edge_session::cookies`: the header is cut at every `;`
//! byte; a piece without `=` has an empty name; otherwise the name is the bytes before
//! the first `=` and the value the bytes after it; only the bytes 0x20 (SP) and 0x09
//! (HTAB) are removed around each. A cookie is ours when exactly one piece has its exact
//! name. A lenient `trim()` anywhere in this file would make it blind to the fixation bug
//! it exists to catch (`\u{2000}__Host-es-refresh`), so none is used.
//!
//! `FUZZ_SCALE=N` multiplies every case count (`npm run fuzz`).

use std::borrow::Cow;

use proptest::collection::vec;
use proptest::prelude::*;

use edge_session::session::{ACCESS_COOKIE, REFRESH_COOKIE};
use edge_session::session::{EdgeCookies, edge_cookies, set_cookie, strip_edge_cookies};

fn cases(n: u32) -> ProptestConfig {
    let scale: u32 = std::env::var("FUZZ_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    ProptestConfig { cases: n.saturating_mul(scale.max(1)), ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------------------
// The reference reading

/// Every `(name, value)` of a `Cookie` header, from its bytes (see the file docs).
fn reference_pairs(header: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut pairs = Vec::new();
    let mut start = 0;
    for end in 0..=header.len() {
        if end == header.len() || header[end] == b';' {
            let piece = &header[start..end];
            let (name, value) = match piece.iter().position(|&b| b == b'=') {
                Some(eq) => (&piece[..eq], &piece[eq + 1..]),
                None => (&piece[..0], piece),
            };
            pairs.push((strip_sp_htab(name), strip_sp_htab(value)));
            start = end + 1;
        }
    }
    pairs
}

fn strip_sp_htab(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// The value of `name` if exactly one pair has that exact name.
fn reference_reading<'a>(header: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut found = reference_pairs(header).into_iter().filter(|(n, _)| *n == name.as_bytes());
    match (found.next(), found.next()) {
        (Some((_, value)), None) => Some(value),
        _ => None,
    }
}

fn assert_reads_like_the_reference(header: &str) -> Result<(), TestCaseError> {
    let found = edge_cookies(header);
    let bytes = header.as_bytes();
    prop_assert_eq!(found.access.map(str::as_bytes), reference_reading(bytes, ACCESS_COOKIE), "access in {:?}", header);
    prop_assert_eq!(
        found.refresh.map(str::as_bytes),
        reference_reading(bytes, REFRESH_COOKIE),
        "refresh in {:?}",
        header
    );
    let presented =
        reference_pairs(bytes).iter().any(|(n, _)| *n == ACCESS_COOKIE.as_bytes() || *n == REFRESH_COOKIE.as_bytes());
    prop_assert_eq!(found.presented, presented, "presented in {:?}", header);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Random headers

/// Characters a browser, a proxy or an attacker may put around or inside a name: Unicode
/// whitespace that lenient trimmers remove (and bytes 0x80–0xFF as a runtime that reads
/// headers as Latin-1 hands them over), controls, and the separators themselves.
const TRICKY: &[&str] = &[
    "\u{2000}",
    "\u{a0}",
    "\u{3000}",
    "\u{feff}",
    "\u{85}",
    "\u{200b}",
    "\u{b}",
    "\u{c}",
    "\r",
    "\n",
    "\u{e2}\u{80}\u{80}",
    " ",
    "\t",
    "  ",
    "=",
    ",",
    "\"",
];

fn name() -> impl Strategy<Value = String> {
    let base = prop::sample::select(vec![
        ACCESS_COOKIE,
        REFRESH_COOKIE,
        "__host-es-access",
        "__HOST-ES-REFRESH",
        "__Host-es-access2",
        "es-refresh",
        "theme",
        "_ga",
        "",
    ]);
    let affix = prop_oneof![6 => Just(String::new()), 1 => prop::sample::select(TRICKY).prop_map(String::from)];
    (affix.clone(), base, affix).prop_map(|(before, base, after)| format!("{before}{base}{after}"))
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[A-Za-z0-9._~-]{0,24}",
        1 => "[A-Za-z0-9=, \t\"]{0,24}",
        1 => (prop::sample::select(TRICKY), "[a-z0-9.]{0,8}").prop_map(|(t, v)| format!("{t}{v}")),
        1 => Just(format!("1,{REFRESH_COOKIE}=r1.tossed")),
        1 => (0..3000usize).prop_map(|n| "v".repeat(n)),
    ]
}

/// A piece: `name=value`, a bare word, or nothing.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        10 => (name(), value()).prop_map(|(n, v)| format!("{n}={v}")),
        1 => name(),
        1 => Just(String::new()),
    ]
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["; ", ";", " ; ", ";\t", ", ", ","][..])
}

/// A structured header: up to 200 pieces (analytics-heavy pages send 150 cookies).
fn header() -> impl Strategy<Value = String> {
    let count = prop_oneof![4 => 0..8usize, 1 => 0..200usize];
    count.prop_flat_map(|n| vec((separator(), piece()), n)).prop_map(|pieces| {
        let mut header = String::new();
        for (i, (sep, piece)) in pieces.iter().enumerate() {
            if i > 0 {
                header.push_str(sep);
            }
            header.push_str(piece);
        }
        header
    })
}

/// Arbitrary bytes, as a Rust string (lossy) and as a Latin-1 reading of the same bytes,
/// which is what a JavaScript runtime's `Headers` hands over for bytes above 0x7F.
fn arbitrary_bytes() -> impl Strategy<Value = String> {
    vec(any::<u8>(), 0..400).prop_flat_map(|bytes| {
        let lossy = String::from_utf8_lossy(&bytes).into_owned();
        let latin1: String = bytes.iter().map(|&b| b as char).collect();
        prop_oneof![Just(lossy), Just(latin1)]
    })
}

// ---------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(cases(1500))]

    /// The differential test: on random headers, the edge reads exactly what the
    /// reference reading of the RFC reads.
    #[test]
    fn reading_matches_the_reference_on_random_headers(header in header()) {
        assert_reads_like_the_reference(&header)?;
    }

    #[test]
    fn reading_matches_the_reference_on_arbitrary_bytes(header in arbitrary_bytes()) {
        assert_reads_like_the_reference(&header)?;
    }

    /// Whatever the framing, nothing named like an edge cookie (any case, any invisible
    /// or non-ASCII character around it, after `;` or `,`) is forwarded; and what is
    /// forwarded reads as no edge cookie at all.
    #[test]
    fn stripping_never_forwards_an_edge_like_name(header in prop_oneof![header(), arbitrary_bytes()]) {
        if let Some(out) = strip_edge_cookies(&header) {
            for piece in out.split([';', ',']) {
                prop_assert!(!named_like_ours(piece), "{:?} forwarded in {:?}", piece, out);
            }
            prop_assert_eq!(edge_cookies(&out), EdgeCookies::default(), "{:?}", out);
        }
    }

    /// Every other byte reaches the origin unchanged: the output is the input with whole
    /// pieces (each with one separator) cut out, and the input itself when nothing is ours.
    #[test]
    fn stripping_only_cuts_whole_edge_pieces(header in header()) {
        let out = strip_edge_cookies(&header);
        let pieces: Vec<&str> = header.split([';', ',']).collect();
        if !pieces.iter().any(|p| named_like_ours(p)) {
            prop_assert_eq!(out.as_deref(), (!header.is_empty()).then_some(header.as_str()));
            prop_assert!(!matches!(out, Some(Cow::Owned(_))), "copied although nothing was cut");
        } else {
            let out = out.map(Cow::into_owned).unwrap_or_default();
            // The kept pieces appear in order, each intact.
            let mut rest = out.as_str();
            for kept in pieces.iter().filter(|p| !named_like_ours(p)) {
                let kept = kept.trim_start_matches([' ', '\t']);
                let at = rest.find(kept);
                prop_assert!(at.is_some(), "{:?} lost from {:?} → {:?}", kept, header, out);
                rest = &rest[at.unwrap() + kept.len()..];
            }
            prop_assert!(out.len() < header.len());
        }
    }

    #[test]
    fn set_cookie_comes_back_through_the_reader(
        refresh in any::<bool>(),
        value in "[A-Za-z0-9_.-]{0,300}",
        max_age in prop::option::of(0u64..400 * 86_400),
    ) {
        let name = if refresh { REFRESH_COOKIE } else { ACCESS_COOKIE };
        let line = set_cookie(name, &value, max_age.map(std::time::Duration::from_secs));
        // An independent parser of Set-Cookie (cookie-rs) reads what the edge wrote.
        let parsed = cookie::Cookie::parse(line.as_str()).expect("Set-Cookie parses");
        prop_assert_eq!(parsed.name(), name);
        prop_assert_eq!(parsed.value(), value.as_str());
        prop_assert_eq!((parsed.http_only(), parsed.secure(), parsed.path()), (Some(true), Some(true), Some("/")));
        prop_assert_eq!(parsed.same_site(), Some(cookie::SameSite::Lax));
        prop_assert!(parsed.domain().is_none());
        prop_assert_eq!(parsed.max_age().map(|d| d.whole_seconds() as u64), max_age);
        // What the browser sends back: the pair before the first `;`, among other cookies.
        let sent = line.split(';').next().unwrap();
        let header = format!("theme=dark; {sent}; _ga=GA1.2.3");
        let found = edge_cookies(&header);
        prop_assert_eq!(if refresh { found.refresh } else { found.access }, Some(value.as_str()));
    }
}

/// The forwarding rule, stated on characters: the name (before the first `=`) from its
/// first to its last visible ASCII character, compared without ASCII case.
fn named_like_ours(piece: &str) -> bool {
    let name: Vec<char> = piece.split('=').next().unwrap_or_default().chars().collect();
    let (Some(first), Some(last)) =
        (name.iter().position(char::is_ascii_graphic), name.iter().rposition(char::is_ascii_graphic))
    else {
        return false;
    };
    let core: String = name[first..=last].iter().collect::<String>().to_ascii_lowercase();
    core == ACCESS_COOKIE.to_ascii_lowercase() || core == REFRESH_COOKIE.to_ascii_lowercase()
}

// ---------------------------------------------------------------------------------------
// Named cases

/// The attack of the hardening review, byte for byte as a runtime reading headers as
/// Latin-1 or as UTF-8 would hand it over.
#[test]
fn a_planted_lookalike_is_never_ours_in_either_decoding() {
    for prefix in [&[0xe2, 0x80, 0x80][..], &[0xc2, 0xa0], &[0xe3, 0x80, 0x80], &[0xa0]] {
        let mut raw = prefix.to_vec();
        raw.extend_from_slice(b"__Host-es-refresh=r1.k1.planted");
        let latin1: String = raw.iter().map(|&b| b as char).collect();
        let utf8 = String::from_utf8_lossy(&raw).into_owned();
        for header in [latin1, utf8] {
            assert_eq!(edge_cookies(&header), EdgeCookies::default(), "{header:?}");
            assert_eq!(strip_edge_cookies(&header), None, "{header:?} must not reach the origin");
        }
    }
}

#[test]
fn one_hundred_fifty_analytics_cookies_beside_the_access_cookie() {
    let mut pairs: Vec<String> = (0..150).map(|i| format!("_ga_{i}=GA1.2.{i}.{}", "7".repeat(60))).collect();
    pairs.insert(75, format!("{ACCESS_COOKIE}=a1.k1.payload.mac"));
    let header = pairs.join("; ");
    assert!(header.len() > 8 * 1024);
    assert_eq!(edge_cookies(&header).access, Some("a1.k1.payload.mac"));
    let forwarded = strip_edge_cookies(&header).unwrap();
    assert_eq!(forwarded.matches("_ga_").count(), 150);
    assert!(!forwarded.contains(ACCESS_COOKIE));
}

#[test]
fn joined_cookie_lines_are_stripped_but_not_read() {
    let header = format!("a=1, {REFRESH_COOKIE}=r1.second-line; b=2");
    assert_eq!(edge_cookies(&header).refresh, None);
    assert_eq!(strip_edge_cookies(&header).as_deref(), Some("a=1; b=2"));
}

#[test]
fn pairs_without_equals_and_odd_spacing_are_forwarded_as_they_came() {
    let header = format!("flag;  spaced = x ;{ACCESS_COOKIE}=a1.x; q=\"quoted\"");
    assert_eq!(strip_edge_cookies(&header).as_deref(), Some("flag;  spaced = x ; q=\"quoted\""));
}

/// Other cookies may mention our names in their values; they are not ours to remove.
#[test]
fn stripping_keeps_other_cookies_that_merely_mention_the_name() {
    let out = strip_edge_cookies("note=__Host-es-access; __Host-es-access=a1.x; __Host-es-access2=y");
    assert_eq!(out.as_deref(), Some("note=__Host-es-access; __Host-es-access2=y"));
}
