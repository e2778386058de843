//! The answer to the admin API's `list` (the tokens themselves are the origin crate's
//! [`AdminRequest`](super::AdminRequest)).

use serde_json::{Value, json};

use super::Session;
use crate::users::{FamilyEntry, browser_of, os_of};

/// The body of a `list` answer: `{"sub", "sessions": [{"sid", "created_at", "last_seen",
/// "remember", "device_bound", "user_agent", "browser", "os", "country"}]}`, times in Unix seconds like JWT
/// claims. `sid` is what the origin sees as `X-Edge-Session`, so an app can mark "this
/// device". Each entry is the origin crate's [`Session`], the shape its client reads.
pub fn session_list(sub: &str, entries: &[FamilyEntry]) -> Value {
    let sessions: Vec<Session> = entries
        .iter()
        .map(|e| Session {
            sid: e.family.to_string(),
            created_at: e.created_at.as_secs(),
            // Entries stored before `last_seen` existed read 0.
            last_seen: e.last_seen.max(e.created_at).as_secs(),
            remember: e.remember,
            device_bound: e.device_bound,
            user_agent: e.user_agent.clone(),
            browser: e.user_agent.as_deref().and_then(browser_of).map(str::to_owned),
            os: e.user_agent.as_deref().and_then(os_of).map(str::to_owned),
            country: e.country.clone(),
        })
        .collect();
    json!({ "sub": sub, "sessions": sessions })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::FamilyId;
    use crate::time::Timestamp;

    #[test]
    fn lists_sessions_in_unix_seconds() {
        let t = Timestamp::from_millis(1_700_000_000_500);
        let entry = FamilyEntry::new(FamilyId::from_bytes([7; 16]), t, true, Some("curl/8"), None);
        let list = session_list("ada", std::slice::from_ref(&entry));
        assert_eq!(list["sub"], "ada");
        assert_eq!(list["sessions"][0]["sid"], entry.family.to_string());
        assert_eq!(list["sessions"][0]["created_at"], 1_700_000_000);
        assert_eq!(list["sessions"][0]["last_seen"], 1_700_000_000);
        assert_eq!(list["sessions"][0]["remember"], true);
        assert_eq!(list["sessions"][0]["user_agent"], "curl/8");
        assert_eq!(list["sessions"][0]["country"], Value::Null);
        assert_eq!(list["sessions"][0]["device_bound"], false);
        assert_eq!(list["sessions"][0]["browser"], "curl");
        assert_eq!(list["sessions"][0]["os"], Value::Null);
        assert_eq!(list["sessions"][0].as_object().unwrap().len(), 9, "{list}");
    }
}
