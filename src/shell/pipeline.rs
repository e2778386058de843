//! The request pipeline: identify, forward, apply directives, set cookies.
//!
//! Every protocol rule is a core call; this file only moves data between the runtime
//! and the core. Errors it cannot answer itself become an [`EdgeError`], which
//! `mod.rs` maps to HTTP in one place.

use std::cell::RefCell;

use crate::config::Config;
use crate::dbsc::{self, challenge, challenge::Purpose};
use crate::events::RequestContext;
use crate::messages::{FamilyCommand, UserCommand, Verdict};
use crate::metrics::RequestOutcome;
use crate::origin::{
    self, Assertion, DirectivePlan, Login, Logout, RequestNonce, RequestSite, StepUp, logout_allowed, step_up_target,
};
use crate::session::{
    ACCESS_COOKIE, AnonymousState, Claim, EndedFamilies, FamilyId, GrantCookies, Identity, REFRESH_COOKIE, RevokedBy,
    SessionState, clear_cookie, may_set_refresh, presented, strip_edge_cookies,
};
use crate::time::Timestamp;
use crate::users::FamilyEntry;
use worker::{Cf, Context, Env, Headers, Request, Response, web_sys};

use super::EdgeError;
use super::context::request_context;
use super::debug::DebugAsk;
use super::forward;
use super::objects::call::{ask_family, ask_user, touch_index};
use super::runtime::{self, log_event};
use super::telemetry;
use super::webcrypto;

thread_local! {
    /// Families this isolate has heard are over: their cookies wake no object again.
    static ENDED: RefCell<EndedFamilies> = RefCell::new(EndedFamilies::default());
}

/// Who the request is, as far as the edge could tell.
struct Identified {
    identity: Identity,
    family: FamilyId,
    state: SessionState,
    /// When the family refreshed from another context (`ON_CONTEXT_CHANGE=flag`), Unix s.
    context_changed: Option<u64>,
    /// Cookies the family's object handed out, and when it decided.
    grant: Option<(GrantCookies, Timestamp)>,
}

/// What the edge cookies earned: an identity, or why the origin sees none.
struct Decided {
    identified: Option<Identified>,
    outcome: RequestOutcome,
    /// With no identity: why an edge cookie that came was refused (`X-Edge-Session-State`).
    refused: Option<AnonymousState>,
    /// The family was offered device binding and came back unbound (counted once).
    not_registered: bool,
}

/// What decided the identity, for `X-Edge-Debug`.
struct Trace {
    path: &'static str,
    writes: u32,
    /// Whether the user's index was told `last_seen` (one write there).
    touched: bool,
    /// The object's verdict, e.g. `Refused(Expired)`, when it was asked.
    verdict: Option<String>,
    /// The request's outcome label (`crate::metrics`).
    outcome: &'static str,
    /// Whether it carried a forged edge cookie (counted toward `bad_cookie_rate`).
    forged: bool,
    /// Whether a data point went to Analytics Engine.
    analytics: bool,
}

impl Trace {
    /// `path=object; writes=1; verdict=Granted(rotated); outcome=rotated; forged=0; analytics=0`.
    fn header(&self) -> String {
        let mut text = format!("path={}; writes={}; touched={}", self.path, self.writes, u8::from(self.touched));
        if let Some(verdict) = &self.verdict {
            text.push_str(&format!("; verdict={verdict}"));
        }
        text.push_str(&format!("; outcome={}; forged={}", self.outcome, u8::from(self.forged)));
        text.push_str(&format!("; analytics={}", u8::from(self.analytics)));
        text
    }
}

pub(crate) async fn handle(req: Request, env: &Env, ctx: &Context, config: &Config) -> Result<Response, EdgeError> {
    let debug = DebugAsk::of(req.headers(), config);
    let now = debug.now();
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let cookie_header = header("Cookie").unwrap_or_default();
    let presented = presented(&cookie_header, &config.session_keys, now, config.policy.not_before);
    let forged = presented.forged;

    let mut trace =
        Trace { path: "none", writes: 0, touched: false, verdict: None, outcome: "", forged, analytics: false };
    let decided = match presented.claim {
        Claim::Access(access) => {
            trace.path = "access";
            let identified = access.family().map(|family| Identified {
                identity: access.identity(),
                family,
                state: SessionState::Fresh,
                context_changed: access.context_changed,
                grant: None,
            });
            Decided { identified, outcome: RequestOutcome::Access, refused: None, not_registered: false }
        }
        Claim::Refresh { cookie, family } => {
            let skipped = header(dbsc::SKIPPED_HEADER).and_then(|h| dbsc::skipped(&h, family));
            let context = request_context(req.headers(), req.cf(), config);
            match ask_the_family(env, ctx, (cookie, family, context), skipped, &debug, &mut trace).await {
                Ok(decided) => decided,
                Err(e) => {
                    telemetry::observe(env, config, RequestOutcome::Unavailable, forged, false, now);
                    return Err(e);
                }
            }
        }
        Claim::Nothing => Decided {
            identified: None,
            outcome: RequestOutcome::unidentified(presented.unverifiable),
            refused: presented.refused,
            not_registered: false,
        },
    };
    let Decided { identified, outcome, refused, not_registered } = decided;
    trace.outcome = outcome.as_str();
    trace.analytics = telemetry::observe(env, config, outcome, forged, not_registered, now);

    // Every forwarded request, identified or not, gets its own nonce: a directive counts
    // only if it echoes it, so a cached or captured one logs nobody else in.
    let nonce = RequestNonce::from_bytes(runtime::random());
    let assertion = match &identified {
        Some(s) => Some(sign_assertion(s, config, now).await),
        None => None,
    };
    let forwarded_headers =
        origin_headers(&req, &cookie_header, identified.as_ref().zip(assertion.as_deref()), refused, &nonce)?;
    let sent = Sent::of(&req);
    let response = forward::forward(env, config, req, forwarded_headers, identified.is_some()).await?;
    let after = debug.now();

    let headers = Headers::new();
    for (name, value) in response.headers().entries() {
        let edge_owned = origin::is_identity_header(&name)
            || origin::sets_edge_cookie(&name, &value)
            || origin::edge_owned_response_header(&name)
            // Passed on below, once it is known whether a logout answers this request.
            || name.eq_ignore_ascii_case(origin::CLEAR_SITE_DATA);
        if !edge_owned {
            headers.append(&name, &value)?;
        }
    }
    let secret = config.directive_secret();
    let login = directive(&response, origin::LOGIN_HEADER, |t| Login::verify(t, secret, after, &nonce));
    let logout = directive(&response, origin::LOGOUT_HEADER, |t| Logout::verify(t, secret, after, &nonce));
    let logout = logout.filter(|_| match logout_allowed(&SiteHeaders::of(&sent).view(), &config.logout_origins) {
        Ok(()) => true,
        Err(cross_site) => {
            // Logout CSRF from a sibling or a cross-site navigation: nothing is ended or
            // cleared, and the response goes on as the origin wrote it.
            let fields = [
                ("header", origin::LOGOUT_HEADER),
                ("reason", "cross_site"),
                ("sec_fetch_site", cross_site.sec_fetch_site.as_str()),
                ("origin", cross_site.origin.as_str()),
            ];
            log_event("directive_rejected", &fields);
            false
        }
    });
    let step_up = directive(&response, origin::STEP_UP_HEADER, |t| StepUp::verify(t, secret, after, &nonce));
    // Only the family that identified the request: a refused cookie chooses nothing.
    let current = identified.as_ref().map(|s| s.family);
    let plan = DirectivePlan::new(login, logout, current, presented.cookies.presented);
    let logging_out = plan.as_ref().is_some_and(|plan| plan.clear_cookies);
    pass_clear_site_data(&response, &headers, logging_out)?;
    let stepped_up = match step_up {
        Some(step_up) => {
            apply_step_up(env, ctx, step_up, identified.as_ref(), plan.is_some(), &debug.without_fault()).await
        }
        None => None,
    };
    let sets_cookie = if let Some(plan) = plan {
        apply_directives(env, &headers, plan, sent, config, &debug.without_fault()).await?
    } else if let Some(mut cookies) = stepped_up {
        // A step-up the hold kept from rotating hands out no refresh cookie: the one this
        // request's own refresh earned (a rotation, a grace alias) must still land, or the
        // browser is left a generation behind.
        let earned = identified.as_ref().and_then(|s| s.grant.as_ref());
        if let Some((earned, _)) = earned.filter(|(_, at)| may_set_refresh(*at, after, &config.policy)) {
            cookies.refresh = cookies.refresh.or_else(|| earned.refresh.clone());
        }
        append_cookies(&headers, &cookies, true)?
    } else if let Some((cookies, decided_at)) = identified.as_ref().and_then(|s| s.grant.as_ref()) {
        // Slow rule: a refresh value decided more than GRACE ago must not land (S10).
        append_cookies(&headers, cookies, may_set_refresh(*decided_at, after, &config.policy))?
    } else {
        false
    };
    if sets_cookie {
        // Never let a shared cache keep a response that carries a credential.
        for name in origin::CACHE_HEADERS {
            headers.delete(name)?;
        }
        headers.set("Cache-Control", origin::CREDENTIAL_CACHE_CONTROL)?;
    }
    if config.debug_headers {
        headers.set("X-Edge-Debug", &trace.header())?;
    }
    Ok(response.with_headers(headers))
}

/// Asks the family's object about a refresh cookie whose MAC verified. `skipped`: the
/// request's `Secure-Session-Skipped` names the family, for this reason.
async fn ask_the_family(
    env: &Env,
    ctx: &Context,
    (cookie, family, context): (&str, FamilyId, Option<RequestContext>),
    skipped: Option<&'static str>,
    debug: &DebugAsk,
    trace: &mut Trace,
) -> Result<Decided, EdgeError> {
    if ENDED.with(|ended| ended.borrow().contains(family)) {
        trace.path = "ended";
        let refused = Some(AnonymousState::Ended);
        return Ok(Decided { identified: None, outcome: RequestOutcome::Refused, refused, not_registered: false });
    }
    trace.path = "object";
    let command = FamilyCommand::Refresh { cookie: cookie.to_owned(), skipped: skipped.map(str::to_owned), context };
    let reply = ask_family(env, family, &command, debug).await?;
    trace.writes = reply.writes;
    trace.touched = reply.touch_index;
    trace.verdict = Some(reply.verdict.label());
    let outcome = RequestOutcome::of_verdict(&reply.verdict, skipped.is_some());
    if reply.verdict.family_gone() {
        ENDED.with(|ended| ended.borrow_mut().insert(family));
    }
    let refused = reply.verdict.anonymous_state();
    let identified = match reply.verdict {
        Verdict::Granted { identity, state, cookies, decided_at, context_changed } => {
            if reply.touch_index {
                // "Your devices" hears of `last_seen` at most every half idle timeout (the family
                // decides), after the response, off the request's path.
                let at = Timestamp::from_millis(decided_at);
                touch_index(env.clone(), ctx, identity.sub.clone(), family, at, false, debug);
            }
            let grant = Some((cookies, Timestamp::from_millis(decided_at)));
            Some(Identified { identity, family, state, context_changed, grant })
        }
        _ => None,
    };
    Ok(Decided { identified, outcome, refused, not_registered: reply.dbsc_not_registered })
}

/// Carries out a verified step-up on the session that identified the request, if it is
/// the directive's user's: its cookies, or `None` when nothing changed (logged; never an
/// error: the origin's answer goes out either way).
async fn apply_step_up(
    env: &Env,
    ctx: &Context,
    step_up: StepUp,
    identified: Option<&Identified>,
    other_directive: bool,
    debug: &DebugAsk,
) -> Option<GrantCookies> {
    let current = identified.map(|s| (s.family, s.identity.sub.as_str()));
    let family = match step_up_target(&step_up.sub, current, other_directive) {
        Ok(family) => family,
        Err(refused) => {
            log_event("directive_rejected", &[("header", origin::STEP_UP_HEADER), ("reason", &refused.to_string())]);
            return None;
        }
    };
    let command = FamilyCommand::StepUp { sub: step_up.sub.clone(), amr: step_up.amr };
    // Fails closed and quietly: the origin's answer still goes out, and its next check of
    // auth_time asks again. (An object of the previous version, mid-deploy, answers 400.)
    let reply = ask_family(env, family, &command, debug).await.map(|reply| (reply.verdict, reply.touch_index));
    let Ok((Verdict::Granted { cookies, decided_at, .. }, touch)) = reply else {
        let reason = if reply.is_ok() { "ended" } else { "unavailable" };
        log_event("directive_rejected", &[("header", origin::STEP_UP_HEADER), ("reason", reason)]);
        return None;
    };
    if touch {
        touch_index(env.clone(), ctx, step_up.sub, family, Timestamp::from_millis(decided_at), false, debug);
    }
    Some(cookies)
}

/// The origin's `Clear-Site-Data`: as it is when a verified logout answers the request
/// (the edge clears its own cookies then too), else without what would delete the edge's
/// cookies (`origin::clear_site_data_sparing_cookies`; logged when it removed something).
fn pass_clear_site_data(response: &Response, headers: &Headers, logging_out: bool) -> worker::Result<()> {
    let Some(value) = response.headers().get(origin::CLEAR_SITE_DATA)? else { return Ok(()) };
    let passed = if logging_out { Some(value.clone()) } else { origin::clear_site_data_sparing_cookies(&value) };
    if passed.as_deref() != Some(value.as_str()) {
        log_event(
            "origin_header_dropped",
            &[("header", origin::CLEAR_SITE_DATA), ("reason", "cookies without a logout")],
        );
    }
    if let Some(passed) = passed {
        headers.set(origin::CLEAR_SITE_DATA, &passed)?;
    }
    Ok(())
}

/// Carries out a [`DirectivePlan`]. Returns whether any `Set-Cookie` was added.
async fn apply_directives(
    env: &Env,
    headers: &Headers,
    plan: DirectivePlan,
    sent: Sent,
    config: &Config,
    debug: &DebugAsk,
) -> Result<bool, EdgeError> {
    let mut sets_cookie = false;
    if let Some(sub) = &plan.revoke_everywhere {
        let reply = ask_user(env, sub, &UserCommand::RevokeAll { except: None, token: None }, debug).await?;
        let (revoked, pending) = (reply.revoked.to_string(), reply.pending.to_string());
        log_event("logout_everywhere", &[("sub", sub), ("families", &revoked), ("pending", &pending)]);
    }
    if plan.clear_cookies {
        headers.append("Set-Cookie", &clear_cookie(ACCESS_COOKIE))?;
        headers.append("Set-Cookie", &clear_cookie(REFRESH_COOKIE))?;
        sets_cookie = true;
    }
    if let Some(old) = plan.end_family {
        // Its own logout, or a new login on the same browser replacing it.
        if plan.login.is_none() {
            ask_family(env, old, &FamilyCommand::Logout, debug).await?;
        } else if ask_family(env, old, &FamilyCommand::Revoke { by: RevokedBy::Login }, debug).await.is_err() {
            // An object of the previous version (a deploy in progress) answers `revoke`
            // 400: end it as a logout rather than fail the login.
            ask_family(env, old, &FamilyCommand::Logout, debug).await?;
        }
    }
    if let Some(login) = plan.login {
        let family = FamilyId::from_bytes(runtime::random());
        let sub = login.sub.clone();
        let context = request_context(&sent.headers, sent.cf.as_ref(), config);
        // "Your devices" shows the country the family's events report.
        let country = context.as_ref().map_or_else(|| sent.country(), |c| c.country.clone());
        let command = FamilyCommand::Login {
            family,
            sub: login.sub,
            ctx: login.ctx,
            remember: login.remember,
            dbsc_offered: config.offers_dbsc(),
            context,
            amr: login.amr,
            auth_time: login.auth_time,
        };
        let reply = ask_family(env, family, &command, debug).await?;
        let Verdict::Granted { cookies, decided_at, .. } = reply.verdict else {
            return Err(EdgeError::Unavailable);
        };
        // Registered only once the family exists: a "log out everywhere" in between then
        // either revokes it or makes the index refuse it (crate::users).
        let created_at = Timestamp::from_millis(decided_at);
        let entry =
            FamilyEntry::new(family, created_at, login.remember, sent.user_agent().as_deref(), country.as_deref());
        let refused_by = match ask_user(env, &sub, &UserCommand::Register { entry }, debug).await {
            Ok(reply) if reply.accepted => None,
            // The index refused it: a "log out everywhere" it raced.
            Ok(_) => Some(RevokedBy::Everywhere),
            // The register may have landed before the call failed: end the family so no
            // device is listed whose cookies were never sent (best effort; else its alarm
            // ends and unregisters it).
            Err(_) => Some(RevokedBy::LoginFailed),
        };
        if let Some(by) = refused_by {
            let end = FamilyCommand::Revoke { by };
            let _ = ask_family(env, family, &end, debug).await;
            return Err(EdgeError::Unavailable);
        }
        sets_cookie |= append_cookies(headers, &cookies, true)?;
        if config.offers_dbsc() {
            // Browsers with DBSC bind the new family to a key (crate::dbsc); others ignore it.
            let challenge =
                challenge::mint(Purpose::Register, family, created_at, runtime::random(), &config.session_keys);
            headers.set(dbsc::REGISTRATION_HEADER, &dbsc::registration_offer(&challenge))?;
        }
    }
    Ok(sets_cookie)
}

/// The request as the client sent it, kept after it went on to the origin for what a
/// directive needs: where a new login came from (shown in session lists), and where a
/// logout came from. Holds references only: nothing is read unless a directive arrives,
/// so the hot path pays nothing for it.
struct Sent {
    headers: Headers,
    cf: Option<Cf>,
    request: web_sys::Request,
}

impl Sent {
    fn of(req: &Request) -> Sent {
        // References to the same JS objects: Headers::clone would copy every header, and
        // the JS Request's own clone() would tee its body.
        Sent { headers: Headers(req.headers().0.clone()), cf: req.cf().cloned(), request: Clone::clone(req.inner()) }
    }

    fn user_agent(&self) -> Option<String> {
        self.headers.get("User-Agent").ok().flatten()
    }

    fn country(&self) -> Option<String> {
        self.cf.as_ref().and_then(Cf::country)
    }
}

/// What says where a request came from (a logout directive is judged by it:
/// `origin::logout_allowed`).
struct SiteHeaders {
    method: String,
    values: [Option<String>; 6],
    own_origin: String,
}

impl SiteHeaders {
    const NAMES: [&'static str; 6] =
        ["Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Fetch-User", "Origin", "Referer"];

    fn of(sent: &Sent) -> SiteHeaders {
        // The JavaScript URL string: `Request::url()` would parse it with the `url` crate,
        // whose IDNA tables add 83 KiB gzip to the bundle.
        let url = sent.request.url();
        SiteHeaders {
            method: sent.request.method(),
            values: Self::NAMES.map(|name| sent.headers.get(name).ok().flatten()),
            own_origin: origin::origin_of(&url).unwrap_or_default().to_owned(),
        }
    }

    fn view(&self) -> RequestSite<'_> {
        let [fetch_site, fetch_mode, fetch_dest, fetch_user, origin, referer] =
            self.values.each_ref().map(Option::as_deref);
        RequestSite {
            method: &self.method,
            sec_fetch_site: fetch_site,
            sec_fetch_mode: fetch_mode,
            sec_fetch_dest: fetch_dest,
            sec_fetch_user: fetch_user,
            origin,
            referer,
            own_origin: &self.own_origin,
        }
    }
}

/// The headers the origin receives: identity namespace stripped, edge cookies removed,
/// the request's nonce, and for an identified request the identity headers and a fresh
/// signed assertion; for one whose edge cookie was refused, why (`refused`).
fn origin_headers(
    req: &Request,
    cookie_header: &str,
    identified: Option<(&Identified, &str)>,
    refused: Option<AnonymousState>,
    nonce: &RequestNonce,
) -> worker::Result<Headers> {
    let headers = Headers::new();
    for (name, value) in req.headers().entries() {
        // Spoofed identity in any spelling never reaches the origin (CVE-2025-64484), nor
        // a header meant for this hop only (`origin::forwarded_to_origin`).
        if origin::forwarded_to_origin(&name) {
            headers.append(&name, &value)?;
        }
    }
    if let Some(kept) = strip_edge_cookies(cookie_header) {
        headers.set("Cookie", &kept)?;
    }
    headers.set(origin::NONCE_HEADER, nonce.as_str())?;
    if let Some((s, assertion)) = identified {
        headers.set(origin::USER_HEADER, &origin::encode_user(&s.identity.sub))?;
        headers.set(origin::SESSION_HEADER, &s.family.to_string())?;
        headers.set(origin::STATE_HEADER, s.state.as_str())?;
        headers.set(origin::ASSERTION_HEADER, assertion)?;
    } else if let Some(refused) = refused {
        // Signed in, and that ended: an app that can log users in by other means (a
        // migration bridge) must not log this jar back in (crate::session::AnonymousState).
        headers.set(origin::STATE_HEADER, refused.as_str())?;
    }
    Ok(headers)
}

/// The signed `X-Edge-Assertion` for an identified request: HS256 with `ORIGIN_SECRET`,
/// or ES256 with `ASSERTION_KEYS` (by WebCrypto).
async fn sign_assertion(s: &Identified, config: &Config, now: Timestamp) -> String {
    let assertion = Assertion {
        context_changed: s.context_changed,
        ..Assertion::new(&s.identity, s.family, s.state.as_str(), &config.origin_audience, now, runtime::random())
    };
    match &config.assertion_keys {
        Some(keys) => webcrypto::sign(keys, origin::ASSERTION_TYPE, &assertion).await,
        None => assertion.sign(&config.origin_secret),
    }
}

/// A directive header, verified; a bad one is ignored and logged.
fn directive<T, E: std::fmt::Display>(
    response: &Response,
    name: &str,
    verify: impl Fn(&str) -> Result<T, E>,
) -> Option<T> {
    let token = response.headers().get(name).ok()??;
    match verify(&token) {
        Ok(directive) => Some(directive),
        Err(e) => {
            log_event("directive_rejected", &[("header", name), ("reason", &e.to_string())]);
            None
        }
    }
}

/// Appends a grant's cookies; returns whether it appended any.
fn append_cookies(headers: &Headers, cookies: &GrantCookies, with_refresh: bool) -> worker::Result<bool> {
    let lines = [cookies.access.as_ref(), cookies.refresh.as_ref().filter(|_| with_refresh)];
    let mut any = false;
    for line in lines.into_iter().flatten() {
        headers.append("Set-Cookie", line)?;
        any = true;
    }
    Ok(any)
}
