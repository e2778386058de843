//! Why a request that carried an edge cookie reaches the origin anonymous.
//!
//! The origin receives it as `X-Edge-Session-State` on a request with no identity, so an
//! app can tell "never signed in" (no header) from "signed in, and that ended". The
//! difference matters to any app that can log a user in by other means: a migration bridge
//! (`adopt()` in the origin packages) must never turn a refused edge cookie jar, copied
//! after "log out everywhere" or off a device-bound session, back into a session.
//!
//! ```
//! use edge_session::session::{AnonymousState, Refusal};
//! assert_eq!(AnonymousState::of_refusal(Refusal::Revoked).as_str(), "ended");
//! assert_eq!(AnonymousState::of_refusal(Refusal::DeviceBound).as_str(), "device_bound");
//! ```

use super::family::Refusal;

/// The `X-Edge-Session-State` of an anonymous request that presented an edge cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnonymousState {
    /// Its family ended: logout, "log out everywhere", an admin revoke, the kill switch, or
    /// deleted after it ended.
    Ended,
    /// Its family passed its idle or absolute limit, or an access cookie alone expired.
    Expired,
    /// A retired refresh credential outside every window: theft, or a replay.
    Reused,
    /// A device-bound family's refresh cookie without its access cookie: a copied jar.
    DeviceBound,
    /// Nothing the edge could verify: a forged, tampered, malformed or retired-key cookie,
    /// a duplicated name, or a generation the family never issued.
    Invalid,
}

impl AnonymousState {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            AnonymousState::Ended => "ended",
            AnonymousState::Expired => "expired",
            AnonymousState::Reused => "reused",
            AnonymousState::DeviceBound => "device_bound",
            AnonymousState::Invalid => "invalid",
        }
    }

    /// What a family's object refusing a refresh cookie tells the origin.
    pub fn of_refusal(refusal: Refusal) -> AnonymousState {
        match refusal {
            Refusal::UnknownFamily | Refusal::Revoked => AnonymousState::Ended,
            Refusal::Expired => AnonymousState::Expired,
            Refusal::FutureGeneration => AnonymousState::Invalid,
            Refusal::DeviceBound => AnonymousState::DeviceBound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct_and_never_an_identified_state() {
        let all = [
            AnonymousState::Ended,
            AnonymousState::Expired,
            AnonymousState::Reused,
            AnonymousState::DeviceBound,
            AnonymousState::Invalid,
        ];
        let mut labels: Vec<_> = all.iter().map(|s| s.as_str()).collect();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), all.len());
        for identified in ["fresh", "rotated", "grace", "recovered"] {
            assert!(!labels.contains(&identified), "{identified}");
        }
    }
}
