//! What a test may ask of one request, honoured only with `EDGE_DEBUG=1` and never in
//! production: an injected fault (`x-edge-fault`), to prove the failure handling, and a
//! clock offset (`x-edge-debug-clock`, milliseconds ahead of the real clock), so tests
//! move time forward instead of sleeping through rotation and grace windows; and a round
//! trip added to each object call (`x-edge-debug-object-latency`, milliseconds), so a
//! bench can show what a user far from the family's object pays (`npm run bench:far`).
//! All are in the identity namespace, so they never reach the origin; the worker passes
//! the first two on to the objects it asks for this request. Alarms run on the real clock.

use std::time::Duration;

use crate::config::Config;
use crate::time::Timestamp;
use worker::Headers;

use super::runtime;

const FAULT_HEADER: &str = "x-edge-fault";
const CLOCK_HEADER: &str = "x-edge-debug-clock";
const OBJECT_LATENCY_HEADER: &str = "x-edge-debug-object-latency";

/// The most round trip a request may add (past the object deadline, so that case shows too).
const MAX_OBJECT_LATENCY: Duration = Duration::from_secs(10);

/// A request's debug asks; empty unless `EDGE_DEBUG=1`.
#[derive(Debug, Clone, Default)]
pub(crate) struct DebugAsk {
    /// The fault to inject (`object_error`, `object_timeout`, `persist_error`).
    pub(crate) fault: Option<String>,
    /// How far ahead of the real clock this request's time runs.
    clock_ahead: Duration,
    /// The round trip the worker waits out around each object call, half each way.
    pub(crate) object_latency: Duration,
}

impl DebugAsk {
    /// The asks a request carries, if the worker runs with `EDGE_DEBUG=1`.
    pub(crate) fn of(headers: &Headers, config: &Config) -> DebugAsk {
        if !config.debug_headers {
            return DebugAsk::default();
        }
        let header = |name| headers.get(name).ok().flatten();
        let millis = |name| header(name).and_then(|ms| ms.parse().ok()).map(Duration::from_millis);
        DebugAsk {
            fault: header(FAULT_HEADER),
            clock_ahead: millis(CLOCK_HEADER).unwrap_or_default(),
            object_latency: millis(OBJECT_LATENCY_HEADER).unwrap_or_default().min(MAX_OBJECT_LATENCY),
        }
    }

    /// The same asks without the fault: for the object calls a fault must not reach
    /// (logins, logouts, the index).
    pub(crate) fn without_fault(&self) -> DebugAsk {
        DebugAsk { fault: None, ..self.clone() }
    }

    /// This request's time: the real clock, plus the offset a test asked for.
    pub(crate) fn now(&self) -> Timestamp {
        runtime::now() + self.clock_ahead
    }

    /// The asks an object call carried (`SessionFamily::ask`), honoured only if the
    /// object too runs with `EDGE_DEBUG=1`.
    pub(crate) fn from_parts(fault: Option<String>, clock_ahead_ms: f64, config: &Config) -> DebugAsk {
        if !config.debug_headers {
            return DebugAsk::default();
        }
        // NaN, negative and out-of-range read as 0 (`as` saturates).
        DebugAsk { fault, clock_ahead: Duration::from_millis(clock_ahead_ms as u64), object_latency: Duration::ZERO }
    }

    /// The asks as an object call carries them: (fault, clock ahead in ms).
    pub(crate) fn parts(&self) -> (Option<String>, f64) {
        (self.fault.clone(), self.clock_ahead.as_millis() as f64)
    }

    /// Passes the asks on to an object call over HTTP.
    pub(crate) fn apply(&self, headers: &Headers) -> worker::Result<()> {
        if let Some(fault) = &self.fault {
            headers.set(FAULT_HEADER, fault)?;
        }
        if !self.clock_ahead.is_zero() {
            headers.set(CLOCK_HEADER, &self.clock_ahead.as_millis().to_string())?;
        }
        Ok(())
    }
}
