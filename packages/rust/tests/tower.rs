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
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use edge_session_origin::tower::{Edge, EdgeLayer, RequirePageUser, RequireUser, StepUpError};
use edge_session_origin::{
    Assertion, FamilyId, Identity, KeyRing, Login, Logout, LogoutScope, RequestNonce, StepUp, Timestamp,
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
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
            "step up" => format!("{:?}", edge.step_up(Some(vec!["pwd".into()]))),
            "step up, no amr" => format!("{:?}", edge.step_up(None)),
            "step up, bad amr" => {
                let long = "x".repeat(17);
                let bad = [vec![], vec![""], vec!["has space"], vec![long.as_str()], vec!["a"; 9], vec!["pwd\u{e9}"]];
                let refused = bad.iter().map(|amr| {
                    let amr = amr.iter().map(|name| name.to_string()).collect();
                    format!("{:?}", edge.step_up(Some(amr)))
                });
                refused.collect::<Vec<_>>().join(" ")
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
    use edge_session_origin::tower::{RequireRecentAuth, require_recent_auth};
    let keys = KeyRing::parse(SECRET).unwrap();
    let signed = |auth_ago: Option<u64>, changed_ago: Option<u64>| {
        let now = now();
        let ada = Identity { sub: "ada".into(), ctx: None, auth_time: auth_ago.map(|a| now.as_secs() - a), amr: None };
        let mut a = Assertion::new(&ada, FamilyId::from_bytes([1; 16]), "fresh", "origin", now, [2; 16]);
        a.context_changed = changed_ago.map(|c| now.as_secs() - c);
        a.sign(&keys)
    };
    // The extractor, and the same check with a max age read at run time: the same answers.
    let sensitive = Inspect(|mut parts| {
        Box::pin(async move {
            let edge = parts.extensions.get::<Edge>().cloned().expect("the layer");
            let at_run_time = require_recent_auth(&edge, 300);
            match RequireRecentAuth::<300>::from_request_parts(&mut parts, &()).await {
                Ok(RequireRecentAuth(user)) => {
                    assert_eq!(at_run_time.ok(), Some(user.clone()));
                    format!("ok {}", user.sub)
                }
                Err(refused) => {
                    let other = at_run_time.expect_err("refused at run time too");
                    assert_eq!(other.status(), refused.status());
                    assert_eq!(other.headers(), refused.headers());
                    let body = |r: axum::response::Response| axum::body::to_bytes(r.into_body(), 1024);
                    let (mine, theirs) = (body(refused).await.unwrap(), body(other).await.unwrap());
                    assert_eq!(mine, theirs);
                    format!("{} {}", StatusCode::UNAUTHORIZED, String::from_utf8_lossy(&mine))
                }
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
    let refused = format!(r#"{} {{"error":"recent sign-in required"}}"#, StatusCode::UNAUTHORIZED);
    assert_eq!(ask(Some(signed(Some(301), None))), refused, "too long ago");
    assert_eq!(ask(Some(signed(Some(60), Some(30)))), refused, "the context changed since");
    assert_eq!(ask(Some(signed(None, None))), refused, "an edge too old to say");
    let anonymous = format!(r#"{} {{"error":"not signed in"}}"#, StatusCode::UNAUTHORIZED);
    assert_eq!(ask(None), anonymous, "anonymous: RequireUser's answer");
}

#[test]
fn a_step_up_is_signed_for_the_requests_user_as_an_independent_check_computes_it() {
    const DIRECTIVE: &str = "d1:directive-0123456789abcdef0123456789";
    let layer = EdgeLayer::new(SECRET, "origin").unwrap().directive_secret(DIRECTIVE).unwrap();
    let nonce = RequestNonce::from_bytes([5; 16]);
    let ask = |body: &str, signed_in: bool, through_the_edge: bool| {
        let mut req = Request::builder();
        if through_the_edge {
            req = req.header("x-edge-nonce", nonce.as_str());
        }
        if signed_in {
            req = req.header("x-edge-assertion", assertion(SECRET));
        }
        futures_executor(layer.clone().layer(Handler).call(req.body(body.to_owned()).unwrap())).unwrap()
    };

    let response = ask("step up", true, true);
    assert_eq!(response.body(), "Ok(())");
    let token = response.headers().get("x-edge-step-up").expect("a step-up directive").to_str().unwrap();
    // The oracle: HMAC-SHA256 over `header.payload` keyed with the UTF-8 bytes written
    // after the kid, and the JSON of each part read back here, not through the crate.
    let [header, payload, tag] = token.split('.').collect::<Vec<_>>()[..] else { panic!("not a JWS: {token}") };
    let mut mac = Hmac::<Sha256>::new_from_slice(b"directive-0123456789abcdef0123456789").unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    assert_eq!(B64.decode(tag).unwrap(), mac.finalize().into_bytes().to_vec(), "signed with DIRECTIVE_SECRET's d1");
    let part = |text: &str| serde_json::from_slice::<Value>(&B64.decode(text).unwrap()).unwrap();
    assert_eq!(part(header), json!({"alg": "HS256", "typ": "edge-step-up+jwt", "kid": "d1"}));
    let claims = part(payload);
    assert_eq!(claims["aud"], "edge-session");
    assert_eq!(claims["sub"], "ada", "the request's user");
    assert_eq!(claims["nonce"], nonce.as_str(), "bound to the request");
    assert_eq!(claims["amr"], json!(["pwd"]));
    let (iat, exp) = (claims["iat"].as_u64().unwrap(), claims["exp"].as_u64().unwrap());
    assert!(exp > iat && exp - iat <= 300, "iat {iat}, exp {exp}: a login's five minutes at most");
    assert!(iat.abs_diff(now().as_secs()) <= 5, "issued now");
    assert_eq!(claims.as_object().unwrap().len(), 6, "nothing else: {claims}");
    // And the edge's own check takes it.
    let step_up = StepUp::verify(token, &KeyRing::parse(DIRECTIVE).unwrap(), now(), &nonce).unwrap();
    assert_eq!(step_up, StepUp { sub: "ada".into(), amr: Some(vec!["pwd".into()]) });

    let bare = ask("step up, no amr", true, true);
    let token = bare.headers().get("x-edge-step-up").expect("a step-up without amr").to_str().unwrap();
    assert_eq!(part(token.split('.').nth(1).unwrap()).get("amr"), None);

    // Refused, with nothing on the response: an anonymous request (a step-up never logs
    // anyone in), a malformed amr, a request from around the edge.
    let refused = |body: &str, signed_in, through_the_edge| {
        let response = ask(body, signed_in, through_the_edge);
        assert!(!response.headers().contains_key("x-edge-step-up"), "{body}: nothing sent");
        response.into_body()
    };
    assert_eq!(refused("step up", false, true), "Err(Anonymous)");
    assert_eq!(refused("step up", true, false), "Err(NotThroughTheEdge)");
    assert_eq!(refused("step up, bad amr", true, true), ["Err(BadAmr)"; 6].join(" "));
    assert_eq!(
        StepUpError::Anonymous.to_string(),
        "a step-up needs a signed-in request: use login for an anonymous one"
    );
    assert_eq!(StepUpError::BadAmr.to_string(), "amr must be 1 to 8 names of [A-Za-z0-9_.:-]{1,16}");
}
