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
    // Never before now: an event is due "at once" (time zero), and the runtime refuses an
    // alarm that far in the past.
    let at = at.max(now());
    ScheduledTime::new(js_sys::Date::new(&JsValue::from_f64(at.as_millis() as f64)))
}

thread_local! {
    static CONFIG: std::cell::RefCell<Option<Rc<Config>>> = const { std::cell::RefCell::new(None) };
    static CONFIG_ERROR_LOGGED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The validated configuration, read once per isolate. Vars and secrets
/// are read alike; a number given in `[vars]` without quotes is accepted too. An invalid
/// one is read again at each call rather than kept: one error heals with time alone
/// (`SESSIONS_NOT_BEFORE` a little ahead of the clock), and an alarm retrying in a minute
/// must then succeed. It is logged once per isolate.
pub(crate) fn config(env: &Env) -> Result<Rc<Config>, ConfigError> {
    if let Some(config) = CONFIG.with(|cell| cell.borrow().clone()) {
        return Ok(config);
    }
    let lookup = |name: &str| {
        let value = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok()?;
        value.as_string().or_else(|| value.as_f64().map(|n| n.to_string()))
    };
    match Config::from_vars_at(lookup, now()) {
        Ok(config) => {
            let config = Rc::new(config);
            CONFIG.with(|cell| *cell.borrow_mut() = Some(config.clone()));
            Ok(config)
        }
        Err(e) => {
            if !CONFIG_ERROR_LOGGED.with(|logged| logged.replace(true)) {
                log_event("config_error", &[("detail", &e.to_string())]);
            }
            Err(e)
        }
    }
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
