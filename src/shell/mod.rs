//! The wasm shell: the only code that talks to the Workers runtime.
//!
//! One event handler: it loads the validated config, runs the request pipeline
//! (`pipeline`), the admin API (`admin_api`) or the DBSC endpoints (`dbsc`), and maps every error to HTTP here, in one
//! place. The Durable Object classes are in `objects`.

mod admin_api;
mod context;
mod dbsc;
mod debug;
mod forward;
mod objects;
mod pipeline;
mod runtime;
mod telemetry;
mod webcrypto;

use objects::call::{SESSION_FAMILY_BINDING, USER_SESSIONS_BINDING};
use worker::{Context, Env, Request, Response, Result, event};

/// Paths answered by the edge itself, never forwarded.
const HEALTH_PATH: &str = "/__edge/health";
const JWKS_PATH: &str = "/__edge/jwks.json";

/// Why the edge answered instead of the origin.
pub(crate) enum EdgeError {
    /// A family's object failed or timed out: 503 + `Retry-After`, never anonymous.
    Unavailable,
    /// The origin could not be reached.
    BadGateway(String),
    /// No origin configured and the request came back to us (local dev).
    Loop,
    /// The runtime cannot send a request with this method (the client's token).
    MethodNotForwardable(String),
    /// A runtime call failed unexpectedly.
    Internal(String),
}

impl From<worker::Error> for EdgeError {
    fn from(e: worker::Error) -> Self {
        EdgeError::Internal(e.to_string())
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    if req.path() == HEALTH_PATH {
        return health(&env);
    }
    let config = match runtime::config(&env) {
        Ok(config) => config,
        // Fail closed, naming the variable (never a secret's value).
        Err(e) => return Response::error(e.to_string(), 500),
    };
    let handled = if req.path() == JWKS_PATH {
        return jwks(&config);
    } else if req.path() == admin_api::ADMIN_PATH {
        admin_api::handle(req, &env, &config).await
    } else if dbsc::is_dbsc_path(&req.path()) {
        dbsc::handle(req, &env, &ctx, &config).await
    } else {
        pipeline::handle(req, &env, &ctx, &config).await
    };
    match handled {
        Ok(response) => Ok(response),
        Err(EdgeError::Unavailable) => {
            let mut response = Response::error("session service temporarily unavailable", 503)?;
            response.headers_mut().set("Retry-After", "1")?;
            Ok(response)
        }
        Err(EdgeError::BadGateway(detail)) => {
            runtime::log_event("origin_error", &[("error", &detail)]);
            Response::error("origin unreachable", 502)
        }
        Err(EdgeError::Loop) => Response::error("edge-session: no origin, request looped back", 508),
        Err(EdgeError::MethodNotForwardable(method)) => {
            runtime::log_event("method_not_forwardable", &[("method", &method)]);
            Response::error(format!("edge-session: this runtime cannot forward the method {method}"), 501)
        }
        Err(EdgeError::Internal(detail)) => {
            runtime::log_event("internal_error", &[("error", &detail)]);
            Response::error("internal error", 500)
        }
    }
}

/// `/__edge/jwks.json`: the public keys that verify ES256 assertions, every key of
/// `ASSERTION_KEYS` (so one being rotated in or out still verifies), never a private
/// part. Cacheable for five minutes: a new key must be listed (second in the ring) at
/// least that long before it signs. With HS256 there is no public key: 404, saying why.
fn jwks(config: &crate::config::Config) -> Result<Response> {
    let Some(keys) = &config.assertion_keys else {
        let mut response = Response::error("edge-session: assertions are HS256 (ORIGIN_SECRET); no public keys", 404)?;
        response.headers_mut().set("Cache-Control", "no-store")?;
        return Ok(response);
    };
    let mut response = Response::from_json(&keys.jwks())?;
    response.headers_mut().set("Content-Type", "application/jwk-set+json")?;
    response.headers_mut().set("Cache-Control", "public, max-age=300")?;
    Ok(response)
}

/// `/__edge/health`: `ok` only when the worker could serve a request, i.e. its
/// configuration is valid and both Durable Object bindings exist. Otherwise a 500 naming
/// what is wrong (never a secret's value), as every other request would get.
fn health(env: &Env) -> Result<Response> {
    let problem = match runtime::config(env) {
        Err(e) => Some(e.to_string()),
        Ok(_) => [SESSION_FAMILY_BINDING, USER_SESSIONS_BINDING]
            .into_iter()
            .find(|binding| env.durable_object(binding).is_err())
            .map(|binding| {
                format!("edge-session: the Durable Object binding {binding} is missing (see wrangler.toml)")
            }),
    };
    let mut response = match problem {
        None => Response::ok("ok")?,
        Some(problem) => Response::error(problem, 500)?,
    };
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}
