//! `SessionFamily`: one Durable Object per session family, the serialized rotation point.
//!
//! Each request is four steps (STYLE): decode the command, ask the core, persist what
//! changed, encode the reply. Between reading the state and writing it there is no
//! `await` — SQLite storage is synchronous — so two racing requests can never both
//! rotate (scenario S3), and the rotation and its grace alias are one decision (S4).
//! The state stays in memory between requests; storage is written only when the core
//! says the durable state changed.

use std::cell::RefCell;
use std::time::Duration;

use crate::config::Config;
use crate::credential::{Identity, RefreshCredential, RefreshSecret};
use crate::edge::GrantCookies;
use crate::family::{Decision, Family, Outcome, Refusal};
use crate::stored;
use crate::time::Timestamp;
use crate::user_index::outlived;
use crate::wire::{FamilyCommand, FamilyReply, UserCommand, Verdict};
use worker::{durable_object, Delay, DurableObject, Env, Request, Response, Result, SqlStorage, State};

use super::object_client::{ask_user, FAULT_HEADER};
use super::runtime::{self, log_event};
use super::state_row;

const TABLE: &str = "family";
/// Wait before asking an unreachable user index again to unregister an ended family.
const UNREGISTER_RETRY: Duration = Duration::from_secs(60);

#[durable_object]
pub struct SessionFamily {
    state: State,
    env: Env,
    /// `None` until loaded; `Some(None)` when storage holds no family.
    family: RefCell<Option<Option<Family>>>,
}

/// What one command did, before the async tail (alarm) runs.
struct Handled {
    verdict: Verdict,
    writes: u32,
    /// Set the alarm to this time (the family's deadline) after persisting.
    alarm: Option<Timestamp>,
}

impl DurableObject for SessionFamily {
    fn new(state: State, env: Env) -> Self {
        SessionFamily { state, env, family: RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let config = match runtime::config(&self.env) {
            Ok(config) => config,
            Err(e) => return Response::error(e.to_string(), 500),
        };
        // Injected faults (EDGE_DEBUG=1 only): prove the worker answers 503, never
        // anonymous, and that a failed write leaves no half-applied state.
        let fault = req.headers().get(FAULT_HEADER)?.filter(|_| config.debug_headers);
        match fault.as_deref() {
            Some("object_error") => return Err("injected fault: object_error".into()),
            Some("object_timeout") => Delay::from(Duration::from_secs(10)).await,
            _ => {}
        }
        let Ok(command) = req.json::<FamilyCommand>().await else {
            return Response::error("bad family command", 400);
        };
        let fail_write = fault.as_deref() == Some("persist_error");
        let handled = self.handle(command, runtime::now(), &config, fail_write)?;
        if let Some(at) = handled.alarm {
            self.state.storage().set_alarm(runtime::alarm_time(at)).await?;
        }
        Response::from_json(&FamilyReply { verdict: handled.verdict, writes: handled.writes })
    }

    /// Deletes the family once it can no longer be used (DESIGN §3).
    async fn alarm(&self) -> Result<Response> {
        let config = match runtime::config(&self.env) {
            Ok(config) => config,
            Err(e) => return Response::error(e.to_string(), 500),
        };
        let now = runtime::now();
        let ending = self.with_family(|family| {
            family.as_ref().map(|f| (f.deadline(&config.policy), f.identity.sub.clone(), f.id, f.created_at))
        })?;
        let Some((deadline, sub, id, created_at)) = ending else {
            return Response::ok("");
        };
        if deadline > now {
            self.state.storage().set_alarm(runtime::alarm_time(deadline)).await?;
            return Response::ok("");
        }
        // Leave the user's index first, so no ended family stays listed as a device. If
        // the index is unreachable, keep the (unusable) family and retry in a minute,
        // until the index would forget the entry by age anyway.
        let leave = UserCommand::Unregister { family: id, created_at: created_at.as_millis() };
        if ask_user(&self.env, &sub, &leave).await.is_err() && !outlived(created_at, now, &config.policy) {
            log_event("unregister_failed", &[("family", &id.to_string())]);
            self.state.storage().set_alarm(runtime::alarm_time(now + UNREGISTER_RETRY)).await?;
            return Response::ok("");
        }
        *self.family.borrow_mut() = Some(None);
        self.state.storage().delete_all().await?;
        Response::ok("")
    }
}

impl SessionFamily {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Runs `f` on the in-memory family, loading it from storage on first use.
    fn with_family<T>(&self, f: impl FnOnce(&mut Option<Family>) -> T) -> Result<T> {
        let mut slot = self.family.borrow_mut();
        if slot.is_none() {
            let family = match state_row::load(&self.sql(), TABLE)? {
                Some(text) => {
                    let mut family = stored::decode(&text).map_err(|e| worker::Error::RustError(e.to_string()))?;
                    // The hold survives a restart (family.rs, `wake`).
                    family.wake(runtime::now());
                    Some(family)
                }
                None => None,
            };
            *slot = Some(family);
        }
        Ok(f(slot.as_mut().expect("loaded above")))
    }

    /// Decode → decide → persist, synchronously (no `await` anywhere in here).
    fn handle(&self, command: FamilyCommand, now: Timestamp, config: &Config, fail_write: bool) -> Result<Handled> {
        let policy = &config.policy;
        let (verdict, changed) = self.with_family(|slot| match command {
            FamilyCommand::Refresh { cookie } => {
                let Some(family) = slot.as_mut() else {
                    return Ok((Verdict::Refused { refusal: Refusal::UnknownFamily }, None));
                };
                // Checked again here: the object trusts nothing the worker relays. A cookie
                // the worker verified and this object cannot means the two hold different
                // SESSION_KEYS (a deploy in progress): an error (the worker answers 503),
                // not an answer the worker would remember as "this family ended".
                let Ok(presented) = RefreshCredential::decode(&cookie, &config.session_keys) else {
                    return Err(worker::Error::RustError("refresh cookie does not verify with this object's SESSION_KEYS".into()));
                };
                let fresh = RefreshSecret::from_bytes(runtime::random());
                let decision = family.handle_refresh(&presented, now, policy, fresh);
                let verdict = verdict_for(&decision, family, config, now);
                Ok((verdict, decision.persist.then(|| family.clone())))
            }
            FamilyCommand::Login { family: id, sub, ctx, remember } => {
                if slot.is_some() {
                    // 128 random bits never collide; refuse rather than overwrite.
                    return Ok((Verdict::Refused { refusal: Refusal::Revoked }, None));
                }
                let secret = RefreshSecret::from_bytes(runtime::random());
                let (family, grant) = Family::login(id, Identity { sub, ctx }, remember, now, secret, policy);
                let cookies = GrantCookies::new(&grant, &config.session_keys, policy, now);
                let verdict = Verdict::Granted {
                    identity: grant.identity,
                    state: grant.state,
                    cookies,
                    decided_at: now.as_millis(),
                };
                *slot = Some(family.clone());
                Ok((verdict, Some(family)))
            }
            FamilyCommand::Logout => match slot.as_mut() {
                Some(family) if !family.revoked => {
                    family.revoke();
                    Ok((Verdict::Done, Some(family.clone())))
                }
                _ => Ok((Verdict::Done, None)),
            },
        })??;
        let Some(family) = changed else {
            return Ok(Handled { verdict, writes: 0, alarm: None });
        };
        let written = if fail_write {
            Err(worker::Error::RustError("injected fault: persist_error".into()))
        } else {
            state_row::save(&self.sql(), TABLE, stored::encode(&family))
        };
        let cursor = match written {
            Ok(cursor) => cursor,
            Err(e) => {
                // Memory already holds the decision; storage does not. Forget memory so
                // the next request reloads what is durable: nothing half-applied survives,
                // and the caller answers 503 (the client never saw this decision).
                *self.family.borrow_mut() = None;
                return Err(e);
            }
        };
        let writes = cursor.rows_written() as u32;
        // A revoked family's deadline is in the past: the alarm fires at once.
        Ok(Handled { verdict, writes, alarm: Some(family.deadline(policy).max(now)) })
    }
}

fn verdict_for(decision: &Decision, family: &Family, config: &Config, now: Timestamp) -> Verdict {
    match &decision.outcome {
        Outcome::Authenticated(grant) => Verdict::Granted {
            identity: grant.identity.clone(),
            state: grant.state,
            cookies: GrantCookies::new(grant, &config.session_keys, &config.policy, now),
            decided_at: now.as_millis(),
        },
        Outcome::Refused(refusal) => {
            if *refusal == Refusal::FutureGeneration {
                // State lost or rolled back: worth an operator's attention (DESIGN §3).
                log_event("future_generation", &[("family", &family.id.to_string())]);
            }
            Verdict::Refused { refusal: *refusal }
        }
        Outcome::ReuseDetected { revoked } => {
            let action = if *revoked { "family_revoked" } else { "request_rejected" };
            log_event("reuse_detected", &[("family", &family.id.to_string()), ("sub", &family.identity.sub), ("action", action)]);
            Verdict::ReuseDetected { revoked: *revoked }
        }
    }
}
