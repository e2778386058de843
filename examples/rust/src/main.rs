//! An axum app behind edge-session, written as an axum user would: the layer once, the
//! extractors in the handlers (`RequireUser` for APIs, `RequirePageUser` for pages).
//! Mid-migration, it still accepts its own (legacy) sessions, kept server-side, and a
//! middleware bridges them to edge sessions (`Edge::adopt`).
//!
//! `ORIGIN_SECRET`, `EDGE_URL` (the app's public URL, for the admin API) and `PORT` come
//! from the environment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use edge_session_origin::tower::{Edge, EdgeLayer, RequirePageUser, RequireUser};
use edge_session_origin::{AdminClient, AdminError, FamilyId, LogoutScope, Revoked};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Clone)]
struct App {
    /// The edge's admin API, at `EDGE_URL`.
    admin: AdminClient,
    /// The app's own sessions from before edge-session: session id → user.
    legacy: Arc<Mutex<HashMap<String, String>>>,
}

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
    match edge.login(&form.username, form.remember.as_deref() == Some("on"), None) {
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
    Json(json!({ "framework": "axum", "sub": user.sub, "sid": user.sid, "state": user.state, "ctx": user.ctx }))
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

async fn revoke(
    State(app): State<App>,
    RequireUser(user): RequireUser,
    Form(form): Form<RevokeForm>,
) -> Result<Json<Revoked>, Response> {
    let sid = FamilyId::parse(&form.sid).ok_or_else(|| (StatusCode::BAD_REQUEST, "not a sid").into_response())?;
    Ok(Json(app.admin.revoke_session(&user.sub, sid).await.map_err(bad_gateway)?))
}

/// "Sign out all other devices": every session of the user but this request's.
async fn sign_out_others(State(app): State<App>, RequireUser(user): RequireUser) -> Result<Json<Revoked>, Response> {
    let this_one = FamilyId::parse(&user.sid);
    Ok(Json(app.admin.revoke_all(&user.sub, this_one).await.map_err(bad_gateway)?))
}

#[tokio::main]
async fn main() {
    let layer = EdgeLayer::from_env().expect("ORIGIN_SECRET").login_page("/login");
    let app = App { admin: AdminClient::from_env().expect("EDGE_URL and ORIGIN_SECRET"), legacy: Arc::default() };
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
        .route_layer(middleware::from_fn_with_state(app.clone(), bridge))
        .with_state(app)
        .layer(layer);
    let port = std::env::var("PORT").unwrap_or_else(|_| "8797".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await.expect("bind");
    println!("axum app on {port}");
    axum::serve(listener, router).await.expect("serve");
}
