//! Messages between the stateless worker and a family's Durable Object.
//!
//! The worker has already checked the refresh cookie's MAC (so garbage never reaches an
//! object); it forwards the cookie value and the object checks it again before deciding.
//! Replies carry the `Set-Cookie` lines ready-made, so the worker needs no family state
//! and never sees a rule. JSON keeps the hop debuggable; it is a few hundred bytes.
//!
//! ```
//! use edge_session::wire::FamilyCommand;
//! let cmd = FamilyCommand::Logout;
//! let json = serde_json::to_string(&cmd).unwrap();
//! assert_eq!(serde_json::from_str::<FamilyCommand>(&json).unwrap(), cmd);
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::credential::Identity;
use crate::edge::GrantCookies;
use crate::family::{Refusal, SessionState};

/// What the worker asks of a family's object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FamilyCommand {
    /// Decide a presented refresh cookie (its raw value).
    Refresh { cookie: String },
    /// Create this family (id chosen by the worker) for a login directive.
    Login { family: String, sub: String, ctx: Option<Map<String, Value>>, remember: bool },
    /// End this family (logout, or replaced by a new login).
    Logout,
}

/// What the object answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyReply {
    pub verdict: Verdict,
    /// Storage rows written while deciding (observability: 0 between rotations).
    pub writes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// An identity for this request, with the cookies to set. `decided_at` (Unix ms)
    /// lets the worker apply the slow rule once the origin has answered.
    Granted { identity: Identity, state: SessionState, cookies: GrantCookies, decided_at: u64 },
    /// No identity: the request goes on anonymous, and no cookie is touched.
    Refused { refusal: Refusal },
    /// Reuse of a retired credential; `revoked` says whether the family was ended.
    ReuseDetected { revoked: bool },
    /// A logout was carried out (or there was nothing left to end).
    Done,
}

/// What the worker (or a family) asks of a user's `UserSessions` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum UserCommand {
    /// A new family of this user exists.
    Register { entry: crate::user_index::FamilyEntry },
    /// Log out everywhere: revoke every family of this user.
    RevokeAll,
}

/// What the `UserSessions` object answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserReply {
    /// For `Register`: false when the family raced a revoke-all and must be revoked.
    pub accepted: bool,
    /// For `RevokeAll`: how many families were revoked.
    pub revoked: usize,
}
