//! The shared conformance table (`packages/conformance/vectors.json`), run against this
//! crate, which is also the edge's own origin module: the same file every origin package
//! runs, so the five implementations and the edge cannot drift apart. Its oracle
//! (`generate.mjs`) uses only `node:crypto`, nothing of this crate.

use edge_session_origin::{Adoption, Assertion, KeyRing, SecurityEvent, Timestamp, adoption, decode_user, encode_user};
use serde_json::Value;

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

#[test]
fn assertions_verify_exactly_as_the_table_says() {
    let table = table();
    let mut wrong = Vec::new();
    for row in vectors(&table, "assertions") {
        let ring = KeyRing::parse(text(row, "secret")).expect("the table's rings are valid");
        let now = Timestamp::from_secs(row["now"].as_u64().expect("now"));
        let verified = Assertion::verify(text(row, "token"), &ring, text(row, "audience"), now);
        match (row["valid"].as_bool().expect("valid"), verified) {
            (true, Ok(a)) => {
                let got = serde_json::json!({
                    "sub": a.sub, "sid": a.sid, "state": a.state, "ctx": a.ctx, "context_changed": a.context_changed,
                    "auth_time": a.auth_time, "amr": a.amr,
                });
                if got != row["claims"] {
                    wrong.push(format!("{}: claims {got}", text(row, "name")));
                }
            }
            (false, Err(_)) => {}
            (true, Err(e)) => wrong.push(format!("{}: refused ({e})", text(row, "name"))),
            (false, Ok(_)) => wrong.push(format!("{}: accepted", text(row, "name"))),
        }
    }
    assert!(wrong.is_empty(), "disagrees with the table:\n{}", wrong.join("\n"));
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
