//! `POST /__edge/dbsc/register` and `POST /__edge/dbsc/refresh`: the DBSC endpoints.
//!
//! The core names the step (`crate::dbsc::register_step` / `refresh_step`) and the
//! answer; this file reads the headers, mints challenges, asks the family's object and
//! sends the answer. An object that fails or times out is a 503 (`EdgeError::Unavailable`):
//! the browser then keeps its session and retries later.

use crate::config::Config;
use crate::dbsc::{
    self, DeviceAnswer, DeviceStep, REGISTER_PATH, RESPONSE_HEADER, SESSION_ID_HEADER, bound_answer, challenge,
    challenge::Purpose, challenge_answer, refusal_answer,
};
use crate::messages::{FamilyCommand, Verdict};
use crate::origin;
use crate::session::{FamilyId, presented};
use crate::time::Timestamp;
use worker::{Context, Env, Method, Request, Response};

use super::EdgeError;
use super::debug::DebugAsk;
use super::objects::call::{ask_family, touch_index};
use super::runtime::{self, log_event};

/// Whether `path` is one of the DBSC endpoints.
pub(crate) fn is_dbsc_path(path: &str) -> bool {
    path == dbsc::REGISTER_PATH || path == dbsc::REFRESH_PATH
}

pub(crate) async fn handle(req: Request, env: &Env, ctx: &Context, config: &Config) -> Result<Response, EdgeError> {
    if req.method() != Method::Post {
        let mut response = Response::error("edge-session: DBSC endpoints take POST", 405)?;
        response.headers_mut().set("Allow", "POST")?;
        return Ok(response);
    }
    let debug = DebugAsk::of(req.headers(), config);
    let now = debug.now();
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let cookie_header = header("Cookie").unwrap_or_default();
    let presented = presented(&cookie_header, &config.session_keys, now, config.policy.not_before);
    let proof = header(RESPONSE_HEADER);
    let registering = req.path() == REGISTER_PATH;
    let step = if registering {
        dbsc::register_step(proof.as_deref(), &presented, &config.session_keys, now, config.offers_dbsc())
    } else {
        dbsc::refresh_step(
            header(SESSION_ID_HEADER).as_deref(),
            proof.as_deref(),
            &presented,
            &config.session_keys,
            now,
        )
    };
    // Only refresh challenges are minted here; registration ones only on a login response.
    let mint = |family| challenge::mint(Purpose::Refresh, family, now, runtime::random(), &config.session_keys);
    let (answer, trace) = match step {
        DeviceStep::Challenge(family) => (challenge_answer(family, &mint(family)), "challenge".to_owned()),
        DeviceStep::Refuse(refusal) => {
            let event = if registering { "dbsc_registration_failed" } else { "dbsc_refresh_failed" };
            log_event(event, &[("reason", refusal.reason())]);
            (refusal_answer(refusal, None, ""), format!("refused({})", refusal.reason()))
        }
        DeviceStep::Ask { family, proof } => {
            let proof = proof.to_owned();
            let command =
                if registering { FamilyCommand::BindDevice { proof } } else { FamilyCommand::RefreshDevice { proof } };
            let reply = ask_family(env, family, &command, &debug).await?;
            let trace = format!("object; writes={}; verdict={}", reply.writes, reply.verdict.label());
            let rechallenge = (!registering).then_some(family);
            let touch = reply.touch_index.then_some((env, ctx));
            (object_answer(reply.verdict, family, rechallenge, touch, &debug, &mint)?, trace)
        }
    };
    let mut response = Response::ok(answer.body)?.with_status(answer.status);
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        headers.append(name, &value)?;
    }
    headers.set("Cache-Control", origin::CREDENTIAL_CACHE_CONTROL)?;
    if config.debug_headers {
        headers.set("X-Edge-Debug", &format!("path=dbsc; step={trace}"))?;
    }
    Ok(response)
}

/// The answer to what the family's object decided about a proof; a stale challenge is
/// answered with a fresh one only for a refresh (`rechallenge`).
fn object_answer(
    verdict: Verdict,
    family: FamilyId,
    rechallenge: Option<FamilyId>,
    touch: Option<(&Env, &Context)>,
    debug: &DebugAsk,
    mint: &impl Fn(FamilyId) -> String,
) -> Result<DeviceAnswer, EdgeError> {
    match verdict {
        Verdict::DeviceBound { identity, cookies, decided_at } => {
            // "Your devices" shows the binding (always told), and last_seen with it (at
            // most every half idle timeout: the family decides).
            if let Some((env, ctx)) = touch {
                let at = Timestamp::from_millis(decided_at);
                touch_index(env.clone(), ctx, identity.sub, family, at, true, debug);
            }
            Ok(bound_answer(family, &cookies, &mint(family)))
        }
        Verdict::DeviceRefused { refusal } => Ok(refusal_answer(refusal, rechallenge, &mint(family))),
        other => Err(EdgeError::Internal(format!("unexpected answer to a device proof: {}", other.label()))),
    }
}
