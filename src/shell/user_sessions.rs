//! `UserSessions`: one Durable Object per user (`sub`), the index of the user's families
//! (DESIGN §6). Decode, ask the core (`user_index`), persist if it changed, then revoke
//! the families the core names. The index is written before any family is revoked, so a
//! crash half-way leaves families that end by their own timeouts, never an index that
//! forgot a revocation it claims.

use std::cell::RefCell;

use crate::user_index::UserIndex;
use crate::wire::{FamilyCommand, UserCommand};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, SqlStorage, State};

use super::object_client::ask_family;
use super::runtime::{self, log_event};
use super::state_row;

const TABLE: &str = "user_index";

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
        let now = runtime::now();
        // Synchronous: load, decide, persist (no await in between).
        let mut index = self.load()?;
        let Some(handled) = index.handle(command, now, &config.policy) else {
            return Response::error("bad family id", 400);
        };
        if handled.changed {
            self.save(index)?;
        }
        for family in handled.revoke {
            // A family already gone answers Done too; a failing one ends by its timeouts.
            if ask_family(&self.env, family, &FamilyCommand::Logout, None).await.is_err() {
                log_event("revoke_failed", &[("family", &family.to_string())]);
            }
        }
        Response::from_json(&handled.reply)
    }
}

impl UserSessions {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
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
