//! Configuration from the worker's vars and secrets (docs/design.md §3, §5).
//!
//! [`Config::from_vars`] takes a lookup over names so the shell can pass the worker's
//! environment and tests a map. Unset or empty values take the defaults; every
//! problem is reported at once, each naming its variable — never a secret's value, since
//! the message goes to logs and to the fail-closed 500 body.
//!
//! ```
//! use edge_session::config::Config;
//! let vars = [("SESSION_KEYS", "k1:0123456789abcdef0123456789abcdef"),
//!             ("ORIGIN_SECRET", "o1:fedcba9876543210fedcba9876543210"),
//!             ("GRACE_SECS", "10")];
//! let config = Config::from_vars(|name| {
//!     vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
//! }).unwrap();
//! assert_eq!(config.policy.grace.as_secs(), 10);
//! assert_eq!(config.policy.rotate_after.as_secs(), 900);
//! ```

use std::fmt;
use std::time::Duration;

use crate::crypto::KeyRing;
use crate::crypto::assertion_keys::AssertionKeys;
use crate::time::Timestamp;

/// Longest accepted grace window: grace is exactly the time in which a thief is
/// indistinguishable from a racing tab, so it is capped (scenario S9).
pub const MAX_GRACE_SECS: u64 = 300;
/// Longest access cookie: it outlives every revocation by its own lifetime (the edge
/// checks it alone), so ten minutes is where "short-lived" ends.
pub const MAX_ACCESS_TTL_SECS: u64 = 600;
/// Longest device-bound access cookie: the whole of what a copied jar is worth.
pub const MAX_BOUND_ACCESS_TTL_SECS: u64 = 900;
/// Longest rotation interval and recovery window: a day.
pub const MAX_DAY_SECS: u64 = 86_400;
/// Longest lifetime or idle limit: 400 days, the cap browsers put on a cookie's
/// `Max-Age` (RFC 6265bis §5.5); a session cannot outlive its cookie anyway.
pub const MAX_LIFETIME_SECS: u64 = 400 * 86_400;
/// How far in the future `SESSIONS_NOT_BEFORE` may be (clocks disagree a little).
pub const NOT_BEFORE_SKEW_SECS: u64 = 300;

/// What to do when a retired credential is presented outside every window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnReuse {
    /// Revoke the whole family (RFC 9700 §4.14.2): the default.
    Revoke,
    /// Refuse only this request.
    Reject,
}

/// The timing rules a family is decided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How old the current generation must be before a request rotates it.
    pub rotate_after: Duration,
    /// How long a just-retired generation still identifies its user (a racing tab).
    pub grace: Duration,
    /// How long a retired generation whose successor was never presented re-delivers it
    /// (a lost response).
    pub recovery: Duration,
    /// Zero turns the fast path off (every request asks the family's object).
    pub access_ttl: Duration,
    /// Idle limit for families without "remember me".
    pub idle_timeout: Duration,
    /// Absolute lifetime of a family without "remember me".
    pub session_lifetime: Duration,
    /// Absolute lifetime of a "remember me" family.
    pub remember_lifetime: Duration,
    /// What a reuse outside every window does to the family.
    pub on_reuse: OnReuse,
    /// `DBSC_ACCESS_TTL_SECS`: how long the access cookie of a device-bound family lives.
    /// It is all a copied cookie jar is worth, since a bound family's refresh cookie alone
    /// identifies no one.
    pub bound_access_ttl: Duration,
    /// Idle limit for "remember me" families (OWASP ASVS 5.0 V7.3.1; RFC 9700 §4.14.2:
    /// refresh tokens SHOULD expire after inactivity).
    pub remember_idle_timeout: Duration,
    /// `SESSIONS_NOT_BEFORE`, the kill switch: every family created before it has ended,
    /// and every access cookie issued before it is refused. Zero (the default) ends nothing.
    pub not_before: Timestamp,
}

impl Default for Policy {
    /// Rotate after 15 min (Pow's session renewal), grace 30 s (Okta's default refresh-token
    /// grace), recovery 30 min, access cookie 60 s, idle 30 min (Pow), lifetime 12 h,
    /// remember-me 30 days and idle 15 days (Auth0's absolute and inactivity defaults for
    /// rotating refresh tokens), reuse revokes (RFC 9700 §4.14.2), a device-bound access
    /// cookie 5 min (Chrome refreshes it in its last two minutes), no kill switch.
    fn default() -> Self {
        Policy {
            rotate_after: Duration::from_secs(900),
            grace: Duration::from_secs(30),
            recovery: Duration::from_secs(1800),
            access_ttl: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(1800),
            session_lifetime: Duration::from_secs(43_200),
            remember_lifetime: Duration::from_secs(2_592_000),
            on_reuse: OnReuse::Revoke,
            bound_access_ttl: Duration::from_secs(300),
            remember_idle_timeout: Duration::from_secs(1_296_000),
            not_before: Timestamp::from_millis(0),
        }
    }
}

/// `DBSC`: whether login responses offer device-bound sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dbsc {
    /// Offer registration on every login response (the default). Browsers without DBSC
    /// ignore the offer.
    Offer,
    /// Offer nothing. Families bound earlier keep refreshing until they end: turning the
    /// offer off must not log anyone out.
    Off,
}

/// `ON_CONTEXT_CHANGE`: what a session without device binding that refreshes from another
/// country, network (ASN) or browser family than its last refresh does
/// (crate::events::context_changed). Off by default: mobile networks and travel change
/// country and ASN, so ending sessions on it logs real users out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnContextChange {
    /// Nothing but the `session.context_changed` event (the default).
    Ignore,
    /// Keep the session, and tell the origin: from then on its assertions carry
    /// `context_changed` (when), so the app can ask for the password again before a
    /// sensitive action. Costs the user nothing until then.
    Flag,
    /// End the session: the request goes on anonymous, the user signs in again.
    End,
}

/// Security events (crate::events): `EVENTS_SECRET` signs them; `EVENTS_URL`, when set,
/// receives them (the `EVENTS` Queue binding too, when the Worker has one).
#[derive(Debug)]
pub struct EventsConfig {
    /// `EVENTS_SECRET`: the HS256 key ring events are signed with (the first signs).
    pub secret: KeyRing,
    /// `EVENTS_URL`: the webhook.
    pub url: Option<EventsUrl>,
}

/// Everything the worker needs, validated.
#[derive(Debug)]
pub struct Config {
    /// The timing rules.
    pub policy: Policy,
    /// Signs and verifies the edge's cookies.
    pub session_keys: KeyRing,
    /// Signs assertions to the origin; verifies its directives and admin tokens unless
    /// those have their own secrets.
    pub origin_secret: KeyRing,
    /// `DIRECTIVE_SECRET`: verifies the origin's login and logout directives; `None`:
    /// `ORIGIN_SECRET` does ([`Config::directive_secret`]).
    directive_secret: Option<KeyRing>,
    /// `ADMIN_SECRET`: verifies admin tokens; `None`: `ORIGIN_SECRET` does.
    admin_secret: Option<KeyRing>,
    /// `ASSERTION_ALG=ES256`: `ASSERTION_KEYS`, the private keys that sign assertions
    /// (published at `/__edge/jwks.json`). `None`: HS256 with `ORIGIN_SECRET`.
    pub assertion_keys: Option<AssertionKeys>,
    /// Audience of the origin assertion.
    pub origin_audience: String,
    /// `EDGE_DEBUG=1`: add `X-Edge-Debug` to responses (which path decided the identity,
    /// storage rows written) so tests can observe the fast path. Off in production.
    pub debug_headers: bool,
    /// Where to forward when no `ORIGIN` service binding exists: its scheme, host and
    /// port replace the request's; the request's path and query are kept.
    pub origin_url: Option<OriginUrl>,
    /// `METRICS_WINDOW_SECS`: how often an isolate logs its request-outcome counts.
    pub metrics_window: Duration,
    /// `DBSC`: whether logins offer device-bound sessions.
    pub dbsc: Dbsc,
    /// `LOGOUT_ORIGINS`: other origins (a sign-out link on a sibling subdomain) whose
    /// requests may carry a logout the edge applies (crate::origin::logout_allowed).
    pub logout_origins: Vec<String>,
    /// Security events; `None` when `EVENTS_SECRET` is not set.
    pub events: Option<EventsConfig>,
    /// `ON_CONTEXT_CHANGE`.
    pub on_context_change: OnContextChange,
}

impl Config {
    /// What verifies login and logout directives: `DIRECTIVE_SECRET`, else `ORIGIN_SECRET`.
    pub fn directive_secret(&self) -> &KeyRing {
        self.directive_secret.as_ref().unwrap_or(&self.origin_secret)
    }

    /// What verifies admin tokens: `ADMIN_SECRET`, else `ORIGIN_SECRET`.
    pub fn admin_secret(&self) -> &KeyRing {
        self.admin_secret.as_ref().unwrap_or(&self.origin_secret)
    }

    /// Whether this login response offers DBSC registration. Never with the fast path off
    /// (`ACCESS_TTL_SECS=0`): a bound family is identified by its access cookie alone, and
    /// strict mode promises every request reaches the family's object.
    pub fn offers_dbsc(&self) -> bool {
        self.dbsc == Dbsc::Offer && !self.policy.access_ttl.is_zero()
    }
}

/// Default `METRICS_WINDOW_SECS`: one `request_outcomes` line per isolate per minute.
pub const DEFAULT_METRICS_WINDOW: Duration = Duration::from_secs(60);

/// One variable's problem. `problem` never contains a secret's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The variable's name, e.g. `GRACE_SECS`.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// Every problem found; the worker fails closed on any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Each problem, in the order the variables are read.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid edge-session configuration:")?;
        for p in &self.problems {
            write!(f, " {}: {};", p.variable, p.problem)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads and validates every variable through `lookup` (a name to its value, if set).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::read(lookup, None)
    }

    /// [`Config::from_vars`], plus the one check that needs the time: the kill switch
    /// (`SESSIONS_NOT_BEFORE`) may not be in the future beyond clock skew, or it would end
    /// every login until then at once. The shell reads its configuration this way.
    pub fn from_vars_at(lookup: impl Fn(&str) -> Option<String>, now: Timestamp) -> Result<Config, ConfigError> {
        Config::read(lookup, Some(now))
    }

    fn read(lookup: impl Fn(&str) -> Option<String>, now: Option<Timestamp>) -> Result<Config, ConfigError> {
        let mut reader = Reader { lookup, problems: Vec::new() };
        let defaults = Policy::default();
        let policy = Policy {
            rotate_after: reader.secs("ROTATE_AFTER_SECS", defaults.rotate_after, 1, MAX_DAY_SECS),
            grace: reader.secs("GRACE_SECS", defaults.grace, 1, MAX_GRACE_SECS),
            recovery: reader.secs("RECOVERY_SECS", defaults.recovery, 1, MAX_DAY_SECS),
            access_ttl: reader.secs("ACCESS_TTL_SECS", defaults.access_ttl, 0, MAX_ACCESS_TTL_SECS),
            idle_timeout: reader.secs("IDLE_TIMEOUT_SECS", defaults.idle_timeout, 1, MAX_LIFETIME_SECS),
            session_lifetime: reader.secs("SESSION_LIFETIME_SECS", defaults.session_lifetime, 1, MAX_LIFETIME_SECS),
            remember_lifetime: reader.secs("REMEMBER_LIFETIME_SECS", defaults.remember_lifetime, 1, MAX_LIFETIME_SECS),
            on_reuse: reader.choice("ON_REUSE", &[("revoke", OnReuse::Revoke), ("reject", OnReuse::Reject)]),
            bound_access_ttl: reader.secs(
                "DBSC_ACCESS_TTL_SECS",
                defaults.bound_access_ttl,
                1,
                MAX_BOUND_ACCESS_TTL_SECS,
            ),
            remember_idle_timeout: reader.secs(
                "REMEMBER_IDLE_TIMEOUT_SECS",
                defaults.remember_idle_timeout,
                1,
                MAX_LIFETIME_SECS,
            ),
            not_before: reader.not_before(now),
        };
        reader.check_windows(&policy);
        let session_keys = reader.keys("SESSION_KEYS");
        let origin_secret = reader.keys("ORIGIN_SECRET");
        if let (Some(session), Some(origin)) = (&session_keys, &origin_secret) {
            // The origin holds ORIGIN_SECRET; with a session key it could mint cookies for
            // any user, and so could anyone who reads the origin's configuration.
            if session.shares_a_secret_with(origin) {
                reader.fail("SESSION_KEYS", "must not share a secret with ORIGIN_SECRET");
            }
        }
        let origin_audience = reader.audience();
        let origin_url = reader.origin_url();
        let metrics_window = reader.secs("METRICS_WINDOW_SECS", DEFAULT_METRICS_WINDOW, 1, MAX_DAY_SECS);
        let dbsc = reader.choice("DBSC", &[("offer", Dbsc::Offer), ("off", Dbsc::Off)]);
        let logout_origins = reader.logout_origins();
        let directive_secret = reader.job_secret("DIRECTIVE_SECRET", session_keys.as_ref(), origin_secret.as_ref());
        let admin_secret = reader.job_secret("ADMIN_SECRET", session_keys.as_ref(), origin_secret.as_ref());
        if let (Some(directive), Some(admin)) = (&directive_secret, &admin_secret)
            && directive.shares_a_secret_with(admin)
        {
            reader.fail("ADMIN_SECRET", "must not share a secret with DIRECTIVE_SECRET (one job per secret)");
        }
        let assertion_keys = reader.assertion_keys();
        let signing_rings = [origin_secret.as_ref(), directive_secret.as_ref(), admin_secret.as_ref()];
        let events = reader.events(session_keys.as_ref(), &signing_rings);
        let on_context_change = reader.choice(
            "ON_CONTEXT_CHANGE",
            &[("ignore", OnContextChange::Ignore), ("flag", OnContextChange::Flag), ("end", OnContextChange::End)],
        );
        let debug_headers = reader.get("EDGE_DEBUG").is_some_and(|v| v == "1" || v == "true");
        match (session_keys, origin_secret) {
            (Some(session_keys), Some(origin_secret)) if reader.problems.is_empty() => Ok(Config {
                policy,
                session_keys,
                origin_secret,
                directive_secret,
                admin_secret,
                assertion_keys,
                origin_audience,
                debug_headers,
                origin_url,
                metrics_window,
                dbsc,
                logout_origins,
                events,
                on_context_change,
            }),
            _ => Err(ConfigError { problems: reader.problems }),
        }
    }
}

/// `ORIGIN_URL`: `http(s)://host[:port]`, nothing else. A path, query or credentials
/// would be silently ignored, so they are refused instead. Parsed by hand rather than
/// with the `url` crate: its IDNA tables alone tripled the gzip bundle (61 → 300 KiB),
/// and an origin host is ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginUrl {
    /// `http://host[:port]` or `https://host[:port]`, without a trailing slash.
    base: String,
}

impl OriginUrl {
    /// `http(s)://host[:port]` with an optional trailing `/`; `None` for anything else.
    pub fn parse(text: &str) -> Option<OriginUrl> {
        let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"))?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(':') && !port.contains(']') => (host, Some(port)),
            _ => (authority, None),
        };
        let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
            None => !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
        };
        let port_ok = port.is_none_or(|p| (1..=5).contains(&p.len()) && p.parse::<u16>().is_ok_and(|n| n > 0));
        (host_ok && port_ok).then(|| OriginUrl { base: format!("{}{}", &text[..text.len() - rest.len()], authority) })
    }

    /// Whether the host is this machine: `localhost`, a `*.localhost` name, `127.0.0.1`
    /// or `[::1]`.
    pub fn is_loopback(&self) -> bool {
        let authority = self.base.split_once("://").map_or("", |(_, a)| a);
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => authority,
        }
        .to_ascii_lowercase();
        host == "localhost" || host.ends_with(".localhost") || host == "127.0.0.1" || host == "[::1]"
    }

    /// The URL to forward `request_url` to: our scheme and authority, its path and query.
    pub fn target(&self, request_url: &str) -> String {
        let after_scheme = request_url.find("://").map_or(0, |i| i + 3);
        let path = request_url[after_scheme..].find('/').map_or("/", |i| &request_url[after_scheme + i..]);
        format!("{}{}", self.base, path)
    }
}

/// `EVENTS_URL`: an `https://` URL (`http://` only for this machine), with a path and
/// query if wanted, no credentials and no fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsUrl(String);

impl EventsUrl {
    /// The URL, or `None` if it is not one we send events to.
    pub fn parse(text: &str) -> Option<EventsUrl> {
        let after_scheme = text.find("://")? + 3;
        let authority_end = text[after_scheme..].find(['/', '?']).map_or(text.len(), |i| after_scheme + i);
        let origin = OriginUrl::parse(&text[..authority_end])?;
        let rest = &text[authority_end..];
        let rest_ok = rest.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
        (rest_ok && (text.starts_with("https://") || origin.is_loopback())).then(|| EventsUrl(text.to_owned()))
    }

    /// The URL as configured.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

struct Reader<F> {
    lookup: F,
    problems: Vec<Problem>,
}

impl<F: Fn(&str) -> Option<String>> Reader<F> {
    /// The trimmed value, `None` when unset or blank.
    fn get(&self, variable: &str) -> Option<String> {
        let value = (self.lookup)(variable)?;
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_owned())
    }

    fn fail(&mut self, variable: &'static str, problem: impl Into<String>) {
        self.problems.push(Problem { variable, problem: problem.into() });
    }

    /// Whole seconds in `min..=max`: a window outside its sane range is a configuration
    /// error, never clamped (a day-long access cookie must not start quietly).
    fn secs(&mut self, variable: &'static str, default: Duration, min: u64, max: u64) -> Duration {
        let Some(text) = self.get(variable) else { return default };
        match text.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Duration::from_secs(n),
            _ => {
                self.fail(variable, format!("must be whole seconds from {min} to {max}"));
                default
            }
        }
    }

    /// `SESSIONS_NOT_BEFORE`: Unix seconds; unset or 0 ends nothing. Checked against
    /// `now` when the caller has a clock.
    fn not_before(&mut self, now: Option<Timestamp>) -> Timestamp {
        let Some(text) = self.get("SESSIONS_NOT_BEFORE") else { return Timestamp::from_millis(0) };
        let at = match text.parse::<u64>() {
            Ok(secs) if secs <= u64::MAX / 1000 => Timestamp::from_secs(secs),
            _ => {
                self.fail("SESSIONS_NOT_BEFORE", "must be a time in Unix seconds (e.g. `date +%s`), or 0");
                return Timestamp::from_millis(0);
            }
        };
        if now.is_some_and(|now| at > now + Duration::from_secs(NOT_BEFORE_SKEW_SECS)) {
            let problem = "is in the future: it ends every session created before it, new logins included";
            self.fail("SESSIONS_NOT_BEFORE", problem);
        }
        at
    }

    /// `LOGOUT_ORIGINS`: `https://host[:port]` origins, comma-separated, as a browser
    /// writes them in `Origin` (lower case, no path, no trailing slash).
    fn logout_origins(&mut self) -> Vec<String> {
        let Some(text) = self.get("LOGOUT_ORIGINS") else { return Vec::new() };
        let mut origins = Vec::new();
        for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            match OriginUrl::parse(item) {
                Some(origin) if !item.ends_with('/') && (item.starts_with("https://") || origin.is_loopback()) => {
                    origins.push(origin.base.to_ascii_lowercase())
                }
                _ => {
                    // http:// would let anyone on that page's network log users out.
                    let problem = "must be https:// origins such as https://www.example.com (http:// only for \
                                   localhost), comma-separated";
                    self.fail("LOGOUT_ORIGINS", problem);
                    return Vec::new();
                }
            }
        }
        origins
    }

    /// One of `options` by name; the first is the default.
    fn choice<T: Copy>(&mut self, variable: &'static str, options: &[(&str, T)]) -> T {
        let default = options[0].1;
        let Some(text) = self.get(variable) else { return default };
        if let Some((_, value)) = options.iter().find(|(name, _)| *name == text) {
            return *value;
        }
        let names: Vec<String> = options.iter().map(|(name, _)| format!("`{name}`")).collect();
        self.fail(variable, format!("must be {}", names.join(" or ")));
        default
    }

    fn check_windows(&mut self, p: &Policy) {
        // So a credential two generations old is always older than any grace window.
        if p.grace >= p.rotate_after {
            self.fail("GRACE_SECS", "must be less than ROTATE_AFTER_SECS");
        }
        if p.grace > p.recovery {
            self.fail("GRACE_SECS", "must not exceed RECOVERY_SECS");
        }
    }

    fn keys(&mut self, variable: &'static str) -> Option<KeyRing> {
        let Some(text) = self.get(variable) else {
            self.fail(variable, "is not set (a secret: `wrangler secret put`, or .dev.vars locally)");
            return None;
        };
        KeyRing::parse(&text).map_err(|e| self.fail(variable, e.to_string())).ok()
    }

    fn audience(&mut self) -> String {
        let audience = self.get("ORIGIN_AUDIENCE").unwrap_or_else(|| "origin".to_owned());
        if audience.len() > 256 {
            self.fail("ORIGIN_AUDIENCE", "must be at most 256 characters");
        }
        audience
    }

    /// `DIRECTIVE_SECRET` or `ADMIN_SECRET` (`variable`): its own ring when set, sharing no
    /// key with `SESSION_KEYS` or `ORIGIN_SECRET` (a service that verifies assertions
    /// holds `ORIGIN_SECRET`; it must not be able to sign logins or admin calls). Every key
    /// of a ring verifies, so no position in it makes a shared key safe; the switch-over
    /// with no refused login goes the other way round, the new key added to
    /// `ORIGIN_SECRET` first (docs/upgrades.md). Set but blank is an error, not a quiet
    /// fall back. `None` when unset: `ORIGIN_SECRET` does the job, as before the variable
    /// existed.
    fn job_secret(
        &mut self,
        variable: &'static str,
        session_keys: Option<&KeyRing>,
        origin_secret: Option<&KeyRing>,
    ) -> Option<KeyRing> {
        if self.get(variable).is_none() {
            if (self.lookup)(variable).is_some() {
                self.fail(variable, "is set but empty (unset it to use ORIGIN_SECRET)");
            }
            return None;
        }
        let ring = self.keys(variable)?;
        if session_keys.is_some_and(|keys| keys.shares_a_secret_with(&ring)) {
            self.fail("SESSION_KEYS", format!("must not share a secret with {variable}"));
        }
        if origin_secret.is_some_and(|origin| ring.shares_a_secret_with(origin)) {
            let problem = "must not share a key with ORIGIN_SECRET (whoever verifies assertions could sign with it)";
            self.fail(variable, problem);
        }
        Some(ring)
    }

    /// `ASSERTION_ALG` (`HS256`, the default, or `ES256`) and, for ES256, `ASSERTION_KEYS`.
    fn assertion_keys(&mut self) -> Option<AssertionKeys> {
        let es256 = self.choice("ASSERTION_ALG", &[("HS256", false), ("ES256", true)]);
        match (es256, self.get("ASSERTION_KEYS")) {
            (false, None) => None,
            (false, Some(_)) => {
                self.fail("ASSERTION_KEYS", "is set but ASSERTION_ALG is not ES256 (set both, or neither)");
                None
            }
            (true, None) => {
                let problem =
                    "is not set: ES256 needs kid:<base64url PKCS#8 P-256 key> (npx edge-session secret --es256)";
                self.fail("ASSERTION_KEYS", problem);
                None
            }
            (true, Some(text)) => {
                AssertionKeys::parse(&text).map_err(|e| self.fail("ASSERTION_KEYS", e.to_string())).ok()
            }
        }
    }

    /// `EVENTS_SECRET` and `EVENTS_URL`. The secret is its own ring, sharing no key with
    /// `SESSION_KEYS`, `ORIGIN_SECRET`, `DIRECTIVE_SECRET` or `ADMIN_SECRET`: a receiver
    /// (often someone else's service) that verifies events can then mint no cookie, login,
    /// assertion or admin token.
    fn events(&mut self, session_keys: Option<&KeyRing>, signing: &[Option<&KeyRing>]) -> Option<EventsConfig> {
        let url = self.get("EVENTS_URL").and_then(|text| {
            let parsed = EventsUrl::parse(&text);
            if parsed.is_none() {
                let problem = "must be an https:// URL (http:// only for localhost), without credentials or fragment";
                self.fail("EVENTS_URL", problem);
            }
            parsed
        });
        if self.get("EVENTS_SECRET").is_none() {
            if url.is_some() {
                self.fail("EVENTS_URL", "needs EVENTS_SECRET (a secret: kid:secret), which signs each event");
            }
            return None;
        }
        let secret = self.keys("EVENTS_SECRET")?;
        if session_keys.is_some_and(|keys| keys.shares_a_secret_with(&secret)) {
            self.fail("SESSION_KEYS", "must not share a secret with EVENTS_SECRET");
        }
        if signing.iter().flatten().any(|ring| ring.shares_a_secret_with(&secret)) {
            let problem = "must not share a secret with ORIGIN_SECRET, DIRECTIVE_SECRET or ADMIN_SECRET \
                (a receiver could sign logins)";
            self.fail("EVENTS_SECRET", problem);
        }
        Some(EventsConfig { secret, url })
    }

    fn origin_url(&mut self) -> Option<OriginUrl> {
        let text = self.get("ORIGIN_URL")?;
        let parsed = OriginUrl::parse(&text);
        if parsed.is_none() {
            self.fail("ORIGIN_URL", "must be http(s)://host[:port] with no path, query or credentials");
        }
        parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEYS: &str = "k1:0123456789abcdef0123456789abcdef";
    const ORIGIN: &str = "o1:fedcba9876543210fedcba9876543210";

    fn config(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut vars: HashMap<&str, &str> = [("SESSION_KEYS", KEYS), ("ORIGIN_SECRET", ORIGIN)].into();
        vars.extend(extra.iter().copied());
        Config::from_vars(|n| vars.get(n).map(|v| v.to_string()))
    }

    fn variables(err: ConfigError) -> Vec<&'static str> {
        err.problems.into_iter().map(|p| p.variable).collect()
    }

    #[test]
    fn es256_assertions_need_their_keys_and_nothing_else_takes_them() {
        const P256: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguIYSJrGQB6Xr7KQFTONGCuu1jNG1K7cVJlGRUazBoPGhRANCAASAlEMqS806ithe5aS0FxSZX1uVEoFEC_nMG5aNBdEGFLhARdzs4cDNWAJDYnvZ7lpgl0614GTVCjwdO35EKQH0";
        let keys = format!("a1:{P256}");
        assert!(config(&[]).unwrap().assertion_keys.is_none(), "HS256 by default");
        let es256 = config(&[("ASSERTION_ALG", "ES256"), ("ASSERTION_KEYS", &keys)]).unwrap();
        assert_eq!(es256.assertion_keys.unwrap().signing_kid(), "a1");
        let refused = |vars: &[(&str, &str)]| variables(config(vars).unwrap_err());
        assert_eq!(refused(&[("ASSERTION_ALG", "ES256")]), ["ASSERTION_KEYS"]);
        assert_eq!(refused(&[("ASSERTION_KEYS", &keys)]), ["ASSERTION_KEYS"], "keys without the algorithm");
        assert_eq!(refused(&[("ASSERTION_ALG", "RS256")]), ["ASSERTION_ALG"]);
        assert_eq!(refused(&[("ASSERTION_ALG", "ES256"), ("ASSERTION_KEYS", "a1:bm90IGEga2V5")]), ["ASSERTION_KEYS"]);
        let err = config(&[("ASSERTION_ALG", "ES256"), ("ASSERTION_KEYS", &format!("{keys},a1:{P256}"))]).unwrap_err();
        assert!(!err.to_string().contains(&P256[20..40]), "{err}");
    }

    #[test]
    fn a_secret_per_job_falls_back_to_origin_secret_and_shares_no_key() {
        const DIRECTIVE: &str = "d1:0123456789abcdef0123456789abcdeX";
        const ADMIN: &str = "a1:0123456789abcdef0123456789abcdeY";
        const EVENTS: &str = "e1:0123456789abcdef0123456789abcdeZ";
        let origin = KeyRing::parse(ORIGIN).unwrap();
        let c = config(&[]).unwrap();
        assert!(c.directive_secret().shares_a_secret_with(&origin) && c.admin_secret().shares_a_secret_with(&origin));
        let c = config(&[("DIRECTIVE_SECRET", DIRECTIVE), ("ADMIN_SECRET", ADMIN)]).unwrap();
        assert!(c.directive_secret().shares_a_secret_with(&KeyRing::parse(DIRECTIVE).unwrap()));
        assert!(!c.directive_secret().shares_a_secret_with(&origin));
        assert!(c.admin_secret().shares_a_secret_with(&KeyRing::parse(ADMIN).unwrap()));
        let refused = |vars: &[(&str, &str)]| variables(config(vars).unwrap_err());
        assert_eq!(refused(&[("DIRECTIVE_SECRET", ORIGIN)]), ["DIRECTIVE_SECRET"]);
        assert_eq!(refused(&[("ADMIN_SECRET", &format!("{ORIGIN},{ADMIN}"))]), ["ADMIN_SECRET"]);
        // Every key of a ring verifies: an ORIGIN_SECRET key anywhere in it is refused.
        assert_eq!(refused(&[("DIRECTIVE_SECRET", &format!("{DIRECTIVE},{ORIGIN}"))]), ["DIRECTIVE_SECRET"]);
        assert_eq!(refused(&[("DIRECTIVE_SECRET", "  ")]), ["DIRECTIVE_SECRET"], "set but blank");
        // The switch-over: the new key added to ORIGIN_SECRET's ring first.
        let switching = config(&[("ORIGIN_SECRET", &format!("{ORIGIN},{DIRECTIVE}"))]).unwrap();
        assert!(switching.directive_secret().shares_a_secret_with(&KeyRing::parse(DIRECTIVE).unwrap()));
        assert!(config(&[("DIRECTIVE_SECRET", DIRECTIVE), ("ADMIN_SECRET", "a1:too-short")]).is_err());
        assert_eq!(refused(&[("DIRECTIVE_SECRET", KEYS)]), ["SESSION_KEYS"]);
        assert_eq!(refused(&[("DIRECTIVE_SECRET", DIRECTIVE), ("ADMIN_SECRET", DIRECTIVE)]), ["ADMIN_SECRET"]);
        assert_eq!(refused(&[("ADMIN_SECRET", ADMIN), ("EVENTS_SECRET", ADMIN)]), ["EVENTS_SECRET"]);
        assert_eq!(refused(&[("DIRECTIVE_SECRET", "d1:short")]), ["DIRECTIVE_SECRET"], "a ring's own rules");
        assert!(config(&[("DIRECTIVE_SECRET", DIRECTIVE), ("EVENTS_SECRET", EVENTS)]).is_ok());
    }

    #[test]
    fn defaults_are_designs() {
        let c = config(&[]).unwrap();
        assert_eq!(c.policy, Policy::default());
        assert_eq!(c.origin_audience, "origin");
        assert!(c.origin_url.is_none());
    }

    #[test]
    fn dbsc_is_offered_by_default_but_never_in_strict_mode() {
        assert!(config(&[]).unwrap().offers_dbsc());
        assert!(!config(&[("DBSC", "off")]).unwrap().offers_dbsc());
        assert!(!config(&[("ACCESS_TTL_SECS", "0")]).unwrap().offers_dbsc());
        assert_eq!(config(&[("DBSC_ACCESS_TTL_SECS", "120")]).unwrap().policy.bound_access_ttl.as_secs(), 120);
        assert_eq!(
            variables(config(&[("DBSC", "on"), ("DBSC_ACCESS_TTL_SECS", "0")]).unwrap_err()),
            ["DBSC_ACCESS_TTL_SECS", "DBSC"]
        );
    }

    #[test]
    fn events_need_their_own_secret_and_a_safe_url() {
        const EVENTS: &str = "e1:abcdefabcdefabcdefabcdefabcdefab";
        let c = config(&[("EVENTS_SECRET", EVENTS), ("EVENTS_URL", "https://hooks.example.com/edge?x=1")]).unwrap();
        let events = c.events.unwrap();
        assert_eq!(events.url.unwrap().as_str(), "https://hooks.example.com/edge?x=1");
        assert!(config(&[("EVENTS_SECRET", EVENTS)]).unwrap().events.unwrap().url.is_none(), "a queue only");
        assert!(config(&[]).unwrap().events.is_none());
        assert!(config(&[("EVENTS_URL", "http://localhost:9000/hook"), ("EVENTS_SECRET", EVENTS)]).is_ok());
        for bad in [
            "http://hooks.example.com/",
            "https://user:pw@hooks.example.com/",
            "https://h.example.com/#x",
            "ftp://h.example.com/",
            "https://h.example.com/a b",
        ] {
            let err = config(&[("EVENTS_URL", bad), ("EVENTS_SECRET", EVENTS)]).unwrap_err();
            assert_eq!(variables(err), ["EVENTS_URL"], "{bad}");
        }
        assert_eq!(variables(config(&[("EVENTS_URL", "https://h.example.com/")]).unwrap_err()), ["EVENTS_URL"]);
        assert_eq!(variables(config(&[("EVENTS_SECRET", KEYS)]).unwrap_err()), ["SESSION_KEYS"]);
        assert_eq!(variables(config(&[("EVENTS_SECRET", ORIGIN)]).unwrap_err()), ["EVENTS_SECRET"]);
        assert_eq!(config(&[("ON_CONTEXT_CHANGE", "end")]).unwrap().on_context_change, OnContextChange::End);
        assert_eq!(config(&[("ON_CONTEXT_CHANGE", "flag")]).unwrap().on_context_change, OnContextChange::Flag);
        assert_eq!(variables(config(&[("ON_CONTEXT_CHANGE", "warn")]).unwrap_err()), ["ON_CONTEXT_CHANGE"]);
    }

    #[test]
    fn blank_means_default() {
        assert_eq!(config(&[("GRACE_SECS", "  "), ("ORIGIN_URL", "")]).unwrap().policy, Policy::default());
    }

    #[test]
    fn access_ttl_zero_turns_off_the_fast_path_but_other_windows_must_be_positive() {
        assert_eq!(config(&[("ACCESS_TTL_SECS", "0")]).unwrap().policy.access_ttl, Duration::ZERO);
        assert_eq!(variables(config(&[("RECOVERY_SECS", "0")]).unwrap_err()), ["RECOVERY_SECS"]);
    }

    #[test]
    fn window_relations_are_enforced() {
        assert_eq!(
            variables(config(&[("GRACE_SECS", "301"), ("ROTATE_AFTER_SECS", "900")]).unwrap_err()),
            ["GRACE_SECS"]
        );
        assert_eq!(
            variables(config(&[("GRACE_SECS", "60"), ("ROTATE_AFTER_SECS", "60")]).unwrap_err()),
            ["GRACE_SECS"]
        );
        assert_eq!(variables(config(&[("GRACE_SECS", "60"), ("RECOVERY_SECS", "59")]).unwrap_err()), ["GRACE_SECS"]);
    }

    #[test]
    fn windows_outside_their_sane_range_are_configuration_errors() {
        for (variable, largest) in [
            ("ACCESS_TTL_SECS", MAX_ACCESS_TTL_SECS),
            ("DBSC_ACCESS_TTL_SECS", MAX_BOUND_ACCESS_TTL_SECS),
            ("RECOVERY_SECS", MAX_DAY_SECS),
            ("ROTATE_AFTER_SECS", MAX_DAY_SECS),
            ("SESSION_LIFETIME_SECS", MAX_LIFETIME_SECS),
            ("REMEMBER_LIFETIME_SECS", MAX_LIFETIME_SECS),
            ("IDLE_TIMEOUT_SECS", MAX_LIFETIME_SECS),
            ("REMEMBER_IDLE_TIMEOUT_SECS", MAX_LIFETIME_SECS),
        ] {
            let ok = largest.to_string();
            assert!(config(&[(variable, &ok)]).is_ok(), "{variable}={ok}");
            let too_long = (largest + 1).to_string();
            let err = config(&[(variable, &too_long)]).unwrap_err();
            assert_eq!(variables(err.clone()), [variable]);
            assert!(err.to_string().contains(&format!("to {largest}")), "{err}");
        }
        // A day-long access cookie would outlive every revocation by a day.
        assert_eq!(variables(config(&[("ACCESS_TTL_SECS", "86400")]).unwrap_err()), ["ACCESS_TTL_SECS"]);
        assert_eq!(MAX_LIFETIME_SECS, 34_560_000, "400 days, the browsers' cookie cap");
    }

    #[test]
    fn remember_me_sessions_have_an_idle_limit() {
        assert_eq!(config(&[]).unwrap().policy.remember_idle_timeout, Duration::from_secs(15 * 86_400));
        let c = config(&[("REMEMBER_IDLE_TIMEOUT_SECS", "3600")]).unwrap();
        assert_eq!(c.policy.remember_idle_timeout, Duration::from_secs(3600));
        assert_eq!(
            variables(config(&[("REMEMBER_IDLE_TIMEOUT_SECS", "0")]).unwrap_err()),
            ["REMEMBER_IDLE_TIMEOUT_SECS"]
        );
    }

    #[test]
    fn the_kill_switch_is_a_past_unix_time() {
        let now = Timestamp::from_secs(1_800_000_000);
        let at = |value: &str| {
            let vars: HashMap<&str, &str> =
                [("SESSION_KEYS", KEYS), ("ORIGIN_SECRET", ORIGIN), ("SESSIONS_NOT_BEFORE", value)].into();
            Config::from_vars_at(|n| vars.get(n).map(|v| v.to_string()), now)
        };
        assert_eq!(at("1799999000").unwrap().policy.not_before, Timestamp::from_secs(1_799_999_000));
        assert_eq!(at("0").unwrap().policy.not_before, Timestamp::from_millis(0));
        for bad in ["yesterday", "-1", "1.5", "99999999999999999999"] {
            assert_eq!(variables(at(bad).unwrap_err()), ["SESSIONS_NOT_BEFORE"], "{bad}");
        }
        // In the future it would end every login until then: refused, beyond clock skew.
        assert!(at("1800000300").is_ok(), "within skew");
        assert_eq!(variables(at("1800000301").unwrap_err()), ["SESSIONS_NOT_BEFORE"]);
        assert!(config(&[("SESSIONS_NOT_BEFORE", "1800000301")]).is_ok(), "without a clock, only the format");
    }

    #[test]
    fn logout_origins_are_origins() {
        let c = config(&[("LOGOUT_ORIGINS", " https://WWW.example.com, http://localhost:8080 ,")]).unwrap();
        assert_eq!(c.logout_origins, ["https://www.example.com", "http://localhost:8080"]);
        assert!(config(&[]).unwrap().logout_origins.is_empty());
        for local in ["http://127.0.0.1:8787", "http://www.site.localhost", "http://[::1]:3000"] {
            assert!(config(&[("LOGOUT_ORIGINS", local)]).is_ok(), "{local}");
        }
        for bad in [
            "https://www.example.com/",
            "https://x.example/logout",
            "www.example.com",
            "*",
            "null",
            "http://www.example.com",
            "http://localhost.evil.example",
        ] {
            assert_eq!(variables(config(&[("LOGOUT_ORIGINS", bad)]).unwrap_err()), ["LOGOUT_ORIGINS"], "{bad}");
        }
    }

    #[test]
    fn every_problem_is_reported_by_name() {
        let err =
            config(&[("ON_REUSE", "ignore"), ("ORIGIN_URL", "ftp://x"), ("IDLE_TIMEOUT_SECS", "-1")]).unwrap_err();
        assert_eq!(variables(err), ["IDLE_TIMEOUT_SECS", "ON_REUSE", "ORIGIN_URL"]);
    }

    #[test]
    fn missing_or_bad_secrets_are_named_but_never_printed() {
        let vars: HashMap<&str, &str> = [("ORIGIN_SECRET", "o1 SUPERSECRET-SUPERSECRET-SUPERSECRET")].into();
        let err = Config::from_vars(|n| vars.get(n).map(|v| v.to_string())).unwrap_err();
        assert_eq!(variables(err.clone()), ["SESSION_KEYS", "ORIGIN_SECRET"]);
        assert!(!err.to_string().contains("SUPERSECRET"), "{err}");
    }

    #[test]
    fn session_keys_never_share_a_secret_with_the_origin() {
        assert_eq!(variables(config(&[("ORIGIN_SECRET", KEYS)]).unwrap_err()), ["SESSION_KEYS"]);
        let shared = "o1:fedcba9876543210fedcba9876543210, k9:0123456789abcdef0123456789abcdef";
        let err = config(&[("ORIGIN_SECRET", shared)]).unwrap_err();
        assert_eq!(variables(err.clone()), ["SESSION_KEYS"], "a shared retired key is refused too");
        assert!(!err.to_string().contains("0123456789abcdef"), "{err}");
    }

    #[test]
    fn origin_url_is_scheme_host_and_port_only() {
        let c = config(&[("ORIGIN_URL", "http://127.0.0.1:8788/")]).unwrap();
        assert_eq!(c.origin_url.unwrap().target("https://edge.example/a/b?c=d"), "http://127.0.0.1:8788/a/b?c=d");
        for good in ["https://app.example.com", "http://[::1]:8080", "http://localhost"] {
            assert!(OriginUrl::parse(good).is_some(), "{good}");
        }
        for bad in [
            "http://h/app",
            "http://h/?q=1",
            "http://u:p@h",
            "ws://h",
            "/relative",
            "http://",
            "http://h:0",
            "http://h:99999",
            "http://h:x",
            "http://h#f",
        ] {
            assert_eq!(variables(config(&[("ORIGIN_URL", bad)]).unwrap_err()), ["ORIGIN_URL"], "{bad}");
        }
    }

    #[test]
    fn origin_target_keeps_path_and_query() {
        let o = OriginUrl::parse("https://o.example:8443").unwrap();
        assert_eq!(o.target("http://edge/"), "https://o.example:8443/");
        assert_eq!(o.target("http://edge"), "https://o.example:8443/");
        assert_eq!(o.target("http://edge:81/x/y?z=1&w"), "https://o.example:8443/x/y?z=1&w");
    }
}
