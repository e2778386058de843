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
    /// The admin API ("sign out this device", "sign out all other devices").
    Admin,
    /// A new login on the same browser replaced it.
    Login,
    /// The user held more sessions than allowed: the oldest went.
    Limit,
    /// `ON_CONTEXT_CHANGE=end`: it refreshed from another country, network or browser.
    ContextChanged,
}

impl RevokedBy {
    /// The name in events.
    pub fn as_str(self) -> &'static str {
        match self {
            RevokedBy::Logout => "logout",
            RevokedBy::Everywhere => "everywhere",
            RevokedBy::Admin => "admin",
            RevokedBy::Login => "login",
            RevokedBy::Limit => "limit",
            RevokedBy::ContextChanged => "context_changed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_in_events_are_the_names_on_the_wire() {
        use RevokedBy::*;
        for by in [Logout, Everywhere, Admin, Login, Limit, ContextChanged] {
            assert_eq!(serde_json::to_value(by).unwrap(), by.as_str());
        }
    }
}
