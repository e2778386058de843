//! The session rules: the two cookies and their formats, the family state machine that
//! rotates them, the binding of a family to a device key (DBSC), how the `Cookie` header is read and `Set-Cookie` written, a family's
//! storage row, and the families an isolate knows have ended.
//!
//! A *family* is every credential descended from one login; the origin calls it a
//! session and sees its id as `sid`.

mod anonymous;
mod cookie_header;
mod credential;
mod device;
mod ended;
mod family;
pub mod family_row;
mod presented;
mod revoked_by;
mod set_cookie;

pub use anonymous::AnonymousState;
pub use cookie_header::{EdgeCookies, edge_cookies, strip_edge_cookies};
pub use credential::{
    ACCESS_COOKIE, AccessCredential, CredentialError, FamilyId, Identity, MAX_ACCESS_LEN, MAX_CTX_LEN, MAX_REFRESH_LEN,
    MAX_SUB_LEN, REFRESH_COOKIE, RefreshCredential, RefreshSecret, SecretDigest,
};
pub use device::DeviceRefusal;
pub use ended::{DEFAULT_CAPACITY as ENDED_FAMILIES_CAPACITY, EndedFamilies};
pub use family::{Decision, Elevation, Family, Grant, Outcome, Refusal, SessionState, may_set_refresh};
pub use presented::{Claim, Presented, presented};
pub use revoked_by::RevokedBy;
pub use set_cookie::{GrantCookies, clear_cookie, set_cookie};
