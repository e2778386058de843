//! The shell's only contact with the clock, randomness, the environment and the log.

use std::rc::Rc;

use crate::config::{Config, ConfigError};
use crate::objects::Event;
use crate::time::Timestamp;
use worker::{Env, ScheduledTime, js_sys, wasm_bindgen::JsValue};

/// `Date.now()`: `SystemTime::now()` panics on wasm32-unknown-unknown.
pub(crate) fn now() -> Timestamp {
    Timestamp::from_millis(js_sys::Date::now() as u64)
}

/// Fresh random bytes from the platform CSPRNG (`crypto.getRandomValues`).
pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    // getrandom on wasm32 with `wasm_js` cannot fail while `crypto` exists, and a
    // worker without `crypto` must not mint credentials.
    getrandom::fill(&mut bytes).expect("platform CSPRNG available");
    bytes
}

/// An absolute alarm time. (`set_alarm(i64)` would read the number as an offset from
/// now: a deadline in Unix ms would fire in 56 years — caught by tests/e2e/lifecycle.)
pub(crate) fn alarm_time(at: Timestamp) -> ScheduledTime {
    ScheduledTime::new(js_sys::Date::new(&JsValue::from_f64(at.as_millis() as f64)))
}

thread_local! {
    static CONFIG: std::cell::OnceCell<Result<Rc<Config>, ConfigError>> = const { std::cell::OnceCell::new() };
}

/// The validated configuration, read once per isolate. Vars and secrets
/// are read alike; a number given in `[vars]` without quotes is accepted too.
pub(crate) fn config(env: &Env) -> Result<Rc<Config>, ConfigError> {
    CONFIG.with(|cell| {
        cell.get_or_init(|| {
            let lookup = |name: &str| {
                let value = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok()?;
                value.as_string().or_else(|| value.as_f64().map(|n| n.to_string()))
            };
            let result = Config::from_vars_at(lookup, now());
            if let Err(e) = &result {
                log_event("config_error", &[("detail", &e.to_string())]);
            }
            result.map(Rc::new)
        })
        .clone()
    })
}

/// Logs an event the core reported.
pub(crate) fn log(event: &Event) {
    let fields: Vec<(&str, &str)> = event.fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    log_event(event.name, &fields);
}

/// One structured log line, `{"edge_session": event, key: value…}` in that order (the
/// event first, for people reading a tail). Never pass secrets here.
pub(crate) fn log_event(event: &str, fields: &[(&str, &str)]) {
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let mut line = format!("{{\"edge_session\":{}", quote(event));
    for (k, v) in fields {
        line.push_str(&format!(",{}:{}", quote(k), quote(v)));
    }
    line.push('}');
    worker::console_log!("{line}");
}
