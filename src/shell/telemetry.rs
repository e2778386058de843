//! Request-outcome counters (see `crate::metrics`): one Analytics Engine data point per
//! request when the `ANALYTICS` dataset is bound, and one `request_outcomes` log line per
//! isolate per window always. Telemetry never fails a request.

use std::cell::RefCell;

use crate::config::Config;
use crate::metrics::{OutcomeCounters, RequestOutcome};
use crate::time::Timestamp;
use worker::{AnalyticsEngineDataPointBuilder, Env};

use super::runtime::log_event;

/// The optional `[[analytics_engine_datasets]]` binding (see wrangler.toml).
pub(crate) const ANALYTICS_BINDING: &str = "ANALYTICS";

thread_local! {
    static COUNTERS: RefCell<Option<OutcomeCounters>> = const { RefCell::new(None) };
}

/// Counts one request, and whether its family was offered device binding and came back
/// unbound (`not_registered`). Returns whether a data point went to Analytics Engine
/// (for `X-Edge-Debug`).
pub(crate) fn observe(
    env: &Env,
    config: &Config,
    outcome: RequestOutcome,
    forged: bool,
    not_registered: bool,
    now: Timestamp,
) -> bool {
    let written = env.analytics_engine(ANALYTICS_BINDING).is_ok_and(|dataset| {
        // index1 = blob1 = outcome (sampling groups by it); double1 = requests,
        // double2 = forged cookies. Query: SUM(_sample_interval * double1) BY blob1.
        let point = AnalyticsEngineDataPointBuilder::new()
            .indexes([outcome.as_str()])
            .add_blob(outcome.as_str())
            .add_double(1.0)
            .add_double(if forged { 1.0 } else { 0.0 })
            .build();
        dataset.write_data_point(&point).is_ok()
    });
    let report = COUNTERS.with(|cell| {
        let mut counters = cell.borrow_mut();
        let counters = counters.get_or_insert_with(|| OutcomeCounters::new(config.metrics_window));
        let report = counters.record(outcome, forged, now);
        if not_registered {
            counters.record_not_registered();
        }
        report
    });
    if let Some(report) = report {
        let started = report.started.as_secs().to_string();
        let window = config.metrics_window.as_secs().to_string();
        let counts: Vec<(&str, String)> = report.counts.iter().map(|(label, n)| (*label, n.to_string())).collect();
        let mut fields = vec![("window_start", started.as_str()), ("window_secs", window.as_str())];
        fields.extend(counts.iter().map(|(label, n)| (*label, n.as_str())));
        log_event("request_outcomes", &fields);
        if report.bad_cookie_alert {
            // Forged or tampered cookies in bulk: someone is probing the keys.
            let bad = report.bad_cookies.to_string();
            log_event(
                "bad_cookie_rate",
                &[("window_start", &started), ("window_secs", &window), ("bad_cookies", &bad)],
            );
        }
    }
    written
}
