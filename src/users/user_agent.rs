//! What a `User-Agent` says: the browser family and the operating system, for "your
//! devices" ("Chrome on Windows") and for the context rule of security events. Client
//! supplied, so display only, and never a verdict by itself.

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
}
