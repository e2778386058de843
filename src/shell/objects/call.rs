//! Calling this worker's Durable Objects (`SessionFamily`, `UserSessions`), with a
//! deadline. JSON in, JSON out, by RPC (`rpc`).

use std::time::Duration;

use crate::messages::{FamilyCommand, FamilyReply, UserCommand, UserReply};
use crate::session::FamilyId;
use crate::time::Timestamp;
use futures_util::future::{Either, select};
use serde::{Serialize, de::DeserializeOwned};
use worker::{Context, Delay, Env, Headers, Method, Request, RequestInit, Stub};

use super::rpc::{self, CallError};
use crate::shell::EdgeError;
use crate::shell::debug::DebugAsk;
use crate::shell::runtime::log_event;

/// Longest wait for an object. Past it the request gets 503 + `Retry-After`, never an
/// anonymous pass-through: that would be a lost session.
const OBJECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The Durable Object bindings, as `wrangler.toml` names them.
pub(crate) const SESSION_FAMILY_BINDING: &str = "SESSION_FAMILY";
pub(crate) const USER_SESSIONS_BINDING: &str = "USER_SESSIONS";

/// Sends `command` to the family's object, passing on the request's debug asks (empty
/// unless `EDGE_DEBUG=1`).
pub(crate) async fn ask_family(
    env: &Env,
    family: FamilyId,
    command: &FamilyCommand,
    debug: &DebugAsk,
) -> Result<FamilyReply, EdgeError> {
    ask(SESSION_FAMILY_BINDING, &family.to_string(), env, command, debug).await
}

/// Sends `command` to the `UserSessions` object of `sub`.
pub(crate) async fn ask_user(
    env: &Env,
    sub: &str,
    command: &UserCommand,
    debug: &DebugAsk,
) -> Result<UserReply, EdgeError> {
    ask(USER_SESSIONS_BINDING, sub, env, command, debug).await
}

/// Moves the family's `last_seen` (and, for a device binding, its `device_bound`) in its
/// user's index once the response is sent. Best effort: a lost touch only makes "last
/// seen" older, and the next one corrects it.
pub(crate) fn touch_index(
    env: Env,
    ctx: &Context,
    sub: String,
    family: FamilyId,
    at: Timestamp,
    device_bound: bool,
    debug: &DebugAsk,
) {
    let debug = debug.without_fault();
    ctx.wait_until(async move {
        let touch = UserCommand::Touch { family, at: at.as_millis(), device_bound };
        let _ = ask_user(&env, &sub, &touch, &debug).await;
    });
}

async fn ask<C: Serialize, R: DeserializeOwned>(
    binding: &str,
    name: &str,
    env: &Env,
    command: &C,
    debug: &DebugAsk,
) -> Result<R, EdgeError> {
    let objects = env.durable_object(binding)?;
    let command = serde_json::to_string(command).map_err(|e| EdgeError::Internal(e.to_string()))?;
    // A far object (EDGE_DEBUG only): the request's way there and back.
    let way = debug.object_latency / 2;
    let call = Box::pin(async move {
        if !way.is_zero() {
            Delay::from(way).await;
        }
        let reply = match rpc::call(objects.get_by_name(name)?, &command, debug).await {
            Ok(reply) => reply,
            Err(CallError::NoRpc) => {
                // Said once per call while a deploy is under way: it ends when it does
                // (or, on a compatibility date before 2024-04-03, on every call).
                log_event("object_without_rpc", &[("object", binding)]);
                over_http(objects.get_by_name(name)?, command, debug).await?
            }
            Err(CallError::Failed(e)) => return Err(worker::Error::RustError(e)),
        };
        if !way.is_zero() {
            Delay::from(way).await;
        }
        serde_json::from_str::<R>(&reply).map_err(worker::Error::from)
    });
    match select(call, Delay::from(OBJECT_TIMEOUT)).await {
        Either::Left((Ok(reply), _)) => Ok(reply),
        Either::Left((Err(e), _)) => {
            log_event("object_error", &[("object", binding), ("error", &e.to_string())]);
            Err(EdgeError::Unavailable)
        }
        Either::Right(_) => {
            log_event("object_timeout", &[("object", binding)]);
            Err(EdgeError::Unavailable)
        }
    }
}

/// The command over HTTP, for an object of a release before RPC (a deploy under way).
async fn over_http(stub: Stub, command: String, debug: &DebugAsk) -> worker::Result<String> {
    let headers = Headers::new();
    debug.apply(&headers)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(command.into()));
    let request = Request::new_with_init("https://object.edge-session.internal/", &init)?;
    let mut response = stub.fetch_with_request(request).await?;
    if response.status_code() != 200 {
        return Err(worker::Error::RustError(format!("object answered {}", response.status_code())));
    }
    response.text().await
}
