//! The origin protocol: what the edge and the origin say to each other.
//!
//! Edge → origin: the request's headers minus the identity namespace, plus
//! `X-Edge-Nonce` on every request and, for an identified one, `X-Edge-User`,
//! `X-Edge-Session`, `X-Edge-Session-State` and the signed [`Assertion`]. Origin → edge:
//! the [`Login`] and [`Logout`] directives, each bound to the request it answers, and
//! [`AdminRequest`] tokens for the admin API. All are HS256 JWS under `ORIGIN_SECRET`,
//! told apart by `typ` so that none passes for another (RFC 8725 §3.11).

mod admin;
mod adopt;
mod assertion;
mod directives;
mod headers;
mod token;
#[cfg(feature = "tower")]
pub mod tower;

pub use admin::{ADMIN_MAX_LIFETIME_SECS, ADMIN_TYPE, AdminAction, AdminRequest, session_list};
pub use adopt::{Adoption, adoption};
pub use assertion::{ASSERTION_TTL_SECS, ASSERTION_TYPE, Assertion};
pub use directives::{
    CrossSiteLogout, DIRECTIVE_MAX_LIFETIME_SECS, DirectivePlan, LOGIN_TYPE, LOGOUT_TYPE, Login, Logout, LogoutScope,
    RequestNonce, RequestSite, logout_allowed, origin_of,
};
pub use headers::{
    ASSERTION_HEADER, CACHE_HEADERS, CREDENTIAL_CACHE_CONTROL, LOGIN_HEADER, LOGOUT_HEADER, NONCE_HEADER,
    SESSION_HEADER, STATE_HEADER, USER_HEADER, encode_user, is_identity_header,
};
pub use token::{EDGE_AUDIENCE, EDGE_ISSUER, TokenError};
