//! The wasm shell (DESIGN §1): the only code that talks to the Workers runtime.
//!
//! `lib.rs` of a worker is one event handler (STYLE): it loads the validated config,
//! runs the pipeline in `proxy`, and maps every error to HTTP here, in one place.

mod admin;
mod object_client;
mod origin;
mod proxy;
mod runtime;
mod session_family;
mod state_row;
mod telemetry;
mod user_sessions;

use worker::{event, Context, Env, Request, Response, Result};

/// Path answered by the edge itself, never forwarded.
const HEALTH_PATH: &str = "/__edge/health";

/// Why the edge answered instead of the origin.
pub enum EdgeError {
    /// A family's object failed or timed out: 503 + `Retry-After`, never anonymous.
    Unavailable,
    /// The origin could not be reached.
    BadGateway(String),
    /// No origin configured and the request came back to us (local dev).
    Loop,
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
        return Response::ok("ok");
    }
    let config = match runtime::config(&env) {
        Ok(config) => config,
        // Fail closed, naming the variable (never a secret's value).
        Err(e) => return Response::error(e.to_string(), 500),
    };
    let handled = if req.path() == admin::ADMIN_PATH {
        admin::handle(req, &env, &config).await
    } else {
        proxy::handle(req, &env, &ctx, &config).await
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
        Err(EdgeError::Internal(detail)) => {
            runtime::log_event("internal_error", &[("error", &detail)]);
            Response::error("internal error", 500)
        }
    }
}
