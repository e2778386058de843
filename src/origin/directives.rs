//! What the edge does with the origin's directives (the tokens themselves are the origin
//! crate's [`Login`] and [`Logout`]): the [`DirectivePlan`] for a response, and whom a
//! logout may come from ([`logout_allowed`]).

use std::fmt;

use super::{Login, Logout, LogoutScope};
use crate::session::FamilyId;

/// What the edge does with the directives that answered one request, in this order:
/// `everywhere` revokes every family of the user; a logout deletes both cookies, but only
/// if the request presented one (a cross-site form post carries none of the
/// `SameSite=Lax` cookies, yet the browser would apply deletions in its response); the
/// family the request presented ends, whether a logout or a login replaces it (no session
/// fixation); a login creates a new family. A response may log one user out and another
/// in.
///
/// ```
/// use edge_session::origin::{DirectivePlan, Login};
/// use edge_session::session::FamilyId;
/// let old = FamilyId::from_bytes([1; 16]);
/// let login = Login { sub: "ada".into(), remember: false, ctx: None, amr: None, auth_time: None };
/// let plan = DirectivePlan::new(Some(login), None, Some(old), true).unwrap();
/// assert_eq!(plan.end_family, Some(old), "a login revokes the family it replaces");
/// assert!(!plan.clear_cookies, "only a logout deletes cookies");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectivePlan {
    /// `scope: "everywhere"`: revoke every family of this `sub` first.
    pub revoke_everywhere: Option<String>,
    /// Send deletions of both cookies.
    pub clear_cookies: bool,
    /// End this family: the one that identified the request.
    pub end_family: Option<FamilyId>,
    /// Create a family for this login, then set its cookies.
    pub login: Option<Login>,
}

impl DirectivePlan {
    /// The plan for a response's verified directives; `None` when it carried none.
    /// `current` is the family that identified the request, and only that: a cookie the
    /// edge refused (a stale refresh cookie under `ON_REUSE=reject`, a device-bound
    /// family's copied jar, an expired family) identifies no one, so it must not choose
    /// what a login or logout ends, or a thief holding it ends its owner's session.
    /// `presented_edge_cookie` is whether the request carried any edge cookie at all.
    pub fn new(
        login: Option<Login>,
        logout: Option<Logout>,
        current: Option<FamilyId>,
        presented_edge_cookie: bool,
    ) -> Option<DirectivePlan> {
        if login.is_none() && logout.is_none() {
            return None;
        }
        let revoke_everywhere =
            logout.as_ref().filter(|l| l.scope == LogoutScope::Everywhere).and_then(|l| l.sub.clone());
        Some(DirectivePlan {
            revoke_everywhere,
            clear_cookies: logout.is_some() && presented_edge_cookie,
            end_family: current,
            login,
        })
    }
}

/// Why a verified step-up directive changed nothing (logged as `directive_rejected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepUpRefused {
    /// A login or logout answered the same request: it ends the session a step-up would
    /// have moved, so it wins.
    Superseded,
    /// The request was anonymous: there is no session to step up (a login makes one).
    NoSession,
    /// The session is another user's: a step-up never changes who a session is.
    OtherUser,
}

impl fmt::Display for StepUpRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StepUpRefused::Superseded => "superseded: a login or logout answered the same request",
            StepUpRefused::NoSession => "no_session: the request was not identified",
            StepUpRefused::OtherUser => "other_user: the request's session is another user's",
        })
    }
}

/// The family a step-up for `sub` applies to: the one that identified the request
/// (`current`, with its user), if it is `sub`'s, and no login or logout answered too.
///
/// ```
/// use edge_session::origin::{StepUpRefused, step_up_target};
/// use edge_session::session::FamilyId;
/// let family = FamilyId::from_bytes([1; 16]);
/// assert_eq!(step_up_target("ada", Some((family, "ada")), false), Ok(family));
/// assert_eq!(step_up_target("ada", Some((family, "eve")), false), Err(StepUpRefused::OtherUser));
/// assert_eq!(step_up_target("ada", None, false), Err(StepUpRefused::NoSession));
/// assert_eq!(step_up_target("ada", Some((family, "ada")), true), Err(StepUpRefused::Superseded));
/// ```
pub fn step_up_target(
    sub: &str,
    current: Option<(FamilyId, &str)>,
    other_directive: bool,
) -> Result<FamilyId, StepUpRefused> {
    if other_directive {
        return Err(StepUpRefused::Superseded);
    }
    match current {
        None => Err(StepUpRefused::NoSession),
        Some((family, owner)) if owner == sub => Ok(family),
        Some(_) => Err(StepUpRefused::OtherUser),
    }
}

/// Where a request came from, as its browser says: its method, Fetch Metadata, `Origin`
/// and `Referer`, and the origin the request itself was sent to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestSite<'a> {
    /// The request's method.
    pub method: &'a str,
    /// `Sec-Fetch-Site`, if sent.
    pub sec_fetch_site: Option<&'a str>,
    /// `Sec-Fetch-Mode`, if sent (`navigate` for a page load).
    pub sec_fetch_mode: Option<&'a str>,
    /// `Sec-Fetch-Dest`, if sent (`document` for a top-level page).
    pub sec_fetch_dest: Option<&'a str>,
    /// `Sec-Fetch-User`, if sent (`?1` for a navigation the user started: a click).
    pub sec_fetch_user: Option<&'a str>,
    /// `Origin`, if sent.
    pub origin: Option<&'a str>,
    /// `Referer`, if sent: a GET navigation carries no `Origin`.
    pub referer: Option<&'a str>,
    /// The request URL's own origin, `scheme://host[:port]`.
    pub own_origin: &'a str,
}

impl RequestSite<'_> {
    /// A click on a link in a sibling's page: a user-started, top-level GET navigation
    /// from the same site, with no redirect through another site on the way (the browser
    /// would say `cross-site` then). Images, frames, prefetches, script and meta-refresh
    /// navigations fail this.
    fn is_sibling_link_click(&self) -> bool {
        let is = |value: Option<&str>, expected: &str| value.is_some_and(|v| v.eq_ignore_ascii_case(expected));
        matches!(self.method, "GET" | "HEAD")
            && is(self.sec_fetch_site, "same-site")
            && is(self.sec_fetch_mode, "navigate")
            && is(self.sec_fetch_dest, "document")
            && self.sec_fetch_user == Some("?1")
    }
}

/// A logout the edge will not apply: the request came from another site, or another
/// origin of this one (a sibling subdomain), that the operator did not list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossSiteLogout {
    /// `Sec-Fetch-Site` as sent (`same-site`, `cross-site`…), or `absent`.
    pub sec_fetch_site: String,
    /// `Origin` as sent, or `absent`.
    pub origin: String,
}

impl fmt::Display for CrossSiteLogout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cross_site: logout from Sec-Fetch-Site {}, Origin {}", self.sec_fetch_site, self.origin)
    }
}

/// Longest header value echoed into a log line.
const MAX_LOGGED_HEADER: usize = 128;

/// Whether a logout answering a request from `site` may end or clear anything.
///
/// `SameSite=Lax` keeps the cookies off cross-site subrequests and POSTs only: a form on a
/// sibling subdomain (`evil.example.com` is same-site with `app.example.com`) and a
/// cross-site top-level navigation both carry them, so the origin's logout page would end
/// the victim's session (logout CSRF). A logout therefore counts only from the app itself:
/// `Sec-Fetch-Site` `same-origin` or `none` (typed, bookmarked), or an `Origin` the
/// operator listed in `LOGOUT_ORIGINS` (a sign-out form on a sibling, or an identity
/// provider's POST). A sign-out *link* on a listed sibling is a GET navigation, which
/// carries no `Origin`: its `Referer`'s origin stands in, but only for a click the user
/// made, top-level, that crossed no other site on its way (an image, a frame, a
/// meta-refresh or a redirect through an attacker's page do not count). Without
/// `Sec-Fetch-Site` (a non-browser client, or a browser older than Fetch Metadata) the
/// request is allowed unless it carries an `Origin` that is neither its own nor listed
/// (OWASP's CSRF advice for such browsers). Logins are not checked here: identity
/// providers call back with cross-site navigations.
///
/// ```
/// use edge_session::origin::{RequestSite, logout_allowed};
/// let app = "https://app.example.com";
/// let form = |fetch, origin| RequestSite { method: "POST", sec_fetch_site: fetch, origin, own_origin: app, ..Default::default() };
/// assert!(logout_allowed(&form(Some("same-origin"), Some(app)), &[]).is_ok());
/// assert!(logout_allowed(&form(Some("same-site"), Some("https://evil.example.com")), &[]).is_err());
/// let listed = ["https://www.example.com".to_owned()];
/// assert!(logout_allowed(&form(Some("same-site"), Some("https://www.example.com")), &listed).is_ok());
/// ```
pub fn logout_allowed(site: &RequestSite<'_>, listed: &[String]) -> Result<(), CrossSiteLogout> {
    let is_listed = |origin: &str| listed.iter().any(|l| l.eq_ignore_ascii_case(origin));
    let allowed = match (site.origin, site.sec_fetch_site) {
        (Some(origin), _) if is_listed(origin) => true,
        (_, Some(fetch)) if fetch.eq_ignore_ascii_case("same-origin") || fetch.eq_ignore_ascii_case("none") => true,
        (None, Some(_)) => site.is_sibling_link_click() && site.referer.and_then(origin_of).is_some_and(is_listed),
        (Some(_), Some(_)) => false,
        (origin, None) => origin.is_none_or(|origin| origin.eq_ignore_ascii_case(site.own_origin)),
    };
    if allowed {
        return Ok(());
    }
    let shown = |value: Option<&str>| {
        value.map_or_else(
            || "absent".to_owned(),
            |v| v.chars().filter(|c| !c.is_control()).take(MAX_LOGGED_HEADER).collect(),
        )
    };
    Err(CrossSiteLogout { sec_fetch_site: shown(site.sec_fetch_site), origin: shown(site.origin.or(site.referer)) })
}

/// The origin (`scheme://host[:port]`) of an http(s) URL such as a `Referer`, as written
/// (no IDNA: the `url` crate's tables would add 90 KiB gzip to the worker's bundle).
///
/// ```
/// use edge_session::origin::origin_of;
/// assert_eq!(origin_of("https://www.example.com:8443/a?b#c"), Some("https://www.example.com:8443"));
/// assert_eq!(origin_of("javascript:alert(1)"), None);
/// ```
pub fn origin_of(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: FamilyId = FamilyId::from_bytes([1; 16]);

    fn logout(scope: LogoutScope) -> Logout {
        Logout { sub: Some("ada".into()), scope }
    }

    fn site<'a>(fetch: Option<&'a str>, origin: Option<&'a str>) -> RequestSite<'a> {
        RequestSite {
            method: "POST",
            sec_fetch_site: fetch,
            origin,
            own_origin: "https://app.example.com",
            ..Default::default()
        }
    }

    #[test]
    fn a_sign_out_link_on_a_listed_sibling_is_known_by_its_referer_when_clicked() {
        let listed = ["https://www.example.com".to_owned()];
        let click = RequestSite {
            method: "GET",
            sec_fetch_site: Some("same-site"),
            sec_fetch_mode: Some("navigate"),
            sec_fetch_dest: Some("document"),
            sec_fetch_user: Some("?1"),
            referer: Some("https://www.example.com/account"),
            own_origin: "https://app.example.com",
            ..Default::default()
        };
        assert_eq!(logout_allowed(&click, &listed), Ok(()));
        for referer in ["https://www.example.com", "https://WWW.example.com?x#y"] {
            assert_eq!(logout_allowed(&RequestSite { referer: Some(referer), ..click }, &listed), Ok(()), "{referer}");
        }
        let refused = [
            ("no Referer (withheld)", RequestSite { referer: None, ..click }),
            ("another page", RequestSite { referer: Some("https://www.example.com.evil.example/"), ..click }),
            (
                "a path naming it",
                RequestSite { referer: Some("https://evil.example.com/https://www.example.com"), ..click },
            ),
            ("not http", RequestSite { referer: Some("javascript:https://www.example.com"), ..click }),
            (
                "an image in a post",
                RequestSite {
                    sec_fetch_mode: Some("no-cors"),
                    sec_fetch_dest: Some("image"),
                    sec_fetch_user: None,
                    ..click
                },
            ),
            ("a frame", RequestSite { sec_fetch_dest: Some("iframe"), ..click }),
            ("a meta refresh", RequestSite { sec_fetch_user: None, ..click }),
            ("a redirect through another site", RequestSite { sec_fetch_site: Some("cross-site"), ..click }),
            ("a POST without Origin", RequestSite { method: "POST", ..click }),
            ("a foreign Origin beside it", RequestSite { origin: Some("https://evil.example.com"), ..click }),
            ("Origin null beside it", RequestSite { origin: Some("null"), ..click }),
        ];
        for (what, site) in refused {
            assert!(logout_allowed(&site, &listed).is_err(), "{what}");
        }
    }

    #[test]
    fn a_logout_counts_only_from_the_app_itself_or_a_listed_origin() {
        let listed = ["https://www.example.com".to_owned()];
        let allowed = [
            site(Some("same-origin"), Some("https://app.example.com")),
            site(Some("none"), None),
            site(Some("Same-Origin"), None),
            site(None, None),
            site(None, Some("https://app.example.com")),
            site(Some("same-site"), Some("https://www.example.com")),
            site(Some("cross-site"), Some("https://WWW.example.com")),
        ];
        for s in allowed {
            assert_eq!(logout_allowed(&s, &listed), Ok(()), "{s:?}");
        }
        let refused = [
            site(Some("same-site"), Some("https://evil.example.com")),
            site(Some("same-site"), None),
            site(Some("cross-site"), None),
            site(Some("cross-site"), Some("https://attacker.example")),
            site(Some("bogus"), None),
            site(None, Some("https://evil.example.com")),
            site(None, Some("null")),
            site(Some("same-site"), Some("https://www.example.com.evil.example")),
        ];
        for s in refused {
            assert!(logout_allowed(&s, &listed).is_err(), "{s:?}");
        }
    }

    #[test]
    fn a_refused_logout_says_why_without_echoing_control_bytes() {
        let long = format!("https://e\r\nvil.example{}", "x".repeat(500));
        let err = logout_allowed(&site(Some("same-site"), Some(&long)), &[]).unwrap_err();
        assert_eq!(err.sec_fetch_site, "same-site");
        assert!(err.origin.len() <= MAX_LOGGED_HEADER && !err.origin.contains('\r'), "{}", err.origin);
        assert!(err.to_string().starts_with("cross_site:"), "{err}");
    }

    #[test]
    fn no_directive_no_plan() {
        assert_eq!(DirectivePlan::new(None, None, Some(OLD), true), None);
    }

    #[test]
    fn a_logout_deletes_cookies_only_for_a_request_that_presented_one() {
        let with_cookie = DirectivePlan::new(None, Some(logout(LogoutScope::Session)), Some(OLD), true).unwrap();
        assert!(with_cookie.clear_cookies);
        assert_eq!(with_cookie.end_family, Some(OLD));
        let cross_site = DirectivePlan::new(None, Some(logout(LogoutScope::Session)), None, false).unwrap();
        assert!(!cross_site.clear_cookies, "logout CSRF: nothing presented, nothing deleted");
        assert_eq!(cross_site.revoke_everywhere, None);
    }

    #[test]
    fn everywhere_revokes_the_user_and_a_login_may_follow() {
        let login = Login { sub: "bob".into(), remember: true, ctx: None, amr: None, auth_time: None };
        let plan =
            DirectivePlan::new(Some(login.clone()), Some(logout(LogoutScope::Everywhere)), Some(OLD), true).unwrap();
        assert_eq!(
            plan,
            DirectivePlan {
                revoke_everywhere: Some("ada".into()),
                clear_cookies: true,
                end_family: Some(OLD),
                login: Some(login)
            }
        );
    }
}
