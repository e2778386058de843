//! Messages between the stateless worker and a family's Durable Object.
//!
//! The worker has already checked the refresh cookie's MAC (so garbage never reaches an
//! object); it forwards the cookie value and the object checks it again before deciding.
//! Replies carry the `Set-Cookie` lines ready-made, so the worker needs no family state
//! and never sees a rule. JSON keeps the hop debuggable; it is a few hundred bytes.
//! Enums use serde's default (external) tagging, `{"refresh":{"cookie":…}}`: internal
//! tags (`{"op":"refresh",…}`) made serde buffer every message through its generic
//! `Content` tree, 61 KB of wasm before optimization.
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
use crate::user_index::FamilyEntry;

/// What the worker asks of a family's object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[serde(rename_all = "snake_case")]
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

/// What the worker, a family or the admin API asks of a user's `UserSessions` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserCommand {
    /// A new family of this user exists.
    Register { entry: FamilyEntry },
    /// The family refreshed at `at` (Unix ms): move its `last_seen`.
    Touch { family: String, at: u64 },
    /// The family's object was deleted (it ended): drop it from the index.
    Unregister { family: String, created_at: u64 },
    /// List the user's live families.
    List,
    /// Revoke one listed family.
    Revoke { family: String },
    /// Log out everywhere: revoke every family of this user but `except`.
    RevokeAll { except: Option<String> },
}

/// What the `UserSessions` object answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserReply {
    /// For `Register`: false when the family must not exist and must be revoked.
    pub accepted: bool,
    /// For `Revoke` and `RevokeAll`: how many families were revoked.
    pub revoked: usize,
    /// For `List`: the live families, oldest first.
    #[serde(default)]
    pub sessions: Vec<FamilyEntry>,
}
