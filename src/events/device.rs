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
use crate::users::{browser_of, clean_user_agent, os_of};

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

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";
    const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0";

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
