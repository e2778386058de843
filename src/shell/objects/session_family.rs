//! `SessionFamily`: one Durable Object per session family, the serialized rotation point.
//!
//! Each message is four steps: decode it, let [`FamilyObject`] decide, write the row it
//! hands back, encode the reply. Between reading the state and writing it there is no
//! `await` (SQLite storage is synchronous), so the decision and its write are one step.
//! Every rule lives in `crate::objects`; this file only moves data.

use std::cell::{RefCell, RefMut};
use std::rc::Rc;
use std::time::Duration;

use crate::config::Config;
use crate::events::{Dropped, FamilyEvents};
use crate::messages::{FamilyCommand, FamilyReply};
use crate::objects::{AfterUnregister, AlarmStep, FamilyObject};
use crate::session::{RefreshSecret, family_row};
use crate::time::Timestamp;
use wasm_bindgen::prelude::wasm_bindgen;
use worker::js_sys::{Promise, Reflect};
use worker::wasm_bindgen::JsValue;
use worker::{Delay, DurableObject, Env, Request, Response, Result, SqlStorage, State, durable_object};

use super::call::ask_user;
use super::deliver::{self, transports};
use super::rpc::{self, Answer, Answers};
use super::storage;
use crate::shell::debug::DebugAsk;
use crate::shell::runtime::{self, log, log_event};

const TABLE: &str = "family";
/// The family's events (crate::events): the outbox, the last device seen.
const EVENTS_TABLE: &str = "events";

/// Wait before an alarm that met an invalid configuration looks again.
const CONFIG_RETRY: Duration = Duration::from_secs(60);

#[durable_object]
pub(crate) struct SessionFamily {
    /// Shared with the promise each `ask` returns, which outlives the call's `&self`.
    inner: Rc<Family>,
}

/// What one `SessionFamily` holds.
struct Family {
    state: State,
    /// The JavaScript `ctx.storage`, for `transactionSync` (not bound by the worker crate).
    storage: JsValue,
    env: Env,
    /// `None` until loaded from storage (and again after a failed write).
    object: RefCell<Option<FamilyObject>>,
}

impl DurableObject for SessionFamily {
    fn new(state: State, env: Env) -> Self {
        let raw = state._inner();
        let storage = Reflect::get(&raw, &JsValue::from_str("storage")).unwrap_or(JsValue::UNDEFINED);
        let inner = Family { state: State::from(raw), storage, env, object: RefCell::new(None) };
        SessionFamily { inner: Rc::new(inner) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        rpc::serve_http(&*self.inner, req).await
    }

    async fn alarm(&self) -> Result<Response> {
        self.inner.alarm().await
    }
}

#[wasm_bindgen]
impl SessionFamily {
    /// The worker's call (`rpc`): a `FamilyCommand` as JSON in, a `FamilyReply` as JSON
    /// out; a refusal or an error throws. `fault` and `clock_ahead_ms` are the request's
    /// debug asks (`EDGE_DEBUG=1` only).
    #[allow(unreachable_pub)] // exported to JavaScript by wasm_bindgen, which needs `pub`
    pub fn ask(&self, command: String, fault: Option<String>, clock_ahead_ms: f64) -> Promise {
        rpc::serve(Rc::clone(&self.inner), command, fault, clock_ahead_ms)
    }
}

impl Answers for Family {
    fn env(&self) -> &Env {
        &self.env
    }

    /// Decodes a command, lets [`FamilyObject`] decide, writes what it says, encodes the
    /// reply.
    async fn answer(&self, command: &str, debug: &DebugAsk, config: &Config) -> Result<Answer> {
        // Injected faults (EDGE_DEBUG=1 only): prove the worker answers 503, never
        // anonymous, and that a failed write leaves no half-applied state.
        let fault = debug.fault.as_deref();
        match fault {
            Some("object_error") => return Err("injected fault: object_error".into()),
            Some("object_timeout") => Delay::from(Duration::from_secs(10)).await,
            _ => {}
        }
        let Ok(command) = serde_json::from_str::<FamilyCommand>(command) else {
            return Ok(Err(("bad family command".into(), 400)));
        };
        let now = debug.now();
        let fresh = RefreshSecret::from_bytes(runtime::random());
        let handled = match self.loaded(now)?.handle(command, now, config, fresh) {
            Ok(handled) => handled,
            Err(e) => {
                // The worker answers 503; an operator should look at the deploy.
                log_event("keys_differ", &[("detail", &e.to_string())]);
                return Ok(Err((e.to_string(), 500)));
            }
        };
        for event in &handled.events {
            log(event);
        }
        log_dropped(&handled.dropped);
        // The family and its events in one transaction: a decision is never durable
        // without the event that reports it, nor an event without its decision.
        let rows: Vec<_> = [(TABLE, handled.row), (EVENTS_TABLE, handled.events_row)]
            .into_iter()
            .filter_map(|(table, row)| Some((table, row?)))
            .collect();
        let mut writes = 0;
        if !rows.is_empty() {
            let failing = fault == Some("persist_error");
            match storage::save_together(&self.storage, &self.sql(), rows, failing) {
                Ok(written) => writes = written,
                Err(e) => {
                    // Memory must not hold what storage does not (see FamilyHandled::row).
                    *self.object.borrow_mut() = None;
                    return Err(e);
                }
            }
        }
        if let Some(at) = handled.alarm {
            self.state.storage().set_alarm(runtime::alarm_time(at)).await?;
        }
        let reply = FamilyReply {
            verdict: handled.verdict,
            writes,
            dbsc_not_registered: handled.dbsc_not_registered,
            touch_index: handled.touch_index,
        };
        Ok(Ok(serde_json::to_string(&reply)?))
    }
}

impl Family {
    /// Deletes the family once it can no longer be used, after it left its user's index.
    async fn alarm(&self) -> Result<Response> {
        let config = match runtime::config(&self.env) {
            Ok(config) => config,
            Err(_) => {
                // An alarm that answers is never run again: come back once the deploy
                // is fixed, or this family would never be deleted.
                self.state.storage().set_alarm(runtime::alarm_time(runtime::now() + CONFIG_RETRY)).await?;
                return Response::ok("");
            }
        };
        let now = runtime::now();
        // Events first: they wait for nothing the family does, and its end waits for them.
        self.deliver_events(&config, now).await?;
        let step = self.loaded(now)?.on_alarm(now, &config.policy);
        let reached = match step {
            // No family: what is left is undelivered events, or nothing at all.
            AlarmStep::Nothing => {
                let next = self.loaded(now)?.next_alarm(&config.policy, now);
                match next {
                    Some(at) => self.state.storage().set_alarm(runtime::alarm_time(at)).await?,
                    None => self.state.storage().delete_all().await?,
                }
                return Response::ok("");
            }
            AlarmStep::RearmAt(_) => {
                let at = self.loaded(now)?.next_alarm(&config.policy, now);
                if let Some(at) = at {
                    self.state.storage().set_alarm(runtime::alarm_time(at)).await?;
                }
                return Response::ok("");
            }
            AlarmStep::Unregister { sub, command, row } => {
                if let Some(row) = row {
                    storage::save(&self.sql(), TABLE, row)?;
                }
                ask_user(&self.env, &sub, &command, &DebugAsk::default()).await.is_ok()
            }
        };
        let after = self.loaded(now)?.after_unregister(reached, now, &config.policy);
        match after {
            AfterUnregister::Delete => self.state.storage().delete_all().await?,
            AfterUnregister::KeepEvents { at } => {
                storage::drop_table(&self.sql(), TABLE)?;
                self.state.storage().set_alarm(runtime::alarm_time(at)).await?;
            }
            AfterUnregister::RetryAt { at, event } => {
                log(&event);
                let events = self.loaded(now)?.events().outbox.next_attempt();
                let at = events.map_or(at, |events| events.min(at));
                self.state.storage().set_alarm(runtime::alarm_time(at)).await?;
            }
        }
        Response::ok("")
    }

    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Delivers the events due now and records how it went. The object keeps serving
    /// while a receiver answers: what a request adds to the outbox meanwhile stays.
    async fn deliver_events(&self, config: &Config, now: Timestamp) -> Result<()> {
        let transports = transports(&self.env, config);
        let due = self.loaded(now)?.due_events(now, &transports);
        if due.is_empty() {
            return Ok(());
        }
        if transports.is_empty() {
            // EVENTS_SECRET without EVENTS_URL, and no EVENTS binding (misnamed?).
            log_event("events_no_transport", &[("waiting", &due.len().to_string())]);
        }
        let mut outcomes = Vec::with_capacity(due.len());
        for delivery in &due {
            outcomes.push((delivery.event.jti.clone(), deliver::deliver(&self.env, config, delivery, now).await));
        }
        // Retries are timed from when the attempts ended: a receiver that hung for its
        // timeout must not shorten the backoff.
        let after = runtime::now();
        let (row, dropped) = self.loaded(after)?.events_delivered(&outcomes, &transports, after);
        log_dropped(&dropped);
        storage::save(&self.sql(), EVENTS_TABLE, row)?;
        Ok(())
    }

    /// The object's memory, loaded from storage on first use (synchronously).
    fn loaded(&self, now: Timestamp) -> Result<RefMut<'_, FamilyObject>> {
        let mut slot = self.object.borrow_mut();
        if slot.is_none() {
            let corrupt = |e: String| worker::Error::RustError(e);
            let stored = match storage::load(&self.sql(), TABLE)? {
                Some(text) => Some(family_row::decode(&text).map_err(|e| corrupt(e.to_string()))?),
                None => None,
            };
            let events: FamilyEvents = match storage::load(&self.sql(), EVENTS_TABLE)? {
                Some(text) => serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?,
                None => FamilyEvents::default(),
            };
            *slot = Some(FamilyObject::loaded(stored, now).with_events(events));
        }
        Ok(RefMut::map(slot, |slot| slot.as_mut().expect("loaded above")))
    }
}

/// An event that will never be delivered is said so, with how many this family lost.
fn log_dropped(dropped: &[Dropped]) {
    for d in dropped {
        let total = d.total.to_string();
        log_event("event_dropped", &[("jti", &d.jti), ("type", &d.kind), ("reason", d.reason), ("total", &total)]);
    }
}
