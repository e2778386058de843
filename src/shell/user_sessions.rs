//! `UserSessions`: one Durable Object per user (`sub`), the index of the user's families
//! (DESIGN §6). Decode, ask the core (`user_index`), persist if it changed, then revoke
//! the families the core names and persist which ones confirmed.
//!
//! A revocation is written (as `pending`) before any family is told, and leaves
//! `pending` only once the family's object confirmed it. A family that could not be
//! reached is retried by this object's alarm every minute, so a revocation the index
//! claims is never lost to one failed call.

use std::cell::RefCell;
use std::time::Duration;

use crate::credential::FamilyId;
use crate::user_index::UserIndex;
use crate::wire::{FamilyCommand, UserCommand};
use worker::js_sys::{Array, Promise, Reflect};
use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::{future_to_promise, JsFuture};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, SqlStorage, State};

use super::object_client::ask_family;
use super::runtime::{self, log_event};
use super::state_row;

const TABLE: &str = "user_index";
/// Wait before revoking again the families that did not answer.
const REVOKE_RETRY: Duration = Duration::from_secs(60);

#[durable_object]
pub struct UserSessions {
    state: State,
    env: Env,
    index: RefCell<Option<UserIndex>>,
}

impl DurableObject for UserSessions {
    fn new(state: State, env: Env) -> Self {
        UserSessions { state, env, index: RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let config = match runtime::config(&self.env) {
            Ok(config) => config,
            Err(e) => return Response::error(e.to_string(), 500),
        };
        let Ok(command) = req.json::<UserCommand>().await else {
            return Response::error("bad user command", 400);
        };
        // Synchronous: load, decide, persist (no await in between).
        let mut index = self.load()?;
        let handled = index.handle(command, runtime::now(), &config.policy);
        if handled.refused_full {
            // Revocations are not being confirmed: logins wait until they are.
            log_event("index_full", &[("pending", &index.pending.len().to_string())]);
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
        Response::from_json(&reply)
    }

    /// Retries the revocations no family confirmed yet.
    async fn alarm(&self) -> Result<Response> {
        let pending = self.load()?.pending;
        if !pending.is_empty() {
            self.revoke(pending).await?;
        }
        Response::ok("")
    }
}

impl UserSessions {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Tells each family's object to end it, all at once (each call has its own 5 s
    /// deadline), records which confirmed, and sets the alarm for the rest. Returns
    /// (confirmed, still pending).
    async fn revoke(&self, families: Vec<FamilyId>) -> Result<(usize, usize)> {
        // Promise.allSettled over the calls: JS runs them concurrently, and it costs the
        // bundle far less than futures-util's join_all.
        let calls = Array::new();
        for family in &families {
            let (env, family) = (self.env.clone(), *family);
            calls.push(&future_to_promise(async move {
                ask_family(&env, family, &FamilyCommand::Logout, None).await.map(|_| JsValue::TRUE).map_err(|_| JsValue::FALSE)
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
        if index.confirm_revoked(&done) {
            self.save(index)?;
        }
        if !failed.is_empty() {
            for family in &failed {
                log_event("revoke_failed", &[("family", &family.to_string())]);
            }
            self.state.storage().set_alarm(runtime::alarm_time(runtime::now() + REVOKE_RETRY)).await?;
        }
        Ok((done.len(), failed.len()))
    }

    fn load(&self) -> Result<UserIndex> {
        if let Some(index) = self.index.borrow().as_ref() {
            return Ok(index.clone());
        }
        match state_row::load(&self.sql(), TABLE)? {
            Some(text) => serde_json::from_str(&text).map_err(|e| worker::Error::RustError(e.to_string())),
            None => Ok(UserIndex::default()),
        }
    }

    fn save(&self, index: UserIndex) -> Result<()> {
        let text = serde_json::to_string(&index).map_err(|e| worker::Error::RustError(e.to_string()))?;
        if let Err(e) = state_row::save(&self.sql(), TABLE, text) {
            // As in SessionFamily: forget memory so nothing undurable is served.
            *self.index.borrow_mut() = None;
            return Err(e);
        }
        *self.index.borrow_mut() = Some(index);
        Ok(())
    }
}
