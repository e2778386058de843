//! "Log out everywhere" without a sub is refused as it is signed, not by the edge where
//! the app never sees it; and a session id is exactly what `FamilyId::parse` takes, the
//! rule the other packages' admin clients apply to `sid` and `except` (their tests check
//! the same lists: packages/node/test/everywhere-sid.test.mjs and its siblings).

use edge_session_origin::{EverywhereNeedsSub, FamilyId, KeyRing, Logout, LogoutScope, RequestNonce, Timestamp};

const SIDS: [&str; 5] = [
    "AAAAAAAAAAAAAAAAAAAAAA",
    "BwcHBwcHBwcHBwcHBwcHBw",
    "_____________________w",
    "Zm9yLWNvbmZvcm1hbmNl-Q",
    "AQEBAQEBAQEBAQEBAQEBAg",
];
const NOT_SIDS: [&str; 13] = [
    "bogus",
    "",
    "AAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAB",
    "AAAAAAAAAAAAAAAAAAAAA_",
    "AAAAAAAAAAAAAAAAAAAAAA==",
    "AAAAAAAAAAAAAAAAAAAA+A",
    "AAAAAAAAAAAAAAAAAAAA/A",
    "AAAAAAAAAAAAAAAAAAAA A",
    "AAAAAAAAAAAAAAAAAAAAAA\n",
    "AAAAAAAAAAAAAAAAAAAAAé",
    "Zm9yLWNvbmZvcm1hbmNlLXRlc3Rz",
];

#[test]
fn a_session_id_is_22_characters_of_canonical_base64url() {
    for sid in SIDS {
        assert_eq!(FamilyId::parse(sid).map(|id| id.to_string()).as_deref(), Some(sid), "{sid}");
    }
    for sid in NOT_SIDS {
        assert_eq!(FamilyId::parse(sid), None, "{sid:?}");
    }
    // The rule the other packages write as a pattern, `[A-Za-z0-9_-]{21}[AQgw]`, for every
    // last character.
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for last in alphabet.chars() {
        let sid = format!("{}{last}", "Zm9yLWNvbmZvcm1hbmNl-");
        assert_eq!(FamilyId::parse(&sid).is_some(), "AQgw".contains(last), "{sid}");
    }
}

#[test]
fn logout_everywhere_without_a_sub_is_not_signed() {
    let keys = KeyRing::parse("o1:0123456789abcdef0123456789abcdef").unwrap();
    let now = Timestamp::from_secs(1_700_000_000);
    let nonce = RequestNonce::from_bytes([5; 16]);
    for sub in [None, Some(String::new())] {
        let logout = Logout { sub, scope: LogoutScope::Everywhere };
        assert_eq!(logout.sign(&keys, now, nonce.as_str()), Err(EverywhereNeedsSub));
    }
    assert_eq!(EverywhereNeedsSub.to_string(), "scope everywhere needs sub");
    let everywhere = Logout { sub: Some("ada".into()), scope: LogoutScope::Everywhere };
    let token = everywhere.sign(&keys, now, nonce.as_str()).unwrap();
    assert_eq!(Logout::verify(&token, &keys, now, &nonce), Ok(everywhere));
    let session = Logout { sub: None, scope: LogoutScope::Session };
    assert!(session.sign(&keys, now, nonce.as_str()).is_ok());
}
