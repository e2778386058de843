//! `EDGE_JWKS_URL` and `EDGE_JWKS` (features `es256`, `axum` and `client`): the layer
//! against a real HTTP server on 127.0.0.1 that serves the edge's JWKS, counts its
//! fetches, and fails on demand. The ES256 tokens are signed here with p256 and the test
//! keys of packages/conformance/es256.mjs, their JWKs written out by hand, so nothing of
//! the crate's own JWKS or JWS code makes what it verifies. The layer's clock is the
//! test's: the cache's 5 minutes and the 30 s cooldown pass without sleeping.

use std::convert::Infallible;
use std::future::{Ready, poll_fn, ready};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use edge_session_origin::tower::{Edge, EdgeLayer, EdgeService, EdgeUser, JwksUrlError, RequireUser, StepUpError};
use edge_session_origin::{
    AdminAction, Assertion, FamilyId, Identity, Jwks, JwksError, KeyRing, Login, RequestNonce, Timestamp,
};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tower_layer::Layer;
use tower_service::Service;

/// es256.mjs's PRIVATE table: a2 signs, a1 is the older key, x9 is in no JWKS. Test keys.
const KEYS: [(&str, &str, &str, &str); 3] = [
    (
        "a2",
        "IStGseY_waoLb5O1YCS1RXwz-3OoAYiATJ443RtmAx4",
        "-x5Ao_2cs7e3A7Yp8M16W6kdQTVYAlRIyjOhfFhxEC0",
        "yC606bQo8zuIJ9X4fQ-HaskHnIhEIIh3hVpHfsFwfYk",
    ),
    (
        "a1",
        "kk9XXiG9MBeRgg31Shl5kV9_6cV9E1EmYkRhjLoWhCg",
        "F__le398HCdmggHsd045P0DULf9LyevhMI-80CXd5og",
        "enYCdVYaAiWZOZOhI10x6h-UQagpOyomE7qMOjI63HM",
    ),
    (
        "x9",
        "CU39ko9EX3ufitMFJyG07hRkEd9ZwnyBpLqP6hinMIk",
        "bxQCz2UTMPrW1SC1xh5cyQRm41tegnyVzrbSPrGAtvI",
        "4G-SsDbeKa6pFsc_4bBytja3Ry2-B-RbcR4RPtkewqI",
    ),
];
const SECRET: &str = "o1:0123456789abcdef0123456789abcdef";
const DIRECTIVE_SECRET: &str = "d1:directive-0123456789abcdef0123456789";
/// In every failing answer's body: it must never reach a log.
const BODY_MARKER: &str = "body-marker-7f3a";
const T0: u64 = 1_700_000_000;

fn nonce() -> RequestNonce {
    RequestNonce::from_bytes([5; 16])
}

fn key(kid: &str) -> (&'static str, &'static str, &'static str) {
    let (_, x, y, d) = KEYS.iter().find(|(k, ..)| *k == kid).expect("a test key");
    (x, y, d)
}

/// A public JWK as the edge's /__edge/jwks.json writes it.
fn jwk(kid: &str) -> Value {
    let (x, y, _) = key(kid);
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256", "x": x, "y": y})
}

fn jwks(kids: &[&str]) -> Value {
    json!({"keys": kids.iter().map(|kid| jwk(kid)).collect::<Vec<_>>()})
}

/// An ES256 assertion for ada at `now`, signed by `signer`, its header naming `kid`.
fn es256(signer: &str, kid: Option<&str>, now: u64) -> String {
    let mut header = json!({"alg": "ES256", "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = kid.into();
    }
    let claims = json!({
        "iss": "edge-session", "aud": "origin", "sub": "ada", "sid": "AQEBAQEBAQEBAQEBAQEBAQ",
        "state": "fresh", "iat": now, "exp": now + 60, "jti": "AgICAgICAgICAgICAgICAg",
    });
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
    let secret = SigningKey::from_slice(&B64.decode(key(signer).2).unwrap()).unwrap();
    let signature: Signature = secret.sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature.to_bytes()))
}

/// The same identity as HS256 under `SECRET`, as an edge with `ASSERTION_ALG=HS256` sends.
fn hs256(now: u64) -> String {
    let ada = Identity { sub: "ada".into(), ctx: None, auth_time: None, amr: None };
    let assertion =
        Assertion::new(&ada, FamilyId::from_bytes([1; 16]), "fresh", "origin", Timestamp::from_secs(now), [2; 16]);
    assertion.sign(&KeyRing::parse(SECRET).unwrap())
}

/// What the test server answers `GET /jwks.json` with.
#[derive(Clone)]
enum Answer {
    /// 200 with this JWKS.
    Jwks(Value),
    /// This status, with the marker as its body.
    Status(u16),
    /// 200 with this body, its length declared or not (then the body ends at the close).
    Body(String, bool),
    /// Reads the request and never answers.
    Silent,
}

/// A real HTTP/1.1 server on 127.0.0.1: one request per connection, then closed.
struct Server {
    url: String,
    fetches: Arc<AtomicUsize>,
    answer: Arc<Mutex<Answer>>,
    accepting: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(answer: Answer) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let (fetches, answer) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(answer)));
        let (counted, answers) = (fetches.clone(), answer.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (counted, answers) = (counted.clone(), answers.clone());
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0; 1024];
                    while !request.ends_with(b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    assert!(
                        request.starts_with(b"GET /jwks.json HTTP/1.1\r\n"),
                        "{}",
                        String::from_utf8_lossy(&request)
                    );
                    counted.fetch_add(1, Ordering::SeqCst);
                    let answer = answers.lock().unwrap().clone();
                    // Long enough that a burst of requests overlaps one fetch.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let (status, body, length) = match answer {
                        Answer::Jwks(jwks) => (200, jwks.to_string(), true),
                        Answer::Status(status) => (status, format!("{{\"error\":\"{BODY_MARKER}\"}}"), true),
                        Answer::Body(body, length) => (200, body, length),
                        Answer::Silent => return tokio::time::sleep(Duration::from_secs(60)).await,
                    };
                    let length = if length { format!("content-length: {}\r\n", body.len()) } else { String::new() };
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{length}connection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                });
            }
        });
        Server { url, fetches, answer, accepting }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    /// Closes the listening socket: the next connection is refused.
    async fn stop(&self) {
        self.accepting.abort();
        while !self.accepting.is_finished() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The handler: hands back the request's `Edge`, after logging ada in if asked to.
#[derive(Clone)]
struct Who;

impl Service<Request<Body>> for Who {
    type Response = Response<Option<Edge>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let edge = req.extensions().get::<Edge>().cloned();
        if req.headers().contains_key("x-test-login") {
            edge.as_ref().expect("an Edge").login("ada", false, None).expect("through the edge");
        }
        ready(Ok(Response::new(edge)))
    }
}

/// An origin behind `layer`, on the test's clock (starting at T0), logging into a list.
#[derive(Clone)]
struct Origin {
    service: EdgeService<Who>,
    clock: Arc<AtomicU64>,
    logged: Arc<Mutex<Vec<Value>>>,
}

impl Origin {
    fn new(layer: EdgeLayer) -> Origin {
        let (clock, logged) = (Arc::new(AtomicU64::new(T0)), Arc::new(Mutex::new(Vec::new())));
        let (time, sink) = (clock.clone(), logged.clone());
        let layer = layer
            .clock(move || Timestamp::from_secs(time.load(Ordering::SeqCst)))
            .on_event(move |event| sink.lock().unwrap().push(event.clone()));
        Origin { service: layer.layer(Who), clock, logged }
    }

    fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    fn advance(&self, secs: u64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
    }

    /// The response to a request through the edge (with `X-Edge-Nonce`) carrying
    /// `assertion`; `login`: the handler logs ada in.
    async fn call(&self, assertion: Option<&str>, login: bool) -> Response<Option<Edge>> {
        let mut service = self.service.clone();
        poll_fn(|cx| service.poll_ready(cx)).await.unwrap();
        let mut request = Request::builder().header("x-edge-nonce", nonce().as_str());
        if let Some(token) = assertion {
            request = request.header("x-edge-assertion", token);
        }
        if login {
            request = request.header("x-test-login", "1");
        }
        service.call(request.body(Body::empty()).unwrap()).await.unwrap()
    }

    /// The request's `Edge`, as a handler gets it.
    async fn edge(&self, assertion: Option<&str>) -> Edge {
        self.call(assertion, false).await.into_body().expect("an Edge")
    }

    /// Who the layer says the request carrying `token` is: `ada`, or `anonymous`.
    async fn who(&self, token: &str) -> String {
        self.edge(Some(token)).await.user().map_or("anonymous".into(), |user: &EdgeUser| user.sub.clone())
    }

    /// The events logged since the last call, as `event` or `event: reason`.
    fn events(&self) -> Vec<String> {
        let events = std::mem::take(&mut *self.logged.lock().unwrap());
        events
            .iter()
            .map(|e| match e["reason"].as_str() {
                Some(reason) => format!("{}: {reason}", e["event"].as_str().unwrap()),
                None => e["event"].as_str().unwrap().to_owned(),
            })
            .collect()
    }
}

/// Twenty requests at once, each with its token from `token`: who each one is.
async fn burst(origin: &Origin, token: impl Fn(usize) -> String) -> Vec<String> {
    let asks: Vec<_> = (0..20)
        .map(|i| {
            let (origin, token) = (origin.clone(), token(i));
            tokio::spawn(async move { origin.who(&token).await })
        })
        .collect();
    let mut answers = Vec::new();
    for ask in asks {
        answers.push(ask.await.unwrap());
    }
    answers
}

/// A kid no JWKS has, another each time, as an attacker would send.
fn unseen_kid() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_jwks_is_fetched_on_first_use_kept_and_fetched_again_for_a_key_it_lacks() {
    let server = Server::start(Answer::Jwks(jwks(&["a2"]))).await;
    let origin = Origin::new(EdgeLayer::from_jwks_url(&server.url, "origin").unwrap());
    assert_eq!(server.fetches(), 0, "not at startup: the edge may start later");

    // An HS256 assertion never fetches the JWKS, and a verify-only origin refuses it.
    assert_eq!(origin.who(&hs256(origin.now())).await, "anonymous");
    assert_eq!((server.fetches(), origin.events()), (0, vec!["edge_assertion_rejected: alg not accepted".to_owned()]));

    assert_eq!(origin.who(&es256("a2", Some("a2"), origin.now())).await, "ada");
    assert_eq!(server.fetches(), 1, "the first ES256 assertion fetches");
    origin.advance(60);
    assert_eq!(origin.who(&es256("a2", Some("a2"), origin.now())).await, "ada");
    assert_eq!(server.fetches(), 1, "kept: no fetch within 5 minutes");
    assert_eq!(origin.events(), Vec::<String>::new());

    // A kid the cached keys lack: one fetch, then anonymous.
    assert_eq!(origin.who(&es256("a2", Some("zz"), origin.now())).await, "anonymous");
    assert_eq!(server.fetches(), 2, "an unknown kid fetches again");
    assert_eq!(origin.events(), ["edge_assertion_rejected: unknown kid"]);

    // Random kids from an attacker, twenty at once: within the cooldown, no fetch at
    // all; after it, one fetch that the twenty share.
    let random_kids = |_| es256("a2", Some(&format!("r{}", unseen_kid())), origin.now());
    assert_eq!(burst(&origin, random_kids).await, ["anonymous"; 20]);
    assert_eq!(server.fetches(), 2, "within 30 s of the last fetch, none");
    origin.advance(31);
    assert_eq!(burst(&origin, random_kids).await, ["anonymous"; 20]);
    assert_eq!(server.fetches(), 3, "twenty requests, one fetch");
    assert_eq!(origin.events().len(), 40, "each refused and logged");

    // A key rotated in at the edge: picked up on the first use of its kid, once the
    // cooldown of the last fetch is over; the requests that arrive during that fetch
    // wait for it and verify too.
    server.answer(Answer::Jwks(jwks(&["a1", "a2"])));
    origin.advance(5);
    assert_eq!(origin.who(&es256("a1", Some("a1"), origin.now())).await, "anonymous", "still cooling down");
    assert_eq!(server.fetches(), 3);
    origin.advance(30);
    assert_eq!(burst(&origin, |_| es256("a1", Some("a1"), origin.now())).await, ["ada"; 20]);
    assert_eq!(server.fetches(), 4, "the new kid fetched, once");
    origin.events();

    // Without kid: every cached key is tried, and only when none verifies is it fetched.
    assert_eq!(origin.who(&es256("a1", None, origin.now())).await, "ada");
    assert_eq!(server.fetches(), 4);
    origin.advance(31);
    assert_eq!(origin.who(&es256("x9", None, origin.now())).await, "anonymous");
    assert_eq!(server.fetches(), 5, "no cached key verifies: fetched again");

    // After 5 minutes the keys are fetched again, known kid or not.
    origin.advance(301);
    assert_eq!(origin.who(&es256("a2", Some("a2"), origin.now())).await, "ada");
    assert_eq!(server.fetches(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fetch_is_logged_and_the_keys_already_fetched_go_on_verifying() {
    let server = Server::start(Answer::Jwks(jwks(&["a2"]))).await;
    let origin = Origin::new(EdgeLayer::from_jwks_url(&server.url, "origin").unwrap());
    assert_eq!(origin.who(&es256("a2", Some("a2"), origin.now())).await, "ada");

    let oversized = format!("{{\"keys\":[],\"pad\":\"{BODY_MARKER}{}\"}}", "x".repeat(70 * 1024));
    let mut only_private = jwk("x9");
    only_private["d"] = key("x9").2.into();
    let failures = [
        (Answer::Status(500), "status 500"),
        (Answer::Status(302), "status 302"),
        (Answer::Body(format!("<html>{BODY_MARKER}</html>"), true), "not JSON"),
        (Answer::Body(format!("{{\"error\":\"{BODY_MARKER}\"}}"), true), "not a JWKS"),
        (Answer::Body(json!({"keys": [only_private]}).to_string(), true), "no usable key"),
        (Answer::Body(oversized.clone(), true), "body over 64 KiB"),
        (Answer::Body(oversized, false), "body over 64 KiB"),
    ];
    for (at, (answer, reason)) in failures.into_iter().enumerate() {
        server.answer(answer);
        origin.advance(301);
        assert_eq!(origin.who(&es256("a2", Some("a2"), origin.now())).await, "ada", "{reason}: the kept key verifies");
        assert_eq!(server.fetches(), at + 2, "{reason}: fetched");
        let events = origin.events();
        assert!(
            matches!(&events[..], [event] if event.starts_with("edge_jwks_unavailable: ") && event.contains(reason)),
            "{reason}: {events:?}"
        );
        assert!(!events[0].contains(BODY_MARKER), "the body is never logged: {events:?}");
    }

    // The server down: still the kept key; a key it lacks is anonymous, never a panic.
    server.stop().await;
    origin.advance(301);
    assert_eq!(origin.who(&es256("a2", Some("a2"), origin.now())).await, "ada");
    let events = origin.events();
    assert!(matches!(&events[..], [event] if event.starts_with("edge_jwks_unavailable: ")), "{events:?}");
    origin.advance(31);
    assert_eq!(origin.who(&es256("a1", Some("a1"), origin.now())).await, "anonymous");
    let events = origin.events();
    assert!(events[0].starts_with("edge_jwks_unavailable: ") && events[1] == "edge_assertion_rejected: unknown kid");

    // An origin that never fetched the keys: anonymous, and both events.
    let fresh = Origin::new(EdgeLayer::from_jwks_url(&server.url, "origin").unwrap());
    assert_eq!(fresh.who(&es256("a2", Some("a2"), fresh.now())).await, "anonymous");
    let events = fresh.events();
    assert!(events.len() == 2 && events[0].starts_with("edge_jwks_unavailable: "), "{events:?}");
}

/// What `events` says when a failed fetch was a refused connection (the server down).
fn is_down(event: &str) -> bool {
    event.starts_with("edge_jwks_unavailable: ") && !event.contains("status") && !event.contains("dropped")
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_keys_verify_for_24_hours_after_the_last_good_fetch_then_are_dropped() {
    let server = Server::start(Answer::Jwks(jwks(&["a2"]))).await;
    let origin = Origin::new(EdgeLayer::from_jwks_url(&server.url, "origin").unwrap());
    let ada = || es256("a2", Some("a2"), origin.now());
    assert_eq!(origin.who(&ada()).await, "ada");
    // Twelve hours later the keys are fetched again: the 24 hours count from this fetch,
    // the last one that succeeds.
    origin.advance(12 * HOUR);
    assert_eq!(origin.who(&ada()).await, "ada");
    assert_eq!((server.fetches(), origin.events()), (2, vec![]));

    // The server down: each failed fetch is logged, and the key goes on verifying.
    server.stop().await;
    for _ in 0..3 {
        origin.advance(6 * HOUR);
        assert_eq!(origin.who(&ada()).await, "ada");
        let events = origin.events();
        assert!(matches!(&events[..], [event] if is_down(event)), "{events:?}");
    }
    // 23 h 59 min after the last good fetch: still verifying.
    origin.advance(6 * HOUR - MINUTE);
    assert_eq!(origin.now(), T0 + 12 * HOUR + 24 * HOUR - MINUTE);
    assert_eq!(origin.who(&ada()).await, "ada", "23 h 59 min: kept");
    let events = origin.events();
    assert!(matches!(&events[..], [event] if is_down(event)), "{events:?}");

    // 24 h and 1 s: dropped, and the assertion is anonymous, logged.
    origin.advance(MINUTE + 1);
    assert_eq!(origin.who(&ada()).await, "anonymous", "24 h 1 s: dropped");
    let events = origin.events();
    assert!(is_down(&events[0]), "{events:?}");
    assert_eq!(
        events[1..],
        [
            "edge_jwks_unavailable: no fetch succeeded for 24 h: the keys held are dropped",
            "edge_assertion_rejected: unknown kid"
        ],
    );
    // Dropped, not hidden: within the cooldown (no fetch), without kid, and later on.
    origin.advance(1);
    assert_eq!(origin.who(&ada()).await, "anonymous");
    assert_eq!(origin.who(&es256("a2", None, origin.now())).await, "anonymous");
    assert_eq!(origin.events(), ["edge_assertion_rejected: unknown kid", "edge_assertion_rejected: bad signature"]);
    origin.advance(HOUR);
    assert_eq!(origin.who(&ada()).await, "anonymous");
    let events = origin.events();
    assert!(
        events.len() == 2 && is_down(&events[0]) && events[1] == "edge_assertion_rejected: unknown kid",
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_drops_the_keys_at_once_and_a_200_brings_them_back() {
    let server = Server::start(Answer::Jwks(jwks(&["a2"]))).await;
    let origin = Origin::new(EdgeLayer::from_jwks_url(&server.url, "origin").unwrap());
    let ada = || es256("a2", Some("a2"), origin.now());
    let dropped = ["edge_jwks_unavailable: status 404", "edge_assertion_rejected: unknown kid"];

    // Refetched for an unknown kid: the 404 drops the key that verified a moment before.
    assert_eq!(origin.who(&ada()).await, "ada");
    origin.advance(31);
    assert_eq!(origin.who(&ada()).await, "ada");
    server.answer(Answer::Status(404));
    assert_eq!(origin.who(&es256("a2", Some("zz"), origin.now())).await, "anonymous");
    assert_eq!((server.fetches(), origin.events()), (2, dropped.map(String::from).to_vec()));
    assert_eq!(origin.who(&ada()).await, "anonymous", "right after the 404");
    assert_eq!(origin.who(&es256("a2", None, origin.now())).await, "anonymous", "without kid too");
    // The 404 counts for the cooldown: no fetch for these.
    assert_eq!(server.fetches(), 2);
    assert_eq!(origin.events(), ["edge_assertion_rejected: unknown kid", "edge_assertion_rejected: bad signature"]);

    // The URL answers 200 again: the next assertion after the cooldown fetches it and verifies.
    server.answer(Answer::Jwks(jwks(&["a2"])));
    origin.advance(31);
    assert_eq!(origin.who(&ada()).await, "ada");
    assert_eq!((server.fetches(), origin.events()), (3, vec![]));

    // Refetched after the 5 minutes: the same.
    server.answer(Answer::Status(404));
    origin.advance(299);
    assert_eq!(origin.who(&ada()).await, "ada", "4 min 59 s after the last fetch: not asked yet");
    assert_eq!(server.fetches(), 3);
    origin.advance(1);
    assert_eq!(origin.who(&ada()).await, "anonymous", "the 5-minute refetch got the 404");
    assert_eq!((server.fetches(), origin.events()), (4, dropped.map(String::from).to_vec()));
    assert_eq!(origin.who(&ada()).await, "anonymous");
    assert_eq!(server.fetches(), 4, "cooling down");
    origin.events();
    server.answer(Answer::Jwks(jwks(&["a2"])));
    origin.advance(30);
    assert_eq!(origin.who(&ada()).await, "ada");
    assert_eq!((server.fetches(), origin.events()), (5, vec![]));

    // An origin that never fetched: a 404 is the same anonymous answer, logged, never the body.
    server.answer(Answer::Status(404));
    let fresh = Origin::new(EdgeLayer::from_jwks_url(&server.url, "origin").unwrap());
    assert_eq!(fresh.who(&es256("a2", Some("a2"), fresh.now())).await, "anonymous");
    assert_eq!(fresh.events(), dropped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_gives_up_after_5_seconds() {
    let server = Server::start(Answer::Silent).await;
    let origin = Origin::new(EdgeLayer::from_jwks_url(&server.url, "origin").unwrap());
    let started = Instant::now();
    assert_eq!(origin.who(&es256("a2", Some("a2"), origin.now())).await, "anonymous");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(4900) && waited < Duration::from_secs(8), "{waited:?}");
    assert_eq!(origin.events()[0], "edge_jwks_unavailable: no answer within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetched_key_with_a_private_part_is_skipped() {
    let mut leaked = jwk("x9");
    leaked["d"] = key("x9").2.into();
    let server = Server::start(Answer::Jwks(json!({"keys": [leaked, jwk("a2")]}))).await;
    let origin = Origin::new(EdgeLayer::from_jwks_url(&server.url, "origin").unwrap());
    assert_eq!(origin.who(&es256("a2", Some("a2"), origin.now())).await, "ada");
    assert_eq!(origin.who(&es256("x9", Some("x9"), origin.now())).await, "anonymous");
    assert_eq!(origin.events(), ["edge_assertion_rejected: unknown kid"]);
}

#[test]
fn the_jwks_url_must_be_https_or_loopback() {
    for url in [
        "https://app.example/__edge/jwks.json",
        "http://127.0.0.1:8787/__edge/jwks.json",
        "http://127.200.3.4/jwks.json",
        "http://localhost:8787/__edge/jwks.json",
        "http://LOCALHOST/jwks.json",
        "http://[::1]:8787/__edge/jwks.json",
    ] {
        assert!(EdgeLayer::from_jwks_url(url, "origin").is_ok(), "{url}");
    }
    for (url, refused) in [
        ("http://example.com/__edge/jwks.json", JwksUrlError::NotHttps),
        ("http://128.0.0.1/jwks.json", JwksUrlError::NotHttps),
        ("http://10.0.0.1/jwks.json", JwksUrlError::NotHttps),
        ("http://localhost.example.com/jwks.json", JwksUrlError::NotHttps),
        ("http://127.0.0.1.nip.io/jwks.json", JwksUrlError::NotHttps),
        ("http://[::2]/jwks.json", JwksUrlError::NotHttps),
        ("ftp://127.0.0.1/jwks.json", JwksUrlError::NotHttps),
        ("/__edge/jwks.json", JwksUrlError::NotAUrl),
    ] {
        assert_eq!(EdgeLayer::from_jwks_url(url, "origin").err(), Some(refused), "{url}");
    }
    let layer = EdgeLayer::new(SECRET, "origin").unwrap();
    assert_eq!(layer.jwks_url("http://example.com/jwks.json").err(), Some(JwksUrlError::NotHttps));
}

#[test]
fn edge_jwks_is_checked_at_startup() {
    let (_, x, y, d) = KEYS[0];
    let parse = |text: &str| Jwks::parse(text).map(|jwks| jwks.len());
    assert_eq!(parse(&jwks(&["a2", "a1"]).to_string()), Ok(2));
    assert_eq!(parse("{\"keys\":"), Err(JwksError::NotJson));
    assert_eq!(parse("[]"), Err(JwksError::NotAJwks));
    assert_eq!(parse("{\"keys\":{}}"), Err(JwksError::NotAJwks));
    assert_eq!(parse("{\"keys\":[]}"), Err(JwksError::NoUsableKey));
    assert_eq!(parse(&json!({"keys": [{"kty": "oct", "k": "AAAA"}]}).to_string()), Err(JwksError::NoUsableKey));
    let private = json!({"keys": [jwk("a1"), {"kty": "EC", "crv": "P-256", "kid": "a2", "x": x, "y": y, "d": d}]});
    let refused = Jwks::parse(&private.to_string()).unwrap_err();
    assert_eq!(refused, JwksError::PrivateKey(2));
    assert!(refused.to_string().contains("private part") && !refused.to_string().contains(d));

    // From the environment: the same rules, each refusal naming its variable, never a key.
    let env = |vars: &[(&str, &str)]| {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        EdgeLayer::from_vars(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    };
    let none = env(&[("ORIGIN_AUDIENCE", "origin")]).err().unwrap();
    assert!(["ORIGIN_SECRET", "EDGE_JWKS_URL", "EDGE_JWKS"].iter().all(|name| none.contains(name)), "{none}");
    let private = env(&[("EDGE_JWKS", &private.to_string())]).err().unwrap();
    assert!(private.starts_with("EDGE_JWKS: key 2 has a private part") && !private.contains(d), "{private}");
    let clear = env(&[("EDGE_JWKS_URL", "http://example.com/__edge/jwks.json")]).err().unwrap();
    assert!(clear.starts_with("EDGE_JWKS_URL must be https"), "{clear}");
    let both = env(&[("EDGE_JWKS_URL", "https://app.example/__edge/jwks.json"), ("EDGE_JWKS", "{}")]).err().unwrap();
    assert!(both.contains("both"), "{both}");
    assert!(env(&[("EDGE_JWKS", &jwks(&["a2"]).to_string())]).is_ok(), "ORIGIN_SECRET is optional with EDGE_JWKS");
    assert!(env(&[("EDGE_JWKS_URL", "https://app.example/__edge/jwks.json")]).is_ok(), "and with EDGE_JWKS_URL");
    assert!(env(&[("ORIGIN_SECRET", SECRET), ("EDGE_JWKS_URL", "http://127.0.0.1:1/jwks.json")]).is_ok());
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("a panic");
    let text = payload.downcast_ref::<&str>().map(|text| text.to_string());
    text.or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_default()
}

#[tokio::test]
async fn a_verify_only_origin_verifies_es256_refuses_hs256_and_signs_nothing() {
    let origin = Origin::new(EdgeLayer::from_jwks(Jwks::parse(&jwks(&["a2"]).to_string()).unwrap(), "origin"));
    assert_eq!(origin.who(&es256("a2", Some("a2"), origin.now())).await, "ada");
    assert_eq!(origin.who(&hs256(origin.now())).await, "anonymous");
    assert_eq!(origin.events(), ["edge_assertion_rejected: alg not accepted"]);

    let edge = origin.edge(Some(&es256("a2", Some("a2"), origin.now()))).await;
    let login = panic_message(|| {
        let _ = edge.login("ada", false, None);
    });
    assert!(login.starts_with("DIRECTIVE_SECRET is not set: this service only verifies identities"), "{login}");
    let admin = panic_message(|| {
        let _ = edge.admin_token(AdminAction::List);
    });
    assert!(admin.starts_with("ADMIN_SECRET is not set"), "{admin}");
    // A step-up is an error the handler sees, not a panic.
    let step_up = edge.step_up(Some(vec!["pwd".into()])).unwrap_err();
    assert_eq!(step_up, StepUpError::NoDirectiveSecret);
    assert!(step_up.to_string().starts_with("DIRECTIVE_SECRET is not set: this service only verifies"), "{step_up}");

    // With a DIRECTIVE_SECRET of its own, it logs users in.
    let layer = EdgeLayer::from_jwks(Jwks::parse(&jwks(&["a2"]).to_string()).unwrap(), "origin");
    let origin = Origin::new(layer.directive_secret(DIRECTIVE_SECRET).unwrap());
    let response = origin.call(None, true).await;
    let login = response.headers().get("x-edge-login").expect("a login directive").to_str().unwrap();
    let directive_keys = KeyRing::parse(DIRECTIVE_SECRET).unwrap();
    assert_eq!(Login::verify(login, &directive_keys, Timestamp::from_secs(T0), &nonce()).unwrap().sub, "ada");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_axum_app_with_the_jwks_url_alone() {
    async fn me(RequireUser(user): RequireUser) -> Json<EdgeUser> {
        Json(user)
    }
    let server = Server::start(Answer::Jwks(jwks(&["a2"]))).await;
    let now = Timestamp::from(std::time::SystemTime::now()).as_secs();
    let mut app: Router =
        Router::new().route("/me", get(me)).layer(EdgeLayer::from_jwks_url(&server.url, "origin").unwrap());
    let mut ask = async |token: Option<String>| {
        let mut request = Request::builder().uri("/me");
        if let Some(token) = token {
            request = request.header("x-edge-assertion", token);
        }
        let response = app.call(request.body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        (status, serde_json::from_slice::<Value>(&body).unwrap())
    };
    let (status, user) = ask(Some(es256("a2", Some("a2"), now))).await;
    assert_eq!((status, user["sub"].as_str(), user["state"].as_str()), (StatusCode::OK, Some("ada"), Some("fresh")));
    let (status, body) = ask(None).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"error": "not signed in"})));
    assert_eq!(server.fetches(), 1);
}
