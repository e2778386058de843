//! What each Durable Object does with a message, without the Durable Object.
//!
//! The wasm shell's two objects are four steps each: decode the message, hand it to the
//! code here, write what it says to write and arm the alarm it names, encode the reply.
//! Every rule of that middle step (which refusal a cookie earns, what an id collision
//! means, that a second logout is harmless, when an ended family may be deleted, what to
//! log) is here, where host tests reach every branch.
//!
//! * [`FamilyObject`]: one session family's object (`SessionFamily`).
//! * [`UserIndex::handle`](crate::users::UserIndex::handle): one user's index
//!   (`UserSessions`).

mod family_events;
mod session_family;
mod user_sessions;

pub use session_family::{AfterUnregister, AlarmStep, FamilyHandled, FamilyObject, UnverifiableCookie};
pub use user_sessions::{REVOKE_RETRY, RevocationsSettled, UserHandled};

/// A structured log line the shell writes: `{"edge_session": name, key: value…}`. Never
/// holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event's name, e.g. `reuse_detected`.
    pub name: &'static str,
    /// Its fields, in order.
    pub fields: Vec<(&'static str, String)>,
}

impl Event {
    fn new(name: &'static str, fields: Vec<(&'static str, String)>) -> Event {
        Event { name, fields }
    }
}
