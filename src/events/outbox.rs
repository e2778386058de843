//! The outbox: events a family's object decided and has not yet delivered.
//!
//! An event is put in the outbox in the same storage write as the decision it reports
//! (the family's object writes both without an `await` between), so a decision is never
//! durable without its event. The object's alarm then delivers it, to every configured
//! transport, and retries what failed on a schedule that starts fast (a receiver
//! restarting is back within seconds) and backs off to hourly. Delivery is at least once:
//! a receiver may see an event twice (a delivery whose answer was lost), always with the
//! same `jti`.
//!
//! Bounded both ways: at most [`MAX_PENDING`] events wait per family, and none waits past
//! [`GIVE_UP_AFTER`]. What is dropped is counted and reported, never silent. When full,
//! the oldest `session.context_changed` goes first (the most frequent and least urgent),
//! so a flood of context changes cannot push out a theft report.
//!
//! ```
//! use edge_session::events::{Outbox, Transport};
//! use edge_session::origin::{SecurityEvent, EVENT_SESSION_CREATED};
//! use edge_session::time::Timestamp;
//! let now = Timestamp::from_secs(1_700_000_000);
//! let mut outbox = Outbox::default();
//! outbox.push(SecurityEvent::new("", EVENT_SESSION_CREATED, "ada", "AQEBAQEBAQEBAQEBAQEBAQ", now), now);
//! let due = outbox.due(now, &[Transport::Webhook]);
//! assert_eq!(due[0].event.jti, "AQEBAQEBAQEBAQEBAQEBAQ.1");
//! // The receiver was down: tried again two seconds later, the same event.
//! outbox.settle(&due[0].event.jti, &[], &[Transport::Webhook], now);
//! assert_eq!(outbox.next_attempt(), Some(Timestamp::from_secs(1_700_000_002)));
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::origin::{EVENT_CONTEXT_CHANGED, SecurityEvent};
use crate::time::Timestamp;

/// Most events waiting in one family's outbox. A family reports a handful in its life;
/// this many waiting means the receiver has been down a while.
pub const MAX_PENDING: usize = 32;
/// Waits before each retry, in seconds; the last repeats.
pub const RETRY_SCHEDULE_SECS: [u64; 8] = [2, 5, 10, 30, 60, 300, 900, 3600];
/// An event not delivered within a day is dropped (and reported).
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(86_400);

/// Where events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// `EVENTS_URL`: a `POST` of the signed event; a 2xx answer is a delivery.
    Webhook,
    /// The `EVENTS` Queue binding.
    Queue,
}

/// One family's undelivered events, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    /// The last sequence number given: each event's `jti` is `{sid}.{seq}`.
    #[serde(default)]
    seq: u64,
    #[serde(default)]
    pending: Vec<Pending>,
    /// Events dropped over the family's life.
    #[serde(default)]
    dropped: u64,
}

/// An event waiting, and how its delivery went so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Pending {
    event: SecurityEvent,
    queued_at: Timestamp,
    next_at: Timestamp,
    attempts: u32,
    /// The transports that took it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sent: Vec<Transport>,
}

/// An event to deliver now, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The event (its `jti` identifies it to [`Outbox::settle`]).
    pub event: SecurityEvent,
    /// The transports that have not taken it yet.
    pub to: Vec<Transport>,
}

/// An event that will never be delivered: report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Its id.
    pub jti: String,
    /// Its type.
    pub kind: String,
    /// `full` (the outbox was) or `expired` (undelivered for a day).
    pub reason: &'static str,
    /// Events dropped by this family so far, this one included.
    pub total: u64,
}

impl Outbox {
    /// Queues `event` (its `jti` is assigned here) for delivery at once. Returns the
    /// event dropped to make room, if the outbox was full.
    pub fn push(&mut self, mut event: SecurityEvent, now: Timestamp) -> Option<Dropped> {
        self.seq += 1;
        event.jti = format!("{}.{}", event.sid, self.seq);
        let dropped = (self.pending.len() >= MAX_PENDING).then(|| {
            let victim = self.pending.iter().position(|p| p.event.kind == EVENT_CONTEXT_CHANGED).unwrap_or(0);
            let victim = self.pending.remove(victim);
            self.drop_one(victim, "full")
        });
        // Due at once, whatever clock decided it: a request's time may run ahead of the
        // alarm's (EDGE_DEBUG's test clock), and a new event must not wait for it.
        let next_at = Timestamp::from_millis(0);
        self.pending.push(Pending { event, queued_at: now, next_at, attempts: 0, sent: Vec::new() });
        dropped
    }

    /// Nothing waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// How many events wait.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// When the next delivery attempt is due, if any event waits.
    pub fn next_attempt(&self) -> Option<Timestamp> {
        self.pending.iter().map(|p| p.next_at).min()
    }

    /// The events due at `now`, each with the `configured` transports that have not taken
    /// it yet.
    pub fn due(&self, now: Timestamp, configured: &[Transport]) -> Vec<Delivery> {
        self.pending
            .iter()
            .filter(|p| p.next_at <= now)
            .map(|p| Delivery {
                event: p.event.clone(),
                to: configured.iter().copied().filter(|t| !p.sent.contains(t)).collect(),
            })
            .collect()
    }

    /// The outcome of an attempt to deliver `jti`: `took` are the transports that
    /// confirmed. Delivered once every `configured` transport took it; else it waits for
    /// its next turn, or is dropped if it has waited a day. Returns what was dropped.
    pub fn settle(
        &mut self,
        jti: &str,
        took: &[Transport],
        configured: &[Transport],
        now: Timestamp,
    ) -> Option<Dropped> {
        let at = self.pending.iter().position(|p| p.event.jti == jti)?;
        let pending = &mut self.pending[at];
        for transport in took {
            if !pending.sent.contains(transport) {
                pending.sent.push(*transport);
            }
        }
        // With no transport configured (a queue binding misnamed, say) nothing took it: it
        // waits, and is dropped and reported after a day, never silently.
        if !configured.is_empty() && configured.iter().all(|t| pending.sent.contains(t)) {
            self.pending.remove(at);
            return None;
        }
        if now.since(pending.queued_at) >= GIVE_UP_AFTER {
            let pending = self.pending.remove(at);
            return Some(self.drop_one(pending, "expired"));
        }
        let wait = RETRY_SCHEDULE_SECS[(pending.attempts as usize).min(RETRY_SCHEDULE_SECS.len() - 1)];
        pending.attempts += 1;
        pending.next_at = now + Duration::from_secs(wait);
        None
    }

    fn drop_one(&mut self, pending: Pending, reason: &'static str) -> Dropped {
        self.dropped += 1;
        Dropped { jti: pending.event.jti, kind: pending.event.kind, reason, total: self.dropped }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::origin::{EVENT_REUSE_DETECTED, EVENT_SESSION_CREATED};

    const SID: &str = "AQEBAQEBAQEBAQEBAQEBAQ";
    const BOTH: [Transport; 2] = [Transport::Webhook, Transport::Queue];

    fn event(kind: &str, now: Timestamp) -> SecurityEvent {
        SecurityEvent::new("", kind, "ada", SID, now)
    }

    #[test]
    fn a_receiver_down_for_three_attempts_gets_the_event_on_the_fourth_with_the_same_jti() {
        let t0 = Timestamp::from_secs(1_000);
        let mut outbox = Outbox::default();
        outbox.push(event(EVENT_SESSION_CREATED, t0), t0);
        let mut now = t0;
        let mut seen = Vec::new();
        for _ in 0..3 {
            let due = outbox.due(now, &[Transport::Webhook]);
            assert_eq!(due.len(), 1);
            seen.push(due[0].event.jti.clone());
            outbox.settle(&due[0].event.jti, &[], &[Transport::Webhook], now);
            assert!(outbox.due(now, &[Transport::Webhook]).is_empty(), "not again before its turn");
            now = outbox.next_attempt().unwrap();
        }
        assert_eq!(now, t0 + Duration::from_secs(2 + 5 + 10), "retried within seconds");
        let due = outbox.due(now, &[Transport::Webhook]);
        seen.push(due[0].event.jti.clone());
        outbox.settle(&due[0].event.jti, &[Transport::Webhook], &[Transport::Webhook], now);
        assert!(outbox.is_empty());
        assert!(seen.iter().all(|jti| *jti == seen[0]), "one jti for every delivery: {seen:?}");
    }

    #[test]
    fn each_transport_gets_it_once_and_the_event_leaves_when_both_have() {
        let t0 = Timestamp::from_secs(1_000);
        let mut outbox = Outbox::default();
        outbox.push(event(EVENT_SESSION_CREATED, t0), t0);
        let jti = outbox.due(t0, &BOTH)[0].event.jti.clone();
        outbox.settle(&jti, &[Transport::Queue], &BOTH, t0);
        let later = outbox.next_attempt().unwrap();
        assert_eq!(outbox.due(later, &BOTH)[0].to, vec![Transport::Webhook], "the queue has it already");
        outbox.settle(&jti, &[Transport::Webhook], &BOTH, later);
        assert!(outbox.is_empty());
    }

    #[test]
    fn the_backoff_reaches_hourly_and_a_day_later_the_event_is_dropped_and_counted() {
        let t0 = Timestamp::from_secs(1_000);
        let mut outbox = Outbox::default();
        outbox.push(event(EVENT_SESSION_CREATED, t0), t0);
        let jti = outbox.due(t0, &BOTH)[0].event.jti.clone();
        let mut now = t0;
        let mut waits = Vec::new();
        let dropped = loop {
            if let Some(dropped) = outbox.settle(&jti, &[], &BOTH, now) {
                break dropped;
            }
            let next = outbox.next_attempt().unwrap();
            waits.push(next.since(now).as_secs());
            now = next;
        };
        assert_eq!(waits[..8], RETRY_SCHEDULE_SECS);
        assert!(waits[8..].iter().all(|w| *w == 3600));
        assert!(now.since(t0) >= GIVE_UP_AFTER && now.since(t0) < GIVE_UP_AFTER + Duration::from_secs(3600));
        assert_eq!((dropped.reason, dropped.total), ("expired", 1));
        assert!(outbox.is_empty());
    }

    #[test]
    fn when_full_context_changes_go_before_a_theft_report() {
        let t0 = Timestamp::from_secs(1_000);
        let mut outbox = Outbox::default();
        outbox.push(event(EVENT_REUSE_DETECTED, t0), t0);
        for _ in 1..MAX_PENDING {
            assert_eq!(outbox.push(event(EVENT_CONTEXT_CHANGED, t0), t0), None);
        }
        let dropped = outbox.push(event(EVENT_CONTEXT_CHANGED, t0), t0).unwrap();
        assert_eq!(
            (dropped.kind.as_str(), dropped.reason, dropped.jti.as_str()),
            (EVENT_CONTEXT_CHANGED, "full", "AQEBAQEBAQEBAQEBAQEBAQ.2")
        );
        assert_eq!(outbox.len(), MAX_PENDING);
        assert!(outbox.due(t0, &BOTH).iter().any(|d| d.event.kind == EVENT_REUSE_DETECTED), "the theft report stays");
    }

    #[test]
    fn with_no_transport_an_event_waits_and_is_dropped_loudly() {
        let t0 = Timestamp::from_secs(1_000);
        let mut outbox = Outbox::default();
        outbox.push(event(EVENT_SESSION_CREATED, t0), t0);
        let jti = outbox.due(t0, &[])[0].event.jti.clone();
        assert_eq!(outbox.settle(&jti, &[], &[], t0), None);
        assert_eq!(outbox.len(), 1, "not delivered: it waits");
        let later = t0 + GIVE_UP_AFTER;
        assert_eq!(outbox.settle(&jti, &[], &[], later).map(|d| d.reason), Some("expired"));
    }

    #[test]
    fn jtis_are_never_reused_within_a_family() {
        let t0 = Timestamp::from_secs(1_000);
        let mut outbox = Outbox::default();
        let mut jtis = std::collections::BTreeSet::new();
        for _ in 0..5 {
            outbox.push(event(EVENT_SESSION_CREATED, t0), t0);
            let jti = outbox.due(t0, &BOTH).last().unwrap().event.jti.clone();
            outbox.settle(&jti, &BOTH, &BOTH, t0);
            assert!(jtis.insert(jti));
        }
        let stored: Outbox = serde_json::from_str(&serde_json::to_string(&outbox).unwrap()).unwrap();
        assert_eq!(stored, outbox, "the sequence survives storage");
    }
}
