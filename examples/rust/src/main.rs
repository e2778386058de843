//! An axum app behind edge-session, written as an axum user would: the layer once, the
//! extractors in the handlers (`RequireUser` for APIs, `RequirePageUser` for pages).
//!
//! `ORIGIN_SECRET`, `EDGE_URL` (the app's public URL, for the admin API) and `PORT` come
//! from the environment.

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use edge_session::origin::AdminAction;
use edge_session::origin::LogoutScope;
use edge_session::origin::tower::{Edge, EdgeLayer, RequirePageUser, RequireUser};
use edge_session::session::FamilyId;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Clone)]
struct App {
    edge_url: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    #[serde(default)]
    remember: Option<String>,
}

async fn home(edge: Edge) -> Json<Value> {
    Json(json!({ "framework": "axum", "user": edge.user() }))
}

async fn login(edge: Edge, Form(form): Form<LoginForm>) -> Response {
    match edge.login(&form.username, form.remember.as_deref() == Some("on"), None) {
        Ok(()) => Redirect::to("/").into_response(), // 303 See Other
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn logout(edge: Edge) -> Response {
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

/// POSTs an admin token to the edge; a refusal becomes a 502 naming it.
async fn admin(app: &App, token: Option<String>) -> Result<Value, Response> {
    let token = token.ok_or_else(|| StatusCode::UNAUTHORIZED.into_response())?;
    let answer = app
        .http
        .post(format!("{}/__edge/admin", app.edge_url.trim_end_matches('/')))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()).into_response())?;
    let status = answer.status();
    let body: Value = serde_json::from_slice(&answer.bytes().await.unwrap_or_default()).unwrap_or(Value::Null);
    if !status.is_success() {
        return Err((StatusCode::BAD_GATEWAY, format!("edge admin API answered {status}: {body}")).into_response());
    }
    Ok(body)
}

async fn devices(State(app): State<App>, edge: Edge, RequireUser(user): RequireUser) -> Result<Json<Value>, Response> {
    let list = admin(&app, edge.admin_token(AdminAction::List)).await?;
    Ok(Json(json!({ "current": user.sid, "sessions": list["sessions"] })))
}

#[derive(Deserialize)]
struct RevokeForm {
    sid: String,
}

async fn revoke(
    State(app): State<App>,
    edge: Edge,
    _: RequireUser,
    Form(form): Form<RevokeForm>,
) -> Result<Json<Value>, Response> {
    let family = FamilyId::parse(&form.sid).ok_or_else(|| (StatusCode::BAD_REQUEST, "not a sid").into_response())?;
    Ok(Json(admin(&app, edge.admin_token(AdminAction::Revoke { family })).await?))
}

async fn sign_out_others(State(app): State<App>, edge: Edge, _: RequireUser) -> Result<Json<Value>, Response> {
    Ok(Json(admin(&app, edge.sign_out_others_token()).await?))
}

#[tokio::main]
async fn main() {
    let layer = EdgeLayer::from_env().expect("ORIGIN_SECRET").login_page("/login");
    let app = App { edge_url: std::env::var("EDGE_URL").expect("EDGE_URL"), http: reqwest::Client::new() };
    let router = Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/api/me", get(me))
        .route("/account", get(account))
        .route("/api/devices", get(devices))
        .route("/api/devices/revoke", post(revoke))
        .route("/api/devices/sign-out-others", post(sign_out_others))
        .with_state(app)
        .layer(layer);
    let port = std::env::var("PORT").unwrap_or_else(|_| "8797".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await.expect("bind");
    println!("axum app on {port}");
    axum::serve(listener, router).await.expect("serve");
}
