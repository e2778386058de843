//! The origin protocol: what the edge and the origin say to each other.
//!
//! Edge → origin: the request's headers minus the identity namespace, plus
//! `X-Edge-Nonce` on every request and, for an identified one, `X-Edge-User`,
//! `X-Edge-Session`, `X-Edge-Session-State` and the signed [`Assertion`]. Origin → edge:
//! the [`Login`], [`Logout`] and [`StepUp`] directives, each bound to the request it answers, and
//! [`AdminRequest`] tokens for the admin API. All are HS256 JWS under `ORIGIN_SECRET`,
//! told apart by `typ` so that none passes for another (RFC 8725 §3.11).
//!
//! The tokens and header names are the origin crate's (`edge-session-origin`,
//! `packages/rust`), re-exported here, so the edge and a Rust origin run one
//! implementation. What only the edge decides lives here: what a response's directives
//! do, whom a logout may come from, which headers no client may send, what caches are
//! told, and the session list it answers.

mod admin;
mod directives;
mod headers;

pub use admin::session_list;
pub use directives::{
    CrossSiteLogout, DirectivePlan, RequestSite, StepUpRefused, logout_allowed, origin_of, step_up_target,
};
pub use edge_session_origin::{
    ADMIN_MAX_LIFETIME_SECS, ADMIN_TYPE, ASSERTION_HEADER, ASSERTION_TTL_SECS, ASSERTION_TYPE, AdminAction,
    AdminRequest, Adoption, Assertion, DIRECTIVE_MAX_LIFETIME_SECS, Device, EDGE_AUDIENCE, EDGE_ISSUER,
    EVENT_CONTEXT_CHANGED, EVENT_COPIED_JAR, EVENT_QUEUE_LIFETIME_SECS, EVENT_REUSE_DETECTED, EVENT_REVOKED,
    EVENT_SESSION_CREATED, EVENT_WEBHOOK_LIFETIME_SECS, LOGIN_HEADER, LOGIN_TYPE, LOGOUT_HEADER, LOGOUT_TYPE, Login,
    Logout, LogoutScope, MAX_AMR, MAX_AMR_LEN, NONCE_HEADER, RequestNonce, Revoked, SESSION_HEADER, STATE_HEADER,
    STEP_UP_HEADER, STEP_UP_TYPE, SecurityEvent, Session, StepUp, TokenError, USER_HEADER, adoption, encode_user,
};
pub use headers::{
    CACHE_HEADERS, CLEAR_SITE_DATA, CREDENTIAL_CACHE_CONTROL, LOOP_HEADER, clear_site_data_sparing_cookies,
    edge_owned_response_header, forwarded_to_origin, is_identity_header, is_loop_marker, loop_marker, sets_edge_cookie,
};
