//! A tower layer for Rust origins behind the edge (feature `tower`): every request gets
//! an [`Edge`] in its extensions (who it is, from the verified assertion), and the
//! directives a handler asks for ([`Edge::login`], [`Edge::logout`], [`Edge::step_up`])
//! are put on its response. With feature `axum`, `Edge`, `RequireUser` and `RequirePageUser` are
//! extractors:
//!
//! ```
//! # #[cfg(feature = "axum")] {
//! use axum::routing::{get, post};
//! use axum::{Json, Router};
//! use edge_session_origin::LogoutScope;
//! use edge_session_origin::tower::{Edge, EdgeLayer, EdgeUser, RequirePageUser, RequireUser};
//!
//! // An API: 401 {"error":"not signed in"} when anonymous.
//! async fn me(RequireUser(user): RequireUser) -> Json<EdgeUser> {
//!     Json(user)
//! }
//! // A page: a 303 to the login page when anonymous.
//! async fn account(RequirePageUser(user): RequirePageUser) -> String {
//!     format!("Account of {}", user.sub)
//! }
//! // Anyone: `edge.user()` is `None` when anonymous. The directive goes on this response.
//! async fn login(edge: Edge) -> &'static str {
//!     match edge.login("ada", false, None) {
//!         Ok(()) => "signed in",
//!         Err(_not_through_the_edge) => "no X-Edge-Nonce",
//!     }
//! }
//! async fn logout(edge: Edge) -> &'static str {
//!     edge.logout(LogoutScope::Session, None).map_or("no X-Edge-Nonce", |()| "signed out")
//! }
//! // Every session of this request's user ("log out everywhere").
//! async fn logout_everywhere(edge: Edge) -> Result<&'static str, String> {
//!     edge.logout(LogoutScope::Everywhere, None).map_err(|e| e.to_string())?;
//!     Ok("signed out everywhere")
//! }
//!
//! // In main: EdgeLayer::from_env()? reads ORIGIN_SECRET (or, with feature es256,
//! // EDGE_JWKS_URL or EDGE_JWKS) and ORIGIN_AUDIENCE.
//! let layer = EdgeLayer::new("o1:0123456789abcdef0123456789abcdef", "origin").unwrap();
//! let app: Router = Router::new()
//!     .route("/api/me", get(me))
//!     .route("/account", get(account))
//!     .route("/login", post(login))
//!     .route("/logout", post(logout))
//!     .route("/logout-everywhere", post(logout_everywhere))
//!     .layer(layer.login_page("/login"));
//! # let _ = app; }
//! ```
//!
//! With feature `es256`, the layer verifies ES256 assertions too, with the edge's public
//! keys: `EdgeLayer::from_jwks` (`EDGE_JWKS`) or, with feature `client` as well,
//! `EdgeLayer::from_jwks_url` (`EDGE_JWKS_URL`, fetched and cached). Such a layer holds
//! no secret; `EdgeLayer::jwks` and `EdgeLayer::jwks_url` add the keys to a layer that
//! has `ORIGIN_SECRET`, while the edge switches from HS256.
//!
//! Trust rule: only the verified assertion proves who a request is; `X-Edge-User` is a
//! convenience, safe only if the origin is reachable through the edge alone.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue, Request, Response};
use serde_json::{Map, Value};
use tower_layer::Layer;
use tower_service::Service;

#[cfg(all(feature = "es256", feature = "client"))]
pub use crate::remote_jwks::JwksUrlError;
#[cfg(all(feature = "es256", feature = "client"))]
use crate::remote_jwks::RemoteJwks;
use crate::system::{admin_token, now};
use crate::{
    ASSERTION_HEADER, AdminAction, Adoption, Assertion, EverywhereNeedsSub, FamilyId, KeyRing, KeyRingError,
    LOGIN_HEADER, LOGOUT_HEADER, Login, Logout, LogoutScope, NONCE_HEADER, STATE_HEADER, STEP_UP_HEADER, StepUp,
    Timestamp, TokenError, USER_HEADER, adoption, directives::valid_amr, jws::JwsError,
};
#[cfg(feature = "es256")]
use crate::{AssertionKeys, Jwks};

/// Who a request is, from the edge's verified `X-Edge-Assertion`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EdgeUser {
    /// The user, as the login directive named them.
    pub sub: String,
    /// The session (the edge's family id).
    pub sid: String,
    /// `fresh`, `rotated`, `grace` or `recovered`.
    pub state: String,
    /// The login directive's `ctx`, if any.
    pub ctx: Option<Map<String, Value>>,
    /// When the session refreshed from another country, network or browser family (Unix
    /// seconds; the edge's `ON_CONTEXT_CHANGE=flag`). Before a sensitive action, ask for
    /// the password again unless this session (`sid`) re-entered it for this very value.
    pub context_changed: Option<u64>,
    /// When the user last proved who they are (the login), Unix seconds.
    pub auth_time: Option<u64>,
    /// How (RFC 8176 names), when the login said.
    pub amr: Option<Vec<String>>,
}

impl EdgeUser {
    /// Whether the user proved who they are at most `max_age_secs` ago, and the session
    /// has not refreshed from another context since (`context_changed`): what a sensitive
    /// action asks. Otherwise send them to sign in again.
    pub fn signed_in_within(&self, max_age_secs: u64) -> bool {
        // 30 s of clock skew either way, as for the assertion's own times; an `auth_time`
        // further ahead is no proof (nothing the edge signs should say so).
        let now = now().as_secs();
        self.auth_time.is_some_and(|at| at <= now + 30 && now.saturating_sub(at) <= max_age_secs)
            && self.context_changed.is_none_or(|changed| Some(changed) <= self.auth_time)
    }
}

/// What the layer reads the time from (the system clock, or a test's).
type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;
/// Where the layer's events go (a JSON line on stderr, or the app's logger).
type Log = Arc<dyn Fn(&Value) + Send + Sync>;

impl From<Assertion> for EdgeUser {
    fn from(a: Assertion) -> EdgeUser {
        EdgeUser {
            sub: a.sub,
            sid: a.sid,
            state: a.state,
            ctx: a.ctx,
            context_changed: a.context_changed,
            auth_time: a.auth_time,
            amr: a.amr,
        }
    }
}

struct Settings {
    /// `ORIGIN_SECRET`: verifies HS256 assertions, and signs what has no secret of its own.
    /// `None`: a service that only verifies identities, with the edge's JWKS.
    keys: Option<KeyRing>,
    /// `EDGE_JWKS` or `EDGE_JWKS_URL`: verifies ES256 assertions.
    #[cfg(feature = "es256")]
    jwks: Option<JwksSource>,
    /// `DIRECTIVE_SECRET`: signs logins and logouts; `None`: `keys` does.
    directive_keys: Option<KeyRing>,
    /// `ADMIN_SECRET`: signs admin tokens; `None`: `keys` does.
    admin_keys: Option<KeyRing>,
    audience: String,
    login_page: String,
    clock: Clock,
    log: Log,
}

/// The edge's public keys, as configured.
#[cfg(feature = "es256")]
enum JwksSource {
    /// `EDGE_JWKS`: the JWKS itself.
    Static(Jwks),
    /// `EDGE_JWKS_URL`: fetched, cached, refreshed.
    #[cfg(feature = "client")]
    Remote(Arc<RemoteJwks>),
}

impl Settings {
    fn new(keys: Option<KeyRing>, audience: &str) -> Settings {
        Settings {
            keys,
            #[cfg(feature = "es256")]
            jwks: None,
            directive_keys: None,
            admin_keys: None,
            audience: audience.into(),
            login_page: "/login".into(),
            clock: Arc::new(now),
            log: Arc::new(|event| eprintln!("{event}")),
        }
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }

    fn log(&self, event: &Value) {
        (self.log)(event)
    }

    /// A service that verifies with the JWKS alone signs nothing until it is given a
    /// secret: asking it to is a deployment mistake, named here rather than shipped as a
    /// directive the edge would refuse.
    fn directive_keys(&self) -> &KeyRing {
        self.try_directive_keys().unwrap_or_else(|missing| panic!("{missing}"))
    }

    /// `DIRECTIVE_SECRET`, else `ORIGIN_SECRET`; neither: the error naming it.
    fn try_directive_keys(&self) -> Result<&KeyRing, NoDirectiveSecret> {
        self.directive_keys.as_ref().or(self.keys.as_ref()).ok_or(NoDirectiveSecret)
    }

    fn admin_keys(&self) -> &KeyRing {
        self.admin_keys.as_ref().or(self.keys.as_ref()).unwrap_or_else(|| {
            panic!(
                "ADMIN_SECRET is not set: this service only verifies identities \
                 (set ADMIN_SECRET, or ORIGIN_SECRET, to sign admin tokens)"
            )
        })
    }

    /// The verified assertion `token`, or why it is refused.
    async fn identify(&self, token: &str) -> Result<Assertion, TokenError> {
        #[cfg(feature = "es256")]
        if let Some(jwks) = &self.jwks {
            return self.identify_with(token, jwks).await;
        }
        match &self.keys {
            Some(ring) => Assertion::verify(token, ring, &self.audience, self.now()),
            None => Err(JwsError::UnsupportedAlgorithm.into()),
        }
    }

    /// ES256 with the JWKS, and HS256 with `ORIGIN_SECRET` when it is set (a switch-over).
    #[cfg(feature = "es256")]
    async fn identify_with(&self, token: &str, source: &JwksSource) -> Result<Assertion, TokenError> {
        let verify = |jwks: &Jwks| {
            let keys = match &self.keys {
                Some(ring) => AssertionKeys::Both(ring, jwks),
                None => AssertionKeys::Jwks(jwks),
            };
            Assertion::verify_with(token, keys, &self.audience, self.now())
        };
        match source {
            JwksSource::Static(jwks) => verify(jwks),
            #[cfg(feature = "client")]
            JwksSource::Remote(remote) => remote.verify(token, verify, &self.clock, &self.log).await,
        }
    }
}

/// The layer: `Router::new()…layer(EdgeLayer::from_env()?)`.
#[derive(Clone)]
pub struct EdgeLayer {
    settings: Arc<Settings>,
}

impl EdgeLayer {
    /// A layer verifying with `origin_secret` (the edge's `ORIGIN_SECRET`) for `audience`.
    pub fn new(origin_secret: &str, audience: &str) -> Result<EdgeLayer, KeyRingError> {
        let keys = KeyRing::parse(origin_secret)?;
        Ok(EdgeLayer { settings: Arc::new(Settings::new(Some(keys), audience)) })
    }

    /// A layer verifying ES256 assertions with the edge's JWKS alone (feature `es256`):
    /// it holds no secret, and refuses HS256 assertions. It signs nothing unless given a
    /// [`directive_secret`](Self::directive_secret) or an [`admin_secret`](Self::admin_secret).
    /// `jwks` is `EDGE_JWKS` ([`Jwks::parse`], or [`Jwks::from_value`]).
    #[cfg(feature = "es256")]
    pub fn from_jwks(jwks: Jwks, audience: &str) -> EdgeLayer {
        EdgeLayer { settings: Arc::new(Settings::new(None, audience)) }.jwks(jwks)
    }

    /// Verify ES256 assertions with `jwks` too (feature `es256`), while the edge moves from
    /// HS256 to ES256: each algorithm with its own keys. Replaces a `jwks_url`. Call it
    /// while building the layer.
    #[cfg(feature = "es256")]
    pub fn jwks(mut self, jwks: Jwks) -> EdgeLayer {
        self.settings_mut().jwks = Some(JwksSource::Static(jwks));
        self
    }

    /// A layer verifying ES256 assertions with the JWKS at `url` (the edge's
    /// `https://<app>/__edge/jwks.json`; features `es256` and `client`), and holding no
    /// secret. The keys are fetched on the first ES256 assertion, kept 5 minutes, and
    /// fetched again for a `kid` they lack at most every 30 s; a failed fetch is logged
    /// (`edge_jwks_unavailable`) and the keys already fetched go on verifying, for at most
    /// 24 hours after the last fetch that succeeded; a 404 (the edge serves no JWKS)
    /// drops them at once. `url` must
    /// be `https:` (feature `rustls-tls`, or TLS of your own in reqwest), or `http:` to
    /// `localhost`, `127.0.0.0/8` or `[::1]`.
    #[cfg(all(feature = "es256", feature = "client"))]
    pub fn from_jwks_url(url: &str, audience: &str) -> Result<EdgeLayer, JwksUrlError> {
        EdgeLayer { settings: Arc::new(Settings::new(None, audience)) }.jwks_url(url)
    }

    /// Verify ES256 assertions with the JWKS at `url` too, as
    /// [`from_jwks_url`](Self::from_jwks_url) does (features `es256` and `client`).
    /// Replaces a [`jwks`](Self::jwks). Call it while building the layer.
    #[cfg(all(feature = "es256", feature = "client"))]
    pub fn jwks_url(mut self, url: &str) -> Result<EdgeLayer, JwksUrlError> {
        self.settings_mut().jwks = Some(JwksSource::Remote(Arc::new(RemoteJwks::new(url)?)));
        Ok(self)
    }

    /// Sign logins and logouts with `directive_secret` (the edge's `DIRECTIVE_SECRET`)
    /// rather than `ORIGIN_SECRET`. Call it while building the layer.
    pub fn directive_secret(mut self, directive_secret: &str) -> Result<EdgeLayer, KeyRingError> {
        self.settings_mut().directive_keys = Some(KeyRing::parse(directive_secret)?);
        Ok(self)
    }

    /// Sign admin tokens with `admin_secret` (the edge's `ADMIN_SECRET`) rather than
    /// `ORIGIN_SECRET`. Call it while building the layer.
    pub fn admin_secret(mut self, admin_secret: &str) -> Result<EdgeLayer, KeyRingError> {
        self.settings_mut().admin_keys = Some(KeyRing::parse(admin_secret)?);
        Ok(self)
    }

    /// From the environment: `ORIGIN_SECRET`, `EDGE_JWKS_URL` or `EDGE_JWKS` (at least one
    /// of them; the last two need feature `es256`, and `EDGE_JWKS_URL` feature `client`),
    /// `ORIGIN_AUDIENCE` (default `origin`), and `DIRECTIVE_SECRET` and `ADMIN_SECRET`
    /// when set. The error names the variable and what is wrong with it, never its value.
    pub fn from_env() -> Result<EdgeLayer, String> {
        EdgeLayer::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables `lookup` gives (a secret manager's,
    /// a test's) rather than the process environment's.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<EdgeLayer, String> {
        let secret = lookup("ORIGIN_SECRET");
        let (jwks, jwks_url) = (lookup("EDGE_JWKS"), lookup("EDGE_JWKS_URL"));
        if secret.is_none() && jwks.is_none() && jwks_url.is_none() {
            return Err("none of ORIGIN_SECRET, EDGE_JWKS_URL and EDGE_JWKS is set: set ORIGIN_SECRET (the edge's, \
                        for HS256), or EDGE_JWKS_URL or EDGE_JWKS (the edge's public keys, for ES256)"
                .into());
        }
        if jwks.is_some() && jwks_url.is_some() {
            return Err("EDGE_JWKS_URL and EDGE_JWKS are both set: set one".into());
        }
        let audience = lookup("ORIGIN_AUDIENCE").unwrap_or_else(|| "origin".into());
        let keys = secret.map(|s| KeyRing::parse(&s)).transpose().map_err(|e| format!("ORIGIN_SECRET: {e}"))?;
        let mut layer = EdgeLayer { settings: Arc::new(Settings::new(keys, &audience)) };
        if let Some(text) = jwks {
            layer = with_env_jwks(layer, &text)?;
        }
        if let Some(url) = jwks_url {
            layer = with_env_jwks_url(layer, &url)?;
        }
        if let Some(directive) = lookup("DIRECTIVE_SECRET") {
            layer = layer.directive_secret(&directive).map_err(|e| format!("DIRECTIVE_SECRET: {e}"))?;
        }
        if let Some(admin) = lookup("ADMIN_SECRET") {
            layer = layer.admin_secret(&admin).map_err(|e| format!("ADMIN_SECRET: {e}"))?;
        }
        Ok(layer)
    }

    fn settings_mut(&mut self) -> &mut Settings {
        Arc::get_mut(&mut self.settings).expect("configure the layer before it is shared")
    }

    /// Where [`RequirePageUser`] redirects an anonymous request (default `/login`). Call it
    /// while building the layer, before it is cloned into a router.
    pub fn login_page(mut self, path: &str) -> EdgeLayer {
        self.settings_mut().login_page = path.into();
        self
    }

    /// The clock the layer verifies and signs by, and times its JWKS cache with (default:
    /// the system clock). For tests. Call it while building the layer.
    pub fn clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> EdgeLayer {
        self.settings_mut().clock = Arc::new(clock);
        self
    }

    /// Where the layer's events go, each a JSON object whose `event` is
    /// `edge_assertion_rejected` (with `reason`), `edge_assertion_missing`,
    /// `edge_adopt_refused`, `edge_adopt_no_nonce` or `edge_jwks_unavailable` (with
    /// `reason`). Default: one JSON line on stderr. Call it while building the layer.
    pub fn on_event(mut self, log: impl Fn(&Value) + Send + Sync + 'static) -> EdgeLayer {
        self.settings_mut().log = Arc::new(log);
        self
    }

    /// A bearer token for `POST {EDGE_URL}/__edge/admin`: single-use (random `jti`), 60 s.
    /// Send it with your HTTP client (or use `AdminClient`, feature `client`); the answer
    /// is JSON (`sessions`, or `revoked`).
    ///
    /// # Panics
    ///
    /// On a layer with neither `ADMIN_SECRET` nor `ORIGIN_SECRET` (one that only verifies
    /// identities, with the edge's JWKS), naming `ADMIN_SECRET`.
    pub fn admin_token(&self, sub: &str, action: AdminAction) -> String {
        admin_token(self.settings.admin_keys(), sub, action, self.settings.now())
    }
}

/// `EDGE_JWKS`, parsed at startup.
fn with_env_jwks(layer: EdgeLayer, text: &str) -> Result<EdgeLayer, String> {
    #[cfg(feature = "es256")]
    return Jwks::parse(text).map(|jwks| layer.jwks(jwks)).map_err(|e| format!("EDGE_JWKS: {e}"));
    #[cfg(not(feature = "es256"))]
    {
        let _ = (layer, text);
        Err("EDGE_JWKS is set, but edge-session-origin was built without its feature es256".into())
    }
}

/// `EDGE_JWKS_URL`, checked at startup and fetched on the first ES256 assertion.
fn with_env_jwks_url(layer: EdgeLayer, url: &str) -> Result<EdgeLayer, String> {
    #[cfg(all(feature = "es256", feature = "client"))]
    return layer.jwks_url(url).map_err(|e| e.to_string());
    #[cfg(not(all(feature = "es256", feature = "client")))]
    {
        let _ = (layer, url);
        Err("EDGE_JWKS_URL is set, but edge-session-origin was built without its features es256 and client".into())
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = EdgeService<S>;

    fn layer(&self, inner: S) -> EdgeService<S> {
        EdgeService { inner, settings: self.settings.clone() }
    }
}

/// The service [`EdgeLayer`] wraps around yours.
#[derive(Clone)]
pub struct EdgeService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S, B, R> Service<Request<B>> for EdgeService<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let seen = Seen::of(&req);
        let settings = self.settings.clone();
        // Identifying may wait for the JWKS: the service poll_ready readied answers this
        // request, and a clone takes its place for the next (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let edge = Edge::of(seen, settings).await;
            let directives = edge.directives.clone();
            req.extensions_mut().insert(edge);
            let mut response = inner.call(req).await?;
            for (name, value) in directives.lock().expect("directives lock").headers.drain(..) {
                response.headers_mut().insert(name, value);
            }
            Ok(response)
        })
    }
}

/// The edge's headers on a request, read before anything is awaited.
struct Seen {
    assertion: Option<String>,
    user_header: bool,
    nonce: Option<String>,
    /// `X-Edge-Session-State`, as raw bytes too: a refusal the adapter cannot read as text
    /// still refuses.
    state: Option<String>,
}

impl Seen {
    fn of<B>(req: &Request<B>) -> Seen {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        Seen {
            assertion: header(ASSERTION_HEADER).map(str::to_owned),
            user_header: header(USER_HEADER).is_some(),
            nonce: header(NONCE_HEADER).map(str::to_owned),
            state: req.headers().get(STATE_HEADER).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        }
    }
}

/// One request as a handler sees it: `user()`, and the directives for its response.
#[derive(Clone)]
pub struct Edge {
    user: Option<EdgeUser>,
    /// `X-Edge-Session-State` on an anonymous request: why the edge refused its cookie.
    refusal: Option<String>,
    nonce: Option<String>,
    settings: Arc<Settings>,
    directives: Arc<Mutex<Directives>>,
}

/// The directives a handler put on its response so far.
#[derive(Default)]
struct Directives {
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The login among them came from `adopt`, not from the app's own `login`.
    adopted: bool,
    /// `logout` was called: the bridge must not log the user back in on this response.
    logged_out: bool,
}

impl Edge {
    async fn of(seen: Seen, settings: Arc<Settings>) -> Edge {
        let user = match &seen.assertion {
            Some(token) => match settings.identify(token).await {
                Ok(assertion) => Some(EdgeUser::from(assertion)),
                Err(e) => {
                    settings.log(&serde_json::json!({"event": "edge_assertion_rejected", "reason": e.to_string()}));
                    None
                }
            },
            None => {
                if seen.user_header {
                    settings.log(&serde_json::json!({"event": "edge_assertion_missing"}));
                }
                None
            }
        };
        let refusal = seen.state.filter(|_| user.is_none());
        Edge { user, refusal, nonce: seen.nonce, settings, directives: Arc::default() }
    }

    /// The signed-in user, if the edge identified the request.
    pub fn user(&self) -> Option<&EdgeUser> {
        self.user.as_ref()
    }

    /// Why an anonymous request is anonymous, when it carried an edge cookie the edge
    /// refused (`ended`, `expired`, `reused`, `device_bound`, `invalid`); `None` for a
    /// request that never signed in, or an identified one.
    pub fn refusal(&self) -> Option<&str> {
        self.refusal.as_deref()
    }

    /// Logs `sub` in when the response reaches the edge. Fails only for a request that
    /// did not come through the edge (no `X-Edge-Nonce`).
    ///
    /// # Panics
    ///
    /// On a layer with neither `DIRECTIVE_SECRET` nor `ORIGIN_SECRET` (one that only
    /// verifies identities, with the edge's JWKS), naming `DIRECTIVE_SECRET`.
    pub fn login(&self, sub: &str, remember: bool, ctx: Option<Map<String, Value>>) -> Result<(), NotThroughTheEdge> {
        self.login_with(Login { sub: sub.into(), remember, ctx, amr: None, auth_time: None })
    }

    /// [`login`](Self::login) with every field of the directive, `amr` (how the user
    /// proved it, RFC 8176: `pwd`, `otp`…) included; the edge refuses a malformed `amr`.
    ///
    /// # Panics
    ///
    /// On a layer with neither `DIRECTIVE_SECRET` nor `ORIGIN_SECRET` (one that only
    /// verifies identities, with the edge's JWKS), naming `DIRECTIVE_SECRET`.
    pub fn login_with(&self, login: Login) -> Result<(), NotThroughTheEdge> {
        let nonce = self.nonce.as_deref().ok_or(NotThroughTheEdge)?;
        let token = login.sign(self.settings.directive_keys(), self.settings.now(), nonce);
        // The app's own login replaces any the bridge put there: a logout beside it is then
        // an account switch, and keeps it.
        let mut directives = self.directives.lock().expect("directives lock");
        directives.headers.retain(|(name, _)| name != LOGIN_HEADER);
        directives.adopted = false;
        drop(directives);
        self.set(LOGIN_HEADER, token);
        Ok(())
    }

    /// Records that this request's user just proved who they are again (a password
    /// re-entered, a second factor; `amr` says how, RFC 8176: `["pwd"]`): puts
    /// `X-Edge-Step-Up` on this response, and when it reaches the edge the session's
    /// `auth_time` moves to now and its credential rotates in place (same `sid`): from the
    /// next request on, the user has [signed in within](EdgeUser::signed_in_within) the
    /// max age a sensitive action asks (`RequireRecentAuth`).
    ///
    /// Signed for this request's user only, and refused on an anonymous request: a step-up
    /// never logs anyone in (the edge also ignores one whose `sub` is not the session's).
    /// Fails as well for a malformed `amr`, for a request that did not come through the
    /// edge, and, rather than panic, on a layer with no `DIRECTIVE_SECRET` nor
    /// `ORIGIN_SECRET`; nothing is put on the response then.
    pub fn step_up(&self, amr: Option<Vec<String>>) -> Result<(), StepUpError> {
        let user = self.user.as_ref().ok_or(StepUpError::Anonymous)?;
        // The login directive's rule, checked here: the edge would drop the whole
        // directive, and the user would be asked for the password again, for nothing.
        if let Some(names) = &amr {
            valid_amr(Some(&Value::from(names.clone()))).map_err(|_| StepUpError::BadAmr)?;
        }
        let nonce = self.nonce.as_deref().ok_or(NotThroughTheEdge)?;
        let keys = self.settings.try_directive_keys()?;
        let token = StepUp { sub: user.sub.clone(), amr }.sign(keys, self.settings.now(), nonce);
        self.set(STEP_UP_HEADER, token);
        Ok(())
    }

    /// Logs this session out. `LogoutScope::Everywhere`: every session of `sub`, by default
    /// (`None`) this request's user. Fails for a request that did not come through the edge
    /// (no `X-Edge-Nonce`), and for `Everywhere` without `sub` on an anonymous request.
    ///
    /// # Panics
    ///
    /// On a layer with neither `DIRECTIVE_SECRET` nor `ORIGIN_SECRET` (one that only
    /// verifies identities, with the edge's JWKS), naming `DIRECTIVE_SECRET`.
    pub fn logout(&self, scope: LogoutScope, sub: Option<&str>) -> Result<(), LogoutError> {
        let nonce = self.nonce.as_deref().ok_or(NotThroughTheEdge)?;
        let sub = match (scope, sub) {
            (LogoutScope::Everywhere, None) => self.user.as_ref().map(|user| user.sub.as_str()),
            _ => sub,
        };
        let token = Logout { scope, sub: sub.map(str::to_owned) }.sign(
            self.settings.directive_keys(),
            self.settings.now(),
            nonce,
        )?;
        let mut directives = self.directives.lock().expect("directives lock");
        // A bridge in a global hook adopts before the logout handler runs; the edge would
        // apply the logout, then that login: clicking "log out" would log the user in.
        if directives.adopted {
            directives.headers.retain(|(name, _)| name != LOGIN_HEADER);
            directives.adopted = false;
        }
        directives.logged_out = true;
        drop(directives);
        self.set(LOGOUT_HEADER, token);
        Ok(())
    }

    /// The migration bridge ([`adoption`]): if the request has no edge
    /// identity but carries the app's own session for `sub`, log `sub` in at the edge.
    /// Never when the edge refused the request's edge cookie (a refused jar is not logged
    /// back in), and never for a request that did not come through the edge. Returns
    /// whether it did; refusals are logged.
    /// After `logout` on the same request it does nothing, and a later `logout` takes
    /// back the login it put there.
    ///
    /// # Panics
    ///
    /// When it would log in, on a layer with neither `DIRECTIVE_SECRET` nor
    /// `ORIGIN_SECRET`, naming `DIRECTIVE_SECRET`.
    pub fn adopt(&self, sub: Option<&str>) -> bool {
        if self.directives.lock().expect("directives lock").logged_out {
            return false;
        }
        match adoption(self.user.is_some(), self.refusal(), self.nonce.as_deref(), sub) {
            Adoption::Login => {
                // The app's old session is no proof of presence now: `auth_time` 0, so a
                // sensitive action (RequireRecentAuth) still asks for the password.
                let login = Login {
                    sub: sub.unwrap_or_default().into(),
                    remember: false,
                    ctx: None,
                    amr: None,
                    auth_time: Some(0),
                };
                let adopted = self.login_with(login).is_ok();
                self.directives.lock().expect("directives lock").adopted |= adopted;
                adopted
            }
            Adoption::Skip => false,
            Adoption::Refused => {
                self.settings.log(&serde_json::json!({"event": "edge_adopt_refused", "refusal": self.refusal()}));
                false
            }
            Adoption::NotThroughTheEdge => {
                self.settings.log(&serde_json::json!({"event": "edge_adopt_no_nonce"}));
                false
            }
        }
    }

    /// An admin token for this request's user (`None` when anonymous): `list`, revoke one
    /// session, or revoke every session but one.
    ///
    /// # Panics
    ///
    /// On a layer with neither `ADMIN_SECRET` nor `ORIGIN_SECRET`, naming `ADMIN_SECRET`.
    pub fn admin_token(&self, action: AdminAction) -> Option<String> {
        Some(admin_token(self.settings.admin_keys(), &self.user()?.sub, action, self.settings.now()))
    }

    /// "Sign out all other devices": `revoke_all` except this request's session.
    ///
    /// # Panics
    ///
    /// On a layer with neither `ADMIN_SECRET` nor `ORIGIN_SECRET`, naming `ADMIN_SECRET`.
    pub fn sign_out_others_token(&self) -> Option<String> {
        let except = FamilyId::parse(&self.user()?.sid);
        self.admin_token(AdminAction::RevokeAll { except })
    }

    fn set(&self, name: &str, value: String) {
        let value = HeaderValue::from_str(&value).expect("a JWS is header-safe");
        self.directives
            .lock()
            .expect("directives lock")
            .headers
            .push((HeaderName::from_bytes(name.as_bytes()).expect("a header name"), value));
    }

    /// Where an anonymous page request is sent.
    pub fn login_page(&self) -> &str {
        &self.settings.login_page
    }
}

/// A directive was asked of a request that did not come through the edge: it has no
/// `X-Edge-Nonce` to answer, and the edge would ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotThroughTheEdge;

impl std::fmt::Display for NotThroughTheEdge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no X-Edge-Nonce: a directive can only answer a request that came through the edge")
    }
}

impl std::error::Error for NotThroughTheEdge {}

/// A layer with neither `DIRECTIVE_SECRET` nor `ORIGIN_SECRET` (one that only verifies
/// identities, with the edge's JWKS) was asked to sign a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoDirectiveSecret;

impl std::fmt::Display for NoDirectiveSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "DIRECTIVE_SECRET is not set: this service only verifies identities \
             (set DIRECTIVE_SECRET, or ORIGIN_SECRET, to sign logins, logouts and step-ups)",
        )
    }
}

impl std::error::Error for NoDirectiveSecret {}

/// Why [`Edge::step_up`] put no directive on the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepUpError {
    /// The request is anonymous: there is no session to step up, and a step-up is not a
    /// login (use [`Edge::login`]).
    Anonymous,
    /// `amr` is not 1 to [`MAX_AMR`](crate::MAX_AMR) names of `[A-Za-z0-9_.:-]{1,16}`: the
    /// edge would ignore the whole directive.
    BadAmr,
    /// The request did not come through the edge: no `X-Edge-Nonce` to answer.
    NotThroughTheEdge,
    /// The layer has neither `DIRECTIVE_SECRET` nor `ORIGIN_SECRET` to sign with.
    NoDirectiveSecret,
}

impl From<NotThroughTheEdge> for StepUpError {
    fn from(_: NotThroughTheEdge) -> Self {
        StepUpError::NotThroughTheEdge
    }
}

impl From<NoDirectiveSecret> for StepUpError {
    fn from(_: NoDirectiveSecret) -> Self {
        StepUpError::NoDirectiveSecret
    }
}

impl std::fmt::Display for StepUpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepUpError::Anonymous => {
                f.write_str("a step-up needs a signed-in request: use login for an anonymous one")
            }
            StepUpError::BadAmr => f.write_str("amr must be 1 to 8 names of [A-Za-z0-9_.:-]{1,16}"),
            StepUpError::NotThroughTheEdge => std::fmt::Display::fmt(&NotThroughTheEdge, f),
            StepUpError::NoDirectiveSecret => std::fmt::Display::fmt(&NoDirectiveSecret, f),
        }
    }
}

impl std::error::Error for StepUpError {}

/// Why [`Edge::logout`] put no directive on the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutError {
    /// The request did not come through the edge: no `X-Edge-Nonce` to answer.
    NotThroughTheEdge,
    /// `LogoutScope::Everywhere` without a `sub`, on an anonymous request: whose sessions?
    EverywhereNeedsSub,
}

impl From<NotThroughTheEdge> for LogoutError {
    fn from(_: NotThroughTheEdge) -> Self {
        LogoutError::NotThroughTheEdge
    }
}

impl From<EverywhereNeedsSub> for LogoutError {
    fn from(_: EverywhereNeedsSub) -> Self {
        LogoutError::EverywhereNeedsSub
    }
}

impl std::fmt::Display for LogoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogoutError::NotThroughTheEdge => std::fmt::Display::fmt(&NotThroughTheEdge, f),
            LogoutError::EverywhereNeedsSub => std::fmt::Display::fmt(&EverywhereNeedsSub, f),
        }
    }
}

impl std::error::Error for LogoutError {}

#[cfg(feature = "axum")]
mod extract {
    use axum_core::extract::FromRequestParts;
    use axum_core::response::{IntoResponse, Response};
    use http::StatusCode;
    use http::request::Parts;

    use super::{Edge, EdgeUser};

    /// Without `EdgeLayer` there is no `Edge`: a server error naming the fix.
    fn missing_layer() -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, "edge-session: add EdgeLayer to the router").into_response()
    }

    impl<S: Send + Sync> FromRequestParts<S> for Edge {
        type Rejection = Response;

        async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Edge, Response> {
            parts.extensions.get::<Edge>().cloned().ok_or_else(missing_layer)
        }
    }

    /// The signed-in user, else `401 {"error":"not signed in"}`: for APIs.
    pub struct RequireUser(pub EdgeUser);

    impl<S: Send + Sync> FromRequestParts<S> for RequireUser {
        type Rejection = Response;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<RequireUser, Response> {
            let edge = Edge::from_request_parts(parts, state).await?;
            edge.user().cloned().map(RequireUser).ok_or_else(not_signed_in)
        }
    }

    /// `RequireUser`'s answer, and `RequireRecentAuth`'s to an anonymous request.
    fn not_signed_in() -> Response {
        unauthorized(r#"{"error":"not signed in"}"#)
    }

    /// A 401 with a JSON body, never cached.
    fn unauthorized(body: &'static str) -> Response {
        (StatusCode::UNAUTHORIZED, [("content-type", "application/json"), ("cache-control", "no-store")], body)
            .into_response()
    }

    /// The signed-in user, signed in at most `MAX_AGE_SECS` ago and not seen from another
    /// context since ([`EdgeUser::signed_in_within`]), else `401 {"error":"recent sign-in
    /// required"}`: for sensitive actions ("sign out other devices", a password change).
    /// The app then asks for the password again, and records it with
    /// [`Edge::step_up`]. For a max age read at startup, [`require_recent_auth`].
    pub struct RequireRecentAuth<const MAX_AGE_SECS: u64>(pub EdgeUser);

    impl<S: Send + Sync, const MAX_AGE_SECS: u64> FromRequestParts<S> for RequireRecentAuth<MAX_AGE_SECS> {
        type Rejection = Response;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
            let edge = Edge::from_request_parts(parts, state).await?;
            require_recent_auth(&edge, MAX_AGE_SECS).map(RequireRecentAuth)
        }
    }

    /// [`RequireRecentAuth`] with a max age known only at run time (from configuration):
    /// the request's user, else the answer the extractor gives, which is this one's
    /// (`RequireUser`'s 401 when anonymous, `401 {"error":"recent sign-in required"}` when
    /// the sign-in is too old or the context changed since). In a handler:
    /// `let user = require_recent_auth(&edge, app.recent_auth_secs)?;`.
    #[allow(
        clippy::result_large_err,
        reason = "the refusal is the answer itself, made once per refused request, as a handler returns it"
    )]
    pub fn require_recent_auth(edge: &Edge, max_age_secs: u64) -> Result<EdgeUser, Response> {
        let user = edge.user().ok_or_else(not_signed_in)?;
        if user.signed_in_within(max_age_secs) {
            return Ok(user.clone());
        }
        Err(unauthorized(r#"{"error":"recent sign-in required"}"#))
    }

    /// The signed-in user, else a 303 to the layer's login page: for pages.
    pub struct RequirePageUser(pub EdgeUser);

    impl<S: Send + Sync> FromRequestParts<S> for RequirePageUser {
        type Rejection = Response;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<RequirePageUser, Response> {
            let edge = Edge::from_request_parts(parts, state).await?;
            edge.user().cloned().map(RequirePageUser).ok_or_else(|| {
                let location = edge.login_page().to_owned();
                (StatusCode::SEE_OTHER, [("location", location.as_str()), ("cache-control", "no-store")])
                    .into_response()
            })
        }
    }
}

#[cfg(feature = "axum")]
pub use extract::{RequirePageUser, RequireRecentAuth, RequireUser, require_recent_auth};

#[cfg(test)]
mod tests {
    use super::{EdgeUser, now};

    fn ada(auth_time: Option<u64>, context_changed: Option<u64>) -> EdgeUser {
        EdgeUser {
            sub: "ada".into(),
            sid: "AQEBAQEBAQEBAQEBAQEBAQ".into(),
            state: "fresh".into(),
            ctx: None,
            context_changed,
            auth_time,
            amr: None,
        }
    }

    #[test]
    fn an_auth_time_more_than_30_s_ahead_is_no_recent_sign_in() {
        // Margins of 10 s around the 30 s of skew: `signed_in_within` reads the clock again.
        let t = now().as_secs();
        assert!(ada(Some(t - 60), None).signed_in_within(300));
        assert!(ada(Some(t + 20), None).signed_in_within(300), "within the clock skew");
        assert!(ada(Some(t + 20), Some(t + 20)).signed_in_within(300), "a change at the sign-in itself");
        // An origin whose clock lags must not take it as recent for longer than max_age:
        // an hour ahead would read as "now" for an hour more than asked.
        assert!(!ada(Some(t + 40), None).signed_in_within(300), "40 s ahead");
        assert!(!ada(Some(t + 3600), None).signed_in_within(300), "an hour ahead");
        assert!(!ada(Some(t + 3600), None).signed_in_within(u64::MAX), "whatever the max age");
        assert!(!ada(Some(u64::MAX), None).signed_in_within(u64::MAX), "no overflow");
        assert!(!ada(None, None).signed_in_within(u64::MAX));
    }
}
