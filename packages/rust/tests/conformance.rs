//! The shared conformance table (`packages/conformance/vectors.json`), run against this
//! crate, which is also the edge's own origin module: the same file every origin package
//! runs, so the five implementations and the edge cannot drift apart. Its oracle
//! (`generate.mjs`, `es256.mjs`) uses only `node:crypto`, nothing of this crate.
//!
//! Built only with features `es256` and `tower` (Cargo.toml's `required-features`): a
//! third of the assertions are ES256, and each assertion also goes through the layer, for
//! what it logs. Without the features, cargo refuses `--test conformance` rather than
//! skip them.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use edge_session_origin::tower::{Edge, EdgeLayer, EdgeUser};
use edge_session_origin::{
    Adoption, Assertion, AssertionKeys, Jwks, JwksError, KeyRing, SecurityEvent, Timestamp, TokenError, adoption,
    decode_user, encode_user,
};
use http::{Request, Response};
use serde_json::{Value, json};
use tower_layer::Layer;
use tower_service::Service;

fn table() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../conformance/vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the conformance table")).expect("JSON")
}

fn vectors<'a>(table: &'a Value, section: &str) -> &'a [Value] {
    let rows = table[section].as_array().unwrap_or_else(|| panic!("section {section}"));
    assert!(!rows.is_empty(), "section {section} is empty");
    rows
}

fn text<'a>(row: &'a Value, field: &str) -> &'a str {
    row[field].as_str().unwrap_or_else(|| panic!("{field} of {row}"))
}

/// The keys of a vector's origin: `secret` null is no `ORIGIN_SECRET`, `jwks` non-null
/// is its `EDGE_JWKS`.
fn keys_of(row: &Value) -> Result<(Option<KeyRing>, Option<Jwks>), JwksError> {
    let ring = row["secret"].as_str().map(|ring| KeyRing::parse(ring).expect("the table's rings are valid"));
    let jwks = match &row["jwks"] {
        Value::Null => None,
        jwks => Some(Jwks::from_value(jwks)?),
    };
    Ok((ring, jwks))
}

/// `Assertion::verify_with` with the vector's keys; for a ring alone, `Assertion::verify`
/// as well, which must agree.
fn verify(row: &Value, ring: Option<&KeyRing>, jwks: Option<&Jwks>) -> Result<Assertion, TokenError> {
    let (token, audience) = (text(row, "token"), text(row, "audience"));
    let now = Timestamp::from_secs(row["now"].as_u64().expect("now"));
    let keys = match (ring, jwks) {
        (Some(ring), None) => AssertionKeys::Secret(ring),
        (None, Some(jwks)) => AssertionKeys::Jwks(jwks),
        (Some(ring), Some(jwks)) => AssertionKeys::Both(ring, jwks),
        (None, None) => panic!("{}: no key at all", text(row, "name")),
    };
    let verified = Assertion::verify_with(token, keys, audience, now);
    if let (Some(ring), None) = (ring, jwks) {
        assert_eq!(Assertion::verify(token, ring, audience, now), verified, "{}", text(row, "name"));
    }
    verified
}

/// The environment a vector describes, for `EdgeLayer::from_vars`.
fn environment(row: &Value) -> Vec<(&'static str, String)> {
    let mut vars = vec![("ORIGIN_AUDIENCE", text(row, "audience").to_owned())];
    if let Some(secret) = row["secret"].as_str() {
        vars.push(("ORIGIN_SECRET", secret.to_owned()));
    }
    if !row["jwks"].is_null() {
        vars.push(("EDGE_JWKS", row["jwks"].to_string()));
    }
    vars
}

/// The handler behind the layer: answers with the `Edge` the layer made.
#[derive(Clone)]
struct Seen;

impl Service<Request<()>> for Seen {
    type Response = Response<Option<Edge>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<()>) -> Self::Future {
        ready(Ok(Response::new(req.extensions().get::<Edge>().cloned())))
    }
}

/// The vector's request through `layer` at the vector's time: whom the handler sees, and
/// the events logged.
fn through_the_layer(row: &Value, layer: EdgeLayer) -> (Option<EdgeUser>, Vec<Value>) {
    let logged = Arc::new(Mutex::new(Vec::new()));
    let sink = logged.clone();
    let now = Timestamp::from_secs(row["now"].as_u64().expect("now"));
    let layer = layer.clock(move || now).on_event(move |event| sink.lock().unwrap().push(event.clone()));
    let request = Request::builder().header("x-edge-assertion", text(row, "token")).body(()).unwrap();
    // A static JWKS and a ring: nothing to wait for, so one poll answers.
    let mut answer = std::pin::pin!(layer.layer(Seen).call(request));
    let Poll::Ready(Ok(response)) = answer.as_mut().poll(&mut Context::from_waker(std::task::Waker::noop())) else {
        panic!("{}: the layer waited, with nothing to wait for", text(row, "name"));
    };
    let edge = response.into_body().expect("the layer puts an Edge on every request");
    let events = logged.lock().unwrap().clone();
    (edge.user().cloned(), events)
}

fn claims(a: &Assertion) -> Value {
    json!({
        "sub": a.sub, "sid": a.sid, "state": a.state, "ctx": a.ctx, "context_changed": a.context_changed,
        "auth_time": a.auth_time, "amr": a.amr,
    })
}

/// What is wrong with one vector's outcome, if anything: the claims `Assertion::verify`
/// returns, the user the layer hands the handler, and what the layer logs.
fn check_assertion(row: &Value) -> Option<String> {
    let valid = row["valid"].as_bool().expect("valid");
    let configured =
        EdgeLayer::from_vars(|name| environment(row).into_iter().find(|(var, _)| *var == name).map(|(_, value)| value));
    // Every vector's JWKS holds a usable key: none is a startup error here.
    let (ring, jwks) = match keys_of(row) {
        Ok(keys) => keys,
        Err(e) => return Some(format!("Jwks::from_value refused: {e}")),
    };
    let layer = match configured {
        Ok(layer) => layer,
        Err(e) => return Some(format!("EdgeLayer::from_vars refused: {e}")),
    };
    let verified = verify(row, ring.as_ref(), jwks.as_ref());
    let (user, events) = through_the_layer(row, layer);
    let user = serde_json::to_value(&user).expect("a user serializes");
    let names: Vec<&str> = events.iter().filter_map(|event| event["event"].as_str()).collect();
    match (valid, verified) {
        (true, Ok(a)) if claims(&a) != row["claims"] => Some(format!("claims {}", claims(&a))),
        (true, Ok(_)) if user != row["claims"] => Some(format!("the layer's user {user}")),
        (true, Ok(_)) if !names.is_empty() => Some(format!("accepted, but logged {names:?}")),
        (true, Ok(_)) => None,
        (false, Err(_)) if !user.is_null() => Some(format!("refused, but the layer's user is {user}")),
        (false, Err(_)) if names != ["edge_assertion_rejected"] => Some(format!("refused, but logged {names:?}")),
        (false, Err(_)) => None,
        (true, Err(e)) => Some(format!("refused ({e})")),
        (false, Ok(_)) => Some("accepted".into()),
    }
}

#[test]
fn assertions_verify_and_log_exactly_as_the_table_says() {
    let table = table();
    let rows = vectors(&table, "assertions");
    let wrong: Vec<String> = rows
        .iter()
        .filter_map(|row| check_assertion(row).map(|problem| format!("{}: {problem}", text(row, "name"))))
        .collect();
    assert!(wrong.is_empty(), "disagrees with the table:\n{}", wrong.join("\n"));
    // A guard against a table that lost its ES256 half, or a runner that stopped reading it.
    let es256 = rows.iter().filter(|row| !row["jwks"].is_null()).count();
    let jwks_only = rows.iter().filter(|row| row["secret"].is_null()).count();
    assert!(es256 >= 30 && jwks_only >= 25, "{es256} vectors with a JWKS, {jwks_only} without a secret");
}

#[test]
fn key_rings_parse_exactly_as_the_table_says() {
    let table = table();
    let marker = text(&table, "secret_marker");
    let mut wrong = Vec::new();
    for row in vectors(&table, "secrets") {
        match (row["valid"].as_bool().expect("valid"), KeyRing::parse(text(row, "secret"))) {
            (true, Ok(_)) => {}
            (false, Err(e)) if e.to_string().contains(marker) => {
                wrong.push(format!("{}: the refusal prints the secret", text(row, "name")))
            }
            (false, Err(_)) => {}
            (true, Err(e)) => wrong.push(format!("{}: refused ({e})", text(row, "name"))),
            (false, Ok(_)) => wrong.push(format!("{}: accepted", text(row, "name"))),
        }
    }
    assert!(wrong.is_empty(), "disagrees with the table:\n{}", wrong.join("\n"));
}

#[test]
fn the_migration_bridge_decides_exactly_as_the_table_says() {
    let table = table();
    let mut wrong = Vec::new();
    for row in vectors(&table, "adopt") {
        let decided = adoption(
            row["identified"].as_bool().expect("identified"),
            row["state_header"].as_str(),
            row["nonce"].as_str(),
            row["legacy_sub"].as_str(),
        );
        let logs = match decided {
            Adoption::Refused => Some("edge_adopt_refused"),
            Adoption::NotThroughTheEdge => Some("edge_adopt_no_nonce"),
            Adoption::Login | Adoption::Skip => None,
        };
        let expected = (row["adopts"].as_bool().expect("adopts"), row["logs"].as_str());
        if (decided == Adoption::Login, logs) != expected {
            wrong.push(format!("{}: {decided:?}", text(row, "name")));
        }
    }
    assert!(wrong.is_empty(), "disagrees with the table:\n{}", wrong.join("\n"));
}

#[test]
fn the_user_header_is_encoded_as_the_packages_decode_it() {
    let table = table();
    for row in vectors(&table, "user_header") {
        assert_eq!(encode_user(text(row, "sub")), text(row, "header"));
        assert_eq!(decode_user(text(row, "header")).as_deref(), Some(text(row, "sub")));
    }
}

#[test]
fn security_events_verify_exactly_as_the_table_says() {
    let table = table();
    let marker = text(&table, "secret_marker");
    let mut wrong = Vec::new();
    for row in vectors(&table, "events") {
        let ring = KeyRing::parse(text(row, "secret")).expect("the table's rings are valid");
        let now = Timestamp::from_secs(row["now"].as_u64().expect("now"));
        let verify = if row["queue"] == true { SecurityEvent::verify_queued } else { SecurityEvent::verify };
        let verified = verify(text(row, "body"), &ring, text(row, "audience"), now);
        match (row["valid"].as_bool().expect("valid"), verified) {
            (true, Ok(event)) => {
                let got = serde_json::to_value(&event).expect("an event serializes");
                if got != row["event"] {
                    wrong.push(format!("{}: event {got}", text(row, "name")));
                }
            }
            (false, Err(e)) if e.to_string().contains(marker) => {
                wrong.push(format!("{}: the refusal prints the secret", text(row, "name")))
            }
            (false, Err(_)) => {}
            (true, Err(e)) => wrong.push(format!("{}: refused ({e})", text(row, "name"))),
            (false, Ok(_)) => wrong.push(format!("{}: accepted", text(row, "name"))),
        }
    }
    assert!(wrong.is_empty(), "disagrees with the table:\n{}", wrong.join("\n"));
}
