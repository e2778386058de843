//! A tower layer for Rust origins behind the edge (feature `tower`): every request gets
//! an [`Edge`] in its extensions (who it is, from the verified assertion), and the
//! directives a handler asks for ([`Edge::login`], [`Edge::logout`]) are put on its
//! response. With feature `axum`, `Edge`, `RequireUser` and `RequirePageUser` are
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
//! // In main: EdgeLayer::from_env()? reads ORIGIN_SECRET and ORIGIN_AUDIENCE.
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

use crate::system::{admin_token, now};
use crate::{
    ASSERTION_HEADER, AdminAction, Adoption, Assertion, EverywhereNeedsSub, FamilyId, KeyRing, KeyRingError,
    LOGIN_HEADER, LOGOUT_HEADER, Login, Logout, LogoutScope, NONCE_HEADER, STATE_HEADER, USER_HEADER, adoption,
};

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

struct Settings {
    /// `ORIGIN_SECRET`: verifies assertions.
    keys: KeyRing,
    /// `DIRECTIVE_SECRET`: signs logins and logouts; `None`: `keys` does.
    directive_keys: Option<KeyRing>,
    /// `ADMIN_SECRET`: signs admin tokens; `None`: `keys` does.
    admin_keys: Option<KeyRing>,
    audience: String,
    login_page: String,
}

impl Settings {
    fn directive_keys(&self) -> &KeyRing {
        self.directive_keys.as_ref().unwrap_or(&self.keys)
    }

    fn admin_keys(&self) -> &KeyRing {
        self.admin_keys.as_ref().unwrap_or(&self.keys)
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
        let settings = Settings {
            keys: KeyRing::parse(origin_secret)?,
            directive_keys: None,
            admin_keys: None,
            audience: audience.into(),
            login_page: "/login".into(),
        };
        Ok(EdgeLayer { settings: Arc::new(settings) })
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

    /// From `ORIGIN_SECRET` and `ORIGIN_AUDIENCE` (default `origin`), and
    /// `DIRECTIVE_SECRET` and `ADMIN_SECRET` when set.
    pub fn from_env() -> Result<EdgeLayer, String> {
        let secret = std::env::var("ORIGIN_SECRET").map_err(|_| "ORIGIN_SECRET is not set".to_owned())?;
        let audience = std::env::var("ORIGIN_AUDIENCE").unwrap_or_else(|_| "origin".into());
        let mut layer = EdgeLayer::new(&secret, &audience).map_err(|e| format!("ORIGIN_SECRET: {e}"))?;
        if let Ok(directive) = std::env::var("DIRECTIVE_SECRET") {
            layer = layer.directive_secret(&directive).map_err(|e| format!("DIRECTIVE_SECRET: {e}"))?;
        }
        if let Ok(admin) = std::env::var("ADMIN_SECRET") {
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

    /// A bearer token for `POST {EDGE_URL}/__edge/admin`: single-use (random `jti`), 60 s.
    /// Send it with your HTTP client (or use `AdminClient`, feature `client`); the answer
    /// is JSON (`sessions`, or `revoked`).
    pub fn admin_token(&self, sub: &str, action: AdminAction) -> String {
        admin_token(self.settings.admin_keys(), sub, action)
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
    S: Service<Request<B>, Response = Response<R>> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let edge = Edge::of(&req, self.settings.clone());
        let directives = edge.directives.clone();
        req.extensions_mut().insert(edge);
        let response = self.inner.call(req);
        Box::pin(async move {
            let mut response = response.await?;
            for (name, value) in directives.lock().expect("directives lock").headers.drain(..) {
                response.headers_mut().insert(name, value);
            }
            Ok(response)
        })
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
    fn of<B>(req: &Request<B>, settings: Arc<Settings>) -> Edge {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let user = match header(ASSERTION_HEADER) {
            Some(token) => match Assertion::verify(token, &settings.keys, &settings.audience, now()) {
                Ok(a) => Some(EdgeUser {
                    sub: a.sub,
                    sid: a.sid,
                    state: a.state,
                    ctx: a.ctx,
                    context_changed: a.context_changed,
                    auth_time: a.auth_time,
                    amr: a.amr,
                }),
                Err(e) => {
                    eprintln!("{}", serde_json::json!({"event": "edge_assertion_rejected", "reason": e.to_string()}));
                    None
                }
            },
            None => {
                if header(USER_HEADER).is_some() {
                    eprintln!("{}", serde_json::json!({"event": "edge_assertion_missing"}));
                }
                None
            }
        };
        let nonce = header(NONCE_HEADER).map(str::to_owned);
        // Raw bytes too: a refusal the adapter cannot read as text still refuses.
        let refusal = req.headers().get(STATE_HEADER).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let refusal = refusal.filter(|_| user.is_none());
        Edge { user, refusal, nonce, settings, directives: Arc::default() }
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
    pub fn login(&self, sub: &str, remember: bool, ctx: Option<Map<String, Value>>) -> Result<(), NotThroughTheEdge> {
        self.login_with(Login { sub: sub.into(), remember, ctx, amr: None, auth_time: None })
    }

    /// [`login`](Self::login) with every field of the directive, `amr` (how the user
    /// proved it, RFC 8176: `pwd`, `otp`…) included; the edge refuses a malformed `amr`.
    pub fn login_with(&self, login: Login) -> Result<(), NotThroughTheEdge> {
        let nonce = self.nonce.as_deref().ok_or(NotThroughTheEdge)?;
        let token = login.sign(self.settings.directive_keys(), now(), nonce);
        // The app's own login replaces any the bridge put there: a logout beside it is then
        // an account switch, and keeps it.
        let mut directives = self.directives.lock().expect("directives lock");
        directives.headers.retain(|(name, _)| name != LOGIN_HEADER);
        directives.adopted = false;
        drop(directives);
        self.set(LOGIN_HEADER, token);
        Ok(())
    }

    /// Logs this session out. `LogoutScope::Everywhere`: every session of `sub`, by default
    /// (`None`) this request's user. Fails for a request that did not come through the edge
    /// (no `X-Edge-Nonce`), and for `Everywhere` without `sub` on an anonymous request.
    pub fn logout(&self, scope: LogoutScope, sub: Option<&str>) -> Result<(), LogoutError> {
        let nonce = self.nonce.as_deref().ok_or(NotThroughTheEdge)?;
        let sub = match (scope, sub) {
            (LogoutScope::Everywhere, None) => self.user.as_ref().map(|user| user.sub.as_str()),
            _ => sub,
        };
        let token = Logout { scope, sub: sub.map(str::to_owned) }.sign(self.settings.directive_keys(), now(), nonce)?;
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
                eprintln!("{}", serde_json::json!({"event": "edge_adopt_refused", "refusal": self.refusal()}));
                false
            }
            Adoption::NotThroughTheEdge => {
                eprintln!("{}", serde_json::json!({"event": "edge_adopt_no_nonce"}));
                false
            }
        }
    }

    /// An admin token for this request's user (`None` when anonymous): `list`, revoke one
    /// session, or revoke every session but one.
    pub fn admin_token(&self, action: AdminAction) -> Option<String> {
        Some(admin_token(self.settings.admin_keys(), &self.user()?.sub, action))
    }

    /// "Sign out all other devices": `revoke_all` except this request's session.
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
            edge.user().cloned().map(RequireUser).ok_or_else(|| {
                let body = r#"{"error":"not signed in"}"#;
                (StatusCode::UNAUTHORIZED, [("content-type", "application/json"), ("cache-control", "no-store")], body)
                    .into_response()
            })
        }
    }

    /// The signed-in user, signed in at most `MAX_AGE_SECS` ago and not seen from another
    /// context since ([`EdgeUser::signed_in_within`]), else `401 {"error":"recent sign-in
    /// required"}`: for sensitive actions ("sign out other devices", a password change).
    /// The app then sends the user to sign in again.
    pub struct RequireRecentAuth<const MAX_AGE_SECS: u64>(pub EdgeUser);

    impl<S: Send + Sync, const MAX_AGE_SECS: u64> FromRequestParts<S> for RequireRecentAuth<MAX_AGE_SECS> {
        type Rejection = Response;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
            let RequireUser(user) = RequireUser::from_request_parts(parts, state).await?;
            if user.signed_in_within(MAX_AGE_SECS) {
                return Ok(RequireRecentAuth(user));
            }
            let body = r#"{"error":"recent sign-in required"}"#;
            Err((StatusCode::UNAUTHORIZED, [("content-type", "application/json"), ("cache-control", "no-store")], body)
                .into_response())
        }
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
pub use extract::{RequirePageUser, RequireRecentAuth, RequireUser};
