//! `POST /__edge/admin`: the origin's API for "your devices" (see `crate::admin`).
//!
//! Answered by the edge, never forwarded. The bearer token is checked before any
//! object is woken, so unauthenticated calls cost one MAC and nothing else.

use crate::admin::{session_list, AdminAction, AdminRequest};
use crate::config::Config;
use crate::wire::UserCommand;
use serde_json::{json, Value};
use worker::{Env, Method, Request, Response};

use super::object_client::ask_user;
use super::runtime::{self, log_event};
use super::EdgeError;

pub const ADMIN_PATH: &str = "/__edge/admin";

pub async fn handle(req: Request, env: &Env, config: &Config) -> Result<Response, EdgeError> {
    if req.method() != Method::Post {
        let mut response = answer(405, &json!({ "error": "use POST" }))?;
        response.headers_mut().set("Allow", "POST")?;
        return Ok(response);
    }
    let Some(token) = bearer_token(&req) else {
        return answer_unauthorized("missing bearer token");
    };
    let request = match AdminRequest::verify(&token, &config.origin_secret, runtime::now()) {
        Ok(request) => request,
        Err(e) => {
            // A forged or stale admin token is a security event, like a forged directive.
            log_event("admin_rejected", &[("reason", &e.to_string())]);
            return answer_unauthorized(&e.to_string());
        }
    };
    let (act, command) = match &request.action {
        AdminAction::List => ("list", UserCommand::List),
        AdminAction::Revoke { session } => ("revoke", UserCommand::Revoke { family: session.to_string() }),
        AdminAction::RevokeAll { except } => {
            ("revoke_all", UserCommand::RevokeAll { except: except.map(|f| f.to_string()) })
        }
    };
    let reply = ask_user(env, &request.sub, &command).await?;
    if request.action == AdminAction::List {
        return Ok(answer(200, &session_list(&request.sub, &reply.sessions))?);
    }
    log_event("admin_revoke", &[("sub", &request.sub), ("act", act), ("revoked", &reply.revoked.to_string())]);
    if matches!(request.action, AdminAction::Revoke { .. }) && reply.revoked == 0 {
        return Ok(answer(404, &json!({ "error": "no such session for this user", "revoked": 0 }))?);
    }
    Ok(answer(200, &json!({ "revoked": reply.revoked }))?)
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
