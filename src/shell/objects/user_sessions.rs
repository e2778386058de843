//! `UserSessions`: one Durable Object per user (`sub`), the index of the user's families.
//! Decode, let [`UserIndex::handle`] decide, persist if it changed, then tell the
//! families it names to end and report which confirmed. Once the index holds nothing that
//! matters, its storage is deleted ([`UserIndex::deletable_at`]). Every rule lives in
//! `crate::objects` and `crate::users`; this file only moves data.

use std::cell::RefCell;
use std::rc::Rc;

use crate::config::{Config, Policy};
use crate::messages::{FamilyCommand, UserCommand};
use crate::session::{FamilyId, RevokedBy};
use crate::time::Timestamp;
use crate::users::UserIndex;
use wasm_bindgen::prelude::wasm_bindgen;
use worker::js_sys::{Array, Promise, Reflect};
use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::{JsFuture, future_to_promise};
use worker::{DurableObject, Env, Request, Response, Result, SqlStorage, State, durable_object};

use super::call::ask_family;
use super::rpc::{self, Answer, Answers};
use super::storage;
use crate::shell::debug::DebugAsk;
use crate::shell::runtime::{self, log};

const TABLE: &str = "user_index";

/// Wait before an alarm that met an invalid configuration looks again.
const CONFIG_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

#[durable_object]
pub(crate) struct UserSessions {
    /// Shared with the promise each `ask` returns, which outlives the call's `&self`.
    inner: Rc<Users>,
}

/// What one `UserSessions` holds.
struct Users {
    state: State,
    env: Env,
    index: RefCell<Option<UserIndex>>,
}

impl DurableObject for UserSessions {
    fn new(state: State, env: Env) -> Self {
        UserSessions { inner: Rc::new(Users { state, env, index: RefCell::new(None) }) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        rpc::serve_http(&*self.inner, req).await
    }

    async fn alarm(&self) -> Result<Response> {
        self.inner.alarm().await
    }
}

#[wasm_bindgen]
impl UserSessions {
    /// The worker's call (`rpc`): a `UserCommand` as JSON in, a `UserReply` as JSON out;
    /// a refusal or an error throws.
    #[allow(unreachable_pub)] // exported to JavaScript by wasm_bindgen, which needs `pub`
    pub fn ask(&self, command: String, fault: Option<String>, clock_ahead_ms: f64) -> Promise {
        rpc::serve(Rc::clone(&self.inner), command, fault, clock_ahead_ms)
    }
}

impl Answers for Users {
    fn env(&self) -> &Env {
        &self.env
    }

    async fn answer(&self, command: &str, debug: &DebugAsk, config: &Config) -> Result<Answer> {
        let Ok(command) = serde_json::from_str::<UserCommand>(command) else {
            return Ok(Err(("bad user command".into(), 400)));
        };
        // A touch only moves `last_seen`: it never makes the index deletable, and must not
        // cost an alarm write per refresh.
        let may_empty = !matches!(command, UserCommand::Touch { .. } | UserCommand::List);
        // Synchronous: load, decide, persist (no await in between).
        let mut index = self.load()?;
        let now = debug.now();
        let handled = index.handle(command, now, &config.policy);
        for event in &handled.events {
            log(event);
        }
        if handled.changed {
            self.save(index)?;
        }
        let mut reply = handled.reply;
        if !handled.revoke.is_empty() {
            let (revoked, pending) = self.revoke(handled.revoke).await?;
            reply.revoked = revoked;
            reply.pending = pending;
        }
        if handled.changed && may_empty {
            self.clean_up(now, &config.policy).await?;
        }
        Ok(Ok(serde_json::to_string(&reply)?))
    }
}

impl Users {
    /// Retries the revocations no family confirmed yet, then deletes the index if it
    /// holds nothing that matters any more.
    async fn alarm(&self) -> Result<Response> {
        // Revocations first: they need no configuration, and a deploy with a bad one must
        // not cost a revocation its retry (an alarm that answers is never run again).
        let pending = self.load()?.pending_revocations();
        if !pending.is_empty() {
            self.revoke(pending).await?;
        }
        match runtime::config(&self.env) {
            Ok(config) => self.clean_up(runtime::now(), &config.policy).await?,
            Err(_) => self.state.storage().set_alarm(runtime::alarm_time(runtime::now() + CONFIG_RETRY)).await?,
        }
        Response::ok("")
    }

    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Tells each family's object to end it, all at once (each call has its own 5 s
    /// deadline), records which confirmed, and sets the alarm for the rest. Returns
    /// (confirmed, still pending).
    async fn revoke(&self, revocations: Vec<(FamilyId, RevokedBy)>) -> Result<(usize, usize)> {
        // Promise.allSettled over the calls: JS runs them concurrently, and it costs the
        // bundle far less than futures-util's join_all.
        let calls = Array::new();
        let families: Vec<FamilyId> = revocations.iter().map(|(family, _)| *family).collect();
        for (family, by) in revocations {
            let env = self.env.clone();
            calls.push(&future_to_promise(async move {
                ask_family(&env, family, &FamilyCommand::Revoke { by }, &DebugAsk::default())
                    .await
                    .map(|_| JsValue::TRUE)
                    .map_err(|_| JsValue::FALSE)
            }));
        }
        let settled = Array::from(&JsFuture::from(Promise::all_settled(&calls)).await?);
        let confirmed = |i: usize| {
            let status = Reflect::get(&settled.get(i as u32), &JsValue::from_str("status")).ok();
            status.and_then(|s| s.as_string()).as_deref() == Some("fulfilled")
        };
        let (done, failed): (Vec<_>, Vec<_>) = (0..families.len()).partition(|i| confirmed(*i));
        let done: Vec<FamilyId> = done.into_iter().map(|i| families[i]).collect();
        let failed: Vec<FamilyId> = failed.into_iter().map(|i| families[i]).collect();
        // Reload: other commands may have run while the calls were in flight.
        let mut index = self.load()?;
        let settled = index.revocations_settled(&done, &failed, runtime::now());
        if settled.changed {
            self.save(index)?;
        }
        for event in &settled.events {
            log(event);
        }
        if let Some(at) = settled.alarm {
            self.state.storage().set_alarm(runtime::alarm_time(at)).await?;
        }
        Ok((done.len(), failed.len()))
    }

    /// Deletes the index's storage if it may go now; else arms the alarm for when it
    /// should look again (unless pending revocations own the alarm).
    async fn clean_up(&self, now: Timestamp, policy: &Policy) -> Result<()> {
        let index = self.load()?;
        if index.deletable_at(now, policy).is_some_and(|at| at <= now) {
            self.state.storage().delete_all().await?;
            *self.index.borrow_mut() = None;
        } else if let Some(at) = index.cleanup_at(now, policy) {
            self.state.storage().set_alarm(runtime::alarm_time(at)).await?;
        }
        Ok(())
    }

    fn load(&self) -> Result<UserIndex> {
        if let Some(index) = self.index.borrow().as_ref() {
            return Ok(index.clone());
        }
        match storage::load(&self.sql(), TABLE)? {
            Some(text) => serde_json::from_str(&text).map_err(|e| worker::Error::RustError(e.to_string())),
            None => Ok(UserIndex::default()),
        }
    }

    fn save(&self, index: UserIndex) -> Result<()> {
        let text = serde_json::to_string(&index).map_err(|e| worker::Error::RustError(e.to_string()))?;
        if let Err(e) = storage::save(&self.sql(), TABLE, text) {
            // As in SessionFamily: forget memory so nothing undurable is served.
            *self.index.borrow_mut() = None;
            return Err(e);
        }
        *self.index.borrow_mut() = Some(index);
        Ok(())
    }
}
