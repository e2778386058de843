//! Who asked for a session to end: what `session.revoked` events report.

use serde::{Deserialize, Serialize};

/// Who ended a family, as `session.revoked` names it (`by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokedBy {
    /// The user logged out of this session.
    Logout,
    /// A "log out everywhere" directive from the origin.
    Everywhere,
    /// The admin API: one session revoked, or all of them.
    Admin,
    /// The admin API's revoke-all sparing one session: what the packages' "sign out
    /// other devices" sends from the session it spares. Told apart from `Admin` so that a
    /// receiver can say "you signed out your other devices", not "an administrator".
    Others,
    /// A new login on the same browser replaced it.
    Login,
    /// The user held more sessions than allowed: the oldest went.
    Limit,
    /// `ON_CONTEXT_CHANGE=end`: it refreshed from another country, network or browser.
    ContextChanged,
    /// Its login could not be recorded in the user's index (unreachable): the login
    /// answered 503, and the session's cookies were never sent.
    LoginFailed,
    /// A reason this version does not know: sent by a newer worker or index during a
    /// deploy, or stored by one before a rollback. The family still ends at once (a
    /// revocation is never held back for its label), reported as `unknown`.
    #[serde(other)]
    Unknown,
}

impl RevokedBy {
    /// The name in events.
    pub fn as_str(self) -> &'static str {
        match self {
            RevokedBy::Logout => "logout",
            RevokedBy::Everywhere => "everywhere",
            RevokedBy::Admin => "admin",
            RevokedBy::Others => "others",
            RevokedBy::Login => "login",
            RevokedBy::Limit => "limit",
            RevokedBy::ContextChanged => "context_changed",
            RevokedBy::LoginFailed => "login_failed",
            RevokedBy::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_in_events_are_the_names_on_the_wire() {
        use RevokedBy::*;
        for by in [Logout, Everywhere, Admin, Others, Login, Limit, ContextChanged, LoginFailed, Unknown] {
            assert_eq!(serde_json::to_value(by).unwrap(), by.as_str());
            assert_eq!(serde_json::from_value::<RevokedBy>(by.as_str().into()).unwrap(), by);
        }
    }

    #[test]
    fn a_reason_from_a_newer_version_still_revokes() {
        assert_eq!(serde_json::from_str::<RevokedBy>(r#""a_later_reason""#).unwrap(), RevokedBy::Unknown);
    }
}
