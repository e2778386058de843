//! The session rules: the two cookies and their formats, the family state machine that
//! rotates them, how the `Cookie` header is read and `Set-Cookie` written, a family's
//! storage row, and the families an isolate knows have ended.
//!
//! A *family* is every credential descended from one login; the origin calls it a
//! session and sees its id as `sid`.

mod cookie_header;
mod credential;
mod ended;
mod family;
pub mod family_row;
mod set_cookie;

pub use cookie_header::{edge_cookies, strip_edge_cookies, EdgeCookies};
pub use credential::{
    AccessCredential, CredentialError, FamilyId, Identity, RefreshCredential, RefreshSecret, SecretDigest, ACCESS_COOKIE,
    MAX_ACCESS_LEN, MAX_CTX_LEN, MAX_REFRESH_LEN, MAX_SUB_LEN, REFRESH_COOKIE,
};
pub use ended::{EndedFamilies, DEFAULT_CAPACITY as ENDED_FAMILIES_CAPACITY};
pub use family::{may_set_refresh, Decision, Family, Grant, Outcome, Refusal, SessionState};
pub use set_cookie::{clear_cookie, set_cookie, GrantCookies};
