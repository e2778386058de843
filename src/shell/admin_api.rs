//! `POST /__edge/admin`: the origin's API for "your devices" (see
//! `crate::origin::AdminRequest`).
//!
//! Answered by the edge, never forwarded. The bearer token is checked before any
//! object is woken, so unauthenticated calls cost one MAC and nothing else.

use crate::config::Config;
use crate::messages::UserCommand;
use crate::origin::{AdminAction, AdminRequest, TokenError, session_list};
use crate::users::TokenUse;
use serde_json::{Value, json};
use worker::{Env, Method, Request, Response};

use super::EdgeError;
use super::debug::DebugAsk;
use super::objects::call::ask_user;
use super::runtime::{self, log_event};

pub(crate) const ADMIN_PATH: &str = "/__edge/admin";

/// Answers one admin call. With `EDGE_DEBUG=1` the answer says whether a Durable Object
/// was asked (`X-Edge-Debug: path=object`) or not (`path=none`), so tests can see that a
/// bad token wakes nothing.
pub(crate) async fn handle(req: Request, env: &Env, config: &Config) -> Result<Response, EdgeError> {
    let mut asked_an_object = false;
    let mut response = answer_call(req, env, config, &mut asked_an_object).await?;
    if config.debug_headers {
        response.headers_mut().set("X-Edge-Debug", if asked_an_object { "path=object" } else { "path=none" })?;
    }
    Ok(response)
}

async fn answer_call(
    req: Request,
    env: &Env,
    config: &Config,
    asked_an_object: &mut bool,
) -> Result<Response, EdgeError> {
    if req.method() != Method::Post {
        let mut response = answer(405, &json!({ "error": "use POST" }))?;
        response.headers_mut().set("Allow", "POST")?;
        return Ok(response);
    }
    let Some(token) = bearer_token(&req) else {
        return answer_unauthorized("missing bearer token");
    };
    let request = match AdminRequest::verify(&token, config.admin_secret(), runtime::now()) {
        Ok(request) => request,
        // Signed with the secret, but asking for something malformed (a session id that
        // is not one): the caller holds the secret, so it may learn what was wrong.
        Err(TokenError::BadClaims(why)) => {
            log_event("admin_rejected", &[("reason", why)]);
            return Ok(answer(400, &json!({ "error": format!("bad request: {why}") }))?);
        }
        Err(e) => {
            // A forged or stale admin token is a security event, like a forged directive.
            // The reason goes to the log, not to an unauthenticated caller.
            log_event("admin_rejected", &[("reason", &e.to_string())]);
            return answer_unauthorized("invalid token");
        }
    };
    // A revocation spends the token: the user's object refuses its jti a second time.
    let token = || Some(TokenUse { jti: request.jti.clone(), valid_until: request.valid_until().as_millis() });
    let (act, command) = match &request.action {
        AdminAction::List => ("list", UserCommand::List),
        AdminAction::Revoke { family } => ("revoke", UserCommand::Revoke { family: *family, token: token() }),
        AdminAction::RevokeAll { except } => ("revoke_all", UserCommand::RevokeAll { except: *except, token: token() }),
    };
    *asked_an_object = true;
    let reply = ask_user(env, &request.sub, &command, &DebugAsk::of(req.headers(), config)).await?;
    if reply.replayed {
        log_event("admin_rejected", &[("reason", "token already used"), ("sub", &request.sub)]);
        return Ok(answer(409, &json!({ "error": "token already used" }))?);
    }
    if request.action == AdminAction::List {
        return Ok(answer(200, &session_list(&request.sub, &reply.sessions))?);
    }
    let (revoked, pending) = (reply.revoked.to_string(), reply.pending.to_string());
    log_event("admin_revoke", &[("sub", &request.sub), ("act", act), ("revoked", &revoked), ("pending", &pending)]);
    if matches!(request.action, AdminAction::Revoke { .. }) && reply.revoked + reply.pending == 0 {
        return Ok(answer(404, &json!({ "error": "no such session for this user", "revoked": 0, "pending": 0 }))?);
    }
    // `pending`: revoked in the index, but the session's object did not answer yet; the
    // edge retries every minute until it does.
    Ok(answer(200, &json!({ "revoked": reply.revoked, "pending": reply.pending }))?)
}

/// `Authorization: Bearer <token>`, the scheme matched case-insensitively (RFC 6750 §2.1).
fn bearer_token(req: &Request) -> Option<String> {
    let header = req.headers().get("Authorization").ok()??;
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

fn answer_unauthorized(reason: &str) -> Result<Response, EdgeError> {
    let mut response = answer(401, &json!({ "error": reason }))?;
    response.headers_mut().set("WWW-Authenticate", "Bearer error=\"invalid_token\"")?;
    Ok(response)
}

/// A JSON answer nobody may cache: it lists or changes a user's sessions.
fn answer(status: u16, body: &Value) -> worker::Result<Response> {
    let mut response = Response::from_json(body)?.with_status(status);
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}
