//! The migration bridge: logging a user of the app's own (legacy) session in at the edge.
//!
//! An app adopting edge-session keeps accepting its own session cookie for a while; on a
//! request that carries one and no edge identity, it answers with a login directive for
//! that user, and from the next request on it is an edge session. What must never happen
//! is the bridge logging a *refused* edge jar back in: a jar copied after "log out
//! everywhere", an admin revoke or a reuse revocation, or a device-bound session's jar
//! without its key, still carries the legacy cookie. The edge says so on such a request
//! (`X-Edge-Session-State`), and the bridge refuses then, whatever the value (one it does
//! not know yet included).
//!
//! Every origin package decides the same way, checked by the shared conformance table
//! (`packages/conformance/vectors.json`).
//!
//! ```
//! use edge_session_origin::{Adoption, adoption};
//! assert_eq!(adoption(false, None, Some("n0nce"), Some("lee")), Adoption::Login);
//! assert_eq!(adoption(false, Some("ended"), Some("n0nce"), Some("lee")), Adoption::Refused);
//! ```

/// What the bridge does for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adoption {
    /// Answer with a login directive for the legacy user.
    Login,
    /// Nothing to do: the edge identified the request, or there is no legacy session.
    Skip,
    /// The edge refused this request's edge cookie: never log it back in. Log
    /// `edge_adopt_refused` with the state.
    Refused,
    /// No `X-Edge-Nonce`: the request did not come through the edge, and a directive would
    /// be ignored. Log `edge_adopt_no_nonce`.
    NotThroughTheEdge,
}

/// The bridge's decision: `identified` whether the request carries a verified assertion,
/// `state_header` its `X-Edge-Session-State` (any value, empty included, refuses an
/// anonymous request), `nonce` its `X-Edge-Nonce`, `legacy_sub` the app's own session's
/// user.
pub fn adoption(
    identified: bool,
    state_header: Option<&str>,
    nonce: Option<&str>,
    legacy_sub: Option<&str>,
) -> Adoption {
    if identified || legacy_sub.is_none_or(str::is_empty) {
        Adoption::Skip
    } else if state_header.is_some() {
        Adoption::Refused
    } else if nonce.is_none_or(str::is_empty) {
        Adoption::NotThroughTheEdge
    } else {
        Adoption::Login
    }
}
