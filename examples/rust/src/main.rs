//! An axum app behind edge-session, written as an axum user would: the layer once, the
//! extractors in the handlers (`RequireUser` for APIs, `RequirePageUser` for pages).
//! Mid-migration, it still accepts its own (legacy) sessions, kept server-side, and a
//! middleware bridges them to edge sessions (`Edge::adopt`).
//!
//! `ORIGIN_SECRET`, `EDGE_URL` (the app's public URL, for the admin API) and `PORT` come
//! from the environment; `EVENTS_SECRET` too, for the security events on `POST /events`,
//! and `RECENT_AUTH_SECS` (default 600), how recent a sign-in signing devices out needs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Form, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use edge_session_origin::tower::{Edge, EdgeLayer, RequirePageUser, RequireUser, require_recent_auth};
use edge_session_origin::{
    AdminClient, AdminError, FamilyId, KeyRing, Login, LogoutScope, Revoked, SecurityEvent, Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Clone)]
struct App {
    /// The edge's admin API, at `EDGE_URL`.
    admin: AdminClient,
    /// The app's own sessions from before edge-session: session id → user.
    legacy: Arc<Mutex<HashMap<String, String>>>,
    events: Events,
    /// Signing other devices out asks for a sign-in at most this old (seconds).
    recent_auth_secs: u64,
}

/// Security events: the edge POSTs each one to `/events` (its `EVENTS_URL`), signed with
/// `EVENTS_SECRET`, at least once. The stores are in memory for the example only: in
/// production they live in the database the app's instances share (a unique jti column).
#[derive(Clone)]
struct Events {
    /// The `EVENTS_SECRET` ring (never `ORIGIN_SECRET`'s); without one, `/events` answers 500.
    keys: Option<Arc<KeyRing>>,
    /// The edge's `ORIGIN_AUDIENCE`.
    audience: String,
    /// jti → when it came: a redelivery has the same jti, for up to a day.
    seen: Arc<Mutex<HashMap<String, u64>>>,
    /// sub → the user's notices, newest first.
    notices: Arc<Mutex<HashMap<String, Vec<Notice>>>>,
    /// A test knob for "a receiver that is down for a while" (`EVENTS_FAIL_FIRST=n`): the
    /// first n deliveries get a 503 unread, and the edge retries them (2 s, 5 s, 10 s, …).
    fail_first: Arc<AtomicI64>,
}

#[derive(Clone, Serialize)]
struct Notice {
    jti: String,
    #[serde(rename = "type")]
    kind: String,
    text: String,
    sid: String,
    time: u64,
}

const DAY_SECS: u64 = 86_400;

const LEGACY_COOKIE: &str = "legacy_session";

/// The legacy user a request carried, as the bridge found it (before ending it).
#[derive(Clone)]
struct LegacyUser(Option<String>);

fn legacy_id(req: &Request) -> Option<String> {
    let cookies = req.headers().get(COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|pair| pair.trim().strip_prefix(&format!("{LEGACY_COOKIE}="))).map(str::to_owned)
}

/// The bridge, on every request but logout (whose directive ends the session; a login
/// beside it would undo that). A legacy session without an edge identity is logged in at
/// the edge by this response, and ended in this same response: it is deleted server-side,
/// so a copy of its cookie is worth nothing, and its cookie cleared. It is ended too once
/// the edge identifies the browser, or when the edge refused the edge cookie beside it.
/// Remove this, and `/legacy-login`, once your users have moved.
async fn bridge(State(app): State<App>, edge: Edge, mut req: Request, next: Next) -> Response {
    let id = legacy_id(&req);
    let user = id.as_ref().and_then(|id| app.legacy.lock().expect("legacy sessions").get(id).cloned());
    req.extensions_mut().insert(LegacyUser(user.clone()));
    let ends = user.is_some()
        && req.uri().path() != "/logout"
        && (edge.adopt(user.as_deref()) || edge.user().is_some() || edge.refusal().is_some());
    let mut response = next.run(req).await;
    if let (true, Some(id)) = (ends, id) {
        app.legacy.lock().expect("legacy sessions").remove(&id);
        let cleared = format!("{LEGACY_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
        response.headers_mut().append(SET_COOKIE, HeaderValue::from_str(&cleared).expect("a cookie line"));
    }
    response
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    #[serde(default)]
    remember: Option<String>,
}

async fn home(edge: Edge, Extension(LegacyUser(legacy)): Extension<LegacyUser>) -> Json<Value> {
    Json(json!({ "framework": "axum", "user": edge.user(), "legacy": legacy }))
}

/// How this app logged users in before edge-session: a server-side session and its cookie.
async fn legacy_login(State(app): State<App>, Form(form): Form<LoginForm>) -> Response {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).expect("OS randomness");
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    app.legacy.lock().expect("legacy sessions").insert(id.clone(), form.username);
    let cookie = format!("{LEGACY_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax");
    ([(SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

async fn login(edge: Edge, Form(form): Form<LoginForm>) -> Response {
    // … after checking the password: `amr` says how the user proved who they are.
    let remember = form.remember.as_deref() == Some("on");
    let login = Login { sub: form.username, remember, ctx: None, amr: Some(vec!["pwd".into()]), auth_time: None };
    match edge.login_with(login) {
        Ok(()) => Redirect::to("/").into_response(), // 303 See Other
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn logout(State(app): State<App>, edge: Edge, req: Request) -> Response {
    // The legacy session ends too, or the bridge would log its user straight back in.
    if let Some(id) = legacy_id(&req) {
        app.legacy.lock().expect("legacy sessions").remove(&id);
    }
    match edge.logout(LogoutScope::Session, None) {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn me(RequireUser(user): RequireUser) -> Json<Value> {
    // sub, sid, state, ctx, context_changed, auth_time and amr.
    let mut me = serde_json::to_value(user).expect("a user serializes");
    me["framework"] = "axum".into();
    Json(me)
}

async fn account(RequirePageUser(user): RequirePageUser) -> String {
    format!("Account of {}", user.sub)
}

/// The edge refused an admin call, or did not answer: a 502 naming it.
fn bad_gateway(e: AdminError) -> Response {
    (StatusCode::BAD_GATEWAY, e.to_string()).into_response()
}

async fn devices(State(app): State<App>, RequireUser(user): RequireUser) -> Result<Json<Value>, Response> {
    let sessions = app.admin.list_sessions(&user.sub).await.map_err(bad_gateway)?;
    Ok(Json(json!({ "current": user.sid, "sessions": sessions })))
}

#[derive(Deserialize)]
struct RevokeForm {
    sid: String,
}

/// Signing a device out needs a recent sign-in (`RECENT_AUTH_SECS`): else 401
/// `{"error":"recent sign-in required"}`, and the app asks "confirm it's you" (`/confirm`).
async fn revoke(State(app): State<App>, edge: Edge, Form(form): Form<RevokeForm>) -> Result<Json<Revoked>, Response> {
    let user = require_recent_auth(&edge, app.recent_auth_secs)?;
    let sid = FamilyId::parse(&form.sid).ok_or_else(|| (StatusCode::BAD_REQUEST, "not a sid").into_response())?;
    Ok(Json(app.admin.revoke_session(&user.sub, sid).await.map_err(bad_gateway)?))
}

/// "Sign out all other devices": every session of the user but this request's.
async fn sign_out_others(State(app): State<App>, edge: Edge) -> Result<Json<Revoked>, Response> {
    let user = require_recent_auth(&edge, app.recent_auth_secs)?;
    let this_one = FamilyId::parse(&user.sid);
    Ok(Json(app.admin.revoke_all(&user.sub, this_one).await.map_err(bad_gateway)?))
}

/// "Confirm it's you": where a sensitive action sends a user whose sign-in is not recent.
/// After checking the password again, the step-up moves this session's `auth_time` to now
/// (the same session: its sid, its place in "your devices").
/// This example has no passwords: check one here, or anyone holding the session (a copied
/// cookie jar too) makes itself recent.
async fn confirm(RequireUser(_): RequireUser, edge: Edge) -> Response {
    match edge.step_up(Some(vec!["pwd".into()])) {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

/// The notice an event becomes, or `None` (`session.revoked`: the user or the app asked for it).
fn notice_text(event: &SecurityEvent) -> Option<String> {
    let known = |field: &Option<String>| field.as_deref().unwrap_or("unknown").to_owned();
    let device = &event.device;
    let place = format!("{} on {}, {}", known(&device.browser), known(&device.os), known(&device.country));
    match event.kind.as_str() {
        "session.created" => Some(format!("New sign-in: {place}")),
        "session.reuse_detected" | "session.copied_jar" | "session.context_changed" => {
            Some(format!("Was this you? {} from {place}", event.kind))
        }
        _ => None, // and a type this app does not know (a later edge may add some)
    }
}

/// `POST /events`: the webhook. The body is the JWS, as bytes (not UTF-8 does not verify).
async fn receive_event(State(app): State<App>, body: Bytes) -> StatusCode {
    let events = app.events;
    if events.fail_first.fetch_sub(1, Ordering::SeqCst) > 0 {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let Some(keys) = &events.keys else { return StatusCode::INTERNAL_SERVER_ERROR };
    let now = Timestamp::from(SystemTime::now());
    let verified =
        std::str::from_utf8(&body).ok().and_then(|body| SecurityEvent::verify(body, keys, &events.audience, now).ok());
    let Some(event) = verified else { return StatusCode::UNAUTHORIZED };
    {
        let mut seen = events.seen.lock().expect("seen events");
        seen.retain(|_, at| *at + DAY_SECS > now.as_secs());
        if seen.insert(event.jti.clone(), now.as_secs()).is_some() {
            return StatusCode::NO_CONTENT; // a duplicate: dropped (a 2xx, or the edge retries it)
        }
    }
    if let Some(text) = notice_text(&event) {
        let notice = Notice { jti: event.jti, kind: event.kind, text, sid: event.sid, time: event.time };
        let mut notices = events.notices.lock().expect("notices");
        let mine = notices.entry(event.sub).or_default();
        mine.insert(0, notice);
        // Newest first by the event's time (a retried one can arrive late); 50 per user.
        mine.sort_by_key(|notice| std::cmp::Reverse(notice.time));
        mine.truncate(50);
    }
    StatusCode::NO_CONTENT
}

async fn notices(State(app): State<App>, RequireUser(user): RequireUser) -> Json<Vec<Notice>> {
    let notices = app.events.notices.lock().expect("notices");
    Json(notices.get(&user.sub).cloned().unwrap_or_default())
}

#[tokio::main]
async fn main() {
    let layer =
        EdgeLayer::from_env().unwrap_or_else(|e| panic!("edge-session configuration: {e}")).login_page("/login");
    let events = Events {
        keys: std::env::var("EVENTS_SECRET").ok().map(|s| Arc::new(KeyRing::parse(&s).expect("EVENTS_SECRET"))),
        audience: std::env::var("ORIGIN_AUDIENCE").unwrap_or_else(|_| "origin".into()),
        seen: Arc::default(),
        notices: Arc::default(),
        fail_first: Arc::new(AtomicI64::new(
            std::env::var("EVENTS_FAIL_FIRST").map_or(0, |n| n.parse().expect("a number")),
        )),
    };
    let admin = AdminClient::from_env().expect("EDGE_URL, and ADMIN_SECRET or ORIGIN_SECRET");
    let recent_auth_secs = std::env::var("RECENT_AUTH_SECS").map_or(600, |secs| secs.parse().expect("a number"));
    let app = App { admin, legacy: Arc::default(), events, recent_auth_secs };
    let router = Router::new()
        .route("/", get(home))
        .route("/legacy-login", post(legacy_login))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/api/me", get(me))
        .route("/account", get(account))
        .route("/api/devices", get(devices))
        .route("/api/devices/revoke", post(revoke))
        .route("/api/devices/sign-out-others", post(sign_out_others))
        .route("/confirm", post(confirm))
        .route("/events", post(receive_event))
        .route("/api/notices", get(notices))
        .route_layer(middleware::from_fn_with_state(app.clone(), bridge))
        .with_state(app)
        .layer(layer);
    let port = std::env::var("PORT").unwrap_or_else(|_| "8797".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await.expect("bind");
    println!("axum app on {port}");
    axum::serve(listener, router).await.expect("serve");
}
