//! Security events: the user and the operator hear about a login, a theft, a copied
//! cookie jar, a revocation, a session used from somewhere new.
//!
//! The family's object decides each of these, so the family's object reports them: it
//! puts the event in its [`Outbox`] in the same storage write as the decision, and its
//! alarm delivers it (webhook, queue) until a receiver has it. The wire format, a signed
//! [`SecurityEvent`](crate::origin::SecurityEvent), is the origin crate's, so every
//! origin package verifies what the edge signs with the same rules.
//!
//! What a family keeps for its events ([`FamilyEvents`]) is its own storage row, beside
//! the family's: the family's rules and their property tests know nothing of events.

mod device;
mod outbox;

use serde::{Deserialize, Serialize};

pub use device::{RequestContext, context_changed};
pub use outbox::{Delivery, Dropped, GIVE_UP_AFTER, MAX_PENDING, Outbox, RETRY_SCHEDULE_SECS, Transport};

use std::time::Duration;

use crate::origin::{Device, SecurityEvent};
use crate::session::Family;
use crate::time::Timestamp;

/// The same kind of event about the same session is reported at most once in this long:
/// a client flipping between two networks or browsers, a copied jar retried in a loop,
/// or a stale cookie replayed under `ON_REUSE=reject` would otherwise cost a write, an
/// alarm and a delivery per request, and flood the user with notices.
pub const REPEAT_AFTER: Duration = Duration::from_secs(900);

/// What one family's object keeps for its events: stored as its own row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyEvents {
    /// Events not delivered yet.
    #[serde(default)]
    pub outbox: Outbox,
    /// The device of the last login or refresh that reached the object: what a context
    /// change is measured against, and what a revocation reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_device: Option<Device>,
    /// When each kind of event was last queued ([`REPEAT_AFTER`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_reported: Vec<(String, Timestamp)>,
}

impl FamilyEvents {
    /// An event about `family` at `now`, from `device` (its `jti` is set when queued).
    pub fn event(kind: &str, family: &Family, device: Device, now: Timestamp) -> SecurityEvent {
        let mut event = SecurityEvent::new("", kind, &family.identity().sub, &family.id().to_string(), now);
        event.device = device;
        event
    }

    /// Whether an event of `kind` was queued less than [`REPEAT_AFTER`] before `now`.
    pub fn reported_recently(&self, kind: &str, now: Timestamp) -> bool {
        self.last_reported.iter().any(|(k, at)| k == kind && now.since(*at) < REPEAT_AFTER)
    }

    /// Records that an event of `kind` was queued at `now`.
    pub fn reported(&mut self, kind: &str, now: Timestamp) {
        self.last_reported.retain(|(k, _)| k != kind);
        self.last_reported.push((kind.to_owned(), now));
    }

    /// The device the family was last seen on (an empty one if never), bound or not as
    /// the family is now.
    pub fn last_device_of(&self, family: &Family) -> Device {
        let mut device = self.last_device.clone().unwrap_or_default();
        device.bound = family.device_key().is_some();
        device
    }
}
