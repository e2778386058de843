//! What a test may ask of one request, honoured only with `EDGE_DEBUG=1` and never in
//! production: an injected fault (`x-edge-fault`), to prove the failure handling, and a
//! clock offset (`x-edge-debug-clock`, milliseconds ahead of the real clock), so tests
//! move time forward instead of sleeping through rotation and grace windows. Both headers
//! are in the identity namespace, so they never reach the origin; the worker passes them
//! on to the objects it asks for this request. Alarms run on the real clock.

use std::time::Duration;

use crate::config::Config;
use crate::time::Timestamp;
use worker::Headers;

use super::runtime;

const FAULT_HEADER: &str = "x-edge-fault";
const CLOCK_HEADER: &str = "x-edge-debug-clock";

/// A request's debug asks; empty unless `EDGE_DEBUG=1`.
#[derive(Debug, Clone, Default)]
pub(crate) struct DebugAsk {
    /// The fault to inject (`object_error`, `object_timeout`, `persist_error`).
    pub(crate) fault: Option<String>,
    /// How far ahead of the real clock this request's time runs.
    clock_ahead: Duration,
}

impl DebugAsk {
    /// The asks a request carries, if the worker runs with `EDGE_DEBUG=1`.
    pub(crate) fn of(headers: &Headers, config: &Config) -> DebugAsk {
        if !config.debug_headers {
            return DebugAsk::default();
        }
        let header = |name| headers.get(name).ok().flatten();
        let clock_ahead = header(CLOCK_HEADER).and_then(|ms| ms.parse().ok()).map(Duration::from_millis);
        DebugAsk { fault: header(FAULT_HEADER), clock_ahead: clock_ahead.unwrap_or_default() }
    }

    /// The same asks without the fault: for the object calls a fault must not reach
    /// (logins, logouts, the index).
    pub(crate) fn clock_only(&self) -> DebugAsk {
        DebugAsk { fault: None, clock_ahead: self.clock_ahead }
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
        DebugAsk { fault, clock_ahead: Duration::from_millis(clock_ahead_ms as u64) }
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
