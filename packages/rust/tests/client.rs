//! The admin client (feature `client`) against a real HTTP server that answers like the
//! edge's `POST /__edge/admin` (src/shell/admin_api.rs): it checks each bearer token
//! twice, with an independent HMAC check and with the crate's own verifier, refuses a
//! token it has seen, and keeps a user's sessions in memory.
#![cfg(feature = "client")]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::routing::{any, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use edge_session_origin::{
    AdminAction, AdminClient, AdminError, AdminRequest, ClientConfigError, FamilyId, KeyRing, Session, Timestamp,
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "o1:0123456789abcdef0123456789abcdef";

#[derive(Clone, Default)]
struct Edge {
    sessions: Arc<Mutex<HashMap<String, Vec<Session>>>>,
    seen_jti: Arc<Mutex<HashSet<String>>>,
}

fn session(n: u8, user_agent: Option<&str>) -> Session {
    Session {
        sid: FamilyId::from_bytes([n; 16]).to_string(),
        created_at: 1_700_000_000 + u64::from(n),
        last_seen: 1_700_000_100 + u64::from(n),
        remember: n == 2,
        device_bound: n == 3,
        user_agent: user_agent.map(str::to_owned),
        browser: user_agent.map(|_| "curl".to_owned()),
        os: None,
        country: (n == 1).then(|| "CH".to_owned()),
    }
}

/// HS256 recomputed with `hmac` alone, as any JWT library would: not the crate's code.
fn independently_signed(token: &str) -> bool {
    let Some((input, tag)) = token.rsplit_once('.') else { return false };
    let Some((header, _)) = input.split_once('.') else { return false };
    let header: Value = serde_json::from_slice(&B64.decode(header).unwrap_or_default()).unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.split_once(':').unwrap().1.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    header["alg"] == "HS256"
        && header["typ"] == "edge-admin+jwt"
        && mac.verify_slice(&B64.decode(tag).unwrap_or_default()).is_ok()
}

/// The edge's answers: 401 for a bad token, 409 for a replayed one, the list, or what was revoked.
async fn admin_api(State(edge): State<Edge>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let token = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let keys = KeyRing::parse(SECRET).unwrap();
    let now = Timestamp::from(std::time::SystemTime::now());
    let verified = token.filter(|t| independently_signed(t)).and_then(|t| AdminRequest::verify(t, &keys, now).ok());
    let Some(request) = verified else {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "invalid token" })));
    };
    if !edge.seen_jti.lock().unwrap().insert(request.jti.clone()) {
        return (StatusCode::CONFLICT, Json(json!({ "error": "token already used" })));
    }
    let mut all = edge.sessions.lock().unwrap();
    let sessions = all.entry(request.sub.clone()).or_default();
    let before = sessions.len();
    match request.action {
        AdminAction::List => return (StatusCode::OK, Json(json!({ "sub": request.sub, "sessions": sessions }))),
        AdminAction::Revoke { family } => sessions.retain(|s| s.sid != family.to_string()),
        AdminAction::RevokeAll { except } => sessions.retain(|s| Some(s.sid.clone()) == except.map(|e| e.to_string())),
    }
    let revoked = before - sessions.len();
    if revoked == 0 && matches!(request.action, AdminAction::Revoke { .. }) {
        let body = json!({ "error": "no such session for this user", "revoked": 0, "pending": 0 });
        return (StatusCode::NOT_FOUND, Json(body));
    }
    (StatusCode::OK, Json(json!({ "revoked": revoked, "pending": 0 })))
}

/// A server on a free port with ada's three sessions; its base URL.
async fn edge() -> String {
    let edge = Edge::default();
    let ada = vec![session(1, Some("Firefox")), session(2, None), session(3, Some("Safari"))];
    edge.sessions.lock().unwrap().insert("ada".into(), ada);
    serve(Router::new().route("/__edge/admin", post(admin_api)).with_state(edge)).await
}

/// Serves `app` on a free port; its base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test]
async fn lists_the_users_sessions_in_the_shape_the_edge_answers() {
    let admin = AdminClient::new(&format!("{}/", edge().await), SECRET).unwrap();
    let sessions = admin.list_sessions("ada").await.unwrap();
    assert_eq!(sessions, vec![session(1, Some("Firefox")), session(2, None), session(3, Some("Safari"))]);
    assert_eq!(admin.list_sessions("nobody").await.unwrap(), vec![]);
}

#[tokio::test]
async fn revokes_one_session_then_all_but_the_current_one() {
    let admin = AdminClient::new(&edge().await, SECRET).unwrap();
    let [two, three] = [2, 3].map(|n| FamilyId::from_bytes([n; 16]));
    let revoked = admin.revoke_session("ada", two).await.unwrap();
    assert_eq!((revoked.revoked, revoked.pending), (1, 0));
    let err = admin.revoke_session("ada", two).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(matches!(&err, AdminError::Refused { body, .. } if body["revoked"] == 0), "{err:?}");
    assert_eq!(err.to_string(), "edge admin API answered 404: no such session for this user");
    assert_eq!(admin.revoke_all("ada", Some(three)).await.unwrap().revoked, 1);
    let left: Vec<String> = admin.list_sessions("ada").await.unwrap().into_iter().map(|s| s.sid).collect();
    assert_eq!(left, vec![three.to_string()]);
    assert_eq!(admin.revoke_all("ada", None).await.unwrap().revoked, 1);
    assert!(admin.list_sessions("ada").await.unwrap().is_empty());
}

#[tokio::test]
async fn every_call_signs_a_fresh_token() {
    let admin = AdminClient::new(&edge().await, SECRET).unwrap();
    for _ in 0..3 {
        admin.list_sessions("ada").await.expect("no jti is used twice");
    }
}

#[tokio::test]
async fn a_refusal_carries_the_status_and_body() {
    let wrong_secret = AdminClient::new(&edge().await, "o1:fedcba9876543210fedcba9876543210").unwrap();
    match wrong_secret.list_sessions("ada").await {
        Err(AdminError::Refused { status: 401, body }) => assert_eq!(body, json!({ "error": "invalid token" })),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn what_is_not_the_edge_is_an_error_not_a_panic() {
    // An app that is not behind the edge answers its own admin path with a page.
    let base = serve(Router::new().route("/__edge/admin", post(|| async { "<html>a login page</html>" }))).await;
    let not_the_edge = AdminClient::new(&base, SECRET).unwrap();
    let err = not_the_edge.list_sessions("ada").await.unwrap_err();
    assert!(
        matches!(&err, AdminError::UnexpectedAnswer { status: 200, body } if body.contains("login page")),
        "{err:?}"
    );

    // A port nobody listens on: bound, then released.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let unreachable = AdminClient::new(&format!("http://{closed}"), SECRET).unwrap();
    let err = unreachable.list_sessions("ada").await.unwrap_err();
    assert!(matches!(err, AdminError::Http(_)) && err.status().is_none(), "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn a_malformed_secret_or_edge_url_is_refused_up_front() {
    assert!(matches!(AdminClient::new("http://localhost", "not a ring"), Err(ClientConfigError::OriginSecret(_))));
    // A path would send the token where the edge does not answer: to the origin.
    let with_path = AdminClient::new("http://localhost/app", SECRET);
    assert!(matches!(with_path, Err(ClientConfigError::EdgeUrl(_))));
}

#[test]
fn swapped_arguments_never_put_the_secret_in_the_error() {
    let err = AdminClient::new(SECRET, "http://localhost:8787").unwrap_err();
    assert!(matches!(err, ClientConfigError::EdgeUrl(_)), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("0123456789abcdef"), "{shown}");
    assert_eq!(
        err.to_string(),
        "EDGE_URL must be http(s)://host[:port], with no path, query, fragment or credentials: \
         the scheme is not http or https"
    );
}

#[tokio::test]
async fn a_redirect_is_refused_and_the_token_never_reaches_where_it_points() {
    for status in [301, 302, 303, 307, 308] {
        // What reaches /elsewhere, by any method: nothing may.
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let elsewhere = {
            let seen = Arc::clone(&seen);
            move |method: Method, headers: HeaderMap| {
                seen.lock().unwrap().push(format!("{method} {:?}", headers.get("authorization")));
                async { Json(json!({ "revoked": 1, "pending": 0 })) }
            }
        };
        let redirect =
            move || async move { (StatusCode::from_u16(status).unwrap(), [(header::LOCATION, "/elsewhere")]) };
        let base =
            serve(Router::new().route("/__edge/admin", post(redirect)).route("/elsewhere", any(elsewhere))).await;
        let admin = AdminClient::new(&base, SECRET).unwrap();
        let err = admin.revoke_all("ada", None).await.unwrap_err();
        assert!(matches!(&err, AdminError::Refused { status: s, .. } if *s == status), "{status}: {err:?}");
        assert_eq!(*seen.lock().unwrap(), Vec::<String>::new(), "{status}");
    }
}
