//! Calling a family's Durable Object, with a deadline.

use std::time::Duration;

use crate::credential::FamilyId;
use crate::wire::{FamilyCommand, FamilyReply};
use futures_util::future::{select, Either};
use worker::{Delay, Env, Headers, Method, Request, RequestInit};

use super::EdgeError;

/// Binding name of the `SessionFamily` namespace in `wrangler.toml`.
const BINDING: &str = "SESSION_FAMILY";
/// Longest wait for an object. Past it the request gets 503 + `Retry-After`, never an
/// anonymous pass-through: that would be a lost session (DESIGN §5).
const OBJECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Header carrying an injected fault to the object (tests only; see `FAULT_HEADER`).
pub const FAULT_HEADER: &str = "x-edge-fault";

/// Sends `command` to the family's object. `fault` (only ever set when `EDGE_DEBUG=1`)
/// asks the object to fail on purpose, so tests can prove the failure handling.
pub async fn ask_family(
    env: &Env,
    family: FamilyId,
    command: &FamilyCommand,
    fault: Option<&str>,
) -> Result<FamilyReply, EdgeError> {
    let stub = env.durable_object(BINDING)?.get_by_name(&family.to_string())?;
    let body = serde_json::to_string(command).map_err(|e| EdgeError::Internal(e.to_string()))?;
    let headers = Headers::new();
    if let Some(fault) = fault {
        headers.set(FAULT_HEADER, fault)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
    let request = Request::new_with_init("https://family.edge-session.internal/", &init)?;
    let call = Box::pin(async move {
        let mut response = stub.fetch_with_request(request).await?;
        if response.status_code() != 200 {
            return Err(worker::Error::RustError(format!("family object answered {}", response.status_code())));
        }
        response.json::<FamilyReply>().await
    });
    match select(call, Delay::from(OBJECT_TIMEOUT)).await {
        Either::Left((Ok(reply), _)) => Ok(reply),
        Either::Left((Err(e), _)) => {
            super::runtime::log_event("object_error", &[("family", &family.to_string()), ("error", &e.to_string())]);
            Err(EdgeError::Unavailable)
        }
        Either::Right(_) => {
            super::runtime::log_event("object_timeout", &[("family", &family.to_string())]);
            Err(EdgeError::Unavailable)
        }
    }
}
