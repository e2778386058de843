//! Per-request outcome counters, for observability.
//!
//! Every proxied request ends in exactly one [`RequestOutcome`]: how its identity was
//! decided. The shell writes it to the optional Analytics Engine dataset (one data
//! point per request: exact, global, queryable) and counts it in [`OutcomeCounters`],
//! which an isolate flushes as one `request_outcomes` log line per window — rates
//! without a log line per request. A window whose forged cookies (see [`CredentialError::looks_forged`])
//! reach [`BAD_COOKIE_ALERT_PER_MINUTE`] (scaled to the window) also raises
//! `bad_cookie_rate`: forgeries in bulk mean someone is probing the keys.
//!
//! The outcome is counted once the identity is decided, before the origin is called: an
//! origin failure (502) afterwards is logged as `origin_error`, not counted here.
//!
//! ```
//! use edge_session::metrics::{OutcomeCounters, RequestOutcome};
//! use edge_session::time::Timestamp;
//! use std::time::Duration;
//! let mut counters = OutcomeCounters::new(Duration::from_secs(60));
//! let t = Timestamp::from_secs(1_000);
//! assert!(counters.record(RequestOutcome::Access, false, t).is_none());
//! let report = counters.record(RequestOutcome::Rotated, false, t + Duration::from_secs(61)).unwrap();
//! assert_eq!(report.counts, vec![("access", 1)]);
//! ```

use std::time::Duration;

use crate::messages::Verdict;
use crate::session::{Refusal, SessionState};
use crate::time::Timestamp;

/// Forged cookies per minute (per isolate) that make a window worth an alert. Real
/// browsers do not send forgeries; a hundred a minute from one isolate is someone
/// probing.
pub const BAD_COOKIE_ALERT_PER_MINUTE: u64 = 100;

/// How a proxied request's identity was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// No edge cookie at all.
    Anonymous,
    /// A valid access cookie (the fast path: no object).
    Access,
    /// The family's object granted the current generation.
    Fresh,
    /// This request rotated the family.
    Rotated,
    /// A just-retired credential inside grace (a racing tab).
    Grace,
    /// A retired credential whose successor was lost, recovered.
    Recovered,
    /// The object refused (unknown, revoked, expired family; future generation).
    Refused,
    /// Reuse of a retired credential outside every window (theft or a replay).
    Reuse,
    /// A device-bound family's refresh cookie without a live access cookie: its browser
    /// would have refreshed with its key, so this is a copied cookie jar. Alert-worthy.
    DeviceBound,
    /// The same, on a request whose `Secure-Session-Skipped` names the family: its browser
    /// says it skipped the refresh (crate::dbsc::skipped). Anonymous all the same.
    DbscSkipped,
    /// An edge cookie failed verification (bad MAC, unknown key, malformed) and nothing
    /// else identified the request. An expired access cookie is not this; only some of
    /// these count toward the alert ([`CredentialError::looks_forged`]).
    BadCookie,
    /// The object failed or timed out: 503.
    Unavailable,
}

impl RequestOutcome {
    /// Every outcome, in the order reports list them.
    pub const ALL: [RequestOutcome; 12] = [
        RequestOutcome::Anonymous,
        RequestOutcome::Access,
        RequestOutcome::Fresh,
        RequestOutcome::Rotated,
        RequestOutcome::Grace,
        RequestOutcome::Recovered,
        RequestOutcome::Refused,
        RequestOutcome::Reuse,
        RequestOutcome::DeviceBound,
        RequestOutcome::DbscSkipped,
        RequestOutcome::BadCookie,
        RequestOutcome::Unavailable,
    ];

    /// The label in logs, `X-Edge-Debug` and Analytics Engine (`blob1`, `index1`).
    pub fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Anonymous => "anonymous",
            RequestOutcome::Access => "access",
            RequestOutcome::Fresh => "fresh",
            RequestOutcome::Rotated => "rotated",
            RequestOutcome::Grace => "grace",
            RequestOutcome::Recovered => "recovered",
            RequestOutcome::Refused => "refused",
            RequestOutcome::Reuse => "reuse",
            RequestOutcome::DeviceBound => "device_bound",
            RequestOutcome::DbscSkipped => "dbsc_skipped",
            RequestOutcome::BadCookie => "bad_cookie",
            RequestOutcome::Unavailable => "unavailable",
        }
    }

    /// A request no cookie identified: `BadCookie` if one failed verification (an expired
    /// access cookie aside), else `Anonymous`.
    pub fn unidentified(unverifiable: bool) -> RequestOutcome {
        if unverifiable { RequestOutcome::BadCookie } else { RequestOutcome::Anonymous }
    }

    /// What the family's object decided, as an outcome; `skipped` when the request's
    /// `Secure-Session-Skipped` named the family.
    pub fn of_verdict(verdict: &Verdict, skipped: bool) -> RequestOutcome {
        match verdict {
            Verdict::Refused { refusal: Refusal::DeviceBound } if skipped => RequestOutcome::DbscSkipped,
            Verdict::Granted { state: SessionState::Fresh, .. } => RequestOutcome::Fresh,
            Verdict::Granted { state: SessionState::Rotated, .. } => RequestOutcome::Rotated,
            Verdict::Granted { state: SessionState::GraceAlias, .. } => RequestOutcome::Grace,
            Verdict::Granted { state: SessionState::Recovered, .. } => RequestOutcome::Recovered,
            Verdict::Refused { refusal: Refusal::DeviceBound } => RequestOutcome::DeviceBound,
            // The last three never answer a proxied request's refresh cookie.
            Verdict::Refused { .. } | Verdict::Done | Verdict::DeviceBound { .. } | Verdict::DeviceRefused { .. } => {
                RequestOutcome::Refused
            }
            Verdict::ReuseDetected { .. } => RequestOutcome::Reuse,
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// One closed window's counts, for one log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowReport {
    /// When the window opened (its first request).
    pub started: Timestamp,
    /// Non-zero counts only, in [`RequestOutcome::ALL`] order.
    pub counts: Vec<(&'static str, u64)>,
    /// Forged cookies in the window reached the alert threshold.
    pub bad_cookie_alert: bool,
    /// Forged cookies seen in the window.
    pub bad_cookies: u64,
}

/// Counted per window beside the outcomes: one per family, not per request.
pub const DBSC_NOT_REGISTERED: &str = "dbsc_not_registered";

/// One isolate's counters. Windows are closed lazily by the first request after their
/// end (an idle isolate logs nothing), so a report can describe a window that ended a
/// while ago: `started` says which.
#[derive(Debug, Clone)]
pub struct OutcomeCounters {
    window: Duration,
    started: Option<Timestamp>,
    counts: [u64; RequestOutcome::ALL.len()],
    /// Every forged cookie, even on requests another cookie identified.
    bad_cookies: u64,
    /// Families offered device binding that came back unbound ([`DBSC_NOT_REGISTERED`]).
    not_registered: u64,
}

impl OutcomeCounters {
    /// Counters that report once per `window`.
    pub fn new(window: Duration) -> OutcomeCounters {
        OutcomeCounters {
            window,
            started: None,
            counts: [0; RequestOutcome::ALL.len()],
            bad_cookies: 0,
            not_registered: 0,
        }
    }

    /// Counts a family that was offered device binding and came back unbound, into the
    /// current window (call after [`OutcomeCounters::record`] for its request).
    pub fn record_not_registered(&mut self) {
        self.not_registered += 1;
    }

    /// Counts one request, and whether it carried a forged cookie (counted toward the
    /// alert even when the other cookie identified it). Returns the previous window's
    /// report when this request is the first after it closed.
    pub fn record(&mut self, outcome: RequestOutcome, forged: bool, now: Timestamp) -> Option<WindowReport> {
        let report = match self.started {
            Some(started) if now >= started + self.window => Some(self.close(started)),
            _ => None,
        };
        self.started.get_or_insert(now);
        self.counts[outcome.slot()] += 1;
        self.bad_cookies += u64::from(forged);
        report
    }

    fn close(&mut self, started: Timestamp) -> WindowReport {
        let outcomes = RequestOutcome::ALL.iter().map(|o| (o.as_str(), self.counts[o.slot()]));
        let signals = [(DBSC_NOT_REGISTERED, self.not_registered)];
        let counts = outcomes.chain(signals).filter(|(_, n)| *n > 0).collect();
        let report = WindowReport {
            started,
            counts,
            bad_cookie_alert: self.bad_cookies >= alert_threshold(self.window),
            bad_cookies: self.bad_cookies,
        };
        // The next window opens with the next request, so an idle gap is not counted as
        // part of a window.
        self.counts = [0; RequestOutcome::ALL.len()];
        self.bad_cookies = 0;
        self.not_registered = 0;
        self.started = None;
        report
    }
}

/// [`BAD_COOKIE_ALERT_PER_MINUTE`] scaled to the window, at least 1.
pub fn alert_threshold(window: Duration) -> u64 {
    (BAD_COOKIE_ALERT_PER_MINUTE * window.as_millis() as u64).div_ceil(60_000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_reports_once_with_nonzero_counts_in_order() {
        let window = Duration::from_secs(10);
        let mut counters = OutcomeCounters::new(window);
        let t = Timestamp::from_secs(100);
        for (i, outcome) in
            [RequestOutcome::Rotated, RequestOutcome::Access, RequestOutcome::Access].into_iter().enumerate()
        {
            assert_eq!(counters.record(outcome, false, t + Duration::from_secs(i as u64)), None);
        }
        let report = counters.record(RequestOutcome::Anonymous, false, t + window).unwrap();
        assert_eq!(report.started, t);
        assert_eq!(report.counts, vec![("access", 2), ("rotated", 1)]);
        assert!(!report.bad_cookie_alert);
        // The request that closed the window opens the next one.
        let next = counters.record(RequestOutcome::Access, false, t + window * 3).unwrap();
        assert_eq!(next.counts, vec![("anonymous", 1)]);
    }

    #[test]
    fn bad_cookies_in_bulk_raise_the_alert() {
        let window = Duration::from_secs(60);
        let mut counters = OutcomeCounters::new(window);
        let t = Timestamp::from_secs(100);
        for _ in 0..BAD_COOKIE_ALERT_PER_MINUTE - 1 {
            counters.record(RequestOutcome::BadCookie, true, t);
        }
        // Cookies signed with a retired key are unverifiable but not forged.
        for _ in 0..BAD_COOKIE_ALERT_PER_MINUTE {
            counters.record(RequestOutcome::BadCookie, false, t);
        }
        let quiet = counters.record(RequestOutcome::Access, false, t + window).unwrap();
        assert!(!quiet.bad_cookie_alert, "one short of the threshold");
        for _ in 0..BAD_COOKIE_ALERT_PER_MINUTE - 1 {
            counters.record(RequestOutcome::BadCookie, true, t + window);
        }
        // A tampered access cookie beside a good refresh cookie still counts.
        counters.record(RequestOutcome::Fresh, true, t + window);
        let loud = counters.record(RequestOutcome::Access, false, t + window * 2).unwrap();
        assert!(loud.bad_cookie_alert);
        assert_eq!(loud.bad_cookies, BAD_COOKIE_ALERT_PER_MINUTE);
    }

    #[test]
    fn families_that_never_bound_are_counted_beside_the_outcomes() {
        let window = Duration::from_secs(10);
        let mut counters = OutcomeCounters::new(window);
        let t = Timestamp::from_secs(100);
        counters.record(RequestOutcome::Fresh, false, t);
        counters.record_not_registered();
        counters.record(RequestOutcome::DbscSkipped, false, t);
        let report = counters.record(RequestOutcome::Access, false, t + window).unwrap();
        assert_eq!(report.counts, vec![("fresh", 1), ("dbsc_skipped", 1), (DBSC_NOT_REGISTERED, 1)]);
        let next = counters.record(RequestOutcome::Access, false, t + window * 2).unwrap();
        assert_eq!(next.counts, vec![("access", 1)], "the signal is per window");
    }

    #[test]
    fn the_threshold_scales_with_the_window() {
        assert_eq!(alert_threshold(Duration::from_secs(60)), 100);
        assert_eq!(alert_threshold(Duration::from_secs(2)), 4);
        assert_eq!(alert_threshold(Duration::from_millis(1)), 1);
        assert_eq!(alert_threshold(Duration::from_secs(300)), 500);
    }

    #[test]
    fn labels_are_distinct() {
        let mut labels: Vec<_> = RequestOutcome::ALL.iter().map(|o| o.as_str()).collect();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), RequestOutcome::ALL.len());
        assert!(RequestOutcome::ALL.iter().enumerate().all(|(i, o)| o.slot() == i));
    }
}
