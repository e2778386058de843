use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use edge_session_origin::tower::{Edge, EdgeLayer, EdgeUser, RequireUser};
use edge_session_origin::{AdminClient, LogoutScope, Session};

#[derive(serde::Deserialize)]
struct LoginForm {
    username: String,
}

// 401 {"error":"not signed in"} when anonymous.
async fn me(RequireUser(user): RequireUser) -> Json<EdgeUser> {
    Json(user)
}

async fn login(edge: Edge, Form(form): Form<LoginForm>) -> (StatusCode, &'static str) {
    // Check the password here; then tell the edge who this is.
    match edge.login(&form.username, false, None) {
        Ok(()) => (StatusCode::OK, "signed in\n"),
        Err(_) => (StatusCode::BAD_REQUEST, "open this through the edge\n"),
    }
}

async fn logout(edge: Edge) -> (StatusCode, &'static str) {
    match edge.logout(LogoutScope::Session, None) {
        Ok(()) => (StatusCode::OK, "signed out\n"),
        Err(_) => (StatusCode::BAD_REQUEST, "open this through the edge\n"),
    }
}

// "Your devices": the user's live sessions, from the edge's admin API.
async fn devices(
    State(admin): State<AdminClient>,
    RequireUser(user): RequireUser,
) -> Result<Json<Vec<Session>>, (StatusCode, String)> {
    let sessions = admin.list_sessions(&user.sub).await;
    sessions.map(Json).map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = Router::new()
        .route("/api/me", get(me))
        .route("/api/devices", get(devices))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .layer(EdgeLayer::from_env()?) // ORIGIN_SECRET (and ORIGIN_AUDIENCE)
        .with_state(AdminClient::from_env()?); // EDGE_URL and ORIGIN_SECRET
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://127.0.0.1:{port}");
    axum::serve(listener, app).await?;
    Ok(())
}
