//! The device a request came from, as far as the edge can tell, and when two differ
//! enough to be worth an event.
//!
//! All of it is client-controlled or approximate: the `User-Agent` is whatever the client
//! sends, and country and network (ASN) come from the client's IP address through
//! Cloudflare's `cf` data. So a difference is a signal, never a verdict, and the rule
//! below is built to stay quiet where it cannot know: a field unknown on either side
//! never counts as a change.

use serde::{Deserialize, Serialize};

use crate::origin::Device;
use crate::users::clean_user_agent;

/// What the worker knows of a request's device: sent to the family's object with a
/// login or a refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    /// The `User-Agent`, without control characters, truncated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// `cf.country`, when it looks like a two-character code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// `cf.asn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// `cf.colo`, when it looks like a data center code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colo: Option<String>,
}

impl RequestContext {
    /// A context from what the request says, each field cleaned: the user agent and the
    /// codes end up in events and admin screens, so nothing unprintable or oversized is
    /// kept.
    pub fn new(
        user_agent: Option<&str>,
        country: Option<&str>,
        asn: Option<u32>,
        colo: Option<&str>,
    ) -> RequestContext {
        let code = |text: Option<&str>, len: std::ops::RangeInclusive<usize>| {
            text.filter(|t| len.contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric())).map(str::to_owned)
        };
        RequestContext {
            user_agent: user_agent.map(clean_user_agent).filter(|ua| !ua.is_empty()),
            country: code(country, 2..=2),
            asn,
            colo: code(colo, 3..=4),
        }
    }

    /// The device this context describes.
    pub fn device(&self, bound: bool) -> Device {
        let ua = self.user_agent.as_deref();
        Device {
            user_agent: self.user_agent.clone(),
            browser: ua.and_then(browser_of).map(str::to_owned),
            os: ua.and_then(os_of).map(str::to_owned),
            country: self.country.clone(),
            asn: self.asn,
            colo: self.colo.clone(),
            bound,
        }
    }
}

/// Whether `now` differs from `before` in country, network or browser family, counting
/// only fields known on both sides. The data center is not compared: one network is
/// served from several. Neither is the user agent's version: browsers update themselves.
pub fn context_changed(before: &Device, now: &Device) -> bool {
    fn differs<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
        matches!((a, b), (Some(a), Some(b)) if a != b)
    }
    differs(&before.country, &now.country) || differs(&before.asn, &now.asn) || differs(&before.browser, &now.browser)
}

/// The browser family a user agent names. Order matters: Edge, Opera and Samsung
/// Internet also say `Chrome/`, Chrome also says `Safari/`, and Chrome and Firefox on iOS
/// say `CriOS/` and `FxiOS/`. A user agent that names none is unknown (`None`), which
/// never counts as a change.
pub fn browser_of(ua: &str) -> Option<&'static str> {
    const FAMILIES: [(&[&str], &str); 8] = [
        (&["Edg/", "EdgA/", "EdgiOS/"], "Edge"),
        (&["OPR/", "Opera/"], "Opera"),
        (&["SamsungBrowser/"], "Samsung Internet"),
        (&["Firefox/", "FxiOS/"], "Firefox"),
        (&["CriOS/", "Chrome/", "Chromium/"], "Chrome"),
        (&["Version/"], "Safari"),
        (&["curl/"], "curl"),
        (&["python-requests/", "python-httpx/"], "Python"),
    ];
    FAMILIES.iter().find(|(marks, _)| marks.iter().any(|m| ua.contains(m))).map(|(_, name)| *name)
}

/// The operating system a user agent names. iOS before macOS (an iPad says "like Mac OS
/// X"), Android and ChromeOS before Linux.
pub fn os_of(ua: &str) -> Option<&'static str> {
    const SYSTEMS: [(&[&str], &str); 6] = [
        (&["iPhone", "iPad", "iPod"], "iOS"),
        (&["Android"], "Android"),
        (&["CrOS"], "ChromeOS"),
        (&["Windows"], "Windows"),
        (&["Macintosh", "Mac OS X"], "macOS"),
        (&["Linux"], "Linux"),
    ];
    SYSTEMS.iter().find(|(marks, _)| marks.iter().any(|m| ua.contains(m))).map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real user agents, as the browsers send them (2026).
    const CHROME_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";
    const EDGE_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0";
    const SAFARI_IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1";
    const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0";
    const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36";
    const CHROME_IOS: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/142.0.7444.46 Mobile/15E148 Safari/604.1";
    const SAFARI_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Safari/605.1.15";

    #[test]
    fn browsers_and_systems_are_told_apart() {
        let cases = [
            (CHROME_WIN, "Chrome", "Windows"),
            (EDGE_WIN, "Edge", "Windows"),
            (SAFARI_IPAD, "Safari", "iOS"),
            (FIREFOX_LINUX, "Firefox", "Linux"),
            (CHROME_ANDROID, "Chrome", "Android"),
            (CHROME_IOS, "Chrome", "iOS"),
            (SAFARI_MAC, "Safari", "macOS"),
        ];
        for (ua, browser, os) in cases {
            assert_eq!((browser_of(ua), os_of(ua)), (Some(browser), Some(os)), "{ua}");
        }
        assert_eq!((browser_of("curl/8.5.0"), os_of("curl/8.5.0")), (Some("curl"), None));
        assert_eq!(browser_of("something else"), None);
    }

    #[test]
    fn a_change_counts_only_where_both_sides_are_known() {
        let at = |ua: &str, country: Option<&str>, asn: Option<u32>| {
            RequestContext::new(Some(ua), country, asn, Some("ZRH")).device(false)
        };
        let home = at(CHROME_WIN, Some("CH"), Some(3303));
        assert!(!context_changed(&home, &at(CHROME_WIN, Some("CH"), Some(3303))));
        // A browser update, another data center: the same context.
        let updated = CHROME_WIN.replace("142.0.0.0", "143.0.0.0");
        assert!(!context_changed(
            &home,
            &RequestContext::new(Some(&updated), Some("CH"), Some(3303), Some("GVA")).device(false)
        ));
        assert!(context_changed(&home, &at(CHROME_WIN, Some("BR"), Some(3303))), "another country");
        assert!(context_changed(&home, &at(CHROME_WIN, Some("CH"), Some(6830))), "another network");
        assert!(context_changed(&home, &at(FIREFOX_LINUX, Some("CH"), Some(3303))), "another browser");
        assert!(!context_changed(&home, &at(CHROME_WIN, None, None)), "unknown is not a change");
        assert!(!context_changed(&home, &at("an unknown client", Some("CH"), Some(3303))));
    }

    #[test]
    fn what_ends_up_in_events_is_cleaned() {
        let long = "x".repeat(300) + "\r\nSet-Cookie: a=b";
        let context = RequestContext::new(Some(&long), Some("C\u{1}"), None, Some("ZRH\r\n"));
        assert_eq!(context.user_agent.as_deref().map(str::len), Some(crate::users::MAX_USER_AGENT_LEN));
        assert_eq!((context.country, context.colo), (None, None));
        assert_eq!(RequestContext::new(Some("\u{7}"), None, None, None).user_agent, None);
    }
}
