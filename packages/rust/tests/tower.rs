//! The Rust origin's tower layer (feature `tower`) and axum extractors (feature `axum`),
//! around a service that records what the handler saw: identity from a real signed
//! assertion, anonymity (never a panic) for a forged or missing one, directives put on
//! the response, and the extractors' rejections.
#![cfg(feature = "axum")]

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Request, Response, StatusCode};
use edge_session_origin::tower::{Edge, EdgeLayer, RequirePageUser, RequireUser};
use edge_session_origin::{
    Assertion, FamilyId, Identity, KeyRing, Login, Logout, LogoutScope, RequestNonce, Timestamp,
};
use tower_layer::Layer;
use tower_service::Service;

const SECRET: &str = "o1:0123456789abcdef0123456789abcdef";

/// The handler: logs in whoever the form says when asked, and answers who it saw.
#[derive(Clone)]
struct Handler;

impl Service<Request<String>> for Handler {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<String>) -> Self::Future {
        let edge = req.extensions().get::<Edge>().expect("the layer sets Edge").clone();
        let body = match req.body().as_str() {
            "login" => {
                edge.login("bob", false, None).map(|()| "logged in".to_owned()).unwrap_or_else(|e| e.to_string())
            }
            "logout" => {
                edge.logout(LogoutScope::Session, None).map(|()| "out".to_owned()).unwrap_or_else(|e| e.to_string())
            }
            "logout everywhere" => {
                edge.logout(LogoutScope::Everywhere, None).map(|()| "out".to_owned()).unwrap_or_else(|e| e.to_string())
            }
            "logout everywhere as bob" => edge
                .logout(LogoutScope::Everywhere, Some("bob"))
                .map(|()| "out".to_owned())
                .unwrap_or_else(|e| e.to_string()),
            // A bridge in a global hook, then the handler: in either order.
            "adopt, logout" => {
                let adopted = edge.adopt(Some("lee"));
                edge.logout(LogoutScope::Session, None).unwrap();
                format!("adopted {adopted}")
            }
            "logout, adopt" => {
                edge.logout(LogoutScope::Session, None).unwrap();
                format!("adopted {}", edge.adopt(Some("lee")))
            }
            "adopt, login, logout" => {
                edge.adopt(Some("lee"));
                edge.login("bob", false, None).unwrap();
                edge.logout(LogoutScope::Session, None).unwrap();
                "switched".to_owned()
            }
            "login, logout" => {
                edge.login("bob", false, None).unwrap();
                edge.logout(LogoutScope::Session, None).unwrap();
                "switched".to_owned()
            }
            "adopt" => format!("adopted {} refusal {:?}", edge.adopt(Some("lee")), edge.refusal()),
            _ => edge.user().map_or("anonymous".to_owned(), |u| format!("{} {} {}", u.sub, u.sid, u.state)),
        };
        ready(Ok(Response::new(body)))
    }
}

fn now() -> Timestamp {
    Timestamp::from(std::time::SystemTime::now())
}

fn assertion(secret: &str) -> String {
    let keys = KeyRing::parse(secret).unwrap();
    let ada = Identity { sub: "ada".into(), ctx: None, auth_time: None, amr: None };
    Assertion::new(&ada, FamilyId::from_bytes([1; 16]), "grace", "origin", now(), [2; 16]).sign(&keys)
}

fn call(req: Request<String>) -> Response<String> {
    let mut service = EdgeLayer::new(SECRET, "origin").unwrap().layer(Handler);
    let future = service.call(req);
    futures_executor(future).unwrap()
}

/// A service answering with what its function makes of the request's parts: for the
/// extractors, which run on parts.
#[derive(Clone)]
struct Inspect(fn(Parts) -> Pin<Box<dyn Future<Output = String> + Send>>);

impl Service<Request<String>> for Inspect {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<String>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<String>) -> Self::Future {
        let (parts, _) = req.into_parts();
        let inspect = self.0;
        Box::pin(async move { Ok(Response::new(inspect(parts).await)) })
    }
}

/// Polls a future to completion on this thread (the handler is synchronous).
fn futures_executor<F: std::future::Future>(future: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn a_valid_assertion_is_the_user_and_anything_else_is_anonymous() {
    let good = Request::builder().header("x-edge-assertion", assertion(SECRET)).body(String::new()).unwrap();
    assert_eq!(call(good).body(), &format!("ada {} grace", FamilyId::from_bytes([1; 16])));
    let other_key = assertion("o1:fedcba9876543210fedcba9876543210");
    for token in [other_key.as_str(), "e30.e30.AAAA", "not a jwt", ""] {
        let req = Request::builder().header("x-edge-assertion", token).header("x-edge-user", "mallory");
        assert_eq!(call(req.body(String::new()).unwrap()).body(), "anonymous", "{token}");
    }
    let spoofed = Request::builder().header("x-edge-user", "mallory").body(String::new()).unwrap();
    assert_eq!(call(spoofed).body(), "anonymous");
}

#[test]
fn a_login_is_put_on_the_response_bound_to_the_requests_nonce() {
    let nonce = RequestNonce::from_bytes([5; 16]);
    let req = Request::builder().header("x-edge-nonce", nonce.as_str()).body("login".to_owned()).unwrap();
    let response = call(req);
    let token = response.headers().get("x-edge-login").expect("a login directive").to_str().unwrap();
    let login = Login::verify(token, &KeyRing::parse(SECRET).unwrap(), now(), &nonce).unwrap();
    assert_eq!(login.sub, "bob");
    let other = RequestNonce::from_bytes([6; 16]);
    assert!(
        Login::verify(token, &KeyRing::parse(SECRET).unwrap(), now(), &other).is_err(),
        "it answers that request only"
    );
}

#[test]
fn the_bridge_never_logs_a_refused_jar_or_a_logout_back_in() {
    let nonce = RequestNonce::from_bytes([5; 16]);
    let ask = |body: &str, state: Option<&str>| {
        let mut req = Request::builder().header("x-edge-nonce", nonce.as_str());
        if let Some(state) = state {
            req = req.header("x-edge-session-state", state);
        }
        let response = call(req.body(body.to_owned()).unwrap());
        let has = |name| response.headers().contains_key(name);
        (response.body().clone(), has("x-edge-login"), has("x-edge-logout"))
    };
    assert_eq!(ask("adopt", None), ("adopted true refusal None".into(), true, false));
    assert_eq!(ask("adopt", Some("ended")), ("adopted false refusal Some(\"ended\")".into(), false, false));
    // The logout wins over the bridge's login, whichever came first; an app's own login
    // beside a logout is an account switch, and stays.
    assert_eq!(ask("adopt, logout", None), ("adopted true".into(), false, true));
    assert_eq!(ask("logout, adopt", None), ("adopted false".into(), false, true));
    assert_eq!(ask("login, logout", None), ("switched".into(), true, true));
    assert_eq!(
        ask("adopt, login, logout", None),
        ("switched".into(), true, true),
        "the app's login replaced the bridge's"
    );
}

#[test]
fn logout_everywhere_ends_every_session_of_the_requests_user_and_needs_one() {
    let nonce = RequestNonce::from_bytes([5; 16]);
    let ask = |body: &str, signed_in: bool| {
        let mut req = Request::builder().header("x-edge-nonce", nonce.as_str());
        if signed_in {
            req = req.header("x-edge-assertion", assertion(SECRET));
        }
        let response = call(req.body(body.to_owned()).unwrap());
        let logout = response.headers().get("x-edge-logout").map(|token| {
            Logout::verify(token.to_str().unwrap(), &KeyRing::parse(SECRET).unwrap(), now(), &nonce).unwrap()
        });
        (response.body().clone(), logout)
    };
    let everywhere = |sub: &str| Some(Logout { sub: Some(sub.into()), scope: LogoutScope::Everywhere });
    assert_eq!(ask("logout everywhere", true), ("out".into(), everywhere("ada")), "the request's user");
    assert_eq!(ask("logout everywhere as bob", true), ("out".into(), everywhere("bob")), "an explicit sub stays");
    assert_eq!(ask("logout everywhere as bob", false), ("out".into(), everywhere("bob")));
    assert_eq!(ask("logout", true), ("out".into(), Some(Logout { sub: None, scope: LogoutScope::Session })));
    // Anonymous: whose sessions? An error the handler sees, and nothing on the response.
    assert_eq!(ask("logout everywhere", false), ("scope everywhere needs sub".into(), None));
}

#[test]
fn a_directive_without_a_nonce_is_refused_not_sent() {
    let response = call(Request::builder().body("login".to_owned()).unwrap());
    assert!(response.headers().get("x-edge-login").is_none());
    assert!(response.body().contains("X-Edge-Nonce"), "{}", response.body());
    let response = call(Request::builder().body("logout".to_owned()).unwrap());
    assert!(response.headers().get("x-edge-logout").is_none());
}

#[test]
fn the_extractors_answer_401_for_an_api_and_a_redirect_for_a_page() {
    let layer = EdgeLayer::new(SECRET, "origin").unwrap().login_page("/sign-in");
    let mut service = layer.layer(Inspect(|mut parts| {
        Box::pin(async move {
            let api = RequireUser::from_request_parts(&mut parts, &()).await.err().unwrap();
            let page = RequirePageUser::from_request_parts(&mut parts, &()).await.err().unwrap();
            format!("{} {} {:?}", api.status(), page.status(), page.headers().get("location"))
        })
    }));
    let response = futures_executor(service.call(Request::builder().body(String::new()).unwrap())).unwrap();
    assert_eq!(
        response.body(),
        &format!("{} {} {:?}", StatusCode::UNAUTHORIZED, StatusCode::SEE_OTHER, Some("/sign-in"))
    );
}

#[test]
fn with_a_directive_and_an_admin_secret_the_layer_signs_with_them_and_verifies_with_origin_secret() {
    const DIRECTIVE: &str = "d1:directive-0123456789abcdef0123456789";
    const ADMIN: &str = "a1:admin-0123456789abcdef0123456789abcd";
    let layer =
        EdgeLayer::new(SECRET, "origin").unwrap().directive_secret(DIRECTIVE).unwrap().admin_secret(ADMIN).unwrap();
    let token = layer.admin_token("ada", edge_session_origin::AdminAction::List);
    let now = now();
    assert!(edge_session_origin::AdminRequest::verify(&token, &KeyRing::parse(ADMIN).unwrap(), now).is_ok());
    assert!(edge_session_origin::AdminRequest::verify(&token, &KeyRing::parse(SECRET).unwrap(), now).is_err());
    let nonce = RequestNonce::from_bytes([5; 16]);
    let req = Request::builder()
        .header("x-edge-nonce", nonce.as_str())
        .header("x-edge-assertion", assertion(SECRET))
        .body("login".to_owned())
        .unwrap();
    let response = futures_executor(layer.layer(Handler).call(req)).unwrap();
    let login = response.headers().get("x-edge-login").unwrap().to_str().unwrap();
    assert!(Login::verify(login, &KeyRing::parse(DIRECTIVE).unwrap(), now, &nonce).is_ok());
    assert!(Login::verify(login, &KeyRing::parse(SECRET).unwrap(), now, &nonce).is_err(), "not ORIGIN_SECRET's");
}

#[test]
fn a_sensitive_action_needs_a_recent_sign_in_with_no_context_change_since() {
    use edge_session_origin::tower::RequireRecentAuth;
    let keys = KeyRing::parse(SECRET).unwrap();
    let signed = |auth_ago: Option<u64>, changed_ago: Option<u64>| {
        let now = now();
        let ada = Identity { sub: "ada".into(), ctx: None, auth_time: auth_ago.map(|a| now.as_secs() - a), amr: None };
        let mut a = Assertion::new(&ada, FamilyId::from_bytes([1; 16]), "fresh", "origin", now, [2; 16]);
        a.context_changed = changed_ago.map(|c| now.as_secs() - c);
        a.sign(&keys)
    };
    let sensitive = Inspect(|mut parts| {
        Box::pin(async move {
            match RequireRecentAuth::<300>::from_request_parts(&mut parts, &()).await {
                Ok(RequireRecentAuth(user)) => format!("ok {}", user.sub),
                Err(refused) => refused.status().to_string(),
            }
        })
    });
    let ask = |token: Option<String>| {
        let mut req = Request::builder();
        if let Some(token) = token {
            req = req.header("x-edge-assertion", token);
        }
        let mut service = EdgeLayer::new(SECRET, "origin").unwrap().layer(sensitive.clone());
        futures_executor(service.call(req.body(String::new()).unwrap())).unwrap().into_body()
    };
    assert_eq!(ask(Some(signed(Some(60), None))), "ok ada");
    assert_eq!(ask(Some(signed(Some(60), Some(120)))), "ok ada", "signed in again after the change");
    let refused = StatusCode::UNAUTHORIZED.to_string();
    assert_eq!(ask(Some(signed(Some(301), None))), refused, "too long ago");
    assert_eq!(ask(Some(signed(Some(60), Some(30)))), refused, "the context changed since");
    assert_eq!(ask(Some(signed(None, None))), refused, "an edge too old to say");
    assert_eq!(ask(None), refused, "anonymous");
}
