//! Device Bound Session Credentials (W3C webappsec-dbsc): the edge as the DBSC server
//! for whatever origin is behind it.
//!
//! A browser that supports DBSC answers a login's registration offer by creating a key
//! pair it cannot export (a TPM, or a software key in tests) and proving possession. The
//! family is then bound to that key ([`crate::session::Family::bind`]): its short access
//! cookie is refreshed only with a fresh proof, and its refresh cookie alone identifies
//! no one. A cookie jar copied off the machine is anonymous once its access cookie
//! expires (`DBSC_ACCESS_TTL_SECS`), and it cannot disturb the owner's session. Browsers
//! without DBSC ignore the offer and keep the rotation rules of docs/design.md §3.
//!
//! * [`proof`]: the signed JWS and its checks;
//! * [`challenge`]: stateless, MAC'd challenges, one proof each;
//! * [`protocol`]: the endpoints, headers and answers;
//! * [`skipped`]: `Secure-Session-Skipped`, a browser saying it skipped a refresh.

pub mod challenge;
mod proof;
mod protocol;
mod skipped;

pub use proof::{MAX_PROOF_LEN, PROOF_TYPE, Proof, ProofError};
pub use protocol::{
    BOUND_COOKIE_ATTRIBUTES, CHALLENGE_HEADER, DeviceAnswer, DeviceStep, REFRESH_PATH, REGISTER_PATH,
    REGISTRATION_HEADER, RESPONSE_HEADER, SESSION_ID_HEADER, bound_answer, challenge_answer, challenge_header,
    instructions, refresh_step, refusal_answer, register_step, registration_offer,
};
pub use skipped::{SKIPPED_HEADER, skipped};
