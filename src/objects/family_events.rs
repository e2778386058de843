//! What a family's object reports, and the context rule (crate::events), for
//! [`FamilyObject`](super::FamilyObject): each decision that is an event puts one in the
//! family's outbox, to be written with the decision.

use crate::config::{Config, OnContextChange};
use crate::events::{Dropped, FamilyEvents, REPEAT_AFTER, RequestContext, context_changed};
use crate::origin::{
    Device, EVENT_CONTEXT_CHANGED, EVENT_COPIED_JAR, EVENT_REUSE_DETECTED, EVENT_REVOKED, EVENT_SESSION_CREATED,
};
use crate::session::{Family, RevokedBy};
use crate::time::Timestamp;

/// Records one command's events in a family's [`FamilyEvents`].
pub(super) struct Reporter<'a> {
    events: &'a mut FamilyEvents,
    config: &'a Config,
    now: Timestamp,
    /// The events row changed: write it with the decision.
    pub(super) changed: bool,
    /// Events the full outbox dropped.
    pub(super) dropped: Vec<Dropped>,
}

/// What the context rule says about one refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ContextVerdict {
    /// Nothing to do (the same context, or nothing to compare).
    Carry,
    /// `ON_CONTEXT_CHANGE=flag`: keep the family, and flag it (its grants carry the time).
    Flag,
    /// `ON_CONTEXT_CHANGE=end`: end the family; the request goes on anonymous.
    End,
}

impl<'a> Reporter<'a> {
    pub(super) fn new(events: &'a mut FamilyEvents, config: &'a Config, now: Timestamp) -> Reporter<'a> {
        Reporter { events, config, now, changed: false, dropped: Vec::new() }
    }

    /// Whether the object follows devices at all: for events, or to end sessions on a
    /// context change. Otherwise nothing is stored for them (no extra write).
    fn tracking(&self) -> bool {
        self.config.events.is_some() || self.config.on_context_change != OnContextChange::Ignore
    }

    fn report(
        &mut self,
        kind: &str,
        family: &Family,
        device: Device,
        detail: impl FnOnce(&mut crate::origin::SecurityEvent),
    ) {
        if self.config.events.is_none() || self.events.reported_recently(kind, self.now) {
            return;
        }
        let mut event = FamilyEvents::event(kind, family, device, self.now);
        detail(&mut event);
        self.dropped.extend(self.events.outbox.push(event, self.now));
        self.events.reported(kind, self.now);
        self.changed = true;
    }

    fn seen(&mut self, device: Device) {
        self.events.last_device = Some(device);
        self.changed = true;
    }

    /// A login created `family` from `context`.
    pub(super) fn created(&mut self, family: &Family, context: Option<&RequestContext>) {
        if !self.tracking() {
            return;
        }
        let device = context.map(|c| c.device(false)).unwrap_or_default();
        self.seen(device.clone());
        self.report(EVENT_SESSION_CREATED, family, device, |_| {});
    }

    /// A retired credential came back outside every window; `revoked`: the family ended.
    pub(super) fn reuse_detected(&mut self, family: &Family, context: Option<&RequestContext>, revoked: bool) {
        let device = self.request_device(family, context);
        self.report(EVENT_REUSE_DETECTED, family, device, |e| e.revoked = Some(revoked));
    }

    /// A device-bound family's cookie came without a proof of its key; `skipped`: the
    /// request said its browser skipped the proof, for this reason (`Secure-Session-Skipped`).
    pub(super) fn copied_jar(&mut self, family: &Family, context: Option<&RequestContext>, skipped: Option<&str>) {
        let device = self.request_device(family, context);
        self.report(EVENT_COPIED_JAR, family, device, |e| e.skipped = skipped.map(str::to_owned));
    }

    /// `family` was ended by `by`.
    pub(super) fn revoked(&mut self, family: &Family, by: RevokedBy) {
        let device = self.events.last_device_of(family);
        self.report(EVENT_REVOKED, family, device, |e| e.by = Some(by.as_str().to_owned()));
    }

    /// The context rule, for a refresh that identified the user: a family without device
    /// binding whose country, network or browser family differs from its last refresh's
    /// (both known) reports `session.context_changed`, and with `ON_CONTEXT_CHANGE=flag` is
    /// flagged, with `end` ends. A device-bound family is left alone: its key is a far stronger signal, and
    /// a copy of its cookies is refused anyway.
    pub(super) fn refreshed(&mut self, family: &Family, context: Option<&RequestContext>) -> ContextVerdict {
        let Some(context) = context.filter(|_| self.tracking() && family.device_key().is_none()) else {
            return ContextVerdict::Carry;
        };
        let now = context.device(false);
        let Some(before) = self.events.last_device.clone() else {
            // A family from before devices were followed: this is its baseline.
            self.seen(now);
            return ContextVerdict::Carry;
        };
        if !context_changed(&before, &now) {
            return ContextVerdict::Carry;
        }
        let (verdict, action) = match self.config.on_context_change {
            OnContextChange::Ignore => (ContextVerdict::Carry, "none"),
            OnContextChange::Flag => (ContextVerdict::Flag, "flagged"),
            OnContextChange::End => (ContextVerdict::End, "ended"),
        };
        let flagged_recently = family.context_changed().is_some_and(|at| self.now < at + REPEAT_AFTER);
        let quiet = match verdict {
            ContextVerdict::Carry => self.events.reported_recently(EVENT_CONTEXT_CHANGED, self.now),
            // Still flagged from a change a moment ago: a client flipping between two
            // networks (or User-Agents) must not write on every request.
            ContextVerdict::Flag => flagged_recently,
            ContextVerdict::End => false,
        };
        if quiet {
            // The baseline stays, and nothing is written.
            return ContextVerdict::Carry;
        }
        self.seen(now.clone());
        self.report(EVENT_CONTEXT_CHANGED, family, now, |e| {
            e.previous = Some(before);
            e.action = Some(action.to_owned());
        });
        verdict
    }

    fn request_device(&self, family: &Family, context: Option<&RequestContext>) -> Device {
        let bound = family.device_key().is_some();
        context.map_or_else(|| self.events.last_device_of(family), |c| c.device(bound))
    }
}
